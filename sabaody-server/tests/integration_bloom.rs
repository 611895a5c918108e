//! BF.* and CMS.* through the server (in-process on 127.0.0.1:0), in raw RESP2 and RESP3
//! bytes: every command, option and error text, checked against RedisBloom's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sabaody_server::{Config, Server, ServerHandle};

fn start() -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    c.set("io-threads", &["2"]).unwrap();
    Server::start(c).unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn read_n(s: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while out.len() < want {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    v
}

/// Sends one command (space-separated words) and expects exactly `expected` back.
fn rt(s: &mut TcpStream, line: &str, expected: &str) {
    let args: Vec<&str> = line.split(' ').collect();
    s.write_all(&cmd(&args)).unwrap();
    let got = read_n(s, expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected, "command {line:?}");
}

/// Sends one command and returns whatever arrives within 200 ms.
fn raw(s: &mut TcpStream, line: &str) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    s.write_all(&cmd(&args)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let got = read_n(s, 1 << 20);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

fn resp3(s: &mut TcpStream) {
    let _ = raw(s, "HELLO 3");
}

#[test]
fn bf_reserve_add_exists_card() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "BF.RESERVE bf 0.01 1000", "+OK\r\n");
    rt(&mut s, "BF.RESERVE bf 0.01 1000", "-ERR item exists\r\n");
    rt(&mut s, "TYPE bf", "+MBbloom--\r\n");
    rt(&mut s, "BF.ADD bf item1", ":1\r\n");
    rt(&mut s, "BF.ADD bf item1", ":0\r\n");
    rt(&mut s, "BF.EXISTS bf item1", ":1\r\n");
    rt(&mut s, "BF.EXISTS bf item2", ":0\r\n");
    rt(&mut s, "BF.EXISTS nokey item2", ":0\r\n");
    rt(
        &mut s,
        "BF.MADD bf foo bar item1",
        "*3\r\n:1\r\n:1\r\n:0\r\n",
    );
    rt(&mut s, "BF.MEXISTS bf foo nope", "*2\r\n:1\r\n:0\r\n");
    rt(&mut s, "BF.MEXISTS nokey a b", "*2\r\n:0\r\n:0\r\n");
    rt(&mut s, "BF.CARD bf", ":3\r\n");
    rt(&mut s, "BF.CARD nokey", ":0\r\n");
    // BF.ADD on a missing key creates a default filter (100 items, expansion 2)
    rt(&mut s, "BF.ADD auto x", ":1\r\n");
    rt(&mut s, "BF.INFO auto CAPACITY", "*1\r\n:100\r\n");
    rt(&mut s, "BF.INFO auto EXPANSION", "*1\r\n:2\r\n");
    rt(&mut s, "BF.INFO auto items", "*1\r\n:1\r\n");
    rt(&mut s, "BF.INFO auto Filters", "*1\r\n:1\r\n");
    let size = raw(&mut s, "BF.INFO auto SIZE");
    assert!(size.starts_with("*1\r\n:") && size.len() > 8, "{size}");
    // the wrong arities RedisBloom refuses
    rt(
        &mut s,
        "BF.ADD bf",
        "-ERR wrong number of arguments for 'bf.add' command\r\n",
    );
    rt(
        &mut s,
        "BF.EXISTS bf a b",
        "-ERR wrong number of arguments for 'bf.exists' command\r\n",
    );
    rt(
        &mut s,
        "BF.MADD bf",
        "-ERR wrong number of arguments for 'bf.madd' command\r\n",
    );
    rt(
        &mut s,
        "BF.CARD",
        "-ERR wrong number of arguments for 'bf.card' command\r\n",
    );
    h.shutdown();
}

