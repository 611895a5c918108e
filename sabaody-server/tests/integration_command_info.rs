//! `COMMAND INFO`'s flags and ACL categories: checked against a table taken from redis-server
//! 7.0.15 always, and against a live redis-server for every command both know when
//! `SABAODY_DIFF=1` (as the differential suite: without it that test prints a skip line).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sabaody_server::{Config, Server, ServerHandle};
use sabaody_testkit::{Conn, RedisServer, Reply, Value};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    Server::start(c).unwrap()
}

fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|x| String::from_utf8(x.bytes()).unwrap())
            .collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// `(flags, categories)` of `COMMAND INFO name`, or `None` for an unknown command.
fn info(c: &mut Conn, name: &str) -> Option<(Vec<String>, Vec<String>)> {
    let Value::Array(mut outer) = c.call(&["COMMAND", "INFO", name]).unwrap() else {
        panic!("COMMAND INFO {name}: not an array");
    };
    match outer.pop() {
        Some(Value::Array(mut e)) => {
            assert_eq!(e.len(), 10, "{name}");
            let cats = strings(e.swap_remove(6));
            let flags = strings(e.swap_remove(2));
            Some((flags, cats))
        }
        Some(Value::Nil) => None,
        other => panic!("COMMAND INFO {name}: {other:?}"),
    }
}

#[test]
fn acl_categories_as_redis_7_0() {
    let h = start();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    // From redis-server 7.0.15, in its order.
    let table: &[(&str, &[&str])] = &[
        ("get", &["@read", "@string", "@fast"]),
        ("append", &["@write", "@string", "@fast"]),
        ("del", &["@keyspace", "@write", "@slow"]),
        ("exists", &["@keyspace", "@read", "@fast"]),
        ("keys", &["@keyspace", "@read", "@slow", "@dangerous"]),
        ("flushall", &["@keyspace", "@write", "@slow", "@dangerous"]),
        ("swapdb", &["@keyspace", "@write", "@fast", "@dangerous"]),
        ("dbsize", &["@keyspace", "@read", "@fast"]),
        ("sadd", &["@write", "@set", "@fast"]),
        ("sunionstore", &["@write", "@set", "@slow"]),
        ("zadd", &["@write", "@sortedset", "@fast"]),
        ("zrangebyscore", &["@read", "@sortedset", "@slow"]),
        ("hget", &["@read", "@hash", "@fast"]),
        ("lpush", &["@write", "@list", "@fast"]),
        ("blpop", &["@write", "@list", "@slow", "@blocking"]),
        ("blmove", &["@write", "@list", "@slow", "@blocking"]),
        ("setbit", &["@write", "@bitmap", "@slow"]),
        ("bitfield_ro", &["@read", "@bitmap", "@fast"]),
        ("pfadd", &["@write", "@hyperloglog", "@fast"]),
        ("pfcount", &["@read", "@hyperloglog", "@slow"]),
        ("geoadd", &["@write", "@geo", "@slow"]),
        ("georadius_ro", &["@read", "@geo", "@slow"]),
        ("ping", &["@fast", "@connection"]),
        ("hello", &["@fast", "@connection"]),
        ("command", &["@slow", "@connection"]),
        ("multi", &["@fast", "@transaction"]),
        ("exec", &["@slow", "@transaction"]),
        ("info", &["@slow", "@dangerous"]),
        ("lastsave", &["@admin", "@fast", "@dangerous"]),
        ("bgsave", &["@admin", "@slow", "@dangerous"]),
        ("monitor", &["@admin", "@slow", "@dangerous"]),
        ("time", &["@fast"]),
        // Containers: the categories belong to their subcommands.
        ("config", &["@slow"]),
        ("client", &["@slow"]),
        ("object", &["@slow"]),
        ("memory", &["@slow"]),
        ("slowlog", &["@slow"]),
    ];
    for (name, want) in table {
        let (_, cats) = info(&mut c, name).unwrap_or_else(|| panic!("{name} unknown"));
        assert_eq!(cats, *want, "{name}");
    }
    let flags = |c: &mut Conn, n: &str| info(c, n).unwrap().0;
    assert_eq!(flags(&mut c, "append"), ["write", "denyoom", "fast"]);
    assert_eq!(flags(&mut c, "ping"), ["fast"]);
    assert_eq!(flags(&mut c, "echo"), ["loading", "stale", "fast"]);
    assert_eq!(
        flags(&mut c, "watch"),
        ["noscript", "loading", "stale", "fast", "allow_busy"]
    );
    assert!(flags(&mut c, "config").is_empty());
    h.shutdown();
}

