//! Connection commands: PING ECHO QUIT SELECT HELLO AUTH CLIENT RESET.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use sabaody_resp::{Protocol, write};

use super::{Args, CmdError, Ctx, help, parse_i64, unknown_subcommand};

/// The version we report to clients (the Redis version whose behaviour we follow).
pub(crate) const REDIS_VERSION: &str = "7.0.15";

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// ```text
/// PING [message]
/// ```
pub(crate) fn ping(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if args.remaining() > 1 {
        return Err(CmdError::WrongArity("ping"));
    }
    if ctx.client.pubsub.is_some() && ctx.client.proto == Protocol::Resp2 {
        // Subscribed mode (RESP2): a message-shaped reply, `pong` and the argument or "".
        write::array_len(ctx.out, 2);
        write::bulk(ctx.out, b"pong");
        write::bulk(ctx.out, args.peek().map_or(&b""[..], |m| &m[..]));
        return Ok(());
    }
    match args.peek() {
        Some(msg) => write::bulk(ctx.out, msg),
        None => write::simple(ctx.out, b"PONG"),
    }
    Ok(())
}

/// ```text
/// ECHO message
/// ```
pub(crate) fn echo(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let msg = args.next_bytes()?;
    write::bulk(ctx.out, msg);
    Ok(())
}

