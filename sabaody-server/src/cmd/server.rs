//! Server commands: COMMAND CONFIG INFO TIME SLOWLOG MONITOR LASTSAVE DEBUG SHUTDOWN.

use std::sync::atomic::Ordering;

use sabaody_resp::write;

use super::{
    Args, CmdError, CommandSpec, Ctx, command_count, commands, flag, help, keyspec, lookup,
    parse_i64, unknown_subcommand,
};
use crate::config::{DIRECTIVES, glob_match};
use crate::server::{StopReason, unix_micros};

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// The ACL categories of `COMMAND INFO` for a command redis-server 7.0 does not have (the
/// RedisBloom names; every other command's come from Redis's own data, `meta.rs`), from its
/// flags as Redis derives them for a module command, in Redis's order.
pub(crate) fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let fast = spec.has(flag::FAST);
    let admin = spec.has(flag::ADMIN);
    [
        (spec.has(flag::READONLY), "@read"),
        (spec.has(flag::WRITE), "@write"),
        (admin, "@admin"),
        (fast, "@fast"),
        (!fast, "@slow"),
        (spec.has(flag::BLOCKING), "@blocking"),
        (admin, "@dangerous"),
    ]
    .into_iter()
    .filter_map(|(on, cat)| on.then_some(cat))
    .collect()
}

