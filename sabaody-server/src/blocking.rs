//! Clients blocked on list keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) and on sorted-set
//! keys (BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! ```text
//!  blocking command finds every key empty ──▶ Blocking::block (waiter queued per key, FIFO)
//!  any write command (any loop thread)    ──▶ Blocking::signal(db, its keys)  [leaf lock]
//!  after each command, outside any shard lock ──▶ Blocking::serve:
//!      for each signalled key with waiters, oldest waiter first: run its pop on the keyspace,
//!      encode its reply, drop the waiter, post the reply to the waiter's loop (inbox + notify)
//!  waiter's loop: writes the reply, resumes the client's pipeline
//!  timeout (waiter's loop) / disconnect ──▶ Blocking::cancel (false if already served)
//!  CLIENT UNBLOCK (any loop)  ──▶ Blocking::cancel, then the timeout's or an error reply is
//!                                 posted to the waiter's loop as a served reply would be
//! ```
//!
//! As Redis 7.0's `serveClientsBlockedOnKeys`, a ready key serves the clients waiting for its
//! type only: a list serves the list pops, a sorted set the sorted-set pops, each queue in
//! the order its clients blocked; the others keep waiting (a key of another type serves no one).
//!
//! Serving in the thread that made a key ready, under one registry lock, is what gives FIFO
//! order across loop threads: the waiters of a key are served strictly oldest first, as many
//! as there are elements. `signal` only appends to a small list under its own lock (taken
//! with nothing else held and holding nothing), so it may run inside EXEC while every shard
//! is locked; `serve` runs after the command, when no shard lock is held.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use sabaody_core::{KeyType, Keyspace, ListEnd, ListOps, ZSetOps};
use sabaody_resp::{Protocol, write};

use crate::server::Shared;

/// What a blocked client runs once one of its keys has elements.
#[derive(Debug, Clone)]
pub(crate) enum BlockOp {
    /// BLPOP / BRPOP: replies `[key, element]`.
    Pop(ListEnd),
    /// BLMOVE / BRPOPLPUSH: moves to `dst`, replies the element.
    Move {
        dst: Bytes,
        from: ListEnd,
        to: ListEnd,
    },
    /// BLMPOP: replies `[key, [elements]]`.
    MPop { end: ListEnd, count: usize },
    /// BZPOPMIN / BZPOPMAX (`count: None`): replies `[key, member, score]`; BZMPOP
    /// (`Some(count)`): replies `[key, [[member, score], ...]]`.
    ZPop { max: bool, count: Option<usize> },
    /// WAIT with replicas to wait for: a standalone server has none, so no key serves it;
    /// it ends at its timeout (or CLIENT UNBLOCK) with the number of replicas that
    /// acknowledged, 0.
    Wait,
}

impl BlockOp {
    /// The type of key this operation waits for (none for WAIT).
    fn wants(&self) -> Option<KeyType> {
        match self {
            BlockOp::ZPop { .. } => Some(KeyType::ZSet),
            BlockOp::Wait => None,
            _ => Some(KeyType::List),
        }
    }

    /// The reply when the wait ends unserved (its timeout, `CLIENT UNBLOCK id TIMEOUT`), as
    /// Redis 7.0's `replyToBlockedClientTimedOut`: a null array for the pops and moves (BLMOVE
    /// too), the count of acknowledging replicas (0) for WAIT.
    pub(crate) fn write_timeout(&self, out: &mut BytesMut, proto: Protocol) {
        match self {
            BlockOp::Wait => write::integer(out, 0),
            _ => write::null_array(out, proto),
        }
    }
}

/// One blocked client.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub client_id: u64,
    pub loop_idx: usize,
    pub db: usize,
    pub keys: Vec<Bytes>,
    pub op: BlockOp,
    /// Blocked with a timeout (INFO `clients_in_timeout_table`).
    pub timed: bool,
    /// The client's protocol when it blocked (sorted-set scores are doubles in RESP3).
    pub proto: Protocol,
}

#[derive(Debug, Default)]
struct Inner {
    /// Client ids waiting on (db, key), oldest first.
    by_key: hashbrown::HashMap<(usize, Bytes), VecDeque<u64>>,
    waiters: hashbrown::HashMap<u64, Waiter>,
}

