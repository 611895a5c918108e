//! The event loop threads: one `polling::Poller` per thread, level-triggered connections,
//! round-robin hand-off of accepted sockets, and a small mailbox for cross-thread wake-ups.
//!
//! A loop turn: wait for events; for each readable connection read (into the thread's scratch
//! buffer), decode every complete request and execute them in order; at the end of the turn
//! write each connection's replies with one `write` (more only if the socket takes less). A connection is registered for
//! writability only while the kernel buffer is full. A cron step every `1000/hz` ms handles idle
//! timeouts, paused listeners and the keyspace's active expiry.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use polling::{Event, Events, PollMode, Poller};
use sabaody_resp::{Limits, RequestDecoder};

use crate::client::{BufferPeaks, Client, ClientInfo};
use crate::conn::{Conn, InputOutcome, Partial, process_input};
use crate::pubsub::Delivery;
use crate::server::Shared;

/// Poller keys below this are listeners; connection slot `s` has key `CONN_BASE + s`.
const CONN_BASE: usize = 1024;
/// Bytes read per `read` call into the thread's scratch buffer.
const READ_CHUNK: usize = 64 * 1024;
/// Most bytes read from one connection per readiness event (fairness between clients).
const READ_BUDGET: usize = 1024 * 1024;
/// Pending replies above this stop reading from the client, and stop executing the requests it
/// already sent, until it drains them (back-pressure instead of unbounded growth).
const OUTPUT_BACKPRESSURE: usize = 8 * 1024 * 1024;
/// Replies held for the end of a loop turn: past this many bytes they are written at once.
const DEFERRED_MAX: usize = 256 * 1024;
/// The thread buffers are given back to the allocator when a burst left them larger than this.
const SCRATCH_KEEP: usize = 1024 * 1024;

/// Work handed to a loop thread by another thread.
#[derive(Debug, Default)]
struct Inbox {
    conns: Vec<(TcpStream, Arc<ClientInfo>)>,
    kills: Vec<u64>,
    monitor: Vec<(u64, Bytes)>,
    /// Replies for blocked clients served by another thread: (client id, reply).
    unblocks: Vec<(u64, Bytes)>,
    /// Errors for clients CLIENT PAUSE holds (`CLIENT UNBLOCK id ERROR`): (client id, reply).
    held_errors: Vec<(u64, Bytes)>,
    /// Pub/Sub messages published on other loops, in the order each loop sent them.
    pubsub: Vec<Delivery>,
}

/// The part of a loop thread other threads may touch: its poller (to wake it) and its inbox.
#[derive(Debug)]
pub(crate) struct LoopHandle {
    pub poller: Poller,
    inbox: Mutex<Inbox>,
    /// The recent peaks of this loop's clients' buffers (INFO clients).
    pub peaks: BufferPeaks,
}

impl LoopHandle {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(LoopHandle {
            poller: Poller::new()?,
            inbox: Mutex::new(Inbox::default()),
            peaks: BufferPeaks::default(),
        })
    }

    pub(crate) fn wake(&self) {
        let _ = self.poller.notify();
    }

    fn post_conn(&self, stream: TcpStream, info: Arc<ClientInfo>) {
        self.inbox.lock().conns.push((stream, info));
        self.wake();
    }

    pub(crate) fn post_kill(&self, id: u64) {
        self.inbox.lock().kills.push(id);
        self.wake();
    }

    /// Delivers the reply of a blocked client that was served (see `blocking.rs`).
    pub(crate) fn post_unblock(&self, id: u64, reply: Bytes) {
        self.inbox.lock().unblocks.push((id, reply));
        self.wake();
    }

    /// Delivers `CLIENT UNBLOCK id ERROR`'s error to a client whose command CLIENT PAUSE
    /// holds: the command stays held.
    pub(crate) fn post_held_error(&self, id: u64, reply: Bytes) {
        self.inbox.lock().held_errors.push((id, reply));
        self.wake();
    }

    /// Delivers Pub/Sub messages published on another loop (the batch is emptied).
    pub(crate) fn post_pubsub(&self, batch: &mut Vec<Delivery>) {
        self.inbox.lock().pubsub.append(batch);
        self.wake();
    }

    pub(crate) fn post_monitor(&self, id: u64, line: Bytes) {
        self.inbox.lock().monitor.push((id, line));
        self.wake();
    }
}

/// Registers a socket with a poller, level-triggered.
#[allow(unsafe_code)]
fn register(
    poller: &Poller,
    source: &impl std::os::fd::AsRawFd,
    ev: Event,
    mode: PollMode,
) -> std::io::Result<()> {
    // SAFETY: `Poller::add` requires the source to be deleted from the poller before it is
    // closed. Listeners are deleted in `Loop::drop_listeners` before being dropped, and every
    // connection socket lives in a `Conn` whose `Drop` deletes it from the poller first.
    unsafe { poller.add_with_mode(source.as_raw_fd(), ev, mode) }
}