fn write_command_info(ctx: &mut Ctx<'_, '_>, spec: &CommandSpec) {
    let proto = ctx.client.proto;
    let out = &mut *ctx.out;
    if let Some(m) = keyspec::meta(spec.name) {
        write_meta_info(out, proto, m, spec.arity);
        return;
    }
    write::array_len(out, 10);
    write::bulk(out, spec.name.as_bytes());
    write::integer(out, i64::from(spec.arity));
    let flags: Vec<&str> = flag::NAMES
        .iter()
        .filter(|(f, _)| spec.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    write::set_len(out, proto, flags.len());
    for f in flags {
        write::simple(out, f.as_bytes());
    }
    write::integer(out, i64::from(spec.first_key));
    write::integer(out, i64::from(spec.last_key));
    write::integer(out, i64::from(spec.step));
    let cats = acl_categories(spec);
    write::set_len(out, proto, cats.len());
    for c in cats {
        write::simple(out, c.as_bytes());
    }
    write::set_len(out, proto, 0); // tips
    write_key_specs(out, proto, spec);
    write::set_len(out, proto, 0); // subcommands
}

/// The subcommands of the containers Sabaody implements, `container|sub` as in `COMMAND
/// INFO` (a test checks each against the container's own dispatch).
pub(crate) const SUBCOMMANDS: &[&str] = &[
    "acl|cat",
    "acl|deluser",
    "acl|dryrun",
    "acl|genpass",
    "acl|getuser",
    "acl|help",
    "acl|list",
    "acl|load",
    "acl|log",
    "acl|save",
    "acl|setuser",
    "acl|users",
    "acl|whoami",
    "client|caching",
    "client|getname",
    "client|getredir",
    "client|help",
    "client|id",
    "client|info",
    "client|kill",
    "client|list",
    "client|no-evict",
    "client|pause",
    "client|reply",
    "client|setname",
    "client|tracking",
    "client|trackinginfo",
    "client|unblock",
    "client|unpause",
    "command|count",
    "command|docs",
    "command|getkeys",
    "command|getkeysandflags",
    "command|help",
    "command|info",
    "command|list",
    "config|get",
    "config|help",
    "config|resetstat",
    "config|rewrite",
    "config|set",
    "latency|doctor",
    "latency|graph",
    "latency|help",
    "latency|histogram",
    "latency|history",
    "latency|latest",
    "latency|reset",
    "memory|doctor",
    "memory|help",
    "memory|malloc-stats",
    "memory|purge",
    "memory|usage",
    "object|encoding",
    "object|freq",
    "object|help",
    "object|idletime",
    "object|refcount",
    "pubsub|channels",
    "pubsub|help",
    "pubsub|numpat",
    "pubsub|numsub",
    "pubsub|shardchannels",
    "pubsub|shardnumsub",
    "slowlog|get",
    "slowlog|help",
    "slowlog|len",
    "slowlog|reset",
];

pub(crate) fn implemented_subcommand(name: &str) -> bool {
    SUBCOMMANDS.binary_search(&name).is_ok()
}

/// The index in [`SUBCOMMANDS`] of `container`'s subcommand `sub` (any case), if implemented.
pub(crate) fn subcommand_index(container: &str, sub: &[u8]) -> Option<usize> {
    // `container|sub` lowercased on the stack: this runs for every container command.
    let mut buf = [0u8; 64];
    let n = container.len() + 1 + sub.len();
    if sub.len() > 32 || n > buf.len() {
        return None;
    }
    let (head, rest) = buf.split_at_mut(container.len());
    head.copy_from_slice(container.as_bytes());
    let (bar, tail) = rest.split_at_mut(1);
    bar[0] = b'|';
    for (d, s) in tail.iter_mut().zip(sub) {
        *d = s.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(buf.get(..n)?).ok()?;
    SUBCOMMANDS.binary_search(&name).ok()
}

/// `COMMAND INFO` of a command (or subcommand) redis-server 7.0 has: its data, our arity
/// (ZRANK takes Redis 7.2's WITHSCORE), the implemented subcommands.
fn write_meta_info(
    out: &mut bytes::BytesMut,
    proto: sabaody_resp::Protocol,
    m: &keyspec::Meta,
    arity: i32,
) {
    write::array_len(out, 10);
    write::bulk(out, m.name.as_bytes());
    write::integer(out, i64::from(arity));
    write::set_len(out, proto, m.flags.len());
    for f in m.flags {
        write::simple(out, f.as_bytes());
    }
    write::integer(out, i64::from(m.first));
    write::integer(out, i64::from(m.last));
    write::integer(out, i64::from(m.step));
    write::set_len(out, proto, m.categories.len());
    for c in m.categories {
        write::simple(out, c.as_bytes());
    }
    write::set_len(out, proto, m.tips.len());
    for t in m.tips {
        write::bulk(out, t.as_bytes());
    }
    write::set_len(out, proto, m.key_specs.len());
    for ks in m.key_specs {
        write_meta_key_spec(out, proto, ks);
    }
    let subs: Vec<&keyspec::Meta> = m
        .subcommands
        .iter()
        .filter(|s| implemented_subcommand(s))
        .filter_map(|s| keyspec::meta(s))
        .collect();
    // Redis: an empty set when the command has no subcommands, else an array.
    if m.subcommands.is_empty() {
        write::set_len(out, proto, 0);
    } else {
        write::array_len(out, subs.len());
    }
    for sub in subs {
        write_meta_info(out, proto, sub, sub.arity);
    }
}

fn write_meta_key_spec(
    out: &mut bytes::BytesMut,
    proto: sabaody_resp::Protocol,
    ks: &keyspec::KeySpec,
) {
    use keyspec::{Begin, Find};
    write::map_len(out, proto, if ks.notes.is_some() { 4 } else { 3 });
    if let Some(n) = ks.notes {
        write::bulk(out, b"notes");
        write::bulk(out, n.as_bytes());
    }
    write::bulk(out, b"flags");
    write::set_len(out, proto, ks.flags.len());
    for f in ks.flags {
        write::simple(out, f.as_bytes());
    }
    write::bulk(out, b"begin_search");
    write::map_len(out, proto, 2);
    match ks.begin {
        Begin::Index(i) => search_part(out, proto, b"index", &[], &[(b"index", i)]),
        Begin::Keyword { keyword, startfrom } => search_part(
            out,
            proto,
            b"keyword",
            &[(b"keyword", keyword.as_bytes())],
            &[(b"startfrom", startfrom)],
        ),
        Begin::Unknown => search_part(out, proto, b"unknown", &[], &[]),
    }
    write::bulk(out, b"find_keys");
    write::map_len(out, proto, 2);
    match ks.find {
        Find::Range {
            lastkey,
            keystep,
            limit,
        } => search_part(
            out,
            proto,
            b"range",
            &[],
            &[
                (b"lastkey", lastkey),
                (b"keystep", keystep),
                (b"limit", limit),
            ],
        ),
        Find::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => search_part(
            out,
            proto,
            b"keynum",
            &[],
            &[
                (b"keynumidx", keynumidx),
                (b"firstkey", firstkey),
                (b"keystep", keystep),
            ],
        ),
        Find::Unknown => search_part(out, proto, b"unknown", &[], &[]),
    }
}

/// One half of a key spec (`begin_search` / `find_keys`): `type <kind> spec {...}`, the
/// spec's string fields first, then its integer fields.
fn search_part(
    out: &mut bytes::BytesMut,
    proto: sabaody_resp::Protocol,
    kind: &[u8],
    strings: &[(&[u8], &[u8])],
    ints: &[(&[u8], i64)],
) {
    write::bulk(out, b"type");
    write::bulk(out, kind);
    write::bulk(out, b"spec");
    write::map_len(out, proto, strings.len() + ints.len());
    for (k, v) in strings {
        write::bulk(out, k);
        write::bulk(out, v);
    }
    for (k, v) in ints {
        write::bulk(out, k);
        write::integer(out, *v);
    }
}

/// A `COMMAND INFO`/`DOCS` name: a command, or `container|sub` for an implemented
/// subcommand (as Redis 7.0 accepts); `None` when unknown.
fn named_meta(name: &[u8]) -> Option<(&'static CommandSpec, Option<&'static keyspec::Meta>)> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(|spec| (spec, None)),
        Some(bar) => {
            let spec = lookup(name.get(..bar)?)?;
            subcommand_meta(spec.name, name.get(bar + 1..)?).map(|m| (spec, Some(m)))
        }
    }
}

/// The data of `container`'s implemented subcommand `sub` (any case).
pub(crate) fn subcommand_meta(container: &str, sub: &[u8]) -> Option<&'static keyspec::Meta> {
    let j = subcommand_index(container, sub)?;
    keyspec::meta(SUBCOMMANDS.get(j)?)
}

