//! DUMP and RESTORE: a value serialized in the RDB encoding, and a key made from one.
//!
//! The payload (type byte, value, RDB version, CRC64) is built and read by the core's RDB
//! code (`sabaody_core::rdb::{dump, decode_payload, restore}`), the same writer and parser
//! as SAVE and the loaders. RESTORE follows Redis 7.0's `restoreCommand`: options first
//! (syntax, IDLETIME/FREQ errors), then `BUSYKEY`, the TTL, the payload's footer, its value;
//! a TTL already past stores nothing. It is logged to the AOF as Redis propagates it: a
//! relative TTL as the absolute time plus `ABSTTL` (so a restart keeps the deadline), `DEL`
//! when REPLACE met a time already past, nothing when nothing changed. The AOF loader
//! replays it through this same handler (the command base of a rewrite holds RESTOREs of
//! Bloom filters and Count-Min sketches).

use bytes::Bytes;
use sabaody_core::rdb::{self, RestoreOptions, Restored};
use sabaody_resp::write;

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks, parse_i64};
use crate::notify::class;

/// The DUMP and RESTORE commands (Redis's `generic` group).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "dump",
        2,
        READONLY,
        1,
        1,
        1,
        dump,
        "generic",
        "2.6.0",
        "Return a serialized version of the value stored at the specified key."
    ),
    cmd!(
        "restore",
        -4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        restore,
        "generic",
        "2.6.0",
        "Create a key using the provided serialized value, previously obtained using DUMP."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// ```text
/// DUMP key
/// ```
/// The payload as a bulk string; nil for a missing key. Strings and packed blobs are
/// LZF-compressed under `rdbcompression yes`, as Redis does.
pub(crate) fn dump(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let compression = ctx.shared.config.read().rdbcompression;
    match ks!(ctx, k => rdb::dump(k, key, compression)) {
        Some(p) => write::bulk(ctx.out, &p),
        None => ctx.null(),
    }
    Ok(())
}

/// ```text
/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
/// ```
pub(crate) fn restore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let ttl_arg = args.next_bytes()?;
    let payload = args.next_bytes()?;
    let mut opts = RestoreOptions::default();
    // As Redis: IDLETIME and FREQ exclude each other (the second one given is a syntax
    // error), and a word without its value is one too.
    while let Some(a) = args.peek() {
        args.next_bytes()?;
        let more = args.remaining() >= 1;
        if is(a, b"replace") {
            opts.replace = true;
        } else if is(a, b"absttl") {
            opts.absolute = true;
        } else if is(a, b"idletime") && more && opts.freq.is_none() {
            let v = args.next_int()?;
            let v = u64::try_from(v)
                .map_err(|_| CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"))?;
            opts.idle_secs = Some(v);
        } else if is(a, b"freq") && more && opts.idle_secs.is_none() {
            let v = args.next_int()?;
            let v = u8::try_from(v)
                .map_err(|_| CmdError::msg("ERR Invalid FREQ value, must be >= 0 and <= 255"))?;
            opts.freq = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if !opts.replace && ks!(ctx, k => rdb::exists_for_write(k, key)) {
        return Err(busy());
    }
    let ttl = parse_i64(ttl_arg).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    opts.ttl_ms = ttl;
    let value = rdb::decode_payload(payload).map_err(|e| CmdError::msg(e.redis_text()))?;
    match ks!(ctx, k => rdb::restore(k, key, value, &opts))? {
        Restored::Busy => return Err(busy()),
        Restored::Expired { deleted: true } => {
            ctx.notify(class::GENERIC, "del", key);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        Restored::Expired { deleted: false } => ctx.propagate_nothing(),
        Restored::Stored { expire_at_ms } => {
            ctx.notify(class::GENERIC, "restore", key);
            if let Some(at) = expire_at_ms.filter(|_| !opts.absolute) {
                // The deadline as an absolute time, so a replay keeps it (Redis's rewrite
                // of the arguments: the TTL replaced, ABSTTL appended).
                let mut argv: Vec<Bytes> = Vec::with_capacity(args.remaining() + 8);
                argv.push(Bytes::from_static(b"RESTORE"));
                argv.push(key.clone());
                argv.push(Bytes::from(at.to_string()));
                argv.push(payload.clone());
                argv.extend(args.argv.iter().skip(4).cloned());
                argv.push(Bytes::from_static(b"ABSTTL"));
                ctx.propagate(argv);
            }
        }
    }
    ctx.ok();
    Ok(())
}

fn busy() -> CmdError {
    CmdError::msg("BUSYKEY Target key name already exists.")
}
