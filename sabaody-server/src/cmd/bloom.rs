//! Bloom filter (`BF.*`) and Count-Min sketch (`CMS.*`) commands, with RedisBloom's names,
//! arguments, replies and error texts.
//!
//! The model is RedisBloom as shipped with Redis Stack 7.2 / Redis 8 (RESP3 replies:
//! booleans for BF.ADD/MADD/INSERT/EXISTS/MEXISTS, maps for BF.INFO and CMS.INFO; RESP2:
//! integers and flat name/value arrays). Where RedisBloom's behaviour is surprising it is
//! kept, and said so: options are found anywhere among BF.RESERVE's arguments, BF.EXISTS
//! answers 0 for a key of another type, sketch errors start with `CMS:` instead of `ERR`.
//! Sketch increments are non-negative (`CMS: Number cannot be negative`), as in RedisBloom 2.x.

use sabaody_core::{BloomConfig, BloomOps, CmsOps, Error, Keyspace};
use sabaody_resp::write;

use super::flag::{DENYOOM, FAST, READONLY, WRITE};
use super::{Args, CmdError, CommandSpec, Ctx, ks, parse_i64};
use bytes::Bytes;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    super::cmd!(
        "bf.reserve",
        -4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        bf_reserve,
        "module",
        "1.0.0",
        "Creates a new Bloom Filter"
    ),
    super::cmd!(
        "bf.add",
        3,
        WRITE | DENYOOM,
        1,
        1,
        1,
        bf_add,
        "module",
        "1.0.0",
        "Adds an item to a Bloom Filter"
    ),
    super::cmd!(
        "bf.madd",
        -3,
        WRITE | DENYOOM,
        1,
        1,
        1,
        bf_madd,
        "module",
        "1.0.0",
        "Adds one or more items to a Bloom Filter. A filter will be created if it does not exist"
    ),
    super::cmd!(
        "bf.insert",
        -4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        bf_insert,
        "module",
        "1.0.0",
        "Adds one or more items to a Bloom Filter. A filter will be created if it does not exist"
    ),
    super::cmd!(
        "bf.exists",
        3,
        READONLY | FAST,
        1,
        1,
        1,
        bf_exists,
        "module",
        "1.0.0",
        "Checks whether an item exists in a Bloom Filter"
    ),
    super::cmd!(
        "bf.mexists",
        -3,
        READONLY | FAST,
        1,
        1,
        1,
        bf_mexists,
        "module",
        "1.0.0",
        "Checks whether one or more items exist in a Bloom Filter"
    ),
    super::cmd!(
        "bf.info",
        -2,
        READONLY | FAST,
        1,
        1,
        1,
        bf_info,
        "module",
        "1.0.0",
        "Returns information about a Bloom Filter"
    ),
    super::cmd!(
        "bf.card",
        2,
        READONLY | FAST,
        1,
        1,
        1,
        bf_card,
        "module",
        "2.4.4",
        "Returns the cardinality of a Bloom filter"
    ),
    super::cmd!(
        "cms.initbydim",
        4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        cms_initbydim,
        "module",
        "2.0.0",
        "Initializes a Count-Min Sketch to dimensions specified by user"
    ),
    super::cmd!(
        "cms.initbyprob",
        4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        cms_initbyprob,
        "module",
        "2.0.0",
        "Initializes a Count-Min Sketch to accommodate requested tolerances."
    ),
    super::cmd!(
        "cms.incrby",
        -4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        cms_incrby,
        "module",
        "2.0.0",
        "Increases the count of one or more items by increment"
    ),
    super::cmd!(
        "cms.query",
        -3,
        READONLY,
        1,
        1,
        1,
        cms_query,
        "module",
        "2.0.0",
        "Returns the count for one or more items in a sketch"
    ),
    super::cmd!(
        "cms.merge",
        -4,
        WRITE | DENYOOM,
        1,
        1,
        1,
        cms_merge,
        "module",
        "2.0.0",
        "Merges several sketches into one sketch"
    ),
    super::cmd!(
        "cms.info",
        2,
        READONLY,
        1,
        1,
        1,
        cms_info,
        "module",
        "2.0.0",
        "Returns information about a sketch"
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

fn parse_f64(arg: &[u8]) -> Option<f64> {
    sabaody_core::num::parse_f64(arg)
}

/// RedisBloom's `RMUtil_ArgIndex`: the first argument equal to `word` (any case), searching
/// every argument, the key and the numbers included.
fn arg_index(argv: &[Bytes], word: &[u8]) -> Option<usize> {
    argv.iter().position(|a| is(a, word))
}

fn write_error_element(ctx: &mut Ctx<'_, '_>, e: &Error) {
    write::error(ctx.out, e.redis_text().as_bytes());
}

fn write_adds(ctx: &mut Ctx<'_, '_>, results: &[Result<bool, Error>]) {
    write::array_len(ctx.out, results.len());
    let proto = ctx.proto();
    for r in results {
        match r {
            Ok(b) => write::boolean(ctx.out, proto, *b),
            Err(e) => write_error_element(ctx, e),
        }
    }
}

/// ```text
/// BF.RESERVE key error_rate capacity [EXPANSION expansion] [NONSCALING]
/// ```
pub(crate) fn bf_reserve(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if args.remaining() + 1 > 7 {
        return Err(CmdError::WrongArity("bf.reserve"));
    }
    // Every argument after the name, the key and the numbers included: RedisBloom looks
    // for its options among all of them.
    let argv = args.rest();
    let (Some(key), Some(rate), Some(capacity)) = (argv.first(), argv.get(1), argv.get(2)) else {
        return Err(CmdError::WrongArity("bf.reserve"));
    };
    let error_rate = parse_f64(rate).ok_or(CmdError::msg("ERR bad error rate"))?;
    if !(error_rate > 0.0 && error_rate < 1.0) {
        return Err(Error::BloomErrorRateRange.into());
    }
    let capacity = parse_i64(capacity).ok_or(CmdError::msg("ERR bad capacity"))?;
    let capacity = u64::try_from(capacity)
        .ok()
        .filter(|c| (1..=BloomConfig::MAX_CAPACITY).contains(c))
        .ok_or(Error::BloomCapacityRange)?;
    let mut nonscaling = arg_index(argv, b"NONSCALING").is_some();
    let mut expansion = i64::from(BloomConfig::default().expansion);
    if let Some(at) = arg_index(argv, b"EXPANSION") {
        let value = argv.get(at + 1).ok_or(CmdError::msg("ERR no expansion"))?;
        expansion = parse_i64(value).ok_or(CmdError::msg("ERR bad expansion"))?;
        if expansion == 0 {
            nonscaling = true;
        } else if nonscaling {
            return Err(CmdError::msg("Nonscaling filters cannot expand"));
        }
        if !(0..=i64::from(BloomConfig::MAX_EXPANSION)).contains(&expansion) {
            return Err(Error::BloomExpansionRange.into());
        }
    }
    let config = BloomConfig {
        error_rate,
        capacity,
        expansion: if nonscaling { 0 } else { expansion as u32 },
    };
    ks!(ctx, k => k.bf_reserve(key, &config))?;
    ctx.ok();
    Ok(())
}

/// ```text
/// BF.ADD key item
/// ```
pub(crate) fn bf_add(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let item = args.next_bytes()?;
    let added = ks!(ctx, k => k.bf_add(key, item))?;
    write::boolean(ctx.out, ctx.client.proto, added);
    Ok(())
}

/// ```text
/// BF.MADD key item [item ...]
/// ```
pub(crate) fn bf_madd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let items = args.rest();
    let results = ks!(ctx, k => k.bf_madd(key, items))?;
    write_adds(ctx, &results);
    Ok(())
}

