//! The command table and dispatch.
//!
//! Every command is declared once, in its family's table (name, arity, flags, key positions,
//! handler, group, summary): [`BASE`] here for connection/server/string/keys/transaction, and a
//! `COMMANDS` table in each data-type family file (`set.rs`, `zset.rs`, `hash.rs`, `list.rs`,
//! `bloom.rs`). [`FAMILIES`] strings them together; dispatch, `COMMAND` output,
//! `INFO commandstats`, WATCH invalidation and MULTI queuing all read it through [`commands`],
//! [`lookup`] and [`index_of`]. Handlers live in one file per family and take an argument
//! cursor ([`Args`], in the style of mini-redis) plus a [`Ctx`] with the client and the reply
//! buffer. A handler returns `Err(CmdError)` for an error reply; the connection stays open.

use std::borrow::Cow;
use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use sabaody_resp::{Protocol, write};

use sabaody_core::{Cache, Transaction};

use crate::client::Client;
use crate::server::Shared;

pub(crate) mod acl;
pub(crate) mod bits;
pub(crate) mod bloom;
pub(crate) mod connection;
pub(crate) mod dump;
pub(crate) mod geo;
pub(crate) mod hash;
pub(crate) mod keys;
pub(crate) mod keyspec;
pub(crate) mod latency;
pub(crate) mod list;
pub(crate) mod pubsub;
#[rustfmt::skip]
mod meta;
pub(crate) mod server;
pub(crate) mod set;
pub(crate) mod sort;
pub(crate) mod string;
pub(crate) mod transaction;
pub(crate) mod zset;

/// Command flags (a subset of Redis's, used for dispatch and `COMMAND INFO`).
pub(crate) mod flag {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const FAST: u32 = 1 << 3;
    pub const ADMIN: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    /// Runs before authentication (AUTH, HELLO, QUIT).
    pub const NO_AUTH: u32 = 1 << 8;
    /// Executed at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT).
    pub const NO_QUEUE: u32 = 1 << 9;
    /// Not shown to MONITOR clients.
    pub const SKIP_MONITOR: u32 = 1 << 10;
    /// Not allowed inside MULTI (WATCH, SUBSCRIBE...): "ERR WATCH inside MULTI is not allowed".
    pub const NO_MULTI: u32 = 1 << 11;
    pub const SKIP_SLOWLOG: u32 = 1 << 12;
    /// Not a write, but held by `CLIENT PAUSE WRITE` as one (PUBLISH). Redis 7.0's
    /// `COMMAND INFO` does not report it.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Reads the whole store outside the keyspace trait (INFO): EXEC cannot run it inside
    /// its all-shards transaction, so a transaction containing it runs without one.
    pub const NO_TX: u32 = 1 << 14;
    /// May block the client (BLPOP...).
    pub const BLOCKING: u32 = 1 << 15;
    /// Key positions depend on the arguments (LMPOP...).
    pub const MOVABLEKEYS: u32 = 1 << 16;
    /// Refused with the writes while persistence fails (PING, as Redis's processCommand).
    /// Not shown by `COMMAND INFO`.
    pub const REFUSED_ON_MISCONF: u32 = 1 << 17;
    /// Internal: the command is a container of subcommands (CONFIG GET, CLIENT LIST...);
    /// INFO counts its calls per subcommand, as Redis does.
    pub const CONTAINER: u32 = 1 << 18;

    /// `(flag, name)` pairs in the order `COMMAND INFO` prints them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// A command handler: parse the rest of the arguments, run, write the reply.
pub(crate) type Handler = fn(&mut Ctx<'_, '_>, &mut Args<'_>) -> Result<(), CmdError>;

/// One command declaration.
pub(crate) struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: positive = exact argument count (name included), negative = minimum.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// The key positions a write changes (`first`, `last`, with `step`): the same as the
    /// keys, except for commands that read some keys and write others (see [`written_range`]).
    pub written: (i32, i32),
    pub handler: Handler,
    /// Redis's documentation group (`string`, `generic`, `server`, `connection`, ...).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandSpec")
            .field("name", &self.name)
            .finish()
    }
}

impl CommandSpec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// The key arguments of a call, from first/last/step.
    pub fn keys<'a>(&self, argv: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> + 'a {
        key_args(argv, self.first_key, self.last_key, self.step)
    }

    /// The keys a write call changes (for WATCH invalidation and blocked clients): its keys
    /// less those it only reads (a STORE command's sources).
    #[inline]
    pub fn written_keys<'a>(&self, argv: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> + 'a {
        key_args(argv, self.written.0, self.written.1, self.step)
    }
}

fn key_args(argv: &[Bytes], first: i32, last: i32, step: i32) -> impl Iterator<Item = &Bytes> + '_ {
    let n = argv.len() as i32;
    let last = if last < 0 { n + last } else { last.min(n - 1) };
    let range = if first <= 0 { 0..0 } else { first..last + 1 };
    range
        .step_by(step.max(1) as usize)
        .filter_map(move |i| argv.get(i as usize))
}

/// [`CommandSpec::written`] for the command `name` whose keys are `first..=last`: a command
/// that reads keys it does not change writes only its destination, and Redis signals only
/// the keys a command modifies, so a WATCH on a source survives it. (Commands that move
/// data, LMOVE SMOVE RENAME, change both keys; ZUNIONSTORE and friends declare only their
/// destination; GEORADIUS marks its STORE key itself.)
pub(crate) const fn written_range(name: &str, first: i32, last: i32) -> (i32, i32) {
    match name.as_bytes() {
        // DEST at 1, sources after it.
        b"sinterstore" | b"sunionstore" | b"sdiffstore" | b"zrangestore" | b"geosearchstore"
        | b"pfmerge" => (1, 1),
        // BITOP op DEST key...; COPY source DEST.
        b"bitop" | b"copy" => (2, 2),
        // SORT writes only its STORE destination, a movable key it marks itself.
        b"sort" | b"sort_ro" => (0, 0),
        _ => (first, last),
    }
}

/// Declares one [`CommandSpec`]: `cmd!(name, arity, flags, first_key, last_key, step, handler,
/// group, since, summary)`.
macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $handler:path,
     $group:literal, $since:literal, $summary:literal) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            written: $crate::cmd::written_range($name, $first, $last),
            handler: $handler,
            group: $group,
            since: $since,
            summary: $summary,
        }
    };
}

pub(crate) use cmd;

use flag::*;

const W: u32 = WRITE;
const R: u32 = READONLY;

/// Every family's table, in `COMMAND` order. [`BASE`] comes first (the GET/SET fast path
/// indexes it).
pub(crate) static FAMILIES: &[&[CommandSpec]] = &[
    BASE,
    set::COMMANDS,
    zset::COMMANDS,
    hash::COMMANDS,
    list::COMMANDS,
    bloom::COMMANDS,
    bits::COMMANDS,
    geo::COMMANDS,
    sort::COMMANDS,
    dump::COMMANDS,
    pubsub::COMMANDS,
];

/// Every command the server knows, in table order (`index_of` order).
pub(crate) fn commands() -> impl Iterator<Item = &'static CommandSpec> + Clone {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// How many commands the server knows.
pub(crate) fn command_count() -> usize {
    FAMILIES.iter().map(|f| f.len()).sum()
}

/// The command at `index_of` position `i`.
pub(crate) fn command_at(mut i: usize) -> Option<&'static CommandSpec> {
    for fam in FAMILIES {
        if i < fam.len() {
            return fam.get(i);
        }
        i -= fam.len();
    }
    None
}