#[test]
fn bf_reserve_errors() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(
        &mut s,
        "BF.RESERVE k 0.01",
        "-ERR wrong number of arguments for 'bf.reserve' command\r\n",
    );
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 EXPANSION 2 NONSCALING x",
        "-ERR wrong number of arguments for 'bf.reserve' command\r\n",
    );
    rt(&mut s, "BF.RESERVE k blah 100", "-ERR bad error rate\r\n");
    for bad in ["0", "1", "7.7", "-0.5"] {
        rt(
            &mut s,
            &format!("BF.RESERVE k {bad} 100"),
            "-ERR error rate must be in the range (0.000000, 1.000000)\r\n",
        );
    }
    rt(&mut s, "BF.RESERVE k 0.01 blah", "-ERR bad capacity\r\n");
    rt(&mut s, "BF.RESERVE k 0.01 1.5", "-ERR bad capacity\r\n");
    for bad in ["0", "-5", "1073741825"] {
        rt(
            &mut s,
            &format!("BF.RESERVE k 0.01 {bad}"),
            "-ERR capacity must be in the range [1, 1073741824]\r\n",
        );
    }
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 EXPANSION",
        "-ERR no expansion\r\n",
    );
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 EXPANSION str",
        "-ERR bad expansion\r\n",
    );
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 EXPANSION 40000",
        "-ERR expansion must be in the range [0, 32768]\r\n",
    );
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 EXPANSION 2 NONSCALING",
        "-Nonscaling filters cannot expand\r\n",
    );
    rt(
        &mut s,
        "BF.RESERVE k 0.01 100 NONSCALING EXPANSION 1",
        "-Nonscaling filters cannot expand\r\n",
    );
    rt(&mut s, "EXISTS k", ":0\r\n");
    // EXPANSION 0 is NONSCALING; options are found in any position, case-insensitively
    rt(&mut s, "BF.RESERVE k0 0.01 100 expansion 0", "+OK\r\n");
    rt(&mut s, "BF.INFO k0 EXPANSION", "*1\r\n$-1\r\n");
    rt(&mut s, "BF.RESERVE k1 0.01 100 nonscaling", "+OK\r\n");
    rt(&mut s, "BF.INFO k1 EXPANSION", "*1\r\n$-1\r\n");
    rt(&mut s, "BF.RESERVE k2 0.01 100 EXPANSION 4", "+OK\r\n");
    rt(&mut s, "BF.INFO k2 EXPANSION", "*1\r\n:4\r\n");
    // a key of another type
    rt(&mut s, "SET str v", "+OK\r\n");
    rt(
        &mut s,
        "BF.RESERVE str 0.01 100",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    // parameters are checked before the key
    rt(
        &mut s,
        "BF.RESERVE str 2 100",
        "-ERR error rate must be in the range (0.000000, 1.000000)\r\n",
    );
    // too large to build
    rt(
        &mut s,
        "BF.RESERVE huge 1e-300 1073741824",
        "-ERR could not create filter\r\n",
    );
    rt(&mut s, "EXISTS huge", ":0\r\n");
    h.shutdown();
}

#[test]
fn bf_wrong_types() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "SET str v", "+OK\r\n");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    rt(&mut s, "BF.ADD str a", wt);
    rt(&mut s, "BF.MADD str a b", wt);
    rt(&mut s, "BF.INSERT str ITEMS a", wt);
    rt(&mut s, "BF.INFO str", wt);
    rt(&mut s, "BF.CARD str", wt);
    // RedisBloom's reads answer "no" for a key of another type
    rt(&mut s, "BF.EXISTS str a", ":0\r\n");
    rt(&mut s, "BF.MEXISTS str a b", "*2\r\n:0\r\n:0\r\n");
    rt(&mut s, "BF.INFO nokey", "-ERR not found\r\n");
    rt(&mut s, "BF.ADD bf a", ":1\r\n");
    rt(&mut s, "GET bf", wt);
    rt(&mut s, "BF.INFO bf BOGUS", "-Invalid information value\r\n");
    rt(
        &mut s,
        "BF.INFO bf capacity size",
        "-ERR wrong number of arguments for 'bf.info' command\r\n",
    );
    h.shutdown();
}

