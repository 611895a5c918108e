//! Server configuration: a redis.conf-syntax file plus `--directive value` overrides.
//!
//! Every directive has one entry in [`DIRECTIVES`]: its name, how to parse it into [`Config`],
//! how to print it back (for `CONFIG GET` / `CONFIG REWRITE`) and whether `CONFIG SET` may change
//! it at run time. Defaults are redis-server 7.0's, except `save ""` and `bind 127.0.0.1` (as the
//! server issue asks) and `io-threads` (all cores but one, at least one: see [`default_io_threads`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A startup or `CONFIG SET` error naming the directive at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The directive is not one we know.
    #[error("{location}unknown directive '{directive}'")]
    UnknownDirective {
        /// Where it was found (`"line 3 of x.conf: "`, or empty).
        location: String,
        /// The directive as written.
        directive: String,
    },
    /// The directive is known but its arguments are not valid.
    #[error("{location}bad value for '{directive}': {reason}")]
    BadValue {
        /// Where it was found.
        location: String,
        /// The directive.
        directive: String,
        /// What is wrong, e.g. `argument must be a memory value`.
        reason: String,
    },
    /// A line of the config file could not be split (unbalanced quotes).
    #[error("{location}unbalanced quotes in configuration line")]
    Syntax {
        /// Where it was found.
        location: String,
    },
    /// The config file could not be read.
    #[error("cannot read config file '{path}': {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error text.
        reason: String,
    },
}

impl ConfigError {
    fn with_location(self, loc: &str) -> Self {
        match self {
            ConfigError::UnknownDirective { directive, .. } => ConfigError::UnknownDirective {
                location: loc.to_owned(),
                directive,
            },
            ConfigError::BadValue {
                directive, reason, ..
            } => ConfigError::BadValue {
                location: loc.to_owned(),
                directive,
                reason,
            },
            ConfigError::Syntax { .. } => ConfigError::Syntax {
                location: loc.to_owned(),
            },
            e @ ConfigError::Io { .. } => e,
        }
    }

    /// The reason text without the location, as `CONFIG SET` reports it.
    pub fn reason(&self) -> String {
        match self {
            ConfigError::UnknownDirective { .. } => "Unknown option or number of arguments".into(),
            ConfigError::BadValue { reason, .. } => reason.clone(),
            ConfigError::Syntax { .. } => "unbalanced quotes".into(),
            ConfigError::Io { reason, .. } => reason.clone(),
        }
    }
}

/// Log verbosity, as Redis's `loglevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Everything.
    Debug = 0,
    /// Rarely useful information.
    Verbose = 1,
    /// Moderately verbose (the default).
    Notice = 2,
    /// Only important messages.
    Warning = 3,
    /// Nothing.
    Nothing = 4,
}

impl LogLevel {
    fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Nothing => "nothing",
        }
    }
}

/// One class of `client-output-buffer-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Disconnect at once above this many pending reply bytes (0 = no limit).
    pub hard: u64,
    /// Disconnect when above this for `soft_seconds` (0 = no limit).
    pub soft: u64,
    /// See `soft`.
    pub soft_seconds: u64,
}

/// The three `client-output-buffer-limit` classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Ordinary clients.
    pub normal: OutputLimit,
    /// Replicas (accepted for compatibility).
    pub replica: OutputLimit,
    /// Pub/Sub clients (and MONITOR here).
    pub pubsub: OutputLimit,
}

/// The server configuration. `Default` is redis-server's defaults.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub protected_mode: bool,
    pub databases: usize,
    pub maxclients: usize,
    /// Idle client timeout in seconds (0 = never).
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u32,
    pub requirepass: Option<Vec<u8>>,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub daemonize: bool,
    pub pidfile: String,
    pub io_threads: usize,
    pub io_threads_do_reads: bool,
    pub client_query_buffer_limit: u64,
    pub client_output_buffer_limit: OutputLimits,
    pub proto_max_bulk_len: u64,
    /// `save` points as (seconds, changes); empty = no snapshots.
    pub save: Vec<(u64, u64)>,
    pub appendonly: bool,
    pub appendfsync: String,
    pub appendfilename: String,
    pub appenddirname: String,
    pub dir: PathBuf,
    pub dbfilename: String,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub rdb_save_incremental_fsync: bool,
    pub stop_writes_on_bgsave_error: bool,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    pub hz: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub latency_monitor_threshold: u64,
    /// The classes `notify-keyspace-events` enables (shown as Redis shows them, which can hide
    /// `n` behind `A`).
    pub notify_keyspace_flags: u32,
    pub aof_use_rdb_preamble: bool,
    /// `aof-rewrite-incremental-fsync`: fdatasync a rewrite's new base every 4 MB written.
    pub aof_rewrite_incremental_fsync: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub no_appendfsync_on_rewrite: bool,
    pub aof_load_truncated: bool,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub active_expire_effort: u64,
    pub supervised: String,
    pub enable_debug_command: String,
    pub always_show_logo: bool,
    pub set_proc_title: bool,
    /// Values of the directives accepted without effect (see [`inert!`]), by name; absent
    /// ones are at their Redis default.
    pub inert: std::collections::BTreeMap<&'static str, String>,
    /// The config file the server was started with (for `CONFIG REWRITE`), if any.
    pub config_file: Option<PathBuf>,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Loop threads by default: every core but one, and at least one.