/// The key spec of a command redis-server 7.0 does not have, derived from first/last/step:
/// one `index` + `range` spec (Redis 7 form), written as the generated ones are.
fn write_key_specs(out: &mut bytes::BytesMut, proto: sabaody_resp::Protocol, spec: &CommandSpec) {
    if spec.first_key <= 0 {
        write::set_len(out, proto, 0);
        return;
    }
    let lastkey = if spec.last_key < 0 {
        spec.last_key
    } else {
        spec.last_key - spec.first_key
    };
    let ks = keyspec::KeySpec {
        notes: None,
        flags: if spec.has(flag::WRITE) {
            &["RW", "update"]
        } else {
            &["RO", "access"]
        },
        begin: keyspec::Begin::Index(i64::from(spec.first_key)),
        find: keyspec::Find::Range {
            lastkey: i64::from(lastkey),
            keystep: i64::from(spec.step),
            limit: 0,
        },
    };
    write::set_len(out, proto, 1);
    write_meta_key_spec(out, proto, &ks);
}

fn write_command_docs(ctx: &mut Ctx<'_, '_>, spec: &CommandSpec) {
    let proto = ctx.client.proto;
    let out = &mut *ctx.out;
    write::bulk(out, spec.name.as_bytes());
    write_docs(
        out,
        proto,
        spec.summary,
        spec.since,
        spec.group,
        keyspec::meta(spec.name),
    );
}

/// One command's `COMMAND DOCS` map: our summary; Redis 7.0's facts (since, group,
/// deprecation, argument grammar) in its field order; the implemented subcommands.
fn write_docs(
    out: &mut bytes::BytesMut,
    proto: sabaody_resp::Protocol,
    summary: &str,
    since: &str,
    group: &str,
    m: Option<&keyspec::Meta>,
) {
    let subs: Vec<&keyspec::Meta> = m
        .map(|m| {
            m.subcommands
                .iter()
                .filter(|s| implemented_subcommand(s))
                .filter_map(|s| keyspec::meta(s))
                .collect()
        })
        .unwrap_or_default();
    let flags = m.map_or(&[][..], |m| m.doc_flags);
    let deprecated = m.and_then(|m| m.deprecated_since);
    let args = m.map_or(&[][..], |m| m.args);
    let n = 3
        + usize::from(!flags.is_empty())
        + usize::from(deprecated.is_some())
        + usize::from(!args.is_empty())
        + usize::from(!subs.is_empty());
    write::map_len(out, proto, n);
    write::bulk(out, b"summary");
    write::bulk(out, summary.as_bytes());
    write::bulk(out, b"since");
    write::bulk(out, since.as_bytes());
    write::bulk(out, b"group");
    write::bulk(out, group.as_bytes());
    if !flags.is_empty() {
        write::bulk(out, b"doc_flags");
        write::set_len(out, proto, flags.len());
        for f in flags {
            write::simple(out, f.as_bytes());
        }
    }
    if let Some(d) = deprecated {
        write::bulk(out, b"deprecated_since");
        write::bulk(out, d.as_bytes());
    }
    if !args.is_empty() {
        write::bulk(out, b"arguments");
        write_doc_args(out, proto, args);
    }
    if !subs.is_empty() {
        write::bulk(out, b"subcommands");
        write::map_len(out, proto, subs.len());
        for sub in subs {
            write::bulk(out, sub.name.as_bytes());
            write_docs(
                out,
                proto,
                subcommand_summary(sub.name),
                sub.since,
                sub.group,
                Some(sub),
            );
        }
    }
}

/// The argument grammar of `COMMAND DOCS`, in Redis 7.0's field order.
fn write_doc_args(out: &mut bytes::BytesMut, proto: sabaody_resp::Protocol, args: &[keyspec::Arg]) {
    write::array_len(out, args.len());
    for a in args {
        // Redis prints the key spec of any argument that has one (a SORT pattern too).
        let key = a.key_spec_index >= 0;
        let nested = matches!(a.typ, "oneof" | "block");
        let n = 2
            + usize::from(key)
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(!a.flags.is_empty())
            + usize::from(nested);
        write::map_len(out, proto, n);
        write::bulk(out, b"name");
        write::bulk(out, a.name.as_bytes());
        write::bulk(out, b"type");
        write::bulk(out, a.typ.as_bytes());
        if key {
            write::bulk(out, b"key_spec_index");
            write::integer(out, a.key_spec_index);
        }
        if let Some(t) = a.token {
            write::bulk(out, b"token");
            write::bulk(out, t.as_bytes());
        }
        if let Some(v) = a.since {
            write::bulk(out, b"since");
            write::bulk(out, v.as_bytes());
        }
        if let Some(v) = a.deprecated_since {
            write::bulk(out, b"deprecated_since");
            write::bulk(out, v.as_bytes());
        }
        if !a.flags.is_empty() {
            write::bulk(out, b"flags");
            write::set_len(out, proto, a.flags.len());
            for f in a.flags {
                write::simple(out, f.as_bytes());
            }
        }
        if nested {
            write::bulk(out, b"arguments");
            write_doc_args(out, proto, a.args);
        }
    }
}

