//! Server start-up and the state shared by every loop thread: config, keyspace, statistics,
//! client registry, slow log, WATCH registry, MONITOR feed, shutdown.
//!
//! ```text
//!            listener(s) ── accepted by loop 0 ──┐ round-robin hand-off (once per connection)
//!                                                 ▼
//!   ┌ loop 0 ─────────────┐  ┌ loop 1 ─────────────┐       ┌ loop N-1 ───────────┐
//!   │ Poller, connections │  │ Poller, connections │  ...  │ Poller, connections │
//!   │ read→decode→execute │  │ read→decode→execute │       │ read→decode→execute │
//!   └─────────┬───────────┘  └─────────┬───────────┘       └─────────┬───────────┘
//!             └──────────── &Shared (Arc): sabaody_core::Cache, stats, registry ┘
//! ```
//! Commands run on the loop thread that owns the connection, directly against the shared core.
//! Threads wake each other only for rare events (new connection, CLIENT KILL, MONITOR lines,
//! shutdown) and Pub/Sub messages (`pubsub`) through `Poller::notify` plus a small mailbox.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use sabaody_core::{Cache, Clock};

use crate::client::{Client, ClientInfo};
use crate::cmd::{command_at, commands};
use crate::config::Config;
use crate::event_loop::{self, LoopHandle};