/// The connection, server, string, key and transaction commands.
pub(crate) static BASE: &[CommandSpec] = &[
    // connection
    cmd!(
        "ping",
        -1,
        FAST | REFUSED_ON_MISCONF,
        0,
        0,
        0,
        connection::ping,
        "connection",
        "1.0.0",
        "Returns the server's liveliness response."
    ),
    cmd!(
        "echo",
        2,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        connection::echo,
        "connection",
        "1.0.0",
        "Returns the given string."
    ),
    cmd!(
        "quit",
        -1,
        NO_AUTH | NO_QUEUE | FAST | LOADING | STALE | NOSCRIPT,
        0,
        0,
        0,
        connection::quit,
        "connection",
        "1.0.0",
        "Closes the connection."
    ),
    cmd!(
        "select",
        2,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        connection::select,
        "connection",
        "1.0.0",
        "Changes the selected database."
    ),
    cmd!(
        "hello",
        -1,
        NO_AUTH | NOSCRIPT | LOADING | STALE | FAST,
        0,
        0,
        0,
        connection::hello,
        "connection",
        "6.0.0",
        "Handshakes with the Redis server."
    ),
    cmd!(
        "auth",
        -2,
        NO_AUTH | NOSCRIPT | LOADING | STALE | FAST,
        0,
        0,
        0,
        connection::auth,
        "connection",
        "1.0.0",
        "Authenticates the connection."
    ),
    cmd!(
        "client",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        connection::client,
        "connection",
        "2.4.0",
        "A container for client connection commands."
    ),
    cmd!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | NO_QUEUE,
        0,
        0,
        0,
        connection::reset,
        "connection",
        "6.2.0",
        "Resets the connection."
    ),
    // server
    cmd!(
        "command",
        -1,
        LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        server::command,
        "server",
        "2.8.13",
        "Returns detailed information about all commands."
    ),
    cmd!(
        "config",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        server::config,
        "server",
        "2.0.0",
        "A container for server configuration commands."
    ),
    cmd!(
        "info",
        -1,
        LOADING | STALE | NO_TX,
        0,
        0,
        0,
        server::info,
        "server",
        "1.0.0",
        "Returns information and statistics about the server."
    ),
    cmd!(
        "time",
        1,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        server::time,
        "server",
        "2.6.0",
        "Returns the server time."
    ),
    cmd!(
        "slowlog",
        -2,
        ADMIN | LOADING | STALE | CONTAINER,
        0,
        0,
        0,
        server::slowlog,
        "server",
        "2.2.12",
        "A container for slow log commands."
    ),
    cmd!(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        server::monitor,
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time."
    ),
    cmd!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        server::lastsave,
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk."
    ),
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        server::debug,
        "server",
        "1.0.0",
        "A container for debugging commands."
    ),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI,
        0,
        0,
        0,
        server::shutdown,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server."
    ),
    cmd!(
        "dbsize",
        1,
        R | FAST,
        0,
        0,
        0,
        keys::dbsize,
        "server",
        "1.0.0",
        "Returns the number of keys in the database."
    ),
    cmd!(
        "flushdb",
        -1,
        W,
        0,
        0,
        0,
        keys::flushdb,
        "server",
        "1.0.0",
        "Removes all keys from the current database."
    ),
    cmd!(
        "flushall",
        -1,
        W,
        0,
        0,
        0,
        keys::flushall,
        "server",
        "1.0.0",
        "Removes all keys from all databases."
    ),
    // transactions
    cmd!(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE,
        0,
        0,
        0,
        transaction::multi,
        "transactions",
        "1.2.0",
        "Starts a transaction."
    ),
    cmd!(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NO_QUEUE,
        0,
        0,
        0,
        transaction::exec,
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction."
    ),
    cmd!(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE,
        0,
        0,
        0,
        transaction::discard,
        "transactions",
        "2.0.0",
        "Discards a transaction."
    ),
    cmd!(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE,
        1,
        -1,
        1,
        transaction::watch,
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction."
    ),
    cmd!(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        0,
        0,
        0,
        transaction::unwatch,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction."
    ),
    // strings
    cmd!(
        "get",
        2,
        R | FAST,
        1,
        1,
        1,
        string::get,
        "string",
        "1.0.0",
        "Returns the string value of a key."
    ),
    cmd!(
        "set",
        -3,
        W | DENYOOM,
        1,
        1,
        1,
        string::set,
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."
    ),
    cmd!(
        "getdel",
        2,
        W | FAST,
        1,
        1,
        1,
        string::getdel,
        "string",
        "6.2.0",
        "Returns the string value of a key after deleting the key."
    ),
    cmd!(
        "getex",
        -2,
        W | FAST,
        1,
        1,
        1,
        string::getex,
        "string",
        "6.2.0",
        "Returns the string value of a key after setting its expiration time."
    ),
    cmd!(
        "getset",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::getset,
        "string",
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value."
    ),
    cmd!(
        "mget",
        -2,
        R | FAST,
        1,
        -1,
        1,
        string::mget,
        "string",
        "1.0.0",
        "Atomically returns the string values of one or more keys."
    ),
    cmd!(
        "mset",
        -3,
        W | DENYOOM,
        1,
        -1,
        2,
        string::mset,
        "string",
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys."
    ),
    cmd!(
        "msetnx",
        -3,
        W | DENYOOM,
        1,
        -1,
        2,
        string::msetnx,
        "string",
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist."
    ),
    cmd!(
        "append",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::append,
        "string",
        "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist."
    ),
    cmd!(
        "strlen",
        2,
        R | FAST,
        1,
        1,
        1,
        string::strlen,
        "string",
        "2.2.0",
        "Returns the length of a string value."
    ),
    cmd!(
        "getrange",
        4,
        R,
        1,
        1,
        1,
        string::getrange,
        "string",
        "2.4.0",
        "Returns a substring of the string stored at a key."
    ),
    cmd!(
        "substr",
        4,
        R,
        1,
        1,
        1,
        string::getrange,
        "string",
        "1.0.0",
        "Returns a substring from a string value."
    ),
    cmd!(
        "setrange",
        4,
        W | DENYOOM,
        1,
        1,
        1,
        string::setrange,
        "string",
        "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist."
    ),
    cmd!(
        "setnx",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::setnx,
        "string",
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist."
    ),
    cmd!(
        "setex",
        4,
        W | DENYOOM,
        1,
        1,
        1,
        string::setex,
        "string",
        "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist."
    ),
    cmd!(
        "psetex",
        4,
        W | DENYOOM,
        1,
        1,
        1,
        string::psetex,
        "string",
        "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist."
    ),
    cmd!(
        "incr",
        2,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::incr,
        "string",
        "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "decr",
        2,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::decr,
        "string",
        "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "incrby",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::incrby,
        "string",
        "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "decrby",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::decrby,
        "string",
        "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "incrbyfloat",
        3,
        W | DENYOOM | FAST,
        1,
        1,
        1,
        string::incrbyfloat,
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "lcs",
        -3,
        R,
        1,
        2,
        1,
        string::lcs,
        "string",
        "7.0.0",
        "Find longest common substring"
    ),
    // keys
    cmd!(
        "del",
        -2,
        W,
        1,
        -1,
        1,
        keys::del,
        "generic",
        "1.0.0",
        "Deletes one or more keys."
    ),
    cmd!(
        "unlink",
        -2,
        W | FAST,
        1,
        -1,
        1,
        keys::del,
        "generic",
        "4.0.0",
        "Asynchronously deletes one or more keys."
    ),
    cmd!(
        "exists",
        -2,
        R | FAST,
        1,
        -1,
        1,
        keys::exists,
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist."
    ),
    cmd!(
        "touch",
        -2,
        R | FAST,
        1,
        -1,
        1,
        keys::touch,
        "generic",
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed."
    ),
    cmd!(
        "type",
        2,
        R | FAST,
        1,
        1,
        1,
        keys::type_,
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key."
    ),
    cmd!(
        "rename",
        3,
        W,
        1,
        2,
        1,
        keys::rename,
        "generic",
        "1.0.0",
        "Renames a key and overwrites the destination."
    ),
    cmd!(
        "renamenx",
        3,
        W | FAST,
        1,
        2,
        1,
        keys::renamenx,
        "generic",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist."
    ),
    cmd!(
        "copy",
        -3,
        W | DENYOOM,
        1,
        2,
        1,
        keys::copy,
        "generic",
        "6.2.0",
        "Copies the value of a key to a new key."
    ),
    cmd!(
        "keys",
        2,
        R,
        0,
        0,
        0,
        keys::keys,
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern."
    ),
    cmd!(
        "scan",
        -2,
        R,
        0,
        0,
        0,
        keys::scan,
        "generic",
        "2.8.0",
        "Iterates over the key names in the database."
    ),
    cmd!(
        "randomkey",
        1,
        R,
        0,
        0,
        0,
        keys::randomkey,
        "generic",
        "1.0.0",
        "Returns a random key name from the database."
    ),
    cmd!(
        "expire",
        -3,
        W | FAST,
        1,
        1,
        1,
        keys::expire,
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds."
    ),
    cmd!(
        "pexpire",
        -3,
        W | FAST,
        1,
        1,
        1,
        keys::pexpire,
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds."
    ),
    cmd!(
        "expireat",
        -3,
        W | FAST,
        1,
        1,
        1,
        keys::expireat,
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp."
    ),
    cmd!(
        "pexpireat",
        -3,
        W | FAST,
        1,
        1,
        1,
        keys::pexpireat,
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp."
    ),
    cmd!(
        "ttl",
        2,
        R | FAST,
        1,
        1,
        1,
        keys::ttl,
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key."
    ),
    cmd!(
        "pttl",
        2,
        R | FAST,
        1,
        1,
        1,
        keys::pttl,
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key."
    ),
    cmd!(
        "expiretime",
        2,
        R | FAST,
        1,
        1,
        1,
        keys::expiretime,
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp."
    ),
    cmd!(
        "pexpiretime",
        2,
        R | FAST,
        1,
        1,
        1,
        keys::pexpiretime,
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp."
    ),
    cmd!(
        "persist",
        2,
        W | FAST,
        1,
        1,
        1,
        keys::persist,
        "generic",
        "2.2.0",
        "Removes the expiration time of a key."
    ),
    cmd!(
        "move",
        3,
        W | FAST,
        1,
        1,
        1,
        keys::move_,
        "generic",
        "1.0.0",
        "Moves a key to another database."
    ),
    cmd!(
        "swapdb",
        3,
        W | FAST,
        0,
        0,
        0,
        keys::swapdb,
        "server",
        "4.0.0",
        "Swaps two Redis databases."
    ),
    cmd!(
        "object",
        -2,
        R | CONTAINER,
        2,
        2,
        1,
        keys::object,
        "generic",
        "2.2.3",
        "A container for object introspection commands."
    ),
    cmd!(
        "memory",
        -2,
        R | CONTAINER,
        0,
        0,
        0,
        keys::memory,
        "server",
        "4.0.0",
        "A container for memory diagnostics commands."
    ),
    cmd!(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        0,
        0,
        0,
        server::save,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk."
    ),
    cmd!(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT,
        0,
        0,
        0,
        server::bgsave,
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk."
    ),
    cmd!(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        0,
        0,
        0,
        crate::aof::bgrewriteaof,
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk."
    ),
    cmd!(
        "latency",
        -2,
        CONTAINER,
        0,
        0,
        0,
        latency::latency,
        "server",
        "2.8.13",
        "A container for latency diagnostics commands."
    ),
    cmd!(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        0,
        0,
        0,
        server::role,
        "server",
        "2.8.12",
        "Returns the replication role."
    ),
    cmd!(
        "wait",
        3,
        NOSCRIPT,
        0,
        0,
        0,
        server::wait,
        "generic",
        "3.0.0",
        "Blocks until the writes of this connection reach a number of replicas, or a timeout."
    ),
    cmd!(
        "acl",
        -2,
        CONTAINER,
        0,
        0,
        0,
        acl::acl,
        "server",
        "6.0.0",
        "A container for Access List Control commands."
    ),
];

