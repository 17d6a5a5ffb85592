//! Tables of raw records against the decoder, each also fed split at every
//! byte boundary, and the encoder checked byte for byte and read back.

use super::*;

/// One record as an application would send it (§3.3).
fn rec(kind: u8, request_id: u16, content: &[u8], padding: u8) -> Vec<u8> {
    let [id_b1, id_b0] = request_id.to_be_bytes();
    let [len_b1, len_b0] = u16::try_from(content.len()).unwrap().to_be_bytes();
    let mut out = vec![VERSION_1, kind, id_b1, id_b0, len_b1, len_b0, padding, 0];
    out.extend_from_slice(content);
    // Padding bytes may hold anything; the receiver skips them.
    out.extend(std::iter::repeat_n(0xAA, usize::from(padding)));
    out
}

fn stdout(content: &str) -> Vec<u8> {
    rec(FCGI_STDOUT, 1, content.as_bytes(), 0)
}

fn stderr(content: &str) -> Vec<u8> {
    rec(FCGI_STDERR, 1, content.as_bytes(), 0)
}

/// An END_REQUEST body (§5.5) with this status.
fn end_body(app_status: u32, protocol_status: u8) -> Vec<u8> {
    let mut body = app_status.to_be_bytes().to_vec();
    body.extend_from_slice(&[protocol_status, 0, 0, 0]);
    body
}

fn end(app_status: u32, protocol_status: u8) -> Vec<u8> {
    rec(FCGI_END_REQUEST, 1, &end_body(app_status, protocol_status), 0)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// An event with its bytes copied out, adjacent pieces of one stream merged,
/// so that any slicing of the input gives the same list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Stdout(Vec<u8>),
    StdoutEnd,
    Stderr(Vec<u8>),
    StderrEnd,
    Values(Vec<u8>),
    UnknownType(u8),
    End(u32, ProtocolStatus),
}

/// How feeding the records ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// END_REQUEST was reached after this many bytes.
    Done { consumed: usize },
    /// The input ran out first.
    Partial,
    /// The decoder refused the records.
    Failed(Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    seen: Vec<Seen>,
    stop: Stop,
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    expect: Outcome,
}

fn out(text: &str) -> Seen {
    Seen::Stdout(text.as_bytes().to_vec())
}

fn err(text: &str) -> Seen {
    Seen::Stderr(text.as_bytes().to_vec())
}

fn done(name: &'static str, input: Vec<u8>, seen: Vec<Seen>, rest: usize) -> Case {
    let consumed = input.len() - rest;
    Case { name, input, expect: Outcome { seen, stop: Stop::Done { consumed } } }
}

fn partial(name: &'static str, input: Vec<u8>, seen: Vec<Seen>) -> Case {
    Case { name, input, expect: Outcome { seen, stop: Stop::Partial } }
}

fn bad(name: &'static str, input: Vec<u8>, seen: Vec<Seen>, error: Error) -> Case {
    Case { name, input, expect: Outcome { seen, stop: Stop::Failed(error) } }
}

