//! Client-side caching: `CLIENT TRACKING`, as Redis 7.0 does it.
//!
//! A tracking client is told (`invalidate` pushes in RESP3, or `message`s on
//! `__redis__:invalidate` to the Pub/Sub client it redirects to) when a key it may have
//! cached changes:
//!
//! - default mode: the keys its read commands touched are remembered in a table (key -> client
//!   ids); the first write to such a key sends each of them one invalidation and forgets the
//!   key (OPTIN: only reads after `CLIENT CACHING yes`; OPTOUT: all but those after `CLIENT
//!   CACHING no`);
//! - BCAST: no table; every written key that starts with one of the client's prefixes (none:
//!   every key) is sent, the keys of one command in one message;
//! - FLUSHDB / FLUSHALL send every tracking client an invalidation with a null key list, and
//!   keys that expire or are evicted are invalidated as written ones.
//!
//! Races between loop threads: a read registers its keys *before* it runs and a write
//! invalidates *after* it ran, so a reader can never keep a value older than the write whose
//! invalidation it missed (at worst it receives an invalidation it did not need).
//! Invalidations reach their client through its loop's inbox, after the reply of the command
//! that caused them, as from Redis.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use sabaody_resp::write;

use crate::server::Shared;

/// What a client asked for with `CLIENT TRACKING ON`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// 0: the client itself.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Bytes>,
}

/// A tracking client's per-connection state (its `Client`): what the read path needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientTracking {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    /// `CLIENT CACHING yes|no` for the next command.
    pub caching: Option<bool>,
}

impl ClientTracking {
    /// Whether the keys of a read command now running are remembered.
    pub fn remembers(&self) -> bool {
        !self.bcast
            && if self.optin {
                self.caching == Some(true)
            } else if self.optout {
                self.caching != Some(false)
            } else {
                true
            }
    }
}

#[derive(Debug)]
struct Tracker {
    opts: Options,
    loop_idx: usize,
}

#[derive(Debug, Default)]
struct Inner {
    clients: hashbrown::HashMap<u64, Tracker>,
    /// Default mode: key -> the clients that may cache it (ids may be stale: checked on use).
    keys: hashbrown::HashMap<Bytes, Vec<u64>>,
    /// (key, client) pairs in `keys`.
    items: usize,
    /// BCAST: prefix -> clients.
    prefixes: hashbrown::HashMap<Bytes, Vec<u64>>,
}

/// The server's tracking state.
#[derive(Debug, Default)]
pub(crate) struct Tracking {
    /// Tracking clients; the write path skips everything while 0.
    active: AtomicUsize,
    /// `tracking-table-max-keys` (0: no bound).
    max_keys: AtomicUsize,
    inner: Mutex<Inner>,
}

/// Checks `CLIENT TRACKING ON` options as Redis does (`current`: the client's tracking options
/// if it tracks already).
pub(crate) fn check(opts: &Options, current: Option<&Options>) -> Result<(), String> {
    if !opts.bcast && !opts.prefixes.is_empty() {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if let Some(cur) = current
        && cur.bcast != opts.bcast
    {
        return Err(
            "ERR You can't switch BCAST mode on/off before disabling tracking for \
                    this client, and then re-enabling it with a different mode."
                .into(),
        );
    }
    if opts.bcast && (opts.optin || opts.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if opts.optin && opts.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if let Some(cur) = current
        && ((cur.optin && opts.optout) || (cur.optout && opts.optin))
    {
        return Err(
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for \
                    this client, and then re-enabling it with a different mode."
                .into(),
        );
    }
    let all: Vec<&Bytes> = opts
        .prefixes
        .iter()
        .chain(current.map_or(&[][..], |c| &c.prefixes[..]))
        .collect();
    for (i, a) in opts.prefixes.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            if i != j && a != *b && (a.starts_with(b) || b.starts_with(a)) {
                return Err(format!(
                    "ERR Prefix '{}' overlaps with {} '{}'. Prefixes for a single client must \
                     not overlap.",
                    String::from_utf8_lossy(a),
                    if j < opts.prefixes.len() {
                        "another provided prefix"
                    } else {
                        "an existing prefix"
                    },
                    String::from_utf8_lossy(b)
                ));
            }
        }
    }
    Ok(())
}

