use bytes::{Bytes, BytesMut};

use super::RequestDecoder;
use crate::{DecodeError, Limits};

type Outcome = Result<Vec<Vec<Vec<u8>>>, (Vec<Vec<Vec<u8>>>, DecodeError)>;

/// Decodes every command in `input` fed at once: the commands, then the error if any.
fn all(input: &[u8], limits: Limits) -> Outcome {
    feed(&[input], limits)
}

/// Feeds `chunks` one after another, decoding as much as possible after each.
fn feed(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut dec = RequestDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut cmds = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match dec.decode(&mut buf, &mut args) {
                Ok(true) => cmds.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(false) => {
                    assert!(args.is_empty());
                    assert_eq!(dec.pending_len(), buf.len());
                    break;
                }
                Err(e) => return Err((cmds, e)),
            }
        }
    }
    Ok(cmds)
}

fn cmd(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

fn one(input: &[u8]) -> Vec<Vec<u8>> {
    let cmds = all(input, Limits::default()).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
    assert_eq!(
        cmds.len(),
        1,
        "{:?}: {cmds:?}",
        String::from_utf8_lossy(input)
    );
    cmds.into_iter().next().unwrap_or_default()
}

fn err(input: &[u8]) -> DecodeError {
    match all(input, Limits::default()) {
        Err((_, e)) => e,
        Ok(c) => panic!("{:?} decoded to {c:?}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn multibulk_basic_and_pipelined() {
    assert_eq!(one(b"*1\r\n$4\r\nPING\r\n"), cmd(&[b"PING"]));
    assert_eq!(
        one(b"*3\r\n$3\r\nSET\r\n$5\r\nk\0\r\nx\r\n$0\r\n\r\n"),
        cmd(&[b"SET", b"k\0\r\nx", b""])
    );
    let two = all(
        b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n",
        Limits::default(),
    );
    assert_eq!(two, Ok(vec![cmd(&[b"GET", b"a"]), cmd(&[b"PING"])]));
}

#[test]
fn arguments_are_zero_copy_slices() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING"[..]);
    let base = buf.as_ptr() as usize;
    let mut dec = RequestDecoder::new(Limits::default());
    let mut args = Vec::new();
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(true));
    assert_eq!(args[0].as_ptr() as usize, base + 8);
    assert_eq!(args[1].as_ptr() as usize, base + 17);
    assert_eq!(&buf[..], b"PING");
    // Unquoted inline arguments are slices too.
    buf.extend_from_slice(b" abc\r\n");
    let base = buf.as_ptr() as usize;
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(true));
    assert_eq!(args, [&b"PING"[..], &b"abc"[..]]);
    assert_eq!(args[1].as_ptr() as usize, base + 5);
}

#[test]
fn empty_and_negative_multibulk_are_skipped() {
    for skip in [
        &b"*0\r\n"[..],
        b"*-1\r\n",
        b"*-5\r\n",
        b"\r\n",
        b"\n",
        b"   \r\n",
        b" \t \n",
    ] {
        let mut input = skip.to_vec();
        input.extend_from_slice(b"PING\r\n");
        assert_eq!(
            all(&input, Limits::default()),
            Ok(vec![cmd(&[b"PING"])]),
            "{:?}",
            String::from_utf8_lossy(skip)
        );
        assert_eq!(all(skip, Limits::default()), Ok(vec![]));
    }
}

#[test]
fn redis_leniencies_are_kept() {
    // Redis skips the two bytes after a payload and the byte after a header's '\r' unchecked.
    assert_eq!(one(b"*1\r\n$4\r\nPINGxx"), cmd(&[b"PING"]));
    assert_eq!(one(b"*1\rX$4\r\nPING\r\n"), cmd(&[b"PING"]));
    assert_eq!(one(b"*1\r\n$4\r\r\nPING\r\n"), cmd(&[b"\nPIN"]));
}