/// The registry of blocked clients, shared by every loop thread.
#[derive(Debug, Default)]
pub(crate) struct Blocking {
    /// Blocked clients; writers skip `signal` entirely while it is 0.
    active: AtomicUsize,
    inner: Mutex<Inner>,
    /// Keys written since the last `serve` (only while someone is blocked).
    ready: Mutex<Vec<(usize, Bytes)>>,
    has_ready: AtomicBool,
}

impl Blocking {
    /// Whether any client is blocked.
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::SeqCst) != 0
    }

    /// Queues a client behind every one of its keys. The keys are marked ready at once, so
    /// an element pushed between the caller's check and this call is not missed: the next
    /// `serve` finds it.
    pub fn block(&self, w: Waiter) {
        let db = w.db;
        let keys = w.keys.clone();
        {
            let mut inner = self.inner.lock();
            for k in &w.keys {
                inner
                    .by_key
                    .entry((db, k.clone()))
                    .or_default()
                    .push_back(w.client_id);
            }
            inner.waiters.insert(w.client_id, w);
            self.active.fetch_add(1, Ordering::SeqCst);
        }
        self.signal(db, keys.iter());
    }

    /// Removes a blocked client (timeout, disconnect). False if it is not blocked any more
    /// (it was served: its reply is on the way to its loop).
    pub fn cancel(&self, client_id: u64) -> bool {
        self.take(client_id).is_some()
    }

    /// Times out a blocked client: removes it and gives the reply its timeout gets (see
    /// [`BlockOp::write_timeout`]); `None` if it is not blocked any more (it was served).
    pub fn time_out(&self, client_id: u64) -> Option<Bytes> {
        let w = self.take(client_id)?;
        let mut out = BytesMut::new();
        w.op.write_timeout(&mut out, w.proto);
        Some(out.freeze())
    }

    /// [`Blocking::cancel`], giving back the waiter that was removed.
    fn take(&self, client_id: u64) -> Option<Waiter> {
        let mut inner = self.inner.lock();
        let w = Self::remove_waiter(&mut inner, client_id)?;
        self.active.fetch_sub(1, Ordering::SeqCst);
        Some(w)
    }

    /// `CLIENT UNBLOCK id [TIMEOUT | ERROR]` for a client blocked on keys: it is removed and
    /// gets, on its own loop, the reply of a timeout (`error` false) or the `-UNBLOCKED`
    /// error. False if the client is not blocked on keys (or was served meanwhile).
    pub fn unblock(&self, shared: &Shared, client_id: u64, error: bool) -> bool {
        let Some(w) = self.take(client_id) else {
            return false;
        };
        let mut out = BytesMut::new();
        if error {
            write::error(&mut out, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            w.op.write_timeout(&mut out, w.proto);
        }
        if let Some(l) = shared.loops.get(w.loop_idx) {
            l.post_unblock(w.client_id, out.freeze());
        }
        true
    }

    fn remove_waiter(inner: &mut Inner, client_id: u64) -> Option<Waiter> {
        let w = inner.waiters.remove(&client_id)?;
        for k in &w.keys {
            let key = (w.db, k.clone());
            if let Some(q) = inner.by_key.get_mut(&key) {
                q.retain(|&id| id != client_id);
                if q.is_empty() {
                    inner.by_key.remove(&key);
                }
            }
        }
        Some(w)
    }

    /// A write touched these keys of `db`: blocked clients on them may be served.
    pub fn signal<'a>(&self, db: usize, keys: impl Iterator<Item = &'a Bytes>) {
        if !self.active() {
            return;
        }
        let mut r = self.ready.lock();
        for k in keys {
            r.push((db, k.clone()));
        }
        if !r.is_empty() {
            self.has_ready.store(true, Ordering::SeqCst);
        }
    }

    /// Blocked clients, and those among them with a timeout (INFO `blocked_clients`,
    /// `clients_in_timeout_table`).
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        let timed = inner.waiters.values().filter(|w| w.timed).count();
        (inner.waiters.len(), timed)
    }

    /// Every key waited on in these databases may have changed (SWAPDB): all are checked.
    pub fn signal_dbs(&self, dbs: &[usize]) {
        if !self.active() {
            return;
        }
        let keys: Vec<(usize, Bytes)> = self
            .inner
            .lock()
            .by_key
            .keys()
            .filter(|(d, _)| dbs.contains(d))
            .cloned()
            .collect();
        if keys.is_empty() {
            return;
        }
        self.ready.lock().extend(keys);
        self.has_ready.store(true, Ordering::SeqCst);
    }

    /// Serves the clients blocked on keys signalled since the last call. Must run with no
    /// shard lock held.
    ///
    /// `holds_off`: the caller holds the AOF order lock's shared side with the AOF off
    /// ([`crate::aof::Order::holds_off`]): the AOF stays off, serving is ordered by that hold,
    /// and taking the lock again here could deadlock behind a waiting writer.
    #[inline]
    pub fn serve(&self, shared: &Shared, holds_off: bool) {
        if self.has_ready.load(Ordering::SeqCst) {
            self.serve_ready(shared, holds_off);
        }
    }

    #[inline(never)]
    fn serve_ready(&self, shared: &Shared, holds_off: bool) {
        // Serving pops: a write, ordered with the others and logged (see `aof`).
        let _order = if holds_off {
            None
        } else if shared.aof.on() {
            Some(shared.aof.enter_exclusive())
        } else {
            Some(shared.aof.enter_shared(0))
        };
        let mut inner = self.inner.lock();
        loop {
            let batch = {
                let mut r = self.ready.lock();
                self.has_ready.store(false, Ordering::SeqCst);
                std::mem::take(&mut *r)
            };
            if batch.is_empty() {
                break;
            }
            for (db, key) in batch {
                self.serve_key(shared, &mut inner, db, &key);
            }
        }
    }

    fn serve_key(&self, shared: &Shared, inner: &mut Inner, db: usize, key: &Bytes) {
        let Some(cache) = shared.dbs.get(db) else {
            return;
        };
        loop {
            // Only the clients waiting for this key's type are served (see the module doc).
            let Some(kt) = cache.key_type_quiet(key) else {
                return;
            };
            let Some(id) = inner.by_key.get(&(db, key.clone())).and_then(|q| {
                q.iter().copied().find(|id| {
                    inner
                        .waiters
                        .get(id)
                        .is_some_and(|w| w.op.wants() == Some(kt))
                })
            }) else {
                return;
            };
            let Some(w) = inner.waiters.get(&id) else {
                return;
            };
            let mut out = BytesMut::new();
            // What the AOF logs: the non-blocking form of what was served, as Redis does.
            let logged = match serve_one(cache, key, &w.op, w.proto, &mut out) {
                Served::No => return,
                Served::Yes(logged) => logged,
                Served::Moved(logged, dst) => {
                    shared.watches.touch_key(db, &dst);
                    shared.invalidate_tracked(None, &dst);
                    // The destination may have waiters of its own.
                    self.ready.lock().push((db, dst));
                    self.has_ready.store(true, Ordering::SeqCst);
                    Some(logged)
                }
            };
            if let Some(argv) = &logged {
                notify_served(shared, db, argv);
            }
            if let Some(argv) = logged
                && shared.aof.on()
            {
                shared.aof.log(db, &argv);
            }
            shared.watches.touch_key(db, key);
            shared.invalidate_tracked(Some(id), key);
            if let Some(w) = Self::remove_waiter(inner, id) {
                self.active.fetch_sub(1, Ordering::SeqCst);
                if let Some(l) = shared.loops.get(w.loop_idx) {
                    l.post_unblock(w.client_id, out.freeze());
                }
            }
        }
    }
}