/// Adds `by` to a counter only its owning loop thread writes (a plain load + store, no
/// locked read-modify-write on the per-command path; readers may see a value one update old).
#[inline]
fn bump(a: &AtomicU64, by: u64) {
    a.store(
        a.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// Per-command counters for `INFO commandstats`.
#[derive(Debug, Default)]
pub(crate) struct CmdStat {
    pub calls: AtomicU64,
    /// Nanoseconds (most commands take well under a microsecond).
    pub nanos: AtomicU64,
    pub failed: AtomicU64,
    /// Calls refused before running (arity, NOAUTH, OOM, MISCONF, not allowed in MULTI).
    pub rejected: AtomicU64,
    /// Latency histogram (`INFO latencystats`), allocated on the first call.
    pub hist: crate::metrics::Histogram,
}

impl CmdStat {
    #[inline]
    fn note(&self, elapsed_ns: u64, ok: bool, track_latency: bool) {
        bump(&self.calls, 1);
        bump(&self.nanos, elapsed_ns);
        if track_latency {
            self.hist.record(elapsed_ns);
        }
        if !ok {
            bump(&self.failed, 1);
        }
    }
}

/// Counters of one loop thread (INFO sums them). Aligned so two threads' counters never share
/// a cache line.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Stats {
    pub commands: Box<[CmdStat]>,
    /// Per implemented subcommand of a container (`cmd::server::SUBCOMMANDS` order).
    pub subcommands: Box<[CmdStat]>,
    pub total_commands: AtomicU64,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub error_replies: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Socket reads and reply flushes (INFO `total_reads_processed` / `_writes_`).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Error replies by code (`ERR`, `WRONGTYPE`, ...), for `INFO errorstats`.
    pub errors: Mutex<Vec<(String, u64)>>,
}

impl Stats {
    fn new() -> Self {
        Stats {
            commands: commands().map(|_| CmdStat::default()).collect(),
            subcommands: crate::cmd::server::SUBCOMMANDS
                .iter()
                .map(|_| CmdStat::default())
                .collect(),
            total_commands: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            reads_processed: AtomicU64::new(0),
            writes_processed: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }

    pub fn note_error(&self, code: &str) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock();
        if let Some((_, n)) = errors.iter_mut().find(|(c, _)| c == code) {
            *n += 1;
        } else if errors.len() < 128 {
            // Redis caps the distinct error codes it tracks at 128.
            errors.push((code.to_owned(), 1));
        }
    }

    /// One call of command `idx` that took `elapsed_ns` nanoseconds.
    ///
    /// Only the owning loop thread writes these counters, so a plain load + store is enough
    /// (no locked read-modify-write on the per-command path); readers may see a value one
    /// update old.
    #[inline]
    pub fn note_command(&self, idx: usize, elapsed_ns: u64, ok: bool, track_latency: bool) {
        if let Some(s) = self.commands.get(idx) {
            s.note(elapsed_ns, ok, track_latency);
        }
        bump(&self.total_commands, 1);
    }

    /// `n` socket reads by this loop.
    #[inline]
    pub fn note_reads(&self, n: u64) {
        bump(&self.reads_processed, n);
    }

    /// `n` reply flushes by this loop.
    #[inline]
    pub fn note_writes(&self, n: u64) {
        bump(&self.writes_processed, n);
    }

    /// A call of command `idx` (or, with `sub`, of that implemented subcommand) refused
    /// before it ran.
    pub fn note_rejected(&self, idx: usize, sub: Option<usize>) {
        let s = match sub {
            Some(j) => self.subcommands.get(j),
            None => self.commands.get(idx),
        };
        if let Some(s) = s {
            bump(&s.rejected, 1);
        }
    }

    /// One call of implemented subcommand `idx` (`cmd::server::SUBCOMMANDS` order).
    pub fn note_subcommand(&self, idx: usize, elapsed_ns: u64, ok: bool, track_latency: bool) {
        if let Some(s) = self.subcommands.get(idx) {
            s.note(elapsed_ns, ok, track_latency);
        }
        bump(&self.total_commands, 1);
    }

    pub fn reset(&self) {
        for s in self.commands.iter().chain(self.subcommands.iter()) {
            s.calls.store(0, Ordering::Relaxed);
            s.nanos.store(0, Ordering::Relaxed);
            s.failed.store(0, Ordering::Relaxed);
            s.rejected.store(0, Ordering::Relaxed);
            s.hist.reset();
        }
        for a in [
            &self.total_commands,
            &self.total_connections,
            &self.rejected_connections,
            &self.error_replies,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.errors.lock().clear();
    }
}

/// One slow log entry.
#[derive(Debug, Clone)]
pub(crate) struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: String,
}

/// `SLOWLOG`: commands slower than `slowlog-log-slower-than` microseconds.
#[derive(Debug, Default)]
pub(crate) struct SlowLog {
    pub entries: Mutex<VecDeque<SlowEntry>>,
    next_id: AtomicU64,
    /// Cached config values so the hot path reads no lock.
    pub threshold_us: std::sync::atomic::AtomicI64,
    pub max_len: AtomicUsize,
}

impl SlowLog {
    /// Records the command if it took at least `slowlog-log-slower-than` (the check is
    /// inlined into the command path; recording is not).
    #[inline]
    pub fn maybe_record(&self, _shared: &Shared, client: &Client, argv: &[Bytes], elapsed_ns: u64) {
        let threshold = self.threshold_us.load(Ordering::Relaxed);
        if threshold < 0 {
            return;
        }
        let micros = elapsed_ns / 1000;
        if micros < threshold as u64 {
            return;
        }
        self.record(client, argv, micros);
    }

    #[cold]
    #[inline(never)]
    fn record(&self, client: &Client, argv: &[Bytes], micros: u64) {
        // Redis keeps at most 32 arguments and 128 bytes of each.
        let mut args: Vec<Bytes> = Vec::new();
        for (i, a) in argv.iter().enumerate() {
            if i == 31 && argv.len() > 32 {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    argv.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                args.push(Bytes::from(v));
            } else {
                args.push(Bytes::copy_from_slice(a));
            }
        }
        let entry = SlowEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time: unix_secs(),
            micros,
            args,
            addr: client.info.addr.map(|a| a.to_string()).unwrap_or_default(),
            name: client
                .info
                .names
                .lock()
                .name
                .as_ref()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default(),
        };
        let max = self.max_len.load(Ordering::Relaxed);
        let mut e = self.entries.lock();
        e.push_front(entry);
        while e.len() > max {
            e.pop_back();
        }
    }
}

type WatchMap = hashbrown::HashMap<(usize, Bytes), Vec<Arc<AtomicBool>>>;

/// WATCH bookkeeping: which clients watch which (db, key). Writers mark them dirty.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    /// Number of watched (db, key, client) entries; the write path skips the lock when 0.
    active: AtomicUsize,
    map: Mutex<WatchMap>,
}

impl Watches {
    /// Whether any key is watched (the write path skips [`Watches::touch_keys`] otherwise).
    #[inline]
    pub fn any(&self) -> bool {
        self.active.load(Ordering::Relaxed) != 0
    }

