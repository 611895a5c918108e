//! Pub/Sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB, and Redis
//! 7.0's shard channels SSUBSCRIBE SUNSUBSCRIBE SPUBLISH (standalone: one shard, no slot
//! checks). The registry and the delivery of messages are in `crate::pubsub`.
//!
//! A RESP2 client subscribed to anything is in Redis's subscribed mode: it may only run the
//! commands [`allowed_when_subscribed`] names (the dispatcher refuses the rest); a RESP3 client
//! may run anything, its messages arriving as push frames.

use sabaody_resp::write;

use super::flag::{FAST, LOADING, MAY_REPLICATE, NOSCRIPT, STALE};
use super::{Args, CmdError, CommandSpec, Ctx, cmd, help, unknown_subcommand};
use crate::pubsub::Kind;

/// The Pub/Sub commands, in `COMMAND` order.
pub(crate) static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "subscribe",
        -2,
        NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        subscribe,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels."
    ),
    cmd!(
        "unsubscribe",
        -1,
        NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        unsubscribe,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels."
    ),
    cmd!(
        "psubscribe",
        -2,
        NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        psubscribe,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match patterns."
    ),
    cmd!(
        "punsubscribe",
        -1,
        NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        punsubscribe,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match patterns."
    ),
    cmd!(
        "publish",
        3,
        LOADING | STALE | FAST | MAY_REPLICATE,
        0,
        0,
        0,
        publish,
        "pubsub",
        "2.0.0",
        "Posts a message to a channel."
    ),
    cmd!(
        "pubsub",
        -2,
        super::flag::CONTAINER,
        0,
        0,
        0,
        pubsub,
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands."
    ),
    cmd!(
        "ssubscribe",
        -2,
        NOSCRIPT | LOADING | STALE,
        1,
        -1,
        1,
        ssubscribe,
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels."
    ),
    cmd!(
        "sunsubscribe",
        -1,
        NOSCRIPT | LOADING | STALE,
        1,
        -1,
        1,
        sunsubscribe,
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels."
    ),
    cmd!(
        "spublish",
        3,
        LOADING | STALE | FAST | MAY_REPLICATE,
        1,
        1,
        1,
        spublish,
        "pubsub",
        "7.0.0",
        "Posts a message to a shard channel."
    ),
];

/// The commands a RESP2 client in subscribed mode may run, as Redis 7.0's processCommand
/// lists them.
pub(crate) fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// ```text
/// SUBSCRIBE channel [channel ...]
/// ```
fn subscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    ctx.shared
        .pubsub
        .subscribe(ctx.client, Kind::Channel, names, ctx.out);
    Ok(())
}

/// ```text
/// PSUBSCRIBE pattern [pattern ...]
/// ```
fn psubscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    ctx.shared
        .pubsub
        .subscribe(ctx.client, Kind::Pattern, names, ctx.out);
    Ok(())
}

/// ```text
/// SSUBSCRIBE shardchannel [shardchannel ...]
/// ```
/// Refused inside EXEC, as Redis 7.0 refuses it to a client that must get one reply per
/// command (SUBSCRIBE and PSUBSCRIBE are let through there).
fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    if ctx.tx.is_some() || ctx.client.in_exec {
        return Err(CmdError::msg(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    let names = args.rest();
    ctx.shared
        .pubsub
        .subscribe(ctx.client, Kind::Shard, names, ctx.out);
    Ok(())
}

/// ```text
/// UNSUBSCRIBE [channel ...]
/// ```
fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    ctx.shared
        .pubsub
        .unsubscribe(ctx.client, Kind::Channel, names, ctx.out);
    Ok(())
}

/// ```text
/// PUNSUBSCRIBE [pattern ...]
/// ```
fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    ctx.shared
        .pubsub
        .unsubscribe(ctx.client, Kind::Pattern, names, ctx.out);
    Ok(())
}

/// ```text
/// SUNSUBSCRIBE [shardchannel ...]
/// ```
fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let names = args.rest();
    ctx.shared
        .pubsub
        .unsubscribe(ctx.client, Kind::Shard, names, ctx.out);
    Ok(())
}

/// ```text
/// PUBLISH channel message
/// ```
/// Replies the number of copies sent (channel subscribers plus each matching pattern
/// subscription). As in Redis 7.0 it is not written to the AOF (Redis propagates it to
/// replicas only).
fn publish(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    publish_to(ctx, args, false)
}

/// ```text
/// SPUBLISH shardchannel message
/// ```
fn spublish(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    publish_to(ctx, args, true)
}

fn publish_to(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>, shard: bool) -> Result<(), CmdError> {
    let channel = args.next_bytes()?;
    let message = args.next_bytes()?;
    let n = ctx
        .shared
        .pubsub
        .publish(ctx.shared, ctx.client, ctx.out, shard, channel, message);
    write::integer(ctx.out, n as i64);
    Ok(())
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// ```text
/// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
///        SHARDNUMSUB [shardchannel ...] | HELP
/// ```
fn pubsub(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    let is = |w: &[u8]| sub.eq_ignore_ascii_case(w);
    let rest = args.rest();
    if is(b"HELP") {
        help(ctx, PUBSUB_HELP);
    } else if (is(b"CHANNELS") || is(b"SHARDCHANNELS")) && rest.len() <= 1 {
        let pattern = rest.first().map(|p| &p[..]);
        let names = ctx.shared.pubsub.channels(is(b"SHARDCHANNELS"), pattern);
        write::array_len(ctx.out, names.len());
        for n in names {
            write::bulk(ctx.out, &n);
        }
    } else if is(b"NUMSUB") || is(b"SHARDNUMSUB") {
        let shard = is(b"SHARDNUMSUB");
        write::array_len(ctx.out, rest.len() * 2);
        for c in rest {
            write::bulk(ctx.out, c);
            write::integer(ctx.out, ctx.shared.pubsub.numsub(shard, c) as i64);
        }
    } else if is(b"NUMPAT") {
        write::integer(ctx.out, ctx.shared.pubsub.sizes().1 as i64);
    } else if is(b"CHANNELS") || is(b"SHARDCHANNELS") {
        // Redis's addReplySubcommandSyntaxError: the subcommand as the client wrote it.
        let name = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{name}'. Try PUBSUB HELP."
        )));
    } else {
        return Err(unknown_subcommand("pubsub", sub));
    }
    Ok(())
}
