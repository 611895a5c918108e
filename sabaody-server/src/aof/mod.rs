//! The append-only file (AOF), in Redis 7.0's multi-part layout.
//!
//! ```text
//! <dir>/<appenddirname>/
//!     appendonly.aof.1.base.rdb     the keyspace at the last rewrite (RDB), or empty
//!                                   (`.base.aof`: as commands, `aof-use-rdb-preamble no`)
//!     appendonly.aof.1.incr.aof     every write since, in RESP
//!     appendonly.aof.manifest       which of the files above make up the log
//! ```
//!
//! # Order
//!
//! Two loop threads run commands concurrently on one keyspace, so the log must record writes
//! in the order they took effect. [`Aof::enter`] is taken around every command (`cmd::execute`)
//! and around every other change of the keyspace (serving blocked clients, the active expiry
//! cycle): writes take it *exclusively*, reads *shared*. A write appends its RESP to the log
//! buffer before releasing it, so the buffer's order is the keyspace's order.
//!
//! Reads take it at all because a read can change the keyspace: finding an expired key
//! deletes it, and that deletion is logged as `DEL` (as Redis does). Absolute expire times
//! alone do not make replay exact: `SET k 5 PX 100`, then `INCR k` → 6 before the expiry,
//! and `INCR k` → 1 after it. Replay loads with expiry off (the clock stopped at 0, as Redis
//! does not expire keys while loading), so every deletion the live server made by expiry or
//! eviction must be in the log, at its place. The removal hook (`Cache::set_removal_hook`)
//! runs on the thread that removed the key before its command returns, i.e. while that
//! thread holds this lock: shared-lock holders never run alongside a writer, so the `DEL`s
//! they log cannot be reordered against a write.
//!
//! The lock is one `RwLock` per loop thread (cache-line aligned): a shared acquisition takes
//! only the caller's stripe (uncontended, a few ns), an exclusive one takes every stripe in
//! order. With the AOF off everything takes the shared side only, so `CONFIG SET appendonly
//! yes` (which takes the exclusive side) cannot race a write that was started unlogged; a
//! loop then holds its stripe across a whole pipeline rather than per command ([`Order`]).
//!
//! # Durability
//!
//! * `always`: before a loop thread writes any reply to a socket, [`Aof::before_reply`]
//!   writes the buffer and fsyncs, unless another thread's fsync already covered every byte
//!   appended so far: one fsync per loop turn covers every command of that turn (group
//!   commit).
//! * `everysec`: the buffer is written at each turn's reply flush, and a background thread
//!   fsyncs once a second (without holding the file lock, so writes go on meanwhile).
//! * `no`: written at each turn's reply flush; the OS decides when it reaches the disk.
//!
//! # Rewrite
//!
//! Under the exclusive lock (no write can slip between): take a point-in-time snapshot of the
//! keyspace and switch appends to a new incremental file, listed at once in the manifest (so
//! a crash during the rewrite loads old base + old incrs + new incr: nothing is lost). A
//! background thread writes the snapshot as the new base (RDB, or commands with
//! `aof-use-rdb-preamble no`; fdatasynced every 4 MB with `aof-rewrite-incremental-fsync
//! yes`), fsyncs it, writes the new
//! manifest (base + new incr; temp file, fsync, rename, fsync of the directory), then
//! deletes the old files.

pub(crate) mod load;
pub(crate) mod manifest;
mod rewrite;

pub(crate) use rewrite::bgrewriteaof;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use sabaody_core::RemovalCause;

use crate::client::{Client, ClientInfo};
use crate::cmd::{self, CommandSpec, flag};
use crate::server::Shared;

