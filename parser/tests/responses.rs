//! A table of raw upstream responses and what the response parser must say
//! about each, then the same table fed at every split point: a head split
//! anywhere parses exactly as the head in one piece. The hostile rows each
//! cite the rule that makes a proxy refuse them.

use wired_parser::{EMPTY_HEADER, Limits, ResponseBody, ResponseError, ResponseParser, ResponseTo, Status, Version};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Complete {
        version: Version,
        status: u16,
        body: ResponseBody,
        keep_alive: bool,
        upgrade: bool,
        head_len: usize,
        headers: usize,
    },
    Partial,
    Fail(ResponseError),
}

use Outcome::*;

fn run(parser: &mut ResponseParser, buf: &[u8], to: ResponseTo, limits: &Limits) -> Outcome {
    let mut fields = [EMPTY_HEADER; 128];
    match parser.parse(buf, limits, to, &mut fields) {
        Ok(Status::Partial) => Partial,
        Ok(Status::Complete(r)) => Complete {
            version: r.version,
            status: r.status,
            body: r.body,
            keep_alive: r.keep_alive,
            upgrade: r.upgrade.is_some(),
            head_len: r.head_len,
            headers: r.headers.len(),
        },
        Err(e) => Fail(e),
    }
}

/// A complete head; `head_len` is filled in by the table runner (the whole input).
fn ok(version: Version, status: u16, body: ResponseBody, keep_alive: bool, headers: usize) -> Outcome {
    Complete { version, status, body, keep_alive, upgrade: false, head_len: usize::MAX, headers }
}

const V11: Version = Version::Http11;
const V10: Version = Version::Http10;
const OTHER: ResponseTo = ResponseTo::Other;
const HEAD: ResponseTo = ResponseTo::Head;
const CONNECT: ResponseTo = ResponseTo::Connect;

