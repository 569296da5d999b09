//! Gives free heap pages back to the OS after compiling a component.
//!
//! Compiling a component with cranelift allocates and frees several MiB. glibc's malloc keeps
//! freed pages mapped, so without this the host would carry that peak for its whole life (4 to 8
//! MiB here, measured with `edge-worker/bench/run.sh`: the wasm host's RSS before any peer).
//! `malloc_trim(0)` returns every free page; it is called after start-up and after a hot upgrade.

/// Returns free heap pages to the OS. A no-op where the allocator is not glibc's.
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releasing_free_pages_keeps_live_memory_intact() {
        let live: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 4096]).collect();
        drop((0..1000).map(|_| vec![0u8; 4096]).collect::<Vec<_>>());
        release_free_pages();
        assert!(
            live.iter()
                .enumerate()
                .all(|(i, v)| v.iter().all(|b| *b == i as u8))
        );
    }
}
