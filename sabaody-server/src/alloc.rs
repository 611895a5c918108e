//! glibc malloc settings for a long-running cache (Linux with glibc only; a no-op elsewhere).
//!
//! With `maxmemory` set, the keyspace is held at the bound, but glibc's defaults let the
//! process's RSS run far above it (measured with `bound_holds_at_64mb` in
//! `tests/integration_eviction.rs`: peak RSS 2.3x to 3.1x `maxmemory` while `used_memory`
//! stayed within 0.03% of it). The causes, measured there:
//!
//! - glibc's dynamic mmap threshold: the first free of an mmapped block (a shard's record
//!   arena growing or being compacted) raises the threshold to that block's size, up to
//!   32 MiB, and the trim threshold to twice that. From then on the arenas live in the heap,
//!   every reallocation or compaction leaves its old block there as a free hole, and the
//!   heap's top is never given back (mallinfo2 after the load: 93 MB in use, 91 MB free in
//!   the heap). A fixed threshold turns the dynamic one off, and shard arenas past 64 KiB are
//!   given at least the threshold's capacity (`sabaody_core::set_large_arena_floor`; capacity
//!   only, the spare end is not resident): so every large arena is mmapped and returned to
//!   the kernel when freed (growing one is an `mremap`, no copy). Peak RSS 2.3x-3.1x ->
//!   1.27x-1.28x `maxmemory` (three runs).
//!
//!   The threshold is 1 MiB. It was 128 KiB (glibc's initial default) without the arena
//!   floor: peak RSS 1.27x-1.56x, but every value, request or reply of 128 KiB or more was
//!   an mmap/munmap with its page faults: `redis-benchmark -t set -c 10 -r 2000 -d 200000`
//!   under `maxmemory 64mb` ran 3,295 SETs/s at 292 ms of server CPU per thousand, against
//!   7,018 at 115 now and redis-server's 6,849 at 117 (`-d 700000`: 1,038 at 952, now
//!   2,522 at 352, redis 2,845 at 270; peak RSS 72, 95 and 100 MB). Values of 1 MiB or more
//!   still pay it. Only a server started with a `maxmemory` gets the fixed threshold.
//! - One malloc arena per thread: values are allocated and freed on every loop thread, and
//!   each arena keeps its own free chunks. Capping the arenas at the number of loop threads
//!   took the same test from 1.41x to 1.27x (with the fixed threshold; 2.4x -> 2.1x without).
//! - Free pages inside the heap stay resident until `malloc_trim`: [`trim_step`], from the
//!   loops' cron, trims once a second at most while RSS is well above `used_memory` (after
//!   FLUSHALL of a million 100-byte values: RSS 123 MB -> 5 MB within 2.5 s, 91 madvise
//!   calls; the heap's top alone gave back almost nothing).
//!
//! An operator's own `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`
//! (or any `GLIBC_TUNABLES`) wins: the setting it names is left alone.

/// Blocks this large or larger are mmapped (fixed: glibc's dynamic threshold turned off).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 1024 * 1024;

/// The second of the last [`trim_step`] that looked (one a second, process-wide).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
static LAST_TRIM_SECOND: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// RSS above `used_memory` by more than this (and a quarter of `used_memory`) is trimmed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_SLACK: u64 = 16 << 20;

/// From every loop's cron: at most once a second in the process, when the RSS exceeds
/// `used()` (the keyspace's accounted bytes, read only then) by more than a quarter plus
/// 16 MiB, hands glibc's free heap pages back to the kernel (`malloc_trim`, which also
/// releases free pages inside the heap, not only at its top). Returns whether it trimmed.
pub(crate) fn trim_step(used: impl FnOnce() -> u64) -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::Ordering::Relaxed;
        // Whole seconds of the monotonic clock, plus one: never the initial 0.
        let second = crate::mono::now_ns() / 1_000_000_000 + 1;
        let last = LAST_TRIM_SECOND.load(Relaxed);
        if last == second
            || LAST_TRIM_SECOND
                .compare_exchange(last, second, Relaxed, Relaxed)
                .is_err()
        {
            return false;
        }
        let rss = crate::info::rss_bytes();
        let used = used();
        if rss <= used.saturating_add(used / 4).saturating_add(TRIM_SLACK) {
            return false;
        }
        purge();
        true
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = used;
        false
    }
}

/// Hands glibc's free heap pages back to the kernel now (`MEMORY PURGE`). Returns whether
/// any memory was released (always `false` where the allocator is not glibc's).
pub(crate) fn purge() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only returns free heap pages to the kernel (under glibc's
        // arena locks); no memory in use is touched.
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released != 0
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// glibc's heap figures (`mallinfo2`): (heap bytes from the system, in use, free in the heap,
/// mmapped bytes, mmapped blocks, free chunks); `None` where the allocator is not glibc's.
pub(crate) fn heap_info() -> Option<[u64; 6]> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        #[allow(unsafe_code)]
        let m = unsafe { libc::mallinfo2() };
        Some([
            m.arena as u64,
            m.uordblks as u64,
            m.fordblks as u64,
            m.hblkhd as u64,
            m.hblks as u64,
            m.ordblks as u64,
        ])
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// Sets glibc's malloc for a server with `loop_threads` event-loop threads; `bounded`: it
/// starts with a `maxmemory`, and gets the fixed mmap threshold. Call it once, before the
/// server starts its threads. Process-wide, so the library's `Server::start` leaves it to the
/// binary (`main.rs`) and to tests that measure RSS.
pub fn tune_malloc(loop_threads: usize, bounded: bool) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set = |name: &str| std::env::var_os(name).is_some();
        if set("GLIBC_TUNABLES") {
            return;
        }
        if bounded && !set("MALLOC_MMAP_THRESHOLD_") && !set("MALLOC_TRIM_THRESHOLD_") {
            // SAFETY: mallopt only changes allocator parameters; it is called before the
            // server's threads exist, and glibc takes its own lock anyway.
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, MMAP_THRESHOLD);
            }
            sabaody_core::set_large_arena_floor(MMAP_THRESHOLD as usize);
        }
        if !set("MALLOC_ARENA_MAX") {
            let arenas = i32::try_from(loop_threads.max(1)).unwrap_or(i32::MAX);
            // SAFETY: mallopt only changes allocator parameters; it is called before the
            // server's threads exist, and glibc takes its own lock anyway.
            #[allow(unsafe_code)]
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, arenas);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = (loop_threads, bounded);
}
