//! `INFO`: Redis's sections in its `field:value` format, so tools that parse INFO work.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cmd::commands;
use crate::cmd::connection::REDIS_VERSION;
use crate::server::{CmdStat, Shared, Stats, unix_micros};

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// CPU time (user, system) in seconds, from /proc (zeros where unavailable).
/// `MemTotal` of `/proc/meminfo` in bytes (0 where there is none).
fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn cpu_times() -> (f64, f64) {
    std::fs::read_to_string("/proc/self/stat").map_or((0.0, 0.0), |s| stat_cpu_times(&s))
}

/// CPU time (user, system) in seconds of the thread named `name` (Redis's `*_main_thread`
/// fields: here the first event loop's thread, which runs commands as Redis's main thread
/// does), from /proc (zeros where unavailable).
fn thread_cpu_times(name: &str) -> (f64, f64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let named = std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim_end() == name);
        if named && let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
            return stat_cpu_times(&stat);
        }
    }
    (0.0, 0.0)
}

/// (user, system) seconds from the text of a /proc `stat` file.
fn stat_cpu_times(stat: &str) -> (f64, f64) {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return (0.0, 0.0);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let ut = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let st = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (ut, st)
}

/// The allocator lines of `INFO memory`, from glibc's `mallinfo2`: `totals` goes after
/// `used_memory_dataset_perc` (allocated: bytes in use, mmapped blocks included; active: heap
/// and mmapped bytes taken from the system; resident: glibc does not tell it apart, so the
/// active figure), `ratios` before `mem_fragmentation_ratio` (against the process RSS), in
/// Redis's format. Zeros where the allocator is not glibc's.
struct AllocatorFigures {
    totals: String,
    ratios: String,
}

fn allocator_figures(rss: u64) -> AllocatorFigures {
    let (allocated, active) = crate::alloc::heap_info()
        .map_or((0, 0), |[arena, in_use, _, mmapped, _, _]| {
            (in_use + mmapped, arena + mmapped)
        });
    let resident = active;
    let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    AllocatorFigures {
        totals: format!(
            "allocator_allocated:{allocated}\r\nallocator_active:{active}\r\nallocator_resident:{resident}\r\n"
        ),
        ratios: format!(
            "allocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\n",
            ratio(active, allocated),
            diff(active, allocated),
            ratio(resident, active),
            diff(resident, active),
            ratio(rss, resident),
            diff(rss, resident),
        ),
    }
}

/// The `current_*` lines of `INFO persistence`: Redis reports its saving child there; here
/// the snapshot being written (BGSAVE, SAVE, an AOF rewrite), if any. Keys saved so far and
/// keys at the cut; the copy-on-write bytes writers preserved so far, which only grow while a
/// snapshot runs (so the peak is the current size) and are read live (so their age is 0).
fn save_progress_lines(shared: &Shared, s: &mut String) {
    let p = shared.dbs[0].snapshot_progress().unwrap_or_default();
    let perc = if p.keys_total > 0 {
        p.keys_done as f64 * 100.0 / p.keys_total as f64
    } else {
        0.0
    };
    let _ = write!(
        s,
        "current_cow_peak:{cow}\r\ncurrent_cow_size:{cow}\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:{}\r\ncurrent_save_keys_total:{}\r\n",
        p.keys_done,
        p.keys_total,
        cow = p.cow_bytes,
    );
}

/// Redis 7.0's `INFO stats` fields for what Sabaody has no counterpart of, spliced in after
/// the field Redis prints them after (so the section keeps Redis's order): time over
/// `maxmemory` (Sabaody evicts before a write goes past it), client-side caching, RESTORE
/// payload sanitization runs (`sanitize-dump-payload` is accepted without effect), reply
/// buffer resizing. `io_threaded_*` count the reads and writes of the loop threads when
/// there are several (`io_threads_active:1`), as Redis counts those of its I/O threads.
fn stats_without_counterpart(shared: &Shared, s: &mut String) {
    let threaded = shared.loops.len() > 1;
    let io = |n: u64| if threaded { n } else { 0 };
    let extra = [
        (
            "evicted_clients",
            "total_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n".to_string(),
        ),
        ("current_active_defrag_time", {
            let (_, keys, items, prefixes) = shared.tracking.stats();
            format!(
                "tracking_total_keys:{keys}\r\ntracking_total_items:{items}\r\ntracking_total_prefixes:{prefixes}\r\n"
            )
        }),
        (
            "total_error_replies",
            "dump_payload_sanitizations:0\r\n".to_string(),
        ),
        (
            "total_writes_processed",
            format!(
                "io_threaded_reads_processed:{}\r\nio_threaded_writes_processed:{}\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                io(shared.stat_sum(|s| &s.reads_processed)),
                io(shared.stat_sum(|s| &s.writes_processed)),
            ),
        ),
    ];
    for (after, lines) in extra {
        insert_after_field(s, after, &lines);
    }
}

