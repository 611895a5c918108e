//! One client connection: socket, client state, and the buffers it holds only while it must.
//!
//! Memory per idle connection is what an idle connection needs, nothing more: requests are read
//! into the loop thread's scratch buffer and replies written from the loop thread's output
//! buffer. A connection owns a read buffer (plus the decoder state for it) only while a request
//! is partly received, and a write buffer only while the socket would not take every reply.
//! Both are freed as soon as they drain.

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use sabaody_resp::{RequestDecoder, write};

use crate::client::Client;
use crate::cmd;
use crate::event_loop::LoopHandle;
use crate::server::Shared;

/// A request partly received: its bytes so far and the decoder that has parsed them.
#[derive(Debug)]
pub(crate) struct Partial {
    pub buf: BytesMut,
    pub decoder: RequestDecoder,
}

/// A connection registered with its loop's poller. Dropping it deregisters the socket first
/// (which is what makes the `unsafe` registration in `event_loop` sound).
#[derive(Debug)]
pub(crate) struct Conn {
    pub stream: TcpStream,
    pub client: Client,
    pub partial: Option<Box<Partial>>,
    /// Replies the socket has not taken yet.
    pub wbuf: BytesMut,
    /// Execution stopped on a full output buffer with requests left in `partial`.
    pub paused: bool,
    /// In its loop's list of clients CLIENT PAUSE holds.
    pub held_listed: bool,
    /// Since when the pending output has been above the soft output-buffer limit.
    pub soft_since: Option<std::time::Instant>,
    /// Current poller interest.
    pub want_read: bool,
    pub want_write: bool,
    pub loop_handle: Arc<LoopHandle>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.loop_handle.poller.delete(&self.stream);
    }
}

/// What `process_input` left behind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InputOutcome {
    /// Everything complete was executed; any rest is an incomplete request.
    Consumed,
    /// Execution stopped because `out` reached the given limit; complete requests may remain
    /// in the buffer and must be resumed once the replies drain.
    Paused,
    /// The connection must be closed once the replies are flushed (QUIT, protocol error,
    /// SHUTDOWN, CLIENT KILL of itself).
    Close,
    /// The last command blocked the client (BLPOP...): requests after it wait, unparsed,
    /// until it is served or times out.
    Blocked,
}

/// Requests of a pipeline whose keys are prefetched before the first one runs.
const PREFETCH_AHEAD: usize = 32;

/// Below this many bytes in the store (all databases) the keyspace's tables stay in the CPU
/// caches and the prefetch scan is pure overhead (it parses every request header a second
/// time and hashes every key twice): a few MB is about what a core's L2 and its share of
/// the L3 hold.
const PREFETCH_MIN_USED: usize = 4 << 20;

/// Starts loading the hash-table memory of the first key of up to [`PREFETCH_AHEAD`] complete
/// requests at the front of `buf`, so their lookups overlap their cache misses (a pipeline of
/// random keys spends most of its time waiting for memory otherwise). Only looks at the bytes:
/// anything that does not parse as a complete RESP array simply ends the scan.
fn prefetch_keys(db: &sabaody_core::Cache, buf: &[u8]) {
    let mut p = 0;
    // A lone request gains nothing (its lookup follows at once): the first key is prefetched
    // only once a second request is seen, so an unpipelined client pays no second hash.
    let mut first = None;
    for r in 0..PREFETCH_AHEAD {
        let Some((n, q)) = header(buf, p, b'*') else {
            return;
        };
        if let Some(k) = first.take() {
            db.prefetch(k);
        }
        p = q;
        for i in 0..n {
            let Some((len, q)) = header(buf, p, b'$') else {
                return;
            };
            let Some(arg) = buf.get(q..q + len) else {
                return;
            };
            if i == 1 {
                if r == 0 {
                    first = Some(arg);
                } else {
                    db.prefetch(arg);
                }
            }
            p = q + len + 2;
        }
    }
}

/// Parses `<tag><decimal>\r\n` at `p`: the number and the position after it.
fn header(buf: &[u8], p: usize, tag: u8) -> Option<(usize, usize)> {
    if *buf.get(p)? != tag {
        return None;
    }
    let mut n: usize = 0;
    let mut i = p + 1;
    loop {
        let c = *buf.get(i)?;
        if c == b'\r' {
            break;
        }
        if !c.is_ascii_digit() || i - p > 12 {
            return None;
        }
        n = n * 10 + usize::from(c - b'0');
        i += 1;
    }
    Some((n, i + 2))
}

/// Decodes and executes every complete request at the front of `buf`, appending replies to
/// `out`. Shared by the event loop and [`crate::Session`].
pub(crate) fn process_input(
    shared: &Shared,
    client: &mut Client,
    decoder: &mut RequestDecoder,
    buf: &mut BytesMut,
    argv: &mut Vec<Bytes>,
    out: &mut BytesMut,
    out_limit: usize,
) -> InputOutcome {
    client.clock = crate::mono::now_ns();
    if client.blocked {
        return InputOutcome::Blocked;
    }
    // The AOF order lock, held across the batch while the AOF is off (see `aof::Order`).
    let mut order = crate::aof::Order::new(&shared.aof, client.info.loop_idx);
    if let Some(h) = client.held.take() {
        // A request CLIENT PAUSE held: it runs first, once its turn came.
        let (ticket, held) = *h;
        if !shared.pause.may_run(ticket) {
            client.held = Some(Box::new((ticket, held)));
            return InputOutcome::Blocked;
        }
        client.info.held.store(false, Ordering::Relaxed);
        let stop = run_request(shared, client, &mut order, &held, out);
        shared.pause.release(ticket, shared);
        if stop {
            return InputOutcome::Blocked;
        }
    }
    if let Some(db) = shared.dbs.get(client.db)
        && db.used_memory() >= PREFETCH_MIN_USED
    {
        prefetch_keys(db, buf);
    }
    loop {
        if client.close_after_reply {
            return InputOutcome::Close;
        }
        if out.len() >= out_limit {
            return InputOutcome::Paused;
        }
        match decoder.decode(buf, argv) {
            Ok(true) => {
                let stop = run_request(shared, client, &mut order, argv, out);
                argv.clear();
                if stop {
                    return InputOutcome::Blocked;
                }
            }
            Ok(false) => return InputOutcome::Consumed,
            Err(e) => {
                let mut msg = b"ERR ".to_vec();
                msg.extend_from_slice(&e.message());
                if client.reply == 0 {
                    write::error(out, &msg);
                }
                shared.stats_at(client.info.loop_idx).note_error("ERR");
                crate::log_verbose!("Protocol error from client id={}: {}", client.id, e);
                client.close_after_reply = true;
                buf.clear();
                return InputOutcome::Close;
            }
        }
    }
}

