//! One client connection: socket, client state, and the buffers it holds only while it must.
//!
//! Memory per idle connection is what an idle connection needs, nothing more: requests are read
//! into the loop thread's scratch buffer and replies written from the loop thread's output
//! buffer. A connection owns a read buffer (plus the decoder state for it) only while a request
//! is partly received, and a write buffer only while the socket would not take every reply.
//! Both are freed as soon as they drain.

use std::net::TcpStream;
use std::sync::Arc;

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
    client.clock = std::time::Instant::now();
    if client.blocked {
        return InputOutcome::Blocked;
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
                cmd::execute(shared, client, argv, out);
                argv.clear();
                // Serve clients blocked on keys this command wrote (no shard lock is held
                // here, EXEC included).
                shared.blocking.serve(shared);
                if client.blocked {
                    return InputOutcome::Blocked;
                }
            }
            Ok(false) => return InputOutcome::Consumed,
            Err(e) => {
                let mut msg = b"ERR ".to_vec();
                msg.extend_from_slice(&e.message());
                write::error(out, &msg);
                shared.stats_at(client.info.loop_idx).note_error("ERR");
                crate::log_verbose!("Protocol error from client id={}: {}", client.id, e);
                client.close_after_reply = true;
                buf.clear();
                return InputOutcome::Close;
            }
        }
    }
}