#[rustfmt::skip] // one row per line reads as a table
fn table() -> Vec<Case> {
    use Error::*;
    use self::ProtocolStatus::*;
    use Seen::{End, StderrEnd, StdoutEnd, UnknownType, Values};
    let eos = || stdout("");
    let ok = || end(0, 0);
    let complete = || End(0, RequestComplete);
    let values = b"\x0e\x02FCGI_MAX_CONNS10\x0d\x02FCGI_MAX_REQS50\x0f\x01FCGI_MPXS_CONNS0".to_vec();
    let long_values = {
        // One pair whose value takes the content to exactly MAX_VALUES_BYTES.
        let value_len = MAX_VALUES_BYTES - 1 - 4 - 1;
        let mut v = vec![1, 0x80, 0, (value_len >> 8) as u8, value_len as u8, b'N'];
        v.resize(MAX_VALUES_BYTES, b'v');
        v
    };
    let big = "x".repeat(1000);
    vec![
        done("stdout, end of stdout, end", cat(&[&stdout("Status: 200\r\n\r\nhi"), &eos(), &ok()]), vec![out("Status: 200\r\n\r\nhi"), StdoutEnd, complete()], 0),
        done("stdout in three records", cat(&[&stdout("ab"), &stdout("cd"), &stdout("e"), &eos(), &ok()]), vec![out("abcde"), StdoutEnd, complete()], 0),
        done("padded stdout", cat(&[&rec(FCGI_STDOUT, 1, b"abc", 5), &eos(), &ok()]), vec![out("abc"), StdoutEnd, complete()], 0),
        done("255 bytes of padding", cat(&[&rec(FCGI_STDOUT, 1, b"a", 255), &stdout("b"), &eos(), &ok()]), vec![out("ab"), StdoutEnd, complete()], 0),
        done("padding on an empty stdout", cat(&[&stdout("a"), &rec(FCGI_STDOUT, 1, b"", 8), &ok()]), vec![out("a"), StdoutEnd, complete()], 0),
        done("padding on end request", cat(&[&eos(), &rec(FCGI_END_REQUEST, 1, &end_body(0, 0), 3)]), vec![StdoutEnd, complete()], 0),
        done("stderr interleaved", cat(&[&stdout("a"), &stderr("oops"), &stdout("b"), &stderr("!"), &eos(), &ok()]),
             vec![out("a"), err("oops"), out("b"), err("!"), StdoutEnd, complete()], 0),
        done("stderr only", cat(&[&stderr("fatal"), &stderr(""), &eos(), &end(255, 0)]), vec![err("fatal"), StderrEnd, StdoutEnd, End(255, RequestComplete)], 0),
        done("stderr after end of stdout", cat(&[&eos(), &stderr("late"), &ok()]), vec![StdoutEnd, err("late"), complete()], 0),
        done("app status", cat(&[&eos(), &end(0x0102_0304, 0)]), vec![StdoutEnd, End(0x0102_0304, RequestComplete)], 0),
        done("cant mpx conn", end(0, 1), vec![End(0, CantMpxConn)], 0),
        done("overloaded", end(0, 2), vec![End(0, Overloaded)], 0),
        done("unknown role", end(0, 3), vec![End(0, UnknownRole)], 0),
        done("end request without empty stdout", cat(&[&stdout("a"), &ok()]), vec![out("a"), complete()], 0),
        done("reserved bytes ignored", cat(&[&eos(), &rec(FCGI_END_REQUEST, 1, &[0, 0, 0, 0, 0, 9, 9, 9], 0)]), vec![StdoutEnd, complete()], 0),
        done("bytes after end are not consumed", cat(&[&eos(), &ok(), b"\x01\x06"]), vec![StdoutEnd, complete()], 2),
        done("values before the response", cat(&[&rec(FCGI_GET_VALUES_RESULT, 0, &values, 2), &eos(), &ok()]),
             vec![Values(values.clone()), StdoutEnd, complete()], 0),
        done("empty values", cat(&[&rec(FCGI_GET_VALUES_RESULT, 0, b"", 0), &ok()]), vec![Values(vec![]), complete()], 0),
        done("values at the bound", cat(&[&rec(FCGI_GET_VALUES_RESULT, 0, &long_values, 0), &ok()]), vec![Values(long_values.clone()), complete()], 0),
        done("unknown type", cat(&[&rec(FCGI_UNKNOWN_TYPE, 0, &[200, 0, 0, 0, 0, 0, 0, 0], 4), &ok()]), vec![UnknownType(200), complete()], 0),
        done("a kilobyte of stdout", cat(&[&stdout(&big), &eos(), &ok()]), vec![out(&big), StdoutEnd, complete()], 0),
        // Cut short: the caller reads more, or reports a truncated response.
        partial("empty input", vec![], vec![]),
        partial("half a header", b"\x01\x06\x00\x01".to_vec(), vec![]),
        partial("header without content", rec(FCGI_STDOUT, 1, b"", 0)[..7].to_vec(), vec![]),
        partial("cut in stdout", stdout("hello")[..10].to_vec(), vec![out("he")]),
        partial("cut in padding", rec(FCGI_STDOUT, 1, b"abc", 5)[..12].to_vec(), vec![out("abc")]),
        partial("cut in end request", ok()[..12].to_vec(), vec![]),
        partial("cut in end request padding", rec(FCGI_END_REQUEST, 1, &end_body(0, 0), 1)[..16].to_vec(), vec![]),
        partial("cut in values", rec(FCGI_GET_VALUES_RESULT, 0, &values, 0)[..20].to_vec(), vec![]),
        // php-fpm 8.2's answer to a GET_VALUES it states nothing for: the
        // header alone is the whole record, reported without more bytes.
        partial("empty values alone", rec(FCGI_GET_VALUES_RESULT, 0, b"", 0), vec![Values(vec![])]),
        partial("after end of stdout", cat(&[&stdout("a"), &eos()]), vec![out("a"), StdoutEnd]),
        // Headers (§3.3).
        bad("version 0", b"\x00\x06\x00\x01\x00\x00\x00\x00".to_vec(), vec![], Version),
        bad("version 2", b"\x02\x06\x00\x01\x00\x00\x00\x00".to_vec(), vec![], Version),
        bad("bad version after data", cat(&[&stdout("ok"), b"\x02\x06\x00\x01\x00\x00\x00\x00"]), vec![out("ok")], Version),
        bad("stdout for another request", rec(FCGI_STDOUT, 2, b"a", 0), vec![], RequestId),
        bad("stdout for request 0", rec(FCGI_STDOUT, 0, b"a", 0), vec![], RequestId),
        bad("end request for another request", cat(&[&eos(), &rec(FCGI_END_REQUEST, 258, &end_body(0, 0), 0)]), vec![StdoutEnd], RequestId),
        bad("values with a request id", rec(FCGI_GET_VALUES_RESULT, 1, b"", 0), vec![], RequestId),
        bad("unknown type with a request id", rec(FCGI_UNKNOWN_TYPE, 1, &[0; 8], 0), vec![], RequestId),
        // Types a web server never receives (§8).
        bad("type 0", rec(0, 1, b"", 0), vec![], RecordType),
        bad("begin request", rec(FCGI_BEGIN_REQUEST, 1, &[0, 1, 0, 0, 0, 0, 0, 0], 0), vec![], RecordType),
        bad("abort request", rec(FCGI_ABORT_REQUEST, 1, b"", 0), vec![], RecordType),
        bad("params", rec(FCGI_PARAMS, 1, b"", 0), vec![], RecordType),
        bad("stdin", rec(FCGI_STDIN, 1, b"", 0), vec![], RecordType),
        bad("data", rec(FCGI_DATA, 1, b"", 0), vec![], RecordType),
        bad("get values", rec(FCGI_GET_VALUES, 0, b"", 0), vec![], RecordType),
        bad("type 12", rec(12, 1, b"", 0), vec![], RecordType),
        bad("type 255", rec(255, 0, b"", 0), vec![], RecordType),
        // Fixed bodies (§4.2, §5.5).
        bad("end request of 7 bytes", rec(FCGI_END_REQUEST, 1, &[0; 7], 0), vec![], BodyLength),
        bad("end request of 9 bytes", rec(FCGI_END_REQUEST, 1, &[0; 9], 0), vec![], BodyLength),
        bad("empty end request", rec(FCGI_END_REQUEST, 1, b"", 0), vec![], BodyLength),
        bad("empty unknown type", rec(FCGI_UNKNOWN_TYPE, 0, b"", 0), vec![], BodyLength),
        bad("protocol status 4", cat(&[&eos(), &end(0, 4)]), vec![StdoutEnd], UnknownProtocolStatus),
        bad("protocol status 255", end(0, 255), vec![], UnknownProtocolStatus),
        // Management records (§4.1) and name-value pairs (§3.4).
        bad("values too large", rec(FCGI_GET_VALUES_RESULT, 0, &[0; MAX_VALUES_BYTES + 1], 0), vec![], ValuesTooLarge),
        bad("values name runs past the end", rec(FCGI_GET_VALUES_RESULT, 0, b"\x05\x00abc", 0), vec![], NameValue),
        bad("values long length cut short", rec(FCGI_GET_VALUES_RESULT, 0, b"\x80\x00", 0), vec![], NameValue),
        bad("values missing value length", rec(FCGI_GET_VALUES_RESULT, 0, b"\x01", 0), vec![], NameValue),
        // Streams end once (§3.3).
        bad("stdout after its end", cat(&[&stdout("a"), &eos(), &stdout("b")]), vec![out("a"), StdoutEnd], AfterStreamEnd),
        bad("two ends of stdout", cat(&[&eos(), &eos()]), vec![StdoutEnd], AfterStreamEnd),
        bad("stderr after its end", cat(&[&stderr(""), &stderr("b")]), vec![StderrEnd], AfterStreamEnd),
    ]
}

