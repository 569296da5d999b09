//! A whole audience on simulated time (like quinn's `Pair::drive`): viewers in three ISP networks
//! announce every `interval`, answer every offer they get, and some leave. Shows the Peer5 effect
//! end to end: connections form inside ISP networks far more often than random matching would.

mod common;

use std::collections::HashMap;

use common::*;
use meshcdn_tracker::{OfferId, PeerId, TrackerConfig};
use serde_json::Value;

const VIEWERS: u64 = 60;
const ASNS: u64 = 3;

fn asn_of(conn: u64) -> u32 {
    100 + (conn % ASNS) as u32
}

#[test]
fn an_audience_connects_mostly_within_its_isp_networks() {
    let mut s = Sim::new(TrackerConfig::default(), 2026);
    let sw = ih(1);
    let mut next_announce: HashMap<u64, u64> = HashMap::new();
    for c in 0..VIEWERS {
        s.open(
            c,
            facts(
                asn_of(c),
                "FR",
                if c % 2 == 0 { "IDF" } else { "ARA" },
                "EU",
            ),
        );
        // Staggered start over the first minute.
        next_announce.insert(c, s.now + c * 1000);
    }
    let (mut same, mut cross) = (0u32, 0u32);
    let mut seq = 0u32;
    let end = s.now + 15 * 60 * 1000;
    let mut step = 0u64;
    while s.now < end {
        step += 1;
        s.now += 1000;
        // One viewer in 20 leaves every minute and comes back as a new connection.
        if step.is_multiple_of(60) {
            let leaving = (step / 60) % VIEWERS;
            s.t.connection_closed(leaving, s.now);
            s.open(leaving, facts(asn_of(leaving), "FR", "IDF", "EU"));
            // A client announces as soon as its socket is up.
            next_announce.insert(leaving, s.now);
        }
        let mut due: Vec<u64> = next_announce
            .iter()
            .filter(|&(_, &t)| t <= s.now)
            .map(|(&c, _)| c)
            .collect();
        due.sort_unstable();
        let mut inbox: Vec<(u64, Value)> = Vec::new();
        for c in due {
            seq += 1;
            let offers: Vec<OfferId> = (0..5).map(|i| oid(c as u32, seq * 8 + i)).collect();
            let out = s.send(c, &announce(sw, pid(c as u32), &offers));
            assert!(failure(&out).is_none(), "{out:?}");
            let interval = out
                .iter()
                .find(|(to, v)| *to == c && v.get("interval").is_some())
                .unwrap()
                .1["interval"]
                .as_u64()
                .unwrap();
            next_announce.insert(c, s.now + interval * 1000);
            inbox.extend(out.into_iter().filter(|(_, v)| v.get("offer").is_some()));
        }
        // Every offer is answered; each answer reaches its offerer.
        for (to, offer) in inbox {
            let from = PeerId::from_binary_str(offer["peer_id"].as_str().unwrap()).unwrap();
            let offer_id = OfferId::from_binary_str(offer["offer_id"].as_str().unwrap()).unwrap();
            let out = s.send(to, &answer(sw, pid(to as u32), from, offer_id));
            assert_eq!(out.len(), 1, "{out:?}");
            let offerer = out[0].0;
            assert_eq!(
                PeerId::from_binary_str(out[0].1["peer_id"].as_str().unwrap()).unwrap(),
                pid(to as u32)
            );
            if asn_of(offerer) == asn_of(to) {
                same += 1;
            } else {
                cross += 1;
            }
        }
        if step.is_multiple_of(5) {
            s.t.expire(s.now);
        }
    }
    let st = s.t.stats();
    let share = f64::from(same) / f64::from(same + cross);
    println!(
        "{same} same-ASN and {cross} cross-ASN connections ({:.0}% same; random matching: ~{:.0}%)",
        share * 100.0,
        100.0 / ASNS as f64
    );
    assert_eq!(st.peers, VIEWERS, "every viewer is in the swarm at the end");
    assert!(
        same + cross > 500,
        "the audience kept connecting: {}",
        same + cross
    );
    assert!(
        share > 0.7,
        "only {:.0}% of connections stayed within an ISP network",
        share * 100.0
    );
    assert_eq!(st.counters.answers_relayed, u64::from(same + cross));
}