const GET_INDEX: usize = 25;
const SET_INDEX: usize = 26;

/// Position of a command in [`commands`] order (for per-command statistics).
pub(crate) fn index_of(spec: &CommandSpec) -> usize {
    // Specs are only ever handed out as references into the family tables.
    let p = spec as *const CommandSpec as usize;
    let size = std::mem::size_of::<CommandSpec>();
    let mut before = 0;
    for fam in FAMILIES {
        let start = fam.as_ptr() as usize;
        if p >= start && p < start + std::mem::size_of_val(*fam) {
            return before + (p - start) / size;
        }
        before += fam.len();
    }
    0
}

/// Longest command name [`lookup`] can match.
const MAX_NAME: usize = 32;

/// The name index: commands bucketed by a hash of a few case-folded bytes (see [`bucket`]),
/// each bucket a short run of `order` (one name, mostly). A lookup compares the name a word
/// at a time, loaded in place, instead of lower-casing it into a buffer and hashing it.
struct NameIndex {
    /// Per [`bucket`]: the start and end of its run in `order`.
    runs: Vec<(u16, u16)>,
    order: Vec<NameEntry>,
}

struct NameEntry {
    /// The lower-case name, packed as by [`pack_name`].
    words: [u64; 4],
    /// 0x20 in each byte that is a letter: `(packed input | fold) == words` compares
    /// case-insensitively (a letter's two cases differ only in that bit) and every other
    /// byte exactly.
    fold: [u64; 4],
    spec: &'static CommandSpec,
    /// `index_of(spec)`.
    index: u16,
}

/// Buckets of the name index (a power of two, a few times the number of commands).
const NAME_BUCKETS_LOG2: u32 = 10;

/// The bucket of a name: a multiplicative hash of its length and its first, second and last
/// bytes with the case bit set (so both cases of a letter land in the same bucket).
#[inline]
fn bucket(name: &[u8]) -> usize {
    let at = |i: usize| u32::from(name.get(i).copied().unwrap_or(0) | 0x20);
    let last = name.len().saturating_sub(1);
    let k = at(0) | at(1) << 8 | at(last) << 16 | (name.len() as u32) << 24;
    (k.wrapping_mul(0x9E37_79B1) >> (32 - NAME_BUCKETS_LOG2)) as usize
}

/// The first [`MAX_NAME`] bytes of `name`, zero-padded, as little-endian words.
#[inline]
fn pack_name(name: &[u8]) -> [u64; 4] {
    let mut buf = [0u8; MAX_NAME];
    let n = name.len().min(MAX_NAME);
    if let (Some(d), Some(s)) = (buf.get_mut(..n), name.get(..n)) {
        d.copy_from_slice(s);
    }
    let mut words = [0u64; 4];
    for (w, c) in words.iter_mut().zip(buf.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *w = u64::from_le_bytes(b);
    }
    words
}

fn name_index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut all: Vec<(usize, NameEntry)> = commands()
            .enumerate()
            .filter(|(_, c)| (1..=MAX_NAME).contains(&c.name.len()))
            .map(|(i, c)| {
                let name = c.name.as_bytes();
                let b = bucket(name);
                let letters: Vec<u8> = name
                    .iter()
                    .map(|ch| if ch.is_ascii_alphabetic() { 0x20 } else { 0 })
                    .collect();
                let entry = NameEntry {
                    words: pack_name(name),
                    fold: pack_name(&letters),
                    spec: c,
                    index: u16::try_from(i).unwrap_or(u16::MAX),
                };
                (b, entry)
            })
            .collect();
        all.sort_by_key(|(b, e)| (*b, e.index));
        let mut runs = vec![(0u16, 0u16); 1 << NAME_BUCKETS_LOG2];
        for (pos, (b, _)) in all.iter().enumerate() {
            let pos = pos as u16;
            if let Some(r) = runs.get_mut(*b) {
                if r.0 == r.1 {
                    *r = (pos, pos);
                }
                r.1 = pos + 1;
            }
        }
        NameIndex {
            runs,
            order: all.into_iter().map(|(_, e)| e).collect(),
        }
    })
}

/// Case-insensitive lookup without allocating or hashing; also gives the command's
/// [`index_of`] position.
#[inline]
pub(crate) fn lookup_indexed(name: &[u8]) -> Option<(&'static CommandSpec, usize)> {
    // GET and SET are most of the traffic: skip the index for them.
    if name.len() == 3 && name[1].eq_ignore_ascii_case(&b'e') && name[2].eq_ignore_ascii_case(&b't')
    {
        match name[0] | 0x20 {
            b'g' => return Some((&BASE[GET_INDEX], GET_INDEX)),
            b's' => return Some((&BASE[SET_INDEX], SET_INDEX)),
            _ => {}
        }
    }
    lookup_in_index(name)
}

