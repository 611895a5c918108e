//! Clients blocked on list keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! ```text
//!  blocking command finds every key empty ──▶ Blocking::block (waiter queued per key, FIFO)
//!  any write command (any loop thread)    ──▶ Blocking::signal(db, its keys)  [leaf lock]
//!  after each command, outside any shard lock ──▶ Blocking::serve:
//!      for each signalled key with waiters, oldest waiter first: run its pop on the keyspace,
//!      encode its reply, drop the waiter, post the reply to the waiter's loop (inbox + notify)
//!  waiter's loop: writes the reply, resumes the client's pipeline
//!  timeout (waiter's loop) / disconnect ──▶ Blocking::cancel (false if already served)
//! ```
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
use sabaody_core::{ListEnd, ListOps};
// A served reply is an array or a bulk string: the same bytes in RESP2 and RESP3.
use sabaody_resp::write;

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
        let mut inner = self.inner.lock();
        let found = Self::remove_waiter(&mut inner, client_id).is_some();
        if found {
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
        found
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
            let Some(&id) = inner.by_key.get(&(db, key.clone())).and_then(|q| q.front()) else {
                return;
            };
            let Some(w) = inner.waiters.get(&id) else {
                return;
            };
            let mut out = BytesMut::new();
            // What the AOF logs: the non-blocking form of what was served, as Redis does.
            let mut logged: Option<Vec<Bytes>> = None;
            let side = |end: &ListEnd| -> &'static [u8] {
                match end {
                    ListEnd::Left => b"LEFT",
                    ListEnd::Right => b"RIGHT",
                }
            };
            let pop = |end: &ListEnd| -> Bytes {
                Bytes::from_static(match end {
                    ListEnd::Left => b"LPOP",
                    ListEnd::Right => b"RPOP",
                })
            };
            let served = match &w.op {
                BlockOp::Pop(end) => match cache.pop_count(key, *end, 1) {
                    Ok(Some(mut v)) => match v.pop() {
                        Some(e) => {
                            write::array_len(&mut out, 2);
                            write::bulk(&mut out, key);
                            write::bulk(&mut out, &e);
                            logged = Some(vec![pop(end), key.clone()]);
                            true
                        }
                        None => false,
                    },
                    _ => false,
                },
                BlockOp::MPop { end, count } => match cache.pop_count(key, *end, *count) {
                    Ok(Some(v)) if !v.is_empty() => {
                        logged = Some(vec![
                            pop(end),
                            key.clone(),
                            Bytes::from(v.len().to_string()),
                        ]);
                        write::array_len(&mut out, 2);
                        write::bulk(&mut out, key);
                        write::array_len(&mut out, v.len());
                        for e in v {
                            write::bulk(&mut out, &e);
                        }
                        true
                    }
                    _ => false,
                },
                BlockOp::Move { dst, from, to } => match cache.lmove(key, dst, *from, *to) {
                    Ok(Some(e)) => {
                        write::bulk(&mut out, &e);
                        logged = Some(vec![
                            Bytes::from_static(b"LMOVE"),
                            key.clone(),
                            dst.clone(),
                            Bytes::from_static(side(from)),
                            Bytes::from_static(side(to)),
                        ]);
                        shared.watches.touch_key(db, dst);
                        // The destination may have waiters of its own.
                        self.ready.lock().push((db, dst.clone()));
                        self.has_ready.store(true, Ordering::SeqCst);
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        // A destination of the wrong type: the client gets the error and is
                        // unblocked, as in Redis.
                        write::error(&mut out, e.redis_text().as_bytes());
                        true
                    }
                },
            };
            if !served {
                // No element left for this key: the rest wait for the next push.
                return;
            }
            if let Some(argv) = logged
                && shared.aof.on()
            {
                shared.aof.log(db, &argv);
            }
            shared.watches.touch_key(db, key);
            if let Some(w) = Self::remove_waiter(inner, id) {
                self.active.fetch_sub(1, Ordering::SeqCst);
                if let Some(l) = shared.loops.get(w.loop_idx) {
                    l.post_unblock(w.client_id, out.freeze());
                }
            }
        }
    }
}

/// Parses a blocking timeout in seconds (a float) into milliseconds, as Redis 7.0's
/// `getTimeoutFromObjectOrReply`: 0 = forever.
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<u64, crate::cmd::CmdError> {
    use crate::cmd::CmdError;
    let secs = sabaody_core::num::parse_f64(arg)
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = secs * 1000.0;
    // C's (long long) cast of an out-of-range double gives LLONG_MIN on x86-64 (so a huge
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if ms > 0 && ms > i64::MAX - now {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    Ok(ms as u64)
}
