//! RDB persistence of the server: SAVE, BGSAVE, save points, loading at startup, the final
//! save at shutdown, and the `INFO persistence` fields that describe them.
//!
//! Snapshots come from the core's forkless point-in-time cut ([`Cache::begin_snapshot`]):
//! BGSAVE writes it on a background thread while the loops keep serving. Every file is written
//! to a temporary name in the same directory, fsynced, renamed over the target and the directory
//! fsynced, so a crash mid-save leaves the previous dump intact.

use crate::config::Config;
use crate::server::{Shared, unix_secs};
use parking_lot::Mutex;
use sabaody_core::Cache;
use sabaody_core::rdb::SaveOptions;
use sabaody_core::{RdbSnapshot, SaveStats};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Instant;

/// Redis waits this long after a failed background save before a save point may retry.
const RETRY_DELAY_SECS: u64 = 5;

/// The error of writes refused after a failed background save.
pub(crate) const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Persistence state shared by the loops.
#[derive(Debug, Default)]
pub(crate) struct Persist {
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave: AtomicU64,
    /// `Cache::change_count` at the cut of the last successful save.
    changes_at_save: AtomicU64,
    bgsave_running: AtomicBool,
    /// A BGSAVE waiting for the running snapshot (an AOF rewrite) to finish (BGSAVE
    /// SCHEDULE), or for the EXEC it ran in to end.
    pub bgsave_scheduled: AtomicBool,
    last_bgsave_ok: AtomicBool,
    last_bgsave_secs: AtomicI64,
    /// Unix seconds of the last save attempt (save points retry after a failure).
    last_try: AtomicU64,
    bgsave_started: Mutex<Option<Instant>>,
    bgsave_thread: Mutex<Option<JoinHandle<()>>>,
    /// Saves completed since start (`rdb_saves`).
    saves: AtomicU64,
    /// Bytes of pre-cut versions preserved by writers during the last save (`rdb_last_cow_size`).
    last_cow: AtomicU64,
    /// Keys stored / skipped as expired by the last RDB load (startup, an AOF's RDB base,
    /// DEBUG RELOAD): `rdb_last_load_keys_loaded` / `rdb_last_load_keys_expired`.
    last_load_keys: AtomicU64,
    last_load_expired: AtomicU64,
    /// Writes are refused (`MISCONF`): the last background save failed, save points are
    /// configured and `stop-writes-on-bgsave-error` is on. Kept by `cron` and `finish`.
    misconf: AtomicBool,
    /// SHUTDOWN SAVE (`Some(true)`) / NOSAVE (`Some(false)`) for the final save.
    pub shutdown_save: Mutex<Option<bool>>,
    /// Number of the latest BGSAVE started, and of the one FLUSHALL cancelled (its writer
    /// stops at its next write; see [`cancel_bgsave`]).
    bgsave_seq: AtomicU64,
    bgsave_cancel: Arc<AtomicU64>,
}

impl Persist {
    /// Records an RDB load's counts for INFO.
    pub(crate) fn note_load(&self, stats: &sabaody_core::rdb::LoadStats) {
        self.last_load_keys.store(stats.keys, Relaxed);
        self.last_load_expired.store(stats.expired_skipped, Relaxed);
    }

    pub(crate) fn new() -> Persist {
        let p = Persist::default();
        p.lastsave.store(unix_secs(), Relaxed);
        p.last_bgsave_ok.store(true, Relaxed);
        p.last_bgsave_secs.store(-1, Relaxed);
        p
    }

    #[inline]
    pub(crate) fn refusing_writes(&self) -> bool {
        self.misconf.load(Relaxed)
    }

    pub(crate) fn bgsave_in_progress(&self) -> bool {
        self.bgsave_running.load(Relaxed)
    }

    /// CONFIG RESETSTAT: `rdb_saves` starts from 0 again (as Redis's resetServerStats).
    pub(crate) fn reset_stats(&self) {
        self.saves.store(0, Relaxed);
    }