pub use load::check_aof;
use manifest::{Entry, Kind, Manifest};

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fsync {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl Fsync {
    fn from_name(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
    fn from_u8(v: u8) -> Fsync {
        match v {
            0 => Fsync::Always,
            2 => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// One stripe of the order lock, on its own cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(RwLock<()>);

/// What [`Aof::enter`] holds until the command is done.
#[derive(Debug)]
pub(crate) enum Guard<'a> {
    Shared(#[allow(dead_code)] RwLockReadGuard<'a, ()>),
    /// One loop thread: its only stripe (no allocation on the write path).
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'a, ()>),
    ExclusiveAll(#[allow(dead_code)] Vec<RwLockWriteGuard<'a, ()>>),
}

/// The order lock as a run of commands from one loop thread holds it (a connection's
/// pipeline in `conn::process_input`).
///
/// With the AOF off every command takes its loop's stripe shared, so the batch takes it once
/// and keeps it from command to command. That is race-free because the AOF is only turned on
/// or off under the exclusive side (CONFIG SET appendonly and its failure path; the start-up
/// load runs before any loop thread): while this thread holds its stripe, no thread can take
/// the exclusive side, so the AOF stays off for every command of the batch, and each command
/// is ordered exactly as if it had taken the shared side itself. BGREWRITEAOF and CONFIG SET
/// are admin commands: the batch lets its stripe go before they take the exclusive side. With
/// the AOF on, the batch holds nothing and each command takes the lock as [`Aof::enter`]
/// says (exclusive for writes).
#[derive(Debug)]
pub(crate) struct Order<'a> {
    aof: &'a Aof,
    idx: usize,
    /// The loop's stripe, held shared, taken while the AOF was off.
    off: Option<RwLockReadGuard<'a, ()>>,
}

impl<'a> Order<'a> {
    pub(crate) fn new(aof: &'a Aof, idx: usize) -> Self {
        Order {
            aof,
            idx,
            off: None,
        }
    }

    /// Orders one command: `None` when the batch's hold covers it, else the guard to keep
    /// while it runs (see [`Aof::enter`]).
    #[inline]
    pub(crate) fn enter(&mut self, spec: &CommandSpec, in_multi: bool) -> Option<Guard<'a>> {
        if spec.has(flag::ADMIN) {
            // It takes the exclusive side, our stripe included.
            self.off = None;
        } else if self.off.is_some() {
            return None;
        } else if !self.aof.on() {
            let g = self.aof.stripe(self.idx).read();
            // `on` only changes under the exclusive side: re-read now that it is excluded.
            if !self.aof.on() {
                self.off = Some(g);
                return None;
            }
        }
        Some(self.aof.enter(self.idx, spec, in_multi))
    }

    /// Whether the batch holds its stripe with the AOF off: the AOF cannot be turned on
    /// until it lets go, and this thread must not take the order lock again meanwhile.
    #[inline]
    pub(crate) fn holds_off(&self) -> bool {
        self.off.is_some()
    }
}

/// Commands appended and not yet written to the file.
#[derive(Debug, Default)]
struct LogBuf {
    bytes: Vec<u8>,
    /// Logical offset (bytes ever appended) at the end of `bytes`.
    end: u64,
    /// Database of the last logged command; `None`: the next one is preceded by SELECT.
    db: Option<usize>,
    /// Inside EXEC: the transaction's commands, and the removals it caused.
    tx: Option<TxLog>,
}

#[derive(Debug, Default)]
struct TxLog {
    dels: Vec<(usize, Bytes)>,
    cmds: Vec<(usize, Vec<Bytes>)>,
}

fn put_argv<'a, A: AsRef<[u8]> + 'a>(out: &mut Vec<u8>, argv: &'a [A]) {
    put_len(out, b'*', argv.len());
    for a in argv {
        let a = a.as_ref();
        put_len(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `<tag><n>\r\n`. Counts and lengths below 100 (almost all of them) are one fixed-size
/// append each, not three appends of which one copies a variable number of digits.
#[inline]
fn put_len(out: &mut Vec<u8>, tag: u8, n: usize) {
    let digit = |d: usize| b'0' + (d % 10) as u8;
    if n < 10 {
        out.extend_from_slice(&[tag, digit(n), b'\r', b'\n']);
    } else if n < 100 {
        out.extend_from_slice(&[tag, digit(n / 10), digit(n), b'\r', b'\n']);
    } else {
        let mut num = [0u8; 20];
        out.push(tag);
        out.extend_from_slice(sabaody_resp::fmt_u64(&mut num, n as u64));
        out.extend_from_slice(b"\r\n");
    }
}

impl LogBuf {
    fn emit<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        let before = self.bytes.len();
        if self.db != Some(db) {
            let mut num = [0u8; 20];
            let d = sabaody_resp::fmt_u64(&mut num, db as u64);
            put_argv(&mut self.bytes, &[&b"SELECT"[..], d]);
            self.db = Some(db);
        }
        put_argv(&mut self.bytes, argv);
        self.end += (self.bytes.len() - before) as u64;
    }

    fn emit_raw(&mut self, argv: &[&[u8]; 1]) {
        let before = self.bytes.len();
        put_argv(&mut self.bytes, argv);
        self.end += (self.bytes.len() - before) as u64;
    }
}

/// The open log on disk.
#[derive(Debug)]
struct Disk {
    /// `<dir>/<appenddirname>`.
    dir: PathBuf,
    filename: String,
    manifest: Manifest,
    /// The incremental file appended to.
    file: File,
    /// A second handle on `file` for the background fsync.
    sync_fd: Option<Arc<File>>,
    /// Bytes in `file`.
    incr_size: u64,
    /// Bytes of the base and of the other incremental files in the manifest.
    other_size: u64,
    base_size: u64,
    /// The empty buffer swapped in when the log buffer is written (keeps its allocation).
    spare: Vec<u8>,
    /// The next base's sequence number is at least this.
    base_seq_floor: u64,
}

impl Disk {
    fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.filename))
    }
    fn current_size(&self) -> u64 {
        self.other_size + self.incr_size
    }
}

/// Rewrite bookkeeping (INFO persistence).
#[derive(Debug, Default)]
struct RewriteInfo {
    started: Option<Instant>,
    last_secs: i64,
    /// Copy-on-write bytes of the last rewrite's snapshot (`aof_last_cow_size`).
    last_cow: u64,
    last_ok: bool,
    count: u64,
    /// Rewrites that failed (after starting, or when their thread could not start) since
    /// the last success (`aof_rewrites_consecutive_failures`); a failed start of the AOF
    /// is not one, as in Redis.
    failures: u64,
    /// `aof_current_size` after the last rewrite (the base of the auto-rewrite growth).
    base_for_growth: u64,
    scheduled: bool,
    /// Files of an earlier log that the scheduled rewrite deletes once its manifest is in
    /// place (the AOF was turned on while a snapshot or another rewrite was being written).
    obsolete: Vec<String>,
}

impl RewriteInfo {
    /// A rewrite failed.
    fn failed(&mut self) {
        self.last_ok = false;
        self.failures += 1;
    }
}

#[derive(Debug)]
struct Inner {
    on: AtomicBool,
    stripes: Box<[Stripe]>,
    buf: Mutex<LogBuf>,
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    policy: AtomicU8,
    no_fsync_on_rewrite: AtomicBool,
    disk: Mutex<Option<Disk>>,
    rewriting: AtomicBool,
    rewrite: Mutex<RewriteInfo>,
    /// `CONFIG SET appendonly yes` ran inside EXEC: the log is opened and its rewrite started
    /// right after the EXEC (or by the cron, if that failed), as Redis 7.0 schedules the
    /// rewrite of `startAppendOnly` while `server.in_exec`. INFO shows the AOF enabled and a
    /// rewrite scheduled meanwhile (Redis's `AOF_WAIT_REWRITE`); writes are not logged yet:
    /// the rewrite's base holds them. Changed under the exclusive side of the order lock.
    start_pending: AtomicBool,
    write_ok: AtomicBool,
    /// The last fsync of the everysec thread succeeded.
    fsync_ok: AtomicBool,
    /// Why the last write or fsync failed (`strerror` text), for the MISCONF reply.
    last_error: Mutex<String>,
    stop: AtomicBool,
    /// `load` ran: CONFIG SET appendonly turns the AOF on and off from now on.
    started: AtomicBool,
    fsync_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The append-only file, shared by every loop thread (`Shared::aof`).
#[derive(Debug, Clone)]
pub(crate) struct Aof {
    inner: Arc<Inner>,
}

impl Aof {
    /// An AOF that is off, with one lock stripe per loop thread; installs the keyspace's
    /// removal hook (expirations and evictions are logged as `DEL` while the AOF is on).
    /// `notifier` is told about keys the store removes by itself (the one removal hook a store
    /// has is installed here).
    pub(crate) fn new(
        cache: &sabaody_core::Cache,
        loops: usize,
        notifier: Arc<crate::notify::Notifier>,
    ) -> Aof {
        let inner = Arc::new(Inner {
            on: AtomicBool::new(false),
            stripes: (0..loops.max(1)).map(|_| Stripe::default()).collect(),
            buf: Mutex::new(LogBuf::default()),
            appended: AtomicU64::new(0),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            policy: AtomicU8::new(Fsync::EverySec as u8),
            no_fsync_on_rewrite: AtomicBool::new(false),
            disk: Mutex::new(None),
            rewriting: AtomicBool::new(false),
            start_pending: AtomicBool::new(false),
            rewrite: Mutex::new(RewriteInfo {
                last_ok: true,
                // As Redis before its first rewrite.
                last_secs: -1,
                ..RewriteInfo::default()
            }),
            write_ok: AtomicBool::new(true),
            fsync_ok: AtomicBool::new(true),
            last_error: Mutex::new(String::new()),
            stop: AtomicBool::new(false),
            started: AtomicBool::new(false),
            fsync_thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        cache.set_removal_hook(move |db, key, cause| {
            notifier.removed(db, key, cause);
            if matches!(cause, RemovalCause::Expired | RemovalCause::Evicted)
                && let Some(inner) = weak.upgrade()
                && inner.on.load(Ordering::Relaxed)
            {
                inner.log_removal(db, key);
            }
        });
        Aof { inner }
    }

    /// Whether writes are being logged.
    #[inline]
    pub(crate) fn on(&self) -> bool {
        self.inner.on.load(Ordering::Relaxed)
    }

    /// Whether the AOF is on or about to be (Redis's `aof_state != AOF_OFF`: `aof_enabled`).
    pub(crate) fn enabled(&self) -> bool {
        self.on() || self.inner.start_pending.load(Ordering::Relaxed)
    }

    /// As Redis: while the AOF is on and its last write (or background fsync) failed, writes
    /// and PING are refused with this MISCONF error, so nothing is acknowledged that the log
    /// does not hold. The next successful write (each loop turn with `no`, each second with
    /// `everysec`) lifts it. (`always` exits on such an error instead.)
    #[inline]
    pub(crate) fn writes_ok(&self) -> bool {
        let inner = &*self.inner;
        inner.write_ok.load(Ordering::Relaxed) && inner.fsync_ok.load(Ordering::Relaxed)
    }

    /// The MISCONF error text while [`Aof::writes_ok`] is false and the AOF is on.
    #[inline]
    pub(crate) fn write_error(&self) -> Option<String> {
        let inner = &*self.inner;
        if inner.write_ok.load(Ordering::Relaxed) && inner.fsync_ok.load(Ordering::Relaxed) {
            return None;
        }
        if !self.on() {
            return None;
        }
        Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            inner.last_error.lock()
        ))
    }

    /// Applies `appendfsync` and `no-appendfsync-on-rewrite` (start-up and CONFIG SET).
    pub(crate) fn set_policy(&self, appendfsync: &str, no_fsync_on_rewrite: bool) {
        self.inner
            .policy
            .store(Fsync::from_name(appendfsync) as u8, Ordering::Relaxed);
        self.inner
            .no_fsync_on_rewrite
            .store(no_fsync_on_rewrite, Ordering::Relaxed);
    }

    fn policy(&self) -> Fsync {
        Fsync::from_u8(self.inner.policy.load(Ordering::Relaxed))
    }

    // ----- ordering --------------------------------------------------------------------------

    /// Takes the order lock for a command run by loop `idx`: exclusively for what may change
    /// the keyspace in a way that is logged (writes, DENYOOM and queued commands, which may
    /// evict, admin commands, EXEC) while the AOF is on, and always for admin commands (CONFIG
    /// SET appendonly, BGREWRITEAOF); shared otherwise.
    #[inline]
    pub(crate) fn enter(&self, idx: usize, spec: &CommandSpec, in_multi: bool) -> Guard<'_> {
        let admin = spec.has(flag::ADMIN);
        let logged = spec.has(flag::WRITE | flag::DENYOOM) || in_multi || spec.name == "exec";
        if admin || (logged && self.on()) {
            return self.enter_exclusive();
        }
        let g = self.enter_shared(idx);
        if logged && self.on() {
            // Turned on between the check and the lock.
            drop(g);
            return self.enter_exclusive();
        }
        g
    }

    /// The shared side, for loop `idx`.
    #[inline]
    pub(crate) fn enter_shared(&self, idx: usize) -> Guard<'_> {
        Guard::Shared(self.stripe(idx).read())
    }

    #[inline]
    fn stripe(&self, idx: usize) -> &RwLock<()> {
        let stripes = &self.inner.stripes;
        match stripes.get(idx) {
            Some(s) => &s.0,
            None => &stripes[idx % stripes.len()].0,
        }
    }

    /// The exclusive side: every stripe, in order.
    pub(crate) fn enter_exclusive(&self) -> Guard<'_> {
        match &self.inner.stripes[..] {
            [one] => Guard::Exclusive(one.0.write()),
            all => Guard::ExclusiveAll(all.iter().map(|s| s.0.write()).collect()),
        }
    }

    // ----- logging ---------------------------------------------------------------------------

    /// Logs a command that ran in database `db` (the caller holds the exclusive lock).
    pub(crate) fn log(&self, db: usize, argv: &[Bytes]) {
        let mut b = self.inner.buf.lock();
        if let Some(tx) = b.tx.as_mut() {
            tx.cmds.push((db, argv.to_vec()));
            return;
        }
        b.emit(db, argv);
        self.inner.appended.store(b.end, Ordering::Release);
    }

    /// Logs the commands one command propagates as (SORT ... STORE as DEL + RPUSH): inside
    /// MULTI ... EXEC when there is more than one, as Redis wraps them, so a crash between
    /// them leaves neither in the log (the loader drops a MULTI without its EXEC). Inside an
    /// EXEC they join its transaction.
    pub(crate) fn log_many(&self, db: usize, cmds: &[Vec<Bytes>]) {
        let mut b = self.inner.buf.lock();
        if let Some(tx) = b.tx.as_mut() {
            tx.cmds.extend(cmds.iter().map(|argv| (db, argv.clone())));
            return;
        }
        let wrap = cmds.len() > 1;
        if wrap {
            b.emit_raw(&[b"MULTI"]);
        }
        for argv in cmds {
            b.emit(db, argv);
        }
        if wrap {
            b.emit_raw(&[b"EXEC"]);
        }
        self.inner.appended.store(b.end, Ordering::Release);
    }

    /// EXEC starts: its writes are collected and logged inside MULTI ... EXEC.
    pub(crate) fn begin_tx(&self) {
        if self.on() {
            self.inner.buf.lock().tx = Some(TxLog::default());
        }
    }

    /// EXEC ends: logs the keys its commands found expired (or evicted) first, then its
    /// writes, wrapped in MULTI/EXEC when there is more than one. Nothing if the AOF was
    /// turned off inside the transaction: as in Redis, which logs a transaction when EXEC
    /// ends, none of it is in the log then.
    pub(crate) fn end_tx(&self) {
        let mut b = self.inner.buf.lock();
        let Some(tx) = b.tx.take() else { return };
        if !self.on() {
            return;
        }
        for (db, key) in &tx.dels {
            b.emit(*db, &[&b"DEL"[..], key]);
        }
        let wrap = tx.cmds.len() > 1;
        if wrap {
            b.emit_raw(&[b"MULTI"]);
        }
        for (db, argv) in &tx.cmds {
            b.emit(*db, argv);
        }
        if wrap {
            b.emit_raw(&[b"EXEC"]);
        }
        self.inner.appended.store(b.end, Ordering::Release);
    }

    // ----- writing and fsync -----------------------------------------------------------------

    /// Called by a loop thread before it writes replies to sockets: with `always`, makes every
    /// command appended so far durable (one fsync for all of them, skipped if another thread's
    /// fsync already covered them); otherwise writes the buffer to the file.
    #[inline]
    pub(crate) fn before_reply(&self) {
        if !self.on() {
            return;
        }
        let inner = &*self.inner;
        let appended = inner.appended.load(Ordering::Acquire);
        match self.policy() {
            Fsync::Always => {
                if inner.synced.load(Ordering::Acquire) < appended {
                    self.sync_to(appended);
                }
            }
            _ => {
                if inner.written.load(Ordering::Acquire) < appended {
                    let mut d = inner.disk.lock();
                    if let Some(disk) = d.as_mut()
                        && let Err(e) = inner.write_out(disk)
                    {
                        log_warning!("Error writing to the AOF file: {e}");
                    }
                }
            }
        }
    }

    /// Writes and fsyncs up to `target` (or everything, if more was appended meanwhile).
    fn sync_to(&self, target: u64) {
        let inner = &*self.inner;
        let mut d = inner.disk.lock();
        if inner.synced.load(Ordering::Acquire) >= target {
            return;
        }
        let Some(disk) = d.as_mut() else { return };
        let result = inner.write_out(disk).and_then(|()| {
            let skip = inner.no_fsync_on_rewrite.load(Ordering::Relaxed)
                && inner.rewriting.load(Ordering::Relaxed);
            if skip { Ok(()) } else { disk.file.sync_data() }
        });
        match result {
            Ok(()) => {
                let w = inner.written.load(Ordering::Acquire);
                inner.synced.fetch_max(w, Ordering::AcqRel);
            }
            Err(e) => {
                // As Redis: with `always` a write that cannot be made durable must not be
                // acknowledged, and the server cannot go on.
                log_warning!(
                    "Can't recover from AOF write error when the AOF fsync policy is 'always': {e}. Exiting..."
                );
                std::process::exit(1);
            }
        }
    }

    /// Writes and fsyncs everything appended (graceful shutdown, CONFIG SET appendonly no).
    pub(crate) fn shutdown(&self) {
        let inner = &*self.inner;
        inner.stop.store(true, Ordering::Relaxed);
        let mut d = inner.disk.lock();
        if let Some(disk) = d.as_mut() {
            match inner.write_out(disk).and_then(|()| disk.file.sync_data()) {
                Ok(()) => {
                    let w = inner.written.load(Ordering::Acquire);
                    inner.synced.fetch_max(w, Ordering::AcqRel);
                }
                Err(e) => log_warning!("Error writing the AOF at shutdown: {e}"),
            }
        }
        drop(d);
        if let Some(t) = inner.fsync_thread.lock().take() {
            let _ = t.join();
        }
    }

    // ----- INFO ------------------------------------------------------------------------------

    /// CONFIG RESETSTAT: `aof_rewrites` starts from 0 again (as Redis's resetServerStats).
    pub(crate) fn reset_stats(&self) {
        self.inner.rewrite.lock().count = 0;
    }

    /// Bytes logged but not yet written to the file (INFO's `mem_aof_buffer`).
    pub(crate) fn buffer_len(&self) -> u64 {
        let inner = &*self.inner;
        let appended = inner.appended.load(Ordering::Relaxed);
        appended - inner.written.load(Ordering::Relaxed).min(appended)
    }

    /// The AOF lines of `INFO persistence`, as `(field, value)` pairs in Redis's order.
    pub(crate) fn info_fields(&self) -> Vec<(&'static str, String)> {
        let inner = &*self.inner;
        let (cur, base) = inner
            .disk
            .lock()
            .as_ref()
            .map_or((0, 0), |d| (d.current_size(), d.base_size));
        let rw = inner.rewrite.lock();
        let rewriting = inner.rewriting.load(Ordering::Relaxed);
        let enabled = self.enabled();
        let scheduled = rw.scheduled || inner.start_pending.load(Ordering::Relaxed);
        let mut v = vec![
            ("aof_enabled", u8::from(enabled).to_string()),
            ("aof_rewrite_in_progress", u8::from(rewriting).to_string()),
            ("aof_rewrite_scheduled", u8::from(scheduled).to_string()),
            ("aof_last_rewrite_time_sec", rw.last_secs.to_string()),
            (
                "aof_current_rewrite_time_sec",
                rw.started
                    .filter(|_| rewriting)
                    .map_or(-1, |s| s.elapsed().as_secs() as i64)
                    .to_string(),
            ),
            (
                "aof_last_bgrewrite_status",
                if rw.last_ok { "ok" } else { "err" }.to_string(),
            ),
            ("aof_rewrites", rw.count.to_string()),
            ("aof_rewrites_consecutive_failures", rw.failures.to_string()),
            (
                "aof_last_write_status",
                if inner.write_ok.load(Ordering::Relaxed) {
                    "ok"
                } else {
                    "err"
                }
                .to_string(),
            ),
            ("aof_last_cow_size", rw.last_cow.to_string()),
            // Redis reports forks of modules here; there are neither forks nor modules.
            ("module_fork_in_progress", "0".to_string()),
            ("module_fork_last_cow_size", "0".to_string()),
        ];
        if enabled {
            let pending = inner.appended.load(Ordering::Relaxed)
                - inner
                    .written
                    .load(Ordering::Relaxed)
                    .min(inner.appended.load(Ordering::Relaxed));
            v.push(("aof_current_size", cur.to_string()));
            v.push(("aof_base_size", base.to_string()));
            v.push(("aof_pending_rewrite", u8::from(scheduled).to_string()));
            v.push(("aof_buffer_length", pending.to_string()));
            v.push(("aof_pending_bio_fsync", "0".to_string()));
            v.push(("aof_delayed_fsync", "0".to_string()));
        }
        v
    }
}

impl Inner {
    fn log_removal(&self, db: usize, key: &[u8]) {
        let mut b = self.buf.lock();
        if let Some(tx) = b.tx.as_mut() {
            tx.dels.push((db, Bytes::copy_from_slice(key)));
            return;
        }
        b.emit(db, &[&b"DEL"[..], key]);
        self.appended.store(b.end, Ordering::Release);
    }

    /// Writes the log buffer to the file (the caller holds the disk lock, which keeps writes
    /// in buffer order).
    fn write_out(&self, disk: &mut Disk) -> io::Result<()> {
        let (mut data, end) = {
            let mut b = self.buf.lock();
            if b.bytes.is_empty() {
                return Ok(());
            }
            let mut data = std::mem::take(&mut disk.spare);
            std::mem::swap(&mut data, &mut b.bytes);
            (data, b.end)
        };
        match disk.file.write_all(&data) {
            Ok(()) => {
                disk.incr_size += data.len() as u64;
                self.written.store(end, Ordering::Release);
                self.write_ok.store(true, Ordering::Relaxed);
                data.clear();
                if data.capacity() <= 4 << 20 {
                    disk.spare = data;
                }
                Ok(())
            }
            Err(e) => {
                // Cut a partial write off and keep the bytes for the next attempt.
                let _ = disk.file.set_len(disk.incr_size);
                let mut b = self.buf.lock();
                data.extend_from_slice(&b.bytes);
                b.bytes = data;
                *self.last_error.lock() = strerror(&e);
                self.write_ok.store(false, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// The OS's text for an I/O error without Rust's " (os error N)" suffix, as Redis prints it.
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match (e.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

// ----- start-up ----------------------------------------------------------------------------

/// File name of a base or incremental file.
fn file_name(filename: &str, seq: u64, kind: Kind, rdb: bool) -> String {
    match kind {
        Kind::Base if rdb => format!("{filename}.{seq}.base.rdb"),
        Kind::Base => format!("{filename}.{seq}.base.aof"),
        _ => format!("{filename}.{seq}.incr.aof"),
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Loads the AOF at start-up if `appendonly yes` (before the loop threads start), opens it
/// for appending and starts logging. Without `appendonly` it does nothing (the RDB is loaded
/// instead).
///
/// # Errors
/// A message naming the file (and the offset) when the log cannot be read or is corrupt.
pub(crate) fn load(shared: &Shared) -> Result<(), String> {
    let cfg = shared.config.read().clone();
    shared
        .aof
        .set_policy(&cfg.appendfsync, cfg.no_appendfsync_on_rewrite);
    shared.aof.inner.started.store(true, Ordering::Release);
    if !cfg.appendonly {
        return Ok(());
    }
    let dir = cfg.dir.join(&cfg.appenddirname);
    let filename = cfg.appendfilename.clone();
    let mpath = dir.join(format!("{filename}.manifest"));
    let started = Instant::now();
    let mut manifest = match fs::read_to_string(&mpath) {
        Ok(text) => Manifest::parse(&text)
            .map_err(|e| format!("Invalid AOF manifest {}: {e}", mpath.display()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => {
            return Err(format!(
                "Cannot read the AOF manifest {}: {e}",
                mpath.display()
            ));
        }
    };
    fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
    remove_temp_files(&dir);
    let maxmemory = shared.dbs[0].max_memory();
    let loaded = replay_all(shared, &dir, &manifest, cfg.aof_load_truncated);
    let loaded = match loaded {
        Ok(n) => n,
        Err(e) => {
            shared.dbs[0].set_max_memory(maxmemory);
            return Err(e);
        }
    };
    if manifest.base.is_none() && manifest.incr.is_empty() {
        // A fresh log: an empty base, as Redis 7.0 creates (the dataset is empty).
        let base = Entry {
            name: file_name(&filename, 1, Kind::Base, cfg.aof_use_rdb_preamble),
            seq: 1,
            kind: Kind::Base,
        };
        let f = File::create(dir.join(&base.name))
            .map_err(|e| format!("Can't create the AOF base file: {e}"))?;
        f.sync_all()
            .map_err(|e| format!("Can't sync the AOF base file: {e}"))?;
        manifest.base = Some(base);
    }
    let new_incr = manifest.incr.is_empty();
    if new_incr {
        let seq = manifest.base.as_ref().map_or(1, |b| b.seq.max(1));
        manifest.incr.push(Entry {
            name: file_name(&filename, seq, Kind::Incr, false),
            seq,
            kind: Kind::Incr,
        });
    }
    let last = manifest
        .incr
        .last()
        .cloned()
        .ok_or("no incremental AOF file")?;
    let path = dir.join(&last.name);
    let file = open_append(&path)
        .map_err(|e| format!("Can't open the append-only file {}: {e}", path.display()))?;
    if new_incr {
        manifest
            .persist(&mpath)
            .map_err(|e| format!("Can't write the AOF manifest {}: {e}", mpath.display()))?;
    }
    let size_of = |e: &Entry| fs::metadata(dir.join(&e.name)).map_or(0, |m| m.len());
    let base_size = manifest.base.as_ref().map_or(0, size_of);
    let incr_size = size_of(&last);
    let other_size = base_size
        + manifest.incr[..manifest.incr.len() - 1]
            .iter()
            .map(size_of)
            .sum::<u64>();
    let disk = Disk {
        dir,
        filename,
        manifest,
        sync_fd: file.try_clone().ok().map(Arc::new),
        file,
        incr_size,
        other_size,
        base_size,
        spare: Vec::new(),
        base_seq_floor: 1,
    };
    let aof = &shared.aof;
    aof.inner.rewrite.lock().base_for_growth = disk.current_size();
    *aof.inner.disk.lock() = Some(disk);
    aof.inner.on.store(true, Ordering::Release);
    // The bound comes back once logging is on: what it evicts now is logged.
    shared.dbs[0].set_max_memory(maxmemory);
    aof.start_fsync_thread();
    if loaded > 0 {
        log_notice!(
            "DB loaded from append only file: {:.3} seconds ({loaded} commands)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Deletes leftovers of a rewrite interrupted by a crash.
fn remove_temp_files(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with("temp-rewriteaof-")
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Replays every file of the manifest (base, then incrementals) with the keyspace's clock
/// stopped and no memory bound: nothing expires or is evicted while loading, so the commands
/// see what they saw when they ran (the log has a `DEL` wherever a key expired or was
/// evicted). Returns the number of commands.
fn replay_all(
    shared: &Shared,
    dir: &Path,
    manifest: &Manifest,
    truncated_ok: bool,
) -> Result<u64, String> {
    let files: Vec<&Entry> = manifest.base.iter().chain(&manifest.incr).collect();
    if files.is_empty() {
        return Ok(0);
    }
    // The caller restores the memory bound.
    shared.dbs[0].set_max_memory(0);
    shared.clock.stop_for_load();
    let mut total = 0;
    let mut result = Ok(());
    for (i, e) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        match replay_file(shared, &dir.join(&e.name), last && truncated_ok) {
            Ok(n) => total += n,
            Err(msg) => {
                result = Err(msg);
                break;
            }
        }
    }
    shared.clock.update();
    result.map(|()| total)
}

/// Replays one file through the command executor, as a client that is always authenticated
/// and never blocks. `truncated_ok`: a last command cut short is dropped (and the file
/// truncated to the last whole command) instead of refusing to start.
fn replay_file(shared: &Shared, path: &Path, truncated_ok: bool) -> Result<u64, String> {
    let shown = path.display();
    match load::has_rdb_preamble(path) {
        Ok(true) => return load_rdb_base(shared, path),
        Ok(false) => {}
        Err(e) => return Err(format!("Can't open the append-only file {shown}: {e}")),
    }
    let file =
        File::open(path).map_err(|e| format!("Can't open the append-only file {shown}: {e}"))?;
    let (ending, multi_at, count) = replay_reader(shared, file)
        .map_err(|e| format!("Can't read the append-only file {shown}: {e}"))?;
    let cut = |valid: u64, len: u64, what: &str| -> Result<(), String> {
        if !truncated_ok {
            return Err(format!(
                "Bad file format reading the append only file {shown}: {what} at offset {valid} (of {len} bytes). make a backup of your AOF file, then use sabaody-server --check-aof --fix <filename>"
            ));
        }
        log_warning!(
            "!!! Warning: short read while loading the AOF file {shown}!!! {what} at offset {valid} (of {len} bytes): AOF loaded anyway because aof-load-truncated is enabled; the file is truncated to {valid} bytes"
        );
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| {
                f.set_len(valid)?;
                f.sync_all()
            })
            .map_err(|e| format!("Can't truncate the append-only file {shown}: {e}"))
    };
    match ending {
        load::Ending::Clean { len } => {
            if let Some(m) = multi_at {
                // A transaction without its EXEC: its commands were only queued.
                cut(m, len, "a MULTI without EXEC")?;
            }
        }
        load::Ending::Truncated { valid, len } => {
            let valid = multi_at.unwrap_or(valid);
            cut(valid, len, "the last command is incomplete")?;
        }
        load::Ending::Corrupt { offset, at, msg } => {
            return Err(format!(
                "Bad file format reading the append only file {shown}: {msg} at offset {at} (command starting at offset {offset}). make a backup of your AOF file, then use sabaody-server --check-aof --fix <filename>"
            ));
        }
        load::Ending::Refused { offset, msg } => {
            return Err(format!("{msg} {shown} at offset {offset}"));
        }
    }
    Ok(count)
}

/// Replays the commands read from `r` as a client that is always authenticated and never
/// blocks. Returns how the input ended, the offset of a MULTI left without its EXEC (its
/// commands were only queued, and are dropped), and the number of commands.
fn replay_reader(
    shared: &Shared,
    r: impl io::Read,
) -> io::Result<(load::Ending, Option<u64>, u64)> {
    let info = Arc::new(ClientInfo::new(0, None, None, 0, -1));
    let mut client = Client::new(info, true);
    client.in_exec = true;
    let mut out = BytesMut::new();
    let mut count = 0u64;
    let mut multi_at: Option<u64> = None;
    let ending = load::for_each_in(r, |argv, at| {
        let Some(spec) = argv.first().and_then(|n| cmd::lookup(n)) else {
            let name = argv
                .first()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            return Err(format!(
                "Unknown command '{name}' reading the append only file"
            ));
        };
        match spec.name {
            "multi" => multi_at = Some(at),
            "exec" | "discard" => multi_at = None,
            _ => {}
        }
        cmd::execute(shared, &mut client, &argv, &mut out);
        // A RESTORE that fails would lose its key without a word (a rewrite's command base
        // holds Bloom filters and CMS sketches as RESTOREs): it stops the load, naming why.
        // (Run outside MULTI: queued, it only answers +QUEUED.)
        if spec.name == "restore" && out.first() == Some(&b'-') {
            let reply = String::from_utf8_lossy(&out[1..]).trim_end().to_string();
            return Err(format!(
                "RESTORE failed ({reply}) reading the append only file"
            ));
        }
        out.clear();
        count += 1;
        Ok(())
    })?;
    client.multi = None;
    shared.unregister_client(&mut client);
    Ok((ending, multi_at, count))
}

/// Fuzzing entry: replays `data` as an AOF into a fresh server state (under a 256 MB memory
/// bound) and checks the keyspace's invariants. Never panics on any input; returns how the
/// input ended, or an error (a broken invariant) that the fuzz target reports.
#[doc(hidden)]
pub fn fuzz_load(data: &[u8]) -> Result<String, String> {
    let mut config = crate::config::Config::default();
    let _ = config.set("maxmemory", &["256mb"]);
    let _ = config.set("maxmemory-policy", &["allkeys-random"]);
    let shared = Shared::new(config, Vec::new(), 0);
    // Reading a slice cannot fail: an error here would itself be a bug worth reporting.
    let (ending, _, _) = replay_reader(&shared, data).map_err(|e| e.to_string())?;
    shared.dbs[0]
        .validate()
        .map_err(|e| format!("keyspace invariant broken: {e}"))?;
    Ok(format!("{ending:?}"))
}

/// Loads an RDB base (a rewrite's snapshot) into the keyspace.
/// (Keys whose time has passed are kept: the clock is stopped while loading.)
fn load_rdb_base(shared: &Shared, path: &Path) -> Result<u64, String> {
    let shown = path.display();
    let mut f = File::open(path).map_err(|e| format!("Can't open the AOF base {shown}: {e}"))?;
    let stats = shared.dbs[0]
        .load_rdb(&mut f)
        .map_err(|e| format!("Can't load the AOF base {shown}: {e}"))?;
    shared.persist.note_load(&stats);
    Ok(stats.keys)
}

impl Aof {
    /// The background thread that fsyncs once a second with `everysec`.
    fn start_fsync_thread(&self) {
        let mut t = self.inner.fsync_thread.lock();
        if t.is_some() {
            return;
        }
        self.inner.stop.store(false, Ordering::Relaxed);
        let weak = Arc::downgrade(&self.inner);
        *t = std::thread::Builder::new()
            .name("sabaody-aof-fsync".into())
            .spawn(move || {
                loop {
                    for _ in 0..10 {
                        std::thread::sleep(Duration::from_millis(100));
                        match weak.upgrade() {
                            Some(i) if !i.stop.load(Ordering::Relaxed) => {}
                            _ => return,
                        }
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    if !inner.on.load(Ordering::Relaxed)
                        || Fsync::from_u8(inner.policy.load(Ordering::Relaxed)) != Fsync::EverySec
                    {
                        continue;
                    }
                    if inner.no_fsync_on_rewrite.load(Ordering::Relaxed)
                        && inner.rewriting.load(Ordering::Relaxed)
                    {
                        continue;
                    }
                    let (fd, upto) = {
                        let mut d = inner.disk.lock();
                        let Some(disk) = d.as_mut() else { continue };
                        if let Err(e) = inner.write_out(disk) {
                            log_warning!("Error writing to the AOF file: {e}");
                        }
                        (disk.sync_fd.clone(), inner.written.load(Ordering::Acquire))
                    };
                    if inner.synced.load(Ordering::Acquire) >= upto {
                        continue;
                    }
                    // The fsync runs without the file lock: loop threads keep writing.
                    if let Some(fd) = fd {
                        match fd.sync_data() {
                            Ok(()) => {
                                inner.synced.fetch_max(upto, Ordering::AcqRel);
                                inner.fsync_ok.store(true, Ordering::Relaxed);
                            }
                            Err(e) => {
                                log_warning!("Error fsyncing the AOF file: {e}");
                                *inner.last_error.lock() = strerror(&e);
                                inner.fsync_ok.store(false, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
            .ok();
    }
}

#[cfg(test)]
mod tests {
    use super::put_argv;

    #[test]
    fn argv_is_resp_for_every_length_class() {
        for len in [0usize, 1, 9, 10, 42, 99, 100, 101, 999, 1000, 12_345] {
            let arg = vec![b'x'; len];
            let argv: Vec<&[u8]> = std::iter::repeat_n(&arg[..], len.min(120)).collect();
            let mut out = Vec::new();
            put_argv(&mut out, &argv);
            let mut want = format!("*{}\r\n", argv.len()).into_bytes();
            for a in &argv {
                want.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                want.extend_from_slice(a);
                want.extend_from_slice(b"\r\n");
            }
            assert_eq!(out, want, "len {len}");
        }
    }
}
