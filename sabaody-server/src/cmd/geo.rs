//! Geospatial commands: GEOADD GEOPOS GEODIST GEOHASH GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//!
//! A geo key is a sorted set (see `sabaody_core::GeoOps`). Replies follow Redis 7.0:
//! coordinates are printed like `%.17Lf` with trailing zeros removed (a bulk string in RESP2,
//! a double in RESP3), distances as `%.4f` bulk strings in both protocols, WITHHASH scores as
//! integers. Errors come in the order Redis reports them: the key's type first, then the
//! arguments left to right (a FROMMEMBER / BYMEMBER member that is not in an existing set
//! where its argument stands), then the cross-option checks.

use bytes::{Bytes, BytesMut};
use sabaody_core::{
    Coord, GeoAddOptions, GeoCount, GeoFound, GeoFrom, GeoMatch, GeoOps, GeoSearch, GeoShape,
    GeoSort, GeoUnit, ZSetOps,
};
use sabaody_resp::{Protocol, write};

use super::flag::*;
use super::{Args, CmdError, CommandSpec, Ctx, cmd, ks, parse_i64};
use crate::notify::class;

const W: u32 = WRITE;
const R: u32 = READONLY;

/// The family's commands (see [`super::FAMILIES`]).
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "geoadd",
        -5,
        W | DENYOOM,
        1,
        1,
        1,
        geoadd,
        "geo",
        "3.2.0",
        "Add one or more geospatial items in the geospatial index represented using a sorted set"
    ),
    cmd!(
        "geopos",
        -2,
        R,
        1,
        1,
        1,
        geopos,
        "geo",
        "3.2.0",
        "Returns longitude and latitude of members of a geospatial index"
    ),
    cmd!(
        "geodist",
        -4,
        R,
        1,
        1,
        1,
        geodist,
        "geo",
        "3.2.0",
        "Returns the distance between two members of a geospatial index"
    ),
    cmd!(
        "geohash",
        -2,
        R,
        1,
        1,
        1,
        geohash,
        "geo",
        "3.2.0",
        "Returns members of a geospatial index as standard geohash strings"
    ),
    cmd!(
        "georadius",
        -6,
        W | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        georadius,
        "geo",
        "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"
    ),
    cmd!(
        "georadiusbymember",
        -5,
        W | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        georadiusbymember,
        "geo",
        "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"
    ),
    cmd!(
        "georadius_ro",
        -6,
        R,
        1,
        1,
        1,
        georadius_ro,
        "geo",
        "3.2.10",
        "A read-only variant for GEORADIUS"
    ),
    cmd!(
        "georadiusbymember_ro",
        -5,
        R,
        1,
        1,
        1,
        georadiusbymember_ro,
        "geo",
        "3.2.10",
        "A read-only variant for GEORADIUSBYMEMBER"
    ),
    cmd!(
        "geosearch",
        -7,
        R,
        1,
        1,
        1,
        geosearch,
        "geo",
        "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."
    ),
    cmd!(
        "geosearchstore",
        -8,
        W | DENYOOM,
        1,
        2,
        1,
        geosearchstore,
        "geo",
        "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."
    ),
];

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// A float argument as Redis's `getDoubleFromObject` reads it.
fn parse_double(arg: &[u8]) -> Option<f64> {
    if let Some(i) = parse_i64(arg)
        && i.unsigned_abs() < 1 << 53
    {
        return Some(i as f64);
    }
    // Plain decimals (`13.361389`, `-0.5`, `1.`): Rust's parser rounds correctly, as strtod
    // does, and accepts exactly the texts strtod consumes whole; anything else (exponents,
    // `inf`, hex, spaces) takes the full strtod emulation.
    if arg.len() <= 64
        && arg.iter().any(u8::is_ascii_digit)
        && arg
            .iter()
            .all(|&c| c.is_ascii_digit() || c == b'.' || c == b'-' || c == b'+')
    {
        return std::str::from_utf8(arg).ok()?.parse().ok();
    }
    sabaody_core::num::parse_f64(arg)
}