    /// Starts counting changes from now (after loading a file at startup).
    pub(crate) fn mark_clean(&self, cache: &Cache) {
        self.changes_at_save.store(cache.change_count(), Relaxed);
    }
}

/// Where the dump lives: `dir/dbfilename`.
pub(crate) fn rdb_path(c: &Config) -> PathBuf {
    c.dir.join(&c.dbfilename)
}

fn save_options(c: &Config) -> SaveOptions {
    SaveOptions {
        compression: c.rdbcompression,
        checksum: c.rdbchecksum,
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Bytes written between two `fdatasync`s of a snapshot or AOF base file with
/// `rdb-save-incremental-fsync` / `aof-rewrite-incremental-fsync yes`, as Redis's
/// `REDIS_AUTOSYNC_BYTES` (4 MB): the dirty pages reach the disk as the file is written
/// instead of in one burst at its final fsync.
pub(crate) const AUTOSYNC_BYTES: u64 = 4 << 20;

/// A file that syncs its data every `every` bytes written (0: never), and fails its writes
/// once its save is cancelled. Used by snapshots and by AOF rewrites.
#[derive(Debug)]
pub(crate) struct AutoSync {
    pub(crate) file: File,
    pub(crate) every: u64,
    pub(crate) unsynced: u64,
    /// Syncs done so far.
    pub(crate) syncs: u64,
    cancel: Option<Cancel>,
}

impl AutoSync {
    /// Syncs every [`AUTOSYNC_BYTES`] when `incremental`, else never.
    pub(crate) fn new(file: File, incremental: bool) -> AutoSync {
        Self::every(file, if incremental { AUTOSYNC_BYTES } else { 0 })
    }

    /// Syncs every `every` bytes (0: never).
    pub(crate) fn every(file: File, every: u64) -> AutoSync {
        AutoSync {
            file,
            every,
            unsynced: 0,
            syncs: 0,
            cancel: None,
        }
    }

    pub(crate) fn into_file(self) -> File {
        self.file
    }
}

/// A save's cancellation: it stops when the counter holds its number.
#[derive(Clone, Debug)]
pub(crate) struct Cancel {
    flag: Arc<AtomicU64>,
    seq: u64,
}

impl Cancel {
    fn cancelled(&self) -> bool {
        self.flag.load(Relaxed) == self.seq
    }
}

impl Write for AutoSync {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.as_ref().is_some_and(Cancel::cancelled) {
            // Not `Interrupted`: a `BufWriter` would retry that forever.
            return Err(io::Error::other("save cancelled"));
        }
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.every > 0 && self.unsynced >= self.every {
            self.file.sync_data()?;
            self.unsynced = 0;
            self.syncs += 1;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes `snap` to `path` crash-safely: a temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory. The temporary file is removed on failure.
/// `incremental`: also sync every [`AUTOSYNC_BYTES`] on the way (`rdb-save-incremental-fsync`).
pub(crate) fn write_snapshot_file(
    path: &Path,
    snap: RdbSnapshot,
    aux: &[(&str, &[u8])],
    incremental: bool,
) -> io::Result<SaveStats> {
    write_snapshot_cancellable(path, snap, aux, incremental, None)
}

/// [`write_snapshot_file`] that stops (removing its temporary file) once `cancel` says so.
fn write_snapshot_cancellable(
    path: &Path,
    snap: RdbSnapshot,
    aux: &[(&str, &[u8])],
    incremental: bool,
    cancel: Option<Cancel>,
) -> io::Result<SaveStats> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        "temp-{}-{}.rdb",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Relaxed)
    ));
    let result = (|| {
        let file = AutoSync {
            cancel,
            ..AutoSync::new(File::create(&tmp)?, incremental)
        };
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let stats = snap.write_with_aux(&mut w, aux)?;
        w.flush()?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?.file;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is.
        File::open(&dir)?.sync_all()?;
        Ok(stats)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Gives the calling background thread (a BGSAVE, an AOF rewrite) a nice value of 10, so the
/// loop threads win the CPU when the machine is busy: the save takes longer there, client
/// latency does not. On Linux `setpriority(PRIO_PROCESS, 0)` applies to the calling thread.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, 10) {
        log_verbose!("Cannot lower the priority of a background thread: {e}");
    }
}

/// Outcome of a save request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    Started,
    /// Another snapshot (a BGSAVE, or an AOF rewrite) is being written.
    Busy,
}

