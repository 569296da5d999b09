//! Behaviour of swarm placement: meeting on one node, balance, minimal disruption, fallbacks,
//! and refused configs.

use std::collections::HashMap;

use meshcdn_placement::{
    LoadError, NodeConfig, Placement, PlacementConfig, PlacementError, PopConfig,
};
use proptest::prelude::*;

fn node(name: &str, pop: &str) -> NodeConfig {
    NodeConfig {
        name: name.into(),
        tracker_url: format!("wss://{name}.{pop}.example.net/announce"),
    }
}

fn pop(name: &str, regions: &[&str], nodes: usize) -> PopConfig {
    PopConfig {
        name: name.into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        fallback_pop: None,
        nodes: (0..nodes)
            .map(|i| node(&format!("edge-{i}"), name))
            .collect(),
    }
}

fn two_pops() -> PlacementConfig {
    PlacementConfig {
        default_pop: "fra".into(),
        pops: vec![
            pop("fra", &["DE", "FR", "eu"], 4),
            pop("iad", &["US", "CA"], 3),
        ],
        ..PlacementConfig::default()
    }
}

fn content(i: usize) -> String {
    format!("live/channel-{i}")
}

/// Primary node name of each of `n` contents.
fn primaries(placement: &Placement, region: Option<&str>, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            placement
                .place(region, &content(i))
                .primary()
                .node
                .to_owned()
        })
        .collect()
}

#[test]
fn viewers_of_one_swarm_in_one_region_meet_on_one_node() {
    let placement = Placement::new(two_pops()).unwrap();
    // A second, independently built instance (another origin replica) must agree.
    let replica = Placement::new(two_pops()).unwrap();
    for i in 0..200 {
        let first = placement.trackers_for(Some("DE"), &content(i));
        for region in ["DE", "de", " De ", "DE-BY"] {
            assert_eq!(
                placement.trackers_for(Some(region), &content(i)),
                first,
                "region {region:?}"
            );
        }
        assert_eq!(replica.trackers_for(Some("DE"), &content(i)), first);
        // FR is served by the same PoP: same node, so DE and FR viewers share one swarm.
        assert_eq!(placement.trackers_for(Some("FR"), &content(i)), first);
    }
}

#[test]
fn region_picks_the_pop_and_unknown_regions_go_to_the_default() {
    let placement = Placement::new(two_pops()).unwrap();
    assert_eq!(placement.pop_for_region(Some("US")), "iad");
    assert_eq!(placement.pop_for_region(Some("us-ca")), "iad");
    assert_eq!(placement.pop_for_region(Some("EU")), "fra");
    assert_eq!(placement.pop_for_region(Some("JP")), "fra");
    assert_eq!(placement.pop_for_region(Some("")), "fra");
    assert_eq!(placement.pop_for_region(Some(&"X".repeat(500))), "fra");
    assert_eq!(placement.pop_for_region(None), "fra");
    let us = placement.place(Some("US"), "vod/sample");
    assert_eq!(us.pop, "iad");
    assert!(us.primary().tracker_url.contains(".iad."), "{us:?}");
    assert_eq!(
        placement.place(Some("JP"), "vod/sample"),
        placement.place(None, "vod/sample")
    );
}

#[test]
fn placement_over_10000_swarms_is_balanced_within_10_percent() {
    for nodes in [2, 3, 4, 5, 8] {
        let config = PlacementConfig {
            pops: vec![pop("fra", &[], nodes)],
            ..PlacementConfig::default()
        };
        let placement = Placement::new(config).unwrap();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for name in primaries(&placement, None, 10_000) {
            *counts.entry(name).or_default() += 1;
        }
        assert_eq!(counts.len(), nodes, "every node gets swarms");
        let mean = 10_000.0 / nodes as f64;
        for (name, count) in &counts {
            let off = (*count as f64 - mean).abs() / mean;
            assert!(
                off <= 0.10,
                "{nodes} nodes: {name} has {count} swarms, mean {mean}"
            );
        }
    }
}

#[test]
fn removing_a_node_moves_only_that_nodes_swarms() {
    let full = Placement::new(two_pops()).unwrap();
    let mut without = two_pops();
    without.pops[0].nodes.remove(2);
    let removed = "edge-2";
    let without = Placement::new(without).unwrap();

    let before = primaries(&full, Some("DE"), 10_000);
    let after = primaries(&without, Some("DE"), 10_000);
    let mut moved = 0;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if b == removed {
            moved += 1;
            // Its swarms go where their viewers were told to fail over to.
            let fallback = full.place(Some("DE"), &content(i)).targets[1].node;
            assert_eq!(a, fallback, "content {i}");
        } else {
            assert_eq!(a, b, "content {i} moved although its node stayed");
        }
    }
    assert!(moved > 2_000, "edge-2 held {moved} of 10000 swarms");
}