#[inline(never)]
fn lookup_in_index(name: &[u8]) -> Option<(&'static CommandSpec, usize)> {
    if name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    let idx = name_index();
    let &(start, end) = idx.runs.get(bucket(name))?;
    let cands = idx.order.get(usize::from(start)..usize::from(end))?;
    let first = name_word(name, 0);
    for e in cands {
        if first | e.fold[0] != e.words[0] {
            continue;
        }
        if name.len() <= 8
            || (1..name.len().div_ceil(8))
                .all(|i| name_word(name, i) | e.fold[i % 4] == e.words[i % 4])
        {
            return Some((e.spec, usize::from(e.index)));
        }
    }
    None
}

/// Bytes `8 * i ..` of `name` as a little-endian word, zero-padded (as [`pack_name`] packs
/// them), without copying the name: a whole word is one load, a shorter tail two
/// overlapping ones (bytes at the same position are the same, so OR-ing them is harmless).
#[inline]
fn name_word(name: &[u8], i: usize) -> u64 {
    let t = name.get(8 * i..).unwrap_or(&[]);
    let load4 = |at: usize| {
        t.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b: [u8; 4]| u64::from(u32::from_le_bytes(b)))
    };
    match t.len() {
        0 => 0,
        1..4 => t
            .iter()
            .enumerate()
            .fold(0, |w, (k, &b)| w | u64::from(b) << (8 * k)),
        4..8 => load4(0) | load4(t.len() - 4) << (8 * (t.len() - 4)),
        _ => t
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_le_bytes),
    }
}

/// Case-insensitive lookup without allocating.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    lookup_indexed(name).map(|(c, _)| c)
}

/// An error reply. The connection stays open.
#[derive(Debug)]
pub(crate) enum CmdError {
    /// `ERR wrong number of arguments for '<name>' command`.
    WrongArity(&'static str),
    /// `ERR syntax error`.
    Syntax,
    /// `ERR value is not an integer or out of range`.
    NotInteger,
    /// `ERR value is not a valid float`.
    NotFloat,
    /// `WRONGTYPE ...`.
    WrongType,
    /// Any other error: the full text after `-`, e.g. `ERR no such key`.
    Msg(Cow<'static, str>),
    /// A keyspace error.
    Core(sabaody_core::Error),
}

impl From<sabaody_core::Error> for CmdError {
    fn from(e: sabaody_core::Error) -> Self {
        match e {
            sabaody_core::Error::WrongType => CmdError::WrongType,
            sabaody_core::Error::NotInteger => CmdError::NotInteger,
            sabaody_core::Error::NotFloat => CmdError::NotFloat,
            other => CmdError::Core(other),
        }
    }
}

impl CmdError {
    pub fn msg(s: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Msg(s.into())
    }

    /// Writes the error reply.
    pub fn write(&self, out: &mut BytesMut) {
        match self {
            CmdError::WrongArity(name) => {
                let s = format!("ERR wrong number of arguments for '{name}' command");
                write::error(out, s.as_bytes());
            }
            CmdError::Syntax => write::error(out, b"ERR syntax error"),
            CmdError::NotInteger => {
                write::error(out, b"ERR value is not an integer or out of range")
            }
            CmdError::NotFloat => write::error(out, b"ERR value is not a valid float"),
            CmdError::WrongType => write::error(
                out,
                b"WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            CmdError::Msg(m) => write_error_sanitized(out, m.as_bytes()),
            CmdError::Core(e) => write::error(out, e.redis_text().as_bytes()),
        }
    }
}

impl CmdError {
    /// The error code (first word of the reply), for `INFO errorstats`.
    pub fn code(&self) -> &str {
        match self {
            CmdError::WrongType => "WRONGTYPE",
            CmdError::Msg(m) => m.split(' ').next().unwrap_or("ERR"),
            CmdError::Core(e) => e.code(),
            _ => "ERR",
        }
    }
}

/// Writes an error reply, replacing CR/LF (which would break the framing) with spaces, as Redis
/// does for messages that echo client input.
pub(crate) fn write_error_sanitized(out: &mut BytesMut, msg: &[u8]) {
    if msg.iter().any(|&b| b == b'\r' || b == b'\n') {
        let clean: Vec<u8> = msg
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        write::error(out, &clean);
    } else {
        write::error(out, msg);
    }
}

/// Replies a `HELP` subcommand's lines as an array of simple strings, as Redis does.
pub(crate) fn help(ctx: &mut Ctx<'_, '_>, lines: &[&str]) {
    write::array_len(ctx.out, lines.len());
    for l in lines {
        write::simple(ctx.out, l.as_bytes());
    }
}

/// Parses `numkeys key... SIDE [COUNT count]` (LMPOP/BLMPOP with LEFT|RIGHT, ZMPOP/BZMPOP
/// with MIN|MAX; `side` reads the word): the keys, the side, the count (1 without COUNT),
/// with Redis 7.0's errors.
pub(crate) fn numkeys_side_count<'a, S>(
    args: &mut Args<'a>,
    side: impl Fn(&[u8]) -> Result<S, CmdError>,
) -> Result<(&'a [Bytes], S, usize), CmdError> {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    const COUNT: &str = "ERR count should be greater than 0";
    let n = parse_i64(args.next_bytes()?).ok_or_else(|| CmdError::msg(NUMKEYS))?;
    if n < 1 {
        return Err(CmdError::msg(NUMKEYS));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n >= args.remaining() {
        return Err(CmdError::Syntax);
    }
    let rest = args.rest();
    let (keys, tail) = rest.split_at(n);
    let mut tail = tail.iter();
    let s = side(tail.next().ok_or(CmdError::Syntax)?)?;
    let mut count = None;
    while let Some(opt) = tail.next() {
        if opt.eq_ignore_ascii_case(b"COUNT") && count.is_none() {
            let c = tail.next().ok_or(CmdError::Syntax)?;
            let c = parse_i64(c).ok_or_else(|| CmdError::msg(COUNT))?;
            if c < 1 {
                return Err(CmdError::msg(COUNT));
            }
            count = Some(usize::try_from(c).unwrap_or(usize::MAX));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((keys, s, count.unwrap_or(1)))
}

/// Most elements one SRANDMEMBER / ZRANDMEMBER / HRANDFIELD reply may repeat (negative counts).
/// Redis builds whatever is asked and can run out of memory (SRANDMEMBER s -2000000000 kills a
/// 7.0 server); a reply past this is refused instead.
pub(crate) const MAX_RANDOM_REPLY: i64 = 1 << 24;

/// Refuses a negative random-reply count whose reply would exceed [`MAX_RANDOM_REPLY`].
pub(crate) fn check_random_count(count: i64) -> Result<(), CmdError> {
    if count < -MAX_RANDOM_REPLY {
        return Err(CmdError::msg(format!(
            "ERR count is out of range: a reply holds at most {MAX_RANDOM_REPLY} elements"
        )));
    }
    Ok(())
}

/// Parses an integer exactly as Redis's `string2ll`: the keyspace's own parser, so arguments
/// and stored values follow one rule.
pub(crate) use sabaody_core::num::parse_i64_strict as parse_i64;

/// The argument cursor handed to handlers (the command name is already consumed).
#[derive(Debug)]
pub(crate) struct Args<'a> {
    argv: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    pub fn new(argv: &'a [Bytes]) -> Self {
        Args { argv, pos: 1 }
    }

    /// The next argument; a syntax error when there is none.
    pub fn next_bytes(&mut self) -> Result<&'a Bytes, CmdError> {
        let a = self.argv.get(self.pos).ok_or(CmdError::Syntax)?;
        self.pos += 1;
        Ok(a)
    }

    /// The next argument as a Redis integer.
    pub fn next_int(&mut self) -> Result<i64, CmdError> {
        parse_i64(self.next_bytes()?).ok_or(CmdError::NotInteger)
    }

    /// The command name as the client sent it (its case kept), for errors that echo it.
    pub fn name(&self) -> &'a [u8] {
        self.argv.first().map_or(&[][..], |b| &b[..])
    }

    /// The next argument, if any, without consuming it.
    pub fn peek(&self) -> Option<&'a Bytes> {
        self.argv.get(self.pos)
    }

    /// Arguments left.
    pub fn remaining(&self) -> usize {
        self.argv.len().saturating_sub(self.pos)
    }

    /// All arguments left, consumed.
    pub fn rest(&mut self) -> &'a [Bytes] {
        let r = self.argv.get(self.pos..).unwrap_or(&[]);
        self.pos = self.argv.len();
        r
    }