#[cfg(test)]
pub(crate) fn subcommand_summary_for_test(name: &str) -> &'static str {
    subcommand_summary(name)
}

/// Our one-line summaries of the implemented subcommands (`COMMAND DOCS`, redis-cli's HELP).
fn subcommand_summary(name: &str) -> &'static str {
    match name {
        "acl|cat" => "Lists the ACL categories, or the commands in one.",
        "acl|deluser" => "Deletes users (the default user cannot be deleted).",
        "acl|dryrun" => "Checks whether a user may run a command, without running it.",
        "acl|genpass" => "Generates a random password.",
        "acl|getuser" => "Returns the rules of a user.",
        "acl|help" => "Lists the ACL subcommands.",
        "acl|list" => "Returns the rules of every user in the ACL file format.",
        "acl|load" => "Reloads the users from the ACL file.",
        "acl|log" => "Returns or clears the log of refused authentications.",
        "acl|save" => "Saves the users to the ACL file.",
        "acl|setuser" => "Changes the default user's passwords and flags.",
        "acl|users" => "Returns the names of the users.",
        "acl|whoami" => "Returns the user of this connection.",
        "client|caching" => "Says whether the next command's keys are tracked (OPTIN/OPTOUT).",
        "client|getname" => "Returns the connection's name.",
        "client|getredir" => "Returns the client that receives this connection's invalidations.",
        "client|help" => "Lists the CLIENT subcommands.",
        "client|id" => "Returns the connection's unique id.",
        "client|info" => "Describes this connection (the CLIENT LIST format).",
        "client|kill" => "Closes the connections that match the filters.",
        "client|list" => "Describes every open connection, one line each.",
        "client|no-evict" => "Sets whether this client's memory is exempt from eviction.",
        "client|pause" => "Holds clients' commands (all, or only writes) for a while.",
        "client|reply" => "Turns this connection's replies off, on, or off for one command.",
        "client|setname" => "Names the connection.",
        "client|tracking" => "Turns client-side caching invalidations on or off.",
        "client|trackinginfo" => "Describes this connection's client-side caching state.",
        "client|unblock" => "Wakes a client blocked in a blocking command.",
        "client|unpause" => "Ends a CLIENT PAUSE.",
        "command|count" => "Returns how many commands the server has.",
        "command|docs" => "Returns the documentation of commands.",
        "command|getkeys" => "Returns the key arguments of a full command.",
        "command|getkeysandflags" => "Returns the key arguments of a full command and their flags.",
        "command|help" => "Lists the COMMAND subcommands.",
        "command|info" => "Returns details about commands.",
        "command|list" => "Returns the names of every command.",
        "config|get" => "Returns the values of configuration parameters.",
        "config|help" => "Lists the CONFIG subcommands.",
        "config|resetstat" => "Zeroes the server's statistics.",
        "config|rewrite" => "Writes the running configuration to the configuration file.",
        "config|set" => "Sets configuration parameters at run time.",
        "latency|doctor" => "Reports on the latency events recorded.",
        "latency|graph" => "Draws one latency event class's samples as text.",
        "latency|help" => "Lists the LATENCY subcommands.",
        "latency|histogram" => "Returns the cumulative latency distributions of commands.",
        "latency|history" => "Returns the samples of one latency event class.",
        "latency|latest" => "Returns the latest samples of every latency event class.",
        "latency|reset" => "Forgets the samples of latency event classes.",
        "memory|doctor" => "Reports on the memory use and what may be wrong with it.",
        "memory|help" => "Lists the MEMORY subcommands.",
        "memory|malloc-stats" => "Returns the allocator's own figures.",
        "memory|purge" => "Gives the allocator's free pages back to the operating system.",
        "memory|usage" => "Estimates how much memory a key and its value use.",
        "object|encoding" => "Returns the internal encoding of a key's value.",
        "object|freq" => "Returns the LFU access frequency of a key.",
        "object|help" => "Lists the OBJECT subcommands.",
        "object|idletime" => "Returns the seconds since a key was last accessed.",
        "object|refcount" => "Returns the reference count of a key's value.",
        "pubsub|channels" => "Returns the channels that have subscribers.",
        "pubsub|help" => "Lists the PUBSUB subcommands.",
        "pubsub|numpat" => "Returns how many patterns clients are subscribed to.",
        "pubsub|numsub" => "Returns the number of subscribers of channels.",
        "pubsub|shardchannels" => "Returns the shard channels that have subscribers.",
        "pubsub|shardnumsub" => "Returns the number of subscribers of shard channels.",
        "slowlog|get" => "Returns entries of the slow log.",
        "slowlog|help" => "Lists the SLOWLOG subcommands.",
        "slowlog|len" => "Returns the number of entries in the slow log.",
        "slowlog|reset" => "Empties the slow log.",
        _ => "",
    }
}

