//! The placement files shipped under deploy/ load with the same loader the origin uses, and
//! place viewers the way their comments say.

use std::path::{Path, PathBuf};

use meshcdn_placement::Placement;

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel)
}

#[test]
fn every_shipped_placement_file_loads() {
    let files = [
        deploy("config/placement.example.toml"),
        deploy("k8s/base/config/placement.toml"),
    ];
    for file in &files {
        let placement = Placement::load(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            placement.pop_for_region(Some("DE")),
            "fra",
            "{}",
            file.display()
        );
        assert_eq!(
            placement.pop_for_region(Some("US")),
            "iad",
            "{}",
            file.display()
        );
        assert_eq!(placement.pop_for_region(None), "fra", "{}", file.display());
        // Primary and one more node of the PoP, then the other PoP's node for the content.
        let us = placement.place(Some("US"), "live/channel-1");
        let pops: Vec<_> = us.targets.iter().map(|t| t.pop).collect();
        assert_eq!(pops, ["iad", "iad", "fra"], "{}", file.display());
    }
}

#[test]
fn k8s_placement_node_names_are_the_statefulset_pod_names() {
    let placement = Placement::load(deploy("k8s/base/config/placement.toml")).unwrap();
    for i in 0..50 {
        let node = placement
            .place(Some("FR"), &format!("vod/{i}"))
            .primary()
            .node
            .to_owned();
        assert!(node.starts_with("meshcdn-edge-"), "{node}");
    }
}
