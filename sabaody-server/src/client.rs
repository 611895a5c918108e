//! Per-connection client state (what commands see) and the shared client registry entry
//! (what `CLIENT LIST` / `CLIENT KILL` / `INFO clients` see from any thread).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use sabaody_resp::Protocol;

use crate::cmd::CommandSpec;

/// Registry entry shared between the owning loop thread and commands run by other clients.
/// Small atomics only: the owner updates them per command with relaxed stores.
#[derive(Debug)]
pub(crate) struct ClientInfo {
    pub id: u64,
    pub addr: Option<SocketAddr>,
    pub laddr: Option<SocketAddr>,
    /// The socket's file descriptor (-1 without a socket), for CLIENT LIST.
    pub fd: i32,
    /// Index of the loop thread that owns the connection.
    pub loop_idx: usize,
    pub created: Instant,
    /// Milliseconds since server start of the last activity.
    pub last_interaction_ms: AtomicU64,
    pub db: AtomicUsize,
    /// `cmd::index_of` + 1 of the last command (0 = none yet).
    pub last_cmd: AtomicU16,
    pub resp3: AtomicBool,
    pub multi: AtomicBool,
    pub monitor: AtomicBool,
    /// Set by `CLIENT KILL` from another client; the owner closes the connection.
    pub killed: AtomicBool,
    /// A command of this client is held by `CLIENT PAUSE` (`CLIENT UNBLOCK` sees it).
    pub held: AtomicBool,
    /// Blocked on keys (BLPOP...): `CLIENT LIST` flag `b`, as a held client.
    pub blocked: AtomicBool,
    /// Name, lib-name, lib-ver: rarely set, so one small lock.
    pub names: Mutex<ClientNames>,
    /// The connection's buffers as of its last turn (CLIENT LIST `qbuf`, `qbuf-free`,
    /// `omem`; INFO `mem_clients_normal`): bytes of an unfinished request held, that
    /// buffer's spare capacity, bytes of replies the socket has not taken.
    pub qbuf: AtomicUsize,
    pub qbuf_free: AtomicUsize,
    pub omem: AtomicUsize,
    /// `CLIENT TRACKING`: -1 off, else the redirection (0: none). CLIENT LIST `redir`, flag `t`.
    pub tracking: AtomicI64,
    /// Tracking in BCAST mode (flag `B`).
    pub tracking_bcast: AtomicBool,
    /// Its tracking redirection's client is gone (flag `R`).
    pub tracking_broken: AtomicBool,
}

/// Memory a connection takes besides its buffers (its structures; Redis counts its client
/// struct the same way in `tot-mem`).
pub(crate) const CONN_OVERHEAD: usize = 1024;

/// Stores `v` if it changed (the common unchanged case stays a read of a local line).
#[inline]
pub(crate) fn set_if_changed(a: &AtomicUsize, v: usize) {
    if a.load(Ordering::Relaxed) != v {
        a.store(v, Ordering::Relaxed);
    }
}

/// The strings a client sets about itself.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClientNames {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
}

impl ClientInfo {
    /// The connection's memory as CLIENT LIST's `tot-mem` and INFO's `mem_clients_normal`
    /// count it: its buffers and its structures.
    pub fn total_memory(&self) -> usize {
        self.qbuf.load(Ordering::Relaxed)
            + self.qbuf_free.load(Ordering::Relaxed)
            + self.omem.load(Ordering::Relaxed)
            + CONN_OVERHEAD
    }