#[test]
fn acl_categories_match_redis_server() {
    if !std::env::var("SABAODY_DIFF").is_ok_and(|v| !v.is_empty() && v != "0") {
        println!("skipping the COMMAND INFO comparison: set SABAODY_DIFF=1 to run it");
        return;
    }
    let redis = RedisServer::start(&["--save", ""]).unwrap_or_else(|e| panic!("{e}"));
    let mut r = redis.connect().unwrap();
    let h = start();
    let mut s = Conn::connect(h.local_addr()).unwrap();
    let names = strings(s.call(&["COMMAND", "LIST"]).unwrap());
    let mut compared = 0;
    let mut diffs = Vec::new();
    for name in &names {
        // Module commands (BF.*, CMS.*) are not in a plain redis-server.
        let Some((rflags, rcats)) = info(&mut r, name) else {
            continue;
        };
        let (sflags, scats) = info(&mut s, name).unwrap();
        compared += 1;
        if rcats != scats {
            diffs.push(format!(
                "{name}: categories redis {rcats:?} sabaody {scats:?}"
            ));
        }
        if rflags != sflags {
            diffs.push(format!("{name}: flags redis {rflags:?} sabaody {sflags:?}"));
        }
    }
    assert!(compared > 150, "only {compared} commands compared");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    h.shutdown();
}

