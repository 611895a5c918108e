//! Pub/Sub: who is subscribed to what, and how a published message reaches its subscribers.
//!
//! The registry ([`PubSub`], in `Shared`) maps each channel, shard channel and pattern to its
//! subscribers: client id, loop thread, protocol. A client's own subscriptions live in its
//! [`Client::pubsub`] (boxed, `None` for a client subscribed to nothing, so an idle
//! connection pays one pointer). The two are changed together by the subscribing client's
//! own loop thread.
//!
//! PUBLISH runs on the publisher's loop thread. It reads the registry under a read lock,
//! builds each message frame once per protocol, writes the publisher's own copy (a RESP3
//! client may publish to a channel it listens to) straight into its reply, and routes every
//! other copy as a [`Delivery`] to the subscriber's loop thread:
//!
//! ```text
//!   publisher (loop A) ── registry read ──┬─ subscriber on loop A: the thread's outbox, handed
//!                                         │  to loop A right after the publisher's requests ran
//!                                         └─ subscriber on loop B: the outbox too, then one
//!                                            batch per loop into B's inbox + one wake-up
//! ```
//!
//! A loop appends each delivery to its replies of the turn (after the replies already owed to
//! that client, so a SUBSCRIBE confirmation precedes the first message) and writes them at the
//! end of the turn. One publisher's messages to one subscriber keep their order: they travel
//! one path, in order. On arrival a delivery is dropped if the client is gone or no longer
//! subscribed to what it was sent for (an UNSUBSCRIBE that ran on the subscriber's thread
//! after the message was published): a RESP2 client that left subscribed mode must never see
//! a message in place of a command's reply. A subscriber that stops reading gathers its
//! messages as pending output until the `client-output-buffer-limit` pubsub class closes it.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use sabaody_resp::{Protocol, write};

use crate::client::Client;
use crate::server::Shared;