    pub fn new(
        id: u64,
        addr: Option<SocketAddr>,
        laddr: Option<SocketAddr>,
        loop_idx: usize,
        fd: i32,
    ) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            loop_idx,
            created: Instant::now(),
            last_interaction_ms: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            last_cmd: AtomicU16::new(0),
            resp3: AtomicBool::new(false),
            multi: AtomicBool::new(false),
            monitor: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            held: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            names: Mutex::new(ClientNames::default()),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            tracking: AtomicI64::new(-1),
            tracking_bcast: AtomicBool::new(false),
            tracking_broken: AtomicBool::new(false),
        }
    }

    pub fn note_command(&self, cmd_index: usize) {
        self.last_cmd.store(cmd_index as u16 + 1, Ordering::Relaxed);
    }

    /// Records activity at `now_ms` (milliseconds since server start, the loop's coarse clock).
    pub fn touch(&self, now_ms: u64) {
        self.last_interaction_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Milliseconds since the last activity.
    pub fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed))
    }

    /// One `CLIENT LIST` line (without the trailing newline), fields as Redis 7.0 prints them;
    /// `subs`: its (channels, patterns, shard channels) subscriptions.
    pub fn list_line(&self, now_ms: u64, cmd_name: &str, subs: [u32; 3]) -> String {
        let names = self.names.lock().clone();
        let name = names
            .name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let addr = self.addr.map(|a| a.to_string()).unwrap_or_default();
        let laddr = self.laddr.map(|a| a.to_string()).unwrap_or_default();
        let mut flags = String::new();
        if self.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        if subs.iter().any(|&n| n > 0) {
            flags.push('P');
        }
        if self.multi.load(Ordering::Relaxed) {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) || self.held.load(Ordering::Relaxed) {
            flags.push('b');
        }
        let redir = self.tracking.load(Ordering::Relaxed);
        if redir >= 0 {
            flags.push('t');
        }
        if self.tracking_broken.load(Ordering::Relaxed) {
            flags.push('R');
        }
        if self.tracking_bcast.load(Ordering::Relaxed) {
            flags.push('B');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let lib_name = names
            .lib_name
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib_ver = names
            .lib_ver
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir={} resp={} lib-name={} lib-ver={}",
            self.id,
            addr,
            laddr,
            self.fd,
            name,
            self.created.elapsed().as_secs(),
            self.idle_ms(now_ms) / 1000,
            flags,
            self.db.load(Ordering::Relaxed),
            subs[0],
            subs[1],
            subs[2],
            if self.multi.load(Ordering::Relaxed) {
                0
            } else {
                -1
            },
            self.qbuf.load(Ordering::Relaxed),
            self.qbuf_free.load(Ordering::Relaxed),
            self.omem.load(Ordering::Relaxed),
            self.total_memory(),
            cmd_name,
            redir,
            if self.resp3.load(Ordering::Relaxed) {
                3
            } else {
                2
            },
            lib_name,
            lib_ver,
        )
    }
}

/// A queued MULTI transaction.
#[derive(Debug, Default)]
pub(crate) struct MultiState {
    /// Queued commands with their validated specs.
    pub queued: Vec<(&'static CommandSpec, Vec<Bytes>)>,
    /// A queuing error happened: EXEC answers EXECABORT.
    pub dirty: bool,
}

/// Keys this client WATCHes and the flag writers set when one of them changes.
#[derive(Debug)]
pub(crate) struct WatchState {
    pub keys: Vec<(usize, Bytes)>,
    /// The watched keys that existed (and had not expired) when they were watched: if one of
    /// them is gone at EXEC it expired or was evicted, which aborts the transaction as in
    /// Redis 7.0 (every other way of removing a key marks `dirty` itself).
    pub alive: Vec<(usize, Bytes)>,
    pub dirty: Arc<AtomicBool>,
}

/// Connection-local state seen by command handlers. Rare parts are boxed so an idle
/// connection stays small.
#[derive(Debug)]
pub(crate) struct Client {
    pub id: u64,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// Close the connection once the replies written so far are flushed (QUIT, CLIENT KILL of
    /// self, protocol error).
    pub close_after_reply: bool,
    pub info: Arc<ClientInfo>,
    pub multi: Option<Box<MultiState>>,
    pub watch: Option<Box<WatchState>>,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    /// When the command now running started (command timing for stats and the slow log).
    pub clock: u64,
    /// Blocked by BLPOP & co. (registered in `Shared::blocking`): its later requests wait.
    pub blocked: bool,
    /// When a blocked client times out (`None`: never).
    pub block_deadline: Option<Instant>,
    /// Running EXEC's queued commands without a transaction handle: BLPOP & co. must not block.
    pub in_exec: bool,
    /// The request `CLIENT PAUSE` holds (not run yet) and its ticket
    /// ([`crate::blocking::Pause::enqueue`]): its later requests wait behind it.
    pub held: Option<Box<(u64, Vec<Bytes>)>>,
    /// Pub/Sub subscriptions; `None` while subscribed to nothing (Redis's subscribed mode is
    /// `Some`).
    pub pubsub: Option<Box<crate::pubsub::ClientSubs>>,
    /// `CLIENT TRACKING` state (None: not tracking).
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// `CLIENT REPLY` state: 0 = replies on, else the [`REPLY_OFF`] / [`REPLY_SKIP`] /
    /// [`REPLY_SKIP_NEXT`] bits (one byte test per command while it is 0).
    pub reply: u8,
}

/// `CLIENT REPLY OFF`: no reply until `CLIENT REPLY ON`.
pub(crate) const REPLY_OFF: u8 = 1;
/// The reply of the command now running is dropped (the one after `CLIENT REPLY SKIP`).
pub(crate) const REPLY_SKIP: u8 = 2;
/// `CLIENT REPLY SKIP` just ran: the next command's reply is dropped.
pub(crate) const REPLY_SKIP_NEXT: u8 = 4;

impl Client {
    /// Whether the reply of the command now ending is dropped (`CLIENT REPLY OFF / SKIP`).
    pub fn reply_dropped(&self) -> bool {
        self.reply & (REPLY_OFF | REPLY_SKIP) != 0
    }

