//! `meshcdn keys …` and `meshcdn token …` (all the work is in `meshcdn_origin::tokens`). Every
//! subcommand names the key directory `--keys`, like `meshcdn origin --keys`.

use std::path::PathBuf;

use anyhow::Context as _;
use meshcdn_origin::config::OriginConfig;
use meshcdn_origin::tokens::{TokenIssuer, add_api_key, generate_key};

use super::values::now_secs;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate an Ed25519 signing key (with kid) in the key directory and make it current. An
    /// existing current key is retired but stays in the JWKS until tokens it signed have expired.
    Generate {
        /// Key directory (created if missing); `--out` is its former name.
        #[arg(long, alias = "out")]
        keys: PathBuf,
    },
    /// Create a publisher API key for POST /v1/tokens. Printed once; only its hash is stored.
    ApiKey {
        /// Key directory.
        #[arg(long)]
        keys: PathBuf,
        /// Name of the key (shown in logs).
        #[arg(long)]
        name: String,
        /// Content id prefix the key may issue tokens for; repeatable; none means any.
        #[arg(long = "content-prefix")]
        content_prefixes: Vec<String>,
    },
    /// Print the JWKS (current and still-valid previous public keys).
    Jwks {
        /// Key directory.
        #[arg(long)]
        keys: PathBuf,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue a swarm token for one content (all its renditions); prints the JWT.
    Issue {
        /// Content id (the token's `cid`).
        #[arg(long)]
        content: String,
        /// Validity, e.g. 30s, 10m, 2h [default: tokens.ttl_secs of --config, else of the
        /// default origin config].
        #[arg(long)]
        ttl: Option<humantime::Duration>,
        /// Key directory.
        #[arg(long)]
        keys: PathBuf,
        /// Viewer id (`sub`) for a per-viewer token.
        #[arg(long)]
        viewer: Option<String>,
        /// Origin config file, for its [tokens] section (issuer, audience, TTL, max TTL).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub async fn run_keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate { keys } => {
            let kid = generate_key(&keys, now_secs())?;
            println!("{kid}");
            eprintln!("new signing key {kid} in {}", keys.display());
        }
        KeysCommand::ApiKey {
            keys,
            name,
            content_prefixes,
        } => {
            let key = add_api_key(&keys, &name, content_prefixes)?;
            println!("{key}");
            eprintln!(
                "API key {name:?} stored (hashed) in {}; this is the only time it is shown",
                keys.display()
            );
        }
        KeysCommand::Jwks { keys } => {
            let issuer = TokenIssuer::load(&keys, &OriginConfig::default().tokens, now_secs())?;
            println!("{:#}", issuer.jwks());
        }
    }
    Ok(())
}

pub async fn run_token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Issue {
            content,
            ttl,
            keys,
            viewer,
            config,
        } => {
            let config = match config {
                Some(path) => OriginConfig::load(path)?,
                None => OriginConfig::default(),
            };
            let ttl = ttl.map_or(config.tokens.ttl_secs, |t| t.as_secs());
            let now = now_secs();
            let issuer = TokenIssuer::load(&keys, &config.tokens, now)?;
            let token = issuer
                .issue(&content, ttl, viewer, now)
                .context("cannot issue the token")?;
            println!("{}", token.token);
        }
    }
    Ok(())
}
