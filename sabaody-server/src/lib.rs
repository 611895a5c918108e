//! The Sabaody server: the Sabaody keyspace (`sabaody-core`) behind the Redis wire protocol
//! (`sabaody-resp`), on a `polling` event loop. The `sabaody-server` binary is a thin wrapper
//! around this library, so a Rust program can also run the server in-process.
//!
//! # Layout
//!
//! * `config`: redis.conf parsing, `--directive value` overrides, the directive table that
//!   `CONFIG GET/SET/REWRITE` use.
//! * `server`: [`Server::start`], [`ServerHandle`], and the state shared by the loop threads
//!   (keyspace, statistics, client registry, slow log, WATCH registry, MONITOR feed); its
//!   module docs draw the thread model.
//! * `event_loop`: loop threads (one `Poller` each), accept and hand-off, reading, writing,
//!   limits, cron, graceful shutdown. `conn`: one connection and `process_input`.
//! * `cmd`: the command table (one declaration per command) and dispatch; one file per
//!   family: `connection`, `server`, `string`, `keys`, `transaction`.
//! * `aof`: the append-only file (logging in command order, group-commit fsync, rewrite,
//!   loading at start-up, `--check-aof`).
//! * `pubsub`: the Pub/Sub registry and the delivery of published messages across loops.
//! * `info`: the INFO sections. `log`: the stdout logger.
//! * [`Session`]: the connection and command path without a socket (fuzzing, tests).
//!
//! # Running
//!
//! ```text
//! cargo run --release -p sabaody-server -- [redis.conf] [--directive value ...]
//! cargo run --release -p sabaody-server -- --port 6380 --save "" --appendonly no
//! redis-cli -p 6380 ping
//! ```
//! Unknown directives and bad values stop start-up with a message naming the directive
//! (exit code 1). SIGTERM / SIGINT / `SHUTDOWN` stop accepting, flush replies and exit 0.
//!
//! # Directives
//!
//! `port` `bind` `protected-mode` `databases` `maxclients` `timeout` `tcp-keepalive`
//! `tcp-backlog` `requirepass` `acllog-max-len` `aclfile` (empty only) `loglevel` `logfile`
//! `daemonize` (no only) `pidfile`
//! `io-threads` (default: number of cores minus one, at least 1) `io-threads-do-reads` `client-query-buffer-limit`
//! `client-output-buffer-limit` `proto-max-bulk-len` `hz` `slowlog-log-slower-than`
//! `slowlog-max-len` `enable-debug-command`, and, accepted with Redis's defaults for the
//! issues that implement them: `save` (default `""`) `appendonly` `appendfsync`
//! `appendfilename` `appenddirname` `dir` `dbfilename` `rdbcompression` `rdbchecksum`
//! `stop-writes-on-bgsave-error` `maxmemory` `maxmemory-policy` `maxmemory-samples`
//! `lfu-log-factor` `lfu-decay-time` `latency-monitor-threshold` `notify-keyspace-events`
//! `aof-use-rdb-preamble` `auto-aof-rewrite-*` `no-appendfsync-on-rewrite` `lazyfree-lazy-*`
//! `active-expire-effort` `supervised` `always-show-logo` `set-proc-title`. Memory sizes take
//! Redis's units (`100mb`, `1gb`, `512k`). `CONFIG GET` (globs), `CONFIG SET` (run-time
//! directives) and `CONFIG REWRITE` use the same table.
//!
//! ```no_run
//! use sabaody_server::{Config, Server};
//! let mut config = Config::default();
//! config.set("port", &["0"]).unwrap();
//! let handle = Server::start(config).unwrap();
//! println!("listening on {}", handle.local_addr());
//! handle.shutdown();
//! ```

pub mod alloc;
#[macro_use]
pub mod log;
pub mod config;

mod aof;
mod blocking;
mod client;
mod cmd;
mod conn;
mod event_loop;
mod info;
mod metrics;
mod mono;
mod notify;
mod persist;
mod pubsub;
mod server;
mod session;
mod tracking;

pub use aof::{check_aof, fuzz_load as fuzz_aof_load};
pub use config::{Config, ConfigError};
pub use server::{Server, ServerHandle, ShutdownTrigger};
pub use session::Session;
