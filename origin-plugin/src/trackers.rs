//! Which tracker URLs a viewer is told about.
//!
//! Kept behind one small trait so placement (region → PoP → edge node by rendezvous hashing,
//! [`PlacementTrackers`]) replaces the static list without touching the rewriting code.

use http::request::Parts;

/// Chooses the tracker URLs (primary first) for one manifest request of one content.
pub trait TrackerSelector: Send + Sync + 'static {
    fn trackers_for(&self, request: &Parts, content_id: &str) -> Vec<String>;

    /// The request header the choice depends on, if any. Master playlists and MPDs then carry
    /// `Vary: <header>`, so a shared cache never hands one viewer's trackers to another.
    fn vary(&self) -> Option<&str> {
        None
    }
}

/// The same configured list for everyone.
#[derive(Debug, Clone, Default)]
pub struct StaticTrackers(pub Vec<String>);

impl TrackerSelector for StaticTrackers {
    fn trackers_for(&self, _request: &Parts, _content_id: &str) -> Vec<String> {
        self.0.clone()
    }
}

/// Swarm placement (`meshcdn_placement`): the viewer's region comes from the placement's trusted
/// region header (set by the CDN), the PoP from the region, the node from the content id.
#[derive(Debug, Clone)]
pub struct PlacementTrackers(pub meshcdn_placement::Placement);

impl TrackerSelector for PlacementTrackers {
    fn trackers_for(&self, request: &Parts, content_id: &str) -> Vec<String> {
        // A non-UTF-8 value is treated like a missing one: the default PoP.
        let region = request
            .headers
            .get(self.0.region_header())
            .and_then(|v| v.to_str().ok());
        self.0.trackers_for(region, content_id)
    }

    fn vary(&self) -> Option<&str> {
        Some(self.0.region_header())
    }
}

impl<F> TrackerSelector for F
where
    F: Fn(&Parts, &str) -> Vec<String> + Send + Sync + 'static,
{
    fn trackers_for(&self, request: &Parts, content_id: &str) -> Vec<String> {
        self(request, content_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshcdn_placement::{NodeConfig, Placement, PlacementConfig, PopConfig};

    fn placement() -> Placement {
        let node = |name: &str| NodeConfig {
            name: name.into(),
            tracker_url: format!("ws://{name}/announce"),
        };
        Placement::new(PlacementConfig {
            region_header: "x-meshcdn-region".into(),
            default_pop: "fra".into(),
            pop_fallbacks: 0,
            pops: vec![
                PopConfig {
                    name: "fra".into(),
                    regions: vec!["DE".into()],
                    fallback_pop: None,
                    nodes: vec![node("fra-0")],
                },
                PopConfig {
                    name: "iad".into(),
                    regions: vec!["US".into()],
                    fallback_pop: None,
                    nodes: vec![node("iad-0")],
                },
            ],
        })
        .unwrap()
    }

    fn parts(region: Option<&[u8]>) -> Parts {
        let mut b = http::Request::get("/vod/a/master.m3u8");
        if let Some(r) = region {
            b = b.header(
                "X-MeshCDN-Region",
                http::HeaderValue::from_bytes(r).unwrap(),
            );
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn placement_reads_the_region_header_and_varies_on_it() {
        let sel = PlacementTrackers(placement());
        assert_eq!(
            sel.trackers_for(&parts(Some(b"US")), "vod/a"),
            ["ws://iad-0/announce", "ws://fra-0/announce"]
        );
        assert_eq!(
            sel.trackers_for(&parts(Some(b"DE")), "vod/a"),
            ["ws://fra-0/announce"]
        );
        assert_eq!(
            sel.trackers_for(&parts(None), "vod/a"),
            ["ws://fra-0/announce"],
            "default PoP"
        );
        assert_eq!(
            sel.trackers_for(&parts(Some(b"\xff")), "vod/a"),
            ["ws://fra-0/announce"],
            "non-UTF-8: default PoP"
        );
        assert_eq!(sel.vary(), Some("x-meshcdn-region"));
        assert_eq!(StaticTrackers(vec![]).vary(), None);
    }
}
