//! ACL for a server with one user, `default`, who may run every command on every key and
//! channel: what Redis 7.0 answers about that user, the password rules that change what AUTH
//! accepts, and the log of failed authentications.
//!
//! ```text
//! ACL WHOAMI | USERS | LIST | GETUSER user | CAT [category] | GENPASS [bits] |
//!     LOG [count | RESET] | DRYRUN user command [arg ...] | SETUSER default [rule ...] |
//!     DELUSER user [user ...] | LOAD | SAVE | HELP
//! ```
//!
//! As in Redis, `requirepass` is the default user's password: setting it (at start or with
//! `CONFIG SET`, when the value changes) replaces the user's passwords with that one, or makes
//! the user `nopass` when it is empty. `ACL SETUSER default` changes the passwords without
//! changing what `CONFIG GET requirepass` shows, as in Redis. Rules that would restrict the
//! user (key or channel patterns other than `*`, command rules other than `+@all`) or create
//! other users need real multi-user ACLs, which Sabaody does not have: they are refused with
//! an error, never accepted and ignored. A rule list may pass through a restricted state
//! (`reset on nopass ~* &* +@all`) as long as it ends with full access.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use sabaody_resp::write;
use sha2::{Digest, Sha256};

use super::{Args, CmdError, CommandSpec, Ctx, commands, help, keyspec, lookup, server};

/// The only user.
const DEFAULT: &str = "default";

/// Redis 7.0's ACL categories, in the order `ACL CAT` lists them.
const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Two log entries of the same failure this close (milliseconds) are one entry with a count
/// (Redis's `ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: u64 = 60_000;

/// How many of the newest log entries a new failure is compared with (Redis scans 10).
const LOG_GROUPING_SCAN: usize = 10;

/// Entries `ACL LOG` shows without a count.
const LOG_DEFAULT_COUNT: usize = 10;

/// The `default` user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct User {
    /// `on` / `off`: a disabled user cannot authenticate.
    enabled: bool,
    /// Any password is accepted (and new connections start authenticated if enabled).
    nopass: bool,
    /// SHA-256 digests of the passwords, in the order they were added.
    passwords: Vec<[u8; 32]>,
    /// `sanitize-payload` (`Some(true)`), `skip-sanitize-payload` (`Some(false)`), or
    /// neither (the initial default user). Shown by ACL LIST / GETUSER; Sabaody checks every
    /// RESTORE payload fully either way.
    sanitize: Option<bool>,
    /// `~*`: every key. The rules may clear it on the way, not at the end.
    allkeys: bool,
    /// `&*`: every channel.
    allchannels: bool,
    /// `+@all`: every command.
    allcommands: bool,
}

impl User {
    /// Redis's initial default user: `on nopass ~* &* +@all`.
    fn initial() -> User {
        User {
            enabled: true,
            nopass: true,
            passwords: Vec::new(),
            sanitize: None,
            allkeys: true,
            allchannels: true,
            allcommands: true,
        }
    }

    /// Flags in Redis's order (`ACLUserFlags`).
    fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// The `ACL LIST` line.
    fn describe(&self) -> String {
        let mut s = format!("user {DEFAULT}");
        for f in self.flags() {
            s.push(' ');
            s.push_str(f);
        }
        for p in &self.passwords {
            s.push_str(" #");
            s.push_str(&hex(p));
        }
        s.push_str(" ~* &* +@all");
        s
    }

    fn resetpass(&mut self) {
        self.passwords.clear();
        self.nopass = false;
    }

    fn add_password(&mut self, digest: [u8; 32]) {
        if !self.passwords.contains(&digest) {
            self.passwords.push(digest);
        }
        self.nopass = false;
    }

    /// Whether `pass` is accepted (the user being enabled is checked apart).
    fn accepts(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let d = sha256(pass);
        // Every stored digest is compared in full, as Redis's time-independent comparison.
        self.passwords
            .iter()
            .fold(false, |found, p| found | digest_eq(p, &d))
    }