/// ```text
/// BF.INSERT key [CAPACITY capacity] [ERROR error] [EXPANSION expansion] [NOCREATE]
///     [NONSCALING] ITEMS item [item ...]
/// ```
pub(crate) fn bf_insert(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let mut config = BloomConfig::default();
    let mut nocreate = false;
    let mut nonscaling = false;
    let mut items: Option<&[Bytes]> = None;
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"ITEMS") {
            items = Some(args.rest());
            break;
        } else if is(opt, b"NOCREATE") {
            nocreate = true;
        } else if is(opt, b"NONSCALING") {
            nonscaling = true;
        } else if is(opt, b"CAPACITY") {
            let v = args
                .next_bytes()
                .map_err(|_| CmdError::WrongArity("bf.insert"))?;
            config.capacity = parse_i64(v)
                .and_then(|c| u64::try_from(c).ok())
                .filter(|c| (1..=BloomConfig::MAX_CAPACITY).contains(c))
                .ok_or(CmdError::msg("Bad capacity"))?;
        } else if is(opt, b"ERROR") {
            let v = args
                .next_bytes()
                .map_err(|_| CmdError::WrongArity("bf.insert"))?;
            config.error_rate = parse_f64(v)
                .filter(|p| *p > 0.0 && *p < 1.0)
                .ok_or(CmdError::msg("Bad error rate"))?;
        } else if is(opt, b"EXPANSION") {
            let v = args
                .next_bytes()
                .map_err(|_| CmdError::WrongArity("bf.insert"))?;
            config.expansion = parse_i64(v)
                .and_then(|e| u32::try_from(e).ok())
                .filter(|e| *e <= BloomConfig::MAX_EXPANSION)
                .ok_or(CmdError::msg("Bad expansion"))?;
        } else {
            return Err(CmdError::msg("Unknown argument received"));
        }
    }
    let items = match items {
        Some(i) if !i.is_empty() => i,
        _ => return Err(CmdError::WrongArity("bf.insert")),
    };
    if nonscaling {
        config.expansion = 0;
    }
    let config = (!nocreate).then_some(config);
    let results = ks!(ctx, k => k.bf_insert(key, items, config.as_ref()))?;
    write_adds(ctx, &results);
    Ok(())
}

