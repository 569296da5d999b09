//! Swarm placement across PoPs.
//!
//! The origin plugin asks, for each viewer, which tracker URLs to put in the manifest bootstrap:
//!
//! 1. **PoP**: from the viewer's region (a trusted header set by the CDN, see
//!    [`PlacementConfig::region_header`]); a region no PoP lists, or none at all, goes to the
//!    default PoP. `DE-BY` falls back to `DE` when only the country is listed.
//! 2. **Node**: rendezvous (highest-random-weight) hashing of the content id over the PoP's
//!    nodes. Every viewer of one content in one PoP gets the same primary node, so they meet in
//!    the same swarm; removing a node moves only the contents that node held; adding one takes
//!    an even share from every other node.
//! 3. **Fallbacks**: the next-ranked nodes of the same PoP, then the top node of the PoP's
//!    fallback PoP. These are ranked by the same hash, so when a primary dies all its viewers
//!    fail over to the *same* node and meet there again.
//!
//! The key is the content id, not the per-rendition `info_hash`: a viewer switching renditions
//! keeps one tracker connection, and a swarm token (which admits all renditions of one content)
//! is only ever presented to one node. Inside a host, swarms are still sharded by `info_hash`.
//!
//! Scores are SHA-256 over a versioned domain tag, the node name and the content id: stable
//! across processes, platforms and releases (a keyed `std` hasher is not), so every origin
//! replica places a content identically. Node *names*, not URLs, are hashed, so moving a node
//! to a new address keeps its swarms.
//!
//! Pure: no clock, no randomness, and no I/O beyond [`Placement::load`] reading its file.

mod config;

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use config::{
    DEFAULT_POP_FALLBACKS, DEFAULT_REGION_HEADER, LoadError, MAX_POP_FALLBACKS, NodeConfig,
    PlacementConfig, PlacementError, PopConfig,
};

/// Domain tag of the score hash. Changing it re-places every swarm: bump only on purpose.
const SCORE_DOMAIN: &[u8] = b"meshcdn-placement/v1\0";
/// Region header values longer than this are ignored (treated as no region).
const MAX_REGION_LEN: usize = 64;

/// A validated placement config, ready to answer per viewer.
#[derive(Debug, Clone)]
pub struct Placement {
    region_header: String,
    pops: Vec<Pop>,
    default_pop: usize,
    /// Upper-cased region -> index into `pops`.
    regions: HashMap<String, usize>,
    pop_fallbacks: usize,
}

#[derive(Debug, Clone)]
struct Pop {
    name: String,
    fallback_pop: Option<usize>,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    tracker_url: String,
    /// Hasher already fed with the domain tag and the node name.
    seeded: Sha256,
}

/// One tracker a viewer is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub pop: &'a str,
    pub node: &'a str,
    pub tracker_url: &'a str,
}

/// Where one viewer of one content goes: the PoP chosen for its region, then the trackers,
/// primary first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    pub pop: &'a str,
    pub targets: Vec<Target<'a>>,
}

impl Assignment<'_> {
    /// The primary tracker.
    pub fn primary(&self) -> Target<'_> {
        // `Placement::place` always yields at least the primary: every PoP has a node.
        self.targets[0]
    }

    /// Tracker URLs, primary first, as the bootstrap's `trackers` list.
    pub fn tracker_urls(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| t.tracker_url.to_owned())
            .collect()
    }
}

impl Placement {
    /// Validates `config`.
    pub fn new(config: PlacementConfig) -> Result<Self, PlacementError> {
        if config.pops.is_empty() {
            return Err(PlacementError::NoPops);
        }
        if !config::is_header_name(&config.region_header) {
            return Err(PlacementError::InvalidRegionHeader(config.region_header));
        }
        if config.pop_fallbacks > MAX_POP_FALLBACKS {
            return Err(PlacementError::TooManyFallbacks(config.pop_fallbacks));
        }

        let mut index_of: HashMap<&str, usize> = HashMap::new();
        for (index, pop) in config.pops.iter().enumerate() {
            if pop.name.is_empty() {
                return Err(PlacementError::EmptyPopName { index });
            }
            if index_of.insert(&pop.name, index).is_some() {
                return Err(PlacementError::DuplicatePop(pop.name.clone()));
            }
        }

        let default_pop = if config.default_pop.is_empty() {
            if config.pops.len() != 1 {
                return Err(PlacementError::MissingDefaultPop(config.pops.len()));
            }
            0
        } else {
            *index_of
                .get(config.default_pop.as_str())
                .ok_or_else(|| PlacementError::UnknownDefaultPop(config.default_pop.clone()))?
        };

        let mut regions: HashMap<String, usize> = HashMap::new();
        let mut urls: HashMap<&str, ()> = HashMap::new();
        let mut pops = Vec::with_capacity(config.pops.len());
        for (index, pop) in config.pops.iter().enumerate() {
            if pop.nodes.is_empty() {
                return Err(PlacementError::NoNodes(pop.name.clone()));
            }
            for region in &pop.regions {
                let key = region.trim().to_ascii_uppercase();
                if key.is_empty() {
                    return Err(PlacementError::EmptyRegion(pop.name.clone()));
                }
                if let Some(&first) = regions.get(&key) {
                    return Err(PlacementError::DuplicateRegion {
                        region: region.clone(),
                        first: config.pops[first].name.clone(),
                        second: pop.name.clone(),
                    });
                }
                regions.insert(key, index);
            }
            let fallback_pop = match &pop.fallback_pop {
                Some(name) if *name == pop.name => {
                    return Err(PlacementError::SelfFallback(pop.name.clone()));
                }
                Some(name) => Some(*index_of.get(name.as_str()).ok_or_else(|| {
                    PlacementError::UnknownFallbackPop {
                        pop: pop.name.clone(),
                        fallback: name.clone(),
                    }
                })?),
                None => (index != default_pop).then_some(default_pop),
            };
            let mut nodes: Vec<Node> = Vec::with_capacity(pop.nodes.len());
            for (node_index, node) in pop.nodes.iter().enumerate() {
                if node.name.is_empty() {
                    return Err(PlacementError::EmptyNodeName {
                        pop: pop.name.clone(),
                        index: node_index,
                    });
                }
                if nodes.iter().any(|n| n.name == node.name) {
                    return Err(PlacementError::DuplicateNode {
                        pop: pop.name.clone(),
                        node: node.name.clone(),
                    });
                }
                config::check_tracker_url(&node.tracker_url).map_err(|reason| {
                    PlacementError::InvalidTrackerUrl {
                        pop: pop.name.clone(),
                        node: node.name.clone(),
                        url: node.tracker_url.clone(),
                        reason,
                    }
                })?;
                if urls.insert(&node.tracker_url, ()).is_some() {
                    return Err(PlacementError::DuplicateTrackerUrl(
                        node.tracker_url.clone(),
                    ));
                }
                nodes.push(Node {
                    name: node.name.clone(),
                    tracker_url: node.tracker_url.clone(),
                    seeded: seeded_hasher(&node.name),
                });
            }
            pops.push(Pop {
                name: pop.name.clone(),
                fallback_pop,
                nodes,
            });
        }

        Ok(Self {
            region_header: config.region_header.to_ascii_lowercase(),
            pops,
            default_pop,
            regions,
            pop_fallbacks: config.pop_fallbacks,
        })
    }