    /// Applies one `ACL SETUSER` rule. `Err` is the text after `modifier '<rule>': `.
    fn apply(&mut self, rule: &[u8]) -> Result<(), String> {
        let word = |w: &str| rule.eq_ignore_ascii_case(w.as_bytes());
        if word("on") {
            self.enabled = true;
        } else if word("off") {
            self.enabled = false;
        } else if word("nopass") {
            self.passwords.clear();
            self.nopass = true;
        } else if word("resetpass") {
            self.resetpass();
        } else if word("sanitize-payload") {
            self.sanitize = Some(true);
        } else if word("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if word("allkeys") || rule == b"~*" {
            self.allkeys = true;
        } else if word("resetkeys") {
            self.allkeys = false;
        } else if word("allchannels") || rule == b"&*" {
            self.allchannels = true;
        } else if word("resetchannels") {
            self.allchannels = false;
        } else if word("allcommands") || word("+@all") {
            self.allcommands = true;
        } else if word("nocommands") || word("-@all") {
            self.allcommands = false;
        } else if word("clearselectors") {
            // There are never selectors to clear.
        } else if word("reset") {
            // As Redis 7.0: resetpass resetkeys resetchannels off sanitize-payload
            // clearselectors -@all.
            self.resetpass();
            self.allkeys = false;
            self.allchannels = false;
            self.enabled = false;
            self.sanitize = Some(true);
            self.allcommands = false;
        } else if let Some(p) = rule.strip_prefix(b">") {
            self.add_password(sha256(p));
        } else if let Some(h) = rule.strip_prefix(b"#") {
            self.add_password(parse_digest(h)?);
        } else if let Some(p) = rule.strip_prefix(b"<") {
            self.remove_password(&sha256(p))?;
        } else if let Some(h) = rule.strip_prefix(b"!") {
            self.remove_password(&parse_digest(h)?)?;
        } else if rule.starts_with(b"~") || rule.starts_with(b"%") {
            if self.allkeys {
                return Err("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns".into());
            }
            return Err(NOT_SUPPORTED.into());
        } else if rule.starts_with(b"&") {
            if self.allchannels {
                return Err("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels".into());
            }
            return Err(NOT_SUPPORTED.into());
        } else if rule.starts_with(b"+") || rule.starts_with(b"-") || rule.starts_with(b"(") {
            return Err(NOT_SUPPORTED.into());
        } else {
            return Err("Syntax error".into());
        }
        Ok(())
    }

    fn remove_password(&mut self, digest: &[u8; 32]) -> Result<(), String> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != digest);
        if self.passwords.len() == before {
            return Err(
                "The password you are trying to remove from the user does not exist".into(),
            );
        }
        Ok(())
    }

    /// Every key, channel and command: the only state a user may be left in.
    fn full_access(&self) -> bool {
        self.allkeys && self.allchannels && self.allcommands
    }
}

/// What a rule that would need a restricted user is told.
const NOT_SUPPORTED: &str = "Sabaody has a single user with full access: key and channel patterns other than '*' and command rules other than '+@all' are not supported";

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// A `#<hash>` / `!<hash>` rule's digest: exactly 64 lower-case hex digits, as Redis checks.
fn parse_digest(h: &[u8]) -> Result<[u8; 32], String> {
    let bad = || {
        "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters".to_string()
    };
    if h.len() != 64 {
        return Err(bad());
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(h.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (
            pair.first().copied().and_then(val),
            pair.get(1).copied().and_then(val),
        ) else {
            return Err(bad());
        };
        *o = hi << 4 | lo;
    }
    Ok(out)
}

/// Where a failed authentication happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogContext {
    Toplevel,
    Multi,
}

/// One `ACL LOG` entry.
#[derive(Debug, Clone)]
struct LogEntry {
    count: u64,
    context: LogContext,
    /// The command as the client spelled it (`AUTH`, `hello`).
    object: Bytes,
    username: Bytes,
    /// Unix milliseconds of the latest occurrence.
    ctime_ms: u64,
    client_info: String,
}

/// The ACL state of the server: the default user and the log.
#[derive(Debug)]
pub(crate) struct Acl {
    user: Mutex<User>,
    /// Newest first.
    log: Mutex<VecDeque<LogEntry>>,
    /// `acllog-max-len`.
    log_max: AtomicUsize,
    /// The `requirepass` last applied to the user (`None`: empty). Only a change applies.
    requirepass: Mutex<Option<Vec<u8>>>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl {
            user: Mutex::new(User::initial()),
            log: Mutex::new(VecDeque::new()),
            log_max: AtomicUsize::new(128),
            requirepass: Mutex::new(None),
        }
    }
}

