//! Redis 7 command metadata beyond the command table: full `COMMAND INFO` flags, tips, key
//! specs and subcommands (data in [`super::meta`], generated from redis-server 7.0 by
//! `scripts/gen-command-meta.py`), and the key extraction `COMMAND GETKEYS` and
//! `COMMAND GETKEYSANDFLAGS` do with them.
//!
//! Key extraction follows Redis 7.0's rules: each key spec finds its first key (a fixed index,
//! or the argument after a keyword searched from a start index, forwards or backwards), then
//! its keys (a range relative to that first key, or a count read from an argument); a spec
//! that cannot apply to the arguments makes the whole extraction fail, and then the commands
//! that have their own key function in Redis (ZUNION and friends, SORT, SET, BITFIELD, ...)
//! use it (see [`keys_of_call`]).

use bytes::Bytes;

use super::meta::META;

/// One command's (or subcommand's, named `container|sub`) `COMMAND INFO` data.
pub(crate) struct Meta {
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first: i32,
    pub last: i32,
    pub step: i32,
    pub categories: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    pub subcommands: &'static [&'static str],
    /// `COMMAND DOCS` facts: the version that added it, its group, `deprecated` and since
    /// when, and its argument grammar (what redis-cli shows as hints).
    pub since: &'static str,
    pub group: &'static str,
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub args: &'static [Arg],
}

/// One argument of a command's `COMMAND DOCS` grammar.
pub(crate) struct Arg {
    pub name: &'static str,
    /// `key`, `string`, `integer`, `double`, `pattern`, `unix-time`, `pure-token`, `oneof`,
    /// `block`.
    pub typ: &'static str,
    /// The key spec of a `key` (or key `pattern`) argument, else -1.
    pub key_spec_index: i64,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    /// The alternatives of a `oneof`, the parts of a `block`.
    pub args: &'static [Arg],
}

/// A Redis 7 key spec.
pub(crate) struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: &'static [&'static str],
    pub begin: Begin,
    pub find: Find,
}

/// Where a key spec's first key is.
pub(crate) enum Begin {
    /// At this argument index.
    Index(i64),
    /// Right after `keyword`, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i64,
    },
    /// Only the command knows (SORT's BY/GET patterns).
    Unknown,
}

/// How a key spec's keys follow its first key.
pub(crate) enum Find {
    /// Keys up to `lastkey` after the first (negative: counted from the end; with `limit`,
    /// only the first 1/limit of the remaining arguments), every `keystep`.
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    /// The number of keys is the argument `keynumidx` after the first key's position, the
    /// keys start `firstkey` after it, every `keystep`.
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    Unknown,
}

/// The metadata of `name` (lower case; `container|sub` for a subcommand), if redis-server
/// 7.0 has that command.
pub(crate) fn meta(name: &str) -> Option<&'static Meta> {
    META.binary_search_by(|m| m.name.cmp(name))
        .ok()
        .and_then(|i| META.get(i))
}

fn has_flag(flags: &[&str], f: &str) -> bool {
    flags.contains(&f)
}

/// Key positions of a call (`argv[0]` is the command name) with the flags of the spec that
/// found each, by the key specs alone; `None` when a spec cannot apply (Redis then falls
/// back to the command's own key function).
fn keys_by_specs(m: &Meta, argv: &[Bytes]) -> Option<Vec<(usize, &'static [&'static str])>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for spec in m.key_specs {
        if has_flag(spec.flags, "not_key") {
            continue;
        }
        let mut first = match spec.begin {
            Begin::Index(i) => i,
            Begin::Keyword { keyword, startfrom } => {
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv
                        .get(i as usize)
                        .is_some_and(|a| a.eq_ignore_ascii_case(keyword.as_bytes()))
                    {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match spec.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, keystep)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                // Redis reads the count with `string2ll` (no `+`, spaces or leading zeros),
                // refuses a negative one, then uses it as a C `int`: 4294967297 counts 1.
                let n = argv
                    .get(usize::try_from(first + keynumidx).ok()?)
                    .and_then(|a| super::parse_i64(a))
                    .filter(|&n| n >= 0)?;
                first += firstkey;
                (first + i64::from(n as i32) - 1, keystep)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags));
            i += step.max(1);
        }
    }
    Some(out)
}

/// Key positions of a call, as `COMMAND GETKEYS` reports them: by the key specs, or by the
/// command's own rules where Redis has a key function and the specs cannot decide.
/// `None`: the arguments are invalid for key extraction.
pub(crate) fn keys_of_call(
    m: &Meta,
    argv: &[Bytes],
) -> Option<Vec<(usize, &'static [&'static str])>> {
    let variable = m
        .key_specs
        .iter()
        .any(|s| has_flag(s.flags, "variable_flags"));
    if !variable && let Some(keys) = keys_by_specs(m, argv) {
        return Some(keys);
    }
    own_keys(m, argv)
}