#[test]
fn bf_nonscaling_full() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "BF.RESERVE n 0.01 2 NONSCALING", "+OK\r\n");
    rt(
        &mut s,
        "BF.MADD n a b c d",
        "*3\r\n:1\r\n:1\r\n-ERR non scaling filter is full\r\n",
    );
    rt(&mut s, "BF.ADD n z", "-ERR non scaling filter is full\r\n");
    rt(&mut s, "BF.ADD n a", ":0\r\n");
    rt(&mut s, "BF.CARD n", ":2\r\n");
    rt(&mut s, "BF.EXISTS n c", ":0\r\n");
    h.shutdown();
}

#[test]
fn bf_scales() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "BF.RESERVE bf 0.01 10", "+OK\r\n");
    let mut req = Vec::new();
    let mut expected = String::new();
    for i in 0..100 {
        req.extend(cmd(&["BF.ADD", "bf", &i.to_string()]));
    }
    s.write_all(&req).unwrap();
    let got = read_n(&mut s, 400);
    assert_eq!(got.len(), 400);
    for i in 0..100 {
        req = cmd(&["BF.EXISTS", "bf", &i.to_string()]);
        s.write_all(&req).unwrap();
        expected.push_str(":1\r\n");
    }
    assert_eq!(String::from_utf8_lossy(&read_n(&mut s, 400)), expected);
    // 10 + 20 + 40 + 80
    rt(&mut s, "BF.INFO bf CAPACITY", "*1\r\n:150\r\n");
    rt(&mut s, "BF.INFO bf FILTERS", "*1\r\n:4\r\n");
    h.shutdown();
}

#[test]
fn bf_insert_options() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(
        &mut s,
        "BF.INSERT f NOCREATE ITEMS a b",
        "-ERR not found\r\n",
    );
    rt(
        &mut s,
        "BF.INSERT f CAPACITY 0 ITEMS a",
        "-Bad capacity\r\n",
    );
    rt(
        &mut s,
        "BF.INSERT f CAPACITY x ITEMS a",
        "-Bad capacity\r\n",
    );
    rt(&mut s, "BF.INSERT f ERROR 2 ITEMS a", "-Bad error rate\r\n");
    rt(
        &mut s,
        "BF.INSERT f ERROR big ITEMS a",
        "-Bad error rate\r\n",
    );
    rt(
        &mut s,
        "BF.INSERT f EXPANSION x ITEMS a",
        "-Bad expansion\r\n",
    );
    rt(
        &mut s,
        "BF.INSERT f EXPANSION -1 ITEMS a",
        "-Bad expansion\r\n",
    );
    rt(
        &mut s,
        "BF.INSERT f BOGUS ITEMS a",
        "-Unknown argument received\r\n",
    );
    let arity = "-ERR wrong number of arguments for 'bf.insert' command\r\n";
    rt(&mut s, "BF.INSERT f ITEMS", arity);
    rt(&mut s, "BF.INSERT f NOCREATE ITEMS", arity);
    rt(&mut s, "BF.INSERT f NOCREATE CAPACITY", arity);
    rt(&mut s, "BF.INSERT f ERROR 0.1 CAPACITY 5", arity);
    rt(&mut s, "EXISTS f", ":0\r\n");
    rt(
        &mut s,
        "BF.INSERT f ERROR 0.001 CAPACITY 50000 EXPANSION 4 ITEMS foo bar foo",
        "*3\r\n:1\r\n:1\r\n:0\r\n",
    );
    rt(&mut s, "BF.INFO f CAPACITY", "*1\r\n:50000\r\n");
    rt(&mut s, "BF.INFO f EXPANSION", "*1\r\n:4\r\n");
    // an existing filter keeps its parameters
    rt(&mut s, "BF.INSERT f CAPACITY 7 ITEMS baz", "*1\r\n:1\r\n");
    rt(&mut s, "BF.INFO f CAPACITY", "*1\r\n:50000\r\n");
    rt(&mut s, "BF.INSERT f NOCREATE ITEMS qux", "*1\r\n:1\r\n");
    // NONSCALING wins over EXPANSION, in either order
    rt(
        &mut s,
        "BF.INSERT g NONSCALING EXPANSION 2 CAPACITY 1 ITEMS x y",
        "*2\r\n:1\r\n-ERR non scaling filter is full\r\n",
    );
    rt(&mut s, "BF.INFO g EXPANSION", "*1\r\n$-1\r\n");
    rt(&mut s, "BF.INSERT h EXPANSION 0 ITEMS x", "*1\r\n:1\r\n");
    rt(&mut s, "BF.INFO h EXPANSION", "*1\r\n$-1\r\n");
    h.shutdown();
}