impl Acl {
    /// Applies the configuration: `requirepass` when it changed (the user's passwords become
    /// that one, or `nopass`), `acllog-max-len`. `must_auth` is set to whether new
    /// connections start unauthenticated.
    pub(crate) fn configure(
        &self,
        requirepass: Option<&[u8]>,
        log_max: usize,
        must_auth: &AtomicBool,
    ) {
        self.log_max.store(log_max, Ordering::Relaxed);
        let mut applied = self.requirepass.lock();
        if applied.as_deref() != requirepass {
            *applied = requirepass.map(<[u8]>::to_vec);
            let mut u = self.user.lock();
            u.resetpass();
            match requirepass {
                Some(p) => u.add_password(sha256(p)),
                None => u.nopass = true,
            }
        }
        drop(applied);
        self.publish(must_auth);
    }

    fn publish(&self, must_auth: &AtomicBool) {
        let u = self.user.lock();
        must_auth.store(!(u.enabled && u.nopass), Ordering::Relaxed);
    }

    /// Whether `AUTH password` (no user name) may be used: the default user has a password.
    pub(crate) fn default_has_password(&self) -> bool {
        !self.user.lock().nopass
    }

    fn check(&self, user: &[u8], pass: &[u8]) -> bool {
        let u = self.user.lock();
        user == DEFAULT.as_bytes() && u.enabled && u.accepts(pass)
    }

    /// Records a failed authentication, grouped with a like one of the last minute, and
    /// trims the log to `acllog-max-len`.
    fn log_failure(&self, entry: LogEntry) {
        let mut log = self.log.lock();
        let found = log.iter().take(LOG_GROUPING_SCAN).position(|e| {
            e.context == entry.context
                && e.ctime_ms.abs_diff(entry.ctime_ms) <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(old) = found.and_then(|i| log.remove(i)) {
            log.push_front(LogEntry {
                count: old.count + 1,
                ..entry
            });
            return;
        }
        log.push_front(entry);
        log.truncate(self.log_max.load(Ordering::Relaxed));
    }
}

/// Checks `user`/`pass` for AUTH and HELLO AUTH, logging a failure in `ACL LOG`.
pub(crate) fn authenticate(ctx: &mut Ctx<'_, '_>, object: &[u8], user: &[u8], pass: &[u8]) -> bool {
    let acl = &ctx.shared.acl;
    if acl.check(user, pass) {
        return true;
    }
    let in_exec = ctx.tx.is_some() || ctx.client.in_exec;
    let context = if in_exec {
        LogContext::Multi
    } else {
        LogContext::Toplevel
    };
    // The client as CLIENT LIST shows it; inside a transaction, running EXEC (as Redis).
    let client_info = if in_exec {
        ctx.client.info.list_line(
            ctx.shared.now_ms(),
            "exec",
            ctx.shared.pubsub.client_counts(ctx.client.info.id),
        )
    } else {
        ctx.shared.client_line(&ctx.client.info)
    };
    acl.log_failure(LogEntry {
        count: 1,
        context,
        object: Bytes::copy_from_slice(object),
        username: Bytes::copy_from_slice(user),
        ctime_ms: crate::server::unix_micros() / 1000,
        client_info,
    });
    false
}

fn is(arg: &[u8], word: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(word)
}

/// Redis's reply to a subcommand with a wrong number of arguments that its arity allows.
fn syntax_error(sub: &[u8]) -> CmdError {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try ACL HELP."
    ))
}

