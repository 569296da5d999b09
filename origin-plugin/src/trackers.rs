//! Which tracker URLs a viewer is told about.
//!
//! Kept behind one small trait so placement (region → edge nodes, rendezvous hashing; issue #7)
//! can replace the static list without touching the rewriting code.

use http::request::Parts;

/// Chooses the tracker URLs (primary first) for one manifest request of one content.
pub trait TrackerSelector: Send + Sync + 'static {
    fn trackers_for(&self, request: &Parts, content_id: &str) -> Vec<String>;
}

/// The same configured list for everyone.
#[derive(Debug, Clone, Default)]
pub struct StaticTrackers(pub Vec<String>);

impl TrackerSelector for StaticTrackers {
    fn trackers_for(&self, _request: &Parts, _content_id: &str) -> Vec<String> {
        self.0.clone()
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