/// Feed `input` to a decoder the way a server does, the bytes becoming
/// available up to each of `cuts` in turn, then up to the end.
fn feed(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut dec = Decoder::new(1);
    let mut ends = cuts.iter().copied().chain([input.len()]);
    let mut end = ends.next().unwrap_or(input.len());
    let (mut seen, mut pos) = (Vec::new(), 0);
    let stop = loop {
        let avail = &input[pos..end];
        let d = match dec.decode(avail) {
            Ok(d) => d,
            Err(e) => {
                assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                break Stop::Failed(e);
            }
        };
        assert!(d.consumed <= avail.len());
        let (stdout_before, stderr_before) = (dec.stdout_bytes(), dec.stderr_bytes());
        let need_more = d.event == Event::NeedMore;
        let event = match d.event {
            Event::NeedMore => None,
            Event::Stdout(r) => Some(Seen::Stdout(avail[..d.consumed][r].to_vec())),
            Event::Stderr(r) => Some(Seen::Stderr(avail[..d.consumed][r].to_vec())),
            Event::StdoutEnd => Some(Seen::StdoutEnd),
            Event::StderrEnd => Some(Seen::StderrEnd),
            Event::Values(r) => Some(Seen::Values(avail[..d.consumed][r].to_vec())),
            Event::UnknownType(t) => Some(Seen::UnknownType(t)),
            Event::End { app_status, protocol_status } => Some(Seen::End(app_status, protocol_status)),
        };
        pos += d.consumed;
        match (event, seen.last_mut()) {
            (Some(Seen::Stdout(more)), Some(Seen::Stdout(so_far)))
            | (Some(Seen::Stderr(more)), Some(Seen::Stderr(so_far))) => {
                assert!(!more.is_empty(), "an empty piece of data");
                so_far.extend_from_slice(&more);
            }
            (Some(event), _) => seen.push(event),
            (None, _) => {}
        }
        let counted =
            |want: fn(&Seen) -> Option<&Vec<u8>>| seen.iter().filter_map(want).map(|v| v.len() as u64).sum::<u64>();
        assert_eq!(stdout_before, counted(|s| if let Seen::Stdout(v) = s { Some(v) } else { None }));
        assert_eq!(stderr_before, counted(|s| if let Seen::Stderr(v) = s { Some(v) } else { None }));
        if let Some(Seen::End(..)) = seen.last() {
            assert!(dec.is_done());
            break Stop::Done { consumed: pos };
        }
        assert!(!dec.is_done());
        if need_more {
            // Only an incomplete GET_VALUES_RESULT leaves bytes unconsumed.
            match ends.next() {
                Some(next) => end = next.max(end),
                None => break Stop::Partial,
            }
        }
    };
    Outcome { seen, stop }
}

