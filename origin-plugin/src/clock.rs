//! The one wall-clock read of the plugin and the CLI: Unix seconds. Everything below takes time
//! as a parameter (`now_secs`), so tests pass their own.

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