/// ```text
/// WAIT numreplicas timeout
/// ```
/// A standalone server has no replicas: 0 at once when no replica is asked for (or inside
/// MULTI/EXEC, as Redis), otherwise the client blocks until the timeout in milliseconds (0 =
/// forever, `CLIENT UNBLOCK` ends it) and gets 0, as redis-server 7.0 without replicas.
pub(crate) fn wait(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let numreplicas = args.next_int()?;
    let timeout = parse_i64(args.next_bytes()?)
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    let timeout = u64::try_from(timeout).map_err(|_| CmdError::msg("ERR timeout is negative"))?;
    if numreplicas <= 0 {
        write::integer(ctx.out, 0);
        return Ok(());
    }
    crate::blocking::block_client(ctx, &[], crate::blocking::BlockOp::Wait, timeout);
    Ok(())
}

/// `ROLE`: a standalone server is a master with no replicas and offset 0.
pub(crate) fn role(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    write::array_len(ctx.out, 3);
    write::bulk(ctx.out, b"master");
    write::integer(ctx.out, 0);
    write::array_len(ctx.out, 0);
    Ok(())
}

/// ```text
/// COMMAND | COMMAND COUNT | COMMAND INFO [name ...] | COMMAND DOCS [name ...] | COMMAND LIST
/// ```
pub(crate) fn command(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let Some(sub) = args.peek() else {
        write::array_len(ctx.out, command_count());
        for spec in commands() {
            write_command_info(ctx, spec);
        }
        return Ok(());
    };
    args.next_bytes()?;
    if is(sub, b"COUNT") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("command|count"));
        }
        write::integer(ctx.out, command_count() as i64);
    } else if is(sub, b"INFO") {
        let names = args.rest();
        if names.is_empty() {
            write::array_len(ctx.out, command_count());
            for spec in commands() {
                write_command_info(ctx, spec);
            }
        } else {
            write::array_len(ctx.out, names.len());
            for n in names {
                match named_meta(n) {
                    Some((spec, None)) => write_command_info(ctx, spec),
                    Some((_, Some(m))) => write_meta_info(ctx.out, ctx.client.proto, m, m.arity),
                    None => write::null_bulk(ctx.out, ctx.client.proto),
                }
            }
        }
    } else if is(sub, b"DOCS") {
        let names = args.rest();
        let found: Vec<(&CommandSpec, Option<&keyspec::Meta>)> = if names.is_empty() {
            commands().map(|spec| (spec, None)).collect()
        } else {
            names.iter().filter_map(|n| named_meta(n)).collect()
        };
        write::map_len(ctx.out, ctx.client.proto, found.len());
        for (spec, sub) in found {
            match sub {
                None => write_command_docs(ctx, spec),
                Some(m) => {
                    write::bulk(ctx.out, m.name.as_bytes());
                    write_docs(
                        ctx.out,
                        ctx.client.proto,
                        subcommand_summary(m.name),
                        m.since,
                        m.group,
                        Some(m),
                    );
                }
            }
        }
    } else if is(sub, b"LIST") {
        // Each command followed by its implemented subcommands, as Redis 7.0 lists them.
        let mut names = Vec::with_capacity(command_count());
        for spec in commands() {
            names.push(spec.name);
            if let Some(m) = keyspec::meta(spec.name) {
                names.extend(m.subcommands.iter().filter(|s| implemented_subcommand(s)));
            }
        }
        write::array_len(ctx.out, names.len());
        for n in names {
            write::bulk(ctx.out, n.as_bytes());
        }
    } else if is(sub, b"GETKEYS") || is(sub, b"GETKEYSANDFLAGS") {
        let with_flags = is(sub, b"GETKEYSANDFLAGS");
        let call = args.rest();
        if call.len() < 2 {
            return Err(CmdError::WrongArity(if with_flags {
                "command|getkeysandflags"
            } else {
                "command|getkeys"
            }));
        }
        getkeys(ctx, call, with_flags)?;
    } else if is(sub, b"HELP") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("command|help"));
        }
        let lines = [
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Details of every command.",
            "COUNT",
            "    How many commands there are.",
            "LIST",
            "    The names of every command and subcommand.",
            "INFO [<command-name> ...]",
            "    Details of the named commands (all when none is named).",
            "DOCS [<command-name> ...]",
            "    Documentation of the named commands (all when none is named).",
            "GETKEYS <full-command>",
            "    The key arguments of a full command.",
            "GETKEYSANDFLAGS <full-command>",
            "    The key arguments of a full command, with their access flags.",
            "HELP",
            "    This help.",
        ];
        help(ctx, &lines);
    } else {
        return Err(unknown_subcommand("command", sub));
    }
    Ok(())
}