#[test]
fn table_in_one_piece() {
    let rows = table();
    assert!(rows.len() >= 50);
    for row in &rows {
        assert_eq!(feed(&row.input, &[]), row.expect, "{}", row.name);
    }
}

#[test]
fn table_split_at_every_boundary() {
    for row in table() {
        let len = row.input.len();
        for cut in 0..=len {
            assert_eq!(feed(&row.input, &[cut]), row.expect, "{} cut at {cut}", row.name);
        }
        let every: Vec<usize> = (0..=len).collect();
        assert_eq!(feed(&row.input, &every), row.expect, "{} byte by byte", row.name);
    }
}

#[test]
fn short_rows_split_at_every_pair_of_boundaries() {
    for row in table().iter().filter(|row| row.input.len() <= 64) {
        let len = row.input.len();
        for first in 0..=len {
            for second in first..=len {
                assert_eq!(feed(&row.input, &[first, second]), row.expect, "{} cut at {first}, {second}", row.name);
            }
        }
    }
}

#[test]
fn largest_record_is_streamed_not_buffered() {
    let content = vec![b'z'; MAX_CONTENT_LEN];
    let input = cat(&[&rec(FCGI_STDOUT, 1, &content, 255), &stdout(""), &end(0, 0)]);
    let mut dec = Decoder::new(1);
    // 8 header bytes and 100 of content: the 100 are handed out at once.
    assert_eq!(dec.decode(&input[..108]), Ok(Decoded { consumed: 108, event: Event::Stdout(8..108) }));
    let expect = Outcome {
        seen: vec![Seen::Stdout(content), Seen::StdoutEnd, Seen::End(0, ProtocolStatus::RequestComplete)],
        stop: Stop::Done { consumed: input.len() },
    };
    for cuts in [&[][..], &[1], &[8], &[4096, 8192, 65543], &[65543, 65544, 65797, 65798]] {
        assert_eq!(feed(&input, cuts), expect, "cut at {cuts:?}");
    }
}

