//! LATENCY: the latency monitor (`latency-monitor-threshold`: events that took at least that
//! many milliseconds, by class) and the per-command latency histograms of `INFO
//! latencystats`.
//!
//! ```text
//! LATENCY LATEST | LATENCY HISTORY event | LATENCY RESET [event ...] | LATENCY GRAPH event |
//! LATENCY DOCTOR | LATENCY HISTOGRAM [command ...] | LATENCY HELP
//! ```

use std::fmt::Write as _;

use sabaody_resp::write;

use super::{Args, CmdError, Ctx, help, unknown_subcommand};
use crate::metrics::{EventSeries, cumulative_buckets};
use crate::server::Shared;

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

fn arity(ok: bool, name: &'static str) -> Result<(), CmdError> {
    if ok {
        Ok(())
    } else {
        Err(CmdError::WrongArity(name))
    }
}

pub(crate) fn latency(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    let n = args.remaining();
    let monitor = &ctx.shared.latency;
    if is(sub, b"LATEST") {
        arity(n == 0, "latency|latest")?;
        let events = monitor.events();
        write::array_len(ctx.out, events.len());
        for (name, s) in events {
            let (time, latest) = s.samples.back().copied().unwrap_or((0, 0));
            write::array_len(ctx.out, 4);
            write::bulk(ctx.out, name.as_bytes());
            write::integer(ctx.out, time as i64);
            write::integer(ctx.out, latest as i64);
            write::integer(ctx.out, s.max as i64);
        }
    } else if is(sub, b"HISTORY") {
        arity(n == 1, "latency|history")?;
        let event = args.next_bytes()?;
        let samples = monitor.series(event).map(|s| s.samples).unwrap_or_default();
        write::array_len(ctx.out, samples.len());
        for (time, ms) in samples {
            write::array_len(ctx.out, 2);
            write::integer(ctx.out, time as i64);
            write::integer(ctx.out, ms as i64);
        }
    } else if is(sub, b"RESET") {
        let names: Vec<&[u8]> = args.rest().iter().map(|b| &b[..]).collect();
        write::integer(ctx.out, monitor.reset(&names) as i64);
    } else if is(sub, b"GRAPH") {
        arity(n == 1, "latency|graph")?;
        let event = args.next_bytes()?;
        let Some(series) = monitor.series(event).filter(|s| !s.samples.is_empty()) else {
            return Err(CmdError::msg(format!(
                "ERR No samples available for event '{}'",
                String::from_utf8_lossy(&event[..event.len().min(128)])
            )));
        };
        let text = graph(&String::from_utf8_lossy(event), &series, unix_secs());
        write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
    } else if is(sub, b"DOCTOR") {
        arity(n == 0, "latency|doctor")?;
        let text = doctor(ctx.shared);
        write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
    } else if is(sub, b"HISTOGRAM") {
        histogram(ctx, args)?;
    } else if is(sub, b"HELP") {
        arity(n == 0, "latency|help")?;
        help(
            ctx,
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    A report on the latency events recorded.",
                "GRAPH <event>",
                "    A text graph of one event class's samples.",
                "HISTORY <event>",
                "    The samples of one event class: (unix time, milliseconds).",
                "LATEST",
                "    The latest and the worst sample of every event class.",
                "RESET [<event> ...]",
                "    Forgets the samples of the named event classes (all by default).",
                "HISTOGRAM [COMMAND ...]",
                "    Cumulative latency distributions of the named commands (all by default).",
                "HELP",
                "    This help.",
            ],
        );
    } else {
        return Err(unknown_subcommand("latency", sub));
    }
    Ok(())
}

fn unix_secs() -> u64 {
    crate::server::unix_micros() / 1_000_000
}