#[test]
fn adding_a_node_takes_swarms_only_onto_the_new_node() {
    let mut more = two_pops();
    more.pops[0].nodes.push(node("edge-4", "fra"));
    let before = primaries(&Placement::new(two_pops()).unwrap(), None, 10_000);
    let after = primaries(&Placement::new(more).unwrap(), None, 10_000);
    let moved: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).collect();
    assert!(moved.iter().all(|(_, a)| *a == "edge-4"));
    assert!(
        (1_500..2_500).contains(&moved.len()),
        "{} moved to the 5th node",
        moved.len()
    );
}

#[test]
fn renaming_a_url_keeps_placement_but_renaming_a_node_does_not() {
    let mut moved_url = two_pops();
    moved_url.pops[0].nodes[1].tracker_url = "wss://10-0-0-7.fra.example.net/announce".into();
    let a = Placement::new(two_pops()).unwrap();
    let b = Placement::new(moved_url).unwrap();
    for i in 0..500 {
        assert_eq!(
            a.place(None, &content(i)).primary().node,
            b.place(None, &content(i)).primary().node
        );
    }
}

#[test]
fn fallbacks_are_the_next_node_in_the_pop_then_the_fallback_pop() {
    let placement = Placement::new(two_pops()).unwrap();
    for i in 0..100 {
        let us = placement.place(Some("US"), &content(i));
        let pops: Vec<_> = us.targets.iter().map(|t| t.pop).collect();
        assert_eq!(pops, ["iad", "iad", "fra"], "content {i}");
        assert_ne!(us.targets[0].node, us.targets[1].node);
        // The cross-PoP fallback is the node where the default PoP's own viewers meet.
        assert_eq!(us.targets[2], placement.place(None, &content(i)).primary());

        // The default PoP has no fallback PoP of its own unless configured.
        let de = placement.place(Some("DE"), &content(i));
        assert_eq!(de.targets.len(), 2);
        assert!(de.targets.iter().all(|t| t.pop == "fra"));
    }

    let mut config = two_pops();
    config.pops[0].fallback_pop = Some("iad".into());
    config.pop_fallbacks = 2;
    let placement = Placement::new(config).unwrap();
    let de = placement.place(Some("DE"), "vod/sample");
    let pops: Vec<_> = de.targets.iter().map(|t| t.pop).collect();
    assert_eq!(pops, ["fra", "fra", "fra", "iad"]);
    let urls = placement.trackers_for(Some("DE"), "vod/sample");
    assert_eq!(urls.len(), 4);
    assert_eq!(urls[0], de.primary().tracker_url);
}

#[test]
fn a_pop_with_fewer_nodes_than_fallbacks_lists_each_node_once() {
    let config = PlacementConfig {
        pop_fallbacks: 8,
        pops: vec![pop("solo", &[], 2)],
        ..PlacementConfig::default()
    };
    let placement = Placement::new(config).unwrap();
    let urls = placement.trackers_for(None, "vod/sample");
    assert_eq!(urls.len(), 2);
    assert_ne!(urls[0], urls[1]);
}

#[test]
fn refused_configs_name_the_problem() {
    let check = |edit: &dyn Fn(&mut PlacementConfig), expected: PlacementError| {
        let mut config = two_pops();
        edit(&mut config);
        assert_eq!(Placement::new(config).unwrap_err(), expected);
    };
    check(&|c| c.pops.clear(), PlacementError::NoPops);
    check(
        &|c| c.pops[1].name.clear(),
        PlacementError::EmptyPopName { index: 1 },
    );
    check(
        &|c| c.pops[1].name = "fra".into(),
        PlacementError::DuplicatePop("fra".into()),
    );
    check(
        &|c| c.pops[1].nodes.clear(),
        PlacementError::NoNodes("iad".into()),
    );
    check(
        &|c| c.pops[0].nodes[1].name.clear(),
        PlacementError::EmptyNodeName {
            pop: "fra".into(),
            index: 1,
        },
    );
    check(
        &|c| c.pops[0].nodes[1].name = "edge-0".into(),
        PlacementError::DuplicateNode {
            pop: "fra".into(),
            node: "edge-0".into(),
        },
    );
    check(
        &|c| c.pops[0].nodes[0].tracker_url = "https://edge/announce".into(),
        PlacementError::InvalidTrackerUrl {
            pop: "fra".into(),
            node: "edge-0".into(),
            url: "https://edge/announce".into(),
            reason: "scheme must be ws:// or wss://",
        },
    );
    check(
        &|c| c.pops[1].nodes[0].tracker_url = c.pops[0].nodes[0].tracker_url.clone(),
        PlacementError::DuplicateTrackerUrl("wss://edge-0.fra.example.net/announce".into()),
    );
    check(
        &|c| c.pops[1].regions.push(" ".into()),
        PlacementError::EmptyRegion("iad".into()),
    );
    check(
        &|c| c.pops[1].regions.push("de".into()),
        PlacementError::DuplicateRegion {
            region: "de".into(),
            first: "fra".into(),
            second: "iad".into(),
        },
    );
    check(
        &|c| c.default_pop.clear(),
        PlacementError::MissingDefaultPop(2),
    );
    check(
        &|c| c.default_pop = "nrt".into(),
        PlacementError::UnknownDefaultPop("nrt".into()),
    );
    check(
        &|c| c.pops[1].fallback_pop = Some("nrt".into()),
        PlacementError::UnknownFallbackPop {
            pop: "iad".into(),
            fallback: "nrt".into(),
        },
    );
    check(
        &|c| c.pops[1].fallback_pop = Some("iad".into()),
        PlacementError::SelfFallback("iad".into()),
    );
    check(
        &|c| c.region_header = "x region".into(),
        PlacementError::InvalidRegionHeader("x region".into()),
    );
    check(
        &|c| c.pop_fallbacks = 9,
        PlacementError::TooManyFallbacks(9),
    );
}

