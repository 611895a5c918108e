//! `INFO`: Redis's sections in its `field:value` format, so tools that parse INFO work.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::cmd::commands;
use crate::cmd::connection::REDIS_VERSION;
use crate::server::{Shared, unix_micros};

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
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
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

fn section_text(shared: &Shared, section: &str, s: &mut String) {
    let cfg = shared.config.read().clone();
    let uptime = shared.started.elapsed().as_secs();
    match section {
        "server" => {
            let _ = write!(
                s,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nsabaody_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:{}\r\n",
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
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{max_in}\r\nclient_recent_max_output_buffer:{max_out}\r\nblocked_clients:{blocked}\r\ntracking_clients:0\r\nclients_in_timeout_table:{timed}\r\n",
                shared.connected.load(Ordering::Relaxed),
                cfg.maxclients,
            );
        }
        "memory" => {
            let used = shared.dbs[0].used_memory() as u64;
            let peak = (shared.dbs[0].peak_memory() as u64).max(used);
            let rss = rss_bytes();
            let _ = write!(
                s,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_dataset:{used}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
                human(used),
                human(rss),
                human(peak),
                cfg.maxmemory,
                human(cfg.maxmemory),
                cfg.maxmemory_policy,
                if used > 0 {
                    rss as f64 / used as f64
                } else {
                    0.0
                },
            );
        }
        "persistence" => {
            let _ = write!(s, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n");
            crate::persist::info_lines(shared, s);
            for (k, v) in shared.aof.info_fields() {
                let _ = write!(s, "{k}:{v}\r\n");
            }
        }
        "stats" => {
            let ks = shared.dbs[0].stats();
            let secs = shared.started.elapsed().as_secs_f64().max(1e-3);
            let total = shared.stat_sum(|s| &s.total_commands);
            let _ = write!(
                s,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\ntotal_error_replies:{}\r\n",
                shared.stat_sum(|s| &s.total_connections),
                total,
                (total as f64 / secs) as u64,
                shared.stat_sum(|s| &s.net_input_bytes),
                shared.stat_sum(|s| &s.net_output_bytes),
                shared.stat_sum(|s| &s.rejected_connections),
                ks.expired_keys,
                ks.evicted_keys,
                ks.keyspace_hits,
                ks.keyspace_misses,
                shared.stat_sum(|s| &s.error_replies),
            );
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
            let _ = write!(
                s,
                "# CPU\r\nused_cpu_sys:{sy:.6}\r\nused_cpu_user:{u:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n"
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
        "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "commandstats" => {
            s.push_str("# Commandstats\r\n");
            for (i, spec) in commands().enumerate() {
                let calls = shared.stat_sum(|s| &s.commands[i].calls);
                if calls == 0 {
                    continue;
                }
                let nanos = shared.stat_sum(|s| &s.commands[i].nanos);
                let _ = write!(
                    s,
                    "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls=0,failed_calls={}\r\n",
                    spec.name,
                    calls,
                    nanos / 1000,
                    nanos as f64 / 1000.0 / calls as f64,
                    shared.stat_sum(|s| &s.commands[i].failed)
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
