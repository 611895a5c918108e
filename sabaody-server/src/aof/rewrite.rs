//! AOF rewrite (BGREWRITEAOF, automatic rewrite, `CONFIG SET appendonly yes`), and turning the
//! AOF on and off at run time. See the module docs of `aof` for the sequence.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use sabaody_core::rdb::SaveOptions;
use sabaody_core::{CommandSnapshot, RdbSnapshot};
use sabaody_resp::write;

use super::manifest::{Entry, Kind, Manifest, sync_dir};
use super::{Aof, Disk, file_name, open_append};
use crate::cmd::{Args, CmdError, Ctx};
#[cfg(test)]
use crate::persist::AUTOSYNC_BYTES;
use crate::persist::AutoSync;
use crate::server::Shared;

/// What the background half of a rewrite needs.
#[derive(Debug)]
struct Plan {
    dir: PathBuf,
    filename: String,
    base_seq: u64,
    /// Incremental files from this sequence number on are kept (written after the cut).
    first_kept_incr: u64,
    /// Files of an earlier log to delete once the new manifest is in place (turning the AOF
    /// on at run time: the manifest on disk is still the old one until then).
    obsolete: Vec<String>,
    /// `aof-rewrite-incremental-fsync`: fdatasync the new base every 4 MB written.
    incremental_fsync: bool,
}

/// The cut a rewrite writes as its base: RDB (`aof-use-rdb-preamble yes`, the file is
/// `<name>.<seq>.base.rdb`) or commands (`no`, `<name>.<seq>.base.aof`), as Redis 7.0.
#[derive(Debug)]
enum BaseSnapshot {
    Rdb(RdbSnapshot),
    Commands(CommandSnapshot),
}

impl BaseSnapshot {
    fn is_rdb(&self) -> bool {
        matches!(self, BaseSnapshot::Rdb(_))
    }

    /// Writes the base; gives the copy-on-write bytes writers preserved meanwhile.
    fn write_to(self, w: &mut impl io::Write) -> io::Result<u64> {
        match self {
            BaseSnapshot::Rdb(s) => s
                .write_with_aux(w, &[("aof-base", b"1")])
                .map(|st| st.cow_bytes),
            BaseSnapshot::Commands(s) => s.write_to(w).map(|st| st.cow_bytes),
        }
    }
}

/// How a rewrite request went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Started {
    Now,
    /// A snapshot (BGSAVE) is being written: the rewrite starts when it is done.
    Scheduled,
}

impl Aof {
    /// Starts a rewrite. The caller holds the exclusive order lock, so the snapshot and the
    /// switch to a new incremental file happen between two writes.
    pub(crate) fn rewrite_locked(&self, shared: &Shared) -> Result<Started, String> {
        self.rewrite_with(shared, Vec::new())
    }

