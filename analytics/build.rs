//! Checks that the dashboard's chart library (uPlot, an npm package) is installed: it is embedded
//! into the binary (`include_bytes!` in src/dashboard.rs) so the dashboard works without internet.

use std::path::Path;

const FILES: [&str; 2] = ["uPlot.iife.min.js", "uPlot.min.css"];

fn main() {
    // Read at run time: `env!` would bake in the path of whichever clone compiled this script
    // first, and a cargo target directory shared between clones reuses the compiled script.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = Path::new(&manifest_dir).join("dashboard/node_modules/uplot/dist");
    for file in FILES {
        let path = dist.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if !path.is_file() {
            panic!(
                "meshcdn-analytics: {} is missing. The dashboard embeds uPlot from npm: run \
                 scripts/setup.sh (or `npm install` in analytics/dashboard) before building.",
                path.display()
            );
        }
    }
}
