//! Network-aware peer selection, through the tracker's public API.

mod common;

use std::collections::HashMap;

use common::*;
use meshcdn_tracker::{NetworkFacts, TrackerConfig};
use proptest::prelude::*;
use serde_json::json;

/// (asn, country, region, continent) of a test viewer.
type Net = (u32, &'static str, &'static str, &'static str);

fn to_facts(n: Net) -> NetworkFacts {
    facts(n.0, n.1, n.2, n.3)
}

/// 0 = same ASN, 1 = same country+region, 2 = same country, 3 = same continent, 4 = anyone.
fn closeness(a: Net, b: Net) -> u8 {
    if a.0 != 0 && a.0 == b.0 {
        0
    } else if !a.1.is_empty() && a.1 == b.1 && !a.2.is_empty() && a.2 == b.2 {
        1
    } else if !a.1.is_empty() && a.1 == b.1 {
        2
    } else if !a.3.is_empty() && a.3 == b.3 {
        3
    } else {
        4
    }
}

const NETS: [Net; 8] = [
    (100, "FR", "IDF", "EU"),
    (101, "FR", "IDF", "EU"),
    (102, "FR", "ARA", "EU"),
    (200, "DE", "BE", "EU"),
    (300, "US", "CA", "NA"),
    (301, "US", "NY", "NA"),
    (0, "", "", ""),
    (0, "FR", "", "EU"),
];

fn no_upload(info_hash: meshcdn_tracker::InfoHash, conn: u64) -> String {
    json!({"action":"announce","info_hash":info_hash.to_binary_string(),"peer_id":pid(conn as u32).to_binary_string(),"meshcdn":{"upload":false}}).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The recipient is always from the closest group that has anyone in it: same ASN when
    /// present, then country+region, country, continent, then anyone.
    #[test]
    fn closest_group_is_chosen_first(population in prop::collection::vec(0usize..NETS.len(), 1..40), sender in 0usize..NETS.len(), seed: u64) {
        let mut s = Sim::new(TrackerConfig::default(), seed);
        let sw = ih(1);
        for (i, &n) in population.iter().enumerate() {
            s.join(i as u64 + 1, to_facts(NETS[n]), sw);
        }
        let me = 1000;
        s.open(me, to_facts(NETS[sender]));
        let out = s.send(me, &announce(sw, pid(me as u32), &[oid(9, 0)]));
        let to = offer_recipients(&out);
        prop_assert_eq!(to.len(), 1);
        let best = population.iter().map(|&n| closeness(NETS[sender], NETS[n])).min().unwrap();
        let got = closeness(NETS[sender], NETS[population[to[0] as usize - 1]]);
        prop_assert_eq!(got, best);
    }

    /// Whatever the traffic, no viewer is handed more peers than its cap, and nobody gets its own offer.
    #[test]
    fn no_peer_over_its_cap(cap in 1u16..5, viewers in 2usize..12, rounds in prop::collection::vec((0usize..12, 1usize..6, any::<bool>()), 1..40), seed: u64) {
        let cfg = TrackerConfig { max_peers_per_viewer: cap, ..Default::default() };
        let mut s = Sim::new(cfg, seed);
        let sw = ih(2);
        for v in 0..viewers {
            s.join(v as u64, to_facts(NETS[v % NETS.len()]), sw);
        }
        let mut received: HashMap<u64, u32> = HashMap::new();
        let mut last_offers: Vec<(u64, serde_json::Value)> = Vec::new();
        for (k, (who, n_offers, answer_one)) in rounds.into_iter().enumerate() {
            let who = (who % viewers) as u64;
            let offers: Vec<_> = (0..n_offers).map(|i| oid(who as u32, (k * 10 + i) as u32)).collect();
            let out = s.send(who, &announce(sw, pid(who as u32), &offers));
            for (to, v) in out.iter().filter(|(_, v)| v.get("offer").is_some()) {
                prop_assert_ne!(*to, who);
                *received.entry(*to).or_default() += 1;
                last_offers.push((*to, v.clone()));
            }
            if answer_one
                && let Some((to, v)) = last_offers.pop() {
                    let from = meshcdn_tracker::PeerId::from_binary_str(v["peer_id"].as_str().unwrap()).unwrap();
                    let offer = meshcdn_tracker::OfferId::from_binary_str(v["offer_id"].as_str().unwrap()).unwrap();
                    let out = s.send(to, &answer(sw, pid(to as u32), from, offer));
                    prop_assert!(failure(&out).is_none(), "{:?}", out);
                }
            for (&peer, &n) in &received {
                // Offers received turn into pending offers or links; neither expires in this test.
                prop_assert!(n <= u32::from(cap), "peer {} got {} offers, cap {}", peer, n, cap);
            }
        }
    }

    /// When nobody is close, offers still go out: to anyone eligible.
    #[test]
    fn falls_back_when_close_groups_are_empty(others in 1usize..15, n_offers in 1usize..12, seed: u64) {
        let mut s = Sim::new(TrackerConfig::default(), seed);
        let sw = ih(3);
        for i in 0..others {
            s.join(i as u64 + 1, facts(500 + i as u32, "BR", "SP", "SA"), sw);
        }
        s.open(999, facts(42, "JP", "13", "AS"));
        let offers: Vec<_> = (0..n_offers).map(|i| oid(999, i as u32)).collect();
        let out = s.send(999, &announce(sw, pid(999), &offers));
        prop_assert_eq!(offer_recipients(&out).len(), n_offers.min(others).min(10));
    }
}

/// Draws one offer from `sender` `draws` times, letting each offer expire in between so the
/// candidates stay equal, and returns how often each connection was picked.
fn draw_counts(candidates: u64, draws: u32, seed: u64) -> HashMap<u64, u32> {
    let cfg = TrackerConfig {
        offer_timeout_ms: 1,
        peer_timeout_ms: u64::MAX / 4,
        ..Default::default()
    };
    let mut s = Sim::new(cfg, seed);
    let sw = ih(4);
    for c in 1..=candidates {
        s.join(c, facts(7, "FR", "IDF", "EU"), sw);
    }
    s.open(0, facts(7, "FR", "IDF", "EU"));
    let mut counts = HashMap::new();
    for d in 0..draws {
        let out = s.send(0, &announce(sw, pid(0), &[oid(0, d)]));
        let to = offer_recipients(&out);
        assert_eq!(to.len(), 1);
        *counts.entry(to[0]).or_insert(0) += 1;
        s.now += 2;
        s.t.expire(s.now);
        assert_eq!(s.t.stats().pending_offers, 0);
    }
    counts
}

#[test]
fn equals_are_picked_fairly_in_small_groups() {
    let counts = draw_counts(4, 4000, 11);
    assert_eq!(counts.len(), 4);
    for (&c, &n) in &counts {
        // Expected 1000, sd ~27: a 6-sigma band.
        assert!(
            (840..=1160).contains(&n),
            "conn {c} picked {n} times: {counts:?}"
        );
    }
}

#[test]
fn equals_are_picked_fairly_in_large_sampled_groups() {
    let counts = draw_counts(100, 20_000, 12);
    assert_eq!(counts.len(), 100, "every candidate is picked sometimes");
    for (&c, &n) in &counts {
        // Expected 200, sd ~14.
        assert!((115..=285).contains(&n), "conn {c} picked {n} times");
    }
}

#[test]
fn load_is_spread_instead_of_flooding_the_closest_peer() {
    let mut s = Sim::new(TrackerConfig::default(), 5);
    let sw = ih(5);
    // Two close uploaders; ten offering viewers that do not upload themselves.
    s.join(1, facts(7, "FR", "IDF", "EU"), sw);
    s.join(2, facts(7, "FR", "IDF", "EU"), sw);
    let mut got: HashMap<u64, u32> = HashMap::new();
    for v in 10..20 {
        s.open(v, facts(7, "FR", "IDF", "EU"));
        s.send(v, &no_upload(sw, v));
        let out = s.send(v, &announce(sw, pid(v as u32), &[oid(v as u32, 0)]));
        for to in offer_recipients(&out) {
            *got.entry(to).or_default() += 1;
        }
    }
    assert_eq!(got.get(&1), Some(&5));
    assert_eq!(got.get(&2), Some(&5));
}

#[test]
fn reported_peer_count_counts_towards_the_cap() {
    let mut s = Sim::new(
        TrackerConfig {
            max_peers_per_viewer: 5,
            ..Default::default()
        },
        1,
    );
    let sw = ih(6);
    s.open(1, NetworkFacts::default());
    let full = json!({"action":"announce","info_hash":sw.to_binary_string(),"peer_id":pid(1).to_binary_string(),"meshcdn":{"peers":5}}).to_string();
    s.send(1, &full);
    s.open(2, NetworkFacts::default());
    assert!(offer_recipients(&s.send(2, &announce(sw, pid(2), &[oid(2, 0)]))).is_empty());
    let room = json!({"action":"announce","info_hash":sw.to_binary_string(),"peer_id":pid(1).to_binary_string(),"meshcdn":{"peers":4}}).to_string();
    s.send(1, &room);
    assert_eq!(
        offer_recipients(&s.send(2, &announce(sw, pid(2), &[oid(2, 1)]))),
        vec![1]
    );
}

#[test]
fn a_peer_holding_an_offer_from_the_sender_is_skipped() {
    let mut s = sim_pair();
    // Peer 1 already holds an offer from 2: a second announce from 2 finds nobody else.
    let out = s.send(2, &announce(ih(7), pid(2), &[oid(2, 1)]));
    assert!(offer_recipients(&out).is_empty());
    // Once answered (a live link), still skipped.
    let out = s.send(1, &answer(ih(7), pid(1), pid(2), oid(2, 0)));
    assert_eq!(out.len(), 1);
    assert!(offer_recipients(&s.send(2, &announce(ih(7), pid(2), &[oid(2, 2)]))).is_empty());
}

#[test]
fn without_offer_dedupe_every_offer_is_relayed_and_each_answer_matches_its_own() {
    let mut s = sim_pair_with(TrackerConfig {
        offer_dedupe: false,
        ..Default::default()
    });
    // Peer 1 holds an offer from 2 and still gets the next ones, as from aquatic_ws.
    let out = s.send(2, &announce(ih(7), pid(2), &[oid(2, 1), oid(2, 2)]));
    assert_eq!(offer_recipients(&out), vec![1, 1]);
    for k in 0..3 {
        let out = s.send(1, &answer(ih(7), pid(1), pid(2), oid(2, k)));
        assert_eq!(out.len(), 1, "answer to offer {k} is relayed");
    }
    // Each pending offer was consumed once: a second answer to the same offer is refused.
    let again = s.send(1, &answer(ih(7), pid(1), pid(2), oid(2, 1)));
    assert_eq!(again.len(), 1);
    assert!(again[0].1.get("failure reason").is_some(), "{again:?}");
    assert_eq!(s.t.stats().pending_offers, 0);
}

fn sim_pair() -> Sim {
    sim_pair_with(TrackerConfig::default())
}

fn sim_pair_with(config: TrackerConfig) -> Sim {
    let mut s = Sim::new(config, 3);
    s.join(1, NetworkFacts::default(), ih(7));
    s.open(2, NetworkFacts::default());
    assert_eq!(
        offer_recipients(&s.send(2, &announce(ih(7), pid(2), &[oid(2, 0)]))),
        vec![1]
    );
    s
}

#[test]
fn seeders_do_not_get_offers_from_seeders() {
    let mut s = Sim::new(TrackerConfig::default(), 3);
    let seed_msg = |c: u32| {
        json!({"action":"announce","info_hash":ih(8).to_binary_string(),"peer_id":pid(c).to_binary_string(),"left":0,
        "offers":[{"offer":{"type":"offer","sdp":"v=0"},"offer_id":oid(c, 0).to_binary_string()}]}).to_string()
    };
    s.open(1, NetworkFacts::default());
    s.send(1, &seed_msg(1));
    s.open(2, NetworkFacts::default());
    assert!(offer_recipients(&s.send(2, &seed_msg(2))).is_empty());
    s.join(3, NetworkFacts::default(), ih(8));
    assert_eq!(
        offer_recipients(&s.send(2, &announce(ih(8), pid(2), &[oid(2, 5)]))),
        vec![3]
    );
}