fn float_arg(arg: &[u8], err: &'static str) -> Result<f64, CmdError> {
    parse_double(arg).ok_or_else(|| {
        if err.is_empty() {
            CmdError::NotFloat
        } else {
            CmdError::msg(err)
        }
    })
}

/// Two arguments `lon lat`: both parsed, then checked against the limits.
fn lonlat(lon: &[u8], lat: &[u8]) -> Result<Coord, CmdError> {
    let x = float_arg(lon, "")?;
    let y = float_arg(lat, "")?;
    Coord::new(x, y).map_err(|e| CmdError::msg(format!("ERR {e}")))
}

fn unit(arg: &[u8]) -> Result<GeoUnit, CmdError> {
    GeoUnit::parse(arg)
        .ok_or_else(|| CmdError::msg("ERR unsupported unit provided. please use M, KM, FT, MI"))
}

/// `radius unit`.
fn radius(r: &[u8], u: &[u8]) -> Result<(GeoShape, GeoUnit), CmdError> {
    let d = float_arg(r, "ERR need numeric radius")?;
    if d < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok((GeoShape::Radius(d), unit(u)?))
}

/// `width height unit`.
fn rect(w: &[u8], h: &[u8], u: &[u8]) -> Result<(GeoShape, GeoUnit), CmdError> {
    let width = float_arg(w, "ERR need numeric width")?;
    let height = float_arg(h, "ERR need numeric height")?;
    if height < 0.0 || width < 0.0 {
        return Err(CmdError::msg("ERR height or width cannot be negative"));
    }
    Ok((GeoShape::Box { width, height }, unit(u)?))
}

/// `x` with exactly `digits` decimals, rounded half to even on the exact binary value, as
/// glibc's `printf("%.*f")` does; `false` (nothing written) when `x` is outside the range
/// the fixed-point path covers (then the caller formats with `format!`, which rounds the
/// same way but takes a slower exact-digit path for many digits).
fn push_fixed(buf: &mut Vec<u8>, x: f64, digits: u32) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as u32;
    // Normal numbers whose value is M / 2^s with 1 <= s < 128 (the fraction times 10^digits
    // must also fit in u128: checked below).
    let Some(s) = 1075u32.checked_sub(biased) else {
        return false;
    };
    let pow = 10u128.pow(digits);
    if biased == 0 || s == 0 || s >= 128 {
        return false;
    }
    let m = u128::from((bits & ((1u64 << 52) - 1)) | (1u64 << 52));
    let mut int = m >> s;
    let frac = m & ((1u128 << s) - 1);
    let Some(scaled) = frac.checked_mul(pow) else {
        return false;
    };
    let mut q = scaled >> s;
    let r = scaled & ((1u128 << s) - 1);
    let half = 1u128 << (s - 1);
    if r > half || (r == half && q & 1 == 1) {
        q += 1;
        if q == pow {
            q = 0;
            int += 1;
        }
    }
    if x.is_sign_negative() {
        buf.push(b'-');
    }
    buf.extend_from_slice(int.to_string().as_bytes());
    if digits > 0 {
        buf.push(b'.');
        let d = q.to_string();
        buf.extend(std::iter::repeat_n(b'0', digits as usize - d.len()));
        buf.extend_from_slice(d.as_bytes());
    }
    true
}

/// `format!("{x:.digits$}")`, through [`push_fixed`] when it applies.
fn fixed(x: f64, digits: u32) -> Vec<u8> {
    let mut buf = Vec::with_capacity(32);
    if !push_fixed(&mut buf, x, digits) {
        buf = format!("{x:.prec$}", prec = digits as usize).into_bytes();
    }
    buf
}