const OW_UPDATE: &[&str] = &["OW", "update"];
const RO_ACCESS: &[&str] = &["RO", "access"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const NO_FLAGS: &[&str] = &[];

/// C's `atoi` as glibc has it, `(int) strtol(s, NULL, 10)`: leading white space, a sign,
/// the digits up to the first other byte (none: 0), clamped to a 64-bit `long`, then cut to
/// its low 32 bits (`atoi("4294967297")` is 1, `atoi("99999999999999999999")` is -1).
fn atoi(s: &[u8]) -> i32 {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let t = s
        .iter()
        .position(|c| !ws(c))
        .map_or(&s[s.len()..], |i| &s[i..]);
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i128 = 0;
    for &c in digits.iter().take_while(|c| c.is_ascii_digit()) {
        v = (v * 10 + i128::from(c - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    let long = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    long as i32
}

/// Redis's `genericGetKeys`: `atoi` of the count at `count_at`, then that many keys from
/// `first` (none when the count is below 1 or more than the arguments left), then the
/// destination at `store_at`, last; every key without flags.
fn generic_keys(
    argv: &[Bytes],
    store_at: Option<usize>,
    count_at: usize,
    first: usize,
) -> Vec<(usize, &'static [&'static str])> {
    let num = atoi(argv.get(count_at).map_or(&[][..], |a| &a[..]));
    let left = argv.len().saturating_sub(first);
    let Some(num) = usize::try_from(num).ok().filter(|&n| n >= 1 && n <= left) else {
        return Vec::new();
    };
    let mut v: Vec<(usize, &'static [&'static str])> =
        (first..first + num).map(|i| (i, NO_FLAGS)).collect();
    v.extend(store_at.map(|s| (s, NO_FLAGS)));
    v
}

fn is(arg: &Bytes, word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// The key functions Redis 7.0 has for the commands Sabaody implements (db.c's
/// `*GetKeys`): they run when the key specs cannot apply (a bad key count) or their flags
/// depend on the arguments (SET with GET, BITFIELD with writes), and for SORT's STORE.
fn own_keys(m: &Meta, argv: &[Bytes]) -> Option<Vec<(usize, &'static [&'static str])>> {
    let argc = argv.len();
    let keys = match m.name {
        "set" => {
            let get = argv.iter().skip(3).any(|a| is(a, "GET"));
            vec![(1, if get { RW_ACCESS_UPDATE } else { OW_UPDATE })]
        }
        "bitfield" => {
            // Read-only when every operation is a complete GET (OVERFLOW aside); anything
            // else, a syntax error included, counts as a write.
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let rest = argc - i - 1;
                let a = &argv[i];
                if is(a, "GET") && rest >= 2 {
                    i += 3;
                } else if is(a, "OVERFLOW") && rest >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            vec![(
                1,
                if readonly {
                    RO_ACCESS
                } else {
                    RW_ACCESS_UPDATE
                },
            )]
        }
        // Their key specs failed (a count `string2ll` refuses, or out of range): Redis's
        // `genericGetKeys` reads the count with `atoi` and gives keys without flags.
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            generic_keys(argv, None, 1, 2)
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => generic_keys(argv, Some(1), 2, 3),
        "blmpop" | "bzmpop" => generic_keys(argv, None, 2, 3),
        "sort" | "sort_ro" => {
            let mut v = vec![(1, RO_ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < argc {
                let a = &argv[i];
                let skip = if is(a, "LIMIT") {
                    2
                } else if is(a, "GET") || is(a, "BY") {
                    1
                } else if is(a, "STORE") && m.name == "sort" {
                    // Not skipped: the last STORE wins, as Redis's scan finds it.
                    if i + 1 < argc {
                        store = Some(i + 1);
                    }
                    0
                } else {
                    0
                };
                i += skip + 1;
            }
            if let Some(s) = store {
                v.push((s, OW_UPDATE));
            }
            v
        }
        "georadius" | "georadiusbymember" => {
            let mut v = vec![(1, RO_ACCESS)];
            let mut store = None;
            let start = if m.name == "georadius" { 6 } else { 5 };
            let mut i = start;
            while i < argc {
                if (is(&argv[i], "STORE") || is(&argv[i], "STOREDIST")) && i + 1 < argc {
                    store = Some(i + 1);
                    i += 1;
                }
                i += 1;
            }
            if let Some(s) = store {
                v.push((s, OW_UPDATE));
            }
            v
        }
        _ => return None,
    };
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::from(w.to_owned())).collect()
    }

    fn keys(cmd: &str) -> Option<Vec<usize>> {
        let a = argv(cmd);
        let name = std::str::from_utf8(&a[0]).unwrap().to_ascii_lowercase();
        let m = meta(&name).unwrap();
        keys_of_call(m, &a).map(|v| v.into_iter().map(|(i, _)| i).collect())
    }

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(META.windows(2).all(|w| w[0].name < w[1].name));
        for m in META {
            for s in m.subcommands {
                assert!(meta(s).is_some(), "{s}");
            }
        }
        assert_eq!(meta("get").unwrap().arity, 2);
        assert!(meta("client|list").is_some());
        assert!(meta("nosuch").is_none());
    }

    #[test]
    fn key_specs() {
        assert_eq!(keys("GET k"), Some(vec![1]));
        assert_eq!(keys("MSET a 1 b 2"), Some(vec![1, 3]));
        assert_eq!(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), Some(vec![1, 3, 4]));
        // numkeys 0: the specs fail, ZUNIONSTORE's own rule finds no key.
        assert_eq!(keys("ZUNIONSTORE d 0 a"), Some(vec![]));
        assert_eq!(keys("ZUNIONSTORE d x a"), Some(vec![]));
        assert_eq!(keys("LMPOP 2 a b LEFT"), Some(vec![2, 3]));
        assert_eq!(keys("GEORADIUS g 0 0 1 km STORE d"), Some(vec![1, 7]));
        assert_eq!(keys("GEORADIUS g 0 0 1 km"), Some(vec![1]));
        assert_eq!(
            keys("SORT s BY w_* LIMIT 0 1 GET # STORE d"),
            Some(vec![1, 10])
        );
        assert_eq!(keys("SET k v GET"), Some(vec![1]));
        // SORT: the last STORE wins; LIMIT, GET and BY skip their arguments.
        assert_eq!(keys("SORT l"), Some(vec![1]));
        assert_eq!(
            keys("SORT l STORE a LIMIT 0 STORE b GET STORE"),
            Some(vec![1, 3])
        );
        assert_eq!(keys("SORT l LIMIT STORE 1 STORE d"), Some(vec![1, 6]));
        assert_eq!(keys("SORT l STORE"), Some(vec![1]));
        assert_eq!(keys("SORT l BY STORE GET STORE STORE x"), Some(vec![1, 7]));
        assert_eq!(keys("SORT l STORE STORE d"), Some(vec![1, 4]));
        assert_eq!(keys("SORT_RO l STORE d"), Some(vec![1]));
        // A huge key count cannot allocate or overflow.
        assert_eq!(keys("LMPOP 9223372036854775807 a LEFT"), Some(vec![]));
        assert_eq!(keys("SINTERCARD -1 a"), Some(vec![]));
    }

    fn keys_and_flags(cmd: &str) -> Option<Vec<(usize, &'static [&'static str])>> {
        let a: Vec<Bytes> = cmd.split(',').map(|w| Bytes::from(w.to_owned())).collect();
        let name = std::str::from_utf8(&a[0]).unwrap().to_ascii_lowercase();
        keys_of_call(meta(&name).unwrap(), &a)
    }

    /// As redis-server 7.0.15 answers COMMAND GETKEYSANDFLAGS: a key count `string2ll`
    /// takes is cut to a C `int` by the key specs; one it refuses goes to the command's own
    /// key function, which reads it with `atoi`, lists the destination last and gives no
    /// flags.
    #[test]
    fn key_counts_as_redis_reads_them() {
        const OW: &[&str] = &["OW", "update"];
        const RO: &[&str] = &["RO", "access"];
        const NONE: &[&str] = &[];
        let k = keys_and_flags;
        assert_eq!(k("ZUNIONSTORE,d,1,a"), Some(vec![(1, OW), (3, RO)]));
        assert_eq!(
            k("ZUNIONSTORE,d,4294967297,a"),
            Some(vec![(1, OW), (3, RO)])
        );
        assert_eq!(k("SINTERCARD,4294967297,a"), Some(vec![(2, RO)]));
        for count in ["+1", "01", " 1", "1 ", "1abc", "-4294967295", "\t+1x"] {
            assert_eq!(
                k(&format!("ZUNIONSTORE,d,{count},a")),
                Some(vec![(3, NONE), (1, NONE)]),
                "{count:?}"
            );
            assert_eq!(k(&format!("ZUNION,{count},a")), Some(vec![(2, NONE)]));
            assert_eq!(k(&format!("LMPOP,{count},a,LEFT")), Some(vec![(2, NONE)]));
            assert_eq!(
                k(&format!("BLMPOP,0,{count},a,LEFT")),
                Some(vec![(3, NONE)])
            );
            assert_eq!(k(&format!("ZINTERCARD,{count},a")), Some(vec![(2, NONE)]));
        }
        for count in [
            "2147483649",
            "-0",
            "99999999999999999999",
            "0",
            "2",
            "x",
            "",
        ] {
            assert_eq!(
                k(&format!("ZUNIONSTORE,d,{count},a")),
                Some(vec![]),
                "{count:?}"
            );
        }
    }

    #[test]
    fn atoi_as_glibc() {
        for (s, want) in [
            ("", 0),
            ("12", 12),
            ("  -7x", -7),
            ("+3", 3),
            ("\x0b\x0c9", 9),
            ("4294967297", 1),
            ("-4294967295", 1),
            ("2147483648", i32::MIN),
            ("99999999999999999999", -1),
            ("-99999999999999999999", 0),
            ("- 1", 0),
            ("1\x002", 1),
        ] {
            assert_eq!(atoi(s.as_bytes()), want, "{s:?}");
        }
    }
}

