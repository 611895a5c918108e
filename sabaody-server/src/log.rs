//! A tiny stdout logger in redis-server's line format:
//! `pid:M 24 Nov 2026 18:05:00.123 * message` (`.` debug, `-` verbose, `*` notice, `#` warning).
//!
//! One process-wide level (an atomic), set from the `loglevel` directive. No dependency: the
//! server logs a handful of lines (startup, shutdown, accept errors), nothing on the hot path.

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::LogLevel;

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Notice as u8);

/// Sets the process-wide log level.
pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether a message at `level` would be printed.
pub fn enabled(level: LogLevel) -> bool {
    level != LogLevel::Nothing && level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Prints one line if `level` is enabled.
pub fn log(level: LogLevel, args: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let mark = match level {
        LogLevel::Debug => '.',
        LogLevel::Verbose => '-',
        LogLevel::Notice => '*',
        LogLevel::Warning | LogLevel::Nothing => '#',
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[(m as usize).saturating_sub(1).min(11)];
    let line = format!(
        "{}:M {:02} {} {} {:02}:{:02}:{:02}.{:03} {} {}\n",
        std::process::id(),
        d,
        month,
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        now.subsec_millis(),
        mark,
        args
    );
    // A closed stdout must not take the server down.
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Logs at warning level.
#[macro_export]
macro_rules! log_warning {
    ($($t:tt)*) => { $crate::log::log($crate::config::LogLevel::Warning, format_args!($($t)*)) };
}
/// Logs at notice level.
#[macro_export]
macro_rules! log_notice {
    ($($t:tt)*) => { $crate::log::log($crate::config::LogLevel::Notice, format_args!($($t)*)) };
}
/// Logs at verbose level.
#[macro_export]
macro_rules! log_verbose {
    ($($t:tt)*) => { $crate::log::log($crate::config::LogLevel::Verbose, format_args!($($t)*)) };
}
/// Logs at debug level.
#[macro_export]
macro_rules! log_debug {
    ($($t:tt)*) => { $crate::log::log($crate::config::LogLevel::Debug, format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn levels() {
        set_level(LogLevel::Warning);
        assert!(!enabled(LogLevel::Notice));
        assert!(enabled(LogLevel::Warning));
        set_level(LogLevel::Notice);
        assert!(enabled(LogLevel::Notice));
        assert!(!enabled(LogLevel::Nothing));
    }
}