#[test]
fn one_event_per_call() {
    let input = cat(&[&stdout("ab"), &stderr("cd"), &stdout("")]);
    let mut dec = Decoder::new(1);
    assert_eq!(dec.decode(&input), Ok(Decoded { consumed: 10, event: Event::Stdout(8..10) }));
    assert_eq!(dec.decode(&input[10..]), Ok(Decoded { consumed: 10, event: Event::Stderr(8..10) }));
    assert_eq!(dec.decode(&input[20..]), Ok(Decoded { consumed: 8, event: Event::StdoutEnd }));
    assert_eq!(dec.decode(&[]), Ok(Decoded { consumed: 0, event: Event::NeedMore }));
}

#[test]
fn values_wait_for_the_whole_record_in_the_input() {
    let input = rec(FCGI_GET_VALUES_RESULT, 0, b"\x01\x01ab", 0);
    let mut dec = Decoder::new(1);
    // The header is consumed; the content stays with the caller until it is whole.
    assert_eq!(dec.decode(&input[..10]), Ok(Decoded { consumed: 8, event: Event::NeedMore }));
    assert_eq!(dec.decode(&input[8..11]), Ok(Decoded { consumed: 0, event: Event::NeedMore }));
    let d = dec.decode(&input[8..]).unwrap();
    assert_eq!(d, Decoded { consumed: 4, event: Event::Values(0..4) });
    let pairs: Vec<_> = name_value_pairs(&input[8..12]).collect();
    assert_eq!(pairs, [Ok((&b"a"[..], &b"b"[..]))]);
}

#[test]
fn bytes_after_end_request_are_refused_until_reset() {
    let mut dec = Decoder::new(1);
    let d = dec.decode(&end(0, 0)).unwrap();
    assert_eq!(d.event, Event::End { app_status: 0, protocol_status: ProtocolStatus::RequestComplete });
    assert_eq!(dec.decode(&[]), Ok(Decoded { consumed: 0, event: Event::NeedMore }));
    assert!(dec.is_done());
    assert_eq!(dec.decode(&stdout("late")), Err(Error::AfterEnd));
    assert_eq!(dec.decode(&[]), Err(Error::AfterEnd), "errors repeat");
    // The next request on a kept connection, with a new id.
    dec.reset(2);
    let next = rec(FCGI_STDOUT, 2, b"again", 0);
    assert_eq!(dec.decode(&next), Ok(Decoded { consumed: 13, event: Event::Stdout(8..13) }));
    assert_eq!(dec.stdout_bytes(), 5);
    assert_eq!(dec.decode(&stdout("x")), Err(Error::RequestId), "the old id is no longer accepted");
}

#[test]
fn reset_after_a_failure_starts_clean() {
    let mut dec = Decoder::new(1);
    assert_eq!(dec.decode(&rec(FCGI_STDOUT, 1, b"ab", 0)[..9]).map(|d| d.event), Ok(Event::Stdout(8..9)));
    assert_eq!(dec.decode(b"\x02"), Ok(Decoded { consumed: 1, event: Event::Stdout(0..1) }));
    assert_eq!(dec.decode(b"\x02\x06\x00\x01\x00\x00\x00\x00"), Err(Error::Version));
    dec.reset(1);
    assert_eq!(dec.stdout_bytes(), 0);
    assert_eq!(dec.decode(&stdout("")), Ok(Decoded { consumed: 8, event: Event::StdoutEnd }));
}

#[test]
fn every_error_is_a_bad_gateway() {
    use Error::*;
    for e in [
        Version,
        RequestId,
        RecordType,
        BodyLength,
        UnknownProtocolStatus,
        ValuesTooLarge,
        NameValue,
        AfterStreamEnd,
        AfterEnd,
    ] {
        assert_eq!(e.status(), 502);
        assert!(e.to_string().starts_with("502 ") && e.reason().contains("FastCGI"), "{e}");
    }
}

#[test]
fn name_value_pairs_stop_after_an_error() {
    let mut pairs = name_value_pairs(b"\x01\x01ab\x03\x00x");
    assert_eq!(pairs.next(), Some(Ok((&b"a"[..], &b"b"[..]))));
    assert_eq!(pairs.next(), Some(Err(Error::NameValue)));
    assert_eq!(pairs.next(), None);
    // A four-byte length ignores its high bit (§3.4).
    let long = [&[0x80, 0, 0, 1, 0x80, 0, 0, 0][..], b"n"].concat();
    assert_eq!(name_value_pairs(&long).collect::<Vec<_>>(), [Ok((&b"n"[..], &b""[..]))]);
    // A length beyond the content is an error, not a panic.
    assert_eq!(name_value_pairs(&[0xFF, 0xFF, 0xFF, 0xFF, 0]).next(), Some(Err(Error::NameValue)));
}