    pub fn watch(&self, db: usize, key: Bytes, flag: &Arc<AtomicBool>) {
        let mut m = self.map.lock();
        let v = m.entry((db, key)).or_default();
        if !v.iter().any(|f| Arc::ptr_eq(f, flag)) {
            v.push(flag.clone());
            self.active.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn unwatch_all(&self, keys: &[(usize, Bytes)], flag: &Arc<AtomicBool>) {
        let mut m = self.map.lock();
        for k in keys {
            if let Some(v) = m.get_mut(k) {
                let before = v.len();
                v.retain(|f| !Arc::ptr_eq(f, flag));
                self.active.fetch_sub(before - v.len(), Ordering::Relaxed);
                if v.is_empty() {
                    m.remove(k);
                }
            }
        }
    }

    /// A write touched these keys of `db`.
    pub fn touch_keys<'a>(&self, db: usize, keys: impl Iterator<Item = &'a Bytes>) {
        if self.active.load(Ordering::Relaxed) == 0 {
            return;
        }
        let m = self.map.lock();
        for k in keys {
            // Lookup by (db, key) without cloning: the map key is (usize, Bytes).
            if let Some(v) = m.get(&(db, k.clone())) {
                for f in v {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }

    /// The watched keys of the databases `pick` accepts (a snapshot: the registry lock is
    /// not held afterwards, so the caller may take shard locks to check them).
    ///
    /// Lock order: shard locks may be held while taking the registry lock (EXEC), never the
    /// other way round.
    pub fn watched_in(&self, pick: impl Fn(usize) -> bool) -> Vec<(usize, Bytes)> {
        if self.active.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        self.map
            .lock()
            .keys()
            .filter(|(d, _)| pick(*d))
            .cloned()
            .collect()
    }

    /// Marks the watchers of one key dirty.
    pub fn touch_key(&self, db: usize, key: &Bytes) {
        self.touch_keys(db, std::iter::once(key));
    }
}

/// Why the server is stopping (for the log line and SHUTDOWN SAVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Command,
    Signal,
    Handle,
}

/// State shared by every loop thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: RwLock<Config>,
    /// One keyspace handle per database, all on one store.
    pub dbs: Vec<Cache>,
    /// The coarse clock the keyspace reads (Unix ms), advanced by the loops every turn.
    pub clock: CoarseClock,
    /// Milliseconds since start, as of the last loop turn (client idle times).
    now_ms: AtomicU64,
    /// One set of counters per loop thread (no cache line shared between threads).
    pub stats: Box<[Stats]>,
    pub slowlog: SlowLog,
    pub watches: Watches,
    /// Clients blocked on list keys.
    pub blocking: crate::blocking::Blocking,
    /// `CLIENT PAUSE`.
    pub pause: crate::blocking::Pause,
    /// The append-only file (off unless `appendonly yes`).
    pub aof: crate::aof::Aof,
    /// Keyspace notifications (`notify-keyspace-events`).
    pub notify: Arc<crate::notify::Notifier>,
    /// Client-side caching (`CLIENT TRACKING`).
    pub tracking: crate::tracking::Tracking,
    pub clients: Mutex<hashbrown::HashMap<u64, Arc<ClientInfo>>>,
    pub connected: AtomicUsize,
    pub next_client_id: AtomicU64,
    pub loops: Vec<Arc<LoopHandle>>,
    pub stopping: AtomicBool,
    pub stop_reason: Mutex<Option<StopReason>>,
    pub monitors: Mutex<Vec<(usize, u64)>>,
    monitors_n: AtomicUsize,
    /// Pub/Sub subscriptions.
    pub pubsub: crate::pubsub::PubSub,
    pub started: Instant,
    /// RDB persistence state (LASTSAVE, BGSAVE, save points).
    pub persist: Arc<crate::persist::Persist>,
    pub run_id: String,
    pub tcp_port: u16,
    /// Cached config values read on hot paths.
    pub maxclients: AtomicUsize,
    pub query_buffer_limit: AtomicU64,
    /// `client-output-buffer-limit` (read only when a client has replies pending).
    pub output_limits: RwLock<crate::config::OutputLimits>,
    pub timeout_secs: AtomicU64,
    /// New connections start unauthenticated: the default user is off or has no `nopass`
    /// (kept by [`crate::cmd::acl::Acl`]).
    pub has_password: AtomicBool,
    /// The default user and the ACL log.
    pub acl: crate::cmd::acl::Acl,
    pub hz: AtomicU64,
    /// `latency-tracking`: per-command latency histograms are recorded.
    pub latency_tracking: AtomicBool,
    /// Instantaneous rates of INFO stats, sampled by loop 0's cron.
    pub instantaneous: crate::metrics::Instantaneous,
    /// Totals of the active expiry cycle (INFO stats).
    pub expiry: crate::metrics::ExpiryTotals,
    /// The latency monitor (`latency-monitor-threshold`, LATENCY).
    pub latency: crate::metrics::LatencyMonitor,
    pub tcp_keepalive: AtomicU64,
    /// A `maxmemory` lowered inside EXEC: the next loop cron evicts down to it.
    pub evict_pending: AtomicBool,
}

pub(crate) fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Shared {
    pub(crate) fn new(config: Config, loops: Vec<Arc<LoopHandle>>, tcp_port: u16) -> Self {
        let run_id = {
            // 40 hex chars, like Redis; uniqueness is all that matters.
            use std::hash::{BuildHasher, Hasher};
            let mut s = String::new();
            for i in 0..3u64 {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(unix_micros() ^ i);
                h.write_u32(std::process::id());
                s.push_str(&format!("{:016x}", h.finish()));
            }
            s.truncate(40);
            s
        };
        let n_stats = loops.len().max(1);
        let clock = CoarseClock::new();
        let cache = Cache::builder()
            .databases(config.databases)
            .clock(clock.clone())
            .housekeeping(false)
            .build();
        let dbs = (0..config.databases)
            .map(|i| cache.db(i).unwrap_or_else(|_| cache.clone()))
            .collect();
        let notify = Arc::new(crate::notify::Notifier::default());
        let aof = crate::aof::Aof::new(&cache, loops.len(), Arc::clone(&notify));
        let n = Arc::clone(&notify);
        cache.set_miss_hook(move |db, key| {
            n.event(crate::notify::class::KEY_MISS, "keymiss", key, db);
        });
        let shared = Shared {
            aof,
            notify,
            tracking: crate::tracking::Tracking::default(),
            dbs,
            clock,
            now_ms: AtomicU64::new(0),
            stats: (0..n_stats).map(|_| Stats::new()).collect(),
            slowlog: SlowLog::default(),
            watches: Watches::default(),
            blocking: crate::blocking::Blocking::default(),
            pause: crate::blocking::Pause::default(),
            clients: Mutex::new(hashbrown::HashMap::new()),
            connected: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
            loops,
            stopping: AtomicBool::new(false),
            stop_reason: Mutex::new(None),
            monitors: Mutex::new(Vec::new()),
            monitors_n: AtomicUsize::new(0),
            pubsub: crate::pubsub::PubSub::default(),
            started: Instant::now(),
            persist: Arc::new(crate::persist::Persist::new()),
            run_id,
            tcp_port,
            maxclients: AtomicUsize::new(0),
            query_buffer_limit: AtomicU64::new(0),
            output_limits: RwLock::new(config.client_output_buffer_limit),
            timeout_secs: AtomicU64::new(0),
            has_password: AtomicBool::new(false),
            acl: crate::cmd::acl::Acl::default(),
            hz: AtomicU64::new(10),
            latency_tracking: AtomicBool::new(true),
            instantaneous: crate::metrics::Instantaneous::default(),
            expiry: crate::metrics::ExpiryTotals::default(),
            latency: crate::metrics::LatencyMonitor::default(),
            tcp_keepalive: AtomicU64::new(0),
            evict_pending: AtomicBool::new(false),
            config: RwLock::new(config),
        };
        // Before `aof::load` the AOF only takes the fsync policy: nothing can fail yet.
        let _ = shared.refresh_cached_config(true);
        shared
    }

    /// Copies the config values the hot paths read into atomics (after start and CONFIG SET).
    /// A lower `maxmemory` evicts down to it now if `may_evict`; otherwise (CONFIG SET inside
    /// EXEC, which may hold every shard lock) the bound changes now and the next loop cron
    /// evicts, as Redis evicts from a timer after CONFIG SET rather than inline.
    ///
    /// # Errors
    /// `appendonly yes` could not turn the AOF on: `appendonly` is set back to `no`.
    pub(crate) fn refresh_cached_config(&self, may_evict: bool) -> Result<(), ()> {
        let c = self.config.read();
        self.maxclients.store(c.maxclients, Ordering::Relaxed);
        self.query_buffer_limit
            .store(c.client_query_buffer_limit, Ordering::Relaxed);
        *self.output_limits.write() = c.client_output_buffer_limit;
        self.timeout_secs.store(c.timeout, Ordering::Relaxed);
        self.hz.store(c.hz.max(1), Ordering::Relaxed);
        self.latency
            .threshold_ms
            .store(c.latency_monitor_threshold, Ordering::Relaxed);
        self.latency_tracking.store(
            c.inert.get("latency-tracking").is_none_or(|v| v == "yes"),
            Ordering::Relaxed,
        );
        self.tcp_keepalive.store(c.tcp_keepalive, Ordering::Relaxed);
        self.notify.set_flags(c.notify_keyspace_flags);
        self.tracking.set_max_keys(
            c.inert
                .get("tracking-table-max-keys")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000),
        );
        self.acl.configure(
            c.requirepass.as_deref(),
            c.inert
                .get("acllog-max-len")
                .and_then(|v| v.parse().ok())
                .unwrap_or(128),
            &self.has_password,
        );
        self.slowlog
            .threshold_us
            .store(c.slowlog_log_slower_than, Ordering::Relaxed);
        self.slowlog
            .max_len
            .store(c.slowlog_max_len as usize, Ordering::Relaxed);
        crate::log::set_level(c.loglevel);
        // The memory bound lives in the store; a lower maxmemory evicts down to it now.
        let cache = &self.dbs[0];
        if let Some(p) = sabaody_core::EvictionPolicy::from_name(c.maxmemory_policy.as_bytes()) {
            cache.set_eviction_policy(p);
        }
        cache.set_eviction_samples(u32::try_from(c.maxmemory_samples).unwrap_or(u32::MAX));
        cache.set_lfu_log_factor(u32::try_from(c.lfu_log_factor).unwrap_or(u32::MAX));
        cache.set_lfu_decay_time(u32::try_from(c.lfu_decay_time).unwrap_or(u32::MAX));
        let max = c.maxmemory;
        drop(c);
        let aof = self.aof.apply_config(self);
        if aof.is_err() {
            self.config.write().appendonly = false;
        }
        if cache.max_memory() != max {
            if may_evict {
                cache.set_max_memory(max);
            } else {
                cache.set_max_memory_deferred(max);
                self.evict_pending.store(true, Ordering::Release);
            }
        }
        aof
    }

    /// Registers a new client and returns its registry entry.
    pub(crate) fn register_client(
        &self,
        addr: Option<SocketAddr>,
        laddr: Option<SocketAddr>,
        loop_idx: usize,
        fd: i32,
    ) -> Arc<ClientInfo> {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ClientInfo::new(id, addr, laddr, loop_idx, fd));
        self.clients.lock().insert(id, info.clone());
        self.connected.fetch_add(1, Ordering::Relaxed);
        self.stats_at(0)
            .total_connections
            .fetch_add(1, Ordering::Relaxed);
        info
    }