#[test]
fn a_single_pop_needs_no_default() {
    let config = PlacementConfig {
        pops: vec![pop("solo", &[], 1)],
        ..PlacementConfig::default()
    };
    let placement = Placement::new(config).unwrap();
    assert_eq!(placement.pop_for_region(Some("DE")), "solo");
    assert_eq!(placement.region_header(), "x-meshcdn-region");
}

#[test]
fn toml_config_is_strict() {
    let text = r#"
        region_header = "CF-IPCountry"
        default_pop = "fra"
        [[pops]]
        name = "fra"
        regions = ["DE"]
        nodes = [{ name = "edge-0", tracker_url = "ws://127.0.0.1:8000/announce" }]
    "#;
    let config = PlacementConfig::from_toml(text).unwrap();
    assert_eq!(config.pop_fallbacks, 1, "defaults fill what is left out");
    let placement = Placement::new(config.clone()).unwrap();
    assert_eq!(placement.region_header(), "cf-ipcountry");
    // Round trip.
    assert_eq!(
        PlacementConfig::from_toml(&config.to_toml()).unwrap(),
        config
    );

    let typo = text.replace("regions", "region");
    let err = PlacementConfig::from_toml(&typo).unwrap_err().to_string();
    assert!(err.contains("unknown field `region`"), "{err}");
    let node_typo = text.replace("tracker_url", "url");
    assert!(PlacementConfig::from_toml(&node_typo).is_err());
}

#[test]
fn load_reads_parses_and_validates_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("placement.toml");

    std::fs::write(&path, two_pops().to_toml()).unwrap();
    let placement = Placement::load(&path).unwrap();
    assert_eq!(placement.pop_for_region(Some("CA")), "iad");

    let err = Placement::load(dir.path().join("missing.toml")).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");

    std::fs::write(&path, "default_pop = \"fra\"\npops = 3\n").unwrap();
    let err = Placement::load(&path).unwrap_err();
    assert!(matches!(err, LoadError::Parse { .. }), "{err}");
    assert!(
        err.to_string().contains("placement.toml"),
        "names the file: {err}"
    );

    std::fs::write(&path, "").unwrap();
    let err = Placement::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Invalid {
                source: PlacementError::NoPops,
                ..
            }
        ),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any node set and any removed node, only contents that lived on the removed node move.
    #[test]
    fn removal_is_minimally_disruptive(
        names in prop::collection::hash_set("[a-z0-9-]{1,12}", 2..10),
        removed_index in any::<prop::sample::Index>(),
        contents in prop::collection::vec(".{0,40}", 1..200),
    ) {
        let names: Vec<String> = names.into_iter().collect();
        let make = |names: &[String]| {
            Placement::new(PlacementConfig {
                pops: vec![PopConfig {
                    name: "p".into(),
                    regions: vec![],
                    fallback_pop: None,
                    nodes: names.iter().map(|n| node(n, "p")).collect(),
                }],
                ..PlacementConfig::default()
            })
            .unwrap()
        };
        let removed = removed_index.index(names.len());
        let full = make(&names);
        let mut rest = names.clone();
        let gone = rest.remove(removed);
        let partial = make(&rest);
        for c in &contents {
            let before = full.place(None, c).primary().node.to_owned();
            let after = partial.place(None, c).primary().node.to_owned();
            if before != gone {
                prop_assert_eq!(before, after);
            } else {
                prop_assert_eq!(after, full.place(None, c).targets[1].node);
            }
        }
    }

    /// Node order in the config does not matter, and the same inputs give the same answer.
    #[test]
    fn placement_ignores_config_order(
        names in prop::collection::hash_set("[a-z0-9-]{1,12}", 1..10),
        content in ".{0,40}",
    ) {
        let names: Vec<String> = names.into_iter().collect();
        let make = |names: &[String]| {
            let mut config = PlacementConfig { pops: vec![pop("p", &[], 0)], ..PlacementConfig::default() };
            config.pops[0].nodes = names.iter().map(|n| node(n, "p")).collect();
            Placement::new(config).unwrap()
        };
        let mut reversed = names.clone();
        reversed.reverse();
        prop_assert_eq!(make(&names).trackers_for(None, &content), make(&reversed).trackers_for(None, &content));
    }
}
