//! Command semantics through `Session` (the server's decode + dispatch + keyspace path, no
//! socket). Expected replies were taken from redis-server 7.0.15 on this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_server::{Config, Session};

fn session() -> Session {
    let mut c = Config::default();
    c.set("loglevel", &["warning"]).unwrap();
    Session::new(c)
}

/// Sends one inline command, returns the reply as text.
fn run(s: &mut Session, line: &str) -> String {
    String::from_utf8_lossy(&s.feed(format!("{line}\r\n").as_bytes())).into_owned()
}

fn check(s: &mut Session, pairs: &[(&str, &str)]) {
    for (cmd, want) in pairs {
        assert_eq!(run(s, cmd), *want, "command {cmd:?}");
    }
}

#[test]
fn set_options_and_errors() {
    let mut s = session();
    check(
        &mut s,
        &[
            ("SET k v EX 10 PX 10", "-ERR syntax error\r\n"),
            ("SET k v EX 10 EX 20", "+OK\r\n"),
            ("SET k v KEEPTTL EX 10", "-ERR syntax error\r\n"),
            ("SET k v EX", "-ERR syntax error\r\n"),
            (
                "SET k v EX a",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "SET k v EX 0",
                "-ERR invalid expire time in 'set' command\r\n",
            ),
            ("SET k v NX XX", "-ERR syntax error\r\n"),
            ("SET k w NX", "$-1\r\n"),
            ("SET k w NX GET", "$1\r\nv\r\n"),
            ("SET k w XX GET", "$1\r\nv\r\n"),
            ("GET k", "$1\r\nw\r\n"),
            ("TTL k", ":-1\r\n"),
            ("SET k y EX 20", "+OK\r\n"),
            ("SET k x KEEPTTL", "+OK\r\n"),
            ("TTL k", ":20\r\n"),
            ("SET n 5", "+OK\r\n"),
            ("SET n 6 GET", "$1\r\n5\r\n"),
            ("GETEX k EX 10 PERSIST", "-ERR syntax error\r\n"),
            ("GETEX k PERSIST PERSIST", "$1\r\nx\r\n"),
            ("TTL k", ":-1\r\n"),
            ("SETRANGE k -1 x", "-ERR offset is out of range\r\n"),
            ("INCRBYFLOAT k abc", "-ERR value is not a valid float\r\n"),
            (
                "MSET a b c",
                "-ERR wrong number of arguments for 'mset' command\r\n",
            ),
            (
                "GETRANGE k a b",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "SETEX k 0 v",
                "-ERR invalid expire time in 'setex' command\r\n",
            ),
        ],
    );
}

