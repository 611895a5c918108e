//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0 publishes them.
//!
//! Commands report what they did to a key (`ctx.notify(class::SET, b"sadd", key)`); when the
//! event's class is enabled, it is published on `__keyspace@<db>__:<key>` (message: the event)
//! if `K` is set and on `__keyevent@<db>__:<event>` (message: the key) if `E` is set. The
//! store reports keys it removes by itself (`expired`, `evicted`) through its removal hook.
//!
//! With notifications off (the default) a command pays one relaxed atomic load per event site.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sabaody_core::RemovalCause;

/// Notification classes: Redis's `NOTIFY_*` bits, with the same values.
pub(crate) mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 13; // d
    pub const NEW: u32 = 1 << 14; // n
    /// `A`: every class but key misses and new keys.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Classes Redis has that Sabaody does not publish: `CONFIG SET` refuses them rather than
/// accept a subscription that would never hear anything.
pub(crate) const UNSUPPORTED: u32 = class::NEW;

/// Parses a `notify-keyspace-events` value; `None` on a character that names no class.
pub(crate) fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => class::ALL,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            't' => class::STREAM,
            'm' => class::KEY_MISS,
            'd' => class::MODULE,
            'n' => class::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical text of `flags`, as `CONFIG GET` shows it (Redis's order; with every class of
/// `A` set it prints `A`, and then, as Redis, leaves `n` out).
pub(crate) fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & class::ALL == class::ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (class::GENERIC, 'g'),
            (class::STRING, '$'),
            (class::LIST, 'l'),
            (class::SET, 's'),
            (class::HASH, 'h'),
            (class::ZSET, 'z'),
            (class::EXPIRED, 'x'),
            (class::EVICTED, 'e'),
            (class::STREAM, 't'),
            (class::MODULE, 'd'),
            (class::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [
        (class::KEYSPACE, 'K'),
        (class::KEYEVENT, 'E'),
        (class::KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Told about a key (client-side caching invalidation of expired and evicted keys).
pub(crate) type KeyHook = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Where events with no command behind them are published: `(channel, message)` (Pub/Sub,
/// connected by [`connect`] once the server's shared state exists).
pub(crate) type Sink = Box<dyn Fn(&[u8], &[u8]) + Send + Sync>;

/// The enabled classes and the publisher they go to.
#[derive(Default)]
pub(crate) struct Notifier {
    flags: AtomicU32,
    sink: OnceLock<Sink>,
    /// Told about every key the store expires or evicts (client-side caching invalidation).
    on_removed: OnceLock<KeyHook>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field(
                "flags",
                &flags_to_string(self.flags.load(Ordering::Relaxed)),
            )
            .field("sink", &self.sink.get().is_some())
            .finish()
    }
}

impl Notifier {
    /// Sets the enabled classes (from `notify-keyspace-events`).
    pub(crate) fn set_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Connects the publisher; the first call wins.
    pub(crate) fn set_sink(&self, sink: Sink) {
        let _ = self.sink.set(sink);
    }

    /// Whether an event of `class` would be published (the cheap test before building one).
    #[inline]
    pub(crate) fn wants(&self, class: u32) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & class != 0 && f & (class::KEYSPACE | class::KEYEVENT) != 0
    }

    /// Publishes `event` on `key` of database `db` through the sink, if its class is enabled
    /// (for events with no command behind them; a command publishes through its client, see
    /// `Ctx::notify`).
    #[inline]
    pub(crate) fn event(&self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.wants(class)
            && let Some(sink) = self.sink.get()
        {
            self.messages(event.as_bytes(), key, db, |ch, msg| sink(ch, msg));
        }
    }

    /// Calls `publish(channel, message)` for each message an event makes: the keyspace
    /// channel's (with `K`), then the keyevent channel's (with `E`), as Redis sends them.
    #[cold]
    pub(crate) fn messages(
        &self,
        event: &[u8],
        key: &[u8],
        db: usize,
        mut publish: impl FnMut(&[u8], &[u8]),
    ) {
        let f = self.flags.load(Ordering::Relaxed);
        if f & class::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            publish(&ch, event);
        }
        if f & class::KEYEVENT != 0 {
            let mut ch = format!("__keyevent@{db}__:").into_bytes();
            ch.extend_from_slice(event);
            publish(&ch, key);
        }
    }

    /// The store removed `key` by itself (the removal hook): `expired` or `evicted`.
    pub(crate) fn removed(&self, db: usize, key: &[u8], cause: RemovalCause) {
        match cause {
            RemovalCause::Expired => self.event(class::EXPIRED, "expired", key, db),
            RemovalCause::Evicted => self.event(class::EVICTED, "evicted", key, db),
            // Commands report their own deletions (`del`, `lpop` + `del`, ...).
            RemovalCause::Removed => return,
        }
        if let Some(f) = self.on_removed.get() {
            f(key);
        }
    }
}

/// Connects `shared`'s notifier to its Pub/Sub registry and its client-side caching.
pub(crate) fn connect(shared: &std::sync::Arc<crate::server::Shared>) {
    let weak = std::sync::Arc::downgrade(shared);
    shared
        .notify
        .set_sink(Box::new(move |channel: &[u8], message: &[u8]| {
            if let Some(s) = weak.upgrade() {
                s.pubsub.publish_detached(&s, channel, message);
            }
        }));
    let weak = std::sync::Arc::downgrade(shared);
    let _ = shared.notify.on_removed.set(Box::new(move |key: &[u8]| {
        if let Some(s) = weak.upgrade() {
            s.invalidate_tracked(None, key);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        for (input, shown) in [
            ("", ""),
            ("KEA", "AKE"),
            ("gs", "gs"),
            ("xxKm", "xKm"),
            ("AnmKE", "AKEm"),
            ("Eg$lshzxetdn", "AE"),
            ("E$n", "$nE"),
            ("Kd", "dK"),
        ] {
            let f = parse_flags(input).unwrap();
            assert_eq!(flags_to_string(f), shown, "{input}");
        }
        assert!(parse_flags("KEQ").is_none());
        assert!(parse_flags("k").is_none());
        // `A` hides `n` in the text, but the class stays enabled.
        assert_ne!(parse_flags("An").unwrap() & class::NEW, 0);
    }

    #[test]
    fn the_directive_shows_redis_text_and_refuses_what_is_not_published() {
        let mut c = crate::config::Config::default();
        c.set("notify-keyspace-events", &["KEA"]).unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("AKE"));
        assert_eq!(c.notify_keyspace_flags, parse_flags("AKE").unwrap());
        let e = c.set("notify-keyspace-events", &["Q"]).unwrap_err();
        assert!(
            format!("{e:?}").contains("Invalid event class character"),
            "{e:?}"
        );
        let e = c.set("notify-keyspace-events", &["KEn"]).unwrap_err();
        assert!(format!("{e:?}").contains("new-key"), "{e:?}");
        assert!(c.set("notify-keyspace-events", &["An"]).is_err());
        // A refused value leaves the old one.
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("AKE"));
        c.set("notify-keyspace-events", &[""]).unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some(""));
        assert_eq!(c.notify_keyspace_flags, 0);
    }

    fn capture(n: &Notifier) -> Arc<Mutex<Vec<(String, String)>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        n.set_sink(Box::new(move |ch: &[u8], msg: &[u8]| {
            s.lock().unwrap().push((
                String::from_utf8_lossy(ch).into_owned(),
                String::from_utf8_lossy(msg).into_owned(),
            ));
        }));
        seen
    }

    #[test]
    fn publishes_on_the_enabled_channels_only() {
        let n = Notifier::default();
        let seen = capture(&n);
        n.event(class::SET, "sadd", b"k", 0);
        assert!(seen.lock().unwrap().is_empty(), "off by default");
        n.set_flags(parse_flags("Ks").unwrap());
        n.event(class::SET, "sadd", b"k", 3);
        n.event(class::HASH, "hset", b"h", 0);
        n.set_flags(parse_flags("Eh").unwrap());
        n.event(class::HASH, "hset", b"h", 0);
        // A class without K or E publishes nothing.
        n.set_flags(parse_flags("A").unwrap());
        n.event(class::HASH, "hset", b"h", 0);
        n.set_flags(parse_flags("KEx").unwrap());
        n.removed(1, b"t", RemovalCause::Expired);
        n.removed(1, b"t", RemovalCause::Evicted);
        n.removed(1, b"t", RemovalCause::Removed);
        let got = seen.lock().unwrap().clone();
        let want: Vec<(String, String)> = [
            ("__keyspace@3__:k", "sadd"),
            ("__keyevent@0__:hset", "h"),
            ("__keyspace@1__:t", "expired"),
            ("__keyevent@1__:expired", "t"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