/// Inserts `lines` after the `field:value` line of `s` (at the end if there is none).
fn insert_after_field(s: &mut String, field: &str, lines: &str) {
    let key = format!("\n{field}:");
    let at = s
        .find(&key)
        .and_then(|i| s[i + 1..].find("\r\n").map(|j| i + 1 + j + 2))
        .unwrap_or(s.len());
    s.insert_str(at, lines);
}

/// Renders the requested sections (`[]` = default sections; `all`, `everything`, `default`).
pub(crate) fn render(shared: &Shared, requested: &[String]) -> String {
    let mut want: Vec<&str> = Vec::new();
    if requested.is_empty() {
        want.extend(DEFAULT_SECTIONS);
    }
    for r in requested {
        match r.as_str() {
            "all" | "everything" => {
                want.extend(DEFAULT_SECTIONS);
                want.push("commandstats");
                want.push("latencystats");
            }
            "default" => want.extend(DEFAULT_SECTIONS),
            other => want.push(other),
        }
    }
    let mut out = String::new();
    let mut first = true;
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "latencystats",
        "cluster",
        "keyspace",
    ];
    for section in order {
        if !want.contains(&section) {
            continue;
        }
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        section_text(shared, section, &mut out);
    }
    out
}

/// A command's (or implemented subcommand's) counters in one loop's [`Stats`].
pub(crate) type Pick = Box<dyn Fn(&Stats) -> Option<&CmdStat>>;

/// A slot's latency histogram summed over every loop (`metrics::BUCKETS` counts).
pub(crate) fn slot_histogram(shared: &Shared, pick: &Pick) -> Vec<u64> {
    let mut counts = vec![0u64; crate::metrics::BUCKETS];
    for c in shared.stats.iter().filter_map(pick) {
        c.hist.add_to(&mut counts);
    }
    counts
}

/// The sum over every loop of one counter of a slot's [`CmdStat`].
fn slot_sum(shared: &Shared, pick: &Pick, field: impl Fn(&CmdStat) -> &AtomicU64) -> u64 {
    shared
        .stats
        .iter()
        .filter_map(&pick)
        .map(|c| field(c).load(Ordering::Relaxed))
        .sum()
}

/// Every command and implemented subcommand INFO reports, with how to reach its counters:
/// commands in table order, containers replaced by their subcommands (`config|get`), as
/// Redis counts them.
pub(crate) fn stat_slots() -> Vec<(String, Pick)> {
    let mut out: Vec<(String, Pick)> = Vec::new();
    for (i, spec) in commands().enumerate() {
        if spec.has(crate::cmd::flag::CONTAINER) {
            // The container itself only ever has rejected calls (`CONFIG` alone).
            out.push((
                spec.name.to_owned(),
                Box::new(move |st: &Stats| st.commands.get(i)),
            ));
            for (j, sub) in crate::cmd::server::SUBCOMMANDS.iter().enumerate() {
                if sub.split('|').next() == Some(spec.name) {
                    out.push((
                        (*sub).to_owned(),
                        Box::new(move |st: &Stats| st.subcommands.get(j)),
                    ));
                }
            }
        } else {
            out.push((
                spec.name.to_owned(),
                Box::new(move |st: &Stats| st.commands.get(i)),
            ));
        }
    }
    out
}