    /// Forgets a closed client (registry, WATCH, MONITOR, Pub/Sub).
    pub(crate) fn unregister_client(&self, client: &mut Client) {
        self.pubsub.forget(client);
        // Its own tracking, and the invalidations others redirect to it.
        client.tracking = None;
        self.tracking.client_closed(client.id);
        if self.clients.lock().remove(&client.id).is_some() {
            self.connected.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(w) = client.watch.take() {
            self.watches.unwatch_all(&w.keys, &w.dirty);
        }
        if client.monitor {
            let mut m = self.monitors.lock();
            m.retain(|&(_, id)| id != client.id);
            self.monitors_n.store(m.len(), Ordering::Relaxed);
        }
    }

    /// A write by `writer` (None: the server itself) changed `key`, outside the command
    /// table's key positions: clients tracking it are told (see `tracking.rs`). Call after
    /// the write.
    #[inline]
    pub(crate) fn invalidate_tracked(&self, writer: Option<u64>, key: &[u8]) {
        if self.tracking.active() {
            self.tracking.invalidate(self, writer, std::iter::once(key));
        }
    }

    pub(crate) fn monitors_active(&self) -> bool {
        self.monitors_n.load(Ordering::Relaxed) > 0
    }

    pub(crate) fn add_monitor(&self, client: &mut Client) {
        let mut m = self.monitors.lock();
        if !m.iter().any(|&(_, id)| id == client.id) {
            m.push((client.info.loop_idx, client.id));
        }
        self.monitors_n.store(m.len(), Ordering::Relaxed);
        client.monitor = true;
        client.info.monitor.store(true, Ordering::Relaxed);
    }

    /// Sends `+<time> [<db> <addr>] "arg" ...` to every MONITOR client (via their loop thread).
    pub(crate) fn feed_monitors(&self, client: &Client, argv: &[Bytes]) {
        let micros = unix_micros();
        let mut line = format!(
            "+{}.{:06} [{} {}]",
            micros / 1_000_000,
            micros % 1_000_000,
            client.db,
            client
                .info
                .addr
                .map_or_else(|| "lua".to_string(), |a| a.to_string())
        )
        .into_bytes();
        for a in argv {
            line.extend_from_slice(b" \"");
            for &b in a.iter() {
                match b {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'"' => line.extend_from_slice(b"\\\""),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b'\t' => line.extend_from_slice(b"\\t"),
                    7 => line.extend_from_slice(b"\\a"),
                    8 => line.extend_from_slice(b"\\b"),
                    b if b.is_ascii_graphic() || b == b' ' => line.push(b),
                    b => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                }
            }
            line.push(b'"');
        }
        line.extend_from_slice(b"\r\n");
        let line = Bytes::from(line);
        let targets = self.monitors.lock().clone();
        for (loop_idx, id) in targets {
            if id == client.id {
                continue;
            }
            if let Some(l) = self.loops.get(loop_idx) {
                l.post_monitor(id, line.clone());
            }
        }
    }

    /// Asks a client (on any thread) to close.
    pub(crate) fn kill_client(&self, info: &ClientInfo) {
        info.killed.store(true, Ordering::Release);
        if let Some(l) = self.loops.get(info.loop_idx) {
            l.post_kill(info.id);
        }
    }

    /// Starts a graceful shutdown: every loop stops accepting, flushes and exits.
    pub(crate) fn request_stop(&self, reason: StopReason) {
        {
            let mut r = self.stop_reason.lock();
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.stopping.store(true, Ordering::Release);
        for l in &self.loops {
            l.wake();
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn stats_at(&self, idx: usize) -> &Stats {
        match self.stats.get(idx) {
            Some(s) => s,
            None => &self.stats[idx % self.stats.len()],
        }
    }

    /// A counter summed over the loop threads.
    pub(crate) fn stat_sum(&self, f: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        self.stats
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Advances the coarse clocks; called by every loop once per turn.
    pub(crate) fn tick(&self) {
        self.clock.update();
        // Store only on change: both loops tick, and an unconditional store would bounce the
        // cache line between them every turn.
        let ms = self.started.elapsed().as_millis() as u64;
        if self.now_ms.load(Ordering::Relaxed) < ms {
            self.now_ms.store(ms, Ordering::Relaxed);
        }
    }

    /// Milliseconds since start as of the last tick.
    pub(crate) fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn cron_hz(&self) -> u64 {
        self.hz.load(Ordering::Relaxed)
    }

    /// Periodic work of loop `idx`: the keyspace's active expiry cycle (one caller at a time;
    /// the others return at once), with a quarter of the cron period as budget, as Redis.
    pub(crate) fn cron(&self, idx: usize) {
        let hz = self.cron_hz().max(1);
        let budget = Duration::from_micros(250_000 / hz);
        if idx == 0 {
            self.aof.cron(self);
            self.instantaneous.sample(
                self.started.elapsed().as_millis() as u64,
                self.stat_sum(|s| &s.total_commands),
                self.stat_sum(|s| &s.net_input_bytes),
                self.stat_sum(|s| &s.net_output_bytes),
            );
        }
        // As Redis 7.0, nothing expires actively while clients are paused (CLIENT PAUSE).
        if self.pause.maybe() && self.pause.current() != crate::blocking::PAUSE_NONE {
            return;
        }
        // Deletions by expiry are logged to the AOF: ordered like a read (see `aof`).
        let _order = self.aof.enter_shared(idx);
        let started = Instant::now();
        let st = self.dbs[0].active_expire_cycle(budget);
        if st.sampled > 0 || st.timed_out {
            let us = started.elapsed().as_micros() as u64;
            self.expiry.note(st.sampled, st.expired, st.timed_out, us);
            self.latency.observe("expire-cycle", us / 1000);
        }
    }

    /// Protected mode: without a password and bound to every interface, only loopback
    /// clients are served.
    pub(crate) fn protected_mode_rejects(&self, peer: &SocketAddr) -> bool {
        let cfg = self.config.read();
        if !cfg.protected_mode || cfg.requirepass.is_some() || peer.ip().is_loopback() {
            return false;
        }
        cfg.bind
            .iter()
            .any(|b| matches!(b.trim_start_matches('-'), "*" | "::*" | "0.0.0.0" | "::"))
    }

    pub(crate) fn remove_monitor(&self, client: &mut Client) {
        let mut m = self.monitors.lock();
        m.retain(|&(_, id)| id != client.id);
        self.monitors_n.store(m.len(), Ordering::Relaxed);
        client.monitor = false;
        client.info.monitor.store(false, Ordering::Relaxed);
    }

    /// Registered clients matching `pred`.
    pub(crate) fn find_clients(&self, pred: impl Fn(&ClientInfo) -> bool) -> Vec<Arc<ClientInfo>> {
        let mut v: Vec<Arc<ClientInfo>> = self
            .clients
            .lock()
            .values()
            .filter(|c| pred(c))
            .cloned()
            .collect();
        v.sort_by_key(|c| c.id);
        v
    }

    /// One CLIENT LIST / CLIENT INFO line.
    pub(crate) fn client_line(&self, info: &ClientInfo) -> String {
        let cmd = match info.last_cmd.load(Ordering::Relaxed) {
            0 => "NULL",
            i => command_at(usize::from(i) - 1).map_or("NULL", |c| c.name),
        };
        info.list_line(self.now_ms(), cmd, self.pubsub.client_counts(info.id))
    }

    /// CLIENT LIST text, optionally only some ids.
    pub(crate) fn client_list(&self, ids: Option<&[u64]>) -> String {
        let mut s = String::new();
        let ids: Option<hashbrown::HashSet<u64>> = ids.map(|v| v.iter().copied().collect());
        for c in self.find_clients(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id))) {
            s.push_str(&self.client_line(&c));
            s.push('\n');
        }
        s
    }
}

/// A wall clock read from an atomic the event loops refresh every turn, so a TTL check costs a
/// load instead of a clock call. Always within one loop turn of the real time while serving.
#[derive(Debug, Clone)]
pub(crate) struct CoarseClock {
    ms: Arc<std::sync::atomic::AtomicI64>,
}

impl CoarseClock {
    fn new() -> Self {
        let c = CoarseClock {
            ms: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        };
        c.update();
        c
    }

    /// Stops the clock at 0 while the AOF is replayed (nothing expires while loading, as in
    /// Redis); the next `update` brings it back to the real time.
    pub(crate) fn stop_for_load(&self) {
        self.ms.store(0, Ordering::Relaxed);
    }

    pub(crate) fn update(&self) {
        let now = sabaody_core::SystemClock.now_ms();
        if self.ms.load(Ordering::Relaxed) < now {
            self.ms.fetch_max(now, Ordering::Relaxed);
        }
    }
}

impl Clock for CoarseClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::Relaxed)
    }
}

