//! `GET /v1/analytics/metrics`: per-stream gauges over the last [`WINDOW_SECS`] and the
//! ingestion counters, in the Prometheus text format (0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::Counters;
use crate::aggregate::{Report, StreamReport};

/// Window of the per-stream gauges, in seconds.
pub const WINDOW_SECS: u64 = 300;
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn render(report: &Report, counters: &Counters) -> String {
    let mut out = String::with_capacity(1024);
    type Gauge = (&'static str, &'static str, fn(&StreamReport) -> f64);
    let gauges: [Gauge; 5] = [
        (
            "offload_ratio",
            "Share of segment bytes viewers got from peers over the last 5 minutes (0..1).",
            |s| s.offload,
        ),
        (
            "bytes_saved",
            "Segment bytes delivered by peers instead of the CDN over the last 5 minutes.",
            |s| s.bytes_saved as f64,
        ),
        (
            "http_bytes",
            "Segment bytes viewers fetched over HTTP over the last 5 minutes.",
            |s| s.http_bytes as f64,
        ),
        (
            "viewers",
            "Average concurrent viewers in the newest bucket.",
            |s| s.current_viewers,
        ),
        (
            "peers_per_viewer",
            "Average peers connected per viewer over the last 5 minutes.",
            |s| s.peers_per_viewer,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP meshcdn_analytics_{name} {help}");
        let _ = writeln!(out, "# TYPE meshcdn_analytics_{name} gauge");
        for s in &report.streams {
            let _ = writeln!(
                out,
                "meshcdn_analytics_{name}{{content=\"{}\"}} {}",
                label(&s.content),
                value(s)
            );
        }
    }
    let c = counters;
    let _ = writeln!(
        out,
        "# HELP meshcdn_analytics_beacons_total Beacons received, by result."
    );
    let _ = writeln!(out, "# TYPE meshcdn_analytics_beacons_total counter");
    for (result, n) in [
        ("accepted", &c.accepted),
        ("too_large", &c.too_large),
        ("malformed", &c.malformed),
        ("unauthorized", &c.unauthorized),
        ("wrong_content", &c.wrong_content),
        ("rate_limited", &c.rate_limited),
        ("overloaded", &c.overloaded),
    ] {
        let _ = writeln!(
            out,
            "meshcdn_analytics_beacons_total{{result=\"{result}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP meshcdn_analytics_write_errors_total Failed database writes (the sums stay pending)."
    );
    let _ = writeln!(out, "# TYPE meshcdn_analytics_write_errors_total counter");
    let _ = writeln!(
        out,
        "meshcdn_analytics_write_errors_total {}",
        c.write_errors.load(Ordering::Relaxed)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