#[cfg(test)]
mod table_tests {
    use super::super::{commands, flag};
    use super::meta;

    /// `SUBCOMMANDS` is sorted (binary searches), and each is a Redis 7.0 subcommand of a
    /// container flagged `CONTAINER`.
    #[test]
    fn subcommand_list_is_sorted_and_known() {
        use super::super::server::SUBCOMMANDS;
        assert!(SUBCOMMANDS.windows(2).all(|w| w[0] < w[1]));
        for s in SUBCOMMANDS {
            assert!(meta(s).is_some(), "{s}");
            let container = s.split('|').next().unwrap();
            let spec = commands().find(|c| c.name == container).unwrap();
            assert!(spec.has(flag::CONTAINER), "{container}");
        }
        for s in SUBCOMMANDS {
            assert!(
                !super::super::server::subcommand_summary_for_test(s).is_empty(),
                "{s} has no summary"
            );
        }
        for spec in commands().filter(|c| c.has(flag::CONTAINER)) {
            assert!(
                !meta(spec.name).unwrap().subcommands.is_empty(),
                "{}",
                spec.name
            );
        }
    }

    /// The command table's behaviour flags (what the server acts on: write, denyoom, fast,
    /// blocking, ...) agree with what `COMMAND INFO` reports from Redis's data, and so do
    /// arity and the legacy key positions.
    #[test]
    fn command_table_agrees_with_redis_data() {
        let mut diffs = Vec::new();
        for spec in commands() {
            let Some(m) = meta(spec.name) else { continue };
            let ours: Vec<&str> = flag::NAMES
                .iter()
                .filter(|(f, _)| spec.flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            // Our MOVABLEKEYS means "marks the keys it writes itself" (see `run` in cmd/mod.rs):
            // these write no key (or a STORE destination at a fixed position), so the table
            // does not set it where Redis reports `movablekeys`.
            let fixed_writes = matches!(
                spec.name,
                "zunion"
                    | "zinter"
                    | "zdiff"
                    | "zunionstore"
                    | "zinterstore"
                    | "zdiffstore"
                    | "sintercard"
                    | "zintercard"
            );
            let theirs: Vec<&str> = m
                .flags
                .iter()
                .copied()
                .filter(|f| flag::NAMES.iter().any(|(_, n)| n == f))
                .filter(|f| !(fixed_writes && *f == "movablekeys"))
                .collect();
            if m.subcommands.is_empty() && ours != theirs {
                diffs.push(format!(
                    "{}: flags ours {ours:?} redis {theirs:?}",
                    spec.name
                ));
            }
            // ZRANK/ZREVRANK take Redis 7.2's WITHSCORE.
            if spec.arity != m.arity && !matches!(spec.name, "zrank" | "zrevrank") {
                diffs.push(format!(
                    "{}: arity ours {} redis {}",
                    spec.name, spec.arity, m.arity
                ));
            }
            // Containers keep their subcommands' key position for routing (OBJECT ENCODING
            // key); Redis reports none for the container.
            if m.subcommands.is_empty()
                && (spec.first_key, spec.last_key, spec.step) != (m.first, m.last, m.step)
            {
                diffs.push(format!(
                    "{}: keys ours {:?} redis {:?}",
                    spec.name,
                    (spec.first_key, spec.last_key, spec.step),
                    (m.first, m.last, m.step)
                ));
            }
        }
        assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    }
}