    fn rewrite_with(&self, shared: &Shared, obsolete: Vec<String>) -> Result<Started, String> {
        let inner = &*self.inner;
        if inner.rewriting.load(Ordering::Acquire) {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        let (opts, preamble, incremental_fsync, dir, filename) = {
            let c = shared.config.read();
            (
                SaveOptions {
                    compression: c.rdbcompression,
                    checksum: c.rdbchecksum,
                },
                c.aof_use_rdb_preamble,
                c.aof_rewrite_incremental_fsync,
                c.dir.join(&c.appenddirname),
                c.appendfilename.clone(),
            )
        };
        let cache = &shared.dbs[0];
        let snap = if preamble {
            cache.begin_snapshot(opts).map(BaseSnapshot::Rdb)
        } else {
            cache.begin_command_snapshot().map(BaseSnapshot::Commands)
        };
        let mut obsolete = obsolete;
        obsolete.append(&mut inner.rewrite.lock().obsolete);
        let Some(snap) = snap else {
            let mut rw = inner.rewrite.lock();
            rw.scheduled = true;
            rw.obsolete = obsolete;
            return Ok(Started::Scheduled);
        };
        let plan = {
            let mut d = inner.disk.lock();
            let keep = obsolete.clone();
            let give_back = |e: String| {
                // Still to delete by a later rewrite.
                inner.rewrite.lock().obsolete = keep;
                e
            };
            match d.as_mut() {
                Some(disk) => {
                    let first_kept_incr = self.switch_incr(disk).map_err(|e| {
                        give_back(format!(
                            "ERR Can't open a new append-only file for the rewrite: {e}"
                        ))
                    })?;
                    Plan {
                        dir: disk.dir.clone(),
                        filename: disk.filename.clone(),
                        base_seq: disk
                            .manifest
                            .base
                            .as_ref()
                            .map_or(1, |b| b.seq + 1)
                            .max(disk.base_seq_floor),
                        first_kept_incr,
                        obsolete,
                        incremental_fsync,
                    }
                }
                None => {
                    // The AOF is off: the rewrite writes a base and a manifest naming only it.
                    fs::create_dir_all(&dir).map_err(|e| {
                        give_back(format!(
                            "ERR Can't create the AOF directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                    let old = read_manifest(&dir, &filename);
                    Plan {
                        base_seq: old.base.as_ref().map_or(1, |b| b.seq + 1),
                        first_kept_incr: u64::MAX,
                        obsolete: names(&old),
                        incremental_fsync,
                        dir,
                        filename,
                    }
                }
            }
        };
        inner.rewriting.store(true, Ordering::Release);
        {
            let mut rw = inner.rewrite.lock();
            rw.started = Some(Instant::now());
            rw.scheduled = false;
        }
        log_notice!("Background append only file rewriting started");
        let aof = self.clone();
        let spawned = std::thread::Builder::new()
            .name("sabaody-aof-rewrite".into())
            .spawn(move || aof.finish_rewrite(snap, plan));
        if let Err(e) = spawned {
            inner.rewriting.store(false, Ordering::Release);
            inner.rewrite.lock().failed();
            return Err(format!("ERR Can't start the rewrite thread: {e}"));
        }
        Ok(Started::Now)
    }

    /// Writes out and fsyncs the current incremental file, then opens the next one and lists
    /// it in the manifest on disk. Returns its sequence number.
    fn switch_incr(&self, disk: &mut Disk) -> io::Result<u64> {
        let inner = &*self.inner;
        inner.write_out(disk)?;
        disk.file.sync_data()?;
        let w = inner.written.load(Ordering::Acquire);
        inner.synced.fetch_max(w, Ordering::AcqRel);
        let seq = disk.manifest.incr.last().map_or(1, |e| e.seq + 1);
        let entry = Entry {
            name: file_name(&disk.filename, seq, Kind::Incr, false),
            seq,
            kind: Kind::Incr,
        };
        let file = open_append(&disk.dir.join(&entry.name))?;
        let listed = disk.manifest.base.is_some();
        disk.manifest.incr.push(entry);
        // While the AOF is being turned on there is no base yet: the manifest is written when
        // the rewrite has made one.
        if listed && let Err(e) = disk.manifest.persist(&disk.manifest_path()) {
            disk.manifest.incr.pop();
            let _ =
                fs::remove_file(
                    disk.dir
                        .join(file_name(&disk.filename, seq, Kind::Incr, false)),
                );
            return Err(e);
        }
        disk.other_size += disk.incr_size;
        disk.incr_size = 0;
        disk.sync_fd = file.try_clone().ok().map(Arc::new);
        disk.file = file;
        // Each file is replayed by a fresh client in database 0.
        inner.buf.lock().db = None;
        Ok(seq)
    }

    /// The background half: writes the base, fsyncs it, installs the new manifest, deletes
    /// the files it replaces.
    fn finish_rewrite(&self, snap: BaseSnapshot, plan: Plan) {
        let inner = &*self.inner;
        let started = inner.rewrite.lock().started.unwrap_or_else(Instant::now);
        let result = self.install_base(snap, &plan);
        let mut rw = inner.rewrite.lock();
        rw.last_secs = started.elapsed().as_secs() as i64;
        match result {
            Ok(false) => {
                log_notice!(
                    "Background AOF rewrite discarded: the AOF was turned on while it ran (a new rewrite is scheduled)"
                );
            }
            Ok(true) => {
                rw.last_ok = true;
                rw.failures = 0;
                rw.count += 1;
                rw.base_for_growth = inner.disk.lock().as_ref().map_or(0, |d| d.current_size());
                log_notice!("Background AOF rewrite finished successfully");
            }
            Err(e) => {
                rw.failed();
                log_warning!("Background AOF rewrite failed: {e}");
            }
        }
        drop(rw);
        inner.rewriting.store(false, Ordering::Release);
    }

    /// Returns whether the base was installed (`false`: discarded, see below).
    fn install_base(&self, snap: BaseSnapshot, plan: &Plan) -> io::Result<bool> {
        let tmp = plan
            .dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let rdb = snap.is_rdb();
        let written = (|| {
            let file = AutoSync::new(File::create(&tmp)?, plan.incremental_fsync);
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let cow = snap.write_to(&mut w)?;
            let f = w.into_inner().map_err(|e| e.into_error())?.into_file();
            f.sync_all()?;
            f.metadata().map(|m| (m.len(), cow))
        })();
        let size = match written {
            Ok((n, cow)) => {
                // INFO's `aof_last_cow_size`.
                self.inner.rewrite.lock().last_cow = cow;
                n
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let base = Entry {
            name: file_name(&plan.filename, plan.base_seq, Kind::Base, rdb),
            seq: plan.base_seq,
            kind: Kind::Base,
        };
        fs::rename(&tmp, plan.dir.join(&base.name))?;
        sync_dir(&plan.dir)?;
        let inner = &*self.inner;
        let mut d = inner.disk.lock();
        let (old, new) = match d.as_mut() {
            Some(_) if plan.first_kept_incr == u64::MAX => {
                // Started with the AOF off, which was turned on meanwhile: this base does not
                // lead into the new log. Redis kills such a rewrite; the rewrite scheduled
                // when the AOF was turned on writes the right one.
                drop(d);
                let _ = fs::remove_file(plan.dir.join(&base.name));
                return Ok(false);
            }
            Some(disk) => {
                let old = disk.manifest.clone();
                let mut new = Manifest {
                    base: Some(base.clone()),
                    incr: old
                        .incr
                        .iter()
                        .filter(|e| e.seq >= plan.first_kept_incr)
                        .cloned()
                        .collect(),
                    history: Vec::new(),
                };
                new.persist(&disk.manifest_path())?;
                let sizes: u64 = new.incr[..new.incr.len().saturating_sub(1)]
                    .iter()
                    .map(|e| fs::metadata(plan.dir.join(&e.name)).map_or(0, |m| m.len()))
                    .sum();
                disk.base_size = size;
                disk.other_size = size + sizes;
                std::mem::swap(&mut disk.manifest, &mut new);
                (old, disk.manifest.clone())
            }
            None if plan.first_kept_incr == u64::MAX => {
                // A rewrite with the AOF off: a manifest with the base only.
                let new = Manifest {
                    base: Some(base.clone()),
                    ..Manifest::default()
                };
                new.persist(&plan.dir.join(format!("{}.manifest", plan.filename)))?;
                (Manifest::default(), new)
            }
            None => {
                // The AOF was turned off meanwhile.
                let _ = fs::remove_file(plan.dir.join(&base.name));
                return Ok(true);
            }
        };
        drop(d);
        let keep: Vec<&str> = new
            .base
            .iter()
            .chain(&new.incr)
            .map(|e| e.name.as_str())
            .collect();
        let gone = names(&old).into_iter().chain(plan.obsolete.iter().cloned());
        for name in gone {
            if !keep.contains(&name.as_str()) {
                let _ = fs::remove_file(plan.dir.join(&name));
            }
        }
        Ok(true)
    }

    /// Periodic work (loop 0, no lock held): the pending start of the log (retried every tick
    /// while it fails, as Redis retries its scheduled rewrite), a scheduled rewrite, or an
    /// automatic one when the log grew by `auto-aof-rewrite-percentage` since the last rewrite
    /// and is past `auto-aof-rewrite-min-size`.
    pub(crate) fn cron(&self, shared: &Shared) {
        let inner = &*self.inner;
        if inner.start_pending.load(Ordering::Acquire) {
            let _order = self.enter_exclusive();
            self.start_scheduled(shared);
            return;
        }
        if inner.rewriting.load(Ordering::Acquire) {
            return;
        }
        let scheduled = inner.rewrite.lock().scheduled;
        let due = scheduled || {
            if !self.on() {
                return;
            }
            let (pct, min) = {
                let c = shared.config.read();
                (c.auto_aof_rewrite_percentage, c.auto_aof_rewrite_min_size)
            };
            let cur = inner.disk.lock().as_ref().map_or(0, |d| d.current_size());
            let base = inner.rewrite.lock().base_for_growth.max(1);
            pct > 0 && cur > min && cur.saturating_sub(base).saturating_mul(100) / base >= pct
        };
        if !due || shared.dbs[0].snapshot_in_progress() {
            return;
        }
        let _order = self.enter_exclusive();
        if let Err(e) = self.rewrite_locked(shared) {
            log_warning!("Can't start the AOF rewrite: {e}");
        }
    }

    /// BGREWRITEAOF inside EXEC (Redis's `server.in_exec`): the rewrite is scheduled, and
    /// starts right after the EXEC ([`Aof::start_scheduled`]), so its cut follows every write
    /// of the transaction. Refused while a rewrite runs, as outside EXEC.
    pub(crate) fn schedule_rewrite(&self) -> Result<(), String> {
        if self.inner.rewriting.load(Ordering::Acquire) {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        self.inner.rewrite.lock().scheduled = true;
        Ok(())
    }

    /// `CONFIG SET appendonly yes` inside EXEC: the log starts right after the EXEC (see
    /// `Inner::start_pending`). Nothing if the AOF is already on or about to be.
    pub(crate) fn schedule_start(&self) {
        if self.enabled() || !self.inner.started.load(Ordering::Acquire) {
            return;
        }
        self.inner.start_pending.store(true, Ordering::Release);
        log_notice!(
            "AOF was enabled during a transaction. An AOF background was scheduled to start when possible."
        );
    }

    /// Starts what an EXEC scheduled, right after it (and from the cron while it cannot
    /// start): the pending start of the log, else a scheduled rewrite unless a snapshot (a
    /// BGSAVE) is being written, in which case the cron starts it once that is done. The caller
    /// holds the exclusive side of the order lock: the cut falls between two writes.
    pub(crate) fn start_scheduled(&self, shared: &Shared) {
        let inner = &*self.inner;
        if inner.start_pending.load(Ordering::Acquire) {
            match self.start_at_runtime(shared) {
                Ok(()) => inner.start_pending.store(false, Ordering::Release),
                Err(e) => {
                    // Still pending: the cron tries again (Redis retries every tick too).
                    inner.rewrite.lock().last_ok = false;
                    log_warning!("Unable to turn on AOF: {e}");
                }
            }
            return;
        }
        if inner.rewriting.load(Ordering::Acquire)
            || !inner.rewrite.lock().scheduled
            || shared.dbs[0].snapshot_in_progress()
        {
            return;
        }
        if let Err(e) = self.rewrite_locked(shared) {
            log_warning!("Can't start the AOF rewrite: {e}");
        }
    }

    /// Follows `appendonly` / `appendfsync` after CONFIG SET. The caller holds the exclusive
    /// order lock (CONFIG is an admin command); at start-up (before `load`) only the fsync
    /// policy is taken.
    ///
    /// # Errors
    /// The AOF could not be turned on (the reason is logged); it stays off.
    pub(crate) fn apply_config(&self, shared: &Shared) -> Result<(), ()> {
        let (want, fsync, no_fsync) = {
            let c = shared.config.read();
            (
                c.appendonly,
                c.appendfsync.clone(),
                c.no_appendfsync_on_rewrite,
            )
        };
        self.set_policy(&fsync, no_fsync);
        if !self.inner.started.load(Ordering::Acquire) {
            return Ok(());
        }
        let pending = self.inner.start_pending.load(Ordering::Acquire);
        if want && !self.on() && !pending {
            if let Err(e) = self.start_at_runtime(shared) {
                log_warning!("Unable to turn on AOF: {e}");
                // As Redis: the failed start shows as aof_last_bgrewrite_status:err (not as
                // a failed rewrite in aof_rewrites_consecutive_failures).
                self.inner.rewrite.lock().last_ok = false;
                return Err(());
            }
        } else if !want && (self.on() || pending) {
            self.inner.start_pending.store(false, Ordering::Release);
            // As Redis's stopAppendOnly: a scheduled rewrite is dropped (a running one
            // finds the AOF off when it ends).
            self.inner.rewrite.lock().scheduled = false;
            if self.on() {
                self.stop_at_runtime();
            }
        }
        Ok(())
    }

    /// `CONFIG SET appendonly yes`: logging starts now, into a new incremental file, and a
    /// rewrite writes the base it follows (the manifest names both once the base is written).
    fn start_at_runtime(&self, shared: &Shared) -> Result<(), String> {
        let (dir, filename) = {
            let c = shared.config.read();
            (c.dir.join(&c.appenddirname), c.appendfilename.clone())
        };
        fs::create_dir_all(&dir)
            .map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
        let inner = &*self.inner;
        // Held until the log is on: a rewrite that started with the AOF off installs its
        // manifest either wholly before (and `old` is that manifest) or after, when it sees
        // the AOF on and discards its base.
        let mut disk = inner.disk.lock();
        let old = read_manifest(&dir, &filename);
        let seq = old.incr.last().map_or(0, |e| e.seq) + 1;
        let entry = Entry {
            name: file_name(&filename, seq, Kind::Incr, false),
            seq,
            kind: Kind::Incr,
        };
        let file = open_append(&dir.join(&entry.name))
            .map_err(|e| format!("Can't open the append-only file: {e}"))?;
        let manifest = Manifest {
            base: None,
            incr: vec![entry],
            history: Vec::new(),
        };
        {
            let mut b = inner.buf.lock();
            b.bytes.clear();
            b.db = None;
            b.tx = None;
            let end = b.end;
            inner.written.store(end, Ordering::Release);
            inner.synced.store(end, Ordering::Release);
        }
        *disk = Some(Disk {
            dir,
            filename,
            manifest,
            sync_fd: file.try_clone().ok().map(Arc::new),
            file,
            incr_size: 0,
            other_size: 0,
            base_size: 0,
            spare: Vec::new(),
            // The new base must not take the name of the old one: until the new manifest is
            // written, the old manifest on disk still names it.
            base_seq_floor: old.base.as_ref().map_or(1, |b| b.seq + 1),
        });
        inner.on.store(true, Ordering::Release);
        drop(disk);
        self.start_fsync_thread();
        if inner.rewriting.load(Ordering::Acquire) {
            // A rewrite started with the AOF off is still running (it only becomes false
            // meanwhile, as rewrites start under the exclusive order lock that the caller
            // holds). Its base will be discarded; the base of this log is written once it is
            // done, as Redis 7.0 does when another background save is running.
            let mut rw = inner.rewrite.lock();
            rw.scheduled = true;
            rw.obsolete.extend(names(&old));
            log_notice!(
                "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
            );
            return Ok(());
        }
        match self.rewrite_with(shared, names(&old)) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.stop_at_runtime();
                Err(e)
            }
        }
    }

    /// `CONFIG SET appendonly no`: writes and fsyncs what is pending and closes the log.
    fn stop_at_runtime(&self) {
        let inner = &*self.inner;
        let mut d = inner.disk.lock();
        if let Some(disk) = d.as_mut()
            && let Err(e) = inner.write_out(disk).and_then(|()| disk.file.sync_data())
        {
            log_warning!("Error writing the AOF while turning it off: {e}");
        }
        *d = None;
        inner.on.store(false, Ordering::Release);
        inner.buf.lock().bytes.clear();
    }
}

fn read_manifest(dir: &std::path::Path, filename: &str) -> Manifest {
    fs::read_to_string(dir.join(format!("{filename}.manifest")))
        .ok()
        .and_then(|t| Manifest::parse(&t).ok())
        .unwrap_or_default()
}

fn names(m: &Manifest) -> Vec<String> {
    m.base
        .iter()
        .chain(&m.incr)
        .chain(&m.history)
        .map(|e| e.name.clone())
        .collect()
}

/// ```text
/// BGREWRITEAOF
/// ```
/// Inside EXEC the rewrite is scheduled for right after it, as Redis 7.0 does.
pub(crate) fn bgrewriteaof(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let aof = &ctx.shared.aof;
    let started = if ctx.tx.is_some() || ctx.client.in_exec {
        aof.schedule_rewrite().map(|()| Started::Scheduled)
    } else {
        aof.rewrite_locked(ctx.shared)
    };
    match started {
        Ok(Started::Now) => {
            write::simple(ctx.out, b"Background append only file rewriting started");
            Ok(())
        }
        Ok(Started::Scheduled) => {
            write::simple(ctx.out, b"Background append only file rewriting scheduled");
            Ok(())
        }
        Err(e) => Err(CmdError::msg(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::{AUTOSYNC_BYTES, AutoSync};
    use std::io::{BufWriter, Write};

    fn temp_file(tag: &str) -> (std::path::PathBuf, std::fs::File) {
        let dir =
            std::env::temp_dir().join(format!("sabaody-aof-autosync-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = std::fs::File::create(dir.join("base")).unwrap();
        (dir, f)
    }

    #[test]
    fn incremental_fsync_yes_syncs_every_4mb_and_no_never() {
        for (incremental, want) in [(true, 2), (false, 0)] {
            let (dir, f) = temp_file(if incremental { "yes" } else { "no" });
            let mut w = BufWriter::with_capacity(1 << 20, AutoSync::new(f, incremental));
            let block = vec![7u8; 64 << 10];
            // 9 MB: two 4 MB marks passed.
            for _ in 0..(9 << 20) / block.len() {
                w.write_all(&block).unwrap();
            }
            let a = w.into_inner().unwrap();
            assert_eq!(a.syncs, want, "incremental {incremental}");
            assert_eq!(a.every, if incremental { AUTOSYNC_BYTES } else { 0 });
            let f = a.into_file();
            assert_eq!(f.metadata().unwrap().len(), 9 << 20);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