impl Tracking {
    /// Whether any client tracks.
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed) != 0
    }

    /// `CLIENT TRACKING ON` (checked with [`check`]); options add up over repeated calls, as
    /// in Redis (prefixes accumulate).
    pub fn enable(&self, id: u64, loop_idx: usize, opts: Options) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let t = inner.clients.entry(id).or_insert_with(|| {
            self.active.fetch_add(1, Ordering::Relaxed);
            Tracker {
                opts: Options::default(),
                loop_idx,
            }
        });
        let new_prefixes: Vec<Bytes> = if opts.bcast && opts.prefixes.is_empty() {
            // BCAST without a prefix: every key (the empty prefix).
            vec![Bytes::new()]
        } else {
            opts.prefixes.clone()
        };
        t.opts.redirect = opts.redirect;
        t.opts.bcast = opts.bcast;
        t.opts.noloop = opts.noloop;
        t.opts.optin = opts.optin;
        t.opts.optout = opts.optout;
        for p in new_prefixes {
            if !t.opts.prefixes.contains(&p) {
                inner.prefixes.entry(p.clone()).or_default().push(id);
                t.opts.prefixes.push(p);
            }
        }
    }

    /// `CLIENT TRACKING OFF`, or the client is gone.
    pub fn disable(&self, id: u64) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if let Some(t) = inner.clients.remove(&id) {
            self.active.fetch_sub(1, Ordering::Relaxed);
            for p in t.opts.prefixes {
                if let Some(v) = inner.prefixes.get_mut(&p) {
                    v.retain(|&c| c != id);
                    if v.is_empty() {
                        inner.prefixes.remove(&p);
                    }
                }
            }
        }
    }

    /// A client closed: stops its tracking. (Clients that redirect to it learn it at their
    /// next invalidation, as in Redis.)
    pub fn client_closed(&self, id: u64) {
        if self.active() {
            self.disable(id);
        }
    }

    /// The options of a tracking client.
    pub fn options(&self, id: u64) -> Option<Options> {
        self.inner.lock().clients.get(&id).map(|t| t.opts.clone())
    }

    /// Sets `tracking-table-max-keys`.
    pub fn set_max_keys(&self, n: usize) {
        self.max_keys.store(n, Ordering::Relaxed);
    }

    /// A read by tracking client `id` (default mode) is about to read `keys`. Past
    /// `tracking-table-max-keys`, keys leave the table as Redis evicts them: their clients
    /// are sent an invalidation, as if the keys had changed.
    pub fn remember<'a>(&self, shared: &Shared, id: u64, keys: impl Iterator<Item = &'a Bytes>) {
        let evicted: Vec<Bytes> = {
            let mut g = self.inner.lock();
            let inner = &mut *g;
            let mut added: Vec<&Bytes> = Vec::new();
            for k in keys {
                let ids = inner.keys.entry(k.clone()).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                    inner.items += 1;
                }
                added.push(k);
            }
            let max = self.max_keys.load(Ordering::Relaxed);
            if max == 0 || inner.keys.len() <= max {
                return;
            }
            // Any other keys (the ones this read just registered stay).
            let excess = inner.keys.len() - max;
            inner
                .keys
                .keys()
                .filter(|k| !added.contains(k))
                .take(excess)
                .cloned()
                .collect()
        };
        self.invalidate(shared, None, evicted.iter().map(|k| &k[..]));
    }

    /// `keys` were written by client `writer` (None: expired or evicted): every client that
    /// may cache one of them is told. Default mode: one message per key, as Redis sends them;
    /// BCAST: one message per matching prefix with its keys.
    pub fn invalidate<'a>(
        &self,
        shared: &Shared,
        writer: Option<u64>,
        keys: impl Iterator<Item = &'a [u8]>,
    ) {
        let mut msgs: Vec<Msg<'a>> = Vec::new();
        let mut bcast: Vec<(u64, Bytes, Msg<'a>)> = Vec::new();
        {
            let mut g = self.inner.lock();
            let inner = &mut *g;
            for k in keys {
                if let Some(ids) = inner.keys.remove(k) {
                    inner.items -= ids.len();
                    for id in ids {
                        if let Some(t) = inner.clients.get(&id)
                            && !t.opts.bcast
                            && !(t.opts.noloop && writer == Some(id))
                        {
                            msgs.push(Msg::new(id, t, vec![k]));
                        }
                    }
                }
                for (p, ids) in &inner.prefixes {
                    if !k.starts_with(p) {
                        continue;
                    }
                    for &id in ids {
                        let Some(t) = inner.clients.get(&id) else {
                            continue;
                        };
                        if t.opts.noloop && writer == Some(id) {
                            continue;
                        }
                        match bcast.iter_mut().find(|(c, q, _)| *c == id && q == p) {
                            Some((_, _, m)) => {
                                if !m.keys.contains(&k) {
                                    m.keys.push(k);
                                }
                            }
                            None => bcast.push((id, p.clone(), Msg::new(id, t, vec![k]))),
                        }
                    }
                }
            }
        }
        for m in msgs.iter().chain(bcast.iter().map(|b| &b.2)) {
            self.deliver(shared, m, Some(&m.keys));
        }
    }

    /// FLUSHDB / FLUSHALL: every tracking client gets an invalidation of all keys (a null
    /// list), and the table is emptied.
    pub fn flushed(&self, shared: &Shared) {
        if !self.active() {
            return;
        }
        let msgs: Vec<Msg<'_>> = {
            let mut g = self.inner.lock();
            g.keys.clear();
            g.items = 0;
            g.clients
                .iter()
                .map(|(&id, t)| Msg::new(id, t, Vec::new()))
                .collect()
        };
        for m in &msgs {
            self.deliver(shared, m, None);
        }
    }

    /// Sends one invalidation, to the client or its redirection. A redirection to a client
    /// that is gone marks the redirection broken and tells a RESP3 client so instead.
    fn deliver(&self, shared: &Shared, m: &Msg<'_>, keys: Option<&[&[u8]]>) {
        if m.redirect == 0 {
            send(shared, m.client, m.loop_idx, keys);
            return;
        }
        if shared.clients.lock().contains_key(&m.redirect) {
            send(shared, m.redirect, usize::MAX, keys);
            return;
        }
        let resp3 = shared.clients.lock().get(&m.client).is_some_and(|info| {
            info.tracking_broken.store(true, Ordering::Relaxed);
            info.resp3.load(Ordering::Relaxed)
        });
        if resp3 {
            let mut out = BytesMut::new();
            out.extend_from_slice(b">2\r\n");
            write::bulk(&mut out, b"tracking-redir-broken");
            write::integer(&mut out, m.redirect as i64);
            post(shared, m.loop_idx, m.client, out.freeze());
        }
    }

    /// INFO: (tracking clients, keys in the table, (key, client) items, BCAST prefixes).
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        let g = self.inner.lock();
        (g.clients.len(), g.keys.len(), g.items, g.prefixes.len())
    }
}