/// Spawns the loop threads; loop 0 owns the listeners.
pub(crate) fn spawn_all(
    shared: Arc<Shared>,
    listeners: Vec<TcpListener>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::new();
    let mut listeners = Some(listeners);
    for idx in 0..shared.loops.len() {
        let mut lp = Loop::new(shared.clone(), idx);
        if idx == 0 {
            lp.listeners = listeners.take().unwrap_or_default();
            for (i, l) in lp.listeners.iter().enumerate() {
                register(&lp.handle.poller, l, Event::readable(i), PollMode::Oneshot)?;
            }
        }
        let t = std::thread::Builder::new()
            .name(format!("sabaody-loop-{idx}"))
            .spawn(move || lp.run())?;
        threads.push(t);
    }
    Ok(threads)
}

/// One readiness event, as the loop consumes it.
#[derive(Debug, Clone, Copy)]
struct Ready {
    key: usize,
    readable: bool,
    writable: bool,
}

/// Waits for readiness events on a loop's poller.
///
/// On Linux the common case is one `epoll_wait` on the poller's own epoll descriptor
/// (`Poller` is `AsFd`): `Poller::wait` also arms a timerfd for the timeout and re-arms its
/// wake-up eventfd on every call, five syscalls per loop turn where one does. Measured with
/// `perf stat -e 'syscalls:sys_enter_*'` under `redis-benchmark -t get -c 50 -P 1`: 3.52
/// syscalls per request through `Poller::wait` (1 recvfrom, 1 sendto, 0.3 turns x 5), 2.26
/// for redis-server. Registration, modes and wake-ups still go through `polling`: sockets are
/// registered level-triggered with their key as the epoll data, as `polling` does. When the
/// poller's internal wake-up descriptor fires (a `notify()` from another thread; `polling`
/// registers it with the key `usize::MAX`), `Poller::wait` is called once with a zero timeout
/// so that `polling` clears it, re-arms it and resets its notified flag; any socket events that
/// call returns are handled too. Other platforms use `Poller::wait` only.
struct Waiter {
    events: Events,
    #[cfg(target_os = "linux")]
    raw: Vec<rustix::event::epoll::Event>,
}

/// `polling`'s key for its own wake-up and timer descriptors.
#[cfg(target_os = "linux")]
const POLLING_INTERNAL_KEY: u64 = u64::MAX;

impl Waiter {
    fn new() -> Self {
        Waiter {
            events: Events::new(),
            #[cfg(target_os = "linux")]
            raw: vec![
                rustix::event::epoll::Event {
                    flags: rustix::event::epoll::EventFlags::empty(),
                    data: rustix::event::epoll::EventData::new_u64(0),
                };
                1024
            ],
        }
    }

    /// Appends the ready sources to `ready` (a key may appear twice after a wake-up; handling
    /// an event twice only costs a read that finds nothing).
    fn wait(
        &mut self,
        poller: &Poller,
        timeout: Duration,
        ready: &mut Vec<Ready>,
    ) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use rustix::event::epoll::{self, EventFlags as F};
            let ts = rustix::time::Timespec {
                tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(timeout.subsec_nanos()),
            };
            let n = match epoll::wait(poller, &mut self.raw[..], Some(&ts)) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => 0,
                Err(e) => return Err(e.into()),
            };
            let mut woken = false;
            for e in &self.raw[..n] {
                // `Event` is packed on x86-64: copy the fields out.
                let (flags, data) = (e.flags, e.data);
                let key = data.u64();
                if key == POLLING_INTERNAL_KEY {
                    woken = true;
                    continue;
                }
                ready.push(Ready {
                    key: usize::try_from(key).unwrap_or(usize::MAX),
                    readable: flags.intersects(F::IN | F::HUP | F::ERR | F::PRI),
                    writable: flags.intersects(F::OUT | F::HUP | F::ERR),
                });
            }
            if !woken {
                return Ok(());
            }
            self.poll(poller, Duration::ZERO, ready)
        }
        #[cfg(not(target_os = "linux"))]
        self.poll(poller, timeout, ready)
    }

    /// Through `Poller::wait`.
    fn poll(
        &mut self,
        poller: &Poller,
        timeout: Duration,
        ready: &mut Vec<Ready>,
    ) -> std::io::Result<()> {
        self.events.clear();
        poller.wait(&mut self.events, Some(timeout))?;
        ready.extend(self.events.iter().map(|ev| Ready {
            key: ev.key,
            readable: ev.readable,
            writable: ev.writable,
        }));
        Ok(())
    }
}