// ---- the encoder, read back by a small decoder of server-bound records ----

/// A record as the application receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    kind: u8,
    request_id: u16,
    content: Vec<u8>,
    padding: u8,
}

/// Split what the web server wrote into records, checking the header of
/// each (§3.3) and that nothing is left over.
fn records(mut bytes: &[u8]) -> Vec<Record> {
    let mut all = Vec::new();
    while !bytes.is_empty() {
        let [version, kind, id_b1, id_b0, len_b1, len_b0, padding, reserved] = bytes[..HEADER_LEN].try_into().unwrap();
        assert_eq!((version, reserved), (VERSION_1, 0));
        let len = usize::from(u16::from_be_bytes([len_b1, len_b0]));
        let content = bytes[HEADER_LEN..HEADER_LEN + len].to_vec();
        let end = HEADER_LEN + len + usize::from(padding);
        assert!(bytes[HEADER_LEN + len..end].iter().all(|&b| b == 0), "padding is zeros");
        all.push(Record { kind, request_id: u16::from_be_bytes([id_b1, id_b0]), content, padding });
        bytes = &bytes[end..];
    }
    all
}

/// Check that `records` are one stream of `kind` for request 1, padded to
/// multiples of 8, with no empty record, and return its bytes.
fn stream(records: &[Record], kind: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    for r in records {
        assert_eq!((r.kind, r.request_id), (kind, 1));
        assert!(!r.content.is_empty(), "an empty record would end the stream");
        assert!(r.content.len() <= MAX_CONTENT_LEN);
        assert_eq!((r.content.len() + usize::from(r.padding)) % 8, 0, "padded to 8 (§3.3)");
        assert!(r.padding < 8);
        bytes.extend_from_slice(&r.content);
    }
    bytes
}

fn owned_pairs(content: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    name_value_pairs(content).map(|p| p.map(|(n, v)| (n.to_vec(), v.to_vec()))).collect::<Result<_, _>>().unwrap()
}

#[test]
fn begin_request_bytes() {
    let mut bytes = Vec::new();
    encode_begin(&mut bytes, 0x0102, false);
    // §5.1: role RESPONDER = 1, flags 0, five reserved bytes.
    assert_eq!(bytes, b"\x01\x01\x01\x02\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00");
    bytes.clear();
    encode_begin(&mut bytes, 1, true);
    assert_eq!(
        records(&bytes),
        [Record {
            kind: FCGI_BEGIN_REQUEST,
            request_id: 1,
            content: vec![0, 1, FCGI_KEEP_CONN, 0, 0, 0, 0, 0],
            padding: 0
        }]
    );
}

#[test]
fn params_as_in_the_spec_example() {
    // §9, example 1: {FCGI_PARAMS, 1, "\013\002SERVER_PORT80\013\016SERVER_ADDR199.170.183.42"}
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, [(&b"SERVER_PORT"[..], &b"80"[..]), (b"SERVER_ADDR", b"199.170.183.42")]);
    encode_end_of_params(&mut bytes, 1);
    let content = b"\x0b\x02SERVER_PORT80\x0b\x0eSERVER_ADDR199.170.183.42";
    let expect =
        [&rec(FCGI_PARAMS, 1, content, 6)[..8], content, &[0; 6], b"\x01\x04\x00\x01\x00\x00\x00\x00"].concat();
    assert_eq!(bytes, expect);
}

#[test]
fn name_value_lengths_at_the_one_byte_boundary() {
    for len in [0, 1, 127, 128, 255, 256, 65535, 65536, 70000] {
        let name = vec![b'n'; len];
        let value = vec![b'v'; 127usize.abs_diff(len)];
        let mut bytes = Vec::new();
        encode_params(&mut bytes, 1, [(&name[..], &value[..]), (b"Z", b"")]);
        let all = stream(&records(&bytes), FCGI_PARAMS);
        // §3.4: one byte below 128, four with the high bit set from 128.
        let expect_first = if len < 128 { vec![len as u8] } else { (len as u32 | 0x8000_0000).to_be_bytes().to_vec() };
        assert_eq!(all[..expect_first.len()], expect_first[..], "name length {len}");
        let header = expect_first.len() + if value.len() < 128 { 1 } else { 4 };
        assert_eq!(all.len(), header + len + value.len() + 3, "name length {len}");
        assert_eq!(owned_pairs(&all), [(name, value), (b"Z".to_vec(), vec![])], "name length {len}");
    }
}