fn diff_enabled() -> bool {
    std::env::var("SABAODY_DIFF").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Every subcommand `COMMAND INFO` lists for a container is one the container runs, and
/// every other subcommand redis-server 7.0 has is answered "unknown subcommand".
#[test]
fn listed_subcommands_are_the_implemented_ones() {
    let h = start();
    let mut c = Conn::connect(h.local_addr()).unwrap();
    let containers = [
        "acl", "client", "command", "config", "latency", "memory", "object", "pubsub", "slowlog",
    ];
    let mut checked = 0;
    for container in containers {
        let Value::Array(mut outer) = c.call(&["COMMAND", "INFO", container]).unwrap() else {
            panic!("COMMAND INFO {container}");
        };
        let Some(Value::Array(info)) = outer.pop() else {
            panic!("{container} unknown");
        };
        let listed: Vec<String> = match &info[9] {
            Value::Array(subs) => subs
                .iter()
                .map(|s| match s {
                    Value::Array(f) => String::from_utf8(f[0].clone().bytes()).unwrap(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        };
        assert!(!listed.is_empty(), "{container}");
        // Redis 7.0's subcommands of this container (the generated table's list).
        for sub in redis_subcommands(container) {
            let word = sub.split('|').nth(1).unwrap();
            let reply = c.call(&[container, word]).unwrap();
            let unknown =
                matches!(&reply, Value::Error(e) if e.starts_with("ERR unknown subcommand"));
            assert_eq!(
                unknown,
                !listed.contains(&sub.to_string()),
                "{sub}: listed {} but replied {reply:?}",
                listed.contains(&sub.to_string())
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
    h.shutdown();
}

/// The subcommands redis-server 7.0.15 has, per container (from `COMMAND INFO` there).
fn redis_subcommands(container: &str) -> Vec<String> {
    let words: &[&str] = match container {
        "acl" => &[
            "cat", "deluser", "dryrun", "genpass", "getuser", "help", "list", "load", "log",
            "save", "setuser", "users", "whoami",
        ],
        "client" => &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "pause",
            "reply",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
        "command" => &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
        "config" => &["get", "help", "resetstat", "rewrite", "set"],
        "latency" => &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
        "memory" => &["doctor", "help", "malloc-stats", "purge", "stats", "usage"],
        "object" => &["encoding", "freq", "help", "idletime", "refcount"],
        "pubsub" => &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
        "slowlog" => &["get", "help", "len", "reset"],
        _ => &[],
    };
    words.iter().map(|w| format!("{container}|{w}")).collect()
}

/// `COMMAND INFO` byte for byte against a live redis-server 7.0, RESP2 and RESP3: every
/// command both know (containers through each implemented subcommand, since Redis lists
/// subcommands in its hash order), except ZRANK/ZREVRANK's arity (we take 7.2's WITHSCORE).
#[test]
fn command_info_matches_redis_server() {
    if !diff_enabled() {
        println!("skipping the COMMAND INFO comparison: set SABAODY_DIFF=1 to run it");
        return;
    }
    let redis = RedisServer::start(&["--save", ""]).unwrap_or_else(|e| panic!("{e}"));
    let h = start();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for proto in ["2", "3"] {
        let mut r = redis.connect().unwrap();
        let mut s = Conn::connect(h.local_addr()).unwrap();
        r.request(&["HELLO", proto]).unwrap();
        s.request(&["HELLO", proto]).unwrap();
        let names = strings(s.call(&["COMMAND", "LIST"]).unwrap());
        for name in &names {
            if matches!(name.as_str(), "zrank" | "zrevrank")
                || [
                    "acl", "client", "command", "config", "latency", "memory", "object", "pubsub",
                    "slowlog",
                ]
                .contains(&name.as_str())
            {
                continue;
            }
            let rr = r.request(&["COMMAND", "INFO", name]).unwrap();
            if rr.raw == b"*1\r\n$-1\r\n" || rr.raw == b"*1\r\n_\r\n" {
                continue; // BF.*, CMS.*: not in a plain redis-server
            }
            let sr = s.request(&["COMMAND", "INFO", name]).unwrap();
            compared += 1;
            if rr.raw != sr.raw {
                diffs.push(format!(
                    "RESP{proto} {name}:\n  redis   {}\n  sabaody {}",
                    rr.raw.escape_ascii(),
                    sr.raw.escape_ascii()
                ));
            }
        }
    }
    assert!(compared > 2 * 180, "only {compared} compared");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    h.shutdown();
}

/// `COMMAND GETKEYS` and `GETKEYSANDFLAGS` against a live redis-server 7.0 for every plain
/// command line of the differential scripts (thousands of calls, valid and invalid), in RESP3
/// so the flag sets are typed.
#[test]
fn getkeys_matches_redis_server() {
    if !diff_enabled() {
        println!("skipping the COMMAND GETKEYS comparison: set SABAODY_DIFF=1 to run it");
        return;
    }
    let redis = RedisServer::start(&["--save", ""]).unwrap_or_else(|e| panic!("{e}"));
    let h = start();
    let mut r = redis.connect().unwrap();
    let mut s = Conn::connect(h.local_addr()).unwrap();
    r.request(&["HELLO", "3"]).unwrap();
    s.request(&["HELLO", "3"]).unwrap();
    let mut lines = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
    collect_lines(&dir, &mut lines);
    assert!(lines.len() > 1000, "{} lines", lines.len());
    // Key specs the scripts exercise little: keywords, key counts, containers, SET/BITFIELD
    // flags that depend on the arguments, hostile counts.
    for extra in [
        "SORT s",
        "SORT s BY w_* LIMIT 0 10 GET # GET h->f DESC ALPHA STORE d",
        "SORT s STORE d1 STORE d2",
        "SORT s STORE STORE d",
        "SORT s BY STORE GET STORE STORE x",
        "SORT s LIMIT STORE 1 STORE d",
        "SORT s LIMIT 0",
        "SORT_RO s BY x GET y",
        "GEORADIUS g 0 0 10 km STORE d",
        "GEORADIUS g 0 0 10 km STOREDIST d ASC",
        "GEORADIUSBYMEMBER g m 10 km STORE d STOREDIST e",
        "GEORADIUS_RO g 0 0 10 km",
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE MAX",
        "ZUNIONSTORE d 0 a",
        "ZUNIONSTORE d 3 a b",
        "ZUNIONSTORE d -1 a",
        "ZUNIONSTORE d 1.5 a",
        "ZUNIONSTORE d 2x a b",
        "ZUNION 1.5 a",
        "ZMPOP 2x a b MIN",
        "ZMPOP abc a MIN",
        "BZMPOP 0 1.5 a MIN",
        "BLMPOP 0 1.5 a LEFT",
        "ZINTERCARD 1x a",
        "LMPOP +1 a LEFT",
        "LMPOP 01 a LEFT",
        "LMPOP -0 a LEFT",
        "ZINTER 2 a b WITHSCORES",
        "ZDIFF 1 a",
        "ZINTERCARD 2 a b LIMIT 1",
        "SINTERCARD 9223372036854775807 a",
        "LMPOP 2 a b LEFT COUNT 2",
        "BLMPOP 0 2 a b RIGHT",
        "BLMPOP 0 x a b RIGHT",
        "OBJECT ENCODING k",
        "OBJECT FREQ k",
        "OBJECT HELP",
        "OBJECT NOSUCH k",
        "MEMORY USAGE k SAMPLES 5",
        "CLIENT LIST",
        "CLIENT",
        "CONFIG GET x",
        "SET k v GET",
        "SET k v NX EX 10",
        "GETEX k PERSIST",
        "BITFIELD k GET u8 0 SET u8 0 1",
        "BITFIELD_RO k GET u8 0",
        "MSET a 1 b 2 c",
        "RENAME a b",
        "COPY a b DB 1 REPLACE",
        "LMOVE a b LEFT RIGHT",
        "BLMOVE a b LEFT RIGHT 0",
        "PFMERGE d a b",
        "BITOP AND d a b",
        "GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km",
        "WATCH a b",
        "NOSUCHCOMMAND a",
    ] {
        lines.push(extra.split(' ').map(str::to_owned).collect());
    }
    let mut diffs = Vec::new();
    let mut with_keys = 0;
    for words in &lines {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut call: Vec<&str> = vec!["COMMAND", sub];
            call.extend(words.iter().map(String::as_str));
            let rr = r.request(&call).unwrap();
            let sr = s.request(&call).unwrap();
            if rr.kind == b'*' {
                with_keys += 1;
            }
            if rr.raw != sr.raw {
                diffs.push(format!(
                    "{}:\n  redis   {}\n  sabaody {}",
                    call.join(" "),
                    rr.raw.escape_ascii(),
                    sr.raw.escape_ascii()
                ));
            }
        }
    }
    assert!(with_keys > 1000, "{with_keys}");
    let n = diffs.len();
    diffs.truncate(40);
    assert!(n == 0, "{n} differ:\n{}", diffs.join("\n"));
    h.shutdown();
}

/// The plain command lines of the `.redis` scripts under `dir`: no flags, no quoting, no
/// generated arguments, no pseudo-commands (the simple whitespace split is then exact).
fn collect_lines(dir: &std::path::Path, out: &mut Vec<Vec<String>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_lines(&path, out);
        } else if path.extension().is_some_and(|e| e == "redis") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let line = line.trim();
                if line.is_empty()
                    || line.starts_with('#')
                    || line.starts_with('[')
                    || line.contains(['"', '\'', '@'])
                {
                    continue;
                }
                let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                let first = words[0].to_ascii_lowercase();
                // Not key commands, or they change the connection.
                if matches!(
                    first.as_str(),
                    "hello" | "select" | "reset" | "quit" | "auth"
                ) {
                    continue;
                }
                out.push(words);
            }
        }
    }
}

/// The value after `key` in a map reply (RESP3 map or RESP2 flat array).
fn map_get<'a>(r: &'a Reply, key: &str) -> Option<&'a Reply> {
    r.children
        .chunks(2)
        .find(|kv| kv[0].data == key.as_bytes())
        .and_then(|kv| kv.get(1))
}

