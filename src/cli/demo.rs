//! `meshcdn demo`: the whole system on one machine (see `meshcdn_demo`).

use std::net::SocketAddr;
use std::path::PathBuf;

use meshcdn_demo::DemoConfig;

use super::values::Engine;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address of the pages, streams and token API.
    #[arg(long, default_value_t = DemoConfig::default().listen)]
    listen: SocketAddr,
    /// Address of the edge tracker (WebSocket); port 0 picks a free port.
    #[arg(long, default_value_t = DemoConfig::default().edge_listen)]
    edge_listen: SocketAddr,
    /// Tracker shard engine: the tracker-shard component under wasmtime, or native.
    #[arg(long, value_enum, default_value_t = DemoConfig::default().engine.into())]
    engine: Engine,
    /// The tracker-shard component [default: $MESHCDN_COMPONENT or tracker-shard.wasm in the target dir].
    #[arg(long)]
    component: Option<PathBuf>,
    /// Sample stream directory (master.m3u8 + one folder per rendition) [default: media/hls-ts in the repo].
    #[arg(long)]
    media: Option<PathBuf>,
    /// DASH sample stream directory (manifest.mpd + segments) [default: media/dash in the repo].
    #[arg(long)]
    dash_media: Option<PathBuf>,
    /// The client's build output [default: client/dist in the repo].
    #[arg(long)]
    client_dist: Option<PathBuf>,
    /// Segments per live playlist.
    #[arg(long, default_value_t = DemoConfig::default().live_window)]
    live_window: usize,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let defaults = DemoConfig::default();
    let config = DemoConfig {
        listen: args.listen,
        edge_listen: args.edge_listen,
        engine: args.engine.into(),
        component: args.component,
        media_dir: args.media.unwrap_or(defaults.media_dir),
        dash_media_dir: args.dash_media.unwrap_or(defaults.dash_media_dir),
        client_dist: args.client_dist.unwrap_or(defaults.client_dist),
        live_window: args.live_window,
        ..defaults
    };
    let demo = meshcdn_demo::start(config).await?;
    println!();
    println!("  meshcdn demo is running");
    println!(
        "  player:     {}   (open it in two tabs to see peers share segments; HLS or DASH, hls.js / Shaka / dash.js)",
        demo.page_url
    );
    println!("  dashboard:  {}", demo.dashboard_url);
    println!("  tracker:    {}", demo.edge.announce_url());
    println!(
        "  publisher API key (for POST /v1/tokens): {}",
        demo.publisher_api_key
    );
    println!();
    println!("  Ctrl-C to stop.");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = demo.wait() => {}
    }
    Ok(())
}
