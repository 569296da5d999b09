//! Why a manifest was served unchanged (fail open). Never surfaced to clients as an error: the
//! original manifest is served and the reason logged and counted.

use crate::dash::DashError;
use crate::hls::HlsError;
use crate::tokens::IssueError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("HLS: {0}")]
    Hls(#[from] HlsError),
    #[error("DASH: {0}")]
    Dash(#[from] DashError),
    #[error("manifest is not UTF-8")]
    NotUtf8,
    #[error("{0}")]
    Encoding(String),
    #[error("manifest is larger than {0} bytes after decompression")]
    TooLarge(usize),
    #[error("cannot issue the swarm token: {0}")]
    Token(#[from] IssueError),
    #[error("manifest path cannot be resolved to a URL")]
    BadPath,
}
