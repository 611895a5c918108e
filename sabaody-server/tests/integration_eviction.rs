//! The memory bound through the server: OOM errors under noeviction (reads and deletes still
//! work, MULTI is refused), CONFIG SET of the policy and of a lower maxmemory (evicts down to
//! it), INFO fields, OBJECT IDLETIME/FREQ and TOUCH; and the bound under two loop threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redis::Commands;
use sabaody_server::{Config, Server, ServerHandle};

fn start(args: &[(&str, &str)]) -> ServerHandle {
    let mut c = Config::default();
    c.set("port", &["0"]).unwrap();
    c.set("loglevel", &["warning"]).unwrap();
    for (k, v) in args {
        c.set(k, &[v]).unwrap();
    }
    Server::start(c).unwrap()
}

fn client(h: &ServerHandle) -> redis::Connection {
    connect(h.local_addr())
}

fn connect(addr: std::net::SocketAddr) -> redis::Connection {
    redis::Client::open(format!("redis://{addr}/"))
        .unwrap()
        .get_connection()
        .unwrap()
}

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
        .trim()
        .to_string()
}

fn info_u64(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    info_field(con, section, field).parse().unwrap()
}

#[test]
fn noeviction_then_lru_through_config_set() {
    let h = start(&[("maxmemory", "2mb")]);
    let mut con = client(&h);
    assert_eq!(
        info_field(&mut con, "memory", "maxmemory_policy"),
        "noeviction"
    );
    assert_eq!(info_u64(&mut con, "memory", "maxmemory"), 2 << 20);
    let value = "x".repeat(1000);
    let mut refused = None;
    for i in 0..10_000 {
        if let Err(e) = con.set::<_, _, ()>(format!("k{i}"), &value) {
            refused = Some((i, e));
            break;
        }
    }
    let (at, err) = refused.expect("noeviction must refuse writes past the bound");
    assert!(at > 1000, "refused too early, at key {at}");
    assert_eq!(err.code(), Some("OOM"));
    assert!(
        err.to_string()
            .contains("command not allowed when used memory > 'maxmemory'."),
        "{err}"
    );
    // Reads and deletes still work.
    let v: String = con.get("k0").unwrap();
    assert_eq!(v.len(), 1000);
    let n: usize = con.del("k0").unwrap();
    assert_eq!(n, 1);
    // A transaction is refused while memory is over the bound.
    let mut raw = std::net::TcpStream::connect(h.local_addr()).unwrap();
    use std::io::{Read, Write};
    for _ in 0..300 {
        // fill back over the bound
        let _: Result<(), _> = con.set(format!("fill{}", fastrand_u32()), &value);
    }
    raw.write_all(b"MULTI\r\nSET a b\r\nEXEC\r\n").unwrap();
    let mut buf = vec![0u8; 512];
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n") || got.iter().filter(|&&b| b == b'\n').count() < 3 {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("+OK\r\n-OOM command not allowed")
            && text.contains("-EXECABORT Transaction discarded because of previous errors."),
        "{text}"
    );
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);

    // Switch to allkeys-lru: writes succeed again, evicting.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut con)
        .unwrap();
    for i in 0..3000 {
        let _: () = con.set(format!("lru{i}"), &value).unwrap();
    }
    let evicted = info_u64(&mut con, "stats", "evicted_keys");
    assert!(evicted > 1000, "evicted {evicted}");
    let used = info_u64(&mut con, "memory", "used_memory");
    assert!(used <= (2 << 20) + 2000, "used {used}");
    // Lowering the bound evicts down to it at once.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1mb")
        .query(&mut con)
        .unwrap();
    let used = info_u64(&mut con, "memory", "used_memory");
    assert!(
        used <= 1 << 20,
        "used {used} after CONFIG SET maxmemory 1mb"
    );
    assert!(info_u64(&mut con, "stats", "evicted_keys") > evicted);
    let peak = info_u64(&mut con, "memory", "used_memory_peak");
    assert!(peak >= used && peak <= (2 << 20) + 2000, "peak {peak}");
    h.shutdown();
}

