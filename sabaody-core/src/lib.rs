//! The Sabaody keyspace: typed values, TTL, memory accounting. No I/O, no RESP.