    /// Reads, parses and validates a placement file (TOML, see [`PlacementConfig`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        config::load(path.as_ref())
    }

    /// The trusted header to read the viewer's region from, lower-cased.
    pub fn region_header(&self) -> &str {
        &self.region_header
    }

    /// Name of the PoP that serves `region` (the default PoP for `None` or an unknown region).
    pub fn pop_for_region(&self, region: Option<&str>) -> &str {
        &self.pops[self.pop_index(region)].name
    }

    /// Places one viewer of `content_id` coming from `region`.
    pub fn place(&self, region: Option<&str>, content_id: &str) -> Assignment<'_> {
        let pop_index = self.pop_index(region);
        let pop = &self.pops[pop_index];
        let mut ranked = rank(pop, content_id);
        ranked.truncate(1 + self.pop_fallbacks);
        let mut targets: Vec<Target<'_>> =
            ranked.into_iter().map(|node| target(pop, node)).collect();
        if let Some(fallback) = pop.fallback_pop {
            let other = &self.pops[fallback];
            // The other PoP's top node for this content: where that PoP's own viewers meet.
            if let Some(&node) = rank(other, content_id).first() {
                targets.push(target(other, node));
            }
        }
        Assignment {
            pop: &pop.name,
            targets,
        }
    }

    /// Tracker URLs for one viewer, primary first.
    pub fn trackers_for(&self, region: Option<&str>, content_id: &str) -> Vec<String> {
        self.place(region, content_id).tracker_urls()
    }

    fn pop_index(&self, region: Option<&str>) -> usize {
        let Some(region) = region
            .map(str::trim)
            .filter(|r| !r.is_empty() && r.len() <= MAX_REGION_LEN)
        else {
            return self.default_pop;
        };
        let mut key = region.to_ascii_uppercase();
        // `DE-BY` -> `DE-BY`, then `DE`: a subdivision falls back to its country.
        loop {
            if let Some(&index) = self.regions.get(&key) {
                return index;
            }
            match key.rfind('-') {
                Some(cut) => key.truncate(cut),
                None => return self.default_pop,
            }
        }
    }
}

fn target<'a>(pop: &'a Pop, node: &'a Node) -> Target<'a> {
    Target {
        pop: &pop.name,
        node: &node.name,
        tracker_url: &node.tracker_url,
    }
}

fn seeded_hasher(node_name: &str) -> Sha256 {
    let mut hasher = Sha256::new();
    hasher.update(SCORE_DOMAIN);
    // Length prefix: ("ab", "c…") and ("a", "bc…") must not hash alike.
    hasher.update((node_name.len() as u64).to_be_bytes());
    hasher.update(node_name.as_bytes());
    hasher
}

/// Rendezvous score of `node` for `content_id`: the first 8 bytes of the hash, big-endian.
fn score(node: &Node, content_id: &str) -> u64 {
    let digest = node
        .seeded
        .clone()
        .chain_update(content_id.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(head)
}

/// The PoP's nodes by descending score; ties (2^-64) broken by name so the order is total.
fn rank<'a>(pop: &'a Pop, content_id: &str) -> Vec<&'a Node> {
    let mut scored: Vec<(u64, &Node)> = pop
        .nodes
        .iter()
        .map(|n| (score(n, content_id), n))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    scored.into_iter().map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the score function (values computed outside Rust, with Python's hashlib): if this
    /// fails, every deployed swarm would move at upgrade.
    #[test]
    fn scores_are_stable_across_releases() {
        let node = |name: &str| Node {
            name: name.into(),
            tracker_url: "ws://127.0.0.1:1/announce".into(),
            seeded: seeded_hasher(name),
        };
        assert_eq!(score(&node("edge-0"), "vod/sample"), 0xaeef_c455_2bf2_58af);
        assert_eq!(score(&node("edge-1"), "vod/sample"), 0xa76d_b48e_273b_c56c);
    }
}