/// `COMMAND GETKEYS` / `GETKEYSANDFLAGS`: the keys of `call` as Redis 7.0 finds them (key
/// specs, or the command's own rule), with their key-spec flags.
fn getkeys(ctx: &mut Ctx<'_, '_>, call: &[bytes::Bytes], with_flags: bool) -> Result<(), CmdError> {
    let invalid = || CmdError::msg("ERR Invalid command specified");
    let spec = call.first().and_then(|n| lookup(n)).ok_or_else(invalid)?;
    let top = keyspec::meta(spec.name);
    // A container with a subcommand argument: the subcommand's data (unknown: invalid).
    let (m, arity) = match call.get(1) {
        Some(sub) if spec.has(flag::CONTAINER) => {
            let m = subcommand_meta(spec.name, sub).ok_or_else(invalid)?;
            (Some(m), m.arity)
        }
        _ => (top, spec.arity),
    };
    let n = call.len() as i32;
    let has_keys = match m {
        Some(m) => m.key_specs.iter().any(|ks| !ks.flags.contains(&"not_key")),
        None => spec.first_key > 0,
    };
    if !has_keys {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    if (arity > 0 && n != arity) || n < -arity {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys: Vec<(usize, &[&str])> = match m {
        Some(m) => keyspec::keys_of_call(m, call).unwrap_or_default(),
        None => {
            let (first, last, step) = (spec.first_key, spec.last_key, spec.step);
            let end = if last < 0 { n + last } else { last.min(n - 1) };
            (first..=end)
                .step_by(step.max(1) as usize)
                .map(|i| (i as usize, &[][..]))
                .collect()
        }
    };
    if keys.is_empty() {
        if m.is_some_and(|m| m.flags.contains(&"no_mandatory_keys")) {
            write::array_len(ctx.out, 0);
            return Ok(());
        }
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    write::array_len(ctx.out, keys.len());
    for (pos, flags) in keys {
        let key = call.get(pos).map(|b| &b[..]).unwrap_or_default();
        if with_flags {
            write::array_len(ctx.out, 2);
            write::bulk(ctx.out, key);
            write::set_len(ctx.out, ctx.client.proto, flags.len());
            for f in flags {
                write::simple(ctx.out, f.as_bytes());
            }
        } else {
            write::bulk(ctx.out, key);
        }
    }
    Ok(())
}

/// ```text
/// CONFIG GET pattern [pattern ...] | CONFIG SET name value [name value ...] |
/// CONFIG RESETSTAT | CONFIG REWRITE
/// ```
pub(crate) fn config(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    if is(sub, b"GET") {
        let patterns = args.rest();
        if patterns.is_empty() {
            return Err(CmdError::WrongArity("config|get"));
        }
        let cfg = ctx.shared.config.read().clone();
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for d in DIRECTIVES {
            let names = std::iter::once(d.name).chain(d.alias);
            for name in names {
                if patterns
                    .iter()
                    .any(|p| glob_match(p, name.as_bytes(), true))
                    && !pairs.iter().any(|(n, _)| *n == name)
                {
                    pairs.push((name, cfg.get_with(d)));
                }
            }
        }
        write::map_len(ctx.out, ctx.client.proto, pairs.len());
        for (n, v) in pairs {
            write::bulk(ctx.out, n.as_bytes());
            write::bulk(ctx.out, v.as_bytes());
        }
    } else if is(sub, b"SET") {
        let rest = args.rest();
        if rest.len() < 2 {
            return Err(CmdError::WrongArity("config|set"));
        }
        if !rest.len().is_multiple_of(2) {
            // A name without its value after the first pair: Redis 7.0 says syntax error.
            return Err(CmdError::Syntax);
        }
        let mut updated = ctx.shared.config.read().clone();
        let mut seen: Vec<&str> = Vec::new();
        for pair in rest.chunks_exact(2) {
            let name = String::from_utf8_lossy(&pair[0]).into_owned();
            let Some(d) = crate::config::find_directive(&name) else {
                return Err(CmdError::msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            if seen.contains(&d.name) {
                return Err(CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                )));
            }
            seen.push(d.name);
            if !d.runtime {
                return Err(CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                )));
            }
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            updated.set_with(d, &[value.as_str()]).map_err(|reason| {
                CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
                ))
            })?;
        }
        let turn_on = updated.appendonly;
        let previous = std::mem::replace(&mut *ctx.shared.config.write(), updated);
        // Inside EXEC eviction waits for the cron, as in Redis (a lower maxmemory evicts
        // from a timer): the queued commands after it still see every key, and EXEC may hold
        // every shard lock, which evicting now would wait on.
        let in_exec = ctx.tx.is_some() || ctx.client.in_exec;
        if in_exec && turn_on {
            // As Redis 7.0's startAppendOnly inside EXEC: the log and the rewrite that writes
            // its base start right after the EXEC, whose writes the base then holds. Nothing
            // can fail here: a failure to start shows later (`aof_last_bgrewrite_status`).
            ctx.shared.aof.schedule_start();
        }
        if ctx.shared.refresh_cached_config(!in_exec).is_err() {
            // As Redis 7.0: every setting of this CONFIG SET goes back to its old value (the
            // AOF is still off: it was off before, or turning it on could not fail).
            *ctx.shared.config.write() = previous;
            let _ = ctx.shared.refresh_cached_config(!in_exec);
            // As Redis words it; the reason is in the log.
            return Err(CmdError::msg(
                "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.",
            ));
        }
        ctx.ok();
    } else if is(sub, b"RESETSTAT") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("config|resetstat"));
        }
        for st in ctx.shared.stats.iter() {
            st.reset();
        }
        ctx.shared.dbs[0].reset_stats();
        ctx.shared.instantaneous.reset();
        ctx.shared.expiry.reset();
        ctx.shared.persist.reset_stats();
        ctx.shared.aof.reset_stats();
        ctx.shared.slowlog.entries.lock().clear();
        ctx.ok();
    } else if is(sub, b"REWRITE") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("config|rewrite"));
        }
        let (path, text) = {
            let cfg = ctx.shared.config.read();
            (cfg.config_file.clone(), cfg.to_conf_text())
        };
        let Some(path) = path else {
            return Err(CmdError::msg(
                "ERR The server is running without a config file",
            ));
        };
        let tmp = path.with_extension("tmp-rewrite");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| CmdError::msg(format!("ERR Rewriting config file: {e}")))?;
        ctx.ok();
    } else if is(sub, b"HELP") {
        let lines = [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "SET <directive> <value>",
            "RESETSTAT",
            "REWRITE",
            "HELP",
        ];
        help(ctx, &lines);
    } else {
        return Err(unknown_subcommand("config", sub));
    }
    Ok(())
}