/// ```text
/// BF.EXISTS key item
/// ```
/// A key of another type answers 0, as in RedisBloom.
pub(crate) fn bf_exists(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let item = args.next_bytes()?;
    let found = match ks!(ctx, k => k.bf_exists(key, item)) {
        Err(Error::WrongType) => false,
        other => other?,
    };
    write::boolean(ctx.out, ctx.client.proto, found);
    Ok(())
}

/// ```text
/// BF.MEXISTS key item [item ...]
/// ```
pub(crate) fn bf_mexists(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let items = args.rest();
    let found = match ks!(ctx, k => k.bf_mexists(key, items)) {
        Err(Error::WrongType) => vec![false; items.len()],
        other => other?,
    };
    let proto = ctx.proto();
    write::array_len(ctx.out, found.len());
    for f in found {
        write::boolean(ctx.out, proto, f);
    }
    Ok(())
}

/// ```text
/// BF.INFO key [CAPACITY | SIZE | FILTERS | ITEMS | EXPANSION]
/// ```
pub(crate) fn bf_info(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if args.remaining() > 2 {
        return Err(CmdError::WrongArity("bf.info"));
    }
    let key = args.next_bytes()?;
    let info = ks!(ctx, k => k.bf_info(key))?.ok_or(Error::BloomNotFound)?;
    let proto = ctx.proto();
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let fields: [(&str, Option<i64>); 5] = [
        ("Capacity", Some(as_i64(info.capacity))),
        ("Size", Some(as_i64(info.size))),
        ("Number of filters", Some(as_i64(info.filters))),
        ("Number of items inserted", Some(as_i64(info.items))),
        ("Expansion rate", info.expansion.map(i64::from)),
    ];
    let write_value = |out: &mut bytes::BytesMut, v: Option<i64>| match v {
        Some(n) => write::integer(out, n),
        None => write::null(out, proto),
    };
    if let Some(field) = args.peek() {
        let names: [&[u8]; 5] = [b"CAPACITY", b"SIZE", b"FILTERS", b"ITEMS", b"EXPANSION"];
        let i = names
            .iter()
            .position(|n| is(field, n))
            .ok_or(CmdError::msg("Invalid information value"))?;
        // RedisBloom answers one field as an array of one.
        write::array_len(ctx.out, 1);
        write_value(ctx.out, fields.get(i).and_then(|f| f.1));
        return Ok(());
    }
    write::map_len(ctx.out, proto, fields.len());
    for (name, value) in fields {
        write::simple(ctx.out, name.as_bytes());
        write_value(ctx.out, value);
    }
    Ok(())
}

