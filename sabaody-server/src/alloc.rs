//! glibc malloc settings for a long-running cache (Linux with glibc only; a no-op elsewhere).
//!
//! With `maxmemory` set, the keyspace is held at the bound, but glibc's defaults let the
//! process's RSS run far above it (measured with `bound_holds_at_64mb` in
//! `tests/integration_eviction.rs`: peak RSS 2.4x to 2.9x `maxmemory` while `used_memory`
//! stayed within 0.03% of it). Two causes, each about half of the gap:
//!
//! - glibc's dynamic mmap threshold: the first free of an mmapped block (a shard's record
//!   arena growing or being compacted) raises the threshold to that block's size, up to
//!   32 MiB, and the trim threshold to twice that. From then on the arenas live in the heap,
//!   every reallocation or compaction leaves its old block there as a free hole, and the
//!   heap's top is never given back (mallinfo2 after the load: 93 MB in use, 91 MB free in
//!   the heap). A fixed threshold turns the dynamic one off: blocks of 128 KiB and more are
//!   mmapped and returned to the kernel when freed (reallocating one is an `mremap`, no copy).
//! - One malloc arena per thread: values are allocated and freed on every loop thread, and
//!   each arena keeps its own free chunks. Capping the arenas at the number of loop threads
//!   took the same test from 1.41x to 1.27x.
//!
//! An operator's own `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`
//! (or any `GLIBC_TUNABLES`) wins: the setting it names is left alone.

/// Blocks this large or larger are mmapped (glibc's initial default, made fixed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Sets glibc's malloc for a server with `loop_threads` event-loop threads. Call it once,
/// before the server starts its threads. Process-wide, so the library's `Server::start`
/// leaves it to the binary (`main.rs`) and to tests that measure RSS.
pub fn tune_malloc(loop_threads: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |name: &str| std::env::var_os(name).is_some();
        if set("GLIBC_TUNABLES") {
            return;
        }
        if !set("MALLOC_MMAP_THRESHOLD_") && !set("MALLOC_TRIM_THRESHOLD_") {
            // SAFETY: mallopt only changes allocator parameters; it is called before the
            // server's threads exist, and glibc takes its own lock anyway.
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, MMAP_THRESHOLD);
            }
        }
        if !set("MALLOC_ARENA_MAX") {
            let arenas = i32::try_from(loop_threads.max(1)).unwrap_or(i32::MAX);
            // SAFETY: as above.
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, arenas);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = loop_threads;
}