/// The keyspace events of what was served to a blocked client, read from the command it is
/// logged as: the pop (and `del` of an emptied key), or for a move the push to the
/// destination first, as Redis reports them.
fn notify_served(shared: &Shared, db: usize, argv: &[Bytes]) {
    use crate::notify::class;
    let n = &shared.notify;
    if !n.wants(class::LIST | class::ZSET | class::GENERIC) {
        return;
    }
    let (Some(name), Some(key)) = (argv.first(), argv.get(1)) else {
        return;
    };
    match &name[..] {
        b"LPOP" => n.event(class::LIST, "lpop", key, db),
        b"RPOP" => n.event(class::LIST, "rpop", key, db),
        b"ZPOPMIN" => n.event(class::ZSET, "zpopmin", key, db),
        b"ZPOPMAX" => n.event(class::ZSET, "zpopmax", key, db),
        b"LMOVE" => {
            let (Some(dst), Some(from), Some(to)) = (argv.get(2), argv.get(3), argv.get(4)) else {
                return;
            };
            let push = if &to[..] == b"LEFT" { "lpush" } else { "rpush" };
            n.event(class::LIST, push, dst, db);
            let pop = if &from[..] == b"LEFT" { "lpop" } else { "rpop" };
            n.event(class::LIST, pop, key, db);
        }
        _ => return,
    }
    if n.wants(class::GENERIC)
        && let Some(cache) = shared.dbs.get(db)
        && !sabaody_core::Keyspace::contains_key(cache, key)
    {
        n.event(class::GENERIC, "del", key, db);
    }
}

