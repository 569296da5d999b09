//! What the subcommands share: enum flags (`clap::ValueEnum`, converted into the library types),
//! the help suffix that shows a default taken from a `Default` impl, and the clock.
//!
//! Conventions of every subcommand: addresses are typed (`SocketAddr`), durations are written
//! like `15s`, `10m` or `2h` (humantime), the key directory flag is `--keys`, and flags that
//! override a config file are applied before the result is validated.

use std::fmt::Display;

use meshcdn_edge::EngineKind;
use meshcdn_origin::config::TokenScope;

/// `--engine`: which tracker implementation the shards run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The tracker-shard component under wasmtime (isolated, hot-upgradable).
    Wasm,
    /// The same tracker crate compiled into the host.
    Native,
}

impl From<Engine> for EngineKind {
    fn from(e: Engine) -> Self {
        match e {
            Engine::Wasm => EngineKind::Wasm,
            Engine::Native => EngineKind::Native,
        }
    }
}

impl From<EngineKind> for Engine {
    fn from(e: EngineKind) -> Self {
        match e {
            EngineKind::Wasm => Engine::Wasm,
            EngineKind::Native => Engine::Native,
        }
    }
}

/// `--token-scope`: whom a token in a manifest is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// One token per content and time window (manifests stay cacheable).
    Shared,
    /// One token per viewer (master playlists become private).
    PerViewer,
}

impl From<Scope> for TokenScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Shared => TokenScope::Shared,
            Scope::PerViewer => TokenScope::PerViewer,
        }
    }
}

/// Help text of a flag that overrides a config field: `text [config: FIELD; default: VALUE]`,
/// with `VALUE` from the config type's `Default` impl.
pub fn overrides(text: &str, field: &str, default: impl Display) -> String {
    format!("{text} [config: {field}; default: {default}]")
}

/// The name clap shows for an enum value.
pub fn value_name(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Seconds since the Unix epoch: the one clock read of the CLI (token issue times, key ids).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::Cli;

    fn parses(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("meshcdn").chain(args.iter().copied()))
    }

    #[test]
    fn flags_share_one_syntax_and_refuse_the_rest() {
        // Typed addresses everywhere.
        assert!(parses(&["origin", "--listen", "127.0.0.1:8080"]).is_ok());
        assert!(parses(&["origin", "--listen", "localhost"]).is_err());
        assert!(parses(&["edge", "--listen", "not-an-address"]).is_err());
        // One duration syntax.
        assert!(parses(&["loadtest", "--target", "ws://x/", "--duration", "15s"]).is_ok());
        assert!(parses(&["loadtest", "--target", "ws://x/", "--duration", "15"]).is_err());
        assert!(
            parses(&[
                "token",
                "issue",
                "--content",
                "c",
                "--keys",
                "k",
                "--ttl",
                "2h"
            ])
            .is_ok()
        );
        assert!(
            parses(&[
                "token",
                "issue",
                "--content",
                "c",
                "--keys",
                "k",
                "--ttl",
                "soon"
            ])
            .is_err()
        );
        // One name for the key directory (`--out` stays an alias of `keys generate`).
        assert!(parses(&["keys", "generate", "--keys", "k"]).is_ok());
        assert!(parses(&["keys", "generate", "--out", "k"]).is_ok());
        // Enums list their values.
        assert!(parses(&["origin", "--token-scope", "per-viewer"]).is_ok());
        assert!(parses(&["origin", "--token-scope", "everyone"]).is_err());
        assert!(parses(&["demo", "--engine", "jvm"]).is_err());
    }
}