/// The server, started with [`Server::start`].
#[derive(Debug)]
pub struct Server;

/// A running server: its address, and how to stop it or wait for it.
#[derive(Debug)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

/// A cloneable trigger for a graceful shutdown (for signal handlers).
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    shared: Arc<Shared>,
}

impl ShutdownTrigger {
    /// Starts a graceful shutdown as SIGTERM does.
    pub fn shutdown(&self) {
        self.shared.request_stop(StopReason::Signal);
    }
}

/// A listening socket with Redis's options: SO_REUSEADDR, IPv6-only for IPv6 addresses, and
/// the configured backlog (`tcp-backlog`, 511 by default; std's `TcpListener::bind` uses 128,
/// too few for thousands of clients connecting at once).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.bind(&addr.into())?;
    sock.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(sock.into())
}

fn bind_all(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut port = config.port;
    let mut last_err = None;
    for spec in &config.bind {
        let (optional, host) = match spec.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, spec.as_str()),
        };
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let result = target
            .to_socket_addrs()
            .and_then(|mut a| {
                a.next().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address")
                })
            })
            .and_then(|a| listen(a, config.tcp_backlog));
        match result {
            Ok(l) => {
                // With port 0 every further address reuses the port the first one got.
                if port == 0 {
                    port = l.local_addr()?.port();
                }
                l.set_nonblocking(true)?;
                listeners.push(l);
            }
            Err(e) if optional => {
                log_warning!("Could not bind optional address {spec}: {e}");
            }
            Err(e) => {
                log_warning!("Could not create server TCP listening socket {target}: {e}");
                last_err = Some(e);
            }
        }
    }
    if let Some(e) = last_err {
        return Err(e);
    }
    if listeners.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "no address to bind",
        ));
    }
    Ok(listeners)
}