///
/// Each loop thread runs commands, so more threads serve more clients at once, but a thread
/// also costs wake-ups: with fewer busy clients per thread, each turn of each loop finds less
/// work and sleeps more often. The core left over is for the kernel's network processing (on
/// loopback, delivering a reply runs the receiver's TCP stack on the sender's CPU) and for
/// whatever shares the machine. Measured on this project's 2-core machine with
/// `redis-benchmark -t set,get -c 50` on the same machine (server CPU per request): on a quiet
/// machine one and two threads cost about the same at `-P 1` (8-10 us) and one thread less at
/// `-P 16` (0.63-0.78 vs 0.70-0.89 us); with another process busy on one core, two threads
/// cost 10-13 us at `-P 1` against 7-9 us for one (context switches per request 0.44 vs
/// 0.13), with twice the p99. This follows Redis's advice for its `io-threads` (4 cores: 2 or
/// 3 threads; 8 cores: 6) rather than one thread per core.
pub fn default_io_threads() -> usize {
    cores().saturating_sub(1).max(1)
}

impl Default for Config {
    fn default() -> Self {
        let unlimited = OutputLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            protected_mode: true,
            databases: 16,
            maxclients: 10_000,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            requirepass: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            daemonize: false,
            pidfile: String::new(),
            io_threads: default_io_threads(),
            io_threads_do_reads: false,
            client_query_buffer_limit: 1 << 30,
            client_output_buffer_limit: OutputLimits {
                normal: unlimited,
                replica: OutputLimit {
                    hard: 256 << 20,
                    soft: 64 << 20,
                    soft_seconds: 60,
                },
                pubsub: OutputLimit {
                    hard: 32 << 20,
                    soft: 8 << 20,
                    soft_seconds: 60,
                },
            },
            proto_max_bulk_len: 512 << 20,
            save: Vec::new(),
            appendonly: false,
            appendfsync: "everysec".into(),
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            dir: PathBuf::from("./"),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            rdbchecksum: true,
            rdb_save_incremental_fsync: true,
            stop_writes_on_bgsave_error: true,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            hz: 10,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            notify_keyspace_flags: 0,
            aof_use_rdb_preamble: true,
            aof_rewrite_incremental_fsync: true,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            no_appendfsync_on_rewrite: false,
            aof_load_truncated: true,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            active_expire_effort: 1,
            supervised: "no".into(),
            enable_debug_command: "no".into(),
            always_show_logo: false,
            set_proc_title: true,
            inert: std::collections::BTreeMap::new(),
            config_file: None,
        }
    }
}

type SetFn = fn(&mut Config, &[&str]) -> Result<(), String>;
type GetFn = fn(&Config) -> String;

/// One configuration directive: parse, print, and whether `CONFIG SET` may change it.
pub struct Directive {
    /// Lower-case name.
    pub name: &'static str,
    /// Alternative name (`replica-*` / `slave-*` style), if any.
    pub alias: Option<&'static str>,
    set: SetFn,
    get: GetFn,
    /// `CONFIG SET` may change it while running.
    pub runtime: bool,
}

impl std::fmt::Debug for Directive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directive")
            .field("name", &self.name)
            .finish()
    }
}

fn one<'a>(args: &[&'a str]) -> Result<&'a str, String> {
    match args {
        [v] => Ok(v),
        _ => Err("wrong number of arguments".into()),
    }
}

fn parse_bool(args: &[&str]) -> Result<bool, String> {
    let v = one(args)?;
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

fn parse_u64(args: &[&str]) -> Result<u64, String> {
    let v = one(args)?;
    v.parse::<u64>()
        .map_err(|_| "argument couldn't be parsed into an integer".into())
}

fn parse_i64(args: &[&str]) -> Result<i64, String> {
    let v = one(args)?;
    v.parse::<i64>()
        .map_err(|_| "argument couldn't be parsed into an integer".into())
}

/// Parses a memory size as Redis does: plain bytes, or a number followed by `k`/`kb`/`m`/`mb`/
/// `g`/`gb` (case-insensitive; `k` = 1000, `kb` = 1024, and so on).
///
/// # Errors
/// Returns `None` for anything else (negative numbers, unknown units, overflow).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    if num.is_empty() {
        return None;
    }
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1_000_000,
        "mb" => 1024 * 1024,
        "g" => 1_000_000_000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn parse_mem(args: &[&str]) -> Result<u64, String> {
    parse_memory(one(args)?).ok_or_else(|| "argument must be a memory value".into())
}

fn parse_enum(args: &[&str], allowed: &[&str]) -> Result<String, String> {
    let v = one(args)?.to_ascii_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!(
            "argument(s) must be one of the following: {}",
            allowed.join(", ")
        ))
    }
}

fn parse_save(args: &[&str]) -> Result<Vec<(u64, u64)>, String> {
    // `save ""` (or `save` with one empty argument) disables snapshots. Several `save` lines in a
    // file each add a point; a single line may carry several pairs.
    let parts: Vec<&str> = args
        .iter()
        .flat_map(|a| a.split_ascii_whitespace())
        .collect();
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    if !parts.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    parts
        .chunks(2)
        .map(|c| match (c[0].parse::<u64>(), c[1].parse::<u64>()) {
            (Ok(s), Ok(n)) => Ok((s, n)),
            _ => Err("Invalid save parameters".into()),
        })
        .collect()
}

fn print_save(c: &Config) -> String {
    let mut s = String::new();
    for (i, (secs, n)) in c.save.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{secs} {n}");
    }
    s
}

fn parse_output_limits(c: &mut Config, args: &[&str]) -> Result<(), String> {
    let parts: Vec<&str> = args
        .iter()
        .flat_map(|a| a.split_ascii_whitespace())
        .collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = c.client_output_buffer_limit;
    for chunk in parts.chunks(4) {
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs = chunk[3].parse::<u64>().ok();
        let (Some(hard), Some(soft), Some(soft_seconds)) = (hard, soft, secs) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        let l = OutputLimit {
            hard,
            soft,
            soft_seconds,
        };
        match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => limits.normal = l,
            "replica" | "slave" => limits.replica = l,
            "pubsub" => limits.pubsub = l,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        }
    }
    c.client_output_buffer_limit = limits;
    Ok(())
}