fn arity(ok: bool, name: &'static str) -> Result<(), CmdError> {
    if ok {
        Ok(())
    } else {
        Err(CmdError::WrongArity(name))
    }
}

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ```text
/// ACL subcommand [arg ...]
/// ```
pub(crate) fn acl(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let sub = args.next_bytes()?;
    let n = args.remaining();
    if is(sub, b"WHOAMI") {
        arity(n == 0, "acl|whoami")?;
        write::bulk(ctx.out, DEFAULT.as_bytes());
    } else if is(sub, b"USERS") {
        arity(n == 0, "acl|users")?;
        write::array_len(ctx.out, 1);
        write::bulk(ctx.out, DEFAULT.as_bytes());
    } else if is(sub, b"LIST") {
        arity(n == 0, "acl|list")?;
        let line = ctx.shared.acl.user.lock().describe();
        write::array_len(ctx.out, 1);
        write::bulk(ctx.out, line.as_bytes());
    } else if is(sub, b"GETUSER") {
        arity(n == 1, "acl|getuser")?;
        let name = args.next_bytes()?;
        if &name[..] != DEFAULT.as_bytes() {
            ctx.null();
            return Ok(());
        }
        let u = ctx.shared.acl.user.lock().clone();
        getuser(ctx, &u);
    } else if is(sub, b"CAT") {
        match n {
            0 => {
                write::array_len(ctx.out, CATEGORIES.len());
                for c in CATEGORIES {
                    write::bulk(ctx.out, c.as_bytes());
                }
            }
            1 => {
                let cat = args.next_bytes()?;
                let names = category_commands(cat).ok_or_else(|| {
                    CmdError::msg(format!(
                        "ERR Unknown category '{}'",
                        String::from_utf8_lossy(&cat[..cat.len().min(128)])
                    ))
                })?;
                write::array_len(ctx.out, names.len());
                for name in names {
                    write::bulk(ctx.out, name.as_bytes());
                }
            }
            _ => return Err(syntax_error(sub)),
        }
    } else if is(sub, b"GENPASS") {
        let bits = match n {
            0 => 256,
            1 => args.next_int()?,
            _ => return Err(syntax_error(sub)),
        };
        if !(1..=4096).contains(&bits) {
            return Err(CmdError::msg(
                "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            ));
        }
        let chars = (bits as usize).div_ceil(4);
        let mut raw = vec![0u8; chars.div_ceil(2)];
        random_bytes(&mut raw)
            .map_err(|e| CmdError::msg(format!("ERR Cannot read random bytes: {e}")))?;
        let mut text = hex(&raw);
        text.truncate(chars);
        write::bulk(ctx.out, text.as_bytes());
    } else if is(sub, b"LOG") {
        log(ctx, sub, args)?;
    } else if is(sub, b"DRYRUN") {
        dryrun(ctx, args)?;
    } else if is(sub, b"SETUSER") {
        setuser(ctx, args)?;
    } else if is(sub, b"DELUSER") {
        let names = args.rest();
        if names.iter().any(|u| &u[..] == DEFAULT.as_bytes()) {
            return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
        }
        // No other user exists.
        write::integer(ctx.out, 0);
    } else if is(sub, b"LOAD") {
        arity(n == 0, "acl|load")?;
        return Err(CmdError::msg(NO_ACL_FILE));
    } else if is(sub, b"SAVE") {
        arity(n == 0, "acl|save")?;
        return Err(CmdError::msg(NO_ACL_FILE));
    } else if is(sub, b"HELP") {
        arity(n == 0, "acl|help")?;
        help(ctx, HELP);
    } else {
        return Err(super::unknown_subcommand("acl", sub));
    }
    Ok(())
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

/// `ACL GETUSER default`: a map (a flat array in RESP2) in Redis 7.0's field order.
fn getuser(ctx: &mut Ctx<'_, '_>, u: &User) {
    let proto = ctx.client.proto;
    let out = &mut *ctx.out;
    write::map_len(out, proto, 6);
    write::bulk(out, b"flags");
    let flags = u.flags();
    write::set_len(out, proto, flags.len());
    for f in flags {
        write::bulk(out, f.as_bytes());
    }
    write::bulk(out, b"passwords");
    write::array_len(out, u.passwords.len());
    for p in &u.passwords {
        write::bulk(out, hex(p).as_bytes());
    }
    write::bulk(out, b"commands");
    write::bulk(out, b"+@all");
    write::bulk(out, b"keys");
    write::bulk(out, b"~*");
    write::bulk(out, b"channels");
    write::bulk(out, b"&*");
    write::bulk(out, b"selectors");
    write::array_len(out, 0);
}

/// The categories of a command: Redis's data for the commands it has, derived from the flags
/// for the others (BF.*, CMS.*) as `COMMAND INFO` shows them.
fn categories_of(spec: &CommandSpec) -> Vec<&'static str> {
    match keyspec::meta(spec.name) {
        Some(m) => m.categories.to_vec(),
        None => server::acl_categories(spec),
    }
}

/// `ACL CAT category`: the commands and implemented subcommands in it (a container is listed
/// with its own categories, as Redis lists it), or `None` for an unknown category.
fn category_commands(cat: &[u8]) -> Option<Vec<&'static str>> {
    let name = CATEGORIES.iter().find(|c| is(cat, c.as_bytes()))?;
    let tag = format!("@{name}");
    let mut out = Vec::new();
    for spec in commands() {
        if categories_of(spec).contains(&tag.as_str()) {
            out.push(spec.name);
        }
        if let Some(m) = keyspec::meta(spec.name) {
            for sub in m
                .subcommands
                .iter()
                .filter(|s| server::implemented_subcommand(s))
            {
                if keyspec::meta(sub).is_some_and(|sm| sm.categories.contains(&tag.as_str())) {
                    out.push(sub);
                }
            }
        }
    }
    Some(out)
}

/// Fills `buf` from the kernel's random source (ACL GENPASS passwords must not be guessable).
fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// ```text
/// ACL LOG [count | RESET]
/// ```
fn log(ctx: &mut Ctx<'_, '_>, sub: &[u8], args: &mut Args<'_>) -> Result<(), CmdError> {
    let mut count = LOG_DEFAULT_COUNT;
    match args.remaining() {
        0 => {}
        1 => {
            let a = args.next_bytes()?;
            if is(a, b"RESET") {
                ctx.shared.acl.log.lock().clear();
                ctx.ok();
                return Ok(());
            }
            let n = super::parse_i64(a).ok_or(CmdError::NotInteger)?;
            count = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
        }
        _ => return Err(syntax_error(sub)),
    }
    let entries: Vec<LogEntry> = ctx
        .shared
        .acl
        .log
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    let now = crate::server::unix_micros() / 1000;
    let proto = ctx.client.proto;
    let out = &mut *ctx.out;
    write::array_len(out, entries.len());
    for e in entries {
        write::map_len(out, proto, 7);
        write::bulk(out, b"count");
        write::integer(out, i64::try_from(e.count).unwrap_or(i64::MAX));
        write::bulk(out, b"reason");
        write::bulk(out, b"auth");
        write::bulk(out, b"context");
        write::bulk(
            out,
            match e.context {
                LogContext::Toplevel => b"toplevel",
                LogContext::Multi => b"multi",
            },
        );
        write::bulk(out, b"object");
        write::bulk(out, &e.object);
        write::bulk(out, b"username");
        write::bulk(out, &e.username);
        write::bulk(out, b"age-seconds");
        // Redis: (now - ctime) / 1000 as a double.
        let age_ms = now as i64 - e.ctime_ms as i64;
        write::double(out, proto, age_ms as f64 / 1000.0);
        write::bulk(out, b"client-info");
        write::bulk(out, e.client_info.as_bytes());
    }
    Ok(())
}

/// ```text
/// ACL DRYRUN username command [arg ...]
/// ```
/// The default user may run every command: OK for a known command called with a valid
/// number of arguments, Redis's errors otherwise.
fn dryrun(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let user = args.next_bytes()?;
    if &user[..] != DEFAULT.as_bytes() {
        return Err(CmdError::msg(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(user)
        )));
    }
    let call = args.rest();
    let Some(name) = call.first() else {
        return Err(CmdError::WrongArity("acl|dryrun"));
    };
    let not_found = || {
        CmdError::msg(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(name)
        ))
    };
    let spec = lookup(name).ok_or_else(not_found)?;
    let n = call.len() as i32;
    let (arity, full_name) = match call.get(1) {
        Some(sub) if keyspec::meta(spec.name).is_some_and(|m| !m.subcommands.is_empty()) => {
            let m = server::subcommand_meta(spec.name, sub).ok_or_else(not_found)?;
            (m.arity, m.name)
        }
        _ => (spec.arity, spec.name),
    };
    if (arity > 0 && n != arity) || n < -arity {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{full_name}' command"
        )));
    }
    ctx.ok();
    Ok(())
}