impl Server {
    /// Binds (port 0 = an ephemeral port), spawns the event-loop threads and returns at once.
    ///
    /// # Errors
    /// Binding or creating a poller failed.
    pub fn start(config: Config) -> std::io::Result<ServerHandle> {
        crate::log::set_level(config.loglevel);
        let listeners = bind_all(&config)?;
        let addr = listeners[0].local_addr()?;
        let n = config.io_threads.max(1);
        let mut loops = Vec::with_capacity(n);
        for _ in 0..n {
            loops.push(Arc::new(LoopHandle::new()?));
        }
        let shared = Arc::new(Shared::new(config, loops, addr.port()));
        crate::notify::connect(&shared);
        crate::aof::load(&shared).map_err(std::io::Error::other)?;
        {
            // Without the AOF, the dump (if any) is the data set to start from.
            let cfg = shared.config.read();
            crate::persist::remove_stale_temp_files(&cfg);
            if !cfg.appendonly {
                crate::persist::load_at_startup(&shared.dbs[0], &cfg, &shared.persist)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            }
        }
        shared.persist.mark_clean(&shared.dbs[0]);
        let threads = event_loop::spawn_all(shared.clone(), listeners)?;
        log_notice!(
            "Sabaody server started, {} loop thread(s), ready to accept connections tcp on {}",
            n,
            addr
        );
        Ok(ServerHandle {
            shared,
            threads,
            addr,
        })
    }
}

impl ServerHandle {
    /// The first bound address (with the real port when started with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A trigger that can start a graceful shutdown from another thread (e.g. a signal handler).
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        ShutdownTrigger {
            shared: self.shared.clone(),
        }
    }

    /// Graceful shutdown: stop accepting, finish in-flight commands, flush replies, join the
    /// threads.
    pub fn shutdown(self) -> bool {
        self.shared.request_stop(StopReason::Handle);
        self.wait()
    }

    /// Blocks until the server stops (SHUTDOWN command, signal, or a trigger), then writes the
    /// final snapshot when save points are configured (or SHUTDOWN SAVE asked for one). False if
    /// that save failed (the previous dump is left intact).
    pub fn wait(self) -> bool {
        for t in self.threads {
            let _ = t.join();
        }
        // The AOF first: everything acknowledged is on disk before the final save.
        self.shared.aof.shutdown();
        if let Err(e) = crate::persist::at_shutdown(&self.shared) {
            log_warning!("Error trying to save the DB, can't exit cleanly: {e}");
            return false;
        }
        log_notice!("Sabaody server is now ready to exit, bye bye...");
        true
    }
}