/// SAVE: a snapshot written by the calling thread (other loops keep serving).
pub(crate) fn save(shared: &Shared) -> io::Result<SaveStats> {
    save_counted(shared, true)
}

/// A save made on the way of another command (FLUSHALL, DEBUG RELOAD): as SAVE, except
/// that Redis does not count it in `rdb_saves`.
fn save_counted(shared: &Shared, counted: bool) -> io::Result<SaveStats> {
    let Some((path, changes, snap)) = take_cut(shared) else {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "Background save already in progress",
        ));
    };
    let incremental = shared.config.read().rdb_save_incremental_fsync;
    let r = write_snapshot_file(&path, snap, &[], incremental);
    finish(&shared.persist, &path, changes, &r, false, counted);
    r
}

/// Takes the cut of a save: the dump's path, the change count at the cut and the snapshot, or
/// `None` while another snapshot is being written.
fn take_cut(shared: &Shared) -> Option<(PathBuf, u64, RdbSnapshot)> {
    let cache = &shared.dbs[0];
    let (path, opts) = {
        let c = shared.config.read();
        (rdb_path(&c), save_options(&c))
    };
    let changes = cache.change_count();
    let snap = cache.begin_snapshot(opts)?;
    shared.persist.last_try.store(unix_secs(), Relaxed);
    Some((path, changes, snap))
}

fn finish(
    p: &Persist,
    path: &Path,
    changes: u64,
    r: &io::Result<SaveStats>,
    background: bool,
    counted: bool,
) {
    match r {
        Ok(stats) => {
            p.lastsave.store(unix_secs(), Relaxed);
            p.changes_at_save.store(changes, Relaxed);
            if counted {
                p.saves.fetch_add(1, Relaxed);
            }
            p.last_cow.store(stats.cow_bytes, Relaxed);
            if background {
                p.last_bgsave_ok.store(true, Relaxed);
                p.misconf.store(false, Relaxed);
            }
            log_notice!(
                "DB saved on disk ({} keys, {} bytes, {})",
                stats.keys,
                stats.bytes,
                path.display()
            );
        }
        Err(e) => {
            if background {
                p.last_bgsave_ok.store(false, Relaxed);
            }
            log_warning!("Failed saving the DB to {}: {e}", path.display());
        }
    }
}

/// BGSAVE: takes the cut now and writes it on a background thread.
pub(crate) fn bgsave(shared: &Shared) -> Start {
    let p = &shared.persist;
    if p.bgsave_running.swap(true, Relaxed) {
        return Start::Busy;
    }
    let Some((path, changes, snap)) = take_cut(shared) else {
        p.bgsave_running.store(false, Relaxed);
        return Start::Busy;
    };
    *p.bgsave_started.lock() = Some(Instant::now());
    // The previous thread (if any) has finished: join it before replacing its handle.
    if let Some(t) = p.bgsave_thread.lock().take() {
        let _ = t.join();
    }
    log_notice!("Background saving started");
    let incremental = shared.config.read().rdb_save_incremental_fsync;
    let pst = std::sync::Arc::clone(&shared.persist);
    let cancel = Cancel {
        flag: Arc::clone(&p.bgsave_cancel),
        seq: p.bgsave_seq.fetch_add(1, Relaxed) + 1,
    };
    let spawned = std::thread::Builder::new()
        .name("sabaody-bgsave".into())
        .spawn(move || {
            lower_priority();
            let started = Instant::now();
            let r = write_snapshot_cancellable(&path, snap, &[], incremental, Some(cancel.clone()));
            let p = &*pst;
            p.last_bgsave_secs
                .store(started.elapsed().as_secs() as i64, Relaxed);
            if r.is_err() && cancel.cancelled() {
                // As Redis's BGSAVE child killed by FLUSHALL: not a failed save.
                log_warning!("Background saving cancelled by FLUSHALL");
            } else {
                finish(p, &path, changes, &r, true, true);
            }
            if r.is_ok() {
                log_notice!("Background saving terminated with success");
            }
            *p.bgsave_started.lock() = None;
            p.bgsave_running.store(false, Relaxed);
        });
    match spawned {
        Ok(t) => {
            *p.bgsave_thread.lock() = Some(t);
            Start::Started
        }
        Err(e) => {
            log_warning!("Can't save in background: {e}");
            p.last_bgsave_ok.store(false, Relaxed);
            *p.bgsave_started.lock() = None;
            p.bgsave_running.store(false, Relaxed);
            Start::Started
        }
    }
}