    /// Fails with a syntax error if arguments are left.
    pub fn finish(&self) -> Result<(), CmdError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// What a handler works with. Inside EXEC, `tx` holds the transaction (every shard locked):
/// keyspace access must then go through it, which [`ks!`] does.
pub(crate) struct Ctx<'a, 't> {
    pub shared: &'a Shared,
    pub client: &'a mut Client,
    pub out: &'a mut BytesMut,
    pub tx: Option<&'a Transaction<'t>>,
    /// What the AOF logs for this command instead of its arguments (see [`Ctx::propagate`]).
    pub prop: Option<Vec<Vec<Bytes>>>,
}

/// The keyspace a handler talks to: the client's database, or the EXEC transaction.
pub(crate) enum Ks<'a, 't> {
    Cache(&'a Cache),
    Tx(&'a Transaction<'t>),
}

/// Runs an expression against the current keyspace (`Cache` or `Transaction`), both of which
/// implement `sabaody_core::Keyspace`: `ks!(ctx, k => k.get(key))`.
macro_rules! ks {
    ($ctx:expr, $k:ident => $e:expr) => {
        match $ctx.ks() {
            $crate::cmd::Ks::Cache($k) => $e,
            $crate::cmd::Ks::Tx($k) => $e,
        }
    };
}
pub(crate) use ks;

impl<'t> Ctx<'_, 't> {
    /// The keyspace of the client's selected database (or the running transaction).
    pub fn ks(&self) -> Ks<'_, 't> {
        match self.tx {
            Some(tx) => {
                // SELECT inside MULTI changes the database of the commands that follow it.
                let _ = tx.select(self.client.db);
                Ks::Tx(tx)
            }
            None => Ks::Cache(&self.shared.dbs[self.client.db]),
        }
    }

    pub fn proto(&self) -> Protocol {
        self.client.proto
    }

    /// Publishes the keyspace event `event` (of notification `class`, see [`crate::notify`])
    /// for `key` in the client's database, if that class is enabled.
    /// Published as this client's PUBLISH would be: a RESP3 client subscribed to its own
    /// events gets them before the command's reply, as from Redis.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.notify_db(class, event, key, db);
    }

    /// [`Ctx::notify`] for a key of database `db` (COPY ... DB, MOVE).
    #[inline]
    pub fn notify_db(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.shared.notify.wants(class) {
            self.publish_event(event, key, db);
        }
    }

    #[cold]
    fn publish_event(&mut self, event: &str, key: &[u8], db: usize) {
        let (shared, client, out) = (self.shared, &mut *self.client, &mut *self.out);
        shared
            .notify
            .messages(event.as_bytes(), key, db, |channel, message| {
                shared
                    .pubsub
                    .publish(shared, client, out, false, channel, message);
            });
    }

    /// Whether events of `class` are published: handlers skip work done only for them.
    #[inline]
    pub fn notifying(&self, class: u32) -> bool {
        self.shared.notify.wants(class)
    }

    /// Publishes `del` for `key` if it no longer exists: after a command that removes
    /// elements, whose key goes when it is emptied (Redis reports the element event, then
    /// `del`). Looks the key up only while generic events are published.
    pub fn notify_if_gone(&mut self, key: &[u8]) {
        if self.notifying(crate::notify::class::GENERIC)
            && !ks!(self, k => sabaody_core::Keyspace::contains_key(k, key))
        {
            self.notify(crate::notify::class::GENERIC, "del", key);
        }
    }

    /// The event for a command that stores a computed result into `dst` (SINTERSTORE,
    /// ZUNIONSTORE, SORT ... STORE, BITOP, GEOSEARCHSTORE...): `event` when the result was
    /// stored, `del` when it was empty and `dst` existed before (`existed`), nothing else.
    pub fn notify_store(
        &mut self,
        class: u32,
        event: &str,
        dst: &[u8],
        stored: bool,
        existed: bool,
    ) {
        if stored {
            self.notify(class, event, dst);
        } else if existed {
            self.notify(crate::notify::class::GENERIC, "del", dst);
        }
    }

    /// The event of a command that gave `key` a time to live: `expire`, or `del` when the time
    /// was already past and the key is gone.
    pub fn notify_expiry_set(&mut self, key: &[u8]) {
        if self.notifying(crate::notify::class::GENERIC) {
            let gone = !ks!(self, k => sabaody_core::Keyspace::contains_key(k, key));
            let event = if gone { "del" } else { "expire" };
            self.notify(crate::notify::class::GENERIC, event, key);
        }
    }

    /// Whether `key` exists, for a handler that reports a deletion it cannot otherwise see;
    /// only asked while generic events are published (false otherwise).
    pub fn exists_for_notify(&self, key: &[u8]) -> bool {
        self.notifying(crate::notify::class::GENERIC)
            && ks!(self, k => sabaody_core::Keyspace::contains_key(k, key))
    }

    /// Whether [`Ctx::propagate`] is heard (the AOF is on): handlers skip building what
    /// would be logged otherwise.
    pub fn propagating(&self) -> bool {
        self.shared.aof.on()
    }

    /// Logs `argv` to the AOF in place of this command's own arguments (several calls log
    /// several commands, in order). For commands whose effect depends on when or where they
    /// ran: relative TTLs become absolute, random picks become the members picked, blocking
    /// pops become the pop that was served, as Redis propagates them.
    pub fn propagate(&mut self, argv: Vec<Bytes>) {
        if self.propagating() {
            self.prop.get_or_insert_with(Vec::new).push(argv);
        }
    }

    /// Logs nothing for this command (it changed nothing).
    pub fn propagate_nothing(&mut self) {
        if self.propagating() {
            self.prop.get_or_insert_with(Vec::new);
        }
    }

    /// Logs a command that gave `key` a time to live as the key now stands: `argv` followed
    /// by `PXAT <absolute ms>` (or, with `argv` empty, `PEXPIREAT key <ms>`), or `DEL key`
    /// when the time was already past and the key is gone. Exact because the AOF's order lock
    /// is held: nothing else changed the key since the command.
    pub fn propagate_expiry(&mut self, key: &Bytes, argv: &[&[u8]]) {
        if !self.propagating() {
            return;
        }
        let at = ks!(self, k => sabaody_core::Keyspace::pexpire_time(k, key));
        let b = |s: &[u8]| Bytes::copy_from_slice(s);
        let logged = if at == -2 {
            vec![b(b"DEL"), key.clone()]
        } else if argv.is_empty() {
            vec![b(b"PEXPIREAT"), key.clone(), Bytes::from(at.to_string())]
        } else {
            let mut v: Vec<Bytes> = argv.iter().map(|a| b(a)).collect();
            v.push(b(b"PXAT"));
            v.push(Bytes::from(at.to_string()));
            v
        };
        self.propagate(logged);
    }

    pub fn ok(&mut self) {
        // `+OK` is the same in RESP2 and RESP3.
        self.out.extend_from_slice(b"+OK\r\n");
    }
    pub fn null(&mut self) {
        write::null_bulk(self.out, self.client.proto);
    }
}

/// Writes `-ERR unknown command ...` exactly as Redis 7.0 does.
fn unknown_command(out: &mut BytesMut, argv: &[Bytes]) {
    let mut args = Vec::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        // Redis prints the argument with `%.*s`, which stops at a NUL byte.
        let a = a.split(|&b| b == 0).next().unwrap_or(&[]);
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    let name = argv[0].split(|&b| b == 0).next().unwrap_or(&[]);
    msg.extend_from_slice(&name[..name.len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&args);
    write_error_sanitized(out, &msg);
}

/// Writes `-ERR unknown subcommand 'x'. Try CLIENT HELP.`.
pub(crate) fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    CmdError::msg(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        cmd.to_ascii_uppercase()
    ))
}

