//! Why a manifest was served unchanged (fail open). Never surfaced to clients as an error: the
//! original manifest is served and the reason logged and counted (`fail_open` in the stats).

use crate::manifest::dash::DashError;
use crate::manifest::hls::HlsError;
use crate::tokens::IssueError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("HLS: {0}")]
    Hls(#[from] HlsError),
    #[error("DASH: {0}")]
    Dash(#[from] DashError),
    #[error("manifest is not UTF-8")]
    NotUtf8,
    #[error("cannot decode the {encoding} body: {source}")]
    Decode {
        encoding: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedEncoding(String),
    #[error("manifest is larger than {0} bytes after decompression")]
    TooLarge(usize),
    #[error("cannot issue the swarm token: {0}")]
    Token(#[from] IssueError),
    #[error("manifest path cannot be resolved to a URL")]
    BadPath,
}
