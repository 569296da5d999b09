//! `meshcdn`: the one CLI. Thin wiring only: every subcommand lives in `src/cli/` and calls into
//! the crates that do the work.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "meshcdn", version, about = "Peer-to-peer CDN for HLS/DASH video", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run everything on one machine: sample stream, origin plugin, edge tracker, client and pages.
    Demo(cli::demo::DemoArgs),
    /// Run the origin plugin as a reverse proxy in front of an existing origin.
    Origin(cli::origin::OriginArgs),
    /// Run an edge host serving the WebSocket tracker.
    Edge(cli::edge::EdgeArgs),
    /// Issue swarm tokens.
    #[command(subcommand)]
    Token(cli::keys::TokenCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Load-test a WebSocket tracker (bounded in connections and time).
    Loadtest(cli::loadtest::LoadtestArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => cli::demo::run(args).await,
            Command::Origin(args) => cli::origin::run(args).await,
            Command::Edge(args) => cli::edge::run(args).await,
            Command::Token(cmd) => cli::keys::run_token(cmd).await,
            Command::Keys(cmd) => cli::keys::run_keys(cmd).await,
            Command::Loadtest(args) => cli::loadtest::run(args).await,
        }
    })
}