struct Loop {
    idx: usize,
    shared: Arc<Shared>,
    handle: Arc<LoopHandle>,
    listeners: Vec<TcpListener>,
    listeners_paused_until: Option<Instant>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    by_id: hashbrown::HashMap<u64, usize>,
    next_target: usize,
    scratch: Box<[u8]>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    argv: Vec<Bytes>,
    decoder: RequestDecoder,
    limits: Limits,
    last_cron: Instant,
    /// Connections whose paused requests can run again (their replies drained).
    resume: Vec<usize>,
    /// Replies produced this turn and not written yet: (slot, client id, range of `wbuf`).
    deferred: Vec<(usize, u64, std::ops::Range<usize>)>,
    /// Blocked clients with a timeout: (client id, slot, deadline).
    blocked: Vec<(u64, usize, Instant)>,
    /// Clients whose request CLIENT PAUSE holds, in the order they were held: (id, slot).
    held: Vec<(u64, usize)>,
    /// The pause kind, unpause generation and held-queue progress when the held clients were
    /// last tried: they are tried again once the pause weakens or is lifted, or another held
    /// request ran.
    held_seen: (u8, u64, u64),
    /// Pub/Sub messages this loop's requests published to this loop's clients.
    pubsub_local: Vec<Delivery>,
    /// This turn's Pub/Sub messages per receiving connection, not yet among the replies to
    /// write: (slot, client id, bytes), `None` once moved; `push_index` maps a slot to its
    /// entry. They join the deferred replies just before the connection's next reply of the
    /// turn, or at the end of the turn: one write per subscriber per turn however many
    /// publishers it heard from, and no message ahead of a reply it followed.
    pushes: Vec<Option<(usize, u64, BytesMut)>>,
    push_index: hashbrown::HashMap<usize, usize>,
    /// Emptied push buffers, reused.
    push_pool: Vec<BytesMut>,
}

impl Loop {
    fn new(shared: Arc<Shared>, idx: usize) -> Self {
        let handle = shared.loops[idx].clone();
        let limits = limits_from(&shared);
        Loop {
            idx,
            handle,
            listeners: Vec::new(),
            listeners_paused_until: None,
            conns: Vec::new(),
            free: Vec::new(),
            by_id: hashbrown::HashMap::new(),
            next_target: 0,
            scratch: vec![0u8; READ_CHUNK].into_boxed_slice(),
            rbuf: BytesMut::new(),
            wbuf: BytesMut::new(),
            argv: Vec::new(),
            decoder: RequestDecoder::new(limits),
            limits,
            last_cron: Instant::now(),
            resume: Vec::new(),
            deferred: Vec::new(),
            blocked: Vec::new(),
            held: Vec::new(),
            held_seen: (0, 0, 0),
            pubsub_local: Vec::new(),
            pushes: Vec::new(),
            push_index: hashbrown::HashMap::new(),
            push_pool: Vec::new(),
            shared,
        }
    }

    fn run(mut self) {
        crate::pubsub::bind_loop_thread(self.shared.loops.len());
        let mut waiter = Waiter::new();
        let mut ready = Vec::new();
        loop {
            let hz = self.shared.cron_hz();
            let period = Duration::from_millis(1000 / hz.max(1));
            let mut timeout = if self.resume.is_empty() {
                period.saturating_sub(self.last_cron.elapsed())
            } else {
                Duration::ZERO
            };
            if let Some(d) = self.blocked.iter().map(|b| b.2).min() {
                timeout = timeout.min(d.saturating_duration_since(Instant::now()));
            }
            if !self.held.is_empty() {
                // Wake when the pause ends (an unpause, and every held request that runs,
                // wake the loops holding requests).
                if let Some(left) = self.shared.pause.remaining() {
                    timeout = timeout.min(left);
                } else if self.held_seen.0 != crate::blocking::PAUSE_NONE {
                    timeout = Duration::ZERO;
                }
            }
            ready.clear();
            if let Err(e) = waiter.wait(&self.handle.poller, timeout, &mut ready)
                && e.kind() != ErrorKind::Interrupted
            {
                log_warning!("poller wait failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            if self.shared.is_stopping() {
                break;
            }
            self.shared.tick();
            // What other threads posted (messages, invalidations, served blocked clients)
            // before this turn's requests: a request that arrives after something was posted
            // for its client is answered after it, as from Redis's single thread.
            self.drain_inbox();
            for &ev in &ready {
                if ev.key < CONN_BASE {
                    self.accept(ev.key);
                } else {
                    let slot = ev.key - CONN_BASE;
                    if ev.writable {
                        self.flush(slot, 0..0);
                    }
                    if ev.readable {
                        self.on_readable(slot);
                    }
                }
            }
            // Each paused connection gets one more slice of work per turn, so one client with
            // a huge pipeline cannot starve the others.
            for slot in std::mem::take(&mut self.resume) {
                self.process(slot);
            }
            if !self.blocked.is_empty() {
                self.expire_blocked();
            }
            if !self.held.is_empty() {
                self.resume_held();
            }
            self.deliver_routed();
            self.flush_deferred();
            if self.wbuf.capacity() > SCRATCH_KEEP {
                self.wbuf = BytesMut::new();
            }
            if self.rbuf.capacity() > SCRATCH_KEEP {
                self.rbuf = BytesMut::new();
            }
            if self.last_cron.elapsed() >= period {
                self.last_cron = Instant::now();
                self.cron();
            }
        }
        self.stop();
    }

    // ----- accepting -------------------------------------------------------------------------

    fn accept(&mut self, li: usize) {
        if li >= self.listeners.len() {
            return;
        }
        let mut paused = false;
        loop {
            match self.listeners[li].accept() {
                Ok((stream, addr)) => self.admit(stream, addr),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // EMFILE / ENFILE / ENOBUFS: keep serving the connections we have and try
                    // again a little later instead of spinning on a readable listener.
                    log_warning!("Error accepting a client connection: {e}");
                    paused = true;
                    break;
                }
            }
        }
        if paused {
            self.listeners_paused_until = Some(Instant::now() + Duration::from_millis(100));
        } else if let Some(l) = self.listeners.get(li) {
            let _ = self.handle.poller.modify(l, Event::readable(li));
        }
    }