#[test]
fn key_commands_and_errors() {
    let mut s = session();
    check(
        &mut s,
        &[
            ("SET k v", "+OK\r\n"),
            ("TYPE k", "+string\r\n"),
            ("TYPE nokey", "+none\r\n"),
            ("RENAME nokey x", "-ERR no such key\r\n"),
            (
                "COPY k k",
                "-ERR source and destination objects are the same\r\n",
            ),
            (
                "COPY k j DB x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("COPY k j DB 99", "-ERR DB index is out of range\r\n"),
            ("COPY k j DB -1", "-ERR DB index is out of range\r\n"),
            ("COPY k j DB 1", ":1\r\n"),
            ("COPY k j DB 1", ":0\r\n"),
            ("COPY k j DB 1 REPLACE", ":1\r\n"),
            ("FLUSHDB x", "-ERR syntax error\r\n"),
            ("SCAN x", "-ERR invalid cursor\r\n"),
            ("SCAN 0 COUNT 0", "-ERR syntax error\r\n"),
            ("SCAN 0 TYPE foo", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("EXISTS k k nokey", ":2\r\n"),
            ("TOUCH k nokey", ":1\r\n"),
            (
                "EXPIRE k 10 NX XX",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
            ),
            (
                "EXPIRE k 10 GT LT",
                "-ERR GT and LT options at the same time are not compatible\r\n",
            ),
            ("EXPIRE k 10 foo", "-ERR Unsupported option foo\r\n"),
            ("EXPIRE k 100 XX LT", ":0\r\n"),
            ("EXPIRE k 1000 LT", ":1\r\n"),
            ("EXPIRE k 50 XX LT", ":1\r\n"),
            ("TTL k", ":50\r\n"),
            ("EXPIRE k 500 XX GT", ":1\r\n"),
            ("TTL k", ":500\r\n"),
            (
                "EXPIRE k 9223372036854775807",
                "-ERR invalid expire time in 'expire' command\r\n",
            ),
            ("DEL k j nokey", ":1\r\n"),
            ("DBSIZE", ":0\r\n"),
            ("SELECT 1", "+OK\r\n"),
            ("DBSIZE", ":1\r\n"),
            ("FLUSHALL ASYNC", "+OK\r\n"),
            ("DBSIZE", ":0\r\n"),
            ("SELECT -1", "-ERR DB index is out of range\r\n"),
            (
                "SELECT x",
                "-ERR value is not an integer or out of range\r\n",
            ),
        ],
    );
}

#[test]
fn connection_and_server_commands() {
    let mut s = session();
    check(
        &mut s,
        &[
            ("PING", "+PONG\r\n"),
            ("PING a", "$1\r\na\r\n"),
            (
                "PING a b",
                "-ERR wrong number of arguments for 'ping' command\r\n",
            ),
            (
                "ECHO",
                "-ERR wrong number of arguments for 'echo' command\r\n",
            ),
            ("HELLO 4", "-NOPROTO unsupported protocol version\r\n"),
            (
                "HELLO x",
                "-ERR Protocol version is not an integer or out of range\r\n",
            ),
            (
                "HELLO 2 SETNAME",
                "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
            ),
            (
                "HELLO 3 AUTH a",
                "-ERR Syntax error in HELLO option 'AUTH'\r\n",
            ),
            (
                "AUTH a",
                "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
            ),
            (
                "CLIENT SETNAME",
                "-ERR wrong number of arguments for 'client|setname' command\r\n",
            ),
            (
                "CLIENT SETNAME \"a b\"",
                "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            ),
            ("CLIENT SETNAME me", "+OK\r\n"),
            ("CLIENT GETNAME", "$2\r\nme\r\n"),
            ("CLIENT LIST TYPE foo", "-ERR Unknown client type 'foo'\r\n"),
            (
                "CLIENT KILL ID abc",
                "-ERR client-id should be greater than 0\r\n",
            ),
            ("CLIENT KILL ID 1 SKIPME x", "-ERR syntax error\r\n"),
            ("CLIENT KILL 1.2.3.4:5", "-ERR No such client\r\n"),
            ("CLIENT NO-EVICT x", "-ERR syntax error\r\n"),
            ("CLIENT NO-EVICT on", "+OK\r\n"),
            (
                "CLIENT FOO",
                "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
            ),
            (
                "CONFIG GET",
                "-ERR wrong number of arguments for 'config|get' command\r\n",
            ),
            (
                "CONFIG SET foo 1",
                "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n",
            ),
            (
                "CONFIG SET maxmemory x",
                "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n",
            ),
            (
                "CONFIG SET maxmemory 1mb maxmemory 2mb",
                "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter\r\n",
            ),
            ("CONFIG SET maxmemory 1mb", "+OK\r\n"),
            (
                "CONFIG GET maxmemory",
                "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n",
            ),
            (
                "CONFIG REWRITE",
                "-ERR The server is running without a config file\r\n",
            ),
            (
                "SLOWLOG GET x",
                "-ERR count should be greater than or equal to -1\r\n",
            ),
            ("SLOWLOG GET -1", "*0\r\n"),
            ("SLOWLOG LEN", ":0\r\n"),
            ("DEBUG SLEEP 0", "+OK\r\n"),
            (
                "MONITOR x",
                "-ERR wrong number of arguments for 'monitor' command\r\n",
            ),
            (
                "COMMAND COUNT x",
                "-ERR wrong number of arguments for 'command|count' command\r\n",
            ),
            (
                "FOO a b",
                "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
            ),
            (
                "FOO \"a\\x00b\"",
                "-ERR unknown command 'FOO', with args beginning with: 'a' \r\n",
            ),
        ],
    );
}

#[test]
fn transactions() {
    let mut s = session();
    check(
        &mut s,
        &[
            ("MULTI", "+OK\r\n"),
            ("MULTI", "-ERR MULTI calls can not be nested\r\n"),
            ("WATCH a", "-ERR WATCH inside MULTI is not allowed\r\n"),
            ("SET a 1", "+QUEUED\r\n"),
            ("SELECT 2", "+QUEUED\r\n"),
            ("SET a 2", "+QUEUED\r\n"),
            ("EXEC", "*3\r\n+OK\r\n+OK\r\n+OK\r\n"),
            ("GET a", "$1\r\n2\r\n"),
            ("SELECT 0", "+OK\r\n"),
            ("GET a", "$1\r\n1\r\n"),
            ("MULTI", "+OK\r\n"),
            (
                "SHUTDOWN",
                "-ERR Command not allowed inside a transaction\r\n",
            ),
            (
                "EXEC",
                "-EXECABORT Transaction discarded because of previous errors.\r\n",
            ),
            ("MULTI", "+OK\r\n"),
            (
                "EXEC x",
                "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
            ),
            ("EXEC", "-ERR EXEC without MULTI\r\n"),
            ("MULTI", "+OK\r\n"),
            ("INCR a", "+QUEUED\r\n"),
            ("INFO keyspace", "+QUEUED\r\n"),
            ("DISCARD", "+OK\r\n"),
            ("DISCARD", "-ERR DISCARD without MULTI\r\n"),
        ],
    );
    // A transaction holding INFO (which reads the whole store) runs without the all-shard lock.
    check(
        &mut s,
        &[
            ("MULTI", "+OK\r\n"),
            ("INCR a", "+QUEUED\r\n"),
            ("INFO keyspace", "+QUEUED\r\n"),
        ],
    );
    let reply = run(&mut s, "EXEC");
    assert!(reply.starts_with("*2\r\n:2\r\n$"), "{reply}");
    assert!(reply.contains("db0:keys=1,expires=0"), "{reply}");
}

#[test]
fn protocol_error_closes_the_session() {
    let mut s = session();
    assert_eq!(
        s.feed(b"PING\r\n*1\r\n$x\r\nPING\r\n"),
        b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(s.is_closed());
    assert_eq!(s.feed(b"PING\r\n"), b"");
}

#[test]
fn quit_closes_after_its_reply() {
    let mut s = session();
    assert_eq!(s.feed(b"QUIT\r\nPING\r\n"), b"+OK\r\n");
    assert!(s.is_closed());
}

#[test]
fn requirepass_via_config() {
    let mut c = Config::default();
    c.set("requirepass", &["pw"]).unwrap();
    let mut s = Session::new(c);
    check(
        &mut s,
        &[
            ("GET a", "-NOAUTH Authentication required.\r\n"),
            (
                "GET",
                "-ERR wrong number of arguments for 'get' command\r\n",
            ),
            (
                "HELLO 3",
                "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
            ),
            (
                "AUTH nobody pw",
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
            ),
            ("AUTH default pw", "+OK\r\n"),
            ("GET a", "$-1\r\n"),
        ],
    );
}

#[test]
fn move_swapdb_object_memory() {
    let mut s = session();
    check(
        &mut s,
        &[
            ("SET a 1", "+OK\r\n"),
            (
                "MOVE a x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            ("MOVE a 99", "-ERR DB index is out of range\r\n"),
            (
                "MOVE a 0",
                "-ERR source and destination objects are the same\r\n",
            ),
            ("MOVE a -1", "-ERR DB index is out of range\r\n"),
            ("MOVE a 1", ":1\r\n"),
            ("MOVE a 1", ":0\r\n"),
            ("SWAPDB x 1", "-ERR invalid first DB index\r\n"),
            ("SWAPDB 0 x", "-ERR invalid second DB index\r\n"),
            ("SWAPDB 0 99", "-ERR DB index is out of range\r\n"),
            ("SWAPDB 0 1", "+OK\r\n"),
            ("OBJECT ENCODING a", "$3\r\nint\r\n"),
            ("OBJECT ENCODING nokey", "$-1\r\n"),
            (
                "OBJECT FOO",
                "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n",
            ),
            ("OBJECT REFCOUNT nokey", "$-1\r\n"),
            ("MEMORY USAGE nokey", "$-1\r\n"),
            (
                "MEMORY USAGE a SAMPLES x",
                "-ERR value is not an integer or out of range\r\n",
            ),
            (
                "MEMORY FOO",
                "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n",
            ),
        ],
    );
    let usage = run(&mut s, "MEMORY USAGE a");
    assert!(usage.starts_with(':'), "{usage}");
}