/// ```text
/// INFO [section [section ...]]
/// ```
pub(crate) fn info(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sections: Vec<String> = args
        .rest()
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(ctx.shared, &sections);
    write::verbatim(ctx.out, ctx.client.proto, b"txt", text.as_bytes());
    Ok(())
}

/// ```text
/// TIME
/// ```
pub(crate) fn time(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let us = unix_micros();
    write::array_len(ctx.out, 2);
    write::bulk(ctx.out, (us / 1_000_000).to_string().as_bytes());
    write::bulk(ctx.out, (us % 1_000_000).to_string().as_bytes());
    Ok(())
}

/// ```text
/// SLOWLOG GET [count] | SLOWLOG LEN | SLOWLOG RESET | SLOWLOG HELP
/// ```
pub(crate) fn slowlog(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    if is(sub, b"GET") {
        let count = match args.peek() {
            None => 10,
            Some(_) => {
                let n = parse_i64(args.next_bytes()?)
                    .filter(|&n| n >= -1)
                    .ok_or_else(|| {
                        CmdError::msg("ERR count should be greater than or equal to -1")
                    })?;
                if n == -1 { usize::MAX } else { n as usize }
            }
        };
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("slowlog|get"));
        }
        let entries: Vec<_> = ctx
            .shared
            .slowlog
            .entries
            .lock()
            .iter()
            .take(count)
            .cloned()
            .collect();
        write::array_len(ctx.out, entries.len());
        for e in entries {
            write::array_len(ctx.out, 6);
            write::integer(ctx.out, e.id as i64);
            write::integer(ctx.out, e.time as i64);
            write::integer(ctx.out, e.micros as i64);
            write::array_len(ctx.out, e.args.len());
            for a in &e.args {
                write::bulk(ctx.out, a);
            }
            write::bulk(ctx.out, e.addr.as_bytes());
            write::bulk(ctx.out, e.name.as_bytes());
        }
    } else if is(sub, b"LEN") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("slowlog|len"));
        }
        let n = ctx.shared.slowlog.entries.lock().len();
        write::integer(ctx.out, n as i64);
    } else if is(sub, b"RESET") {
        if args.remaining() != 0 {
            return Err(CmdError::WrongArity("slowlog|reset"));
        }
        ctx.shared.slowlog.entries.lock().clear();
        ctx.ok();
    } else if is(sub, b"HELP") {
        let lines = [
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Print this help.",
        ];
        help(ctx, &lines);
    } else {
        return Err(unknown_subcommand("slowlog", sub));
    }
    Ok(())
}