/// What serving one waiter did.
enum Served {
    /// Nothing left to serve: the waiter stays.
    No,
    /// Served (the command to log, if any: none for an error reply).
    Yes(Option<Vec<Bytes>>),
    /// Served by a move to this destination key.
    Moved(Vec<Bytes>, Bytes),
}

pub(crate) fn pop_name(end: ListEnd) -> Bytes {
    Bytes::from_static(match end {
        ListEnd::Left => b"LPOP",
        ListEnd::Right => b"RPOP",
    })
}

pub(crate) fn side_name(end: ListEnd) -> Bytes {
    Bytes::from_static(match end {
        ListEnd::Left => b"LEFT",
        ListEnd::Right => b"RIGHT",
    })
}

/// The command a sorted-set pop is propagated as: `ZPOPMIN key` / `ZPOPMAX key`, with the
/// number of members popped when the blocking form had a count (BZMPOP), as Redis 7.0.
pub(crate) fn zpop_logged(key: &Bytes, max: bool, popped: Option<usize>) -> Vec<Bytes> {
    let name = Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" });
    let mut v = vec![name, key.clone()];
    if let Some(n) = popped {
        v.push(Bytes::from(n.to_string()));
    }
    v
}

/// Writes `[member, score]` pairs as BZMPOP / ZMPOP reply them (nested in both protocols).
pub(crate) fn write_zmpop(out: &mut BytesMut, proto: Protocol, key: &[u8], items: &[(Bytes, f64)]) {
    write::array_len(out, 2);
    write::bulk(out, key);
    write::array_len(out, items.len());
    for (m, s) in items {
        write::array_len(out, 2);
        write::bulk(out, m);
        write::double(out, proto, *s);
    }
}

/// Writes BZPOPMIN / BZPOPMAX's `[key, member, score]`.
pub(crate) fn write_bzpop(out: &mut BytesMut, proto: Protocol, key: &[u8], m: &[u8], s: f64) {
    write::array_len(out, 3);
    write::bulk(out, key);
    write::bulk(out, m);
    write::double(out, proto, s);
}

/// Runs a waiter's operation on `key` (of the type it waits for), writing its reply.
fn serve_one(
    cache: &sabaody_core::Cache,
    key: &Bytes,
    op: &BlockOp,
    proto: Protocol,
    out: &mut BytesMut,
) -> Served {
    match op {
        // Redis 7.0 counts the pops serving BLMPOP and the sorted-set pops in its change
        // counter, not those serving BLPOP / BRPOP / BLMOVE / BRPOPLPUSH.
        BlockOp::Pop(end) => match cache.pop_for_blocked(key, *end) {
            Ok(Some(e)) => {
                write::array_len(out, 2);
                write::bulk(out, key);
                write::bulk(out, &e);
                Served::Yes(Some(vec![pop_name(*end), key.clone()]))
            }
            _ => Served::No,
        },
        BlockOp::MPop { end, count } => match cache.pop_count(key, *end, *count) {
            Ok(Some(v)) if !v.is_empty() => {
                let logged = vec![
                    pop_name(*end),
                    key.clone(),
                    Bytes::from(v.len().to_string()),
                ];
                write::array_len(out, 2);
                write::bulk(out, key);
                write::array_len(out, v.len());
                for e in v {
                    write::bulk(out, &e);
                }
                Served::Yes(Some(logged))
            }
            _ => Served::No,
        },
        BlockOp::Move { dst, from, to } => match cache.lmove_for_blocked(key, dst, *from, *to) {
            Ok(Some(e)) => {
                write::bulk(out, &e);
                let logged = vec![
                    Bytes::from_static(b"LMOVE"),
                    key.clone(),
                    dst.clone(),
                    side_name(*from),
                    side_name(*to),
                ];
                Served::Moved(logged, dst.clone())
            }
            Ok(None) => Served::No,
            Err(e) => {
                // A destination of the wrong type: the client gets the error and is
                // unblocked, as in Redis.
                write::error(out, e.redis_text().as_bytes());
                Served::Yes(None)
            }
        },
        BlockOp::ZPop { max, count } => match cache.zpop(key, *max, count.unwrap_or(1)) {
            Ok(v) if !v.is_empty() => {
                match count {
                    None => {
                        if let Some((m, s)) = v.first() {
                            write_bzpop(out, proto, key, m, *s);
                        }
                    }
                    Some(_) => write_zmpop(out, proto, key, &v),
                }
                Served::Yes(Some(zpop_logged(key, *max, count.map(|_| v.len()))))
            }
            _ => Served::No,
        },
        BlockOp::Wait => Served::No,
    }
}

