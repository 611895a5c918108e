//! Helpers shared by the AOF tests: temp directories, in-process servers with an AOF, and a
//! dump of the whole keyspace (type, value, absolute expire time of every key of every
//! database: PEXPIRETIME, so dumps taken seconds apart compare exactly).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redis::Value;
use sabaody_server::{Config, Server, ServerHandle};

pub use sabaody_testkit::TempDir;

/// The config of an in-process server on 127.0.0.1:0 with `appendonly yes` in `dir`.
pub fn aof_config(dir: &Path, settings: &[(&str, &str)]) -> Config {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    c.set("dir", &[dir.to_str().unwrap()]).unwrap();
    c.set("appendonly", &["yes"]).unwrap();
    for (k, v) in settings {
        c.set(k, &[v]).unwrap();
    }
    c
}

pub fn start(dir: &Path, settings: &[(&str, &str)]) -> ServerHandle {
    Server::start(aof_config(dir, settings)).unwrap()
}

pub fn connect(h: &ServerHandle) -> redis::Connection {
    redis::Client::open(format!("redis://{}/", h.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// One key as the dump sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDump {
    pub kind: String,
    pub value: Vec<Vec<u8>>,
    pub expire_at: i64,
}

fn bytes_list(v: Value) -> Vec<Vec<u8>> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .into_iter()
            .flat_map(|i| match i {
                Value::BulkString(b) => vec![b],
                Value::SimpleString(s) => vec![s.into_bytes()],
                Value::Int(n) => vec![n.to_string().into_bytes()],
                Value::Double(d) => vec![d.to_string().into_bytes()],
                Value::Nil => vec![b"(nil)".to_vec()],
                other => bytes_list(other),
            })
            .collect(),
        Value::Map(pairs) => pairs
            .into_iter()
            .flat_map(|(k, v)| {
                let mut a = bytes_list(Value::Array(vec![k]));
                a.extend(bytes_list(Value::Array(vec![v])));
                a
            })
            .collect(),
        Value::BulkString(b) => vec![b],
        other => vec![format!("{other:?}").into_bytes()],
    }
}

/// Every key of databases 0..16: type, value (sets and hashes sorted), PEXPIRETIME.
pub fn dump(con: &mut redis::Connection) -> BTreeMap<(u32, Vec<u8>), KeyDump> {
    let mut all = BTreeMap::new();
    for db in 0..16u32 {
        let _: () = redis::cmd("SELECT").arg(db).query(con).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(con).unwrap();
            let q = |name: &str, args: &[&str], con: &mut redis::Connection| -> Value {
                let mut c = redis::cmd(name);
                c.arg(&key);
                for a in args {
                    c.arg(*a);
                }
                c.query(con).unwrap()
            };
            let mut value = match kind.as_str() {
                "string" => bytes_list(q("GET", &[], con)),
                "list" => bytes_list(q("LRANGE", &["0", "-1"], con)),
                "set" => bytes_list(q("SMEMBERS", &[], con)),
                "zset" => bytes_list(q("ZRANGE", &["0", "-1", "WITHSCORES"], con)),
                "hash" => {
                    let flat = bytes_list(q("HGETALL", &[], con));
                    let mut pairs: Vec<Vec<u8>> = flat
                        .chunks(2)
                        .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                        .collect();
                    pairs.sort();
                    pairs
                }
                "MBbloom--" => bytes_list(q("BF.INFO", &[], con)),
                "CMSk-TYPE" => bytes_list(q("CMS.INFO", &[], con)),
                other => panic!("unexpected type {other}"),
            };
            if kind == "set" {
                value.sort();
            }
            let expire_at: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(con).unwrap();
            if expire_at == -2 {
                continue; // expired between KEYS and now
            }
            all.insert(
                (db, key),
                KeyDump {
                    kind,
                    value,
                    expire_at,
                },
            );
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).unwrap();
    all
}

/// Asserts two dumps hold the same keys, types and values, and expire times within `tol_ms`.
pub fn assert_same(
    a: &BTreeMap<(u32, Vec<u8>), KeyDump>,
    b: &BTreeMap<(u32, Vec<u8>), KeyDump>,
    tol_ms: i64,
) {
    let ka: Vec<_> = a.keys().collect();
    let kb: Vec<_> = b.keys().collect();
    if ka != kb {
        let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
        let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
        panic!("key sets differ: only before {only_a:?}, only after {only_b:?}");
    }
    for (k, x) in a {
        let y = &b[k];
        assert_eq!(x.kind, y.kind, "type of {k:?}");
        assert_eq!(x.value, y.value, "value of {k:?}");
        if x.expire_at < 0 || y.expire_at < 0 {
            assert_eq!(x.expire_at, y.expire_at, "expire time of {k:?}");
        } else {
            assert!(
                (x.expire_at - y.expire_at).abs() <= tol_ms,
                "expire time of {k:?}: {} vs {}",
                x.expire_at,
                y.expire_at
            );
        }
    }
}

/// The bytes of every incremental file of the AOF in `dir`.
pub fn incr_bytes(dir: &Path) -> Vec<u8> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect()
}