/// Periodic check (from the loops' cron): a scheduled BGSAVE whose blocker finished, or a save
/// point reached (`save <seconds> <changes>`), starts a BGSAVE.
pub(crate) fn cron(shared: &Shared) {
    cron_at(shared, unix_secs());
}

/// [`cron`] at `now` (Unix seconds). The changes are counted as Redis counts its
/// `server.dirty` ([`sabaody_core::Cache::change_count`]): per element for most commands.
fn cron_at(shared: &Shared, now: u64) {
    let p = &shared.persist;
    let refuse = !p.last_bgsave_ok.load(Relaxed) && {
        let c = shared.config.read();
        c.stop_writes_on_bgsave_error && !c.save.is_empty()
    };
    if p.misconf.load(Relaxed) != refuse {
        p.misconf.store(refuse, Relaxed);
    }
    if p.bgsave_in_progress() || shared.dbs[0].snapshot_in_progress() {
        return;
    }
    if start_scheduled_bgsave(shared) {
        return;
    }
    let changes = changes_since_save(shared);
    if changes == 0 {
        return;
    }
    let elapsed = now.saturating_sub(p.lastsave.load(Relaxed));
    let failed_recently = !p.last_bgsave_ok.load(Relaxed)
        && now.saturating_sub(p.last_try.load(Relaxed)) < RETRY_DELAY_SECS;
    let due = {
        let c = shared.config.read();
        c.save
            .iter()
            .find(|&&(secs, n)| changes >= n && elapsed >= secs)
            .copied()
    };
    if let Some((secs, n)) = due
        && !failed_recently
    {
        log_notice!("{n} changes in {secs} seconds. Saving...");
        bgsave(shared);
    }
}

/// Starts a scheduled BGSAVE (BGSAVE inside EXEC or BGSAVE SCHEDULE, FLUSHALL inside MULTI)
/// unless another snapshot is being written, in which case it stays scheduled. Returns
/// whether one was scheduled.
fn start_scheduled_bgsave(shared: &Shared) -> bool {
    let p = &shared.persist;
    if !p.bgsave_scheduled.swap(false, Relaxed) {
        return false;
    }
    if p.bgsave_in_progress()
        || shared.dbs[0].snapshot_in_progress()
        || bgsave(shared) == Start::Busy
    {
        p.bgsave_scheduled.store(true, Relaxed);
    }
    true
}

/// Right after EXEC: starts the snapshots its commands scheduled instead of taking their cut
/// inside the transaction (which its later writes would not reach): the AOF's (its pending
/// start, or BGREWRITEAOF) first, then a BGSAVE, as Redis's cron orders them; while one is
/// being written the other stays scheduled for the cron. `exclusive`: the EXEC holds the
/// exclusive side of the AOF order lock (it queued an admin command), which an AOF rewrite
/// needs; without it only a BGSAVE (scheduled by FLUSHALL) is started.
pub(crate) fn after_exec(shared: &Shared, exclusive: bool) {
    if exclusive {
        shared.aof.start_scheduled(shared);
    }
    start_scheduled_bgsave(shared);
}