#[test]
fn bf_info_shapes_resp2_and_resp3() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "BF.RESERVE bf 0.001 100", "+OK\r\n");
    rt(&mut s, "BF.ADD bf a", ":1\r\n");
    let info = raw(&mut s, "BF.INFO bf");
    assert!(
        info.starts_with("*10\r\n+Capacity\r\n:100\r\n+Size\r\n:"),
        "{info}"
    );
    assert!(
        info.ends_with(
            "+Number of filters\r\n:1\r\n+Number of items inserted\r\n:1\r\n+Expansion rate\r\n:2\r\n"
        ),
        "{info}"
    );
    resp3(&mut s);
    let info = raw(&mut s, "BF.INFO bf");
    assert!(info.starts_with("%5\r\n+Capacity\r\n:100\r\n"), "{info}");
    assert!(info.ends_with("+Expansion rate\r\n:2\r\n"), "{info}");
    rt(&mut s, "BF.ADD bf b", "#t\r\n");
    rt(&mut s, "BF.ADD bf b", "#f\r\n");
    rt(&mut s, "BF.EXISTS bf b", "#t\r\n");
    rt(&mut s, "BF.EXISTS bf zz", "#f\r\n");
    rt(&mut s, "BF.MADD bf c b", "*2\r\n#t\r\n#f\r\n");
    rt(&mut s, "BF.MEXISTS bf c zz", "*2\r\n#t\r\n#f\r\n");
    rt(&mut s, "BF.INSERT bf ITEMS d", "*1\r\n#t\r\n");
    rt(&mut s, "BF.CARD bf", ":4\r\n");
    rt(&mut s, "BF.RESERVE ns 0.01 10 NONSCALING", "+OK\r\n");
    rt(&mut s, "BF.INFO ns EXPANSION", "*1\r\n_\r\n");
    let info = raw(&mut s, "BF.INFO ns");
    assert!(info.ends_with("+Expansion rate\r\n_\r\n"), "{info}");
    h.shutdown();
}

#[test]
fn bf_in_multi_and_memory() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "MULTI", "+OK\r\n");
    rt(&mut s, "BF.ADD t x", "+QUEUED\r\n");
    rt(&mut s, "BF.EXISTS t x", "+QUEUED\r\n");
    rt(&mut s, "EXEC", "*2\r\n:1\r\n:1\r\n");
    rt(&mut s, "BF.RESERVE big 0.01 100000", "+OK\r\n");
    let usage = raw(&mut s, "MEMORY USAGE big");
    let n: usize = usage.trim_start_matches(':').trim().parse().unwrap();
    // 100k items at 0.5% (the first sub-filter of a scaling chain): 11.03 bits each
    assert!(n > 137_000 && n < 150_000, "{n}");
    h.shutdown();
}

