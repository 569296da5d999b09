//! `meshcdn edge`: reads the config file (if any), applies the flags, validates, runs the host.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use meshcdn_edge::EdgeConfig;

use super::values::{Engine, overrides, value_name};

#[derive(clap::Args, Debug)]
pub struct EdgeArgs {
    /// TOML config file (meshcdn_edge::EdgeConfig); the flags below override it, and the result
    /// is validated after that.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, help = overrides("Address to listen on", "listen", EdgeConfig::default().listen))]
    listen: Option<SocketAddr>,
    #[arg(long, value_enum, help = overrides("Shard engine", "engine", value_name(Engine::from(EdgeConfig::default().engine))))]
    engine: Option<Engine>,
    /// The tracker-shard component [config: component; default: $MESHCDN_COMPONENT or
    /// tracker-shard.wasm in the target dir].
    #[arg(long)]
    component: Option<PathBuf>,
    /// Number of shards [config: shards; default: 0 = number of cores].
    #[arg(long)]
    shards: Option<usize>,
    /// Serve wss: PEM certificate chain (with --tls-key) [config: tls.cert].
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Serve wss: PEM private key (with --tls-cert) [config: tls.key].
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Admit announces without a token [config: auth.open].
    #[arg(long, conflicts_with = "jwks")]
    open: bool,
    /// JWKS file path or http(s) URL with the swarm token keys [config: auth.jwks].
    #[arg(long)]
    jwks: Option<String>,
    /// Allow an http:// JWKS URL (trusted networks only) [config: auth.allow_insecure_jwks].
    #[arg(long)]
    allow_insecure_jwks: bool,
    /// MaxMind-format database for network facts (ASN, country, region) [config: network.geo_db].
    #[arg(long)]
    geo_db: Option<PathBuf>,
    /// Bearer token for POST /admin/reload (or $MESHCDN_ADMIN_TOKEN) [config: admin_token].
    #[arg(long, env = "MESHCDN_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    #[arg(long, help = overrides("Maximum concurrent connections", "limits.max_connections", EdgeConfig::default().limits.max_connections))]
    max_connections: Option<usize>,
}

/// The config file (unvalidated: the flags may complete it), the flags over it, then validated.
pub fn build_config(args: EdgeArgs) -> anyhow::Result<EdgeConfig> {
    let mut config = match &args.config {
        Some(path) => EdgeConfig::read(path)?,
        None => EdgeConfig::default(),
    };
    if let Some(v) = args.listen {
        config.listen = v;
    }
    if let Some(v) = args.engine {
        config.engine = v.into();
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
    if args.allow_insecure_jwks {
        config.auth.allow_insecure_jwks = true;
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

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::Cli;

    fn edge_args(args: &[&str]) -> EdgeArgs {
        let cli = Cli::try_parse_from(["meshcdn", "edge"].iter().chain(args)).expect("parses");
        match cli.command {
            crate::Command::Edge(args) => args,
            other => panic!("not edge: {other:?}"),
        }
    }

    fn partial_config(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn flags_complete_a_partial_config_before_it_is_validated() {
        // Neither auth.open nor auth.jwks in the file: only --open makes it valid.
        let file = partial_config("shards = 2\n[limits]\nmax_connections = 7\n");
        let path = file.path().to_str().unwrap();
        let config = build_config(edge_args(&["--config", path, "--open"])).unwrap();
        assert!(config.auth.open);
        assert_eq!((config.shards, config.limits.max_connections), (2, 7));
        let config = build_config(edge_args(&[
            "--config",
            path,
            "--jwks",
            "keys.json",
            "--engine",
            "native",
        ]))
        .unwrap();
        assert_eq!(config.auth.jwks.as_deref(), Some("keys.json"));
        assert_eq!(config.engine, meshcdn_edge::EngineKind::Native);
    }

    #[test]
    fn a_config_that_stays_incomplete_is_still_refused() {
        let file = partial_config("shards = 2\n");
        let err = build_config(edge_args(&["--config", file.path().to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth.open"), "{err}");
        // A value no flag fixes is refused even with --open.
        let file = partial_config("shards = 1000\n");
        let err = build_config(edge_args(&[
            "--config",
            file.path().to_str().unwrap(),
            "--open",
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("shards"), "{err}");
    }

    #[test]
    fn help_shows_the_defaults_of_the_config_type() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let edge = cmd.find_subcommand_mut("edge").unwrap();
        let help = edge.render_help().to_string();
        let d = EdgeConfig::default();
        assert!(help.contains(&format!("default: {}]", d.listen)), "{help}");
        assert!(
            help.contains(&format!("default: {}]", d.limits.max_connections)),
            "{help}"
        );
        assert!(help.contains("[possible values: wasm, native]"), "{help}");
    }
}