/// ```text
/// BF.CARD key
/// ```
pub(crate) fn bf_card(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let n = ks!(ctx, k => k.bf_card(key))?;
    write::integer(ctx.out, i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

/// RedisBloom checks that a sketch's key is free before it reads the dimensions.
fn cms_key_free(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(), CmdError> {
    if ks!(ctx, k => k.exists(&[key])) > 0 {
        return Err(Error::CmsKeyExists.into());
    }
    Ok(())
}

/// ```text
/// CMS.INITBYDIM key width depth
/// ```
pub(crate) fn cms_initbydim(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    cms_key_free(ctx, key)?;
    let dim = |v: &[u8]| {
        parse_i64(v)
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n >= 1)
    };
    let width = dim(args.next_bytes()?).ok_or(Error::CmsInvalidWidth)?;
    let depth = dim(args.next_bytes()?).ok_or(Error::CmsInvalidDepth)?;
    ks!(ctx, k => k.cms_init_by_dim(key, width, depth))?;
    ctx.ok();
    Ok(())
}

/// ```text
/// CMS.INITBYPROB key error probability
/// ```
pub(crate) fn cms_initbyprob(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    cms_key_free(ctx, key)?;
    let error = parse_f64(args.next_bytes()?)
        .filter(|e| *e > 0.0 && *e < 1.0)
        .ok_or(Error::CmsInvalidError)?;
    let prob = parse_f64(args.next_bytes()?)
        .filter(|p| *p > 0.0 && *p < 1.0)
        .ok_or(Error::CmsInvalidProb)?;
    ks!(ctx, k => k.cms_init_by_prob(key, error, prob))?;
    ctx.ok();
    Ok(())
}

/// ```text
/// CMS.INCRBY key item increment [item increment ...]
/// ```
pub(crate) fn cms_incrby(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let rest = args.rest();
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("cms.incrby"));
    }
    let parsed: Result<Vec<(&[u8], u64)>, CmdError> = rest
        .chunks_exact(2)
        .map(|pair| {
            let n = parse_i64(&pair[1]).ok_or(CmdError::msg("CMS: Cannot parse number"))?;
            let n =
                u64::try_from(n).map_err(|_| CmdError::msg("CMS: Number cannot be negative"))?;
            Ok((&pair[0][..], n))
        })
        .collect();
    let pairs = match parsed {
        Ok(p) => p,
        Err(e) => {
            // RedisBloom looks the key up before it reads the increments.
            ks!(ctx, k => k.cms_info(key))?;
            return Err(e);
        }
    };
    let results = ks!(ctx, k => k.cms_incrby(key, &pairs))?;
    write::array_len(ctx.out, results.len());
    for r in results {
        match r {
            Ok(n) => write::integer(ctx.out, i64::try_from(n).unwrap_or(i64::MAX)),
            Err(e) => write_error_element(ctx, &e),
        }
    }
    Ok(())
}

/// ```text
/// CMS.QUERY key item [item ...]
/// ```
pub(crate) fn cms_query(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let items = args.rest();
    let counts = ks!(ctx, k => k.cms_query(key, items))?;
    write::array_len(ctx.out, counts.len());
    for n in counts {
        write::integer(ctx.out, i64::try_from(n).unwrap_or(i64::MAX));
    }
    Ok(())
}

/// ```text
/// CMS.MERGE destination numKeys source [source ...] [WEIGHTS weight [weight ...]]
/// ```
pub(crate) fn cms_merge(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let dest = args.next_bytes()?;
    // The destination must exist before anything else is read.
    ks!(ctx, k => k.cms_info(dest))?;
    let numkeys = parse_i64(args.next_bytes()?).ok_or(CmdError::msg("CMS: invalid numkeys"))?;
    if numkeys <= 0 {
        return Err(CmdError::msg("CMS: Number of keys must be positive"));
    }
    let rest = args.rest();
    let n = usize::try_from(numkeys).unwrap_or(usize::MAX);
    let (sources, weights) = match arg_index(rest, b"WEIGHTS") {
        None => {
            if n != rest.len() {
                return Err(CmdError::msg("CMS: wrong number of keys"));
            }
            (rest, None)
        }
        Some(at) => {
            if at != n || rest.len() != n.saturating_mul(2).saturating_add(1) {
                return Err(Error::CmsWrongKeyCount.into());
            }
            let weights: Vec<i64> = rest
                .get(n + 1..)
                .unwrap_or(&[])
                .iter()
                .map(|w| parse_i64(w).ok_or(CmdError::msg("CMS: invalid weight value")))
                .collect::<Result<_, _>>()?;
            (rest.get(..n).unwrap_or(&[]), Some(weights))
        }
    };
    ks!(ctx, k => k.cms_merge(dest, sources, weights.as_deref()))?;
    ctx.ok();
    Ok(())
}

/// ```text
/// CMS.INFO key
/// ```
pub(crate) fn cms_info(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let info = ks!(ctx, k => k.cms_info(key))?;
    let proto = ctx.proto();
    write::map_len(ctx.out, proto, 3);
    for (name, v) in [
        ("width", info.width),
        ("depth", info.depth),
        ("count", info.count),
    ] {
        write::simple(ctx.out, name.as_bytes());
        write::integer(ctx.out, i64::try_from(v).unwrap_or(i64::MAX));
    }
    Ok(())
}