/// Executes one request: lookup, auth check, arity check, MULTI queuing, the handler,
/// statistics, WATCH invalidation, MONITOR feed and slow log.
pub(crate) fn execute(shared: &Shared, client: &mut Client, argv: &[Bytes], out: &mut BytesMut) {
    let mut order = crate::aof::Order::new(&shared.aof, client.info.loop_idx);
    execute_ordered(shared, client, &mut order, argv, out);
}

/// [`execute`] for one of a run of requests that share `order` (see [`crate::aof::Order`]).
pub(crate) fn execute_ordered(
    shared: &Shared,
    client: &mut Client,
    order: &mut crate::aof::Order<'_>,
    argv: &[Bytes],
    out: &mut BytesMut,
) {
    let Some(first) = argv.first() else { return };
    let Some((spec, idx)) = lookup_indexed(first) else {
        if let Some(m) = client.multi.as_mut() {
            m.dirty = true;
        }
        unknown_command(out, argv);
        shared.stats_at(client.info.loop_idx).note_error("ERR");
        return;
    };
    // The AOF's order lock: a write and its log entry are one step (see `aof`).
    // (One call of `enter`, which is inlined here.)
    let (by, in_multi) = match &client.multi {
        None => (spec, false),
        Some(m) => order_in_multi(spec, m),
    };
    let _order = order.enter(by, in_multi);
    execute_spec(shared, client, spec, idx, argv, out);
}

/// What a command of a client inside MULTI takes the AOF order lock as: `(spec, in_multi)`
/// for [`crate::aof::Order::enter`]. A queued command orders as queued; EXEC, which runs its
/// queued commands under its one hold of the lock, orders as the most demanding of them: as
/// an admin command when one is queued (CONFIG SET appendonly turns the AOF on or off, which
/// must exclude every other loop's writes even while the AOF is off) or when INFO is (EXEC then
/// runs outside the all-shards transaction), as EXEC otherwise.
#[cold]
#[inline(never)]
fn order_in_multi(
    spec: &'static CommandSpec,
    m: &crate::client::MultiState,
) -> (&'static CommandSpec, bool) {
    if !spec.has(NO_QUEUE) {
        return (spec, true);
    }
    if spec.name == "exec" {
        if let Some((admin, _)) = m.queued.iter().find(|(s, _)| s.has(ADMIN)) {
            return (admin, false);
        }
        // INFO (NO_TX) makes EXEC run its commands one by one, outside the all-shards
        // transaction: order it as an admin command, so that no other loop's command runs
        // between them, AOF on or off.
        if m.queued.iter().any(|(s, _)| s.has(NO_TX))
            && let Some(admin) = lookup(b"config")
        {
            return (admin, false);
        }
    }
    (spec, false)
}

#[inline]
fn execute_spec(
    shared: &Shared,
    client: &mut Client,
    spec: &'static CommandSpec,
    idx: usize,
    argv: &[Bytes],
    out: &mut BytesMut,
) {
    let n = argv.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
        // Redis aborts the transaction outright when EXEC itself is malformed.
        let text = format!("ERR wrong number of arguments for '{}' command", spec.name);
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, spec.name == "exec", out, &text, "ERR");
        return;
    }
    if spec.has(CONTAINER)
        && let Some(name) = subcommand_arity_error(spec, argv)
    {
        let text = format!("ERR wrong number of arguments for '{name}' command");
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, false, out, &text, "ERR");
        return;
    }
    if !client.authenticated && !spec.has(NO_AUTH) {
        if let Some(m) = client.multi.as_mut() {
            m.dirty = true;
        }
        write::error(out, b"NOAUTH Authentication required.");
        note_rejected(shared, client, spec, idx, argv);
        shared.stats_at(client.info.loop_idx).note_error("NOAUTH");
        return;
    }
    if client.multi.is_some() {
        execute_in_multi(shared, client, spec, idx, argv, out);
        return;
    }
    // The memory bound, as Redis's processCommand: evict before a command that may grow
    // memory; refuse it if nothing may be evicted.
    if spec.has(DENYOOM) && shared.dbs[0].make_room().is_err() {
        let text = sabaody_core::Error::OutOfMemory.redis_text();
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, false, out, &text, "OOM");
        return;
    }
    if spec.has(WRITE | REFUSED_ON_MISCONF)
        && let Some(text) = write_refusal(shared)
    {
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, false, out, &text, "MISCONF");
        return;
    }
    // A RESP2 client subscribed to anything runs only the Pub/Sub commands, PING, QUIT and
    // RESET. (It cannot be inside MULTI: MULTI is refused to it.)
    if client.pubsub.is_some() && refused_when_subscribed(shared, client, spec, idx, argv, out) {
        return;
    }
    run(shared, client, spec, idx, argv, out, None);
}

/// Redis 7.0's refusal of a command to a RESP2 client in subscribed mode (true: refused).
/// The error names a container's subcommand (`client|list`) when Redis has it; a
/// subcommand Redis does not know runs and is answered "unknown subcommand", as Redis looks
/// it up before this check.
#[cold]
#[inline(never)]
fn refused_when_subscribed(
    shared: &Shared,
    client: &mut Client,
    spec: &'static CommandSpec,
    idx: usize,
    argv: &[Bytes],
    out: &mut BytesMut,
) -> bool {
    if client.proto != Protocol::Resp2 || pubsub::allowed_when_subscribed(spec.name) {
        return false;
    }
    let mut name = Cow::Borrowed(spec.name);
    if spec.has(CONTAINER)
        && let Some(sub) = argv.get(1)
    {
        let full = format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        );
        match keyspec::meta(&full) {
            Some(m) => name = Cow::Borrowed(m.name),
            None => return false,
        }
    }
    let text = format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    );
    note_rejected(shared, client, spec, idx, argv);
    reject(shared, client, false, out, &text, "ERR");
    true
}

/// As Redis: while background saves fail and save points are configured
/// (`stop-writes-on-bgsave-error yes`), writes (and PING) are refused. Likewise while writes
/// to the AOF fail.
#[inline]
fn write_refusal(shared: &Shared) -> Option<Cow<'static, str>> {
    if !shared.persist.refusing_writes() && shared.aof.writes_ok() {
        return None;
    }
    write_refusal_text(shared)
}

#[cold]
#[inline(never)]
fn write_refusal_text(shared: &Shared) -> Option<Cow<'static, str>> {
    if shared.persist.refusing_writes() {
        Some(Cow::Borrowed(crate::persist::MISCONF))
    } else {
        shared.aof.write_error().map(Cow::Owned)
    }
}

/// [`execute_spec`] for a client inside MULTI: the command is queued (or, for EXEC, DISCARD,
/// WATCH..., run at once).
#[cold]
fn execute_in_multi(
    shared: &Shared,
    client: &mut Client,
    spec: &'static CommandSpec,
    idx: usize,
    argv: &[Bytes],
    out: &mut BytesMut,
) {
    if spec.has(NO_MULTI) && !spec.has(NO_QUEUE) {
        if let Some(m) = client.multi.as_mut() {
            m.dirty = true;
        }
        write::error(out, b"ERR Command not allowed inside a transaction");
        note_rejected(shared, client, spec, idx, argv);
        shared.stats_at(client.info.loop_idx).note_error("ERR");
        return;
    }
    // EXEC counts as the commands it will run (Redis's getCommandFlags: the union of the
    // queued commands' flags), so a transaction is refused as a whole (EXECABORT) when memory
    // or persistence went bad after its commands were queued.
    let exec = spec.has(NO_QUEUE) && spec.name == "exec";
    let (denyoom, writes) = match client.multi.as_ref() {
        Some(m) if exec => (
            m.queued.iter().any(|(s, _)| s.has(DENYOOM)),
            m.queued.iter().any(|(s, _)| s.has(WRITE)),
        ),
        _ => (spec.has(DENYOOM), spec.has(WRITE)),
    };
    // Every queued command counts for the memory bound (queuing itself takes memory);
    // DISCARD and QUIT never do, EXEC only for what it runs.
    let in_multi = !spec.has(NO_QUEUE);
    if (denyoom || in_multi) && shared.dbs[0].make_room().is_err() {
        let text = sabaody_core::Error::OutOfMemory.redis_text();
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, exec, out, &text, "OOM");
        return;
    }
    if (writes || spec.has(REFUSED_ON_MISCONF))
        && let Some(text) = write_refusal(shared)
    {
        note_rejected(shared, client, spec, idx, argv);
        reject(shared, client, exec, out, &text, "MISCONF");
        return;
    }
    if in_multi {
        transaction::queue(shared, client, spec, argv, out);
        return;
    }
    run(shared, client, spec, idx, argv, out, None);
}

