//! `meshcdn loadtest`: a bounded WebTorrent-protocol load generator (the `meshcdn-loadtest` crate).

use meshcdn_loadtest::{LoadConfig, MAX_CONNECTIONS, MAX_DURATION};

#[derive(clap::Args, Debug)]
pub struct LoadtestArgs {
    /// Tracker URL, e.g. ws://127.0.0.1:8000/announce or wss://edge.example.com/announce
    #[arg(long)]
    target: String,
    /// Extra CA certificates (PEM) to trust for a wss:// target, e.g. a self-signed edge's
    /// certificate; the Mozilla roots are always trusted.
    #[arg(long, value_name = "PEM")]
    ca: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = LoadConfig::default().connections,
          help = format!("WebSocket connections (peers), at most {MAX_CONNECTIONS}"))]
    connections: usize,
    /// Swarms the peers are spread over.
    #[arg(long, default_value_t = LoadConfig::default().swarms)]
    swarms: usize,
    #[arg(long, default_value_t = LoadConfig::default().duration.into(),
          help = format!("Measured time after all connections are open, e.g. 15s or 2m; at most {}", humantime::Duration::from(MAX_DURATION)))]
    duration: humantime::Duration,
    /// Offers per announce (at most 10).
    #[arg(long, default_value_t = LoadConfig::default().offers)]
    offers: usize,
    /// Connect, announce once without offers and stay idle (for memory measurements).
    #[arg(long)]
    idle: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Seed for ids and offers.
    #[arg(long, default_value_t = LoadConfig::default().seed)]
    seed: u64,
}

pub async fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    let report = meshcdn_loadtest::run(LoadConfig {
        target: args.target,
        ca_file: args.ca,
        connections: args.connections,
        swarms: args.swarms,
        duration: args.duration.into(),
        offers: args.offers,
        idle: args.idle,
        seed: args.seed,
    })
    .await?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    Ok(())
}