/// `COMMAND DOCS` against a live redis-server 7.0, RESP2 and RESP3, for every command and
/// implemented subcommand both know: the facts are byte-equal (since, group, doc_flags,
/// deprecated_since and the argument grammar redis-cli turns into hints; our summaries are
/// our own words, complexity and history are left out).
#[test]
fn command_docs_match_redis_server() {
    if !diff_enabled() {
        println!("skipping the COMMAND DOCS comparison: set SABAODY_DIFF=1 to run it");
        return;
    }
    let redis = RedisServer::start(&["--save", ""]).unwrap_or_else(|e| panic!("{e}"));
    let h = start();
    let mut diffs = Vec::new();
    let mut compared = 0;
    for proto in ["2", "3"] {
        let mut r = redis.connect().unwrap();
        let mut s = Conn::connect(h.local_addr()).unwrap();
        r.request(&["HELLO", proto]).unwrap();
        s.request(&["HELLO", proto]).unwrap();
        let names = strings(s.call(&["COMMAND", "LIST"]).unwrap());
        for name in &names {
            let rr = r.request(&["COMMAND", "DOCS", name]).unwrap();
            let sr = s.request(&["COMMAND", "DOCS", name]).unwrap();
            let (Some(rd), Some(sd)) = (rr.children.get(1), sr.children.get(1)) else {
                assert!(
                    rr.children.is_empty(),
                    "{name}: sabaody has no docs: {}",
                    sr.raw.escape_ascii()
                );
                continue; // BF.*, CMS.*: not in a plain redis-server
            };
            compared += 1;
            for field in [
                "since",
                "group",
                "doc_flags",
                "deprecated_since",
                "arguments",
            ] {
                let a = map_get(rd, field).map(|v| v.raw.clone());
                let b = map_get(sd, field).map(|v| v.raw.clone());
                if a != b {
                    diffs.push(format!(
                        "RESP{proto} {name} {field}:\n  redis   {:?}\n  sabaody {:?}",
                        a.map(|v| v.escape_ascii().to_string()),
                        b.map(|v| v.escape_ascii().to_string())
                    ));
                }
            }
            assert!(
                map_get(sd, "summary").is_some_and(|v| !v.data.is_empty()),
                "{name}"
            );
        }
    }
    assert!(compared > 2 * 200, "only {compared} compared");
    let n = diffs.len();
    diffs.truncate(20);
    assert!(n == 0, "{n} differ:\n{}", diffs.join("\n"));
    h.shutdown();
}