/// The full name of a container's implemented subcommand (`config|get`) called with the
/// wrong number of arguments for it, as Redis checks before running the subcommand.
#[cold]
fn subcommand_arity_error(spec: &CommandSpec, argv: &[Bytes]) -> Option<&'static str> {
    let m = server::subcommand_meta(spec.name, argv.get(1)?)?;
    let n = argv.len() as i32;
    ((m.arity > 0 && n != m.arity) || n < -m.arity).then_some(m.name)
}

/// Counts a refused call in INFO commandstats' `rejected_calls` (a container's under its
/// subcommand; an unknown subcommand is not counted, as in Redis).
#[cold]
fn note_rejected(shared: &Shared, client: &Client, spec: &CommandSpec, idx: usize, argv: &[Bytes]) {
    let stats = shared.stats_at(client.info.loop_idx);
    if spec.has(CONTAINER) && argv.len() > 1 {
        if let Some(j) = argv
            .get(1)
            .and_then(|s| server::subcommand_index(spec.name, s))
        {
            stats.note_rejected(idx, Some(j));
        }
    } else {
        stats.note_rejected(idx, None);
    }
}

/// Refuses a command before it runs with the error `text`: inside MULTI the transaction is
/// flagged (EXEC will answer EXECABORT); a refused EXEC discards the transaction and says why
/// (`text` without its `ERR ` prefix), as Redis's rejectCommand.
fn reject(
    shared: &Shared,
    client: &mut Client,
    exec: bool,
    out: &mut BytesMut,
    text: &str,
    code: &str,
) {
    if exec {
        transaction::abort(shared, client);
        let reason = text.strip_prefix("ERR ").unwrap_or(text);
        write::error(
            out,
            format!("EXECABORT Transaction discarded because of: {reason}").as_bytes(),
        );
        shared
            .stats_at(client.info.loop_idx)
            .note_error("EXECABORT");
        return;
    }
    if let Some(m) = client.multi.as_mut() {
        m.dirty = true;
    }
    write::error(out, text.as_bytes());
    shared.stats_at(client.info.loop_idx).note_error(code);
}

/// The change counts of the shards of a write's keys (compared before and after it ran).
fn written_changes(shared: &Shared, db: usize, spec: &CommandSpec, argv: &[Bytes]) -> u64 {
    let Some(cache) = shared.dbs.get(db) else {
        return 0;
    };
    spec.written_keys(argv)
        .map(|k| cache.changes_near(k))
        .fold(0, u64::wrapping_add)
}

/// Remembers the keys a read command of a tracking client is about to read.
#[cold]
fn track_read(shared: &Shared, client: &Client, spec: &CommandSpec, argv: &[Bytes]) {
    let Some(t) = client.tracking.as_deref() else {
        return;
    };
    if !spec.has(READONLY) || !t.remembers() {
        return;
    }
    if spec.has(MOVABLEKEYS) {
        let Some(m) = keyspec::meta(spec.name) else {
            return;
        };
        let Some(keys) = keyspec::keys_of_call(m, argv) else {
            return;
        };
        let keys = keys.iter().filter_map(|(i, _)| argv.get(*i));
        shared.tracking.remember(shared, client.id, keys);
    } else {
        shared.tracking.remember(shared, client.id, spec.keys(argv));
    }
}

