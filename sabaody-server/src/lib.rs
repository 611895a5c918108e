//! The Sabaody server: the Sabaody keyspace behind the Redis wire protocol.

pub mod config;
#[macro_use]
pub mod log;

pub use config::{Config, ConfigError};