pub(crate) fn changes_since_save(shared: &Shared) -> u64 {
    shared.dbs[0]
        .change_count()
        .saturating_sub(shared.persist.changes_at_save.load(Relaxed))
}

/// Deletes `temp-<pid>-<n>.rdb` files in `dir` left by a save that was killed: only those whose
/// process no longer exists (on Linux, no `/proc/<pid>`), so a live server sharing the directory
/// keeps its file. Elsewhere nothing is deleted.
pub(crate) fn remove_stale_temp_files(c: &Config) {
    let Ok(entries) = std::fs::read_dir(&c.dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("temp-")?.strip_suffix(".rdb"))
            .and_then(|rest| rest.split_once('-'))
            .filter(|(_, seq)| seq.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = cfg!(target_os = "linux")
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists();
        if gone {
            match std::fs::remove_file(e.path()) {
                Ok(()) => log_notice!("Removed {} left by an interrupted save", e.path().display()),
                Err(err) => log_warning!("Cannot remove {}: {err}", e.path().display()),
            }
        }
    }
}

/// Stops a running BGSAVE (its cut predates a FLUSHALL: Redis kills its child): its writer
/// fails at its next write and removes its temporary file, the dump stays as it was and the
/// last save status is not changed. `wait`: join the thread (not while the caller holds
/// shard locks the writer may be waiting for).
fn cancel_bgsave(shared: &Shared, wait: bool) {
    let p = &shared.persist;
    if !p.bgsave_in_progress() {
        return;
    }
    p.bgsave_cancel.store(p.bgsave_seq.load(Relaxed), Relaxed);
    if wait {
        let thread = p.bgsave_thread.lock().take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// After FLUSHALL, as Redis 7.0: a running BGSAVE is cancelled, and with save points
/// configured the now-empty data set is saved at once (not counted in `rdb_saves`), so a
/// restart cannot bring the flushed keys back from the previous dump. Inside MULTI/EXEC (the
/// transaction holds every shard lock a snapshot needs), or while an AOF rewrite holds the
/// snapshot, a BGSAVE is scheduled instead (started right after the EXEC, see
/// [`after_exec`], or once the rewrite is done).
pub(crate) fn after_flushall(shared: &Shared, in_transaction: bool) {
    cancel_bgsave(shared, !in_transaction);
    if shared.config.read().save.is_empty() {
        return;
    }
    if in_transaction {
        shared.persist.bgsave_scheduled.store(true, Relaxed);
        return;
    }
    match save_counted(shared, false) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            shared.persist.bgsave_scheduled.store(true, Relaxed);
        }
        Err(e) => log_warning!("Saving after FLUSHALL failed: {e}"),
    }
}

/// Why DEBUG RELOAD failed.
#[derive(Debug)]
pub(crate) enum ReloadError {
    /// The save before the reload (the reply is a bare `ERR`, as Redis's).
    Save,
    /// Reading or loading the dump.
    Load,
}