#[test]
fn cms_init_and_info() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "CMS.INITBYDIM c 20 5", "+OK\r\n");
    rt(&mut s, "TYPE c", "+CMSk-TYPE\r\n");
    rt(
        &mut s,
        "CMS.INITBYDIM c 20 5",
        "-CMS: key already exists\r\n",
    );
    rt(
        &mut s,
        "CMS.INITBYPROB c 0.1 0.1",
        "-CMS: key already exists\r\n",
    );
    rt(&mut s, "SET str v", "+OK\r\n");
    rt(
        &mut s,
        "CMS.INITBYDIM str 20 5",
        "-CMS: key already exists\r\n",
    );
    rt(
        &mut s,
        "CMS.INITBYDIM str 0 5",
        "-CMS: key already exists\r\n",
    );
    for (args, err) in [
        ("x 0 5", "-CMS: invalid width\r\n"),
        ("x blah 5", "-CMS: invalid width\r\n"),
        ("x 5 0", "-CMS: invalid depth\r\n"),
        ("x 5 -1", "-CMS: invalid depth\r\n"),
        (
            "x 8589934592 8589934592",
            "-CMS: invalid init arguments\r\n",
        ),
    ] {
        rt(&mut s, &format!("CMS.INITBYDIM {args}"), err);
    }
    for (args, err) in [
        ("x 0 0.5", "-CMS: invalid overestimation value\r\n"),
        ("x 1000 0.1", "-CMS: invalid overestimation value\r\n"),
        ("x blah 0.1", "-CMS: invalid overestimation value\r\n"),
        ("x 0.1 0", "-CMS: invalid prob value\r\n"),
        ("x 0.1 blah", "-CMS: invalid prob value\r\n"),
        (
            "x 0.9 0.9999999999999999",
            "-CMS: invalid init arguments\r\n",
        ),
        (
            "x 0.0000000000000000001 0.9",
            "-CMS: invalid init arguments\r\n",
        ),
    ] {
        rt(&mut s, &format!("CMS.INITBYPROB {args}"), err);
    }
    rt(&mut s, "EXISTS x", ":0\r\n");
    rt(
        &mut s,
        "CMS.INITBYDIM x 5",
        "-ERR wrong number of arguments for 'cms.initbydim' command\r\n",
    );
    rt(&mut s, "CMS.INITBYPROB p 0.001 0.01", "+OK\r\n");
    rt(
        &mut s,
        "CMS.INFO p",
        "*6\r\n+width\r\n:2000\r\n+depth\r\n:7\r\n+count\r\n:0\r\n",
    );
    rt(&mut s, "CMS.INFO nokey", "-CMS: key does not exist\r\n");
    rt(
        &mut s,
        "CMS.INFO str",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    resp3(&mut s);
    rt(
        &mut s,
        "CMS.INFO c",
        "%3\r\n+width\r\n:20\r\n+depth\r\n:5\r\n+count\r\n:0\r\n",
    );
    h.shutdown();
}

#[test]
fn cms_incrby_and_query() {
    let h = start();
    let mut s = connect(h.local_addr());
    rt(&mut s, "CMS.INITBYDIM c 1000 5", "+OK\r\n");
    rt(&mut s, "CMS.INCRBY c bar 5 baz 42", "*2\r\n:5\r\n:42\r\n");
    rt(
        &mut s,
        "CMS.QUERY c foo bar baz",
        "*3\r\n:0\r\n:5\r\n:42\r\n",
    );
    rt(&mut s, "CMS.INCRBY c bar 0", "*1\r\n:5\r\n");
    rt(
        &mut s,
        "CMS.INCRBY c bar 5 baz",
        "-ERR wrong number of arguments for 'cms.incrby' command\r\n",
    );
    rt(
        &mut s,
        "CMS.INCRBY c bar x",
        "-CMS: Cannot parse number\r\n",
    );
    rt(
        &mut s,
        "CMS.INCRBY c bar 1.5",
        "-CMS: Cannot parse number\r\n",
    );
    rt(
        &mut s,
        "CMS.INCRBY c bar -1",
        "-CMS: Number cannot be negative\r\n",
    );
    rt(
        &mut s,
        "CMS.INCRBY nokey bar 1",
        "-CMS: key does not exist\r\n",
    );
    // the key is looked up before the increments are read
    rt(
        &mut s,
        "CMS.INCRBY nokey bar x",
        "-CMS: key does not exist\r\n",
    );
    rt(
        &mut s,
        "CMS.QUERY nokey bar",
        "-CMS: key does not exist\r\n",
    );
    rt(&mut s, "SET str v", "+OK\r\n");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    rt(&mut s, "CMS.INCRBY str bar 1", wt);
    rt(&mut s, "CMS.QUERY str bar", wt);
    rt(&mut s, "CMS.QUERY c bar baz", "*2\r\n:5\r\n:42\r\n");
    rt(
        &mut s,
        "CMS.INFO c",
        "*6\r\n+width\r\n:1000\r\n+depth\r\n:5\r\n+count\r\n:47\r\n",
    );
    // counters never wrap: the item that would pass 2^32-1 is refused, the others go through
    rt(&mut s, "CMS.INITBYDIM o 5 2", "+OK\r\n");
    rt(&mut s, "CMS.INCRBY o a 2147483647", "*1\r\n:2147483647\r\n");
    rt(&mut s, "CMS.INCRBY o a 2147483647", "*1\r\n:4294967294\r\n");
    rt(
        &mut s,
        "CMS.INCRBY o a 2 zz 1",
        "*2\r\n-CMS: INCRBY overflow\r\n:1\r\n",
    );
    rt(&mut s, "CMS.QUERY o a", "*1\r\n:4294967294\r\n");
    rt(
        &mut s,
        "CMS.INCRBY o b 4294967296",
        "*1\r\n-CMS: INCRBY overflow\r\n",
    );
    resp3(&mut s);
    rt(&mut s, "CMS.INCRBY c bar 1", "*1\r\n:6\r\n");
    rt(&mut s, "CMS.QUERY c bar", "*1\r\n:6\r\n");
    h.shutdown();
}

