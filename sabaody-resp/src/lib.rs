//! RESP2/RESP3 frames for Sabaody: decode from `BytesMut`, encode into `BytesMut`.
//! No I/O, no commands.
//!
//! # Layout
//!
//! * [`frame`](Frame): the value model, [`Frame`] and [`Protocol`].
//! * [`decode()`]: generic streaming decoder for every frame type (replies, RESP3, AOF);
//!   [`decode_bytes`] and [`decode_all`] are conveniences over it.
//! * [`RequestDecoder`]: the server's hot path. Commands (multibulk or inline, with Redis's
//!   quoting rules) decoded straight into argument lists of zero-copy [`bytes::Bytes`] slices of
//!   the read buffer, keeping its place across reads.
//! * [`encode()`] and the [`write`](mod@write) module: frames or direct reply writers, RESP3 types downgraded
//!   for RESP2 clients as Redis 7 does; [`format_double`] prints doubles as Redis 7.0.
//! * [`Limits`] and [`DecodeError`]: what a peer may claim, and the Redis error texts.
//!
//! Nothing a peer sends can make a decoder panic or reserve memory for a size it merely claims:
//! pre-allocation is capped, and lengths are checked against [`Limits`] before anything else.
//!
//! ```
//! use bytes::BytesMut;
//! use sabaody_resp::{Limits, Protocol, RequestDecoder, write};
//!
//! let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"[..]);
//! let mut dec = RequestDecoder::new(Limits::default());
//! let mut args = Vec::new();
//! assert!(dec.decode(&mut buf, &mut args)?);
//! assert_eq!(args, [&b"GET"[..], &b"k"[..]]);
//! assert!(dec.decode(&mut buf, &mut args)?);
//! assert_eq!(args, [&b"PING"[..]]);
//! assert!(!dec.decode(&mut buf, &mut args)?);
//!
//! let mut out = BytesMut::new();
//! write::null_bulk(&mut out, Protocol::Resp2);
//! write::double(&mut out, Protocol::Resp3, 1.1);
//! assert_eq!(&out[..], b"$-1\r\n,1.1000000000000001\r\n");
//! # Ok::<(), sabaody_resp::DecodeError>(())
//! ```

mod decode;
mod encode;
mod error;
mod frame;
mod limits;
mod num;
mod request;
mod scan;

#[cfg(test)]
mod proptests;

pub use decode::{decode, decode_all, decode_bytes};
pub use encode::{encode, format_double, write};
pub use error::DecodeError;
pub use frame::{Frame, Protocol};
pub use limits::Limits;
pub use num::fmt_u64;
pub use request::RequestDecoder;