/// What a subscription is to: Redis's three namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Channel = 0,
    Pattern = 1,
    Shard = 2,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    fn idx(self) -> usize {
        self as usize
    }

    /// The confirmation words: (subscribe, unsubscribe).
    pub fn words(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

/// One subscriber of a channel or pattern.
#[derive(Debug, Clone, Copy)]
struct Sub {
    id: u64,
    loop_idx: usize,
    resp3: bool,
}

type SubMap = hashbrown::HashMap<Bytes, Vec<Sub>>;

/// The server's subscriptions.
#[derive(Debug, Default)]
pub(crate) struct PubSub {
    channels: RwLock<SubMap>,
    shard: RwLock<SubMap>,
    /// Patterns with their subscribers, in the order they were first subscribed (a
    /// publication matches the channel against each).
    patterns: RwLock<Vec<(Bytes, Vec<Sub>)>>,
    /// (client, name) subscriptions per [`Kind`]: a publication reads no lock where 0.
    counts: [AtomicUsize; 3],
    /// Subscriptions per [`Kind`] of every subscribed client (CLIENT LIST `sub`, `psub`,
    /// `ssub`, flag `P`, `TYPE pubsub`).
    clients: Mutex<hashbrown::HashMap<u64, [u32; 3]>>,
}

/// A client's own subscriptions (the registry's other half): each name with the order it was
/// subscribed in (an unsubscription from everything goes in that order).
#[derive(Debug, Default)]
pub(crate) struct ClientSubs {
    sets: [hashbrown::HashMap<Bytes, u64>; 3],
    next: u64,
}

impl ClientSubs {
    pub fn has(&self, kind: Kind, name: &[u8]) -> bool {
        self.sets[kind.idx()].contains_key(name)
    }

    fn count(&self, kind: Kind) -> usize {
        self.sets[kind.idx()].len()
    }

    fn total(&self) -> usize {
        self.sets.iter().map(hashbrown::HashMap::len).sum()
    }

    /// Names of one kind in subscription order.
    fn names(&self, kind: Kind) -> Vec<Bytes> {
        let mut v: Vec<(&Bytes, &u64)> = self.sets[kind.idx()].iter().collect();
        v.sort_by_key(|(_, seq)| **seq);
        v.into_iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The running subscription count a confirmation carries: channels and patterns together,
/// shard channels on their own (as Redis counts them).
fn running_count(client: &Client, kind: Kind) -> usize {
    client.pubsub.as_ref().map_or(0, |s| match kind {
        Kind::Shard => s.count(Kind::Shard),
        _ => s.count(Kind::Channel) + s.count(Kind::Pattern),
    })
}

/// `[un]subscribe name count` (a push in RESP3); `name` `None` is the null of an
/// unsubscription from nothing.
fn confirm(out: &mut BytesMut, proto: Protocol, word: &[u8], name: Option<&[u8]>, count: usize) {
    write::push_len(out, proto, 3);
    write::bulk(out, word);
    match name {
        Some(n) => write::bulk(out, n),
        None => write::null(out, proto),
    }
    write::integer(out, count as i64);
}

/// A message as one frame: `message ch msg`, `pmessage pat ch msg`, `smessage ch msg`.
fn frame(proto: Protocol, parts: &[&[u8]]) -> Bytes {
    let mut b = BytesMut::with_capacity(parts.iter().map(|p| p.len() + 16).sum::<usize>() + 8);
    write::push_len(&mut b, proto, parts.len());
    for p in parts {
        write::bulk(&mut b, p);
    }
    b.freeze()
}

/// A message for a client of a loop thread.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub id: u64,
    /// What the client must still be subscribed to when it arrives.
    pub kind: Kind,
    pub name: Bytes,
    pub frame: Bytes,
}

/// The message frames of one publication, built on first use, once per protocol.
struct Frames<'a> {
    word: &'static [u8],
    pattern: Option<&'a [u8]>,
    channel: &'a [u8],
    message: &'a [u8],
    built: [Option<Bytes>; 2],
}

impl Frames<'_> {
    fn get(&mut self, resp3: bool) -> Bytes {
        let slot = &mut self.built[usize::from(resp3)];
        if let Some(f) = slot {
            return f.clone();
        }
        let proto = if resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let f = match self.pattern {
            Some(p) => frame(proto, &[self.word, p, self.channel, self.message]),
            None => frame(proto, &[self.word, self.channel, self.message]),
        };
        *slot = Some(f.clone());
        f
    }
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<SubMap> {
        match kind {
            Kind::Shard => &self.shard,
            _ => &self.channels,
        }
    }

    fn note_client(&self, id: u64, kind: Kind, added: bool) {
        let mut m = self.clients.lock();
        let e = m.entry(id).or_insert([0; 3]);
        let n = &mut e[kind.idx()];
        if added {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
        }
        if e.iter().all(|&n| n == 0) {
            m.remove(&id);
        }
    }

    fn add(&self, kind: Kind, name: &Bytes, sub: Sub) {
        match kind {
            Kind::Pattern => {
                let mut pats = self.patterns.write();
                match pats.iter_mut().find(|(p, _)| p == name) {
                    Some((_, subs)) => subs.push(sub),
                    None => pats.push((name.clone(), vec![sub])),
                }
            }
            _ => self
                .map(kind)
                .write()
                .entry(name.clone())
                .or_default()
                .push(sub),
        }
        self.counts[kind.idx()].fetch_add(1, Ordering::Relaxed);
        self.note_client(sub.id, kind, true);
    }

    fn remove(&self, kind: Kind, name: &[u8], id: u64) {
        let removed = match kind {
            Kind::Pattern => {
                let mut pats = self.patterns.write();
                let mut removed = false;
                if let Some(i) = pats.iter().position(|(p, _)| p == name) {
                    let subs = &mut pats[i].1;
                    let before = subs.len();
                    subs.retain(|s| s.id != id);
                    removed = subs.len() < before;
                    if subs.is_empty() {
                        // Keeps the order of the others (the order publications match them).
                        pats.remove(i);
                    }
                }
                removed
            }
            _ => {
                let mut m = self.map(kind).write();
                let mut removed = false;
                if let Some(subs) = m.get_mut(name) {
                    let before = subs.len();
                    subs.retain(|s| s.id != id);
                    removed = subs.len() < before;
                    if subs.is_empty() {
                        m.remove(name);
                    }
                }
                removed
            }
        };
        if removed {
            self.counts[kind.idx()].fetch_sub(1, Ordering::Relaxed);
            self.note_client(id, kind, false);
        }
    }

    /// `client` subscribes to `names` (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE), one confirmation
    /// each.
    pub fn subscribe(&self, client: &mut Client, kind: Kind, names: &[Bytes], out: &mut BytesMut) {
        let (word, _) = kind.words();
        for name in names {
            let subs = client.pubsub.get_or_insert_with(Box::default);
            if !subs.has(kind, name) {
                let name = Bytes::copy_from_slice(name);
                let seq = subs.next;
                subs.next += 1;
                subs.sets[kind.idx()].insert(name.clone(), seq);
                let sub = Sub {
                    id: client.id,
                    loop_idx: client.info.loop_idx,
                    resp3: client.proto == Protocol::Resp3,
                };
                self.add(kind, &name, sub);
            }
            confirm(
                out,
                client.proto,
                word,
                Some(name),
                running_count(client, kind),
            );
        }
    }

    /// `client` unsubscribes from `names`, or from everything of `kind` when `names` is
    /// empty (one confirmation each; a null name and the count when there was nothing).
    pub fn unsubscribe(
        &self,
        client: &mut Client,
        kind: Kind,
        names: &[Bytes],
        out: &mut BytesMut,
    ) {
        let (_, word) = kind.words();
        let all;
        let names = if names.is_empty() {
            all = client
                .pubsub
                .as_ref()
                .map_or_else(Vec::new, |s| s.names(kind));
            if all.is_empty() {
                confirm(out, client.proto, word, None, running_count(client, kind));
                return;
            }
            &all[..]
        } else {
            names
        };
        for name in names {
            self.drop_one(client, kind, name);
            confirm(
                out,
                client.proto,
                word,
                Some(name),
                running_count(client, kind),
            );
        }
        if client.pubsub.as_ref().is_some_and(|s| s.total() == 0) {
            client.pubsub = None;
        }
    }

    fn drop_one(&self, client: &mut Client, kind: Kind, name: &[u8]) {
        let Some(subs) = client.pubsub.as_mut() else {
            return;
        };
        if subs.sets[kind.idx()].remove(name).is_some() {
            self.remove(kind, name, client.id);
        }
    }

    /// Drops every subscription of `client` without a reply (RESET, disconnection).
    pub fn forget(&self, client: &mut Client) {
        let Some(subs) = client.pubsub.take() else {
            return;
        };
        for kind in Kind::ALL {
            for name in subs.sets[kind.idx()].keys() {
                self.remove(kind, name, client.id);
            }
        }
    }

    /// The client's protocol changed (HELLO): its messages are framed for the new one.
    pub fn reframe(&self, client: &Client) {
        let Some(subs) = client.pubsub.as_ref() else {
            return;
        };
        let resp3 = client.proto == Protocol::Resp3;
        let set = |list: &mut Vec<Sub>| {
            for s in list.iter_mut().filter(|s| s.id == client.id) {
                s.resp3 = resp3;
            }
        };
        for kind in [Kind::Channel, Kind::Shard] {
            let mut m = self.map(kind).write();
            for name in subs.sets[kind.idx()].keys() {
                if let Some(list) = m.get_mut(name) {
                    set(list);
                }
            }
        }
        let mut pats = self.patterns.write();
        for (p, list) in pats.iter_mut() {
            if subs.has(Kind::Pattern, p) {
                set(list);
            }
        }
    }

    /// PUBLISH / SPUBLISH: delivers `message` to the subscribers of `channel` (and, unless
    /// `shard`, of every matching pattern; a client matching several times receives it
    /// several times) and returns how many copies were sent, as Redis counts receivers.
    pub fn publish(
        &self,
        shared: &Shared,
        publisher: &mut Client,
        out: &mut BytesMut,
        shard: bool,
        channel: &[u8],
        message: &[u8],
    ) -> usize {
        self.publish_from(shared, Some((publisher.id, out)), shard, channel, message)
    }

    /// Publishes on `channel` with no publishing client (the keyspace events the store raises
    /// by itself, `expired` and `evicted`, on whatever thread removed the key): every copy is
    /// routed.
    pub fn publish_detached(&self, shared: &Shared, channel: &[u8], message: &[u8]) -> usize {
        self.publish_from(shared, None, false, channel, message)
    }

    /// [`PubSub::publish`], the publisher (its id and reply buffer) being optional.
    fn publish_from(
        &self,
        shared: &Shared,
        mut publisher: Option<(u64, &mut BytesMut)>,
        shard: bool,
        channel: &[u8],
        message: &[u8],
    ) -> usize {
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        let direct = self.counts[kind.idx()].load(Ordering::Relaxed) > 0;
        let patterns = !shard && self.counts[Kind::Pattern.idx()].load(Ordering::Relaxed) > 0;
        if !direct && !patterns {
            return 0;
        }
        let mut receivers = 0;
        if direct {
            let map = self.map(kind).read();
            // The registry's own copy of the name travels with each delivery (no copy).
            if let Some((name, subs)) = map.get_key_value(channel) {
                let mut frames = Frames {
                    word: if shard { b"smessage" } else { b"message" },
                    pattern: None,
                    channel,
                    message,
                    built: [None, None],
                };
                receivers += deliver_all(shared, &mut publisher, subs, &mut frames, kind, name);
            }
        }
        if patterns {
            let pats = self.patterns.read();
            for (p, subs) in pats.iter() {
                if !sabaody_core::glob_match(p, channel) {
                    continue;
                }
                let mut frames = Frames {
                    word: b"pmessage",
                    pattern: Some(p),
                    channel,
                    message,
                    built: [None, None],
                };
                receivers +=
                    deliver_all(shared, &mut publisher, subs, &mut frames, Kind::Pattern, p);
            }
        }
        receivers
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: the channels with subscribers matching `pattern`.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        self.map(kind)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| sabaody_core::glob_match(p, c)))
            .cloned()
            .collect()
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel (patterns not counted).
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        self.map(kind).read().get(channel).map_or(0, Vec::len)
    }

    /// INFO stats: channels, patterns and shard channels with at least one subscriber.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.channels.read().len(),
            self.patterns.read().len(),
            self.shard.read().len(),
        )
    }

    /// A client's (channels, patterns, shard channels) subscriptions.
    pub fn client_counts(&self, id: u64) -> [u32; 3] {
        self.clients.lock().get(&id).copied().unwrap_or([0; 3])
    }

    /// Ids of the clients subscribed to anything (CLIENT LIST / KILL `TYPE pubsub`).
    pub fn subscribed_ids(&self) -> hashbrown::HashSet<u64> {
        self.clients.lock().keys().copied().collect()
    }
}