/// `LATENCY HISTOGRAM [command ...]`: per command (subcommands as `config|get`) with calls,
/// its calls and cumulative latency buckets; unknown names are skipped.
fn histogram(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    let mut slots: Vec<(String, Vec<u64>)> = Vec::new();
    let mut add = |name: String, counts: Vec<u64>| {
        if counts.iter().any(|&c| c > 0) && !slots.iter().any(|(n, _)| *n == name) {
            slots.push((name, counts));
        }
    };
    // Every command and implemented subcommand, in table order, with its histogram (as INFO
    // latencystats lists them).
    let all: Vec<(String, Vec<u64>)> = crate::info::stat_slots()
        .into_iter()
        .map(|(name, pick)| {
            let counts = crate::info::slot_histogram(ctx.shared, &pick);
            (name, counts)
        })
        .collect();
    if names.is_empty() {
        for (name, counts) in all {
            add(name, counts);
        }
    } else {
        // In the order asked; a container stands for all its subcommands; unknown names
        // are skipped, as Redis skips them.
        for n in names {
            for (name, counts) in &all {
                let container = name
                    .split_once('|')
                    .is_some_and(|(c, _)| n.eq_ignore_ascii_case(c.as_bytes()));
                if container || n.eq_ignore_ascii_case(name.as_bytes()) {
                    add(name.clone(), counts.clone());
                }
            }
        }
    }
    let proto = ctx.client.proto;
    write::map_len(ctx.out, proto, slots.len());
    for (name, counts) in slots {
        let calls: u64 = counts.iter().sum();
        let buckets = cumulative_buckets(&counts);
        write::bulk(ctx.out, name.as_bytes());
        write::map_len(ctx.out, proto, 2);
        write::bulk(ctx.out, b"calls");
        write::integer(ctx.out, calls as i64);
        write::bulk(ctx.out, b"histogram_usec");
        write::map_len(ctx.out, proto, buckets.len());
        for (label, cum) in buckets {
            write::integer(ctx.out, label as i64);
            write::integer(ctx.out, cum as i64);
        }
    }
    Ok(())
}

/// A text graph of an event class: one column per sample (oldest first), bars scaled to the
/// worst sample, with the milliseconds on top and the age below.
fn graph(event: &str, s: &EventSeries, now: u64) -> String {
    const ROWS: u64 = 8;
    let max = s
        .samples
        .iter()
        .map(|&(_, ms)| ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{event} - high {max} ms, low {} ms (all time high {} ms)",
        s.samples.iter().map(|&(_, ms)| ms).min().unwrap_or(0),
        s.max
    );
    out.push_str(&"-".repeat(s.samples.len().max(1)));
    out.push('\n');
    for row in (1..=ROWS).rev() {
        for &(_, ms) in &s.samples {
            out.push(if ms * ROWS >= row * max { '#' } else { ' ' });
        }
        out.push('\n');
    }
    out.push_str(&"-".repeat(s.samples.len().max(1)));
    out.push('\n');
    let oldest = s.samples.front().map_or(0, |&(t, _)| now.saturating_sub(t));
    let _ = writeln!(
        out,
        "{} samples, the oldest {oldest} s ago",
        s.samples.len()
    );
    out
}

/// `LATENCY DOCTOR`: what the monitor recorded, per event class, in plain words.
fn doctor(shared: &Shared) -> String {
    let threshold = shared
        .latency
        .threshold_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    if threshold == 0 {
        return "Latency monitoring is disabled: set latency-monitor-threshold to the \
                milliseconds an event must take to be recorded (CONFIG SET \
                latency-monitor-threshold <ms>), then ask again.\n"
            .to_owned();
    }
    let events = shared.latency.events();
    if events.is_empty() {
        return format!(
            "No event took {threshold} ms or more since the monitor was enabled or reset.\n"
        );
    }
    let mut out = format!("Events that took {threshold} ms or more:\n\n");
    for (name, s) in &events {
        let n = s.samples.len().max(1) as u64;
        let avg = s.samples.iter().map(|&(_, ms)| ms).sum::<u64>() / n;
        let _ = writeln!(
            out,
            "{name}: {} samples (at most one per second), average {avg} ms, worst {} ms.",
            s.samples.len(),
            s.max
        );
        let advice = match *name {
            "command" => {
                "  Slow commands: see SLOWLOG GET; O(N) commands on large values (KEYS, \
                 SMEMBERS, LRANGE 0 -1, ZUNIONSTORE ...) block their loop thread."
            }
            "fast-command" => {
                "  Commands of O(1) or O(log N) were slow: the machine may be overloaded or \
                 swapping, or the process was descheduled."
            }
            "expire-cycle" => {
                "  The active expiry cycle hit its budget: many keys expire at the same \
                 time; spreading their TTLs helps."
            }
            _ => "",
        };
        if !advice.is_empty() {
            out.push_str(advice);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_scales_bars_to_the_worst_sample() {
        let s = EventSeries {
            samples: [(100, 10), (101, 80), (102, 40)].into_iter().collect(),
            max: 90,
        };
        let g = graph("command", &s, 110);
        let lines: Vec<&str> = g.lines().collect();
        assert_eq!(
            lines[0],
            "command - high 80 ms, low 10 ms (all time high 90 ms)"
        );
        // The top row: only the 80 ms sample; the bottom row: all three.
        assert_eq!(lines[2], " # ");
        assert_eq!(lines[9], "###");
        assert_eq!(lines[11], "3 samples, the oldest 10 s ago");
    }
}