type Row = (&'static [u8], ResponseTo, Outcome);

fn table() -> Vec<Row> {
    use ResponseBody::{Chunked, Length, Tunnel, UntilClose};
    use ResponseError::{
        BadLength, BareCr, BareLf, ChunkedNotLast, ConflictingLength, FieldName, FieldValue, ObsFold, SpaceBeforeColon,
        StatusLine, SwitchWithoutUpgrade, TransferEncodingAndLength, TransferEncodingHttp10, UnknownTransferCoding,
        Version,
    };
    const NONE: ResponseBody = ResponseBody::None;
    let switched = Complete {
        version: V11,
        status: 101,
        body: Tunnel,
        keep_alive: false,
        upgrade: true,
        head_len: usize::MAX,
        headers: 2,
    };
    vec![
        // ---- valid responses, framing by RFC 9112 §6.3 ----
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V11, 200, Length(5), true, 1)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", OTHER, ok(V11, 200, Length(7), true, 1)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", OTHER, ok(V11, 200, Length(u64::MAX), true, 1)),
        // Rule 5: identical repeated values may be accepted as one.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V11, 200, Length(5), true, 2)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", OTHER, ok(V11, 200, Length(5), true, 1)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OTHER, ok(V11, 200, Chunked, true, 1)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked \r\n\r\n", OTHER, ok(V11, 200, Chunked, true, 1)),
        // Rule 8: neither field: read until close, so never kept alive.
        (b"HTTP/1.1 200 OK\r\n\r\n", OTHER, ok(V11, 200, UntilClose, false, 0)),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", OTHER, ok(V10, 200, UntilClose, false, 1)),
        // RFC 9112 §9.3: persistence by version and Connection.
        (b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V10, 200, Length(5), false, 1)),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V10, 200, Length(5), true, 2)),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V10, 200, Length(5), false, 2)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V11, 200, Length(5), false, 2)),
        (b"HTTP/1.1 200 OK\r\nConnection: x-a, CLOSE\r\nContent-Length: 5\r\n\r\n", OTHER, ok(V11, 200, Length(5), false, 2)),
        // Rule 1: no body after HEAD, 1xx, 204 and 304, whatever the fields say.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", HEAD, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HEAD, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 200 OK\r\n\r\n", HEAD, ok(V11, 200, NONE, true, 0)),
        (b"HTTP/1.1 204 No Content\r\n\r\n", OTHER, ok(V11, 204, NONE, true, 0)),
        (b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\nContent-Length: 100\r\n\r\n", OTHER, ok(V11, 304, NONE, true, 2)),
        (b"HTTP/1.1 100 Continue\r\n\r\n", OTHER, ok(V11, 100, NONE, true, 0)),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", OTHER, ok(V11, 103, NONE, true, 1)),
        (b"HTTP/1.1 102 Processing\r\n\r\n", OTHER, ok(V11, 102, NONE, true, 0)),
        // RFC 9110 §15.2.2: 101 switches; the connection becomes a tunnel.
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", OTHER, switched.clone()),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", HEAD, switched),
        // Upgrade on any other status only advertises (RFC 9110 §7.8).
        (b"HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 2)),
        (b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 426, NONE, true, 3)),
        // Rule 2: a 2xx to CONNECT is a tunnel; any other answer is framed as usual.
        (b"HTTP/1.1 200 Connection Established\r\n\r\n", CONNECT, ok(V11, 200, Tunnel, false, 0)),
        (b"HTTP/1.1 200 Connection Established\r\nContent-Length: 5\r\n\r\n", CONNECT, ok(V11, 200, Tunnel, false, 1)),
        (b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", CONNECT, ok(V11, 407, NONE, true, 1)),
        // Regression (found by the `response` fuzz target): a 204 to CONNECT
        // was reported bodiless and kept alive; it is a tunnel (RFC 9110 §9.3.6).
        (b"HTTP/1.1 204 OK\r\n\r\n", CONNECT, ok(V11, 204, Tunnel, false, 0)),
        // The reason phrase: empty, with HTAB, with obs-text (RFC 9112 §4).
        (b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 200 O\tK\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 200 \xc3\x87a va\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 599 Edge\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 599, NONE, true, 1)),
        (b"HTTP/1.1 500 Internal Server Error\r\nX-Empty:\r\nX-Tab:\tv\t\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 500, NONE, true, 3)),
        (b"HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 3\r\n\r\n", OTHER, ok(V11, 200, Length(3), true, 1)),
        (b"HTTP/1.1 200 OK\r\nDate: Sat, 05 Dec 2026 12:00:00 GMT\r\nServer: upstream/1.0\r\nContent-Type: text/html; charset=utf-8\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nCache-Control: max-age=60\r\nX-Obs: caf\xc3\xa9\r\nContent-Length: 1024\r\n\r\n", OTHER, ok(V11, 200, Length(1024), true, 8)),
        // ---- incomplete ----
        (b"", OTHER, Partial),
        (b"H", OTHER, Partial),
        (b"HTTP/1.1", OTHER, Partial),
        (b"HTTP/1.1 200 OK", OTHER, Partial),
        (b"HTTP/1.1 200 OK\r", OTHER, Partial),
        (b"HTTP/1.1 200 OK\r\n", OTHER, Partial),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", OTHER, Partial),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r", OTHER, Partial),
        // ---- the status line (RFC 9112 §4: HTTP-version SP 3DIGIT SP [ reason ]) ----
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1  200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 200  OK\r\nContent-Length: 0\r\n\r\n", OTHER, ok(V11, 200, NONE, true, 1)),
        (b"HTTP/1.1 20 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 2000 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 -20 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1\t200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b" HTTP/1.1 200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"http/1.1 200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        // No empty lines before a response: a stray CRLF after a body is a framing fault.
        (b"\r\nHTTP/1.1 200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        // RFC 9110 §15: status codes run from 100 to 599.
        (b"HTTP/1.1 099 Low\r\n\r\n", OTHER, Fail(ResponseError::Status)),
        (b"HTTP/1.1 000 Zero\r\n\r\n", OTHER, Fail(ResponseError::Status)),
        (b"HTTP/1.1 600 High\r\n\r\n", OTHER, Fail(ResponseError::Status)),
        (b"HTTP/1.1 999 Max\r\n\r\n", OTHER, Fail(ResponseError::Status)),
        // Only HTTP/1.0 and HTTP/1.1 (RFC 9112 §2.3); HTTP/2 speaks frames, not this.
        (b"HTTP/2 200\r\n\r\n", OTHER, Fail(Version)),
        (b"HTTP/2.0 200 OK\r\n\r\n", OTHER, Fail(Version)),
        (b"HTTP/1.2 200 OK\r\n\r\n", OTHER, Fail(Version)),
        (b"HTTP/3 200 OK\r\n\r\n", OTHER, Fail(Version)),
        (b"HTTP/1.x 200 OK\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", OTHER, Fail(StatusLine)),
        // HTTP/0.9 has no head at all: refused at the first byte, not at the limit.
        (b"<html>hello</html>", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 200 O\x00K\r\n\r\n", OTHER, Fail(StatusLine)),
        (b"HTTP/1.1 200 O\x7fK\r\n\r\n", OTHER, Fail(StatusLine)),
        // ---- line endings (RFC 9112 §2.2) ----
        (b"HTTP/1.1 200 OK\n\r\n", OTHER, Fail(BareLf)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\n", OTHER, Fail(BareLf)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\n", OTHER, Fail(BareLf)),
        (b"HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n", OTHER, Fail(BareLf)),
        (b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(BareCr)),
        (b"HTTP/1.1 200 OK\r\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(BareCr)),
        // A CR alone inside a value: one reader sees a line end, another does not.
        (b"HTTP/1.1 200 OK\r\nSet-Cookie: a\rContent-Length: 0\r\n\r\n", OTHER, Fail(BareCr)),
        (b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(BareCr)),
        // A field error before a bare CR: the bare CR is named, however split.
        (b"HTTP/1.1 200 OK\r\nX\x00: a\r\nY: b\rc\r\n\r\n", OTHER, Fail(BareCr)),
        // ---- field syntax (RFC 9112 §5) ----
        // §5.1: no whitespace between name and colon.
        (b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", OTHER, Fail(SpaceBeforeColon)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding\t: chunked\r\n\r\n", OTHER, Fail(SpaceBeforeColon)),
        // §5.2: a proxy MUST replace obs-fold or reject the response: rejected.
        (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(ObsFold)),
        (b"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", OTHER, Fail(ObsFold)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n 5\r\n\r\n", OTHER, Fail(ObsFold)),
        // §2.2: whitespace before the first field is refused like a fold.
        (b"HTTP/1.1 200 OK\r\n X: a\r\n\r\n", OTHER, Fail(ObsFold)),
        (b"HTTP/1.1 200 OK\r\nX\x00Y: a\r\n\r\n", OTHER, Fail(FieldName)),
        (b"HTTP/1.1 200 OK\r\nX(Y): a\r\n\r\n", OTHER, Fail(FieldName)),
        (b"HTTP/1.1 200 OK\r\n: a\r\n\r\n", OTHER, Fail(FieldName)),
        (b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", OTHER, Fail(FieldName)),
        (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", OTHER, Fail(FieldValue)),
        (b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n", OTHER, Fail(FieldValue)),
        (b"HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n", OTHER, Fail(FieldValue)),
        // ---- framing (RFC 9112 §6) ----
        // §6.1: both lengths "ought to be handled as an error"; in either order, for any request.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", OTHER, Fail(TransferEncodingAndLength)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", OTHER, Fail(TransferEncodingAndLength)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", HEAD, Fail(TransferEncodingAndLength)),
        // §6.3 rule 5: differing lengths, as repeated fields or in a list.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", OTHER, Fail(ConflictingLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", OTHER, Fail(ConflictingLength)),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", OTHER, Fail(ConflictingLength)),
        // RFC 9110 §8.6: Content-Length = 1*DIGIT, within u64.
        (b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5 5\r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", OTHER, Fail(BadLength)),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", OTHER, Fail(BadLength)),
        // §6.3 rule 4: a final coding other than chunked would be read until
        // close; refused instead, as nginx does (see `read_fields`).
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        // §6.1: chunked MUST NOT be applied more than once.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", OTHER, Fail(ChunkedNotLast)),
        // §6.1: a coding wired cannot remove.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", OTHER, Fail(UnknownTransferCoding)),
        // §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
        (b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", OTHER, Fail(TransferEncodingHttp10)),
        // RFC 9110 §15.2.2: a 101 MUST say what it switches to.
        (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", OTHER, Fail(SwitchWithoutUpgrade)),
    ]
}

/// The outcome with `head_len` defaulted to the whole input.
fn expected_for(raw: &[u8], outcome: &Outcome) -> Outcome {
    match outcome.clone() {
        Complete { head_len: usize::MAX, version, status, body, keep_alive, upgrade, headers } => {
            Complete { version, status, body, keep_alive, upgrade, head_len: raw.len(), headers }
        }
        other => other,
    }
}

fn show(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[test]
fn table_of_raw_responses() {
    let rows = table();
    assert!(rows.len() >= 100, "the table keeps at least 100 rows");
    let mut wrong = Vec::new();
    for (raw, to, expected) in rows {
        let got = run(&mut ResponseParser::new(), raw, to, &Limits::default());
        let expected = expected_for(raw, &expected);
        if got != expected {
            wrong.push(format!("{:?} ({to:?}): got {got:?}, want {expected:?}", show(raw)));
        }
    }
    assert!(wrong.is_empty(), "{} rows wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// Feed each response as a growing buffer, split at every byte: the prefix
/// must be Partial or the same error, and the final answer must equal the
/// one-piece answer. Then byte by byte with one parser.
#[test]
fn every_split_point_parses_the_same() {
    let limits = Limits::default();
    for (raw, to, expected) in table() {
        let expected = expected_for(raw, &expected);
        for split in 0..=raw.len() {
            let mut parser = ResponseParser::new();
            let last = match run(&mut parser, &raw[..split], to, &limits) {
                Partial => run(&mut parser, raw, to, &limits),
                first => first,
            };
            assert_eq!(last, expected, "response {:?} split at {split}", show(raw));
        }
        let mut parser = ResponseParser::new();
        let mut last = Partial;
        for end in 0..=raw.len() {
            last = run(&mut parser, &raw[..end], to, &limits);
            if last != Partial {
                break;
            }
        }
        assert_eq!(last, expected, "response {:?} byte by byte", show(raw));
    }
}

/// A proxy's loop: forward interim responses, reset, parse the next head,
/// until the final one; then, on a kept connection, the next response.
#[test]
fn interim_responses_then_the_final_one_then_the_next() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let limits = Limits::default();
    let mut parser = ResponseParser::new();
    let mut pos = 0;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut fields = [EMPTY_HEADER; 8];
        let Ok(Status::Complete(resp)) = parser.parse(&raw[pos..], &limits, ResponseTo::Other, &mut fields) else {
            panic!("a complete head at {pos}");
        };
        seen.push((resp.status, resp.is_interim(), resp.body));
        pos += resp.head_len;
        parser.reset();
    }
    assert_eq!(
        seen,
        [(100, true, ResponseBody::None), (103, true, ResponseBody::None), (201, false, ResponseBody::Length(2))]
    );
    assert_eq!(&raw[pos..pos + 2], b"ok");
    pos += 2;
    let mut fields = [EMPTY_HEADER; 8];
    let Ok(Status::Complete(next)) = parser.parse(&raw[pos..], &limits, ResponseTo::Other, &mut fields) else {
        panic!("the next response");
    };
    assert_eq!((next.status, next.body, next.keep_alive), (200, ResponseBody::Chunked, true));
    assert_eq!(&raw[pos + next.head_len..], b"0\r\n\r\n");
}

#[test]
fn a_switch_names_its_protocol_and_is_not_interim() {
    let raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05Hello";
    let mut fields = [EMPTY_HEADER; 8];
    let Ok(Status::Complete(resp)) =
        ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    else {
        panic!("complete");
    };
    assert_eq!(resp.upgrade, Some(&b"websocket"[..]));
    assert!(!resp.is_interim() && !resp.keep_alive);
    assert_eq!(resp.body, ResponseBody::Tunnel);
    assert_eq!(&raw[resp.head_len..], b"\x81\x05Hello"); // the first frame, already read, goes on
    let names: Vec<&str> = resp.end_to_end().map(|f| f.name).collect();
    assert_eq!(names, ["Sec-WebSocket-Accept"]);
}

/// RFC 9110 §7.6.1: every hop-by-hop field stays on this hop, with those
/// Connection names; everything else goes on, in order, repeats included.
#[test]
fn end_to_end_leaves_out_every_hop_by_hop_field() {
    let raw = b"HTTP/1.1 200 OK\r\n\
        Connection: keep-alive, X-Upstream-Trace\r\n\
        Keep-Alive: timeout=5\r\n\
        Proxy-Connection: keep-alive\r\n\
        TE: trailers\r\n\
        Trailer: Expires\r\n\
        Transfer-Encoding: chunked\r\n\
        Upgrade: h2c\r\n\
        X-Upstream-Trace: abc\r\n\
        Content-Type: text/plain\r\n\
        Set-Cookie: a=1\r\n\
        set-cookie: b=2\r\n\
        Vary: Accept-Encoding\r\n\r\n";
    let mut fields = [EMPTY_HEADER; 16];
    let Ok(Status::Complete(resp)) =
        ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    else {
        panic!("complete");
    };
    let names: Vec<&str> = resp.end_to_end().map(|f| f.name).collect();
    assert_eq!(names, ["Content-Type", "Set-Cookie", "set-cookie", "Vary"]);
    assert_eq!(resp.header("SET-COOKIE"), Some(&b"a=1"[..]));
    assert_eq!(resp.upgrade, None);
}

/// A hostile upstream sending an endless head is refused once it passes the
/// limit, whatever it sends: a long line, endless fields, no LF at all; in
/// one read or dribbled; and nothing beyond the limit is looked at.
#[test]
fn a_header_flood_is_refused_once_past_the_limit() {
    let limits = Limits::default();
    let max = limits.max_head_bytes;
    let mut flood = b"HTTP/1.1 200 OK\r\n".to_vec();
    while flood.len() < 1 << 20 {
        flood.extend_from_slice(b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let long_line = [&b"HTTP/1.1 200 OK\r\nX: "[..], &vec![b'v'; 1 << 20]].concat();
    let no_lf = [&b"HTTP/1.1 200 "[..], &vec![b'r'; 1 << 20]].concat();
    for input in [&flood, &long_line, &no_lf] {
        assert_eq!(
            run(&mut ResponseParser::new(), input, ResponseTo::Other, &limits),
            Fail(ResponseError::HeadTooLarge)
        );
        assert_eq!(run(&mut ResponseParser::new(), &input[..max], ResponseTo::Other, &limits), Partial);
        // In 1 KiB reads, the way a proxy would see it: refused at the first read past the limit.
        let mut parser = ResponseParser::new();
        let refused_at = (1..)
            .map(|k| k * 1024)
            .find(|&end| run(&mut parser, &input[..end], ResponseTo::Other, &limits) != Partial)
            .unwrap_or_default();
        assert_eq!(refused_at, max + 1024);
    }
    // Past the limit, a bare LF or a blank line is never reached.
    let late_end = [&long_line[..max + 10], b"\n\r\n\r\n"].concat();
    assert_eq!(
        run(&mut ResponseParser::new(), &late_end, ResponseTo::Other, &limits),
        Fail(ResponseError::HeadTooLarge)
    );
}

#[test]
fn too_many_fields_is_refused() {
    let limits = Limits { max_headers: 4, ..Limits::default() };
    let head = |n: usize| format!("HTTP/1.1 200 OK\r\n{}Content-Length: 0\r\n\r\n", "X: y\r\n".repeat(n));
    assert!(matches!(run(&mut ResponseParser::new(), head(3).as_bytes(), ResponseTo::Other, &limits), Complete { .. }));
    assert_eq!(
        run(&mut ResponseParser::new(), head(4).as_bytes(), ResponseTo::Other, &limits),
        Fail(ResponseError::TooManyFields)
    );
    // Fewer slots than the limit: the slots are the limit.
    let mut fields = [EMPTY_HEADER; 2];
    let raw = head(2);
    let r = ResponseParser::new().parse(raw.as_bytes(), &Limits::default(), ResponseTo::Other, &mut fields);
    assert_eq!(r.err(), Some(ResponseError::TooManyFields));
}

/// The same regression the request side guards: a head past the limit with
/// a bare LF or CR beyond it gets the limit's answer however it is cut.
#[test]
fn an_oversized_head_gets_the_same_error_however_it_is_cut() {
    let limits = Limits { max_request_line: 64, max_headers: 8, max_head_bytes: 256 };
    let cases = [
        format!("HTTP/1.1 200 OK\r\nX: {}\n\n", "v".repeat(300)),
        format!("HTTP/1.1 200 {}\nX: a\r\n\r\n", "r".repeat(300)),
        format!("HTTP/1.1 200 OK\r\nX: {}\r\nY: \r\r\n\r\n", "v".repeat(300)),
    ];
    for raw in &cases {
        let raw = raw.as_bytes();
        for split in 0..=raw.len() {
            let mut parser = ResponseParser::new();
            let got = match run(&mut parser, &raw[..split], ResponseTo::Other, &limits) {
                Partial => run(&mut parser, raw, ResponseTo::Other, &limits),
                first => first,
            };
            assert_eq!(got, Fail(ResponseError::HeadTooLarge), "{:?} split at {split}", show(raw));
        }
    }
}

#[test]
fn every_error_is_a_502_with_a_reason() {
    use ResponseError::*;
    let all = [
        StatusLine,
        Version,
        Status,
        FieldName,
        FieldValue,
        SpaceBeforeColon,
        ObsFold,
        BareCr,
        BareLf,
        TransferEncodingAndLength,
        ChunkedNotLast,
        UnknownTransferCoding,
        TransferEncodingHttp10,
        ConflictingLength,
        BadLength,
        SwitchWithoutUpgrade,
        HeadTooLarge,
        TooManyFields,
    ];
    for e in all {
        assert_eq!(e.status(), 502);
        assert!(!e.reason().is_empty());
        assert!(e.to_string().starts_with("502 bad upstream response: "), "{e}");
    }
}

#[test]
fn the_reason_phrase_is_kept_as_sent() {
    let raw = b"HTTP/1.1 418 I'm a \xe2\x98\x95 pot\r\nContent-Length: 0\r\n\r\n";
    let mut fields = [EMPTY_HEADER; 4];
    let Ok(Status::Complete(resp)) =
        ResponseParser::new().parse(raw, &Limits::default(), ResponseTo::Other, &mut fields)
    else {
        panic!("complete");
    };
    assert_eq!(resp.reason, "I'm a \u{2615} pot".as_bytes());
}