    fn admit(&mut self, mut stream: TcpStream, addr: SocketAddr) {
        let shared = &self.shared;
        if shared.connected.load(Ordering::Relaxed) >= shared.maxclients.load(Ordering::Relaxed) {
            shared
                .stats_at(0)
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            let _ = stream.set_nonblocking(true);
            let _ = stream.write(b"-ERR max number of clients reached\r\n");
            return;
        }
        if shared.protected_mode_rejects(&addr) {
            shared
                .stats_at(0)
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            let _ = stream.set_nonblocking(true);
            let _ = stream.write(PROTECTED_MODE_MSG);
            return;
        }
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let keepalive = shared.tcp_keepalive.load(Ordering::Relaxed);
        if keepalive > 0 {
            let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(keepalive));
            let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
        }
        let n = shared.loops.len();
        let target = self.next_target % n;
        self.next_target = self.next_target.wrapping_add(1);
        let laddr = stream.local_addr().ok();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let info = shared.register_client(Some(addr), laddr, target, fd);
        if target == self.idx {
            self.add_conn(stream, info);
        } else {
            shared.loops[target].post_conn(stream, info);
        }
    }

    fn add_conn(&mut self, stream: TcpStream, info: Arc<ClientInfo>) {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if let Err(e) = register(
            &self.handle.poller,
            &stream,
            Event::readable(CONN_BASE + slot),
            PollMode::Level,
        ) {
            log_warning!("cannot register client socket: {e}");
            self.free.push(slot);
            let mut c = Client::new(info, false);
            self.shared.unregister_client(&mut c);
            return;
        }
        info.touch(self.shared.now_ms());
        let authenticated = !self.shared.has_password.load(Ordering::Relaxed);
        let client = Client::new(info, authenticated);
        self.by_id.insert(client.id, slot);
        self.conns[slot] = Some(Conn {
            stream,
            client,
            partial: None,
            paused: false,
            held_listed: false,
            soft_since: None,
            wbuf: BytesMut::new(),
            want_read: true,
            want_write: false,
            loop_handle: self.handle.clone(),
        });
    }

    // ----- reading and executing ---------------------------------------------------------------

    fn on_readable(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if !conn.want_read || conn.paused {
            return;
        }
        let mut total = 0usize;
        let mut eof = false;
        let mut reads = 0u64;
        loop {
            reads += 1;
            match conn.stream.read(&mut self.scratch) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    let data = &self.scratch[..n];
                    match conn.partial.as_mut() {
                        Some(p) => p.buf.extend_from_slice(data),
                        None => self.rbuf.extend_from_slice(data),
                    }
                    total += n;
                    if n < self.scratch.len() || total >= READ_BUDGET {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        let stats = self.shared.stats_at(self.idx);
        stats
            .net_input_bytes
            .fetch_add(total as u64, Ordering::Relaxed);
        stats.note_reads(reads);
        if total > 0 {
            conn.client.info.touch(self.shared.now_ms());
        }
        if total >= READ_CHUNK {
            // A large input (a small request never fills the chunk): its buffered size is a
            // candidate for INFO's recent maximum, which the cron may never see.
            let held = conn
                .partial
                .as_ref()
                .map_or(self.rbuf.len(), |p| p.buf.len());
            self.handle.peaks.note_input(held);
        }
        if eof {
            // Replies to what the peer sent before closing its side are still delivered if the
            // socket takes them; then the connection goes.
            conn.client.close_after_reply = true;
        }
        self.process(slot);
    }

    /// Executes the complete requests buffered for a connection, then flushes.
    fn process(&mut self, slot: usize) {
        // Messages that arrived before these requests go out before their replies.
        if !self.push_index.is_empty() {
            self.release_pushes(slot);
        }
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        conn.paused = false;
        let was_blocked = conn.client.blocked;
        let start = self.wbuf.len();
        let out_limit = start + OUTPUT_BACKPRESSURE.saturating_sub(conn.wbuf.len());
        let eof = conn.client.close_after_reply;
        let outcome = match conn.partial.as_mut() {
            Some(p) => {
                // A request spanning reads (or requests left by a pause): the connection's own
                // query buffer.
                self.handle.peaks.note_input(p.buf.len());
                let o = process_input(
                    &self.shared,
                    &mut conn.client,
                    &mut p.decoder,
                    &mut p.buf,
                    &mut self.argv,
                    &mut self.wbuf,
                    out_limit,
                );
                if p.buf.is_empty() {
                    conn.partial = None;
                }
                o
            }
            None => {
                let o = process_input(
                    &self.shared,
                    &mut conn.client,
                    &mut self.decoder,
                    &mut self.rbuf,
                    &mut self.argv,
                    &mut self.wbuf,
                    out_limit,
                );
                if !self.rbuf.is_empty() {
                    // A request is partly here: the connection takes the bytes and the decoder
                    // state that goes with them; the thread gets a fresh decoder.
                    let decoder =
                        std::mem::replace(&mut self.decoder, RequestDecoder::new(self.limits));
                    conn.partial = Some(Box::new(Partial {
                        buf: BytesMut::from(&self.rbuf[..]),
                        decoder,
                    }));
                }
                self.rbuf.clear();
                o
            }
        };
        match outcome {
            InputOutcome::Close => conn.client.close_after_reply = true,
            InputOutcome::Paused => conn.paused = !eof,
            InputOutcome::Consumed => {}
            InputOutcome::Blocked => {
                if eof {
                    // A blocked client that hung up is dropped (and unregistered) at once.
                    self.close(slot);
                    return;
                }
                if !was_blocked && let Some(d) = conn.client.block_deadline {
                    self.blocked.push((conn.client.id, slot, d));
                }
                if conn.client.held.is_some() && !conn.held_listed {
                    conn.held_listed = true;
                    let p = &self.shared.pause;
                    if self.held.is_empty() {
                        self.held_seen = (p.current(), p.generation(), p.progress());
                    } else {
                        // Only the kind: a change the waiting ones have not seen must still
                        // wake them.
                        self.held_seen.0 = self.held_seen.0.max(p.current());
                    }
                    self.held.push((conn.client.id, slot));
                }
            }
        }
        if let Some(p) = conn.partial.as_ref() {
            let limit = self.shared.query_buffer_limit.load(Ordering::Relaxed);
            if p.buf.len() as u64 > limit {
                log_warning!(
                    "Closing client id={} that reached max query buffer length ({} bytes)",
                    conn.client.id,
                    p.buf.len()
                );
                self.close(slot);
                return;
            }
        }
        // CLIENT LIST's qbuf / qbuf-free: the unfinished request this connection holds.
        let (held, spare) = conn
            .partial
            .as_ref()
            .map_or((0, 0), |p| (p.buf.len(), p.buf.capacity() - p.buf.len()));
        crate::client::set_if_changed(&conn.client.info.qbuf, held);
        crate::client::set_if_changed(&conn.client.info.qbuf_free, spare);
        // Written at the end of the turn, after every ready connection was read: the client
        // then finds all its replies at once instead of being woken per connection, as with
        // Redis's write-before-sleep. A turn that produced a lot writes early.
        let id = conn.client.id;
        let end = self.wbuf.len();
        self.deferred.push((slot, id, start..end));
        // Messages the requests published: routed once the publisher's replies have their
        // range of `wbuf` (a subscriber's gathered messages may join `wbuf` at once).
        self.deliver_routed();
        if self.wbuf.len() >= DEFERRED_MAX {
            self.flush_deferred();
        }
    }

    /// Hands the Pub/Sub messages published by the requests just run to their loops; this
    /// loop's own are delivered now.
    #[inline]
    fn deliver_routed(&mut self) {
        crate::pubsub::take_outbox(&self.shared, self.idx, &mut self.pubsub_local);
        if !self.pubsub_local.is_empty() {
            let mut local = std::mem::take(&mut self.pubsub_local);
            for d in local.drain(..) {
                self.deliver(&d);
            }
            self.pubsub_local = local;
        }
    }

    /// Gathers a Pub/Sub message with the client's others of this turn (see `pushes`): it
    /// goes out after the replies the client is already owed. Dropped if the client is gone
    /// or no longer subscribed to what it was published for.
    fn deliver(&mut self, d: &Delivery) {
        let Some(&slot) = self.by_id.get(&d.id) else {
            return;
        };
        let Some(conn) = self.conns.get(slot).and_then(Option::as_ref) else {
            return;
        };
        if !conn
            .client
            .pubsub
            .as_ref()
            .is_some_and(|s| s.has(d.kind, &d.name))
        {
            return;
        }
        let i = match self.push_index.get(&slot) {
            Some(&i) => i,
            None => {
                let buf = self.push_pool.pop().unwrap_or_default();
                self.pushes.push(Some((slot, d.id, buf)));
                let i = self.pushes.len() - 1;
                self.push_index.insert(slot, i);
                i
            }
        };
        let Some(Some((_, id, buf))) = self.pushes.get_mut(i) else {
            return;
        };
        if *id != d.id {
            return;
        }
        buf.extend_from_slice(&d.frame);
        if buf.len() >= DEFERRED_MAX {
            self.release_pushes(slot);
            self.flush_deferred();
        }
    }

    /// Moves the messages gathered for `slot` this turn among the replies to write.
    fn release_pushes(&mut self, slot: usize) {
        let Some(i) = self.push_index.remove(&slot) else {
            return;
        };
        if let Some(entry) = self.pushes.get_mut(i).and_then(Option::take) {
            self.defer_pushes(entry);
        }
    }

    /// Every message gathered this turn, among the replies to write.
    fn release_all_pushes(&mut self) {
        self.push_index.clear();
        let mut pushes = std::mem::take(&mut self.pushes);
        for entry in pushes.drain(..).flatten() {
            self.defer_pushes(entry);
        }
        self.pushes = pushes;
    }

    fn defer_pushes(&mut self, (slot, id, mut buf): (usize, u64, BytesMut)) {
        let start = self.wbuf.len();
        self.wbuf.extend_from_slice(&buf);
        self.deferred.push((slot, id, start..self.wbuf.len()));
        buf.clear();
        if buf.capacity() <= 64 * 1024 && self.push_pool.len() < 64 {
            self.push_pool.push(buf);
        }
    }

    /// Writes the replies of this turn, connection by connection, in the order produced.
    fn flush_deferred(&mut self) {
        if !self.pushes.is_empty() {
            self.release_all_pushes();
        }
        // The AOF first: with `appendfsync always` no reply leaves before the fsync that
        // covers its command (one fsync for the whole turn: group commit).
        self.shared.aof.before_reply();
        let mut deferred = std::mem::take(&mut self.deferred);
        for (slot, id, range) in deferred.drain(..) {
            // The slot may have been closed (and even reused) since.
            if self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| c.client.id == id)
            {
                self.flush(slot, range);
            }
        }
        self.deferred = deferred;
        self.wbuf.clear();
    }

    // ----- writing ---------------------------------------------------------------------------

    /// Writes what the connection had queued, then `range` of the thread's output buffer (its
    /// new replies), updates the poller interest, closes the connection if it asked for it.
    fn flush(&mut self, slot: usize, range: std::ops::Range<usize>) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let data = &self.wbuf[range];
        let mut failed = false;
        if !data.is_empty() || !conn.wbuf.is_empty() {
            self.shared.stats_at(self.idx).note_writes(1);
        }
        if conn.wbuf.is_empty() {
            let n = write_some(&mut conn.stream, data, &mut failed);
            if n < data.len() && !failed {
                conn.wbuf = BytesMut::from(&data[n..]);
            }
            self.shared
                .stats_at(self.idx)
                .net_output_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
        } else {
            conn.wbuf.extend_from_slice(data);
            let n = write_some(&mut conn.stream, &conn.wbuf, &mut failed);
            let _ = conn.wbuf.split_to(n);
            self.shared
                .stats_at(self.idx)
                .net_output_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
            if conn.wbuf.is_empty() {
                conn.wbuf = BytesMut::new();
            }
        }
        if failed {
            self.close(slot);
            return;
        }
        let pending = conn.wbuf.len();
        crate::client::set_if_changed(&conn.client.info.omem, pending);
        if pending > 0 {
            // Replies the socket did not take: the connection's output buffer.
            self.handle.peaks.note_output(pending);
        }
        if pending == 0 && conn.client.close_after_reply {
            self.close(slot);
            return;
        }
        let over = pending > 0 && {
            // Subscribed clients are in Redis's pubsub class, everyone else (MONITOR clients
            // included: Redis's getClientType reports them as normal) in normal.
            let limits = self.shared.output_limits.read();
            let l = if conn.client.pubsub.is_some() {
                limits.pubsub
            } else {
                limits.normal
            };
            drop(limits);
            let p = pending as u64;
            if l.soft > 0 && p > l.soft {
                let since = *conn.soft_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(l.soft_seconds) {
                    true
                } else {
                    l.hard > 0 && p > l.hard
                }
            } else {
                conn.soft_since = None;
                l.hard > 0 && p > l.hard
            }
        };
        if over {
            log_warning!(
                "Client id={} closed for overcoming of output buffer limits.",
                conn.client.id
            );
            self.close(slot);
            return;
        }
        let want_write = pending > 0;
        if conn.paused && pending < OUTPUT_BACKPRESSURE / 2 {
            self.resume.push(slot);
        }
        let want_read =
            pending < OUTPUT_BACKPRESSURE && !conn.paused && !conn.client.close_after_reply;
        if want_write != conn.want_write || want_read != conn.want_read {
            conn.want_write = want_write;
            conn.want_read = want_read;
            let key = CONN_BASE + slot;
            let ev = match (want_read, want_write) {
                (true, true) => Event::all(key),
                (true, false) => Event::readable(key),
                (false, true) => Event::writable(key),
                (false, false) => Event::none(key),
            };
            if self
                .handle
                .poller
                .modify_with_mode(&conn.stream, ev, PollMode::Level)
                .is_err()
            {
                self.close(slot);
            }
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(i) = self.push_index.remove(&slot)
            && let Some(p) = self.pushes.get_mut(i)
        {
            *p = None;
        }
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            if conn.client.blocked {
                self.shared.blocking.cancel(conn.client.id);
            }
            if let Some(h) = conn.client.held.take() {
                self.shared.pause.release(h.0, &self.shared);
            }
            self.by_id.remove(&conn.client.id);
            self.shared.unregister_client(&mut conn.client);
            self.free.push(slot);
            drop(conn);
        }
    }

    // ----- cross-thread work -----------------------------------------------------------------

    fn drain_inbox(&mut self) {
        let inbox = {
            let mut i = self.handle.inbox.lock();
            if i.conns.is_empty()
                && i.kills.is_empty()
                && i.monitor.is_empty()
                && i.unblocks.is_empty()
                && i.held_errors.is_empty()
                && i.pubsub.is_empty()
            {
                return;
            }
            std::mem::take(&mut *i)
        };
        for (stream, info) in inbox.conns {
            self.add_conn(stream, info);
        }
        for id in inbox.kills {
            if let Some(&slot) = self.by_id.get(&id)
                && let Some(conn) = self.conns[slot].as_mut()
            {
                conn.client.close_after_reply = true;
                self.flush(slot, 0..0);
            }
        }
        if !inbox.unblocks.is_empty() {
            for (id, reply) in inbox.unblocks {
                self.unblock(id, &reply);
            }
            self.flush_deferred();
        }
        if !inbox.held_errors.is_empty() {
            for (id, reply) in inbox.held_errors {
                self.held_error(id, &reply);
            }
            self.flush_deferred();
        }
        if !inbox.pubsub.is_empty() {
            for d in &inbox.pubsub {
                self.deliver(d);
            }
            self.flush_deferred();
        }
        for (id, line) in inbox.monitor {
            if let Some(&slot) = self.by_id.get(&id) {
                self.wbuf.clear();
                self.wbuf.extend_from_slice(&line);
                self.flush(slot, 0..line.len());
                self.wbuf.clear();
            }
        }
    }

    // ----- blocked clients ---------------------------------------------------------------------

    /// Ends a client's block with `reply` (its served reply, or the timeout's null) and runs
    /// the requests it sent meanwhile.
    fn unblock(&mut self, id: u64, reply: &[u8]) {
        let Some(&slot) = self.by_id.get(&id) else {
            return;
        };
        if !self.push_index.is_empty() {
            self.release_pushes(slot);
        }
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if !conn.client.blocked {
            return;
        }
        conn.client.blocked = false;
        conn.client.info.blocked.store(false, Ordering::Relaxed);
        conn.client.block_deadline = None;
        let start = self.wbuf.len();
        // CLIENT REPLY OFF / SKIP drop the blocked command's reply too.
        if !conn.client.reply_dropped() {
            self.wbuf.extend_from_slice(reply);
        }
        conn.client.reply_command_done();
        self.deferred.push((slot, id, start..self.wbuf.len()));
        self.process(slot);
    }

    /// `CLIENT UNBLOCK id ERROR` for a client CLIENT PAUSE holds: it gets the error (unless
    /// its replies are off) and its command stays held, as in Redis 7.0 (which runs the
    /// command again, to be held again).
    fn held_error(&mut self, id: u64, reply: &[u8]) {
        let Some(&slot) = self.by_id.get(&id) else {
            return;
        };
        if !self.push_index.is_empty() {
            self.release_pushes(slot);
        }
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if conn.client.held.is_none() || conn.client.reply_dropped() {
            return;
        }
        let start = self.wbuf.len();
        self.wbuf.extend_from_slice(reply);
        self.deferred.push((slot, id, start..self.wbuf.len()));
    }

    /// Runs the requests CLIENT PAUSE held, oldest first, once the pause weakened (ALL to
    /// WRITE), ended or was lifted; a request the pause still holds stays held, in order.
    fn resume_held(&mut self) {
        let pause = &self.shared.pause;
        let seen = (pause.current(), pause.generation(), pause.progress());
        if seen.0 >= self.held_seen.0 && seen.1 == self.held_seen.1 && seen.2 == self.held_seen.2 {
            return;
        }
        self.held_seen = seen;
        for (id, slot) in std::mem::take(&mut self.held) {
            let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if conn.client.id != id {
                continue;
            }
            conn.held_listed = false;
            if conn.client.held.is_some() {
                self.process(slot);
            }
        }
    }

    /// Times out the blocked clients whose deadline passed: each gets its timeout reply (a null,
    /// or WAIT's count) unless another thread served it meanwhile (its reply is then in the
    /// inbox).
    fn expire_blocked(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        self.blocked.retain(|&(id, slot, d)| {
            if d <= now {
                due.push((id, slot, d));
                false
            } else {
                true
            }
        });
        for (id, slot, d) in due {
            let Some(conn) = self.conns.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            // The entry may be stale: another client in the slot, or this one blocked again.
            if conn.client.id != id || !conn.client.blocked || conn.client.block_deadline != Some(d)
            {
                continue;
            }
            if let Some(reply) = self.shared.blocking.time_out(id) {
                self.unblock(id, &reply);
            }
        }
    }

    // ----- periodic work ---------------------------------------------------------------------

    fn cron(&mut self) {
        if let Some(t) = self.listeners_paused_until
            && Instant::now() >= t
        {
            self.listeners_paused_until = None;
            for (i, l) in self.listeners.iter().enumerate() {
                let _ = self.handle.poller.modify(l, Event::readable(i));
            }
        }
        // As Redis 7.0, nothing is evicted while clients are paused (CLIENT PAUSE).
        if self.shared.pause.current() == crate::blocking::PAUSE_NONE
            && self.shared.evict_pending.swap(false, Ordering::Acquire)
        {
            // Evictions are logged to the AOF like writes: under the exclusive order side.
            let _order = self.shared.aof.enter_exclusive();
            self.shared.dbs[0].evict_to_limit();
        }
        // Freed heap back to the kernel when RSS runs well above the keyspace (`alloc.rs`).
        crate::alloc::trim_step(|| self.shared.dbs[0].used_memory() as u64);
        let limits = limits_from(&self.shared);
        if limits != self.limits {
            self.limits = limits;
            self.decoder = RequestDecoder::new(limits);
        }
        // INFO's recent buffer peaks: this second's slot, then what every connection holds
        // now (the paths that note peaks as they happen only see growth).
        let peaks = &self.handle.peaks;
        peaks.rotate(self.shared.now_ms() / 1000);
        for c in self.conns.iter().flatten() {
            if let Some(p) = &c.partial {
                peaks.note_input(p.buf.len());
            }
            if !c.wbuf.is_empty() {
                peaks.note_output(c.wbuf.len());
            }
        }
        let timeout = self.shared.timeout_secs.load(Ordering::Relaxed);
        if timeout > 0 {
            let now = self.shared.now_ms();
            let mut idle = Vec::new();
            for (slot, c) in self.conns.iter().enumerate() {
                if let Some(c) = c
                    && !c.client.monitor
                    && c.client.pubsub.is_none()
                    && c.client.multi.is_none()
                    && !c.client.blocked
                    && c.client.held.is_none()
                    && c.client.info.idle_ms(now) > timeout * 1000
                {
                    idle.push(slot);
                }
            }
            for slot in idle {
                log_verbose!("Closing idle client");
                self.close(slot);
            }
        }
        self.shared.cron(self.idx);
        if self.idx == 0 {
            crate::persist::cron(&self.shared);
        }
    }

    // ----- shutdown ----------------------------------------------------------------------------

    fn stop(&mut self) {
        for l in self.listeners.drain(..) {
            let _ = self.handle.poller.delete(&l);
        }
        self.drain_inbox();
        // Deliver what each client is owed: replies already produced are written with the
        // socket switched to blocking mode and a short timeout, then every connection closes.
        for slot in 0..self.conns.len() {
            if let Some(conn) = self.conns[slot].as_mut()
                && !conn.wbuf.is_empty()
            {
                let _ = conn.stream.set_nonblocking(false);
                let _ = conn
                    .stream
                    .set_write_timeout(Some(Duration::from_millis(500)));
                let _ = conn.stream.write_all(&conn.wbuf);
            }
            self.close(slot);
        }
    }
}

/// Writes as much of `data` as the socket takes now. Sets `failed` on a connection error.
fn write_some(stream: &mut TcpStream, data: &[u8], failed: &mut bool) -> usize {
    let mut n = 0;
    while n < data.len() {
        match stream.write(&data[n..]) {
            Ok(0) => {
                *failed = true;
                break;
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                *failed = true;
                break;
            }
        }
    }
    n
}

fn limits_from(shared: &Shared) -> Limits {
    let max_bulk = shared.config.read().proto_max_bulk_len;
    Limits {
        max_bulk_len: usize::try_from(max_bulk).unwrap_or(usize::MAX),
        ..Limits::default()
    }
}

const PROTECTED_MODE_MSG: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