fn print_output_limits(c: &Config) -> String {
    let l = &c.client_output_buffer_limit;
    format!(
        "normal {} {} {} slave {} {} {} pubsub {} {} {}",
        l.normal.hard,
        l.normal.soft,
        l.normal.soft_seconds,
        l.replica.hard,
        l.replica.soft,
        l.replica.soft_seconds,
        l.pubsub.hard,
        l.pubsub.soft,
        l.pubsub.soft_seconds
    )
}

macro_rules! d {
    ($name:literal, $runtime:expr, $set:expr, $get:expr) => {
        Directive {
            name: $name,
            alias: None,
            set: $set,
            get: $get,
            runtime: $runtime,
        }
    };
    ($name:literal / $alias:literal, $runtime:expr, $set:expr, $get:expr) => {
        Directive {
            name: $name,
            alias: Some($alias),
            set: $set,
            get: $get,
            runtime: $runtime,
        }
    };
}

macro_rules! bool_d {
    ($name:literal, $runtime:expr, $field:ident) => {
        d!(
            $name,
            $runtime,
            |c, a| {
                c.$field = parse_bool(a)?;
                Ok(())
            },
            |c| yes_no(c.$field)
        )
    };
}

macro_rules! u64_d {
    ($name:literal, $runtime:expr, $field:ident) => {
        d!(
            $name,
            $runtime,
            |c, a| {
                c.$field = parse_u64(a)?;
                Ok(())
            },
            |c| c.$field.to_string()
        )
    };
}

macro_rules! mem_d {
    ($name:literal, $runtime:expr, $field:ident) => {
        d!(
            $name,
            $runtime,
            |c, a| {
                c.$field = parse_mem(a)?;
                Ok(())
            },
            |c| c.$field.to_string()
        )
    };
}

macro_rules! str_d {
    ($name:literal, $runtime:expr, $field:ident) => {
        d!(
            $name,
            $runtime,
            |c, a| {
                c.$field = one(a)?.to_owned();
                Ok(())
            },
            |c| c.$field.clone()
        )
    };
}

/// A Redis 7.0 directive that Sabaody accepts, checks as Redis checks it and reports back
/// (`CONFIG GET`, `CONFIG REWRITE`), but that changes nothing here: replication, memory-encoding
/// thresholds, allocator, defragmentation and OS tuning. A stock `redis.conf` sets many of them,
/// and it must start Sabaody unchanged. `$check` turns the arguments into the canonical value.
macro_rules! inert {
    ($name:literal, $default:literal, $check:expr) => {
        d!(
            $name,
            true,
            |c, a| {
                let v = ($check)(a)?;
                c.inert.insert($name, v);
                Ok(())
            },
            |c| c
                .inert
                .get($name)
                .cloned()
                .unwrap_or_else(|| $default.to_owned())
        )
    };
    ($name:literal / $alias:literal, $default:literal, $check:expr) => {
        Directive {
            alias: Some($alias),
            ..inert!($name, $default, $check)
        }
    };
}

/// `latency-tracking-info-percentiles`: numbers in 0..=100, kept as Redis prints them.
fn latency_percentiles(a: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    for w in a.iter().flat_map(|arg| arg.split_whitespace()) {
        let p: f64 = w
            .parse()
            .map_err(|_| "Invalid latency-tracking-info-percentiles parameters".to_owned())?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .to_owned(),
            );
        }
        out.push(crate::metrics::format_percentile(p));
    }
    Ok(out.join(" "))
}

fn inert_bool(a: &[&str]) -> Result<String, String> {
    parse_bool(a).map(yes_no)
}

fn inert_uint(a: &[&str]) -> Result<String, String> {
    parse_u64(a).map(|n| n.to_string())
}

fn inert_int(a: &[&str]) -> Result<String, String> {
    parse_i64(a).map(|n| n.to_string())
}

fn inert_mem(a: &[&str]) -> Result<String, String> {
    parse_mem(a).map(|n| n.to_string())
}

fn inert_str(a: &[&str]) -> Result<String, String> {
    one(a).map(str::to_owned)
}

/// Numbers separated by blanks, one argument or several (`oom-score-adj-values 0 200 800`).
fn inert_numbers(a: &[&str], count: Option<usize>) -> Result<String, String> {
    let words: Vec<&str> = a.iter().flat_map(|w| w.split_ascii_whitespace()).collect();
    if count.is_some_and(|n| n != words.len())
        || words
            .iter()
            .any(|w| w.parse::<f64>().map_or(true, |f| !f.is_finite()))
    {
        return Err("Invalid argument(s)".into());
    }
    Ok(words.join(" "))
}

