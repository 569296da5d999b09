//! Every config file shipped under deploy/ loads with the binaries' own config loaders, which
//! refuse unknown fields: a stale or misspelt key in an example fails here.

use std::path::{Path, PathBuf};

use meshcdn_edge::EdgeConfig;
use meshcdn_edge::engine::native::NativeFactory;
use meshcdn_origin::config::OriginConfig;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Config files under deploy/ whose name (without `.example`) is `stem.toml`.
fn shipped(stem: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root().join("deploy")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == format!("{stem}.toml") || n == format!("{stem}.example.toml"))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn edge_configs_load() {
    let files = shipped("edge");
    assert!(
        files.len() >= 2,
        "expected the bare-metal and the Kubernetes edge config: {files:?}"
    );
    for file in files {
        let config = EdgeConfig::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // The `[tracker]` table reaches the shards as JSON, parsed only when they start: parse it
        // the way the native engine does (strict `meshcdn_tracker::TrackerConfig`).
        if let Err(e) = NativeFactory::new(&config.tracker.to_string()) {
            panic!("{}: [tracker]: {e}", file.display());
        }
        assert!(
            !config.auth.open,
            "{}: shipped edge configs require tokens",
            file.display()
        );
    }
}

#[test]
fn origin_configs_load() {
    let files = shipped("origin");
    assert!(
        files.len() >= 4,
        "expected bare-metal, base and one per overlay: {files:?}"
    );
    for file in files {
        let config =
            OriginConfig::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            config.keys_dir.is_some(),
            "{}: shipped origin configs sign tokens",
            file.display()
        );
    }
}

#[test]
fn the_loaders_refuse_an_unknown_field_in_a_shipped_file() {
    let dir = std::env::temp_dir().join(format!("meshcdn-deploy-configs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let edge = dir.join("edge.toml");
    let text = std::fs::read_to_string(root().join("deploy/config/edge.example.toml")).unwrap();
    std::fs::write(
        &edge,
        text.replace("[limits]\n", "[limits]\nmax_conections = 5\n"),
    )
    .unwrap();
    let err = EdgeConfig::load(&edge).unwrap_err().to_string();
    assert!(err.contains("max_conections"), "{err}");
    let config =
        EdgeConfig::from_toml(&text.replace("[tracker]\n", "[tracker]\nmax_ofers = 3\n")).unwrap();
    assert!(
        NativeFactory::new(&config.tracker.to_string()).is_err(),
        "a misspelt [tracker] key"
    );

    let origin = dir.join("origin.toml");
    let text = std::fs::read_to_string(root().join("deploy/config/origin.example.toml")).unwrap();
    std::fs::write(&origin, format!("{text}\n[placment]\n")).unwrap();
    let err = OriginConfig::load(&origin).unwrap_err().to_string();
    assert!(err.contains("placment"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
