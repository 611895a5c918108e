//! Generic key commands: DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY KEYS SCAN RANDOMKEY
//! DBSIZE FLUSHDB FLUSHALL, and the TTL family EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL
//! EXPIRETIME PEXPIRETIME PERSIST.

use bytes::Bytes;
use sabaody_core::{CopyOptions, ExpireCondition, KeyType, Keyspace, ScanOptions};
use sabaody_resp::write;

use super::{Args, CmdError, Ctx, help, ks, parse_i64, unknown_subcommand};
use crate::notify::class;

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// ```text
/// DEL key [key ...]
/// UNLINK key [key ...]
/// ```
pub(crate) fn del(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    // Which keys go (for their `del` events and client-side caching invalidations) is read
    // just before the atomic delete.
    let tracking = ctx.shared.tracking.active();
    let present: Vec<&[u8]> = if ctx.notifying(class::GENERIC) || tracking {
        let mut seen = hashbrown::HashSet::new();
        keys.iter()
            .map(|key| &key[..])
            .filter(|key| seen.insert(*key) && ks!(ctx, k => k.contains_key(key)))
            .collect()
    } else {
        Vec::new()
    };
    let n = ks!(ctx, k => k.del(keys));
    for key in &present {
        ctx.notify(class::GENERIC, "del", key);
    }
    if tracking {
        // Only the keys deleted (the dispatcher leaves DEL and UNLINK to this).
        let writer = Some(ctx.client.id);
        ctx.shared
            .tracking
            .invalidate(ctx.shared, writer, present.into_iter());
    }
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// EXISTS key [key ...]
/// ```
pub(crate) fn exists(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let n = ks!(ctx, k => k.exists(keys));
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// TOUCH key [key ...]
/// ```
/// Records an access to each existing key (LRU time / LFU counter); counts them (repeats
/// included).
pub(crate) fn touch(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let keys = args.rest();
    let n = ks!(ctx, k => k.touch(keys));
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// TYPE key
/// ```
pub(crate) fn type_(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let t = ks!(ctx, k => k.key_type(key));
    write::simple(ctx.out, t.map_or("none", KeyType::as_str).as_bytes());
    Ok(())
}

/// ```text
/// RENAME key newkey
/// ```
pub(crate) fn rename(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    ks!(ctx, k => k.rename(src, dst))?;
    if src != dst {
        ctx.notify(class::GENERIC, "rename_from", src);
        ctx.notify(class::GENERIC, "rename_to", dst);
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// RENAMENX key newkey
/// ```
pub(crate) fn renamenx(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let done = ks!(ctx, k => k.renamenx(src, dst))?;
    if done {
        ctx.notify(class::GENERIC, "rename_from", src);
        ctx.notify(class::GENERIC, "rename_to", dst);
    }
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// ```text
/// COPY source destination [DB destination-db] [REPLACE]
/// ```
pub(crate) fn copy(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let src = args.next_bytes()?;
    let dst = args.next_bytes()?;
    let mut opts = CopyOptions::default();
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"REPLACE") {
            opts.replace = true;
        } else if is(opt, b"DB") && args.remaining() > 0 {
            let db = args.next_int()?;
            let db =
                usize::try_from(db).map_err(|_| CmdError::msg("ERR DB index is out of range"))?;
            opts.db = Some(db);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let done = ks!(ctx, k => k.copy(src, dst, &opts))?;
    if done {
        ctx.notify_db(
            class::GENERIC,
            "copy_to",
            dst,
            opts.db.unwrap_or(ctx.client.db),
        );
    }
    if let Some(db) = opts.db.filter(|&d| done && d != ctx.client.db) {
        // The command's own key marks cover the client's database only.
        key_written_in(ctx, db, dst);
    }
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// ```text
/// KEYS pattern
/// ```
pub(crate) fn keys(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let pattern = args.next_bytes()?;
    let found = ks!(ctx, k => k.keys(pattern));
    write::array_len(ctx.out, found.len());
    for key in found {
        write::bulk(ctx.out, &key);
    }
    Ok(())
}

/// ```text
/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
/// ```
pub(crate) fn scan(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let cursor_arg = args.next_bytes()?;
    let cursor = std::str::from_utf8(cursor_arg)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let mut opts = ScanOptions::default();
    // An unknown TYPE name matches nothing, as in Redis.
    let mut match_nothing = false;
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if args.remaining() == 0 {
            return Err(CmdError::Syntax);
        }
        if is(opt, b"MATCH") {
            opts.pattern = Some(args.next_bytes()?.to_vec());
        } else if is(opt, b"COUNT") {
            let n = args.next_int()?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(opt, b"TYPE") {
            let name = args.next_bytes()?;
            match KeyType::from_name(name) {
                Some(t) => opts.key_type = Some(t),
                None => match_nothing = true,
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (next, mut found) = ks!(ctx, k => k.scan(cursor, &opts));
    if match_nothing {
        found.clear();
    }
    write::array_len(ctx.out, 2);
    let mut buf = itoa_u64(next);
    write::bulk(ctx.out, buf.as_bytes());
    buf.clear();
    write::array_len(ctx.out, found.len());
    for key in found {
        write::bulk(ctx.out, &key);
    }
    Ok(())
}

fn itoa_u64(n: u64) -> String {
    n.to_string()
}

/// ```text
/// RANDOMKEY
/// ```
pub(crate) fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    match ks!(ctx, k => k.random_key()) {
        Some(key) => write::bulk(ctx.out, &key),
        None => ctx.null(),
    }
    Ok(())
}

/// ```text
/// DBSIZE
/// ```
pub(crate) fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let n = ks!(ctx, k => k.dbsize());
    write::integer(ctx.out, n as i64);
    Ok(())
}

fn flush_mode(args: &mut Args<'_>) -> Result<(), CmdError> {
    if let Some(opt) = args.peek() {
        if !(is(opt, b"ASYNC") || is(opt, b"SYNC")) || args.remaining() > 1 {
            return Err(CmdError::Syntax);
        }
        args.next_bytes()?;
    }
    Ok(())
}

/// Whether `key` exists in database `db`, through the transaction when inside EXEC.
fn exists_in(ctx: &Ctx<'_, '_>, db: usize, key: &[u8]) -> bool {
    match ctx.tx {
        Some(tx) => {
            let found = tx.select(db).is_ok() && tx.exists(&[key]) > 0;
            let _ = tx.select(ctx.client.db);
            found
        }
        None => ctx.shared.dbs.get(db).is_some_and(|c| c.exists(&[key]) > 0),
    }
}

/// Marks the WATCHers of keys about to be flushed (only keys that exist, as Redis).
pub(crate) fn touch_watched(ctx: &Ctx<'_, '_>, db: Option<usize>) {
    let watched = ctx.shared.watches.watched_in(|d| db.is_none_or(|x| x == d));
    for (d, key) in watched {
        if exists_in(ctx, d, &key) {
            ctx.shared.watches.touch_key(d, &key);
        }
    }
}

/// ```text
/// FLUSHDB [ASYNC | SYNC]
/// ```
pub(crate) fn flushdb(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    flush_mode(args)?;
    touch_watched(ctx, Some(ctx.client.db));
    ks!(ctx, k => k.flush());
    ctx.shared.tracking.flushed(ctx.shared);
    ctx.ok();
    Ok(())
}

/// ```text
/// FLUSHALL [ASYNC | SYNC]
/// ```
pub(crate) fn flushall(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    flush_mode(args)?;
    touch_watched(ctx, None);
    ks!(ctx, k => k.flush_all());
    ctx.shared.tracking.flushed(ctx.shared);
    // Client id 0 is the AOF replay's: no save while loading.
    if ctx.client.id != 0 {
        crate::persist::after_flushall(ctx.shared, ctx.tx.is_some());
    }
    ctx.ok();
    Ok(())
}

/// The EXPIRE flags. `XX LT` needs both checks (a TTL must exist, and the new one must be
/// lower), which one `ExpireCondition` cannot say: the second field asks the caller to check
/// for an existing TTL first. (`XX GT` is `GT`: a key without TTL counts as infinite.)
fn expire_condition(args: &mut Args<'_>) -> Result<(ExpireCondition, bool), CmdError> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"NX") {
            nx = true;
        } else if is(opt, b"XX") {
            xx = true;
        } else if is(opt, b"GT") {
            gt = true;
        } else if is(opt, b"LT") {
            lt = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(if nx {
        (ExpireCondition::Nx, false)
    } else if gt {
        (ExpireCondition::Gt, false)
    } else if lt {
        (ExpireCondition::Lt, xx)
    } else if xx {
        (ExpireCondition::Xx, false)
    } else {
        (ExpireCondition::Always, false)
    })
}

macro_rules! expire_cmd {
    ($name:ident, $method:ident, $doc:literal) => {
        #[doc = concat!("```text\n", $doc, "\n```")]
        pub(crate) fn $name(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
            let key = args.next_bytes()?;
            let when = args.next_int()?;
            let (cond, needs_ttl) = expire_condition(args)?;
            let done = ks!(ctx, k => {
                if needs_ttl && k.pttl(key) < 0 {
                    false
                } else {
                    k.$method(key, when, cond)?
                }
            });
            if done {
                ctx.notify_expiry_set(key);
            }
            // Logged as PEXPIREAT with the absolute time (DEL if it was past).
            if done {
                ctx.propagate_expiry(key, &[]);
            } else {
                ctx.propagate_nothing();
            }
            write::integer(ctx.out, i64::from(done));
            Ok(())
        }
    };
}

expire_cmd!(expire, expire, "EXPIRE key seconds [NX | XX | GT | LT]");
expire_cmd!(
    pexpire,
    pexpire,
    "PEXPIRE key milliseconds [NX | XX | GT | LT]"
);
expire_cmd!(
    expireat,
    expire_at,
    "EXPIREAT key unix-time-seconds [NX | XX | GT | LT]"
);
expire_cmd!(
    pexpireat,
    pexpire_at,
    "PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]"
);

macro_rules! ttl_cmd {
    ($name:ident, $method:ident, $doc:literal) => {
        #[doc = concat!("```text\n", $doc, "\n```")]
        pub(crate) fn $name(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
            let key = args.next_bytes()?;
            let v = ks!(ctx, k => k.$method(key));
            write::integer(ctx.out, v);
            Ok(())
        }
    };
}

ttl_cmd!(ttl, ttl, "TTL key");
ttl_cmd!(pttl, pttl, "PTTL key");
ttl_cmd!(expiretime, expire_time, "EXPIRETIME key");
ttl_cmd!(pexpiretime, pexpire_time, "PEXPIRETIME key");

/// ```text
/// PERSIST key
/// ```
pub(crate) fn persist(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let done = ks!(ctx, k => k.persist(key));
    if done {
        ctx.notify(class::GENERIC, "persist", key);
    }
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// ```text
/// MOVE key db
/// ```
pub(crate) fn move_(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let db = args.next_int()?;
    let db = usize::try_from(db).map_err(|_| CmdError::msg("ERR DB index is out of range"))?;
    let moved = ks!(ctx, k => k.move_key(key, db))?;
    if moved {
        key_written_in(ctx, db, key);
        ctx.notify(class::GENERIC, "move_from", key);
        ctx.notify_db(class::GENERIC, "move_to", key, db);
    }
    write::integer(ctx.out, i64::from(moved));
    Ok(())
}

/// ```text
/// SWAPDB index1 index2
/// ```
pub(crate) fn swapdb(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let a =
        parse_i64(args.next_bytes()?).ok_or_else(|| CmdError::msg("ERR invalid first DB index"))?;
    let b = parse_i64(args.next_bytes()?)
        .ok_or_else(|| CmdError::msg("ERR invalid second DB index"))?;
    let n = ctx.shared.dbs.len();
    let idx = |v: i64| {
        usize::try_from(v)
            .ok()
            .filter(|&i| i < n)
            .ok_or_else(|| CmdError::msg("ERR DB index is out of range"))
    };
    let (a, b) = (idx(a)?, idx(b)?);
    // Watched keys of either database that exist in either change meaning.
    touch_watched_in(ctx, &[a, b]);
    ks!(ctx, k => k.swap_db(a, b))?;
    ctx.shared.blocking.signal_dbs(&[a, b]);
    ctx.ok();
    Ok(())
}

/// A key written in database `db` other than the client's (MOVE, COPY ... DB): its watchers
/// are marked and clients blocked on it there may be served.
fn key_written_in(ctx: &Ctx<'_, '_>, db: usize, key: &[u8]) {
    let key = Bytes::copy_from_slice(key);
    ctx.shared.watches.touch_key(db, &key);
    ctx.shared.blocking.signal(db, std::iter::once(&key));
}

/// Marks the watchers of keys of the databases `dbs` when the key exists in any of them.
fn touch_watched_in(ctx: &Ctx<'_, '_>, dbs: &[usize]) {
    let watched = ctx.shared.watches.watched_in(|d| dbs.contains(&d));
    for (d, key) in watched {
        if dbs.iter().any(|&x| exists_in(ctx, x, &key)) {
            ctx.shared.watches.touch_key(d, &key);
        }
    }
}

/// ```text
/// OBJECT ENCODING key | OBJECT REFCOUNT key | OBJECT IDLETIME key | OBJECT FREQ key |
/// OBJECT HELP
/// ```
pub(crate) fn object(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    if is(sub, b"HELP") {
        help(
            ctx,
            &[
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access logarithmic access frequency counter of a <key>.",
                "IDLETIME <key>",
                "    Return the idle time of a <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.",
            ],
        );
        return Ok(());
    }
    let name = if is(sub, b"ENCODING") {
        "object|encoding"
    } else if is(sub, b"REFCOUNT") {
        "object|refcount"
    } else if is(sub, b"IDLETIME") {
        "object|idletime"
    } else if is(sub, b"FREQ") {
        "object|freq"
    } else {
        return Err(unknown_subcommand("object", sub));
    };
    if args.remaining() != 1 {
        return Err(CmdError::WrongArity(name));
    }
    let key = args.next_bytes()?;
    let Some(encoding) = ks!(ctx, k => k.object_encoding(key)) else {
        ctx.null();
        return Ok(());
    };
    match name {
        "object|encoding" => write::bulk(ctx.out, encoding.as_bytes()),
        "object|refcount" => write::integer(ctx.out, 1),
        "object|idletime" => {
            let idle = ks!(ctx, k => k.object_idletime(key))?;
            write::integer(ctx.out, idle.map_or(0, |s| s as i64));
        }
        _ => {
            let freq = ks!(ctx, k => k.object_freq(key))?;
            write::integer(ctx.out, freq.map_or(0, i64::from));
        }
    }
    Ok(())
}

/// `MEMORY DOCTOR`: the figures that matter (accounted data, peak, RSS, the bound) and what
/// they suggest, in our own words.
fn memory_doctor(ctx: &Ctx<'_, '_>) -> String {
    let cache = &ctx.shared.dbs[0];
    let used = cache.used_memory() as u64;
    let peak = (cache.peak_memory() as u64).max(used);
    let rss = crate::info::rss_bytes();
    let max = ctx.shared.config.read().maxmemory;
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut out = format!(
        "Data {:.1} MiB (peak {:.1} MiB), process RSS {:.1} MiB",
        mb(used),
        mb(peak),
        mb(rss)
    );
    if max > 0 {
        out.push_str(&format!(", maxmemory {:.1} MiB", mb(max)));
    }
    out.push_str(".\n");
    if used < 5 << 20 {
        out.push_str("Too little data for a diagnosis.\n");
        return out;
    }
    let mut fine = true;
    // The process's own footprint (code, stacks, buffers) is a few MiB: not counted.
    if rss as f64 > used as f64 * 1.5 + (16u64 << 20) as f64 {
        fine = false;
        out.push_str(&format!(
            "RSS is {:.2}x the data: memory freed by deletions or evictions is still held by \
             the allocator; MEMORY PURGE gives its free pages back now (the server also does \
             so once a second while RSS is well above the data).\n",
            rss as f64 / used as f64
        ));
    }
    if peak as f64 > used as f64 * 1.5 {
        fine = false;
        out.push_str(&format!(
            "The peak was {:.2}x today's data: a burst of writes or large values came and \
             went; RSS may keep some of it.\n",
            peak as f64 / used as f64
        ));
    }
    if max > 0 && used as f64 > max as f64 * 0.95 {
        fine = false;
        out.push_str(
            "The data is at the maxmemory bound: keys are being evicted (or, with \
             noeviction, writes refused); see evicted_keys in INFO stats.\n",
        );
    }
    if fine {
        out.push_str("Nothing to report.\n");
    }
    out
}

/// ```text
/// MEMORY USAGE key [SAMPLES count] | MEMORY DOCTOR | MEMORY MALLOC-STATS | MEMORY PURGE |
/// MEMORY HELP
/// ```
pub(crate) fn memory(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    if is(sub, b"USAGE") {
        if args.remaining() == 0 {
            return Err(CmdError::WrongArity("memory|usage"));
        }
        let key = args.next_bytes()?;
        while let Some(opt) = args.peek() {
            args.next_bytes()?;
            if is(opt, b"SAMPLES") && args.remaining() > 0 {
                args.next_int()?;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        match ks!(ctx, k => k.memory_usage(key)) {
            Some(n) => write::integer(ctx.out, n as i64),
            None => ctx.null(),
        }
    } else if is(sub, b"PURGE") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("memory|purge"));
        }
        crate::alloc::purge();
        ctx.ok();
    } else if is(sub, b"MALLOC-STATS") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("memory|malloc-stats"));
        }
        let text = match crate::alloc::heap_info() {
            Some([arena, used, free, mmapped, blocks, chunks]) => format!(
                "glibc malloc (mallinfo2): heap {arena} bytes from the system, {used} in use, \
                 {free} free in {chunks} chunks; {mmapped} bytes in {blocks} mmapped blocks\n"
            ),
            None => "Stats not supported for the current allocator".to_owned(),
        };
        write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
    } else if is(sub, b"DOCTOR") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("memory|doctor"));
        }
        let text = memory_doctor(ctx);
        write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
    } else if is(sub, b"HELP") {
        help(
            ctx,
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    A report on the memory use and what may be wrong with it.",
                "MALLOC-STATS",
                "    The allocator's own figures.",
                "PURGE",
                "    Gives the allocator's free pages back to the operating system.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value.",
                "HELP",
                "    Print this help.",
            ],
        );
    } else {
        return Err(unknown_subcommand("memory", sub));
    }
    Ok(())
}