/// ```text
/// ACL SETUSER default [rule ...]
/// ```
/// The rules apply to a copy, in order; the copy replaces the user only if every rule was
/// valid and the user ends with full access (see the module doc).
fn setuser(ctx: &mut Ctx<'_, '_>, args: &mut Args<'_>) -> Result<(), CmdError> {
    let name = args.next_bytes()?;
    if &name[..] != DEFAULT.as_bytes() {
        return Err(CmdError::msg(format!(
            "ERR Error in ACL SETUSER for user '{}': Sabaody has only the 'default' user, other users are not supported",
            String::from_utf8_lossy(&name[..name.len().min(128)])
        )));
    }
    let rules = args.rest();
    let acl = &ctx.shared.acl;
    // Held to the end: two SETUSERs on different loop threads apply one after the other.
    let mut current = acl.user.lock();
    let mut u = current.clone();
    // The rule after which the user last lacked full access (for the error naming it).
    let mut restricting: Option<&Bytes> = None;
    for rule in rules {
        u.apply(rule).map_err(|reason| {
            CmdError::msg(format!(
                "ERR Error in ACL SETUSER modifier '{}': {reason}",
                String::from_utf8_lossy(rule)
            ))
        })?;
        if u.full_access() {
            restricting = None;
        } else if restricting.is_none() {
            restricting = Some(rule);
        }
    }
    if let Some(rule) = restricting {
        return Err(CmdError::msg(format!(
            "ERR Error in ACL SETUSER modifier '{}': {NOT_SUPPORTED} (end the rules with '~* &* +@all')",
            String::from_utf8_lossy(rule)
        )));
    }
    *current = u;
    drop(current);
    acl.publish(&ctx.shared.has_password);
    ctx.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_after(rules: &[&str]) -> Result<User, String> {
        let mut u = User::initial();
        for r in rules {
            u.apply(r.as_bytes())?;
        }
        Ok(u)
    }

    /// The rule lines of redis-server 7.0.15 for the same rules (checked live).
    #[test]
    fn list_lines_as_redis() {
        assert_eq!(
            User::initial().describe(),
            "user default on nopass ~* &* +@all"
        );
        let u = user_after(&[">pw"]).unwrap();
        assert_eq!(
            u.describe(),
            "user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all"
        );
        let u = user_after(&["reset", "on", "nopass", "~*", "&*", "+@all"]).unwrap();
        assert_eq!(
            u.describe(),
            "user default on nopass sanitize-payload ~* &* +@all"
        );
        let u = user_after(&["skip-sanitize-payload", ">a", ">a", ">b"]).unwrap();
        assert_eq!(
            u.describe(),
            "user default on skip-sanitize-payload #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb #3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d ~* &* +@all"
        );
        let u = user_after(&["OFF", "resetpass"]).unwrap();
        assert_eq!(u.describe(), "user default off ~* &* +@all");
    }

    #[test]
    fn passwords() {
        let u = user_after(&[">pw", ">other"]).unwrap();
        assert!(u.accepts(b"pw") && u.accepts(b"other") && !u.accepts(b"PW"));
        let u = user_after(&[">pw", "<pw"]).unwrap();
        assert!(u.passwords.is_empty() && !u.nopass && !u.accepts(b"pw"));
        let hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let u = user_after(&[&format!("#{hash}")]).unwrap();
        assert!(u.accepts(b"abc"));
        assert!(user_after(&[&format!("#{hash}"), &format!("!{hash}")]).is_ok());
        assert_eq!(
            user_after(&["<nope"]).unwrap_err(),
            "The password you are trying to remove from the user does not exist"
        );
        assert!(
            user_after(&["#abc"])
                .unwrap_err()
                .starts_with("The password hash")
        );
        assert!(
            user_after(&[&format!("#{}", hash.to_ascii_uppercase())])
                .unwrap_err()
                .starts_with("The password hash")
        );
        let u = user_after(&[">pw", "nopass"]).unwrap();
        assert!(u.nopass && u.passwords.is_empty() && u.accepts(b"anything"));
    }

    #[test]
    fn restricting_rules_are_refused() {
        assert_eq!(user_after(&["foo"]).unwrap_err(), "Syntax error");
        assert!(
            user_after(&["~foo"])
                .unwrap_err()
                .starts_with("Adding a pattern")
        );
        assert!(
            user_after(&["%R~*"])
                .unwrap_err()
                .starts_with("Adding a pattern")
        );
        assert!(user_after(&["&x"]).unwrap_err().contains("'allchannels'"));
        assert_eq!(
            user_after(&["resetkeys", "~foo"]).unwrap_err(),
            NOT_SUPPORTED
        );
        assert_eq!(user_after(&["-@dangerous"]).unwrap_err(), NOT_SUPPORTED);
        assert_eq!(user_after(&["+get"]).unwrap_err(), NOT_SUPPORTED);
        assert_eq!(user_after(&["(~x +get)"]).unwrap_err(), NOT_SUPPORTED);
        // Restricted on the way, full at the end.
        let u = user_after(&["resetkeys", "allkeys", "-@all", "allcommands"]).unwrap();
        assert!(u.full_access());
        assert!(!user_after(&["reset"]).unwrap().full_access());
    }

    fn entry(ctime_ms: u64, user: &str) -> LogEntry {
        LogEntry {
            count: 1,
            context: LogContext::Toplevel,
            object: Bytes::from_static(b"AUTH"),
            username: Bytes::copy_from_slice(user.as_bytes()),
            ctime_ms,
            client_info: format!("at={ctime_ms}"),
        }
    }

    /// As Redis 7.0: a like failure within a minute bumps the entry (and moves it to the
    /// front with the new time and client); later or different failures are new entries; the
    /// log keeps `acllog-max-len` entries.
    #[test]
    fn log_groups_and_trims() {
        let acl = Acl::default();
        acl.log_failure(entry(1_000, "a"));
        acl.log_failure(entry(2_000, "b"));
        acl.log_failure(entry(30_000, "a"));
        {
            let log = acl.log.lock();
            assert_eq!(log.len(), 2);
            assert_eq!((&log[0].username[..], log[0].count), (&b"a"[..], 2));
            assert_eq!(log[0].client_info, "at=30000");
            assert_eq!((&log[1].username[..], log[1].count), (&b"b"[..], 1));
        }
        acl.log_failure(entry(91_000, "a"));
        assert_eq!(acl.log.lock().len(), 3);
        let mut multi = entry(91_000, "a");
        multi.context = LogContext::Multi;
        acl.log_failure(multi);
        let mut lower = entry(91_000, "a");
        lower.object = Bytes::from_static(b"auth");
        acl.log_failure(lower);
        assert_eq!(acl.log.lock().len(), 5);
        acl.log_max.store(2, Ordering::Relaxed);
        acl.log_failure(entry(92_000, "c"));
        assert_eq!(acl.log.lock().len(), 2);
        acl.log_max.store(0, Ordering::Relaxed);
        acl.log_failure(entry(93_000, "d"));
        assert!(acl.log.lock().is_empty());
    }

    #[test]
    fn requirepass_applies_only_when_it_changes() {
        let acl = Acl::default();
        let must = AtomicBool::new(false);
        acl.configure(Some(b"secret"), 128, &must);
        assert!(must.load(Ordering::Relaxed));
        assert!(acl.check(b"default", b"secret") && !acl.check(b"default", b"x"));
        assert!(!acl.check(b"other", b"secret"));
        // ACL SETUSER default >second, then a CONFIG SET of something else: kept.
        acl.user.lock().apply(b">second").unwrap();
        acl.configure(Some(b"secret"), 128, &must);
        assert!(acl.check(b"default", b"second"));
        acl.configure(None, 128, &must);
        assert!(!must.load(Ordering::Relaxed));
        assert!(acl.check(b"default", b"whatever"));
        acl.user.lock().apply(b"off").unwrap();
        acl.publish(&must);
        assert!(must.load(Ordering::Relaxed));
        assert!(!acl.check(b"default", b"whatever"));
    }

    /// `ACL CAT` lists each category's commands from Redis's data (and the flags for the
    /// commands Redis lacks); every listed command is one this server has.
    #[test]
    fn categories() {
        let tx = category_commands(b"Transaction").unwrap();
        let mut tx = tx.clone();
        tx.sort_unstable();
        assert_eq!(tx, ["discard", "exec", "multi", "unwatch", "watch"]);
        assert!(category_commands(b"nosuch").is_none());
        let read = category_commands(b"read").unwrap();
        assert!(read.contains(&"get") && read.contains(&"bf.exists"));
        let admin = category_commands(b"admin").unwrap();
        assert!(admin.contains(&"config|set") && !admin.contains(&"config"));
        assert!(admin.contains(&"acl|setuser"));
        for c in CATEGORIES {
            for name in category_commands(c.as_bytes()).unwrap() {
                let base = name.split('|').next().unwrap();
                assert!(lookup(base.as_bytes()).is_some(), "{name}");
            }
        }
    }

    #[test]
    fn hex_and_digest() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        let d = sha256(b"abc");
        assert_eq!(parse_digest(hex(&d).as_bytes()).unwrap(), d);
        assert!(digest_eq(&d, &d) && !digest_eq(&d, &sha256(b"abd")));
    }
}