/// DEBUG RELOAD: saves the dump (unless `save` is false; a running BGSAVE is waited for
/// first), empties every database (unless `flush` is false), and loads the dump back,
/// replacing keys that exist (Redis's `MERGE`; without it Redis stops the server on a key
/// that exists). As in Redis, neither the flush nor the load count as changes
/// (`rdb_changes_since_last_save` is 0 after the save, or what it was with NOSAVE), and the
/// save is not counted in `rdb_saves`. Unlike Redis, the other connections are served
/// meanwhile: a write between the flush and the load may be replaced by the file's key.
pub(crate) fn debug_reload(shared: &Shared, save: bool, flush: bool) -> Result<(), ReloadError> {
    use sabaody_core::Keyspace;
    let p = &shared.persist;
    let cache = &shared.dbs[0];
    let dirty = if save {
        let running = p.bgsave_thread.lock().take();
        if let Some(t) = running {
            let _ = t.join();
        }
        save_counted(shared, false).map_err(|e| {
            log_warning!("DEBUG RELOAD could not save: {e}");
            ReloadError::Save
        })?;
        0
    } else {
        changes_since_save(shared)
    };
    if flush {
        cache.flush_all();
    }
    let (path, opts) = {
        let c = shared.config.read();
        let opts = sabaody_core::rdb::LoadOptions {
            verify_checksum: c.rdbchecksum,
        };
        (rdb_path(&c), opts)
    };
    let loaded = std::fs::read(&path)
        .map_err(|e| format!("Cannot open {}: {e}", path.display()))
        .and_then(|bytes| {
            cache
                .load_rdb_bytes(&bytes, &opts)
                .map_err(|e| format!("{e} ({})", path.display()))
        });
    p.changes_at_save
        .store(cache.change_count().saturating_sub(dirty), Relaxed);
    match loaded {
        Ok(stats) => {
            p.note_load(&stats);
            log_warning!("DB reloaded by DEBUG RELOAD");
            Ok(())
        }
        Err(e) => {
            log_warning!("DEBUG RELOAD could not load the dump: {e}");
            Err(ReloadError::Load)
        }
    }
}

/// Loads `dir/dbfilename` at startup, if it exists.
///
/// # Errors
/// The file exists but cannot be read or is not a valid RDB: the message names the file.
pub(crate) fn load_at_startup(cache: &Cache, c: &Config, p: &Persist) -> Result<(), String> {
    let path = rdb_path(c);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Cannot open {}: {e}", path.display())),
    };
    let started = Instant::now();
    let opts = sabaody_core::rdb::LoadOptions {
        verify_checksum: c.rdbchecksum,
    };
    let stats = cache
        .load_rdb_bytes(&bytes, &opts)
        .map_err(|e| format!("{} ({})", e, path.display()))?;
    p.note_load(&stats);
    log_notice!(
        "DB loaded from disk: {:.3} seconds ({} keys)",
        started.elapsed().as_secs_f64(),
        stats.keys
    );
    Ok(())
}

/// The final save of a graceful shutdown (after every loop has stopped, so every acknowledged
/// write is in it): with save points configured, or SHUTDOWN SAVE; never with SHUTDOWN NOSAVE.
/// A running BGSAVE is waited for first.
pub(crate) fn at_shutdown(shared: &Shared) -> io::Result<()> {
    let p = &shared.persist;
    if let Some(t) = p.bgsave_thread.lock().take() {
        let _ = t.join();
    }
    let wanted = match *p.shutdown_save.lock() {
        Some(force) => force,
        None => !shared.config.read().save.is_empty(),
    };
    if !wanted {
        return Ok(());
    }
    log_notice!("Saving the final RDB snapshot before exiting.");
    save(shared).map(|_| ())
}

/// The `rdb_*` lines of `INFO persistence`.
pub(crate) fn info_lines(shared: &Shared, out: &mut String) {
    use std::fmt::Write as _;
    let p = &shared.persist;
    let current = p
        .bgsave_started
        .lock()
        .map_or(-1, |t| t.elapsed().as_secs() as i64);
    let _ = write!(
        out,
        "rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        changes_since_save(shared),
        u8::from(p.bgsave_in_progress()),
        p.lastsave.load(Relaxed),
        if p.last_bgsave_ok.load(Relaxed) {
            "ok"
        } else {
            "err"
        },
        p.last_bgsave_secs.load(Relaxed),
        current,
        p.saves.load(Relaxed),
        p.last_cow.load(Relaxed),
        p.last_load_expired.load(Relaxed),
        p.last_load_keys.load(Relaxed),
    );
}

