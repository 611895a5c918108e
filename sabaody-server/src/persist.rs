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
    /// A BGSAVE SCHEDULE waiting for the running snapshot (an AOF rewrite) to finish.
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
    /// Writes are refused (`MISCONF`): the last background save failed, save points are
    /// configured and `stop-writes-on-bgsave-error` is on. Kept by `cron` and `finish`.
    misconf: AtomicBool,
    /// SHUTDOWN SAVE (`Some(true)`) / NOSAVE (`Some(false)`) for the final save.
    pub shutdown_save: Mutex<Option<bool>>,
}

impl Persist {
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

/// Bytes written between two `fdatasync`s of a snapshot file with `rdb-save-incremental-fsync
/// yes`, as Redis (4 MB): the dirty pages reach the disk as the save goes instead of in one
/// burst at its final fsync.
const AUTOSYNC_BYTES: u64 = 4 << 20;

/// A file that syncs its data every `every` bytes written (0: never).
struct AutoSync {
    file: File,
    every: u64,
    unsynced: u64,
}

impl Write for AutoSync {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.every > 0 && self.unsynced >= self.every {
            self.file.sync_data()?;
            self.unsynced = 0;
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
            file: File::create(&tmp)?,
            every: if incremental { AUTOSYNC_BYTES } else { 0 },
            unsynced: 0,
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
    let Some((path, changes, snap)) = take_cut(shared) else {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "Background save already in progress",
        ));
    };
    let incremental = shared.config.read().rdb_save_incremental_fsync;
    let r = write_snapshot_file(&path, snap, &[], incremental);
    finish(&shared.persist, &path, changes, &r, false);
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

fn finish(p: &Persist, path: &Path, changes: u64, r: &io::Result<SaveStats>, background: bool) {
    match r {
        Ok(stats) => {
            p.lastsave.store(unix_secs(), Relaxed);
            p.changes_at_save.store(changes, Relaxed);
            p.saves.fetch_add(1, Relaxed);
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
    let spawned = std::thread::Builder::new()
        .name("sabaody-bgsave".into())
        .spawn(move || {
            lower_priority();
            let started = Instant::now();
            let r = write_snapshot_file(&path, snap, &[], incremental);
            let p = &*pst;
            p.last_bgsave_secs
                .store(started.elapsed().as_secs() as i64, Relaxed);
            finish(p, &path, changes, &r, true);
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
    if p.bgsave_scheduled.swap(false, Relaxed) {
        if bgsave(shared) == Start::Busy {
            p.bgsave_scheduled.store(true, Relaxed);
        }
        return;
    }
    let now = unix_secs();
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

/// FLUSHALL with save points configured saves the now-empty data set at once, as Redis does, so a
/// restart cannot bring the flushed keys back from the previous dump. While another snapshot is
/// being written (its cut may predate the flush) a BGSAVE is scheduled to follow it.
pub(crate) fn after_flushall(shared: &Shared) {
    if shared.config.read().save.is_empty() {
        return;
    }
    match save(shared) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            shared.persist.bgsave_scheduled.store(true, Relaxed);
        }
        Err(e) => log_warning!("Saving after FLUSHALL failed: {e}"),
    }
}

/// Loads `dir/dbfilename` at startup, if it exists.
///
/// # Errors
/// The file exists but cannot be read or is not a valid RDB: the message names the file.
pub(crate) fn load_at_startup(cache: &Cache, c: &Config) -> Result<(), String> {
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
        "rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\n",
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
    );
}

#[cfg(test)]
mod tests {
    use super::AutoSync;
    use std::io::Write;

    #[test]
    fn auto_sync_syncs_every_n_bytes_and_keeps_the_data() {
        let dir = std::env::temp_dir().join(format!("sabaody-autosync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mut w = AutoSync {
            file: std::fs::File::create(&path).unwrap(),
            every: 10,
            unsynced: 0,
        };
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
}