/// ```text
/// QUIT
/// ```
pub(crate) fn quit(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    ctx.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// ```text
/// SELECT index
/// ```
pub(crate) fn select(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let idx = args.next_int()?;
    let n = ctx.shared.dbs.len();
    let idx = usize::try_from(idx)
        .ok()
        .filter(|&i| i < n)
        .ok_or_else(|| CmdError::msg("ERR DB index is out of range"))?;
    ctx.client.db = idx;
    ctx.client.info.db.store(idx, Ordering::Relaxed);
    ctx.ok();
    Ok(())
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// ```text
/// AUTH [username] password
/// ```
pub(crate) fn auth(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let (user, pass): (&[u8], &[u8]) = match args.remaining() {
        1 => {
            if !ctx.shared.acl.default_has_password() {
                return Err(CmdError::msg(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (b"default", args.next_bytes()?)
        }
        2 => {
            let u = args.next_bytes()?;
            (u, args.next_bytes()?)
        }
        _ => return Err(CmdError::Syntax),
    };
    if super::acl::authenticate(ctx, args.name(), user, pass) {
        ctx.client.authenticated = true;
        ctx.ok();
        Ok(())
    } else {
        Err(CmdError::msg(WRONGPASS))
    }
}

/// Redis allows client names made of the characters `!` to `~` only.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn set_name(ctx: &mut Ctx<'_, '_>, name: &Bytes) -> Result<(), CmdError> {
    if !valid_name(name) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    ctx.client.info.names.lock().name = if name.is_empty() {
        None
    } else {
        Some(Bytes::copy_from_slice(name))
    };
    Ok(())
}

/// ```text
/// HELLO [protover [AUTH username password] [SETNAME clientname]]
/// ```
pub(crate) fn hello(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let mut proto = None;
    if let Some(v) = args.peek() {
        args.next_bytes()?;
        let v = parse_i64(v).ok_or_else(|| {
            CmdError::msg("ERR Protocol version is not an integer or out of range")
        })?;
        proto = Some(match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        });
    }
    // Redis 7.0 acts on each option as it parses it: an AUTH or SETNAME before a syntax error
    // has already taken effect when the error is replied.
    while let Some(opt) = args.peek() {
        args.next_bytes()?;
        if is(opt, b"AUTH") && args.remaining() >= 2 {
            let u = args.next_bytes()?;
            let p = args.next_bytes()?;
            if !super::acl::authenticate(ctx, args.name(), u, p) {
                return Err(CmdError::msg(WRONGPASS));
            }
            ctx.client.authenticated = true;
        } else if is(opt, b"SETNAME") && args.remaining() >= 1 {
            set_name(ctx, args.next_bytes()?)?;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(p) = proto {
        let changed = ctx.client.proto != p;
        ctx.client.proto = p;
        if changed {
            ctx.shared.pubsub.reframe(ctx.client);
        }
        ctx.client
            .info
            .resp3
            .store(p == Protocol::Resp3, Ordering::Relaxed);
    }
    let proto = ctx.client.proto;
    let out = &mut *ctx.out;
    write::map_len(out, proto, 7);
    write::bulk(out, b"server");
    write::bulk(out, b"redis");
    write::bulk(out, b"version");
    write::bulk(out, REDIS_VERSION.as_bytes());
    write::bulk(out, b"proto");
    write::integer(out, if proto == Protocol::Resp3 { 3 } else { 2 });
    write::bulk(out, b"id");
    write::integer(out, ctx.client.id as i64);
    write::bulk(out, b"mode");
    write::bulk(out, b"standalone");
    write::bulk(out, b"role");
    write::bulk(out, b"master");
    write::bulk(out, b"modules");
    write::array_len(out, 0);
    Ok(())
}

/// ```text
/// RESET
/// ```
pub(crate) fn reset(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let c = &mut *ctx.client;
    c.multi = None;
    c.info.multi.store(false, Ordering::Relaxed);
    if let Some(w) = c.watch.take() {
        ctx.shared.watches.unwatch_all(&w.keys, &w.dirty);
    }
    c.db = 0;
    c.info.db.store(0, Ordering::Relaxed);
    c.proto = Protocol::Resp2;
    c.info.resp3.store(false, Ordering::Relaxed);
    c.info.names.lock().name = None;
    c.no_evict = false;
    c.no_touch = false;
    if c.monitor {
        ctx.shared.remove_monitor(c);
    }
    ctx.shared.pubsub.forget(c);
    c.authenticated = !ctx.shared.has_password.load(Ordering::Relaxed);
    write::simple(ctx.out, b"RESET");
    Ok(())
}

fn write_text(ctx: &mut Ctx<'_, '_>, text: &str) {
    write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
}

/// ```text
/// CLIENT ID | SETNAME name | GETNAME | LIST [TYPE t] [ID id ...] | INFO | KILL ... |
///        SETINFO LIB-NAME|LIB-VER value | NO-EVICT ON|OFF | NO-TOUCH ON|OFF |
///        UNBLOCK id [TIMEOUT|ERROR] | PAUSE ms [WRITE|ALL] | UNPAUSE | REPLY ON|OFF|SKIP | HELP
/// ```
pub(crate) fn client(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    let n = args.remaining();
    let arity = |ok: bool, name: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(CmdError::WrongArity(name))
        }
    };
    if is(sub, b"ID") {
        arity(n == 0, "client|id")?;
        write::integer(ctx.out, ctx.client.id as i64);
    } else if is(sub, b"SETNAME") {
        arity(n == 1, "client|setname")?;
        let name = args.next_bytes()?;
        set_name(ctx, name)?;
        ctx.ok();
    } else if is(sub, b"GETNAME") {
        arity(n == 0, "client|getname")?;
        let name = ctx.client.info.names.lock().name.clone();
        match name {
            Some(nm) => write::bulk(ctx.out, &nm),
            None => ctx.null(),
        }
    } else if is(sub, b"LIST") {
        let mut ids: Option<Vec<u64>> = None;
        while let Some(opt) = args.peek() {
            args.next_bytes()?;
            if is(opt, b"TYPE") && args.remaining() > 0 {
                let t = args.next_bytes()?;
                ids = Some(clients_of_type(ctx, t)?.into_iter().collect());
            } else if is(opt, b"ID") && args.remaining() > 0 {
                let mut v = Vec::new();
                for a in args.rest() {
                    let id = parse_i64(a)
                        .filter(|&i| i > 0)
                        .ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?;
                    v.push(id as u64);
                }
                ids = Some(v);
            } else {
                return Err(CmdError::Syntax);
            }
        }
        let text = ctx.shared.client_list(ids.as_deref());
        write_text(ctx, &text);
    } else if is(sub, b"INFO") {
        arity(n == 0, "client|info")?;
        let mut text = ctx.shared.client_line(&ctx.client.info);
        text.push('\n');
        write_text(ctx, &text);
    } else if is(sub, b"KILL") {
        client_kill(ctx, args)?;
    } else if is(sub, b"SETINFO") {
        arity(n == 2, "client|setinfo")?;
        let attr = args.next_bytes()?;
        let val = args.next_bytes()?;
        if !val.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
            return Err(CmdError::msg(format!(
                "ERR {} cannot contain spaces, newlines or special characters.",
                String::from_utf8_lossy(attr).to_ascii_lowercase()
            )));
        }
        let v = (!val.is_empty()).then(|| Bytes::copy_from_slice(val));
        let mut names = ctx.client.info.names.lock();
        if is(attr, b"LIB-NAME") {
            names.lib_name = v;
        } else if is(attr, b"LIB-VER") {
            names.lib_ver = v;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized option '{}'",
                String::from_utf8_lossy(attr)
            )));
        }
        drop(names);
        ctx.ok();
    } else if is(sub, b"NO-EVICT") || is(sub, b"NO-TOUCH") {
        arity(
            n == 1,
            if is(sub, b"NO-EVICT") {
                "client|no-evict"
            } else {
                "client|no-touch"
            },
        )?;
        let v = args.next_bytes()?;
        let on = if is(v, b"ON") {
            true
        } else if is(v, b"OFF") {
            false
        } else {
            return Err(CmdError::Syntax);
        };
        if is(sub, b"NO-EVICT") {
            ctx.client.no_evict = on;
        } else {
            ctx.client.no_touch = on;
        }
        ctx.ok();
    } else if is(sub, b"TRACKING") {
        arity(n >= 1, "client|tracking")?;
        client_tracking(ctx, args)?;
    } else if is(sub, b"CACHING") {
        arity(n == 1, "client|caching")?;
        client_caching(ctx, args.next_bytes()?)?;
    } else if is(sub, b"GETREDIR") {
        arity(n == 0, "client|getredir")?;
        let redir = ctx.client.info.tracking.load(Ordering::Relaxed);
        write::integer(ctx.out, redir);
    } else if is(sub, b"TRACKINGINFO") {
        arity(n == 0, "client|trackinginfo")?;
        client_trackinginfo(ctx);
    } else if is(sub, b"UNBLOCK") {
        arity(n >= 1, "client|unblock")?;
        if n > 2 {
            return Err(sub_syntax(sub));
        }
        client_unblock(ctx, args)?;
    } else if is(sub, b"PAUSE") {
        arity(n >= 1, "client|pause")?;
        if n > 2 {
            return Err(sub_syntax(sub));
        }
        client_pause(ctx, args)?;
    } else if is(sub, b"UNPAUSE") {
        arity(n == 0, "client|unpause")?;
        ctx.shared.pause.unpause(ctx.shared);
        ctx.ok();
    } else if is(sub, b"REPLY") {
        arity(n == 1, "client|reply")?;
        let v = args.next_bytes()?;
        use crate::client::{REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT};
        if is(v, b"ON") {
            ctx.client.reply &= !(REPLY_OFF | REPLY_SKIP);
            ctx.ok();
        } else if is(v, b"OFF") {
            ctx.client.reply |= REPLY_OFF;
        } else if is(v, b"SKIP") {
            if ctx.client.reply & REPLY_OFF == 0 {
                ctx.client.reply |= REPLY_SKIP_NEXT;
            }
        } else {
            return Err(CmdError::Syntax);
        }
    } else if is(sub, b"HELP") {
        let lines: &[&str] = &[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME.",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
            "    Return information about client connections.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Set client library name or version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "HELP",
            "    Print this help.",
        ];
        help(ctx, lines);
    } else {
        return Err(unknown_subcommand("client", sub));
    }
    Ok(())
}