/// Every directive the server accepts.
pub static DIRECTIVES: &[Directive] = &[
    d!(
        "port",
        false,
        |c, a| {
            c.port = one(a)?
                .parse()
                .map_err(|_| "argument must be between 0 and 65535".to_string())?;
            Ok(())
        },
        |c| c.port.to_string()
    ),
    d!(
        "bind",
        false,
        |c, a| {
            let addrs: Vec<String> = a
                .iter()
                .flat_map(|s| s.split_ascii_whitespace())
                .map(str::to_owned)
                .collect();
            if addrs.is_empty() {
                return Err("wrong number of arguments".into());
            }
            c.bind = addrs;
            Ok(())
        },
        |c| c.bind.join(" ")
    ),
    bool_d!("protected-mode", true, protected_mode),
    d!(
        "databases",
        false,
        |c, a| {
            let n = parse_u64(a)?;
            if n == 0 || n > 1 << 20 {
                return Err("argument must be between 1 and 1048576 inclusive".into());
            }
            c.databases = n as usize;
            Ok(())
        },
        |c| c.databases.to_string()
    ),
    d!(
        "maxclients",
        true,
        |c, a| {
            let n = parse_u64(a)?;
            if n == 0 {
                return Err("argument must be between 1 and 4294967295 inclusive".into());
            }
            c.maxclients = n as usize;
            Ok(())
        },
        |c| c.maxclients.to_string()
    ),
    u64_d!("timeout", true, timeout),
    u64_d!("tcp-keepalive", true, tcp_keepalive),
    d!(
        "tcp-backlog",
        false,
        |c, a| {
            c.tcp_backlog = one(a)?
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            Ok(())
        },
        |c| c.tcp_backlog.to_string()
    ),
    d!(
        "requirepass",
        true,
        |c, a| {
            let v = one(a)?;
            c.requirepass = if v.is_empty() {
                None
            } else {
                Some(v.as_bytes().to_vec())
            };
            Ok(())
        },
        |c| c
            .requirepass
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    ),
    d!(
        "loglevel",
        true,
        |c, a| {
            c.loglevel = match parse_enum(a, &["debug", "verbose", "notice", "warning", "nothing"])?
                .as_str()
            {
                "debug" => LogLevel::Debug,
                "verbose" => LogLevel::Verbose,
                "notice" => LogLevel::Notice,
                "warning" => LogLevel::Warning,
                _ => LogLevel::Nothing,
            };
            Ok(())
        },
        |c| c.loglevel.name().into()
    ),
    str_d!("logfile", false, logfile),
    d!(
        "daemonize",
        false,
        |c, a| {
            if parse_bool(a)? {
                return Err("daemonize is not supported; run in the foreground".into());
            }
            c.daemonize = false;
            Ok(())
        },
        |c| yes_no(c.daemonize)
    ),
    str_d!("pidfile", false, pidfile),
    d!(
        "io-threads",
        false,
        |c, a| {
            let n = parse_u64(a)?;
            if n == 0 || n > 128 {
                return Err("argument must be between 1 and 128 inclusive".into());
            }
            c.io_threads = n as usize;
            Ok(())
        },
        |c| c.io_threads.to_string()
    ),
    bool_d!("io-threads-do-reads", false, io_threads_do_reads),
    d!(
        "client-query-buffer-limit",
        true,
        |c, a| {
            let v = parse_mem(a)?;
            if v < 1024 * 1024 {
                return Err("argument must be a memory value between 1048576 and 18446744073709551615 inclusive".into());
            }
            c.client_query_buffer_limit = v;
            Ok(())
        },
        |c| c.client_query_buffer_limit.to_string()
    ),
    d!(
        "client-output-buffer-limit",
        true,
        parse_output_limits,
        print_output_limits
    ),
    d!(
        "proto-max-bulk-len",
        true,
        |c, a| {
            let v = parse_mem(a)?;
            if v < 1024 * 1024 {
                return Err("argument must be a memory value between 1048576 and 9223372036854775807 inclusive".into());
            }
            c.proto_max_bulk_len = v;
            Ok(())
        },
        |c| c.proto_max_bulk_len.to_string()
    ),
    d!(
        "save",
        true,
        |c, a| {
            c.save = parse_save(a)?;
            Ok(())
        },
        print_save
    ),
    bool_d!("appendonly", true, appendonly),
    d!(
        "appendfsync",
        true,
        |c, a| {
            c.appendfsync = parse_enum(a, &["always", "everysec", "no"])?;
            Ok(())
        },
        |c| c.appendfsync.clone()
    ),
    str_d!("appendfilename", false, appendfilename),
    str_d!("appenddirname", false, appenddirname),
    d!(
        "dir",
        true,
        |c, a| {
            let v = one(a)?;
            if v.is_empty() {
                return Err("directory name must not be empty".into());
            }
            c.dir = PathBuf::from(v);
            Ok(())
        },
        |c| c.dir.display().to_string()
    ),
    str_d!("dbfilename", true, dbfilename),
    bool_d!("rdbcompression", true, rdbcompression),
    bool_d!("rdbchecksum", false, rdbchecksum),
    bool_d!(
        "rdb-save-incremental-fsync",
        true,
        rdb_save_incremental_fsync
    ),
    bool_d!(
        "stop-writes-on-bgsave-error",
        true,
        stop_writes_on_bgsave_error
    ),
    mem_d!("maxmemory", true, maxmemory),
    d!(
        "maxmemory-policy",
        true,
        |c, a| {
            c.maxmemory_policy = parse_enum(
                a,
                &[
                    "volatile-lru",
                    "volatile-lfu",
                    "volatile-random",
                    "volatile-ttl",
                    "allkeys-lru",
                    "allkeys-lfu",
                    "allkeys-random",
                    "noeviction",
                ],
            )?;
            Ok(())
        },
        |c| c.maxmemory_policy.clone()
    ),
    u64_d!("maxmemory-samples", true, maxmemory_samples),
    u64_d!("lfu-log-factor", true, lfu_log_factor),
    u64_d!("lfu-decay-time", true, lfu_decay_time),
    d!(
        "hz",
        true,
        |c, a| {
            c.hz = parse_u64(a)?.clamp(1, 500);
            Ok(())
        },
        |c| c.hz.to_string()
    ),
    d!(
        "slowlog-log-slower-than",
        true,
        |c, a| {
            c.slowlog_log_slower_than = parse_i64(a)?;
            Ok(())
        },
        |c| c.slowlog_log_slower_than.to_string()
    ),
    u64_d!("slowlog-max-len", true, slowlog_max_len),
    u64_d!("latency-monitor-threshold", true, latency_monitor_threshold),
    d!(
        "notify-keyspace-events",
        true,
        |c, a| {
            // Kept as flags; CONFIG GET shows their canonical text.
            let flags = crate::notify::parse_flags(one(a)?).ok_or_else(|| {
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_owned()
            })?;
            if flags & crate::notify::UNSUPPORTED != 0 {
                return Err("Sabaody does not publish new-key ('n') events".to_owned());
            }
            c.notify_keyspace_flags = flags;
            Ok(())
        },
        |c| crate::notify::flags_to_string(c.notify_keyspace_flags)
    ),
    bool_d!("aof-use-rdb-preamble", true, aof_use_rdb_preamble),
    bool_d!(
        "aof-rewrite-incremental-fsync",
        true,
        aof_rewrite_incremental_fsync
    ),
    u64_d!(
        "auto-aof-rewrite-percentage",
        true,
        auto_aof_rewrite_percentage
    ),
    mem_d!("auto-aof-rewrite-min-size", true, auto_aof_rewrite_min_size),
    bool_d!("no-appendfsync-on-rewrite", true, no_appendfsync_on_rewrite),
    bool_d!("aof-load-truncated", true, aof_load_truncated),
    bool_d!("lazyfree-lazy-eviction", true, lazyfree_lazy_eviction),
    bool_d!("lazyfree-lazy-expire", true, lazyfree_lazy_expire),
    bool_d!("lazyfree-lazy-server-del", true, lazyfree_lazy_server_del),
    bool_d!("lazyfree-lazy-user-del", true, lazyfree_lazy_user_del),
    bool_d!("lazyfree-lazy-user-flush", true, lazyfree_lazy_user_flush),
    d!(
        "active-expire-effort",
        true,
        |c, a| {
            let n = parse_u64(a)?;
            if !(1..=10).contains(&n) {
                return Err("argument must be between 1 and 10 inclusive".into());
            }
            c.active_expire_effort = n;
            Ok(())
        },
        |c| c.active_expire_effort.to_string()
    ),
    d!(
        "supervised",
        false,
        |c, a| {
            c.supervised = parse_enum(a, &["no", "upstart", "systemd", "auto"])?;
            Ok(())
        },
        |c| c.supervised.clone()
    ),
    d!(
        "enable-debug-command",
        false,
        |c, a| {
            c.enable_debug_command = parse_enum(a, &["no", "yes", "local"])?;
            Ok(())
        },
        |c| c.enable_debug_command.clone()
    ),
    bool_d!("always-show-logo", false, always_show_logo),
    bool_d!("set-proc-title", false, set_proc_title),
    // Accepted without effect (see `inert!`), with Redis 7.0's defaults.
    d!(
        "cluster-enabled",
        false,
        |_, a| {
            if parse_bool(a)? {
                return Err("cluster mode is not supported by Sabaody".into());
            }
            Ok(())
        },
        |_| "no".into()
    ),
    d!(
        "aclfile",
        false,
        |_, a| {
            if !one(a)?.is_empty() {
                return Err(
                    "ACL files are not supported by Sabaody (it has only the 'default' user)"
                        .into(),
                );
            }
            Ok(())
        },
        |_| String::new()
    ),
    d!(
        "hll-sparse-max-bytes",
        true,
        |_, a| {
            if parse_mem(a)? != 3000 {
                return Err(
                    "Sabaody keeps HyperLogLogs sparse up to the default 3000 bytes only".into(),
                );
            }
            Ok(())
        },
        |_| "3000".into()
    ),
    inert!(
        "proc-title-template",
        "{title} {listen-addr} {server-mode}",
        inert_str
    ),
    inert!("rdb-del-sync-files", "no", inert_bool),
    inert!("masterauth", "", inert_str),
    inert!("masteruser", "", inert_str),
    inert!(
        "replica-serve-stale-data" / "slave-serve-stale-data",
        "yes",
        inert_bool
    ),
    inert!("replica-read-only" / "slave-read-only", "yes", inert_bool),
    inert!("repl-diskless-sync", "yes", inert_bool),
    inert!("repl-diskless-sync-delay", "5", inert_uint),
    inert!("repl-diskless-sync-max-replicas", "0", inert_uint),
    inert!("repl-diskless-load", "disabled", |a| parse_enum(
        a,
        &["disabled", "on-empty-db", "swapdb"]
    )),
    inert!(
        "repl-ping-replica-period" / "repl-ping-slave-period",
        "10",
        inert_uint
    ),
    inert!("repl-timeout", "60", inert_uint),
    inert!("repl-disable-tcp-nodelay", "no", inert_bool),
    inert!("repl-backlog-size", "1048576", inert_mem),
    inert!("repl-backlog-ttl", "3600", inert_uint),
    inert!("replica-priority" / "slave-priority", "100", inert_uint),
    inert!("replica-announced", "yes", inert_bool),
    inert!(
        "min-replicas-to-write" / "min-slaves-to-write",
        "0",
        inert_uint
    ),
    inert!(
        "min-replicas-max-lag" / "min-slaves-max-lag",
        "10",
        inert_uint
    ),
    inert!("replica-lazy-flush" / "slave-lazy-flush", "no", inert_bool),
    inert!(
        "replica-ignore-maxmemory" / "slave-ignore-maxmemory",
        "yes",
        inert_bool
    ),
    inert!("oom-score-adj", "no", |a| parse_enum(
        a,
        &["no", "yes", "relative", "absolute"]
    )),
    inert!("oom-score-adj-values", "0 200 800", |a| inert_numbers(
        a,
        Some(3)
    )),
    inert!("disable-thp", "yes", inert_bool),
    inert!("aof-timestamp-enabled", "no", inert_bool),
    inert!(
        "hash-max-listpack-entries" / "hash-max-ziplist-entries",
        "512",
        inert_uint
    ),
    inert!(
        "hash-max-listpack-value" / "hash-max-ziplist-value",
        "64",
        inert_uint
    ),
    inert!(
        "list-max-listpack-size" / "list-max-ziplist-size",
        "-2",
        inert_int
    ),
    inert!("list-compress-depth", "0", inert_uint),
    inert!("set-max-intset-entries", "512", inert_uint),
    inert!(
        "zset-max-listpack-entries" / "zset-max-ziplist-entries",
        "128",
        inert_uint
    ),
    inert!(
        "zset-max-listpack-value" / "zset-max-ziplist-value",
        "64",
        inert_uint
    ),
    inert!("stream-node-max-bytes", "4096", inert_mem),
    inert!("stream-node-max-entries", "100", inert_uint),
    inert!("activerehashing", "yes", inert_bool),
    inert!("dynamic-hz", "yes", inert_bool),
    inert!("jemalloc-bg-thread", "yes", inert_bool),
    inert!("activedefrag", "no", inert_bool),
    inert!("active-defrag-ignore-bytes", "104857600", inert_mem),
    inert!("active-defrag-threshold-lower", "10", inert_uint),
    inert!("active-defrag-threshold-upper", "100", inert_uint),
    inert!("active-defrag-cycle-min", "1", inert_uint),
    inert!("active-defrag-cycle-max", "25", inert_uint),
    inert!("active-defrag-max-scan-fields", "1000", inert_uint),
    inert!("maxmemory-eviction-tenacity", "10", inert_uint),
    // Kept in the `inert` map but not inert: `Shared::refresh_cached_config` reads
    // `latency-tracking` (per-command latency histograms on or off) and `acllog-max-len`
    // (entries `ACL LOG` keeps), and `INFO latencystats` reads the percentiles.
    inert!("acllog-max-len", "128", inert_uint),
    inert!("latency-tracking", "yes", inert_bool),
    inert!(
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        latency_percentiles
    ),
    inert!(
        "busy-reply-threshold" / "lua-time-limit",
        "5000",
        inert_uint
    ),
    inert!("tracking-table-max-keys", "1000000", inert_uint),
    inert!("crash-log-enabled", "yes", inert_bool),
    inert!("crash-memcheck-enabled", "yes", inert_bool),
    inert!("shutdown-timeout", "10", inert_uint),
    inert!("sanitize-dump-payload", "no", |a| parse_enum(
        a,
        &["no", "yes", "clients"]
    )),
];