/// Blocks the client of `ctx` on `keys` (the immediate attempt found nothing), or, where a
/// client cannot block (inside MULTI/EXEC, a socketless session), replies what the command
/// gives when it does not block: a null bulk for the moves, 0 for WAIT, a null array otherwise.
pub(crate) fn block_client(
    ctx: &mut crate::cmd::Ctx<'_, '_>,
    keys: &[Bytes],
    op: BlockOp,
    timeout_ms: u64,
) {
    let loop_idx = ctx.client.info.loop_idx;
    if ctx.tx.is_some() || ctx.client.in_exec || ctx.shared.loops.get(loop_idx).is_none() {
        match op {
            BlockOp::Move { .. } => ctx.null(),
            _ => op.write_timeout(ctx.out, ctx.client.proto),
        }
        return;
    }
    ctx.client.blocked = true;
    ctx.client.info.blocked.store(true, Ordering::Relaxed);
    // A deadline past what the clock can hold never comes: the client waits forever.
    ctx.client.block_deadline = (timeout_ms > 0)
        .then(|| {
            std::time::Instant::now().checked_add(std::time::Duration::from_millis(timeout_ms))
        })
        .flatten();
    let mut uniq: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !uniq.contains(k) {
            uniq.push(Bytes::copy_from_slice(k));
        }
    }
    ctx.shared.blocking.block(Waiter {
        client_id: ctx.client.id,
        loop_idx,
        db: ctx.client.db,
        keys: uniq,
        op,
        timed: timeout_ms > 0,
        proto: ctx.client.proto,
    });
}

/// Parses a blocking timeout in seconds (a float) into milliseconds, as Redis 7.0's
/// `getTimeoutFromObjectOrReply`: `ceil(seconds * 1000)` in C's `long double`, cast to `long
/// long`; 0 = forever. `long double` reaches about 1e±4932: a timeout beyond a double's range
/// but within that one reads as a huge number (negative once cast, as on x86-64) or a tiny one
/// (one millisecond, or forever when negative). Redis 7.0 adds the current time to a positive
/// timeout without an overflow check: a timeout past the end of time never fires.
/// (Not reproduced: the last bit of the x87 product, which makes Redis read `-0.001` as a
/// timeout slightly above -1 ms, hence forever, where this reads exactly -1 ms.)
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<u64, crate::cmd::CmdError> {
    use crate::cmd::CmdError;
    const NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
    // Whole seconds are exact in `long double` (64-bit mantissa): multiply as integers.
    if let Some(secs) = crate::cmd::parse_i64(arg) {
        let ms = i128::from(secs) * 1000;
        return match i64::try_from(ms) {
            Ok(ms) if ms >= 0 => Ok(ms as u64),
            _ => Err(CmdError::msg("ERR timeout is negative")),
        };
    }
    let ms = match sabaody_core::num::parse_f64(arg) {
        Some(secs) => (secs * 1000.0).ceil(),
        None => extended_range(arg).ok_or_else(|| CmdError::msg(NOT_FLOAT))?,
    };
    // C's (long long) cast of an out-of-range value gives LLONG_MIN on x86-64 (so a huge
    // timeout reads as negative in Redis); Rust's `as` saturates, so map it by hand.
    let two63 = (1u64 << 63) as f64;
    let ms: i64 = if ms > -two63 && ms < two63 {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(ms as u64)
}

/// A decimal float outside a double's range but inside `long double`'s, as milliseconds: an
/// infinity for a huge value, +1 or 0 for a tiny positive or negative one. `None` when it is
/// not a float at all or is out of `long double`'s range too.
fn extended_range(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") || lower.contains('x') {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    let (mantissa, exp) = match lower.split_once('e') {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (lower.as_str(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits = mantissa.trim_start_matches(['+', '-']);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    // The decimal exponent of the leading significant digit.
    let lead = match int.trim_start_matches('0').len() {
        0 => -(frac.len() as i64 - frac.trim_start_matches('0').len() as i64) - 1,
        n => n as i64 - 1,
    };
    let magnitude = exp.saturating_add(lead);
    if v.is_infinite() && magnitude <= 4931 {
        Some(f64::INFINITY)
    } else if v == 0.0 && magnitude >= -4950 && digits.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        Some(if negative { 0.0 } else { 1.0 })
    } else {
        None
    }
}