#[test]
fn params_beyond_one_record_keep_each_pair_whole() {
    // 300 pairs of about 1 KiB: some 300 KiB, five or more records.
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..300).map(|i| (format!("HTTP_X_{i}").into_bytes(), vec![b'a' + (i % 26) as u8; 1000 + i])).collect();
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, pairs.iter().map(|(n, v)| (&n[..], &v[..])));
    let recs = records(&bytes);
    assert!(recs.len() >= 5);
    // Each record holds whole pairs, as php-fpm requires, and is as full as a whole pair allows.
    let mut read_back = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let in_record = owned_pairs(&r.content);
        if let Some(next) = pairs.get(read_back.len() + in_record.len()) {
            let next_len = 1 + 4 + next.0.len() + next.1.len();
            assert!(r.content.len() + next_len > MAX_CONTENT_LEN, "record {i} closed early");
        }
        read_back.extend(in_record);
    }
    assert_eq!(read_back, pairs);
    assert_eq!(owned_pairs(&stream(&recs, FCGI_PARAMS)), pairs);
}

#[test]
fn a_pair_longer_than_a_record_is_cut_across_records() {
    let value = vec![b'v'; 150_000];
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, [(&b"SHORT"[..], &b"1"[..]), (b"HUGE", &value), (b"AFTER", b"2")]);
    let recs = records(&bytes);
    let lens: Vec<usize> = recs.iter().map(|r| r.content.len()).collect();
    // The short pair shares the first record; the huge one fills records to the brim.
    assert_eq!(
        lens,
        [MAX_CONTENT_LEN, MAX_CONTENT_LEN, (2 + 5 + 1) + (1 + 4 + 4 + 150_000) + (2 + 5 + 1) - 2 * MAX_CONTENT_LEN]
    );
    let all = stream(&recs, FCGI_PARAMS);
    assert_eq!(
        owned_pairs(&all),
        [(b"SHORT".to_vec(), b"1".to_vec()), (b"HUGE".to_vec(), value), (b"AFTER".to_vec(), b"2".to_vec())]
    );
}

#[test]
fn a_pair_that_fills_a_record_exactly() {
    // 1 + 4 + 4 + 65526 = 65535: exactly one record's content, so it gets one to itself.
    let value = vec![b'v'; MAX_CONTENT_LEN - 9];
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, [(&b"A"[..], &b"1"[..]), (b"NAME", &value), (b"B", b"2")]);
    let lens: Vec<usize> = records(&bytes).iter().map(|r| r.content.len()).collect();
    assert_eq!(lens, [4, MAX_CONTENT_LEN, 4]);
}

#[test]
fn pairs_one_at_a_time_are_the_same_records() {
    // encode_params is a ParamsEncoder fed in a loop: the same bytes for
    // pairs that fill one record, several, or cut a huge one.
    let small: Vec<(Vec<u8>, Vec<u8>)> = vec![(b"A".to_vec(), b"1".to_vec()), (b"EMPTY".to_vec(), vec![])];
    let many: Vec<(Vec<u8>, Vec<u8>)> =
        (0..100).map(|i| (format!("HTTP_X_{i}").into_bytes(), vec![b'x'; 1000 + i])).collect();
    let huge = vec![(b"SHORT".to_vec(), b"1".to_vec()), (b"HUGE".to_vec(), vec![b'v'; 150_000])];
    for pairs in [small, many, huge] {
        let mut whole = Vec::new();
        encode_params(&mut whole, 3, pairs.iter().map(|(n, v)| (&n[..], &v[..])));
        let mut streamed = Vec::new();
        let mut params = ParamsEncoder::new(&mut streamed, 3);
        for (n, v) in &pairs {
            params.pair(n, v);
        }
        params.finish();
        assert_eq!(streamed, whole);
    }
}

#[test]
fn a_dropped_params_encoder_closes_its_record() {
    let mut bytes = Vec::new();
    {
        let mut params = ParamsEncoder::new(&mut bytes, 1);
        params.pair(b"SERVER_PORT", b"80");
    }
    assert_eq!(bytes, b"\x01\x04\x00\x01\x00\x0f\x01\x00\x0b\x02SERVER_PORT80\x00");
}