/// One invalidation to send: for tracking client `client`, or its redirection.
struct Msg<'a> {
    client: u64,
    loop_idx: usize,
    redirect: u64,
    keys: Vec<&'a [u8]>,
}

impl<'a> Msg<'a> {
    fn new(client: u64, t: &Tracker, keys: Vec<&'a [u8]>) -> Msg<'a> {
        Msg {
            client,
            loop_idx: t.loop_idx,
            redirect: t.opts.redirect,
            keys,
        }
    }
}

/// Sends one invalidation (`keys`; None: everything) to client `target` on loop `loop_idx`
/// (`usize::MAX`: look it up, a redirection target). A RESP3 client gets a push; a RESP2
/// client only while it is in Pub/Sub mode, as a message on `__redis__:invalidate`.
fn send(shared: &Shared, target: u64, loop_idx: usize, keys: Option<&[&[u8]]>) {
    let (resp3, loop_idx) = {
        let clients = shared.clients.lock();
        let Some(c) = clients.get(&target) else {
            return;
        };
        let l = if loop_idx == usize::MAX {
            c.loop_idx
        } else {
            loop_idx
        };
        (c.resp3.load(Ordering::Relaxed), l)
    };
    let mut out = BytesMut::new();
    if resp3 {
        out.extend_from_slice(b">2\r\n");
        write::bulk(&mut out, b"invalidate");
    } else {
        let [channels, patterns, shards] = shared.pubsub.client_counts(target);
        if channels + patterns + shards == 0 {
            return;
        }
        write::array_len(&mut out, 3);
        write::bulk(&mut out, b"message");
        write::bulk(&mut out, b"__redis__:invalidate");
    }
    match keys {
        Some(keys) => {
            write::array_len(&mut out, keys.len());
            for k in keys {
                write::bulk(&mut out, k);
            }
        }
        None if resp3 => out.extend_from_slice(b"_\r\n"),
        None => out.extend_from_slice(b"$-1\r\n"),
    }
    post(shared, loop_idx, target, out.freeze());
}

fn post(shared: &Shared, loop_idx: usize, id: u64, frame: Bytes) {
    if let Some(l) = shared.loops.get(loop_idx) {
        l.post_monitor(id, frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(f: impl FnOnce(&mut Options)) -> Options {
        let mut o = Options::default();
        f(&mut o);
        o
    }

    #[test]
    fn options_are_checked_as_redis_checks_them() {
        let p = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        assert!(check(&Options::default(), None).is_ok());
        let e = check(&opts(|o| o.prefixes = vec![p("a")]), None).unwrap_err();
        assert_eq!(e, "ERR PREFIX option requires BCAST mode to be enabled");
        let e = check(&opts(|o| (o.optin, o.optout) = (true, true)), None).unwrap_err();
        assert_eq!(e, "ERR You can't specify both OPTIN mode and OPTOUT mode");
        let e = check(&opts(|o| (o.bcast, o.optin) = (true, true)), None).unwrap_err();
        assert_eq!(e, "ERR OPTIN and OPTOUT are not compatible with BCAST");
        let e = check(
            &opts(|o| (o.bcast, o.prefixes) = (true, vec![p("a"), p("ab")])),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single \
             client must not overlap."
        );
        let cur = opts(|o| o.bcast = true);
        let e = check(&opts(|o| o.optin = true), Some(&cur)).unwrap_err();
        assert!(
            e.starts_with("ERR You can't switch BCAST mode on/off"),
            "{e}"
        );
    }

    #[test]
    fn optin_and_optout_decide_what_is_remembered() {
        let mut t = ClientTracking::default();
        assert!(t.remembers());
        t.optin = true;
        assert!(!t.remembers());
        t.caching = Some(true);
        assert!(t.remembers());
        t = ClientTracking {
            optout: true,
            ..ClientTracking::default()
        };
        assert!(t.remembers());
        t.caching = Some(false);
        assert!(!t.remembers());
        t = ClientTracking {
            bcast: true,
            ..ClientTracking::default()
        };
        assert!(!t.remembers());
    }

    #[test]
    fn the_table_forgets_a_key_once_invalidated_and_counts_items() {
        let t = Tracking::default();
        t.enable(7, 0, Options::default());
        assert!(t.active());
        let k = Bytes::from_static(b"k");
        {
            let mut g = t.inner.lock();
            g.keys.insert(k.clone(), vec![7]);
            g.items = 1;
        }
        assert_eq!(t.stats(), (1, 1, 1, 0));
        t.disable(7);
        assert!(!t.active());
        assert_eq!(t.stats().0, 0);
    }
}