/// Finds a directive by name, case-insensitively.
pub fn find_directive(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

impl Config {
    /// Builds a config from the command line (without the program name): an optional config file
    /// path first, then `--directive value...` overrides, as `redis-server` takes them.
    ///
    /// # Errors
    /// An unreadable file, an unknown directive or a bad value; the error names it.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, ConfigError> {
        let args: Vec<String> = args.into_iter().collect();
        let mut config = Config::default();
        let mut rest = &args[..];
        if let Some(first) = rest.first()
            && !first.starts_with("--")
        {
            config.load_file(Path::new(first))?;
            config.config_file = Some(PathBuf::from(first));
            rest = &rest[1..];
        }
        let mut i = 0;
        while i < rest.len() {
            let Some(name) = rest[i].strip_prefix("--") else {
                return Err(ConfigError::BadValue {
                    location: "command line: ".into(),
                    directive: rest[i].clone(),
                    reason: "expected '--directive' (a config file may only come first)".into(),
                });
            };
            let mut j = i + 1;
            // Values run up to the next `--name`; a lone `--` or a value like `--1` is a value.
            while j < rest.len() && !(rest[j].starts_with("--") && rest[j].len() > 2) {
                j += 1;
            }
            let values: Vec<&str> = rest[i + 1..j].iter().map(String::as_str).collect();
            config
                .set(name, &values)
                .map_err(|e| e.with_location("command line: "))?;
            i = j;
        }
        Ok(config)
    }

    /// Loads a redis.conf-syntax file on top of this config.
    ///
    /// # Errors
    /// As [`Config::from_args`].
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.load_str(&text, &path.display().to_string())
    }

    /// Applies redis.conf-syntax text; `origin` names it in errors.
    ///
    /// # Errors
    /// As [`Config::from_args`].
    pub fn load_str(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let mut saves: Option<Vec<(u64, u64)>> = None;
        for (n, line) in text.lines().enumerate() {
            let loc = format!("line {} of {origin}: ", n + 1);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let words = split_args(trimmed).ok_or(ConfigError::Syntax {
                location: loc.clone(),
            })?;
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            if name.eq_ignore_ascii_case("save") {
                // Several `save` lines accumulate, as in redis.conf.
                let pts = parse_save(&values).map_err(|reason| ConfigError::BadValue {
                    location: loc.clone(),
                    directive: name.clone(),
                    reason,
                })?;
                let acc = saves.get_or_insert_with(Vec::new);
                if pts.is_empty() {
                    acc.clear();
                } else {
                    acc.extend(pts);
                }
                continue;
            }
            self.set(name, &values).map_err(|e| e.with_location(&loc))?;
        }
        if let Some(s) = saves {
            self.save = s;
        }
        Ok(())
    }

    /// Sets one directive from its arguments, e.g. `set("port", &["0"])`.
    ///
    /// # Errors
    /// Unknown directive or bad value.
    pub fn set(&mut self, directive: &str, args: &[&str]) -> Result<(), ConfigError> {
        let d = find_directive(directive).ok_or_else(|| ConfigError::UnknownDirective {
            location: String::new(),
            directive: directive.to_owned(),
        })?;
        (d.set)(self, args).map_err(|reason| ConfigError::BadValue {
            location: String::new(),
            directive: d.name.to_owned(),
            reason,
        })
    }

    /// The value of a directive as `CONFIG GET` prints it.
    pub fn get(&self, directive: &str) -> Option<String> {
        find_directive(directive).map(|d| (d.get)(self))
    }

    /// The value of a directive from its table entry.
    pub fn get_with(&self, d: &Directive) -> String {
        (d.get)(self)
    }

    /// Applies one directive's table entry (used by `CONFIG SET`).
    ///
    /// # Errors
    /// The value is not valid for the directive.
    pub fn set_with(&mut self, d: &Directive, args: &[&str]) -> Result<(), String> {
        (d.set)(self, args)
    }

    /// The whole config in redis.conf syntax (for `CONFIG REWRITE`).
    pub fn to_conf_text(&self) -> String {
        let mut s = String::from("# Generated by sabaody-server CONFIG REWRITE\n");
        for d in DIRECTIVES {
            let v = (d.get)(self);
            let _ = writeln!(s, "{} {}", d.name, quote(&v, d.name));
        }
        s
    }
}