    /// A command starts: the one after `CLIENT REPLY SKIP` is the one whose reply is dropped.
    pub fn reply_command_start(&mut self) {
        if self.reply & REPLY_SKIP_NEXT != 0 {
            self.reply = (self.reply & !REPLY_SKIP_NEXT) | REPLY_SKIP;
        }
    }

    /// A command ended (and was not left blocked; else once it is served or times out): SKIP
    /// applies to one command only, as Redis's `resetClient`.
    pub fn reply_command_done(&mut self) {
        self.reply &= !REPLY_SKIP;
    }
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Self {
        Client {
            id: info.id,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            close_after_reply: false,
            info,
            multi: None,
            watch: None,
            monitor: false,
            no_evict: false,
            no_touch: false,
            clock: crate::mono::now_ns(),
            blocked: false,
            block_deadline: None,
            in_exec: false,
            held: None,
            pubsub: None,
            tracking: None,
            reply: 0,
        }
    }
}

/// How many one-second peaks [`BufferPeaks`] keeps (Redis's `CLIENTS_PEAK_MEM_USAGE_SLOTS`).
const PEAK_SLOTS: usize = 8;

/// The largest client query buffer and output buffer seen in each of the last few seconds,
/// for INFO's `client_recent_max_input_buffer` / `client_recent_max_output_buffer`: a ring of
/// per-second peaks, as Redis's clientsCron keeps them. One per loop thread (INFO takes the
/// largest of all), written by its owner only: from its cron (every connection's buffered
/// input and pending output) and from cold paths (a read that fills the read chunk, a request
/// spanning reads, replies the socket did not take); nothing per request.
#[derive(Debug, Default)]
pub(crate) struct BufferPeaks {
    /// The slot of the current second.
    slot: AtomicUsize,
    input: [AtomicU64; PEAK_SLOTS],
    output: [AtomicU64; PEAK_SLOTS],
}

impl BufferPeaks {
    /// A connection holds `bytes` of request input now.
    pub fn note_input(&self, bytes: usize) {
        let i = self.slot.load(Ordering::Relaxed) % PEAK_SLOTS;
        if let Some(a) = self.input.get(i) {
            a.fetch_max(bytes as u64, Ordering::Relaxed);
        }
    }

    /// A connection holds `bytes` of replies the socket has not taken.
    pub fn note_output(&self, bytes: usize) {
        let i = self.slot.load(Ordering::Relaxed) % PEAK_SLOTS;
        if let Some(a) = self.output.get(i) {
            a.fetch_max(bytes as u64, Ordering::Relaxed);
        }
    }

    /// Called from the cron with the current second: peaks go to that second's slot, and the
    /// slot after it (the oldest) is cleared for the next second, as Redis does.
    pub fn rotate(&self, secs: u64) {
        let cur = (secs % PEAK_SLOTS as u64) as usize;
        self.slot.store(cur, Ordering::Relaxed);
        let next = (cur + 1) % PEAK_SLOTS;
        for ring in [&self.input, &self.output] {
            if let Some(a) = ring.get(next) {
                a.store(0, Ordering::Relaxed);
            }
        }
    }

    /// The largest input and output seen over the ring: the last few seconds.
    pub fn recent_max(&self) -> (u64, u64) {
        let max = |ring: &[AtomicU64; PEAK_SLOTS]| {
            ring.iter()
                .map(|a| a.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0)
        };
        (max(&self.input), max(&self.output))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_peaks_cover_the_last_seconds() {
        let p = BufferPeaks::default();
        p.rotate(100);
        p.note_input(500);
        p.note_output(70);
        p.note_input(300);
        assert_eq!(p.recent_max(), (500, 70));
        // Later seconds keep the peak of second 100 while it is in the ring...
        for s in 101..107 {
            p.rotate(s);
            p.note_input(10);
            assert_eq!(p.recent_max(), (500, 70), "second {s}");
        }
        p.rotate(107);
        assert_eq!(p.recent_max(), (10, 0));
        // ... a bigger peak replaces it at once.
        p.note_output(9000);
        assert_eq!(p.recent_max(), (10, 9000));
        // Eight seconds on, second 107's slot is reused: cleared the second before.
        for s in 108..=115 {
            p.rotate(s);
        }
        assert_eq!(p.recent_max(), (0, 0));
    }
}