#[cfg(test)]
mod tests {
    use super::{AutoSync, Cancel, cron_at, write_snapshot_cancellable};
    use sabaody_core::rdb::SaveOptions;
    use sabaody_core::{Cache, Keyspace};
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[test]
    fn a_cancelled_save_leaves_the_dump_and_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("sabaody-cancel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dump.rdb");
        std::fs::write(&path, b"previous dump").unwrap();
        let cache = Cache::builder().housekeeping(false).build();
        cache.set("k", "v").unwrap();
        let flag = Arc::new(AtomicU64::new(0));
        let cancel = |seq| Cancel {
            flag: Arc::clone(&flag),
            seq,
        };
        // Save number 2 is cancelled; number 3 is not (an old cancellation stays behind).
        flag.store(2, Relaxed);
        let snap = cache.begin_snapshot(SaveOptions::default()).unwrap();
        let r = write_snapshot_cancellable(&path, snap, &[], false, Some(cancel(2)));
        assert_eq!(r.unwrap_err().to_string(), "save cancelled");
        assert_eq!(std::fs::read(&path).unwrap(), b"previous dump");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // The snapshot was abandoned: another one can start, and is written.
        let snap = cache.begin_snapshot(SaveOptions::default()).unwrap();
        let st = write_snapshot_cancellable(&path, snap, &[], false, Some(cancel(3))).unwrap();
        assert_eq!(st.keys, 1);
        assert_eq!(&std::fs::read(&path).unwrap()[..5], b"REDIS");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn auto_sync_syncs_every_n_bytes_and_keeps_the_data() {
        let dir = std::env::temp_dir().join(format!("sabaody-autosync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mut w = AutoSync::every(std::fs::File::create(&path).unwrap(), 10);
        let mut synced_after = Vec::new();
        for i in 0u8..25 {
            w.write_all(&[i; 3]).unwrap();
            if w.unsynced == 0 {
                synced_after.push(i);
            }
        }
        // 3 bytes at a time: the count passes 10 after every 4th write.
        assert_eq!(synced_after, vec![3, 7, 11, 15, 19, 23]);
        drop(w);
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len(), 75);
        assert!(data.chunks(3).enumerate().all(|(i, c)| c == [i as u8; 3]));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `save 1 5`: a BGSAVE starts once five changes are counted as Redis counts them (per
    /// element: four members added to one set are four changes, a member already there is
    /// none) and a second has passed; the cron is driven with explicit times.
    #[test]
    fn a_save_point_counts_element_changes_not_keys() {
        use crate::config::Config;
        use crate::server::Shared;
        use sabaody_core::SetOps;
        let dir = std::env::temp_dir().join(format!("sabaody-savepoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = Config::default();
        c.set("dir", &[dir.to_str().unwrap()]).unwrap();
        c.set("save", &["1 5"]).unwrap();
        c.set("loglevel", &["warning"]).unwrap();
        let shared = Shared::new(c, Vec::new(), 0);
        let p = &shared.persist;
        let t0 = p.lastsave.load(Relaxed);
        // Runs the cron at `now`; true if it started a save (waited for, so it is counted).
        let cron = |now: u64| {
            let before = p.saves.load(Relaxed);
            cron_at(&shared, now);
            if let Some(t) = p.bgsave_thread.lock().take() {
                t.join().unwrap();
            }
            p.saves.load(Relaxed) != before
        };
        let db = &shared.dbs[0];
        assert_eq!(db.sadd("s", &["a", "b", "c", "d"]), Ok(4));
        assert_eq!(super::changes_since_save(&shared), 4);
        assert!(!cron(t0 + 1), "4 changes < 5");
        assert_eq!(db.sadd("s", &["a"]), Ok(0));
        assert!(!cron(t0 + 1), "re-adding a member changes nothing");
        assert_eq!(db.sadd("s", &["e"]), Ok(1));
        assert!(!cron(t0), "5 changes, but not a second yet");
        assert!(
            cron(t0 + 1),
            "5 changes after a second: the save point is reached"
        );
        assert_eq!(super::changes_since_save(&shared), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