/// CONFIG SET maxmemory inside MULTI/EXEC: EXEC holds every shard lock, so evicting inline
/// waited on the thread's own locks and hung the server (found by the `server_commands`
/// fuzz target). The bound now changes inside EXEC and the loop's cron evicts afterwards,
/// under the AOF order lock, with the evictions logged like any other.
#[test]
fn lower_maxmemory_inside_exec_evicts_after_it() {
    let dir = std::env::temp_dir().join(format!("sabaody-evict-exec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dir_s = dir.to_str().unwrap().to_string();
    let h = start(&[
        ("maxmemory-policy", "allkeys-lru"),
        ("dir", &dir_s),
        ("appendonly", "yes"),
    ]);
    let mut con = client(&h);
    // A hang must fail the test, not stall it.
    con.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    for i in 0..200 {
        let _: () = con.set(format!("k{i}"), "v".repeat(100)).unwrap();
    }
    let (size_in_tx,): (u64,) = redis::pipe()
        .atomic()
        .cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .ignore()
        .cmd("DBSIZE")
        .query(&mut con)
        .unwrap();
    assert_eq!(size_in_tx, 200, "nothing is evicted inside the transaction");
    let mut other = client(&h);
    other
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let n: u64 = redis::cmd("DBSIZE").query(&mut other).unwrap();
        if n == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cron never evicted: {n} keys left"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(info_u64(&mut other, "stats", "evicted_keys") >= 200);
    // The evictions are in the AOF: a restart from it finds nothing.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query(&mut other)
        .unwrap();
    drop((con, other));
    h.shutdown();
    let h = start(&[("dir", &dir_s), ("appendonly", "yes")]);
    let mut con = client(&h);
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 0, "evictions after EXEC must reach the AOF");
    h.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

fn fastrand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn object_idletime_freq_and_touch() {
    let h = start(&[]);
    let mut con = client(&h);
    let _: () = con.set("k", "v").unwrap();
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert!((0..=1).contains(&idle), "{idle}");
    let err = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("k")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("An LFU maxmemory policy is not selected"),
        "{err}"
    );
    let missing: Option<i64> = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(missing, None);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lfu")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("lfu-log-factor")
        .arg("0")
        .query(&mut con)
        .unwrap();
    let _: () = con.set("f", "v").unwrap();
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("f")
        .query(&mut con)
        .unwrap();
    assert_eq!(freq, 5, "new keys start at 5");
    let touched: i64 = redis::cmd("TOUCH")
        .arg("f")
        .arg("f")
        .arg("missing")
        .query(&mut con)
        .unwrap();
    assert_eq!(touched, 2);
    for _ in 0..3 {
        let _: String = con.get("f").unwrap();
    }
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("f")
        .query(&mut con)
        .unwrap();
    assert_eq!(freq, 10, "two TOUCHes and three GETs with lfu-log-factor 0");
    let err = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("f")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("An LFU maxmemory policy is selected"),
        "{err}"
    );
    h.shutdown();
}

/// Two client threads (so both loop threads) write random keys with random values up to
/// 4 KiB against `maxmemory 8mb`: the accounted peak stays within 1% plus one value.
#[test]
fn the_bound_holds_with_two_loop_threads() {
    const MAX: u64 = 8 << 20;
    let h = start(&[
        ("maxmemory", "8mb"),
        ("maxmemory-policy", "allkeys-lru"),
        ("io-threads", "2"),
    ]);
    let addr = h.local_addr();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                let mut con = connect(addr);
                let mut seed = t * 7919 + 1;
                let big = "v".repeat(4096);
                for _ in 0..200 {
                    let mut pipe = redis::pipe();
                    for _ in 0..50 {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let key = format!("k:{t}:{}", (seed >> 33) % 100_000);
                        let len = 1 + ((seed >> 20) % 4096) as usize;
                        pipe.set(key, &big[..len]).ignore();
                    }
                    let () = pipe.query(&mut con).unwrap();
                }
            });
        }
    });
    let mut con = client(&h);
    let peak = info_u64(&mut con, "memory", "used_memory_peak");
    assert!(peak <= MAX + MAX / 100 + 4096 + 200, "peak {peak}");
    assert!(info_u64(&mut con, "stats", "evicted_keys") > 0);
    h.shutdown();
}

/// Peak resident set of this process (the server runs in it), in bytes: Linux's `VmHWM`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Current RSS (`VmRSS`) and glibc's heap figures (`mallinfo2`, summed over all arenas).
fn print_heap(when: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap_or("?")
        .trim()
        .to_string();
    // SAFETY: mallinfo2 reads the allocator's counters.
    #[allow(unsafe_code)]
    let m = unsafe { libc::mallinfo2() };
    println!(
        "{when}: VmRSS {rss}; sbrk/arena bytes {} (in use {}, free {}), mmapped {} in {} blocks, \
         {} free chunks",
        m.arena, m.uordblks, m.fordblks, m.hblkhd, m.hblks, m.ordblks
    );
}

