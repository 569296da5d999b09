//! `meshcdn edge`: parses flags into a `meshcdn_edge::EdgeConfig` and runs the host.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use meshcdn_edge::{EdgeConfig, EngineKind};

#[derive(clap::Args, Debug)]
pub struct EdgeArgs {
    /// TOML config file (meshcdn_edge::EdgeConfig); the flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8000].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Shard engine: wasm (tracker-shard component under wasmtime) or native.
    #[arg(long)]
    engine: Option<EngineKind>,
    /// The tracker-shard component [default: $MESHCDN_COMPONENT or tracker-shard.wasm in the target dir].
    #[arg(long)]
    component: Option<PathBuf>,
    /// Number of shards [default: number of cores].
    #[arg(long)]
    shards: Option<usize>,
    /// Serve wss: PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Serve wss: PEM private key (with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Admit announces without a token.
    #[arg(long, conflicts_with = "jwks")]
    open: bool,
    /// JWKS file path or http(s) URL with the swarm token keys.
    #[arg(long)]
    jwks: Option<String>,
    /// MaxMind-format database for network facts (ASN, country, region).
    #[arg(long)]
    geo_db: Option<PathBuf>,
    /// Bearer token for POST /admin/reload (or $MESHCDN_ADMIN_TOKEN).
    #[arg(long, env = "MESHCDN_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Maximum concurrent connections.
    #[arg(long)]
    max_connections: Option<usize>,
}

pub fn build_config(args: EdgeArgs) -> anyhow::Result<EdgeConfig> {
    let mut config = match &args.config {
        Some(path) => EdgeConfig::load(path)?,
        None => EdgeConfig::default(),
    };
    if let Some(v) = args.listen {
        config.listen = v;
    }
    if let Some(v) = args.engine {
        config.engine = v;
    }
    if args.component.is_some() {
        config.component = args.component;
    }
    if let Some(v) = args.shards {
        config.shards = v;
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(meshcdn_edge::config::TlsConfig { cert, key });
    }
    if args.open {
        config.auth.open = true;
        config.auth.jwks = None;
    }
    if args.jwks.is_some() {
        config.auth.open = false;
        config.auth.jwks = args.jwks;
    }
    if args.geo_db.is_some() {
        config.network.geo_db = args.geo_db;
    }
    if args.admin_token.is_some() {
        config.admin_token = args.admin_token;
    }
    if let Some(v) = args.max_connections {
        config.limits.max_connections = v;
    }
    config.validate()?;
    Ok(config)
}

pub async fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let config = build_config(args)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
    let edge = meshcdn_edge::serve(config, listener).await?;
    eprintln!("meshcdn edge: tracker at {}", edge.announce_url());
    let signal = meshcdn_edge::lifecycle::terminated()
        .await
        .context("waiting for SIGTERM or SIGINT")?;
    tracing::info!(signal, grace_secs = grace.as_secs(), "draining");
    let report = edge.drain(grace).await;
    eprintln!(
        "meshcdn edge: drained ({} peers told to reconnect elsewhere, {} still connected after {} ms)",
        report.closed, report.remaining, report.waited_ms
    );
    Ok(())
}
