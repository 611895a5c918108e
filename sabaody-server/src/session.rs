//! A server connection without a socket: bytes in, reply bytes out, through the same request
//! decoder, command table and keyspace as a network client. For fuzzing and tests.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use sabaody_resp::{Limits, RequestDecoder};

use crate::client::Client;
use crate::config::Config;
use crate::conn::{InputOutcome, process_input};
use crate::server::Shared;

/// One in-process client of a private server state (no threads, no network).
///
/// ```
/// use sabaody_server::{Config, Session};
/// let mut s = Session::new(Config::default());
/// assert_eq!(s.feed(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n"), b"+OK\r\n$1\r\nv\r\n");
/// ```
#[derive(Debug)]
pub struct Session {
    shared: Arc<Shared>,
    client: Client,
    decoder: RequestDecoder,
    buf: BytesMut,
    argv: Vec<Bytes>,
    closed: bool,
}

impl Session {
    /// A fresh server state and one client connected to it.
    pub fn new(config: Config) -> Session {
        let limits = Limits {
            max_bulk_len: usize::try_from(config.proto_max_bulk_len).unwrap_or(usize::MAX),
            ..Limits::default()
        };
        let shared = Arc::new(Shared::new(config, Vec::new(), 0));
        let info = shared.register_client(None, None, 0, -1);
        let authenticated = !shared
            .has_password
            .load(std::sync::atomic::Ordering::Relaxed);
        Session {
            client: Client::new(info, authenticated),
            shared,
            decoder: RequestDecoder::new(limits),
            buf: BytesMut::new(),
            argv: Vec::new(),
            closed: false,
        }
    }

    /// Feeds bytes as if read from the socket; returns the replies they produced. After the
    /// connection was closed (QUIT, protocol error, SHUTDOWN) input is ignored.
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        if self.closed {
            return Vec::new();
        }
        self.shared.tick();
        self.buf.extend_from_slice(input);
        let mut out = BytesMut::new();
        let outcome = process_input(
            &self.shared,
            &mut self.client,
            &mut self.decoder,
            &mut self.buf,
            &mut self.argv,
            &mut out,
            usize::MAX,
        );
        if outcome == InputOutcome::Close {
            self.closed = true;
            self.buf = BytesMut::new();
        }
        out.to_vec()
    }

    /// Whether the server would have closed this connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes of an incomplete request held back (bounded by the query buffer limit in the
    /// network server).
    pub fn pending_input(&self) -> usize {
        self.buf.len()
    }

    /// Checks the keyspace's internal invariants.
    ///
    /// # Errors
    /// A description of the first broken invariant.
    pub fn validate(&self) -> Result<(), String> {
        self.shared.dbs[0].validate()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.unregister_client(&mut self.client);
    }
}