/// Redis's `addReplySubcommandSyntaxError`: a known subcommand with too many arguments.
fn sub_syntax(sub: &[u8]) -> CmdError {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try CLIENT HELP."
    ))
}

/// `CLIENT UNBLOCK client-id [TIMEOUT | ERROR]`: 1 if the client was blocked (on keys, or
/// held by CLIENT PAUSE), 0 otherwise. The reason is checked before the id, as Redis 7.0.
/// `CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]`.
fn client_tracking(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    use crate::tracking::{ClientTracking, Options, check};
    let onoff = args.next_bytes()?;
    let mut o = Options::default();
    while let Some(a) = args.peek() {
        args.next_bytes()?;
        let more = args.remaining() > 0;
        if is(a, b"REDIRECT") && more {
            if o.redirect != 0 {
                return Err(CmdError::msg(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let id = parse_i64(args.next_bytes()?).ok_or(CmdError::NotInteger)?;
            // The target must exist now (it may go later: its clients are then told).
            let exists =
                u64::try_from(id).is_ok_and(|id| ctx.shared.clients.lock().contains_key(&id));
            if !exists {
                return Err(CmdError::msg(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
            o.redirect = id.unsigned_abs();
        } else if is(a, b"BCAST") {
            o.bcast = true;
        } else if is(a, b"OPTIN") {
            o.optin = true;
        } else if is(a, b"OPTOUT") {
            o.optout = true;
        } else if is(a, b"NOLOOP") {
            o.noloop = true;
        } else if is(a, b"PREFIX") && more {
            o.prefixes.push(args.next_bytes()?.clone());
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let shared = ctx.shared;
    let id = ctx.client.id;
    if is(onoff, b"ON") {
        let current = ctx
            .client
            .tracking
            .is_some()
            .then(|| shared.tracking.options(id))
            .flatten();
        check(&o, current.as_ref()).map_err(CmdError::msg)?;
        ctx.client.tracking = Some(Box::new(ClientTracking {
            bcast: o.bcast,
            optin: o.optin,
            optout: o.optout,
            caching: None,
        }));
        let info = &ctx.client.info;
        info.tracking.store(o.redirect as i64, Ordering::Relaxed);
        info.tracking_bcast.store(o.bcast, Ordering::Relaxed);
        info.tracking_broken.store(false, Ordering::Relaxed);
        shared.tracking.enable(id, info.loop_idx, o);
    } else if is(onoff, b"OFF") {
        if ctx.client.tracking.take().is_some() {
            shared.tracking.disable(id);
        }
        ctx.client.info.tracking.store(-1, Ordering::Relaxed);
        ctx.client
            .info
            .tracking_bcast
            .store(false, Ordering::Relaxed);
        ctx.client
            .info
            .tracking_broken
            .store(false, Ordering::Relaxed);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.ok();
    Ok(())
}

/// `CLIENT CACHING YES|NO`: whether the next command's keys are tracked (OPTIN / OPTOUT).
fn client_caching(ctx: &mut Ctx<'_, '_>, v: &[u8]) -> Result<(), CmdError> {
    let Some(t) = ctx.client.tracking.as_mut() else {
        return Err(CmdError::msg(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with \
             OPTIN or OPTOUT mode enabled",
        ));
    };
    if is(v, b"YES") {
        if !t.optin {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
        t.caching = Some(true);
    } else if is(v, b"NO") {
        if !t.optout {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
        t.caching = Some(false);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.ok();
    Ok(())
}

/// `CLIENT TRACKINGINFO`: flags, redirection, prefixes.
fn client_trackinginfo(ctx: &mut Ctx<'_, '_>) {
    let proto = ctx.proto();
    let opts = ctx
        .client
        .tracking
        .as_ref()
        .and_then(|_| ctx.shared.tracking.options(ctx.client.id));
    let caching = ctx.client.tracking.as_ref().and_then(|t| t.caching);
    let mut flags: Vec<&str> = Vec::new();
    match &opts {
        None => flags.push("off"),
        Some(o) => {
            flags.push("on");
            if o.bcast {
                flags.push("bcast");
            }
            if o.optin {
                flags.push("optin");
                if caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if o.optout {
                flags.push("optout");
                if caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if o.noloop {
                flags.push("noloop");
            }
            if ctx.client.info.tracking_broken.load(Ordering::Relaxed) {
                flags.push("broken_redirect");
            }
        }
    }
    let out = &mut *ctx.out;
    write::map_len(out, proto, 3);
    write::bulk(out, b"flags");
    write::set_len(out, proto, flags.len());
    for f in flags {
        write::bulk(out, f.as_bytes());
    }
    write::bulk(out, b"redirect");
    write::integer(out, opts.as_ref().map_or(-1, |o| o.redirect as i64));
    write::bulk(out, b"prefixes");
    let prefixes = opts.map(|o| o.prefixes).unwrap_or_default();
    write::array_len(out, prefixes.len());
    for p in &prefixes {
        write::bulk(out, p);
    }
}

fn client_unblock(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let id = args.next_bytes()?;
    let error = match args.peek() {
        None => false,
        Some(r) if is(r, b"TIMEOUT") => false,
        Some(r) if is(r, b"ERROR") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    };
    let id = parse_i64(id).ok_or(CmdError::NotInteger)?;
    let Ok(id) = u64::try_from(id) else {
        write::integer(ctx.out, 0);
        return Ok(());
    };
    let done = if ctx.shared.blocking.unblock(ctx.shared, id, error) {
        true
    } else if let Some(info) = ctx
        .shared
        .find_clients(|c| c.id == id && c.held.load(Ordering::Relaxed))
        .into_iter()
        .next()
    {
        // Held by CLIENT PAUSE: Redis unblocks it and runs its command again, which the
        // pause holds again; with ERROR the client gets the error first.
        if error && let Some(l) = ctx.shared.loops.get(info.loop_idx) {
            let mut out = bytes::BytesMut::new();
            write::error(&mut out, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
            l.post_held_error(id, out.freeze());
        }
        true
    } else {
        false
    };
    write::integer(ctx.out, i64::from(done));
    Ok(())
}

/// `CLIENT PAUSE timeout [WRITE | ALL]` (milliseconds; the mode is checked first).
fn client_pause(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    use crate::blocking::{PAUSE_ALL, PAUSE_WRITE};
    let timeout = args.next_bytes()?;
    let kind = match args.peek() {
        None => PAUSE_ALL,
        Some(m) if is(m, b"WRITE") => PAUSE_WRITE,
        Some(m) if is(m, b"ALL") => PAUSE_ALL,
        Some(_) => return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = parse_i64(timeout)
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    // Redis adds the Unix time to the timeout unchecked: past the end of time the end wraps
    // to the past, and the call only raises the kind of a pause already in effect.
    let now = crate::server::unix_micros() / 1000;
    let ms = if i128::from(ms) + i128::from(now) > i128::from(i64::MAX) {
        0
    } else {
        ms as u64
    };
    ctx.shared.pause.pause(ms, kind);
    ctx.ok();
    Ok(())
}

fn client_kill(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if args.remaining() == 1 {
        // Old form: CLIENT KILL addr:port -> +OK or an error.
        let addr = args.next_bytes()?;
        let target = ctx.shared.find_clients(|c| {
            c.addr
                .is_some_and(|a| a.to_string().as_bytes() == &addr[..])
        });
        let Some(info) = target.into_iter().next() else {
            return Err(CmdError::msg("ERR No such client"));
        };
        kill(ctx, &info);
        ctx.ok();
        return Ok(());
    }
    let mut id: Option<u64> = None;
    // Candidates of a TYPE filter.
    let mut ids: Option<hashbrown::HashSet<u64>> = None;
    let mut addr: Option<Bytes> = None;
    let mut laddr: Option<Bytes> = None;
    let mut skipme = true;
    if args.remaining() == 0 || !args.remaining().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    while args.remaining() >= 2 {
        let opt = args.next_bytes()?;
        let val = args.next_bytes()?;
        if is(opt, b"ID") {
            let v = parse_i64(val)
                .filter(|&v| v > 0)
                .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            id = Some(v as u64);
        } else if is(opt, b"ADDR") {
            addr = Some(val.clone());
        } else if is(opt, b"LADDR") {
            laddr = Some(val.clone());
        } else if is(opt, b"SKIPME") {
            skipme = if is(val, b"YES") {
                true
            } else if is(val, b"NO") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if is(opt, b"TYPE") {
            let of_type = clients_of_type(ctx, val)?;
            ids = Some(match ids {
                Some(mut v) => {
                    v.retain(|i| of_type.contains(i));
                    v
                }
                None => of_type,
            });
        } else if is(opt, b"USER") {
            // Every client is the `default` user's; Redis refuses a user it does not have.
            if &val[..] != b"default" {
                return Err(CmdError::msg(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let me = ctx.client.id;
    let victims = ctx.shared.find_clients(|c| {
        id.is_none_or(|i| i == c.id)
            && ids.as_ref().is_none_or(|v| v.contains(&c.id))
            && addr
                .as_ref()
                .is_none_or(|a| c.addr.is_some_and(|x| x.to_string().as_bytes() == &a[..]))
            && laddr
                .as_ref()
                .is_none_or(|a| c.laddr.is_some_and(|x| x.to_string().as_bytes() == &a[..]))
            && !(skipme && c.id == me)
    });
    for v in &victims {
        kill(ctx, v);
    }
    write::integer(ctx.out, victims.len() as i64);
    Ok(())
}

/// The ids of the clients of a `TYPE` filter (CLIENT LIST, CLIENT KILL), as Redis's
/// getClientType classes them: `pubsub` the clients subscribed to anything, `normal` every
/// other client (MONITOR clients included); no master or replica here.
fn clients_of_type(ctx: &Ctx<'_, '_>, t: &[u8]) -> Result<hashbrown::HashSet<u64>, CmdError> {
    let subscribed = ctx.shared.pubsub.subscribed_ids();
    if is(t, b"normal") {
        Ok(ctx
            .shared
            .find_clients(|c| !subscribed.contains(&c.id))
            .iter()
            .map(|c| c.id)
            .collect())
    } else if is(t, b"pubsub") {
        Ok(subscribed)
    } else if is(t, b"master") || is(t, b"replica") || is(t, b"slave") {
        Ok(hashbrown::HashSet::new())
    } else {
        Err(CmdError::msg(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(t)
        )))
    }
}

fn kill(ctx: &mut Ctx<'_, '_>, info: &crate::client::ClientInfo) {
    if info.id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else {
        ctx.shared.kill_client(info);
    }
}
