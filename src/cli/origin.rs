//! `meshcdn origin`: the origin plugin as a reverse proxy (all the work is in `meshcdn-origin`).

use std::path::PathBuf;

use anyhow::Context as _;
use meshcdn_origin::config::{OriginConfig, TokenScope};

#[derive(clap::Args, Debug)]
pub struct OriginArgs {
    /// TOML config file (see docs/origin.md); the flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Base URL of the origin to proxy, e.g. http://127.0.0.1:9000
    #[arg(long)]
    pub upstream: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<String>,
    /// Tracker WebSocket URL (ws:// or wss://); repeat for fallbacks, primary first.
    #[arg(long = "tracker")]
    pub trackers: Vec<String>,
    /// Key directory (`meshcdn keys generate`): enables swarm tokens and POST /v1/tokens.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Swarm placement file (TOML, see docs/deploy.md): tracker URLs per viewer from the region
    /// header instead of the --tracker list.
    #[arg(long = "placement", value_name = "FILE")]
    pub placement: Option<PathBuf>,
    /// Token scope in manifests: one token per content and time window, or one per viewer.
    #[arg(long, value_parser = ["shared", "per-viewer"])]
    pub token_scope: Option<String>,
    /// Viewer analytics database (`sqlite://meshcdn-analytics.db` or `postgres://…`): turns on
    /// beacons, the dashboard at /analytics and its API (docs/analytics.md). Needs --keys.
    #[arg(long, value_name = "URL")]
    pub analytics_db: Option<String>,
}

pub async fn run(args: OriginArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => OriginConfig::load(path)?,
        None => OriginConfig::default(),
    };
    if let Some(upstream) = args.upstream {
        config.upstream = Some(upstream);
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if !args.trackers.is_empty() {
        config.trackers = args.trackers;
    }
    if let Some(keys) = args.keys {
        config.keys_dir = Some(keys);
    }
    if let Some(placement) = args.placement {
        config.placement_file = Some(placement);
    }
    match args.token_scope.as_deref() {
        Some("per-viewer") => config.tokens.scope = TokenScope::PerViewer,
        Some(_) => config.tokens.scope = TokenScope::Shared,
        None => {}
    }
    if let Some(url) = args.analytics_db {
        config.analytics.database_url = Some(url);
    }
    config.validate().context("invalid origin configuration")?;
    if config.trackers.is_empty() && config.placement_file.is_none() {
        tracing::warn!("no --tracker or --placement given: bootstraps will list no trackers");
    }
    let listener = meshcdn_origin::proxy::bind(&config).await?;
    eprintln!("meshcdn origin: listening on http://{}", listener.local_addr()?);
    meshcdn_origin::proxy::serve_with_shutdown(&config, listener, async {
        match meshcdn_edge::lifecycle::terminated().await {
            Ok(signal) => tracing::info!(signal, "meshcdn origin: shutting down"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot wait for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    })
    .await?;
    eprintln!("meshcdn origin: stopped");
    Ok(())
}
