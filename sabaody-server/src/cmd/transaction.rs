//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Queued commands run inside `Cache::transaction` (every shard locked), so no other client's
//! command interleaves with them (a transaction with INFO, DEBUG RELOAD or CONFIG RESETSTAT runs
//! command by command instead: see `exec`). WATCH is tracked per key by the server (`Watches`): a write
//! command marks the watchers of its keys dirty *before* it runs, so an EXEC that takes its
//! locks after the write always sees the mark.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use sabaody_core::Keyspace;
use sabaody_resp::write;

use super::{Args, CmdError, CommandSpec, Ctx, flag, index_of, run};
use crate::client::{Client, MultiState, WatchState};
use crate::server::Shared;

/// ```text
/// MULTI
/// ```
pub(crate) fn multi(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Box::default());
    ctx.client.info.multi.store(true, Ordering::Relaxed);
    ctx.ok();
    Ok(())
}

/// Queues a validated command inside MULTI.
pub(crate) fn queue(
    _shared: &Shared,
    client: &mut Client,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    out: &mut BytesMut,
) {
    if let Some(m) = client.multi.as_mut() {
        // Own copies: the request bytes live in a read buffer that is reused.
        let args = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        m.queued.push((spec, args));
        write::simple(out, b"QUEUED");
    }
}

/// Discards a transaction and its watches (a malformed EXEC).
pub(crate) fn abort(shared: &Shared, client: &mut Client) {
    client.multi = None;
    client.info.multi.store(false, Ordering::Relaxed);
    end_watch(shared, client);
}

fn end_watch(shared: &Shared, client: &mut Client) {
    if let Some(w) = client.watch.take() {
        shared.watches.unwatch_all(&w.keys, &w.dirty);
    }
}

/// ```text
/// EXEC
/// ```
pub(crate) fn exec(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let Some(state) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    ctx.client.info.multi.store(false, Ordering::Relaxed);
    let MultiState { queued, dirty } = *state;
    if dirty {
        end_watch(ctx.shared, ctx.client);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let shared = ctx.shared;
    let watch_flag = ctx.client.watch.as_ref().map(|w| w.dirty.clone());
    let alive = ctx
        .client
        .watch
        .as_mut()
        .map(|w| std::mem::take(&mut w.alive))
        .unwrap_or_default();
    // A watched key that existed at WATCH time and is gone now has expired (or was evicted)
    // in between: Redis 7.0 counts that as a modification.
    let expired =
        |exists: &dyn Fn(usize, &Bytes) -> bool| alive.iter().any(|(db, key)| !exists(*db, key));
    let flagged =
        |f: &Option<Arc<AtomicBool>>| f.as_ref().is_some_and(|f| f.load(Ordering::Acquire));
    // Inside EXEC nothing takes a snapshot's cut: BGSAVE, BGREWRITEAOF and CONFIG SET
    // appendonly yes schedule theirs for right after it (`persist::after_exec`), as Redis 7.0
    // does (`server.in_exec`), so the cut follows every write of the transaction (a cut taken
    // inside it would miss the writes after it). An EXEC with a queued admin command holds
    // the exclusive side of the AOF order lock (`cmd::order_in_multi`): turning the AOF on or
    // off must exclude every other loop's commands, and so must the rewrite started after it.
    let admin = queued.iter().any(|(spec, _)| spec.has(flag::ADMIN));
    // INFO reads the whole store through its locks; DEBUG RELOAD and CONFIG RESETSTAT take
    // shard locks: such a transaction runs without the all-shards lock.
    let needs_plain = queued.iter().any(|(spec, argv)| {
        spec.has(flag::NO_TX)
            || (spec.has(flag::ADMIN) && super::server::runs_outside_tx(spec, argv))
    });
    // The AOF logs the transaction's writes inside MULTI ... EXEC.
    shared.aof.begin_tx();
    let client = &mut *ctx.client;
    let out = &mut *ctx.out;
    if needs_plain {
        if flagged(&watch_flag) || expired(&|db, k| shared.dbs[db].contains_key(k)) {
            write::null_array(out, client.proto);
        } else {
            write::array_len(out, queued.len());
            // Blocking commands answer at once inside EXEC (no transaction handle here).
            client.in_exec = true;
            for (spec, argv) in &queued {
                run(shared, client, spec, index_of(spec), argv, out, None);
            }
            client.in_exec = false;
        }
    } else {
        let db = client.db;
        shared.dbs[db].transaction(|tx| {
            let present = |db: usize, k: &Bytes| tx.select(db).is_ok() && tx.contains_key(k);
            let abort = flagged(&watch_flag) || expired(&present);
            let _ = tx.select(db);
            if abort {
                write::null_array(out, client.proto);
                return;
            }
            write::array_len(out, queued.len());
            for (spec, argv) in &queued {
                run(shared, client, spec, index_of(spec), argv, out, Some(tx));
            }
        });
    }
    shared.aof.end_tx();
    // What BGSAVE, BGREWRITEAOF and CONFIG SET appendonly yes scheduled inside it.
    if admin || shared.persist.bgsave_scheduled.load(Ordering::Relaxed) {
        crate::persist::after_exec(shared, admin);
    }
    end_watch(shared, client);
    Ok(())
}

/// ```text
/// DISCARD
/// ```
pub(crate) fn discard(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    ctx.client.info.multi.store(false, Ordering::Relaxed);
    end_watch(ctx.shared, ctx.client);
    ctx.ok();
    Ok(())
}

/// ```text
/// WATCH key [key ...]
/// ```
pub(crate) fn watch(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    let w = ctx.client.watch.get_or_insert_with(|| {
        Box::new(WatchState {
            keys: Vec::new(),
            alive: Vec::new(),
            dirty: Arc::new(AtomicBool::new(false)),
        })
    });
    for key in args.rest() {
        let entry = (db, Bytes::copy_from_slice(key));
        if !w.keys.contains(&entry) {
            ctx.shared.watches.watch(db, entry.1.clone(), &w.dirty);
            if ctx.shared.dbs[db].contains_key(&entry.1) {
                w.alive.push(entry.clone());
            }
            w.keys.push(entry);
        }
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// UNWATCH
/// ```
pub(crate) fn unwatch(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    end_watch(ctx.shared, ctx.client);
    ctx.ok();
    Ok(())
}