/// ```text
/// MONITOR
/// ```
pub(crate) fn monitor(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    if !ctx.client.monitor {
        ctx.shared.add_monitor(ctx.client);
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// LASTSAVE
/// ```
pub(crate) fn lastsave(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    let t = ctx.shared.persist.lastsave.load(Ordering::Relaxed);
    write::integer(ctx.out, t as i64);
    Ok(())
}

/// ```text
/// SAVE
/// ```
/// Writes the snapshot on this loop thread; the other loops keep serving meanwhile.
pub(crate) fn save(ctx: &mut Ctx<'_, '_>, _args: &mut Args<'_>) -> Result<(), CmdError> {
    // A running BGSAVE or AOF rewrite holds the one snapshot: `save` reports it as WouldBlock.
    match crate::persist::save(ctx.shared) {
        Ok(_) => {
            ctx.ok();
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            Err(CmdError::msg("ERR Background save already in progress"))
        }
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

/// ```text
/// BGSAVE [SCHEDULE]
/// ```
/// Inside EXEC it is scheduled for right after it, as Redis 7.0 does.
pub(crate) fn bgsave(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let schedule = match args.rest() {
        [] => false,
        [a] if is(a, b"SCHEDULE") => true,
        _ => return Err(CmdError::Syntax),
    };
    let p = &ctx.shared.persist;
    if p.bgsave_in_progress() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    if ctx.tx.is_some() || ctx.client.in_exec {
        // As Redis 7.0 inside EXEC: the cut is taken right after it (`persist::after_exec`),
        // so it holds every write of the transaction.
        p.bgsave_scheduled.store(true, Ordering::Relaxed);
        write::simple(ctx.out, b"Background saving scheduled");
        return Ok(());
    }
    match crate::persist::bgsave(ctx.shared) {
        crate::persist::Start::Started => write::simple(ctx.out, b"Background saving started"),
        crate::persist::Start::Busy if schedule => {
            // Another snapshot (an AOF rewrite) is running: save when it is done.
            p.bgsave_scheduled.store(true, Ordering::Relaxed);
            write::simple(ctx.out, b"Background saving scheduled");
        }
        crate::persist::Start::Busy => {
            return Err(CmdError::msg(
                "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
    }
    Ok(())
}

/// ```text
/// DEBUG SLEEP seconds | DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] | DEBUG HELP
/// ```
pub(crate) fn debug(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    if is(sub, b"SLEEP") {
        let secs = args
            .next_bytes()
            .ok()
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or(CmdError::NotFloat)?;
        if secs > 0.0 && ctx.shared.config.read().enable_debug_command == "no" {
            // As Redis 7 with `enable-debug-command no`; `DEBUG SLEEP 0` stays a no-op.
            return Err(CmdError::msg(
                "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            ));
        }
        if secs > 0.0 {
            // As in Redis, DEBUG SLEEP blocks the (loop) thread that runs it.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
        }
        ctx.ok();
    } else if is(sub, b"RELOAD") {
        debug_allowed(ctx)?;
        reload(ctx, args)?;
    } else if is(sub, b"HELP") {
        write::array_len(ctx.out, 4);
        write::simple(
            ctx.out,
            b"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        );
        write::simple(ctx.out, b"RELOAD [option ...]");
        write::simple(
            ctx.out,
            b"    Save the RDB on disk and reload it back to memory. Options: MERGE, NOFLUSH, NOSAVE.",
        );
        write::simple(ctx.out, b"SLEEP <seconds>");
    } else {
        return Err(unknown_subcommand("debug", sub));
    }
    Ok(())
}

/// Redis 7.0's `enable-debug-command`: `no` refuses DEBUG, `local` allows it from loopback
/// and Unix socket connections only.
fn debug_allowed(ctx: &Ctx<'_, '_>) -> Result<(), CmdError> {
    let allowed = match ctx.shared.config.read().enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.client.info.addr.is_none_or(|a| a.ip().is_loopback()),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(CmdError::msg(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ))
    }
}

/// ```text
/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]
/// ```
/// Saves the dump, empties the data set and loads the dump back (`persist::debug_reload`).
/// Inside EXEC it runs as in Redis: EXEC runs such a transaction outside the all-shards
/// lock, whose shard locks the save, the flush and the load take ([`runs_outside_tx`]).
fn reload(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let (mut save, mut flush) = (true, true);
    for a in args.rest() {
        if is(a, b"NOSAVE") {
            save = false;
        } else if is(a, b"NOFLUSH") {
            flush = false;
        } else if !is(a, b"MERGE") {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    if ctx.tx.is_some() {
        // Not reached (see `runs_outside_tx`): refused rather than left to wait forever.
        return Err(CmdError::msg(
            "ERR DEBUG RELOAD is not supported inside MULTI",
        ));
    }
    if flush {
        super::keys::touch_watched(ctx, None);
    }
    match crate::persist::debug_reload(ctx.shared, save, flush) {
        Ok(()) => {
            ctx.ok();
            Ok(())
        }
        Err(crate::persist::ReloadError::Save) => Err(CmdError::msg("ERR")),
        Err(crate::persist::ReloadError::Load) => {
            Err(CmdError::msg("ERR Error trying to load the RDB dump"))
        }
    }
}

/// Whether EXEC must run a transaction holding this queued admin command without the
/// all-shards lock (command by command, still alone: an admin command makes EXEC hold the
/// exclusive side of the AOF order lock): DEBUG RELOAD (its save, flush and load) and CONFIG
/// RESETSTAT (it clears every shard's expired-keys counter) take shard locks that the
/// transaction would hold.
pub(crate) fn runs_outside_tx(spec: &CommandSpec, argv: &[bytes::Bytes]) -> bool {
    let sub = |word: &[u8]| argv.get(1).is_some_and(|a| is(a, word));
    match spec.name {
        "debug" => sub(b"RELOAD"),
        "config" => sub(b"RESETSTAT"),
        _ => false,
    }
}

/// ```text
/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
/// ```
pub(crate) fn shutdown(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for a in args.rest() {
        if is(a, b"SAVE") {
            save = true;
        } else if is(a, b"NOSAVE") {
            nosave = true;
        } else if is(a, b"ABORT") {
            abort = true;
        } else if is(a, b"NOW") || is(a, b"FORCE") {
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (save && nosave) || (abort && (save || nosave)) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    // The final save (SAVE, NOSAVE, or by the save points) runs once every loop has stopped,
    // so it holds every acknowledged write. On success Redis sends no reply; the connection
    // closes as the server exits.
    if save || nosave {
        *ctx.shared.persist.shutdown_save.lock() = Some(save);
    }
    log_warning!(
        "User requested shutdown{}...",
        if nosave { " (nosave)" } else { "" }
    );
    ctx.client.close_after_reply = true;
    ctx.shared.request_stop(StopReason::Command);
    Ok(())
}
