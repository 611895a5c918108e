//! A cache-line prefetch hint: the one place this crate uses `unsafe`.

/// Asks the CPU to start loading the cache line holding `addr`. The address need not be valid:
/// a prefetch never faults and never changes memory (on other targets this does nothing).
#[inline]
pub(crate) fn line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint with no architectural effect: it cannot fault, read into a
    // register or write memory, whatever the address (Intel SDM, PREFETCHh). SSE, which the
    // intrinsic is tagged with, is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::without_provenance::<i8>(addr),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
