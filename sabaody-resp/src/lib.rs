//! RESP2/RESP3 frames: decode from `BytesMut`, encode into `BytesMut`. No I/O, no commands.
