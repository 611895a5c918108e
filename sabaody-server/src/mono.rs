//! The monotonic clock the command path times itself with (`INFO commandstats`, the slow log):
//! nanoseconds as a plain `u64`, so the elapsed time of a command is one subtraction. On Linux
//! it is `clock_gettime(CLOCK_MONOTONIC)` (glibc's vDSO call, the clock `Instant` reads),
//! where `Instant` arithmetic costs some fifty instructions more per command in checked
//! `timespec` subtraction.

/// Nanoseconds on a monotonic clock with an arbitrary origin.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call, and
    // CLOCK_MONOTONIC is always supported on Linux (it cannot fail with a valid pointer;
    // were it to, `t` would stay zero, which only skews a statistic).
    #[allow(unsafe_code)]
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    (t.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(t.tv_nsec as u64)
}

/// Nanoseconds on a monotonic clock with an arbitrary origin.
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn now_ns() -> u64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::now_ns;

    #[test]
    fn never_goes_back_and_measures_what_instant_measures() {
        let outer = std::time::Instant::now();
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now_ns();
        let outer = outer.elapsed().as_nanos() as u64;
        assert!(b >= a + 20_000_000, "{}", b - a);
        // Both read the monotonic clock: the inner interval fits in the outer one.
        assert!(b - a <= outer, "{} vs {outer}", b - a);
    }
}