/// The "bound holds" check at full size, in release (a few seconds there):
///
/// ```text
/// cargo test --release -p sabaody-server --test integration_eviction -- --ignored --nocapture bound_holds_at_64mb
/// ```
///
/// Two client threads (so both loop threads, `io-threads 2`) write pipelined SETs of random
/// keys against `maxmemory 64mb`: key lengths 8 bytes to 4 KiB (fixed per key, so keys are
/// also overwritten), value lengths 1 byte to 4 KiB, 200,000 writes per thread (about 800 MB
/// written, 12 times the bound). Prints and asserts the accounted peak (`used_memory_peak`)
/// against the bound plus 1% plus one record (a key and a value of 4 KiB and the record's
/// header), and prints the process's peak RSS (Linux `VmHWM`; the test's clients add a few
/// hundred KiB) as a factor of the bound. The test sets glibc's malloc as the binary does
/// (`sabaody_server::alloc::tune_malloc`) and asserts the peak RSS below 2x the bound:
/// measured 1.27x to 1.28x (1.27x to 1.56x with the earlier 128 KiB threshold and no arena
/// floor); with `BOUND_DEFAULT_MALLOC=1` (glibc's defaults, asserted below
/// 4x) 2.3x to 3.1x, half of it or more free heap that glibc kept. `BOUND_MALLINFO=1` also
/// prints the current RSS and glibc's `mallinfo2` figures, before and after a
/// `malloc_trim(0)`. The accounted peak was 0.020% to 0.022% over the bound. `BOUND_POLICY`
/// picks the policy (default `allkeys-lru`).
#[test]
#[ignore = "full-size load: run in release with --ignored"]
fn bound_holds_at_64mb() {
    const MAX: u64 = 64 << 20;
    const WRITES: u64 = 200_000;
    const KEYS: u64 = 100_000;
    let policy = std::env::var("BOUND_POLICY").unwrap_or_else(|_| "allkeys-lru".into());
    // As the binary does before it starts (`alloc.rs`); `BOUND_DEFAULT_MALLOC` measures
    // glibc's defaults instead.
    let tuned = std::env::var_os("BOUND_DEFAULT_MALLOC").is_none();
    if tuned {
        sabaody_server::alloc::tune_malloc(2, true);
    }
    let h = start(&[
        ("maxmemory", "64mb"),
        ("maxmemory-policy", &policy),
        ("io-threads", "2"),
    ]);
    let addr = h.local_addr();
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                let mut con = connect(addr);
                // xorshift64*: no dependency for a few random numbers.
                let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ (t + 1);
                let mut next = move |n: u64| {
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                    (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) % n
                };
                let big = vec![b'v'; 4096];
                let mut done = 0;
                while done < WRITES {
                    let mut pipe = redis::pipe();
                    for _ in 0..32 {
                        // The key's length is a function of its number: a key keeps its name.
                        let id = next(KEYS);
                        let mut key = format!("k:{t}:{id}:").into_bytes();
                        let len = 8 + (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 4089;
                        key.resize(len as usize, b'k');
                        let vlen = 1 + next(4096) as usize;
                        pipe.set(key, &big[..vlen]).ignore();
                        done += 1;
                    }
                    let () = pipe.query(&mut con).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut con = client(&h);
    let peak = info_u64(&mut con, "memory", "used_memory_peak");
    let used = info_u64(&mut con, "memory", "used_memory");
    let evicted = info_u64(&mut con, "stats", "evicted_keys");
    let keys: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    let bound = MAX + MAX / 100 + 4096 + 4096 + 64;
    let rss = peak_rss().unwrap_or(0);
    println!(
        "{policy}: {} writes in {:.1} s; used_memory_peak {peak} ({:+.3}% of maxmemory {MAX}), \
         allowed {bound}; used_memory {used}; keys {keys}; evicted {evicted}; \
         peak RSS {rss} = {:.2}x maxmemory",
        2 * WRITES,
        elapsed.as_secs_f64(),
        (peak as f64 / MAX as f64 - 1.0) * 100.0,
        rss as f64 / MAX as f64
    );
    if std::env::var_os("BOUND_MALLINFO").is_some() {
        print_heap("after the load");
        // SAFETY: malloc_trim only hands free heap pages back to the kernel.
        #[allow(unsafe_code)]
        unsafe {
            libc::malloc_trim(0)
        };
        print_heap("after malloc_trim(0)");
    }
    assert!(peak <= bound, "peak {peak} > {bound}");
    assert!(evicted > 0);
    if rss > 0 {
        // glibc's defaults: 2.3x to 3.1x measured; tuned (`alloc.rs`): 1.27x to 1.28x.
        let limit = if tuned { 2 * MAX } else { 4 * MAX };
        assert!(rss < limit, "peak RSS {rss} >= {limit}");
    }
    h.shutdown();
}