/// Runs one request, then serves the clients blocked on the keys it wrote. True when the
/// client must stop here: blocked by the command, or held by CLIENT PAUSE. One test covers
/// both rare cases (a pause may be in effect, CLIENT REPLY is not ON): [`run_request_slow`].
#[inline]
fn run_request(
    shared: &Shared,
    client: &mut Client,
    order: &mut crate::aof::Order<'_>,
    argv: &[Bytes],
    out: &mut BytesMut,
) -> bool {
    if client.reply != 0 || shared.pause.maybe() {
        return run_request_slow(shared, client, order, argv, out);
    }
    cmd::execute_ordered(shared, client, order, argv, out);
    // Serve clients blocked on keys this command wrote (no shard lock is held here, EXEC
    // included).
    shared.blocking.serve(shared, order.holds_off());
    client.blocked
}

/// [`run_request`] when a pause may be in effect (the request may be held: the client then
/// keeps it in `Client::held`) or CLIENT REPLY is OFF or SKIP (the reply of the command is
/// dropped; a blocked command's reply is dropped when it is served, in `event_loop`).
#[cold]
#[inline(never)]
fn run_request_slow(
    shared: &Shared,
    client: &mut Client,
    order: &mut crate::aof::Order<'_>,
    argv: &[Bytes],
    out: &mut BytesMut,
) -> bool {
    if shared.pause.maybe() && hold(shared, client, argv) {
        return true;
    }
    client.reply_command_start();
    let mark = out.len();
    cmd::execute_ordered(shared, client, order, argv, out);
    shared.blocking.serve(shared, order.holds_off());
    if client.reply != 0 {
        if client.reply_dropped() {
            out.truncate(mark);
        }
        if !client.blocked {
            client.reply_command_done();
        }
    }
    client.blocked
}

/// Holds the request if the pause in effect holds it (a client without a loop thread, a
/// [`crate::Session`], is never held).
fn hold(shared: &Shared, client: &mut Client, argv: &[Bytes]) -> bool {
    if shared.loops.get(client.info.loop_idx).is_none() {
        return false;
    }
    let Some(write) = shared.pause.holds(client, argv) else {
        return false;
    };
    client.held = Some(Box::new((shared.pause.enqueue(write), argv.to_vec())));
    client.info.held.store(true, Ordering::Relaxed);
    true
}

#[cfg(test)]
mod tests {
    use super::{header, prefetch_keys};
    use sabaody_core::prelude::*;

    /// What an idle connection costs (README's 10k-connections figure) must not grow with
    /// rare features: their state is boxed (`Client::pubsub`, `Client::held`, MULTI, WATCH).
    /// 184 bytes was `Conn` before Pub/Sub.
    #[test]
    fn an_idle_connection_stays_small() {
        let size = std::mem::size_of::<super::Conn>();
        assert!(size <= 184, "Conn is {size} bytes");
    }

    #[test]
    fn header_parses_only_well_formed_lengths() {
        assert_eq!(header(b"*3\r\n", 0, b'*'), Some((3, 4)));
        assert_eq!(header(b"$10\r\nx", 0, b'$'), Some((10, 5)));
        assert_eq!(header(b"*3\r\n", 0, b'$'), None);
        assert_eq!(header(b"*3", 0, b'*'), None);
        assert_eq!(header(b"*-1\r\n", 0, b'*'), None);
        assert_eq!(header(b"*99999999999999999999\r\n", 0, b'*'), None);
        assert_eq!(header(b"", 0, b'*'), None);
    }

    /// The scan looks at raw client bytes: every prefix of a pipeline, and garbage, must be
    /// handled without a panic (it can only prefetch or stop).
    #[test]
    fn prefetch_scan_survives_any_bytes() {
        let cache = sabaody_core::Cache::builder().housekeeping(false).build();
        cache.set("key:1", "v").unwrap_or_default();
        let mut pipeline = Vec::new();
        for i in 0..40 {
            pipeline.extend_from_slice(
                format!("*3\r\n$3\r\nSET\r\n$5\r\nkey:{}\r\n$1\r\nv\r\n", i % 10).as_bytes(),
            );
        }
        pipeline.extend_from_slice(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$999999999999\r\n");
        for end in 0..=pipeline.len() {
            prefetch_keys(&cache, &pipeline[..end]);
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut junk = pipeline.clone();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = (x as usize) % junk.len();
                junk[i] = (x >> 32) as u8;
            }
            prefetch_keys(&cache, &junk);
        }
        assert_eq!(
            cache.get("key:1").ok().flatten().as_deref(),
            Some(&b"v"[..])
        );
    }
}
