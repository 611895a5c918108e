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
//! * `info`: the INFO sections. `log`: the stdout logger.
//! * [`Session`]: the connection and command path without a socket (fuzzing, tests).
//!
//! ```no_run
//! use sabaody_server::{Config, Server};
//! let mut config = Config::default();
//! config.set("port", &["0"]).unwrap();
//! let handle = Server::start(config).unwrap();
//! println!("listening on {}", handle.local_addr());
//! handle.shutdown();
//! ```

#[macro_use]
pub mod log;
pub mod config;

mod client;
mod cmd;
mod conn;
mod event_loop;
mod info;
mod server;
mod session;

pub use config::{Config, ConfigError};
pub use server::{Server, ServerHandle, ShutdownTrigger};
pub use session::Session;