/// No pause (see [`Pause`]).
pub(crate) const PAUSE_NONE: u8 = 0;
/// `CLIENT PAUSE timeout WRITE`: commands that write are held.
pub(crate) const PAUSE_WRITE: u8 = 1;
/// `CLIENT PAUSE timeout [ALL]`: every command is held.
pub(crate) const PAUSE_ALL: u8 = 2;

/// `CLIENT PAUSE` / `CLIENT UNPAUSE`, as Redis 7.0's `pauseClients`: one pause for the whole
/// server, its kind the strongest asked for and its end the latest. A command the pause holds
/// is not run: its client keeps it (`Client::held`) with a ticket, and its loop thread runs it
/// once the pause ends, weakens or is lifted (`event_loop`). Held requests run in ticket
/// order across every loop thread: a request runs only when no request held before it may run
/// too, and each one run (or dropped with its client) wakes the loops holding the others.
/// Every loop checks the pause before each command with one relaxed load of `kind` (nothing
/// else while there is no pause). While a pause is in effect the active expiry cycle and the
/// cron's evictions do not run, as in Redis, so the data set stays still.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    /// [`PAUSE_NONE`], [`PAUSE_WRITE`] or [`PAUSE_ALL`]; may stay set past `end_ns` until
    /// someone looks (see [`Pause::current`]).
    kind: std::sync::atomic::AtomicU8,
    /// When the pause ends ([`crate::mono::now_ns`]).
    end_ns: std::sync::atomic::AtomicU64,
    /// Bumped by every `CLIENT UNPAUSE`: loops holding clients retry them.
    generation: std::sync::atomic::AtomicU64,
    /// Serializes `pause` / `unpause`.
    lock: Mutex<()>,
    /// Held requests by ticket, oldest first: whether each one writes (WRITE mode holds it).
    queue: Mutex<std::collections::BTreeMap<u64, bool>>,
    next_ticket: AtomicUsize,
    /// Bumped whenever a held request leaves the queue.
    progress: std::sync::atomic::AtomicU64,
}

impl Pause {
    /// Whether a pause may be in effect (it may have ended already): the per-command check.
    #[inline]
    pub fn maybe(&self) -> bool {
        self.kind.load(Ordering::Relaxed) != PAUSE_NONE
    }

    /// The pause in effect now.
    pub fn current(&self) -> u8 {
        let k = self.kind.load(Ordering::Acquire);
        if k == PAUSE_NONE {
            return PAUSE_NONE;
        }
        if crate::mono::now_ns() < self.end_ns.load(Ordering::Acquire) {
            return k;
        }
        // Ended: clear it, so that commands stop looking (under the lock, so as not to
        // clear a pause being set).
        if let Some(_g) = self.lock.try_lock()
            && crate::mono::now_ns() >= self.end_ns.load(Ordering::Acquire)
        {
            self.kind.store(PAUSE_NONE, Ordering::Release);
        }
        PAUSE_NONE
    }

    /// How long the pause in effect lasts yet (`None`: no pause).
    pub fn remaining(&self) -> Option<std::time::Duration> {
        if self.current() == PAUSE_NONE {
            return None;
        }
        let end = self.end_ns.load(Ordering::Acquire);
        Some(std::time::Duration::from_nanos(
            end.saturating_sub(crate::mono::now_ns()),
        ))
    }

    /// [`Pause::generation`]'s value.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Queues a held request (`write`: one WRITE mode holds): its ticket.
    pub fn enqueue(&self, write: bool) -> u64 {
        let t = self.next_ticket.fetch_add(1, Ordering::AcqRel) as u64;
        self.queue.lock().insert(t, write);
        t
    }