fn quote(v: &str, name: &str) -> String {
    // Multi-word values (save, bind, client-output-buffer-limit) are written unquoted so the
    // splitter gives one argument per word; anything else is quoted when it needs to be.
    let multi = matches!(
        name,
        "save"
            | "bind"
            | "client-output-buffer-limit"
            | "oom-score-adj-values"
            | "latency-tracking-info-percentiles"
    );
    if multi && !v.is_empty() {
        return v.to_owned();
    }
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'')
    {
        return v.to_owned();
    }
    let mut out = String::from("\"");
    for ch in v.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits a config line into words as Redis's `sdssplitargs` does: whitespace separates words,
/// `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'` understands `\'`. `None` on unbalanced
/// quotes or a closing quote not followed by a space.
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let mut cur: Vec<u8> = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok();
                    if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        cur.push(v);
                        i += 4;
                        continue;
                    }
                }
                if b[i] == b'\\' && i + 1 < b.len() {
                    cur.push(match b[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                    continue;
                }
                if b[i] == b'"' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else if in_sq {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                }
                if b[i] == b'\'' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else {
                if i >= b.len() || b[i].is_ascii_whitespace() {
                    break;
                }
                match b[i] {
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
}

/// Glob match as Redis's `stringmatchlen` (`* ? [abc] [^a] [a-z] \x`), optionally
/// case-insensitive. Used by `CONFIG GET`; iterative with backtracking on the last `*`.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    fn eq(a: u8, b: u8, nocase: bool) -> bool {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    }
    // Returns the pattern length consumed by a class and whether `c` matched.
    fn class(p: &[u8], c: u8, nocase: bool) -> (usize, bool) {
        let mut i = 1;
        let not = p.get(i) == Some(&b'^');
        if not {
            i += 1;
        }
        let mut matched = false;
        loop {
            match p.get(i) {
                None => {
                    i -= 1;
                    break;
                }
                Some(b']') => break,
                Some(b'\\') if i + 1 < p.len() => {
                    i += 1;
                    if eq(p[i], c, nocase) {
                        matched = true;
                    }
                }
                Some(&a) if p.get(i + 1) == Some(&b'-') && i + 2 < p.len() => {
                    let (mut lo, mut hi) = (a, p[i + 2]);
                    if lo > hi {
                        std::mem::swap(&mut lo, &mut hi);
                    }
                    let cc = if nocase { c.to_ascii_lowercase() } else { c };
                    let (lo2, hi2) = if nocase {
                        (lo.to_ascii_lowercase(), hi.to_ascii_lowercase())
                    } else {
                        (lo, hi)
                    };
                    if cc >= lo2 && cc <= hi2 {
                        matched = true;
                    }
                    i += 2;
                }
                Some(&a) => {
                    if eq(a, c, nocase) {
                        matched = true;
                    }
                }
            }
            i += 1;
        }
        (i + 1, matched != not)
    }
    let (mut p, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, si));
                    continue;
                }
                b'?' => {
                    p += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    let (len, ok) = class(&pattern[p..], s[si], nocase);
                    if ok {
                        p += len;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], s[si], nocase) {
                        p += 2;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[si], nocase) {
                        p += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                p = sp;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("100mb"), Some(100 * 1024 * 1024));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("512k"), Some(512_000));
        assert_eq!(parse_memory("512kb"), Some(512 * 1024));
        assert_eq!(parse_memory("1234"), Some(1234));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("10xb"), None);
        assert_eq!(parse_memory(""), None);
        assert_eq!(parse_memory("mb"), None);
    }

    #[test]
    fn defaults_match_redis() {
        let c = Config::default();
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, vec!["127.0.0.1".to_string()]);
        assert_eq!(c.databases, 16);
        assert_eq!(c.maxclients, 10_000);
        assert!(c.save.is_empty());
        assert!(!c.appendonly);
        assert_eq!(c.get("appendfsync").as_deref(), Some("everysec"));
        assert_eq!(c.get("maxmemory-policy").as_deref(), Some("noeviction"));
        assert_eq!(
            c.get("client-query-buffer-limit").as_deref(),
            Some("1073741824")
        );
        assert!(c.io_threads >= 1);
    }

    #[test]
    fn file_then_overrides() {
        let dir = std::env::temp_dir().join(format!("sabaody-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.conf");
        std::fs::write(
            &path,
            "# comment\nport 7000\n\nmaxmemory 100mb\nsave 900 1\nsave 300 10\nrequirepass \"a b\\x41\"\n",
        )
        .unwrap();
        let args = vec![
            path.display().to_string(),
            "--port".into(),
            "7001".into(),
            "--appendonly".into(),
            "yes".into(),
        ];
        let c = Config::from_args(args).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxmemory, 100 << 20);
        assert_eq!(c.save, vec![(900, 1), (300, 10)]);
        assert_eq!(c.requirepass.as_deref(), Some(&b"a bA"[..]));
        assert!(c.appendonly);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn command_line_save_empty() {
        let c = Config::from_args(
            ["--save", "", "--bind", "127.0.0.1", "::1"]
                .iter()
                .map(|s| s.to_string()),
        )
        .unwrap();
        assert!(c.save.is_empty());
        assert_eq!(c.bind.len(), 2);
    }

    #[test]
    fn errors_name_the_directive() {
        let e = Config::from_args(["--nosuch", "1"].iter().map(|s| s.to_string())).unwrap_err();
        assert!(e.to_string().contains("nosuch"), "{e}");
        let e =
            Config::from_args(["--maxmemory", "lots"].iter().map(|s| s.to_string())).unwrap_err();
        assert!(e.to_string().contains("maxmemory"), "{e}");
        let e =
            Config::from_args(["--appendonly", "maybe"].iter().map(|s| s.to_string())).unwrap_err();
        assert!(e.to_string().contains("appendonly"), "{e}");
        let mut c = Config::default();
        let e = c.load_str("port 1\nfoo bar\n", "x.conf").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(e.to_string().contains("foo"), "{e}");
        assert!(c.load_str("dir \"unterminated\n", "x.conf").is_err());
    }

    #[test]
    fn split_like_redis() {
        assert_eq!(
            split_args(r#"set "a\nb" 'c\'d' e"#).unwrap(),
            vec!["set", "a\nb", "c'd", "e"]
        );
        assert_eq!(split_args(r#"save """#).unwrap(), vec!["save", ""]);
        assert!(split_args(r#""a"b"#).is_none());
    }

    /// The directives of Debian's stock redis.conf for Redis 7.0 that do nothing here: accepted,
    /// reported back as Redis reports them, and kept by CONFIG REWRITE.
    #[test]
    fn stock_redis_conf_directives_are_accepted_and_reported() {
        let text = "proc-title-template \"{title} {listen-addr} {server-mode}\"\n\
            rdb-del-sync-files no\nreplica-serve-stale-data yes\nslave-read-only no\n\
            repl-diskless-sync yes\nrepl-diskless-sync-delay 5\n\
            repl-diskless-sync-max-replicas 0\nrepl-diskless-load swapdb\n\
            repl-disable-tcp-nodelay no\nreplica-priority 100\nacllog-max-len 128\n\
            replica-lazy-flush no\noom-score-adj no\noom-score-adj-values 0 200 800\n\
            disable-thp yes\naof-timestamp-enabled no\nhash-max-ziplist-entries 256\n\
            hash-max-listpack-value 64\nlist-max-listpack-size -2\nlist-compress-depth 0\n\
            set-max-intset-entries 512\nzset-max-listpack-entries 128\n\
            zset-max-listpack-value 64\nhll-sparse-max-bytes 3000\nstream-node-max-bytes 4kb\n\
            stream-node-max-entries 100\nactiverehashing yes\ndynamic-hz yes\n\
            aof-rewrite-incremental-fsync yes\njemalloc-bg-thread yes\ncluster-enabled no\n";
        let mut c = Config::default();
        c.load_str(text, "redis.conf").unwrap();
        let get = |c: &Config, name: &str| c.get_with(find_directive(name).unwrap());
        assert_eq!(
            get(&c, "replica-read-only"),
            "no",
            "set through its old name"
        );
        assert_eq!(get(&c, "repl-diskless-load"), "swapdb");
        assert_eq!(get(&c, "hash-max-listpack-entries"), "256");
        assert_eq!(get(&c, "stream-node-max-bytes"), "4096");
        assert_eq!(get(&c, "oom-score-adj-values"), "0 200 800");
        assert_eq!(get(&c, "repl-backlog-size"), "1048576", "a default");
        let mut d = Config::default();
        d.load_str(&c.to_conf_text(), "rewrite").unwrap();
        assert_eq!(d.to_conf_text(), c.to_conf_text());
        for bad in [
            "repl-diskless-load sometimes",
            "activedefrag maybe",
            "oom-score-adj-values 0 200",
            "repl-timeout -1",
            "cluster-enabled yes",
            "hll-sparse-max-bytes 4000",
        ] {
            assert!(
                Config::default().load_str(bad, "redis.conf").is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn rewrite_round_trips() {
        let mut c = Config::default();
        c.set("save", &["900 1 300 10"]).unwrap();
        c.set("requirepass", &["p w"]).unwrap();
        c.set("maxmemory", &["1gb"]).unwrap();
        let text = c.to_conf_text();
        let mut d = Config::default();
        d.load_str(&text, "rewrite").unwrap();
        assert_eq!(d.save, c.save);
        assert_eq!(d.requirepass, c.requirepass);
        assert_eq!(d.maxmemory, 1 << 30);
        assert_eq!(d.io_threads, c.io_threads);
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"max*", b"maxmemory", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hallo", false));
        assert!(glob_match(b"MAX*", b"maxmemory", true));
        assert!(!glob_match(b"a*b", b"acbd", false));
        assert!(glob_match(b"a*b*c", b"axxbyyc", false));
    }
}