/// Runs an already validated command (also used by EXEC for queued commands, with `tx`).
/// `idx` is the command's [`index_of`] position.
pub(crate) fn run(
    shared: &Shared,
    client: &mut Client,
    spec: &'static CommandSpec,
    idx: usize,
    argv: &[Bytes],
    out: &mut BytesMut,
    tx: Option<&Transaction<'_>>,
) {
    if shared.monitors_active() && !spec.has(SKIP_MONITOR) {
        shared.feed_monitors(client, argv);
    }
    // A command with movable keys marks the keys it writes itself (GEORADIUS only reads its
    // first key unless it has a STORE option; LMPOP's keys are not at fixed positions).
    // GETEX without options writes nothing.
    if spec.flags & (WRITE | MOVABLEKEYS) == WRITE
        && (shared.watches.any() || shared.blocking.active())
        && !(argv.len() == 2 && spec.name == "getex")
    {
        // Marked before the write, so an EXEC that takes its locks after the write always sees
        // the mark (a write that then fails only costs a spurious abort).
        shared
            .watches
            .touch_keys(client.db, spec.written_keys(argv));
        // Clients blocked on these keys may now be served (after this command): only a
        // written key can receive what a blocked client waits for.
        shared.blocking.signal(client.db, spec.written_keys(argv));
    }
    // Client-side caching: a read registers its keys before it runs (a write that races with
    // it then invalidates them; see `tracking.rs`), a write notes whether it changed them.
    if client.tracking.is_some() {
        track_read(shared, client, spec, argv);
    }
    let tracked_write = spec.flags & (WRITE | MOVABLEKEYS) == WRITE
        && shared.tracking.active()
        && !matches!(spec.name, "del" | "unlink");
    let changes_before = if tracked_write {
        written_changes(shared, client.db, spec, argv)
    } else {
        0
    };
    client.info.note_command(idx);
    // One clock read per command: the end of one command is the start of the next
    // (`process_input` starts the chain once per batch).
    let start = client.clock;
    let mut args = Args::new(argv);
    let db = client.db;
    let (result, prop) = {
        let mut ctx = Ctx {
            shared,
            client: &mut *client,
            out: &mut *out,
            tx,
            prop: None,
        };
        let r = (spec.handler)(&mut ctx, &mut args);
        (r, ctx.prop)
    };
    // A read registers again after it ran: what it found may have replaced an invalidated
    // entry (a lazily expired key is invalidated during the read).
    if client.tracking.is_some() {
        track_read(shared, client, spec, argv);
    }
    // ... and a write invalidates its keys after it ran.
    // (A write that changed nothing invalidates nothing, as Redis signals no modified key.)
    if tracked_write
        && result.is_ok()
        && written_changes(shared, client.db, spec, argv) != changes_before
    {
        shared.tracking.invalidate(
            shared,
            Some(client.id),
            spec.written_keys(argv).map(|k| &k[..]),
        );
    }
    if let Some(t) = client.tracking.as_mut()
        && tx.is_none()
        && client.multi.is_none()
        && spec.name != "client"
    {
        // `CLIENT CACHING yes|no` is for the next command (the whole of an EXEC).
        t.caching = None;
    }
    if result.is_ok() && spec.has(WRITE) && shared.aof.on() {
        match prop {
            None => shared.aof.log(db, argv),
            Some(v) => shared.aof.log_many(db, &v),
        }
    }
    let now = crate::mono::now_ns();
    let elapsed_ns = now.saturating_sub(start);
    client.clock = now;
    let stats = shared.stats_at(client.info.loop_idx);
    let ok = match &result {
        Ok(()) => true,
        Err(e) => {
            e.write(out);
            stats.note_error(e.code());
            false
        }
    };
    let track = shared
        .latency_tracking
        .load(std::sync::atomic::Ordering::Relaxed);
    shared.latency.observe(
        if spec.has(FAST) {
            "fast-command"
        } else {
            "command"
        },
        elapsed_ns / 1_000_000,
    );
    if spec.has(CONTAINER) {
        // Counted per subcommand (`cmdstat_config|get`); an unknown subcommand is not a
        // command Redis counts.
        if let Some(sub) = argv
            .get(1)
            .and_then(|s| server::subcommand_index(spec.name, s))
        {
            stats.note_subcommand(sub, elapsed_ns, ok, track);
        }
    } else {
        stats.note_command(idx, elapsed_ns, ok, track);
    }
    if !spec.has(SKIP_SLOWLOG) {
        shared
            .slowlog
            .maybe_record(shared, client, argv, elapsed_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_indices() {
        assert_eq!(BASE[GET_INDEX].name, "get");
        assert_eq!(BASE[SET_INDEX].name, "set");
        assert!(lookup(b"\x07et").is_none());
        assert_eq!(lookup(b"SeT").map(|c| c.name), Some("set"));
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(lookup(b"GET").map(|c| c.name), Some("get"));
        assert_eq!(lookup(b"gEt").map(|c| c.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(&[b'a'; 100]).is_none());
        assert!(lookup(b"").is_none());
    }

    /// Every name is found in any case with its `index_of` position; a name with one byte
    /// changed (in ways a case fold could confuse) is not taken for it.
    #[test]
    fn lookup_finds_every_command_exactly() {
        for (i, c) in commands().enumerate() {
            let lower = c.name.as_bytes().to_vec();
            let upper = c.name.to_ascii_uppercase().into_bytes();
            let mixed: Vec<u8> = lower
                .iter()
                .enumerate()
                .map(|(j, b)| {
                    if j % 2 == 0 {
                        b.to_ascii_uppercase()
                    } else {
                        *b
                    }
                })
                .collect();
            for n in [&lower, &upper, &mixed] {
                let (spec, idx) = lookup_indexed(n).unwrap();
                assert_eq!((spec.name, idx), (c.name, i));
                assert_eq!(index_of(spec), i);
            }
            for j in 0..lower.len() {
                for flip in [0x20u8, 0x40, 0x60, 0x80, 0x01] {
                    let mut n = lower.clone();
                    n[j] ^= flip;
                    if n.eq_ignore_ascii_case(&lower) {
                        continue;
                    }
                    if let Some(other) = lookup(&n) {
                        assert!(other.name.as_bytes().eq_ignore_ascii_case(&n), "{n:?}");
                    }
                }
            }
            let mut longer = lower.clone();
            longer.push(b'x');
            if let Some(other) = lookup(&longer) {
                assert!(other.name.as_bytes().eq_ignore_ascii_case(&longer));
            }
        }
    }

    #[test]
    fn name_words_match_the_packing() {
        let text: Vec<u8> = (1..=40u8).map(|i| i.wrapping_mul(37) | 1).collect();
        for len in 0..=32 {
            let name = &text[..len];
            let packed = pack_name(name);
            for (i, w) in packed.iter().enumerate() {
                assert_eq!(name_word(name, i), *w, "len {len} word {i}");
            }
        }
    }

    /// The index stays an index: no bucket holds more than a few names.
    #[test]
    fn name_buckets_are_short() {
        let idx = name_index();
        let longest = idx.runs.iter().map(|&(a, b)| b - a).max().unwrap();
        assert!(longest <= 4, "a bucket of {longest} names");
        assert_eq!(idx.order.len(), command_count());
    }

    #[test]
    fn table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for (i, c) in commands().enumerate() {
            assert!(names.insert(c.name), "duplicate {}", c.name);
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert_eq!(index_of(c), i);
            assert_eq!(command_at(i).map(|s| s.name), Some(c.name));
            assert!(c.arity != 0);
            assert!(c.name.len() <= 32, "lookup's stack buffer is 32 bytes");
        }
        assert_eq!(names.len(), command_count());
    }

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"1a"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
    }

    #[test]
    fn key_positions() {
        let argv: Vec<Bytes> = ["mset", "a", "1", "b", "2"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let spec = lookup(b"mset").unwrap();
        let keys: Vec<&Bytes> = spec.keys(&argv).collect();
        assert_eq!(keys, vec![&Bytes::from("a"), &Bytes::from("b")]);
        let spec = lookup(b"ping").unwrap();
        assert_eq!(spec.keys(&argv).count(), 0);
    }

    #[test]
    fn written_keys_leave_out_sources() {
        let argv = |line: &str| -> Vec<Bytes> {
            line.split(' ')
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        let written = |line: &str| -> Vec<String> {
            let a = argv(line);
            let spec = lookup(&a[0]).unwrap();
            spec.written_keys(&a)
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        assert_eq!(written("sunionstore d a b c"), ["d"]);
        assert_eq!(written("sinterstore d a"), ["d"]);
        assert_eq!(written("sdiffstore d a b"), ["d"]);
        assert_eq!(written("zrangestore d a 0 -1"), ["d"]);
        assert_eq!(written("zunionstore d 2 a b"), ["d"]);
        assert_eq!(
            written("geosearchstore d a frommember m byradius 1 m"),
            ["d"]
        );
        assert_eq!(written("bitop and d a b"), ["d"]);
        assert_eq!(written("pfmerge d a b"), ["d"]);
        assert_eq!(written("copy a d replace"), ["d"]);
        // Moves change both keys; plain writes every key they name.
        assert_eq!(written("lmove a d left right"), ["a", "d"]);
        assert_eq!(written("smove a d m"), ["a", "d"]);
        assert_eq!(written("rename a d"), ["a", "d"]);
        assert_eq!(written("mset a 1 b 2"), ["a", "b"]);
        assert_eq!(written("del a b c"), ["a", "b", "c"]);
        // Written keys are always among the keys.
        for spec in commands() {
            let a = argv("x k1 k2 k3 k4 k5 k6");
            let keys: Vec<&Bytes> = spec.keys(&a).collect();
            assert!(
                spec.written_keys(&a).all(|k| keys.contains(&k)),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn exec_with_an_admin_command_takes_the_exclusive_side() {
        use crate::aof::{Aof, Guard, Order};
        let cache = Cache::builder().housekeeping(false).build();
        let aof = Aof::new(&cache, 2, Default::default());
        let spec = |n: &str| lookup(n.as_bytes()).unwrap();
        let queue = |names: &[&str]| crate::client::MultiState {
            queued: names.iter().map(|n| (spec(n), Vec::new())).collect(),
            dirty: false,
        };
        let exclusive =
            |g: &Option<Guard<'_>>| matches!(g, Some(Guard::Exclusive(_) | Guard::ExclusiveAll(_)));
        // The AOF is off: a plain transaction runs under the loop's shared stripe (held by
        // the batch), one with CONFIG (appendonly) under the exclusive side.
        let m = queue(&["set", "incr"]);
        let (by, in_multi) = order_in_multi(spec("exec"), &m);
        assert_eq!((by.name, in_multi), ("exec", false));
        let mut order = Order::new(&aof, 0);
        assert!(!exclusive(&order.enter(by, in_multi)));
        assert!(order.holds_off());
        let m = queue(&["set", "config", "incr"]);
        let (by, in_multi) = order_in_multi(spec("exec"), &m);
        assert_eq!((by.name, in_multi), ("config", false));
        // Taken after the batch's shared hold: the batch lets it go first.
        let g = order.enter(by, in_multi);
        assert!(exclusive(&g));
        assert!(!order.holds_off());
        drop(g);
        // INFO runs EXEC command by command: isolated like an admin transaction.
        let m = queue(&["set", "info", "incr"]);
        let (by, in_multi) = order_in_multi(spec("exec"), &m);
        assert_eq!((by.name, in_multi), ("config", false));
        let g = order.enter(by, in_multi);
        assert!(exclusive(&g));
        drop(g);
        // Queued commands and DISCARD order as themselves.
        let (by, in_multi) = order_in_multi(spec("config"), &m);
        assert_eq!((by.name, in_multi), ("config", true));
        let (by, _) = order_in_multi(spec("discard"), &m);
        assert_eq!(by.name, "discard");
    }

    #[test]
    fn unknown_command_format() {
        let argv: Vec<Bytes> = ["FOO", "a", "b"].iter().map(|s| Bytes::from(*s)).collect();
        let mut out = BytesMut::new();
        unknown_command(&mut out, &argv);
        assert_eq!(
            &out[..],
            b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
        );
    }
}