#[test]
fn multibulk_errors_match_redis() {
    use DecodeError::*;
    assert_eq!(err(b"*1\r\n$-2\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$-1\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$-0\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$04\r\nPING\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$+4\r\nPING\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\n$536870913\r\n"), InvalidBulkLength);
    assert_eq!(err(b"*1\r\nx3\r\n"), ExpectedBulk(b'x'));
    assert_eq!(err(b"*1\r\n:3\r\n"), ExpectedBulk(b':'));
    assert_eq!(err(b"*1\r\n\n3\r\n"), ExpectedBulk(b'\n'));
    assert_eq!(err(b"*2\r\n$4\r\nECHO\r\n*1\r\n"), ExpectedBulk(b'*'));
    assert_eq!(err(b"*\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*-0\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*01\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*+1\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*1x\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*2147483648\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*1048577\r\n"), InvalidMultibulkLength);
    assert_eq!(err(b"*99999999999999999999999\r\n"), InvalidMultibulkLength);
    // Commands decoded before the error are still delivered.
    assert_eq!(
        all(b"PING\r\n*1\r\n$-2\r\n", Limits::default()),
        Err((vec![cmd(&[b"PING"])], InvalidBulkLength))
    );
    // An error waits, as in Redis, for the line to be complete.
    assert_eq!(all(b"*1\r\nx3", Limits::default()), Ok(vec![]));
    assert_eq!(all(b"*1\r\n$-2\r", Limits::default()), Ok(vec![]));
}

#[test]
fn claimed_sizes_are_not_trusted() {
    let mut dec = RequestDecoder::new(Limits::default());
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*1048576\r\n"[..]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(false));
    assert!(
        dec.spans.capacity() <= 2 * super::MAX_PREALLOC_ARGS,
        "{}",
        dec.spans.capacity()
    );
    buf.extend_from_slice(b"$536870912\r\n");
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(false));
    assert!(buf.capacity() < 1 << 20);
    assert_eq!(dec.pending_len(), 22);
}