#[test]
fn params_added_later_go_in_a_record_of_their_own() {
    // A spooled body: the meta-variables first, CONTENT_LENGTH once known.
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, [(&b"REQUEST_METHOD"[..], &b"POST"[..])]);
    let mut params = ParamsEncoder::new(&mut bytes, 1);
    params.pair(b"CONTENT_LENGTH", b"12");
    params.finish();
    encode_end_of_params(&mut bytes, 1);
    let recs = records(&bytes);
    let lens: Vec<usize> = recs.iter().map(|r| r.content.len()).collect();
    assert_eq!(lens, [2 + 14 + 4, 2 + 14 + 2, 0]);
    assert_eq!(
        owned_pairs(&stream(&recs[..2], FCGI_PARAMS)),
        [(b"REQUEST_METHOD".to_vec(), b"POST".to_vec()), (b"CONTENT_LENGTH".to_vec(), b"12".to_vec())]
    );
}

#[test]
fn no_pairs_write_nothing() {
    let mut bytes = Vec::new();
    encode_params(&mut bytes, 1, std::iter::empty());
    encode_stdin(&mut bytes, 1, b"");
    ParamsEncoder::new(&mut bytes, 1).finish();
    assert!(bytes.is_empty());
}

#[test]
fn stdin_is_cut_into_records() {
    for len in [1, 7, 8, 9, MAX_CONTENT_LEN - 1, MAX_CONTENT_LEN, MAX_CONTENT_LEN + 1, 200_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut bytes = Vec::new();
        encode_stdin(&mut bytes, 1, &data);
        let recs = records(&bytes);
        assert_eq!(recs.len(), len.div_ceil(MAX_CONTENT_LEN), "{len} bytes");
        assert_eq!(stream(&recs, FCGI_STDIN), data, "{len} bytes");
    }
}

#[test]
fn stdin_header_then_the_callers_bytes() {
    let body = b"name=value&x=1";
    let mut bytes = stdin_header(1, body.len() as u16).to_vec();
    bytes.extend_from_slice(body);
    encode_end_of_stdin(&mut bytes, 1);
    let expect = [
        Record { kind: FCGI_STDIN, request_id: 1, content: body.to_vec(), padding: 0 },
        Record { kind: FCGI_STDIN, request_id: 1, content: vec![], padding: 0 },
    ];
    assert_eq!(records(&bytes), expect);
}

#[test]
fn control_records() {
    let mut bytes = Vec::new();
    encode_abort(&mut bytes, 9);
    encode_end_of_params(&mut bytes, 9);
    encode_end_of_stdin(&mut bytes, 9);
    let empty = |kind| Record { kind, request_id: 9, content: vec![], padding: 0 };
    assert_eq!(records(&bytes), [empty(FCGI_ABORT_REQUEST), empty(FCGI_PARAMS), empty(FCGI_STDIN)]);
}

#[test]
fn get_values_is_one_management_record() {
    let mut bytes = Vec::new();
    let names = [&b"FCGI_MAX_CONNS"[..], b"FCGI_MAX_REQS", b"FCGI_MPXS_CONNS"];
    encode_get_values(&mut bytes, names);
    let recs = records(&bytes);
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].kind, recs[0].request_id), (FCGI_GET_VALUES, NULL_REQUEST_ID));
    // §4.1: the names, each with an empty value.
    let expect: Vec<_> = names.iter().map(|n| (n.to_vec(), vec![])).collect();
    assert_eq!(owned_pairs(&recs[0].content), expect);
    assert_eq!(bytes.len() % 8, 0);
}

#[test]
fn a_whole_request_on_the_wire() {
    let mut bytes = Vec::new();
    encode_begin(&mut bytes, 1, true);
    encode_params(&mut bytes, 1, [(&b"REQUEST_METHOD"[..], &b"POST"[..]), (b"CONTENT_LENGTH", b"3")]);
    encode_end_of_params(&mut bytes, 1);
    encode_stdin(&mut bytes, 1, b"a=1");
    encode_end_of_stdin(&mut bytes, 1);
    let kinds: Vec<(u8, usize)> = records(&bytes).iter().map(|r| (r.kind, r.content.len())).collect();
    assert_eq!(kinds, [(FCGI_BEGIN_REQUEST, 8), (FCGI_PARAMS, 37), (FCGI_PARAMS, 0), (FCGI_STDIN, 3), (FCGI_STDIN, 0)]);
    assert_eq!(bytes.len() % 8, 0);
}