    /// Whether the held request `ticket` may run now: the pause in effect does not hold it,
    /// and holds every request held before it.
    pub fn may_run(&self, ticket: u64) -> bool {
        let kind = self.current();
        let q = self.queue.lock();
        q.iter()
            .find(|&(_, &write)| !(kind == PAUSE_ALL || (kind == PAUSE_WRITE && write)))
            .is_some_and(|(&t, _)| t == ticket)
    }

    /// The held request `ticket` ran (or its client left): the loops holding the others are
    /// woken to try theirs.
    pub fn release(&self, ticket: u64, shared: &Shared) {
        let others = {
            let mut q = self.queue.lock();
            q.remove(&ticket);
            !q.is_empty()
        };
        self.progress.fetch_add(1, Ordering::AcqRel);
        if others {
            for l in &shared.loops {
                l.wake();
            }
        }
    }

    /// How many requests (one per client) the pause holds.
    pub fn held_count(&self) -> usize {
        self.queue.lock().len()
    }

    /// [`Pause::progress`]'s value.
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Acquire)
    }

    /// `CLIENT PAUSE ms kind`: the strongest kind and the latest end win.
    pub fn pause(&self, ms: u64, kind: u8) {
        let _g = self.lock.lock();
        let now = crate::mono::now_ns();
        let end = now.saturating_add(ms.saturating_mul(1_000_000));
        let cur_end = self.end_ns.load(Ordering::Acquire);
        let (cur_kind, cur_end) =
            if self.kind.load(Ordering::Acquire) == PAUSE_NONE || now >= cur_end {
                (PAUSE_NONE, 0)
            } else {
                (self.kind.load(Ordering::Acquire), cur_end)
            };
        let end = end.max(cur_end);
        if end <= now {
            // A pause that is over already (CLIENT PAUSE 0) changes nothing.
            return;
        }
        self.end_ns.store(end, Ordering::Release);
        self.kind.store(kind.max(cur_kind), Ordering::Release);
    }

    /// `CLIENT UNPAUSE`: ends the pause; every loop thread is woken to run what it holds.
    pub fn unpause(&self, shared: &Shared) {
        {
            let _g = self.lock.lock();
            self.kind.store(PAUSE_NONE, Ordering::Release);
            self.end_ns.store(0, Ordering::Release);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        for l in &shared.loops {
            l.wake();
        }
    }

    /// Whether the pause in effect holds this request of `client` (a command that would
    /// otherwise run: known, of the right arity, authenticated; never the commands allowed
    /// before AUTH). In WRITE mode the
    /// commands flagged `write` are held, and EXEC when a write is queued (Redis's
    /// `is_may_replicate_command`; none of our commands is `may_replicate`); commands queued
    /// inside MULTI are held as they would be run.
    ///
    /// `Some(write)` if held, `write` telling whether WRITE mode holds it too.
    #[cold]
    #[inline(never)]
    pub fn holds(&self, client: &crate::client::Client, argv: &[Bytes]) -> Option<bool> {
        let kind = self.current();
        if kind == PAUSE_NONE {
            return None;
        }
        let write = Self::held_by_write(client, argv)?;
        (kind == PAUSE_ALL || write).then_some(write)
    }

    /// `None` for a request no pause holds (refused before the pause check); else whether
    /// WRITE mode holds it.
    fn held_by_write(client: &crate::client::Client, argv: &[Bytes]) -> Option<bool> {
        use crate::cmd::flag::{MAY_REPLICATE, NO_AUTH, WRITE};
        let spec = argv.first().and_then(|n| crate::cmd::lookup(n))?;
        let n = argv.len() as i32;
        if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
            return None;
        }
        // Commands usable before AUTH (AUTH, HELLO, RESET, QUIT) are never held: checked
        // against redis-server 7.0.15 (a pause ALL holds CLIENT UNPAUSE, not those).
        if spec.has(NO_AUTH) || !client.authenticated {
            return None;
        }
        // PUBLISH counts as a write here (Redis 7.0: `may_replicate`).
        let writes = WRITE | MAY_REPLICATE;
        Some(
            spec.has(writes)
                || (spec.name == "exec"
                    && client
                        .multi
                        .as_ref()
                        .is_some_and(|m| m.queued.iter().any(|(s, _)| s.has(writes)))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(arg: &str) -> Result<u64, String> {
        parse_timeout(arg.as_bytes()).map_err(|e| {
            let mut out = BytesMut::new();
            e.write(&mut out);
            String::from_utf8_lossy(&out).trim_end().to_string()
        })
    }

    const NEG: &str = "-ERR timeout is negative";
    const NOT_FLOAT: &str = "-ERR timeout is not a float or out of range";

    /// Redis 7.0.15's readings, checked by hand with BZPOPMIN against redis-server.
    #[test]
    fn timeouts_read_as_redis_7_0() {
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("1"), Ok(1000));
        assert_eq!(ms("1.5"), Ok(1500));
        assert_eq!(ms("0.00001"), Ok(1));
        assert_eq!(ms("1e-5"), Ok(1));
        assert_eq!(ms("-0.0001"), Ok(0));
        assert_eq!(ms("-0"), Ok(0));
        assert_eq!(ms("0x10"), Ok(16_000));
        assert_eq!(ms("9223372036854775"), Ok(9_223_372_036_854_775_000));
        assert_eq!(ms("-1").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("9223372036854775807").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("9223372036854775808").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("inf").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("-inf").map_err(|e| e == NEG), Err(true));
        // Beyond a double, within long double.
        assert_eq!(ms("1e400").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("-1e400").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("1e4000").map_err(|e| e == NEG), Err(true));
        assert_eq!(ms("1e-400"), Ok(1));
        assert_eq!(ms("1.0e-4000"), Ok(1));
        assert_eq!(ms("-1e-400"), Ok(0));
        // Beyond long double, or not a number.
        assert_eq!(ms("1e5000").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("1e-5000").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("nan").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("abc").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms(" 1").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("1 ").map_err(|e| e == NOT_FLOAT), Err(true));
        assert_eq!(ms("1e").map_err(|e| e == NOT_FLOAT), Err(true));
    }

    #[test]
    fn pause_keeps_the_strongest_kind_and_the_latest_end() {
        let p = Pause::default();
        assert_eq!(p.current(), PAUSE_NONE);
        assert!(!p.maybe());
        // Over at once: nothing.
        p.pause(0, PAUSE_ALL);
        assert!(!p.maybe());
        p.pause(60_000, PAUSE_WRITE);
        assert_eq!(p.current(), PAUSE_WRITE);
        // A shorter ALL raises the kind, keeps the end.
        p.pause(0, PAUSE_ALL);
        assert_eq!(p.current(), PAUSE_ALL);
        let left = p.remaining().unwrap_or_default();
        assert!(left > std::time::Duration::from_secs(50), "{left:?}");
        // A weaker kind does not lower it.
        p.pause(120_000, PAUSE_WRITE);
        assert_eq!(p.current(), PAUSE_ALL);
        let g = p.generation();
        // CLIENT UNPAUSE's state change (`unpause` also wakes the loops: none here).
        {
            let _g = p.lock.lock();
            p.kind.store(PAUSE_NONE, Ordering::Release);
            p.end_ns.store(0, Ordering::Release);
            p.generation.fetch_add(1, Ordering::AcqRel);
        }
        assert_eq!(p.current(), PAUSE_NONE);
        assert_eq!(p.generation(), g + 1);
    }

    #[test]
    fn held_requests_run_in_ticket_order_among_those_the_pause_lets_through() {
        let p = Pause::default();
        p.pause(60_000, PAUSE_WRITE);
        let w1 = p.enqueue(true);
        let r1 = p.enqueue(false);
        let r2 = p.enqueue(false);
        // WRITE holds the write: the first read goes first, then the second.
        assert!(!p.may_run(w1));
        assert!(p.may_run(r1));
        assert!(!p.may_run(r2));
        p.queue.lock().remove(&r1);
        assert!(p.may_run(r2));
        p.queue.lock().remove(&r2);
        assert!(!p.may_run(w1));
        // Once the pause is over the write runs.
        p.kind.store(PAUSE_NONE, Ordering::Release);
        assert!(p.may_run(w1));
        // ALL holds everything.
        p.pause(60_000, PAUSE_ALL);
        let r3 = p.enqueue(false);
        assert!(!p.may_run(w1));
        assert!(!p.may_run(r3));
    }
}