// ----- routing -------------------------------------------------------------------------------

thread_local! {
    /// A loop thread's deliveries from the requests it is running, per target loop, handed
    /// over by [`take_outbox`] once the publisher's requests ran (a batch per loop instead
    /// of a lock and a wake-up per message). `None` on threads that are not loops.
    static OUTBOX: RefCell<Option<Vec<Vec<Delivery>>>> = const { RefCell::new(None) };
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Makes the current thread a loop thread of `loops` loops (its deliveries are batched).
pub(crate) fn bind_loop_thread(loops: usize) {
    OUTBOX.with(|o| {
        *o.borrow_mut() = Some((0..loops).map(|_| Vec::new()).collect());
    });
}

/// Sends one publication's frame to each of `subs` (subscribed by `kind` to `name`): the
/// publisher's own copy straight into its reply buffer, the others routed to their loops.
/// Returns how many copies went out.
fn deliver_all(
    shared: &Shared,
    publisher: &mut Option<(u64, &mut BytesMut)>,
    subs: &[Sub],
    frames: &mut Frames<'_>,
    kind: Kind,
    name: &Bytes,
) -> usize {
    for s in subs {
        let frame = frames.get(s.resp3);
        if let Some((id, out)) = publisher.as_mut()
            && s.id == *id
        {
            out.extend_from_slice(&frame);
        } else {
            route(
                shared,
                s.loop_idx,
                Delivery {
                    id: s.id,
                    kind,
                    name: name.clone(),
                    frame,
                },
            );
        }
    }
    subs.len()
}

fn route(shared: &Shared, loop_idx: usize, d: Delivery) {
    let Some(target) = shared.loops.get(loop_idx) else {
        return; // a client without a loop thread (a `Session`)
    };
    let queued = OUTBOX.with(|o| match o.borrow_mut().as_mut() {
        Some(per_loop) => match per_loop.get_mut(loop_idx) {
            Some(q) => {
                q.push(d);
                None
            }
            None => Some(d),
        },
        None => Some(d),
    });
    match queued {
        None => PENDING.with(|p| p.set(true)),
        Some(d) => target.post_pubsub(&mut vec![d]),
    }
}

/// Hands the deliveries routed by this thread's last requests to their loops: every other
/// loop's batch into its inbox (one lock, one wake-up each); loop `home`'s (this thread's
/// own) are moved into `local` for the caller to deliver at once.
#[inline]
pub(crate) fn take_outbox(shared: &Shared, home: usize, local: &mut Vec<Delivery>) {
    if !PENDING.with(Cell::get) {
        return;
    }
    take_outbox_slow(shared, home, local);
}

#[cold]
fn take_outbox_slow(shared: &Shared, home: usize, local: &mut Vec<Delivery>) {
    PENDING.with(|p| p.set(false));
    OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        let Some(per_loop) = o.as_mut() else {
            return;
        };
        for (i, q) in per_loop.iter_mut().enumerate() {
            if q.is_empty() {
                continue;
            }
            if i == home {
                local.append(q);
            } else if let Some(l) = shared.loops.get(i) {
                l.post_pubsub(q);
            } else {
                q.clear();
            }
        }
    });
}