fn section_text(shared: &Shared, section: &str, s: &mut String) {
    let cfg = shared.config.read().clone();
    let uptime = shared.started.elapsed().as_secs();
    match section {
        "server" => {
            let _ = write!(
                s,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nsabaody_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                usize::BITS,
                std::process::id(),
                shared.run_id,
                shared.tcp_port,
                unix_micros(),
                uptime,
                uptime / 86_400,
                cfg.hz,
                cfg.hz,
                // Redis's LRU clock: Unix seconds in 24 bits.
                (unix_micros() / 1_000_000) & ((1 << 24) - 1),
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                cfg.config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                u8::from(shared.loops.len() > 1),
            );
        }
        "clients" => {
            let (blocked, timed) = shared.blocking.counts();
            // Clients held by CLIENT PAUSE count as blocked, as in Redis 7.0.
            let blocked = blocked + shared.pause.held_count();
            let (max_in, max_out) = shared
                .loops
                .iter()
                .map(|l| l.peaks.recent_max())
                .fold((0, 0), |(a, b), (i, o)| (a.max(i), b.max(o)));
            let _ = write!(
                s,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{max_in}\r\nclient_recent_max_output_buffer:{max_out}\r\nblocked_clients:{blocked}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{timed}\r\n",
                shared.connected.load(Ordering::Relaxed),
                cfg.maxclients,
                shared.tracking.stats().0,
            );
        }
        "memory" => {
            let used = shared.dbs[0].used_memory() as u64;
            let peak = (shared.dbs[0].peak_memory() as u64).max(used);
            let rss = rss_bytes();
            let system = total_system_memory();
            let alloc = allocator_figures(rss);
            let aof_buffer = shared.aof.buffer_len();
            // `used_memory` is the keyspace's own count (every entry charged its bytes): all
            // of it is dataset, none of it overhead or start-up memory.
            let _ = write!(
                s,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:{used}\r\nused_memory_dataset_perc:{}%\r\n{}total_system_memory:{system}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n{}mem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:{aof_buffer}\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:{aof_buffer}\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                human(used),
                human(rss),
                human(peak),
                if peak > 0 {
                    used as f64 * 100.0 / peak as f64
                } else {
                    0.0
                },
                if used > 0 { "100.00" } else { "0.00" },
                alloc.totals,
                human(system),
                cfg.maxmemory,
                human(cfg.maxmemory),
                cfg.maxmemory_policy,
                alloc.ratios,
                if used > 0 {
                    rss as f64 / used as f64
                } else {
                    0.0
                },
                rss as i64 - used as i64,
                shared
                    .find_clients(|_| true)
                    .iter()
                    .map(|c| c.total_memory() as u64)
                    .sum::<u64>(),
            );
        }
        "persistence" => {
            let _ = write!(s, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n");
            save_progress_lines(shared, s);
            crate::persist::info_lines(shared, s);
            for (k, v) in shared.aof.info_fields() {
                let _ = write!(s, "{k}:{v}\r\n");
            }
        }
        "stats" => {
            let ks = shared.dbs[0].stats();
            let (ops, kbps_in, kbps_out) = shared.instantaneous.rates();
            let ex = &shared.expiry;
            let pubsub = shared.pubsub.sizes();
            let _ = write!(
                s,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{kbps_in:.2}\r\ninstantaneous_output_kbps:{kbps_out:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\n",
                shared.stat_sum(|s| &s.total_connections),
                shared.stat_sum(|s| &s.total_commands),
                ops.round() as u64,
                shared.stat_sum(|s| &s.net_input_bytes),
                shared.stat_sum(|s| &s.net_output_bytes),
                shared.stat_sum(|s| &s.rejected_connections),
                ks.expired_keys,
                ex.stale_perc(),
                ex.cap_reached.load(Ordering::Relaxed),
                ex.cpu_us.load(Ordering::Relaxed) / 1000,
                ks.evicted_keys,
                ks.keyspace_hits,
                ks.keyspace_misses,
                pubsub.0,
                pubsub.1,
                pubsub.2,
                shared.stat_sum(|s| &s.error_replies),
                shared.stat_sum(|s| &s.reads_processed),
                shared.stat_sum(|s| &s.writes_processed),
            );
            stats_without_counterpart(shared, s);
        }
        "replication" => {
            let _ = write!(
                s,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                shared.run_id
            );
        }
        "cpu" => {
            let (u, sy) = cpu_times();
            let (mu, msy) = thread_cpu_times("sabaody-loop-0");
            let _ = write!(
                s,
                "# CPU\r\nused_cpu_sys:{sy:.6}\r\nused_cpu_user:{u:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{msy:.6}\r\nused_cpu_user_main_thread:{mu:.6}\r\n"
            );
        }
        "modules" => s.push_str("# Modules\r\n"),
        "errorstats" => {
            s.push_str("# Errorstats\r\n");
            let mut totals: Vec<(String, u64)> = Vec::new();
            for st in shared.stats.iter() {
                for (code, n) in st.errors.lock().iter() {
                    match totals.iter_mut().find(|(c, _)| c == code) {
                        Some((_, t)) => *t += n,
                        None => totals.push((code.clone(), *n)),
                    }
                }
            }
            totals.sort();
            for (code, n) in totals {
                let _ = write!(s, "errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => {
            s.push_str("# Latencystats\r\n");
            if !shared.latency_tracking.load(Ordering::Relaxed) {
                return;
            }
            let percentiles = crate::metrics::parse_percentiles(
                cfg.inert
                    .get("latency-tracking-info-percentiles")
                    .map_or("50 99 99.9", String::as_str),
            );
            for (name, pick) in stat_slots() {
                let counts = slot_histogram(shared, &pick);
                if counts.iter().all(|&c| c == 0) {
                    continue;
                }
                let _ = write!(s, "latency_percentiles_usec_{name}:");
                for (k, &p) in percentiles.iter().enumerate() {
                    let ns = crate::metrics::percentile(&counts, p).unwrap_or(0);
                    let sep = if k == 0 { "" } else { "," };
                    let label = crate::metrics::percentile_label(p);
                    let _ = write!(s, "{sep}{label}={:.3}", ns as f64 / 1000.0);
                }
                s.push_str("\r\n");
            }
        }
        "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "commandstats" => {
            s.push_str("# Commandstats\r\n");
            for (name, pick) in stat_slots() {
                let calls = slot_sum(shared, &pick, |c| &c.calls);
                let failed = slot_sum(shared, &pick, |c| &c.failed);
                let rejected = slot_sum(shared, &pick, |c| &c.rejected);
                if calls == 0 && failed == 0 && rejected == 0 {
                    continue;
                }
                let nanos = slot_sum(shared, &pick, |c| &c.nanos);
                let _ = write!(
                    s,
                    "cmdstat_{name}:calls={},usec={},usec_per_call={:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                    calls,
                    nanos / 1000,
                    if calls > 0 {
                        nanos as f64 / 1000.0 / calls as f64
                    } else {
                        0.0
                    },
                );
            }
        }
        "keyspace" => {
            s.push_str("# Keyspace\r\n");
            for (i, db) in shared.dbs[0].keyspace_info().iter().enumerate() {
                if db.keys > 0 {
                    let _ = write!(
                        s,
                        "db{i}:keys={},expires={},avg_ttl=0\r\n",
                        db.keys, db.expires
                    );
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{insert_after_field, stat_cpu_times};

    #[test]
    fn lines_go_after_their_field() {
        let mut s = String::from("# Stats\r\na:1\r\nab:2\r\nb:3\r\n");
        insert_after_field(&mut s, "a", "x:0\r\n");
        insert_after_field(&mut s, "b", "y:0\r\n");
        insert_after_field(&mut s, "missing", "z:0\r\n");
        assert_eq!(s, "# Stats\r\na:1\r\nx:0\r\nab:2\r\nb:3\r\ny:0\r\nz:0\r\n");
    }

    #[test]
    fn cpu_times_from_a_stat_line() {
        // pid (comm with spaces) state, then fields 4.. ; utime (14) = 250, stime (15) = 120.
        let stat = "42 (sabaody loop) S 1 42 42 0 -1 4194560 500 0 0 0 250 120 0 0 20 0 3 0";
        assert_eq!(stat_cpu_times(stat), (2.5, 1.2));
        assert_eq!(stat_cpu_times("garbage"), (0.0, 0.0));
    }
}