#[test]
fn cms_merge() {
    let h = start();
    let mut s = connect(h.local_addr());
    for k in ["d", "a", "b"] {
        rt(&mut s, &format!("CMS.INITBYDIM {k} 100 5"), "+OK\r\n");
    }
    rt(&mut s, "CMS.INITBYDIM small 20 5", "+OK\r\n");
    rt(&mut s, "CMS.INCRBY a x 21 y 1", "*2\r\n:21\r\n:1\r\n");
    rt(&mut s, "CMS.INCRBY b x 21", "*1\r\n:21\r\n");
    rt(&mut s, "CMS.MERGE d 2 a b", "+OK\r\n");
    rt(&mut s, "CMS.QUERY d x y", "*2\r\n:42\r\n:1\r\n");
    rt(
        &mut s,
        "CMS.INFO d",
        "*6\r\n+width\r\n:100\r\n+depth\r\n:5\r\n+count\r\n:43\r\n",
    );
    rt(&mut s, "CMS.MERGE d 2 a b WEIGHTS 2 -1", "+OK\r\n");
    rt(&mut s, "CMS.QUERY d x y", "*2\r\n:21\r\n:2\r\n");
    rt(&mut s, "CMS.MERGE d 2 d b weights 1 1", "+OK\r\n");
    rt(&mut s, "CMS.QUERY d x", "*1\r\n:42\r\n");
    rt(
        &mut s,
        "CMS.MERGE d 2 a b WEIGHTS 1 -2",
        "-CMS: MERGE overflow\r\n",
    );
    rt(&mut s, "CMS.QUERY d x", "*1\r\n:42\r\n");
    rt(
        &mut s,
        "CMS.MERGE d 2 a small",
        "-CMS: width/depth is not equal\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 2 a nokey",
        "-CMS: key does not exist\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE nokey 1 a",
        "-CMS: key does not exist\r\n",
    );
    rt(&mut s, "CMS.MERGE d x a", "-CMS: invalid numkeys\r\n");
    rt(
        &mut s,
        "CMS.MERGE d 0 a",
        "-CMS: Number of keys must be positive\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d -1 a b",
        "-CMS: Number of keys must be positive\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 3 a b",
        "-CMS: wrong number of keys\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 2 a b WEIGHTS 1",
        "-CMS: wrong number of keys/weights\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 1 a b WEIGHTS 1",
        "-CMS: wrong number of keys/weights\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 2 a b WEIGHTS 1 x",
        "-CMS: invalid weight value\r\n",
    );
    rt(
        &mut s,
        "CMS.MERGE d 1",
        "-ERR wrong number of arguments for 'cms.merge' command\r\n",
    );
    rt(&mut s, "SET str v", "+OK\r\n");
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    rt(&mut s, "CMS.MERGE d 1 str", wt);
    rt(&mut s, "CMS.MERGE str 1 a", wt);
    rt(&mut s, "CMS.QUERY d x y", "*2\r\n:42\r\n:2\r\n");
    h.shutdown();
}