/// A coordinate as Redis's `addReplyHumanLongDouble` prints it: `%.17Lf` without trailing
/// zeros (a double promoted to long double keeps its exact value, so 17 decimals of the
/// double give the same text), a bulk string in RESP2 and a double in RESP3.
fn human_double(out: &mut BytesMut, proto: Protocol, d: f64) {
    let mut s = fixed(d, 17);
    if s.contains(&b'.') {
        while s.last() == Some(&b'0') {
            s.pop();
        }
        if s.last() == Some(&b'.') {
            s.pop();
        }
    }
    if s == b"-0" {
        s = b"0".to_vec();
    }
    match proto {
        Protocol::Resp2 => write::bulk(out, &s),
        Protocol::Resp3 => {
            out.extend_from_slice(b",");
            out.extend_from_slice(&s);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A distance: `%.4f`, a bulk string in both protocols.
fn distance(out: &mut BytesMut, d: f64) {
    write::bulk(out, &fixed(d, 4));
}

/// ```text
/// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
/// ```
pub(crate) fn geoadd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let mut o = GeoAddOptions::default();
    while let Some(a) = args.peek() {
        if is(a, b"NX") {
            o.nx = true;
        } else if is(a, b"XX") {
            o.xx = true;
        } else if is(a, b"CH") {
            o.ch = true;
        } else {
            break;
        }
        args.next_bytes()?;
    }
    let rest = args.rest();
    if !rest.len().is_multiple_of(3) || (o.nx && o.xx) {
        return Err(CmdError::Syntax);
    }
    let mut items = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks_exact(3) {
        if let [x, y, m] = t {
            items.push((lonlat(x, y)?, m));
        }
    }
    if items.is_empty() {
        return Err(CmdError::Syntax);
    }
    let (added, moved) = ks!(ctx, k => k.geo_add_counts(key, &o, &items))?;
    if added + moved > 0 {
        // GEOADD is a ZADD in Redis, and reports itself as one.
        ctx.notify(class::ZSET, "zadd", key);
    }
    let n = if o.ch { added + moved } else { added };
    write::integer(ctx.out, n as i64);
    Ok(())
}

/// ```text
/// GEOPOS key [member [member ...]]
/// ```
pub(crate) fn geopos(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let members = args.rest();
    let pos = ks!(ctx, k => k.geo_pos(key, members))?;
    let proto = ctx.proto();
    write::array_len(ctx.out, pos.len());
    for p in pos {
        match p {
            Some(c) => {
                write::array_len(ctx.out, 2);
                human_double(ctx.out, proto, c.lon());
                human_double(ctx.out, proto, c.lat());
            }
            None => write::null_array(ctx.out, proto),
        }
    }
    Ok(())
}

/// ```text
/// GEODIST key member1 member2 [M | KM | FT | MI]
/// ```
pub(crate) fn geodist(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let a = args.next_bytes()?;
    let b = args.next_bytes()?;
    let u = match args.remaining() {
        0 => GeoUnit::M,
        1 => unit(args.next_bytes()?)?,
        _ => return Err(CmdError::Syntax),
    };
    match ks!(ctx, k => k.geo_dist(key, a, b, u))? {
        Some(d) => distance(ctx.out, d),
        None => ctx.null(),
    }
    Ok(())
}

/// ```text
/// GEOHASH key [member [member ...]]
/// ```
pub(crate) fn geohash(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let key = args.next_bytes()?;
    let members = args.rest();
    let hashes = ks!(ctx, k => k.geo_hash(key, members))?;
    write::array_len(ctx.out, hashes.len());
    for h in hashes {
        match h {
            Some(h) => write::bulk(ctx.out, &h),
            None => ctx.null(),
        }
    }
    Ok(())
}

/// Which search command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS (`ro`: GEORADIUS_RO, no STORE).
    Radius { ro: bool },
    /// GEORADIUSBYMEMBER (`ro`: GEORADIUSBYMEMBER_RO).
    ByMember { ro: bool },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

impl Kind {
    fn geosearch(self) -> bool {
        matches!(self, Kind::Search | Kind::SearchStore)
    }
    fn may_store(self) -> bool {
        matches!(
            self,
            Kind::Radius { ro: false } | Kind::ByMember { ro: false }
        )
    }
}

/// A parsed search command.
#[derive(Debug, Default)]
struct Parsed {
    from: Option<GeoFrom>,
    shape: Option<(GeoShape, GeoUnit)>,
    /// BYMEMBER's radius error: reported only when the key exists (Redis skips the radius of
    /// a missing key).
    radius_err: Option<CmdError>,
    /// FROMMEMBER / BYMEMBER members looked up (when the key exists) before the first error.
    members: Vec<Bytes>,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    sort: GeoSort,
    count: usize,
    /// GEORADIUS's STORE / STOREDIST key (GEOSEARCHSTORE's destination is its first key).
    store: Option<Bytes>,
    storedist: bool,
    /// The first argument error, in Redis's order.
    err: Option<CmdError>,
}

/// Parses the arguments of a search command after its key(s), as `georadiusGeneric` walks
/// them, stopping at the first error.
fn parse(kind: Kind, name: &[u8], args: &[Bytes]) -> Parsed {
    let mut p = Parsed::default();
    let mut opts: &[Bytes] = args;
    match kind {
        Kind::Radius { .. } => {
            let (Some(x), Some(y), Some(r), Some(u)) =
                (args.first(), args.get(1), args.get(2), args.get(3))
            else {
                p.err = Some(CmdError::Syntax);
                return p;
            };
            match lonlat(x, y) {
                Ok(c) => p.from = Some(GeoFrom::LonLat(c)),
                Err(e) => {
                    p.err = Some(e);
                    return p;
                }
            }
            match radius(r, u) {
                Ok(s) => p.shape = Some(s),
                Err(e) => {
                    p.err = Some(e);
                    return p;
                }
            }
            opts = args.get(4..).unwrap_or(&[]);
        }
        Kind::ByMember { .. } => {
            let (Some(m), Some(r), Some(u)) = (args.first(), args.get(1), args.get(2)) else {
                p.err = Some(CmdError::Syntax);
                return p;
            };
            p.members.push(m.clone());
            p.from = Some(GeoFrom::Member(m.clone()));
            match radius(r, u) {
                Ok(s) => p.shape = Some(s),
                Err(e) => p.radius_err = Some(e),
            }
            opts = args.get(3..).unwrap_or(&[]);
        }
        Kind::Search | Kind::SearchStore => {}
    }
    let geosearch = kind.geosearch();
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut i = 0;
    let remaining = opts.len();
    while let Some(arg) = opts.get(i) {
        let more = |k: usize| i + k < remaining;
        let at = |k: usize| opts.get(i + k).map_or(&[][..], |b| &b[..]);
        if is(arg, b"withdist") {
            p.withdist = true;
        } else if is(arg, b"withhash") {
            p.withhash = true;
        } else if is(arg, b"withcoord") {
            p.withcoord = true;
        } else if is(arg, b"any") {
            p.any = true;
        } else if is(arg, b"asc") {
            p.sort = GeoSort::Asc;
        } else if is(arg, b"desc") {
            p.sort = GeoSort::Desc;
        } else if is(arg, b"count") && more(1) {
            let Some(n) = parse_i64(at(1)) else {
                p.err = Some(CmdError::NotInteger);
                return p;
            };
            if n <= 0 {
                p.err = Some(CmdError::msg("ERR COUNT must be > 0"));
                return p;
            }
            p.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (is(arg, b"store") || is(arg, b"storedist")) && more(1) && kind.may_store() {
            p.store = opts.get(i + 1).cloned();
            p.storedist = is(arg, b"storedist");
            i += 1;
        } else if is(arg, b"storedist") && kind == Kind::SearchStore {
            p.storedist = true;
        } else if is(arg, b"frommember") && more(1) && geosearch && !fromloc {
            if let Some(m) = opts.get(i + 1) {
                p.members.push(m.clone());
                p.from = Some(GeoFrom::Member(m.clone()));
            }
            frommember = true;
            i += 1;
        } else if is(arg, b"fromlonlat") && more(2) && geosearch && !frommember {
            match lonlat(at(1), at(2)) {
                Ok(c) => p.from = Some(GeoFrom::LonLat(c)),
                Err(e) => {
                    p.err = Some(e);
                    return p;
                }
            }
            fromloc = true;
            i += 2;
        } else if is(arg, b"byradius") && more(2) && geosearch && !bybox {
            match radius(at(1), at(2)) {
                Ok(s) => p.shape = Some(s),
                Err(e) => {
                    p.err = Some(e);
                    return p;
                }
            }
            byradius = true;
            i += 2;
        } else if is(arg, b"bybox") && more(3) && geosearch && !byradius {
            match rect(at(1), at(2), at(3)) {
                Ok(s) => p.shape = Some(s),
                Err(e) => {
                    p.err = Some(e);
                    return p;
                }
            }
            bybox = true;
            i += 3;
        } else {
            p.err = Some(CmdError::Syntax);
            return p;
        }
        i += 1;
    }
    let name = String::from_utf8_lossy(name);
    if (p.store.is_some() || kind == Kind::SearchStore) && (p.withdist || p.withhash || p.withcoord)
    {
        let who = if kind == Kind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        p.err = Some(CmdError::msg(format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    } else if geosearch && !(frommember || fromloc) {
        p.err = Some(CmdError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    } else if geosearch && !(byradius || bybox) {
        p.err = Some(CmdError::msg(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    } else if p.any && p.count == 0 {
        p.err = Some(CmdError::msg(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    p
}

fn no_member() -> CmdError {
    CmdError::msg("ERR could not decode requested zset member")
}

/// The error a failed (or conditional) parse replies, decided against the key: its type
/// first, then a looked-up member that is missing, then the radius of GEORADIUSBYMEMBER,
/// then the first argument error. `Ok(false)` when nothing is wrong after all (the key is
/// missing and the only error was a radius it never reads).
fn resolve(ctx: &mut Ctx<'_, '_>, key: &[u8], p: &mut Parsed) -> Result<bool, CmdError> {
    // ZCARD is 0 only for a missing key (an existing sorted set has a member).
    let exists = ks!(ctx, k => k.zcard(key))? > 0;
    if exists {
        let found = ks!(ctx, k => k.zmscore(key, &p.members))?;
        if found.iter().any(Option::is_none) {
            return Err(no_member());
        }
        if let Some(e) = p.radius_err.take() {
            return Err(e);
        }
    }
    match p.err.take() {
        Some(e) => Err(e),
        None => Ok(exists),
    }
}

/// Writes search results.
fn reply(ctx: &mut Ctx<'_, '_>, p: &Parsed, found: &[GeoMatch]) {
    let proto = ctx.proto();
    let extra = usize::from(p.withdist) + usize::from(p.withhash) + usize::from(p.withcoord);
    let out = &mut *ctx.out;
    write::array_len(out, found.len());
    for m in found {
        if extra > 0 {
            write::array_len(out, extra + 1);
        }
        write::bulk(out, &m.member);
        if p.withdist {
            distance(out, m.dist);
        }
        if p.withhash {
            write::integer(out, m.score as i64);
        }
        if p.withcoord {
            write::array_len(out, 2);
            human_double(out, proto, m.lon);
            human_double(out, proto, m.lat);
        }
    }
}

/// The shared body of the search commands (Redis's `georadiusGeneric`).
fn search_cmd(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, kind: Kind) -> Result<(), CmdError> {
    let name = args.name();
    let dst = if kind == Kind::SearchStore {
        Some(args.next_bytes()?.clone())
    } else {
        None
    };
    let key = args.next_bytes()?.clone();
    let mut p = parse(kind, name, args.rest());
    if dst.is_some() {
        p.store = dst;
    }
    let checked =
        p.err.is_some() || p.radius_err.is_some() || p.members.len() > 1 || p.from.is_none();
    if checked && !resolve(ctx, &key, &mut p)? {
        // A missing key: the search finds nothing (what follows replies it).
        p.from = Some(GeoFrom::LonLat(Coord::from_score(0.0)));
        p.shape = p.shape.or(Some((GeoShape::Radius(0.0), GeoUnit::M)));
    }
    let (Some(from), Some((shape, unit))) = (p.from.clone(), p.shape) else {
        return Err(CmdError::Syntax);
    };
    let q = GeoSearch {
        from,
        shape,
        unit,
        sort: p.sort,
        count: (p.count > 0).then_some(GeoCount {
            n: p.count,
            any: p.any,
        }),
    };
    match &p.store {
        Some(dst) => {
            if kind != Kind::SearchStore {
                // A movable key: not in the table's key positions. Its sorted set may serve
                // a client blocked on it (BZPOPMIN), as any written key does.
                ctx.shared.watches.touch_key(ctx.client.db, dst);
                ctx.shared
                    .blocking
                    .signal(ctx.client.db, std::iter::once(dst));
            }
            let existed = ctx.exists_for_notify(dst);
            let stored = match ks!(ctx, k => k.geo_search_store(dst, &key, &q, p.storedist))? {
                GeoFound::NoMember => return Err(no_member()),
                GeoFound::NoKey => 0,
                GeoFound::Found(n) => n,
            };
            if kind != Kind::SearchStore {
                ctx.shared.invalidate_tracked(Some(ctx.client.id), dst);
            }
            if existed || stored > 0 {
                let event = if kind == Kind::SearchStore {
                    "geosearchstore"
                } else {
                    "georadiusstore"
                };
                // An empty result deletes the destination (`del` if it was there).
                let gone = stored == 0 && !ctx.exists_for_notify(dst);
                ctx.notify_store(class::ZSET, event, dst, stored > 0, gone);
            }
            write::integer(ctx.out, stored as i64);
        }
        None => {
            // GEORADIUS without STORE is declared a write (its STORE form is one) but changes
            // nothing: Redis does not propagate it, so the AOF does not log it.
            ctx.propagate_nothing();
            match ks!(ctx, k => k.geo_search(&key, &q))? {
                GeoFound::NoMember => return Err(no_member()),
                GeoFound::NoKey => write::array_len(ctx.out, 0),
                GeoFound::Found(v) => reply(ctx, &p, &v),
            }
        }
    }
    Ok(())
}

/// ```text
/// GEORADIUS key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST]
///   [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]
/// ```
pub(crate) fn georadius(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::Radius { ro: false })
}

/// ```text
/// GEORADIUSBYMEMBER key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH]
///   [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]
/// ```
pub(crate) fn georadiusbymember(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::ByMember { ro: false })
}

/// ```text
/// GEORADIUS_RO key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST]
///   [WITHHASH] [COUNT count [ANY]] [ASC | DESC]
/// ```
pub(crate) fn georadius_ro(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::Radius { ro: true })
}

/// ```text
/// GEORADIUSBYMEMBER_RO key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST]
///   [WITHHASH] [COUNT count [ANY]] [ASC | DESC]
/// ```
pub(crate) fn georadiusbymember_ro(
    ctx: &mut Ctx<'_, '_>,
    args: &mut Args<'_>,
) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::ByMember { ro: true })
}

/// ```text
/// GEOSEARCH key <FROMMEMBER member | FROMLONLAT longitude latitude>
///   <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>>
///   [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
/// ```
pub(crate) fn geosearch(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::Search)
}

/// ```text
/// GEOSEARCHSTORE destination source <FROMMEMBER member | FROMLONLAT longitude latitude>
///   <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>>
///   [ASC | DESC] [COUNT count [ANY]] [STOREDIST]
/// ```
pub(crate) fn geosearchstore(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    search_cmd(ctx, args, Kind::SearchStore)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_equals_format() {
        // xorshift64*: no random-number crate in this crate's dependencies.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let unit = |r: u64| (r >> 11) as f64 / (1u64 << 53) as f64;
        let mut specials = vec![
            0.0,
            -0.0,
            1.0,
            180.0,
            -180.0,
            85.05112878,
            13.361389338970184,
            0.5,
            2f64.powi(-18),
            1.0 + 2f64.powi(-18),
            0.00005,
            1.03125,
            9.99999999999999999,
            99999.99995,
            1e-300,
            5e-324,
            1e300,
            f64::MAX,
            2f64.powi(52) + 0.5,
            2f64.powi(53),
        ];
        for _ in 0..200_000 {
            let x = match next() % 4 {
                0 => (unit(next()) - 0.5) * 360.0,
                1 => unit(next()) * 2e7,
                2 => f64::from_bits(next()),
                _ => ((next() % 2_000_000) as f64 - 1e6) / 2f64.powi((next() % 40) as i32),
            };
            specials.push(x);
        }
        for x in specials {
            if !x.is_finite() {
                continue;
            }
            for d in [4u32, 17] {
                let want = format!("{x:.prec$}", prec = d as usize);
                assert_eq!(String::from_utf8_lossy(&fixed(x, d)), want, "{x:e} {d}");
            }
        }
    }
}