#[test]
fn inline_quoting_matches_sdssplitargs() {
    let cases: &[(&[u8], &[&[u8]])] = &[
        (b"PING\n", &[b"PING"]),
        (b"PING\r\n", &[b"PING"]),
        (b"  SET  k   v  \r\n", &[b"SET", b"k", b"v"]),
        (b"SET\tk\tv\r\n", &[b"SET", b"k", b"v"]),
        (b"ECHO a\rb\r\n", &[b"ECHO", b"a", b"b"]),
        (b"ECHO a\x0bb\r\n", &[b"ECHO", b"a\x0bb"]),
        (b"ECHO \"a\"\x0bb\r\n", &[b"ECHO", b"a", b"b"]),
        (b"\x0bECHO\r\n", &[b"ECHO"]),
        (b"ECHO \"a\\x41\\n\"\r\n", &[b"ECHO", b"aA\n"]),
        (
            b"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n",
            &[b"ECHO", b"\n\r\t\x08\x07\\\""],
        ),
        (b"ECHO \"\\xff\\x00\\xAb\"\r\n", &[b"ECHO", b"\xff\x00\xab"]),
        (b"ECHO \"\\xZZ\"\r\n", &[b"ECHO", b"xZZ"]),
        (b"ECHO \"a\\x4\"\r\n", &[b"ECHO", b"ax4"]),
        (b"ECHO \"\\q\"\r\n", &[b"ECHO", b"q"]),
        (b"ECHO \"\"\r\n", &[b"ECHO", b""]),
        (b"ECHO ''\r\n", &[b"ECHO", b""]),
        (b"ECHO 'a\\'b'\r\n", &[b"ECHO", b"a'b"]),
        (b"ECHO 'a\\nb'\r\n", &[b"ECHO", b"a\\nb"]),
        (b"ECHO 'a\"b'\r\n", &[b"ECHO", b"a\"b"]),
        (b"ECHO \"a'b\"\r\n", &[b"ECHO", b"a'b"]),
        (b"ECHO \"a b\" c\r\n", &[b"ECHO", b"a b", b"c"]),
        (b"ECHO a\"b\"\r\n", &[b"ECHO", b"ab"]),
        (b"ECHO a\"b c\"\r\n", &[b"ECHO", b"ab c"]),
        (b"ECHO a'b c'\r\n", &[b"ECHO", b"ab c"]),
        (b"ECHO \"a\"\r\n", &[b"ECHO", b"a"]),
        (b"ECHO \"a\"\t\r\n", &[b"ECHO", b"a"]),
        (b"ECHO \"a\rb\"\r\n", &[b"ECHO", b"a\rb"]),
        (b"ECHO a\0b\r\n", &[b"ECHO", b"a\0b"]),
        (b"\"SET\" k v\n", &[b"SET", b"k", b"v"]),
    ];
    for (input, want) in cases {
        let want: Vec<Vec<u8>> = want.iter().map(|a| a.to_vec()).collect();
        assert_eq!(
            all(input, Limits::default()),
            Ok(vec![want]),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn inline_unbalanced_quotes() {
    for input in [
        &b"ECHO \"abc\r\n"[..],
        b"ECHO 'abc\r\n",
        b"ECHO \"abc\"def\r\n",
        b"ECHO 'abc'x\r\n",
        b"ECHO \"\\\r\n",
        b"ECHO \"a\\\"\r\n",
        b"ECHO 'a\\'\r\n",
        b"\"\n",
        b"ECHO \"\r\n\"\r\n",
    ] {
        assert_eq!(
            err(input),
            DecodeError::UnbalancedQuotes,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

fn small() -> Limits {
    Limits {
        max_bulk_len: 4,
        max_multibulk_len: 2,
        max_depth: 2,
        max_inline_len: 8,
    }
}

#[test]
fn each_limit_at_its_edge() {
    use DecodeError::*;
    let l = small();
    // max_bulk_len = 4
    assert_eq!(all(b"*1\r\n$4\r\nabcd\r\n", l), Ok(vec![cmd(&[b"abcd"])]));
    assert_eq!(all(b"*1\r\n$5\r\n", l), Err((vec![], InvalidBulkLength)));
    // max_multibulk_len = 2
    assert_eq!(
        all(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", l),
        Ok(vec![cmd(&[b"a", b"b"])])
    );
    assert_eq!(all(b"*3\r\n", l), Err((vec![], InvalidMultibulkLength)));
    // max_inline_len = 8: up to 8 bytes before the '\n' (a '\r' counts), complete or not.
    assert_eq!(all(b"abcdefgh\n", l), Ok(vec![cmd(&[b"abcdefgh"])]));
    assert_eq!(all(b"abcdefg\r\n", l), Ok(vec![cmd(&[b"abcdefg"])]));
    assert_eq!(all(b"abcdefgh", l), Ok(vec![]));
    assert_eq!(all(b"abcdefghi\n", l), Err((vec![], TooBigInlineRequest)));
    assert_eq!(all(b"abcdefgh\r\n", l), Err((vec![], TooBigInlineRequest)));
    assert_eq!(all(b"abcdefghi", l), Err((vec![], TooBigInlineRequest)));
    // The '*' line: up to 8 bytes before its '\r'.
    let l2 = Limits {
        max_multibulk_len: usize::MAX,
        ..l
    };
    assert_eq!(all(b"*0000000", l2), Ok(vec![]));
    assert_eq!(
        all(b"*-000000\r\n", l2),
        Err((vec![], InvalidMultibulkLength))
    );
    assert_eq!(
        all(b"*-1000000\r\n", l2),
        Err((vec![], TooBigMultibulkCountString))
    );
    assert_eq!(
        all(b"*00000000", l2),
        Err((vec![], TooBigMultibulkCountString))
    );
    // The '$' line likewise.
    assert_eq!(all(b"*1\r\n$0000000", l), Ok(vec![]));
    assert_eq!(
        all(b"*1\r\n$0000000\r\n", l),
        Err((vec![], InvalidBulkLength))
    );
    assert_eq!(
        all(b"*1\r\n$00000000", l),
        Err((vec![], TooBigBulkCountString))
    );
    assert_eq!(
        all(b"*1\r\n$00000000\r\n", l),
        Err((vec![], TooBigBulkCountString))
    );
}

#[test]
fn default_inline_limit_matches_redis() {
    let mut line = vec![b'x'; 64 * 1024];
    assert_eq!(all(&line, Limits::default()), Ok(vec![]));
    line.push(b'x');
    assert_eq!(
        all(&line, Limits::default()),
        Err((vec![], DecodeError::TooBigInlineRequest))
    );
}

#[test]
fn every_prefix_is_incomplete_and_untouched() {
    let inputs: &[&[u8]] = &[
        b"*3\r\n$3\r\nSET\r\n$5\r\nk\0\r\nx\r\n$0\r\n\r\n",
        b"SET k \"v w\"\r\n",
        b"*1\r\n$4\r\nPING\r\n",
    ];
    for input in inputs {
        for cut in 0..input.len() {
            let mut dec = RequestDecoder::new(Limits::default());
            let mut buf = BytesMut::from(&input[..cut]);
            let mut args = vec![Bytes::from_static(b"stale")];
            assert_eq!(
                dec.decode(&mut buf, &mut args),
                Ok(false),
                "{:?} cut {cut}",
                String::from_utf8_lossy(input)
            );
            assert!(args.is_empty());
            assert_eq!(&buf[..], &input[..cut]);
            assert_eq!(dec.pending_len(), cut);
        }
    }
}

#[test]
fn byte_by_byte_equals_whole() {
    let input: &[u8] = b"*2\r\n$3\r\nGET\r\n$3\r\na\r\n\r\n\r\nECHO \"x y\" 'z'\n*0\r\n*1\r\n$4\r\nPING\r\n*1\r\n$-2\r\n";
    let whole = all(input, Limits::default());
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(&chunks, Limits::default()), whole);
    assert!(matches!(whole, Err((ref c, DecodeError::InvalidBulkLength)) if c.len() == 3));
}

#[test]
fn incremental_parse_keeps_its_place() {
    // A large argument in many reads: the '$' header is parsed once, then each call only
    // compares lengths.
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100000\r\n"[..]);
    let mut args = Vec::new();
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(false));
    assert_eq!(
        dec.state,
        super::State::Multibulk {
            remaining: 1,
            bulk: Some(100_000)
        }
    );
    for _ in 0..100 {
        buf.extend_from_slice(&[b'v'; 1000]);
        assert_eq!(dec.decode(&mut buf, &mut args), Ok(false));
    }
    buf.extend_from_slice(b"\r\n");
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(true));
    assert_eq!(args[1].len(), 100_000);
    assert!(buf.is_empty());
    assert_eq!(dec.pending_len(), 0);
}

#[test]
fn discarded_buffer_resets_the_decoder() {
    let mut dec = RequestDecoder::new(Limits::default());
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1"[..]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(false));
    buf.clear();
    buf.extend_from_slice(b"PING\r\n");
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(true));
    assert_eq!(args, [&b"PING"[..]]);
}

#[test]
fn trickled_header_line_is_not_rescanned() {
    let mut dec = RequestDecoder::new(Limits::default());
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*"[..]);
    // A 64 KiB line one byte at a time: each call only looks at the new byte.
    for i in 0..64 * 1024 - 1 {
        buf.extend_from_slice(b"1");
        assert_eq!(dec.decode(&mut buf, &mut args), Ok(false), "at {i}");
        assert_eq!(dec.line_scanned, buf.len() - 1);
    }
    buf.extend_from_slice(b"1");
    assert_eq!(
        dec.decode(&mut buf, &mut args),
        Err(DecodeError::TooBigMultibulkCountString)
    );
    // Same for a '$' line, and the offsets restart with each line.
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    for &b in b"*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n" {
        buf.extend_from_slice(&[b]);
        let done = dec.decode(&mut buf, &mut args).unwrap();
        assert_eq!(done, buf.is_empty() && !args.is_empty());
    }
    assert_eq!(args, [&b"GET"[..], &b"0123456789"[..]]);
}

#[test]
fn huge_request_bookkeeping_is_released() {
    let mut wire = b"*5000\r\n".to_vec();
    for _ in 0..5000 {
        wire.extend_from_slice(b"$1\r\nx\r\n");
    }
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&wire[..]);
    let mut args = Vec::new();
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(true));
    assert_eq!(args.len(), 5000);
    assert!(dec.spans.capacity() <= 4 * super::MAX_PREALLOC_ARGS);
}

/// A plain reading of Redis's multibulk rules for input made only of multibulk requests, to
/// check the decoder against: no state, no fast paths, `parse_i64` for every number.
fn reference(input: &[u8], l: Limits) -> Outcome {
    use crate::num::parse_i64;
    use DecodeError::*;
    /// The line at `p`: `Ok(Some(cr))`, `Ok(None)` if incomplete, or the too-long error.
    fn line(
        input: &[u8],
        p: usize,
        max: usize,
        too_big: DecodeError,
    ) -> Result<Option<usize>, DecodeError> {
        match input[p..].iter().position(|&c| c == b'\r') {
            Some(i) if i > max => Err(too_big),
            Some(i) if p + i + 1 < input.len() => Ok(Some(p + i)),
            Some(_) => Ok(None),
            None if input.len() - p > max => Err(too_big),
            None => Ok(None),
        }
    }
    let mut cmds = Vec::new();
    let mut p = 0;
    'requests: while p < input.len() {
        assert_eq!(
            input[p], b'*',
            "the reference reads multibulk requests only"
        );
        let cr = match line(input, p, l.max_inline_len, TooBigMultibulkCountString) {
            Ok(Some(cr)) => cr,
            Ok(None) => break,
            Err(e) => return Err((cmds, e)),
        };
        let count = match parse_i64(&input[p + 1..cr]) {
            Some(n) if n <= 0 => {
                p = cr + 2;
                continue;
            }
            Some(n) if n as u64 <= l.max_multibulk_len as u64 => n as usize,
            _ => return Err((cmds, InvalidMultibulkLength)),
        };
        let mut q = cr + 2;
        let mut args = Vec::new();
        for _ in 0..count {
            let cr = match line(input, q, l.max_inline_len, TooBigBulkCountString) {
                Ok(Some(cr)) => cr,
                Ok(None) => break 'requests,
                Err(e) => return Err((cmds, e)),
            };
            if input[q] != b'$' {
                return Err((cmds, ExpectedBulk(input[q])));
            }
            let len = match parse_i64(&input[q + 1..cr]) {
                Some(n) if n >= 0 && n as u64 <= l.max_bulk_len as u64 => n as usize,
                _ => return Err((cmds, InvalidBulkLength)),
            };
            q = cr + 2;
            if input.len() < q + len + 2 {
                break 'requests;
            }
            args.push(input[q..q + len].to_vec());
            q += len + 2;
        }
        cmds.push(args);
        p = q;
    }
    Ok(cmds)
}

/// The quick path (a whole request in the buffer) and the state machine (the same bytes one at
/// a time) both agree with [`reference`] on the edge cases of the header lines: digit counts,
/// leading zeros, limits.
#[test]
fn quick_path_agrees_with_state_machine() {
    let mut inputs: Vec<Vec<u8>> = vec![
        b"*1\r\n$4\r\nPINGxx".to_vec(),
        b"*1\rX$4\rXPINGxx".to_vec(),
        b"*1\r\n$0\r\n\r\n".to_vec(),
        b"*2\r\n$0\r\n\r\n$0\r\n\r\n".to_vec(),
        b"*01\r\n$4\r\nPING\r\n".to_vec(),
        b"*1\r\n$04\r\nPING\r\n".to_vec(),
        b"*1\r\n$00\r\n\r\n".to_vec(),
        b"*1\r\n$-0\r\n".to_vec(),
        b"*-1\r\n*1\r\n$1\r\nx\r\n".to_vec(),
        b"*0\r\n*1\r\n$1\r\nx\r\n".to_vec(),
        b"*1 \r\n$1\r\nx\r\n".to_vec(),
        b"*1\r\n$1 \r\nx\r\n".to_vec(),
        b"*1\r\n$1\r\nx".to_vec(),
        b"*1\r\n$1\r\nx\r".to_vec(),
        b"*1\r\n$1\r\nx\r\n*1\r\n$1\r\ny\r\n".to_vec(),
        b"*1\r\n$1\r".to_vec(),
        b"*1\r".to_vec(),
        b"*1\r\n%1\r\nx\r\n".to_vec(),
        b"*12\r\n".to_vec(),
    ];
    // Every argument count around the quick path's limit of 8.
    for n in [7, 8, 9, 10, 16] {
        let mut w = format!("*{n}\r\n").into_bytes();
        for i in 0..n {
            w.extend_from_slice(format!("${}\r\n{}\r\n", i.to_string().len(), i).as_bytes());
        }
        inputs.push(w);
    }
    // Lengths of 17 to 21 digits, and a bulk length at and over the limit.
    for digits in 17..=21 {
        let mut w = b"*1\r\n$1".to_vec();
        w.extend(std::iter::repeat_n(b'0', digits - 1));
        w.extend_from_slice(b"\r\n");
        inputs.push(w);
    }
    inputs.push(b"*1\r\n$536870912\r\n".to_vec());
    inputs.push(b"*1\r\n$536870913\r\n".to_vec());
    let tight = |max_inline_len, max_bulk_len, max_multibulk_len| Limits {
        max_bulk_len,
        max_multibulk_len,
        max_depth: 2,
        max_inline_len,
    };
    let limits = [
        Limits::default(),
        tight(1, 4, 2),
        tight(2, 9, 9),
        tight(3, 10, 10),
        tight(3, 99, 99),
        tight(4, 100, 100),
        tight(2, 0, 1),
    ];
    // And each of those lines' lengths right at and over the line limits.
    for len in [9usize, 10, 99, 100] {
        let mut w = format!("*1\r\n${len}\r\n").into_bytes();
        w.extend(std::iter::repeat_n(b'v', len));
        w.extend_from_slice(b"\r\n");
        inputs.push(w);
        inputs.push(format!("*{len}\r\n").into_bytes());
    }
    for input in &inputs {
        for l in limits {
            let want = reference(input, l);
            let what = format!("{:?} {l:?}", String::from_utf8_lossy(input));
            assert_eq!(all(input, l), want, "{what}");
            let chunks: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(feed(&chunks, l), want, "{what}");
        }
    }
}
