//! Request smuggling: a table of requests that hide `GET /smuggled` behind
//! framing two parsers could read differently, and regressions in the
//! framing of responses.

use super::*;

/// What a row expects after the first response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Framing in doubt: exactly one response, then the server closes.
    Closed,
    /// Framing valid: the connection stays, and a probe on it is answered next.
    KeptOpen,
}

struct Row {
    name: &'static str,
    bytes: Vec<u8>,
    status: u16,
    after: After,
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `POST /` with these raw field lines (each ending in CRLF) and this body.
fn post(fields: &[u8], body: &[u8]) -> Vec<u8> {
    cat(&[b"POST / HTTP/1.1\r\nHost: t\r\n", fields, b"\r\n", body])
}

/// A chunked body carrying the smuggled request as chunk data.
fn chunk_holding_smuggled() -> Vec<u8> {
    format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len()).into_bytes()
}

fn closed(name: &'static str, bytes: Vec<u8>, status: u16) -> Row {
    Row { name, bytes, status, after: After::Closed }
}

fn kept(name: &'static str, bytes: Vec<u8>, status: u16) -> Row {
    Row { name, bytes, status, after: After::KeptOpen }
}

fn smuggling_rows() -> Vec<Row> {
    let s = SMUGGLED.as_bytes();
    let n = SMUGGLED.len();
    let cl = |v: &str| format!("Content-Length: {v}\r\n").into_bytes();
    let cl_n = cl(&n.to_string());
    let te = |v: &[u8]| cat(&[b"Transfer-Encoding: ", v, b"\r\n"]);
    let chunked = te(b"chunked");
    let last_then_smuggled = cat(&[b"0\r\n\r\n", s]);
    let held = chunk_holding_smuggled();
    // A chunked POST whose body is `body`: the head is valid, so the static
    // handler's 405 is queued; the body is then read to be dropped.
    let chunked_post = |body: &[u8]| post(&chunked, body);
    vec![
        // ---- CL.TE and TE.CL: both framings present (RFC 9112 §6.1) ----
        closed("cl_te", post(&cat(&[&cl(&(5 + n).to_string()), &chunked]), &last_then_smuggled), 400),
        closed("te_cl", post(&cat(&[&chunked, &cl("4")]), &held), 400),
        closed("cl_zero_te", post(&cat(&[&cl("0"), &chunked]), &held), 400),
        closed(
            "cl_te_lowercase_names",
            post(&cat(&[b"content-length: 5\r\n", b"transfer-encoding: chunked\r\n"]), &last_then_smuggled),
            400,
        ),
        closed("cl_te_identity", post(&cat(&[&cl_n, &te(b"identity")]), s), 400),
        closed("te_http10", cat(&[b"POST / HTTP/1.0\r\n", &chunked, b"\r\n", &held]), 400),
        closed("cl_te_http10", cat(&[b"POST / HTTP/1.0\r\n", &cl_n, &chunked, b"\r\n", s]), 400),
        // ---- TE.TE: one Transfer-Encoding dressed up to be read two ways ----
        closed("te_xchunked", post(&te(b"xchunked"), &last_then_smuggled), 400),
        closed("te_space_before_colon", post(&cat(&[&cl_n, b"Transfer-Encoding : chunked\r\n"]), s), 400),
        closed("te_tab_before_colon", post(&cat(&[&cl_n, b"Transfer-Encoding\t: chunked\r\n"]), s), 400),
        closed("te_chunked_identity", post(&te(b"chunked, identity"), &last_then_smuggled), 400),
        closed("te_identity_chunked", post(&te(b"identity, chunked"), &held), 501),
        closed("te_gzip_chunked", post(&te(b"gzip, chunked"), &held), 501),
        closed("te_twice_chunked", post(&cat(&[&chunked, &chunked]), &held), 400),
        closed("te_chunked_then_identity_field", post(&cat(&[&chunked, &te(b"identity")]), &held), 400),
        closed("te_identity_then_chunked_field", post(&cat(&[&te(b"identity"), &chunked]), &held), 501),
        closed("te_chunked_chunked_list", post(&te(b"chunked, chunked"), &held), 400),
        closed("te_chunked_with_parameter", post(&te(b"chunked;q=1"), &held), 400),
        closed("te_quoted", post(&te(b"\"chunked\""), &held), 400),
        closed("te_truncated_name", post(&te(b"chunk"), &held), 400),
        closed("te_vertical_tab", post(&te(b"chunked\x0b"), &held), 400),
        closed("te_nul_in_value", post(&te(b"\x00chunked"), &held), 400),
        closed("te_nul_in_name", post(b"Transfer-Encoding\x00: chunked\r\n", &held), 400),
        closed("te_obs_fold", post(b"Transfer-Encoding:\r\n chunked\r\n", &held), 400),
        closed("te_line_starting_with_space", post(b" Transfer-Encoding: chunked\r\n", &held), 400),
        closed("te_bare_lf_after_field", post(b"Transfer-Encoding: chunked\n", &held), 400),
        closed("te_bare_cr_after_field", post(b"Transfer-Encoding: chunked\rX: y\r\n", &held), 400),
        closed("te_no_colon", post(b"Transfer-Encoding chunked\r\n", &held), 400),
        closed("te_8bit_in_name", post(b"Tr\xc3\xa4nsfer-Encoding: chunked\r\n", &held), 400),
        kept("te_underscore_is_another_field", post(&cat(&[&cl_n, b"Transfer_Encoding: chunked\r\n"]), s), 405),
        kept("te_tab_before_value", post(b"Transfer-Encoding:\tchunked\r\n", &held), 405),
        kept("te_uppercase", post(b"TRANSFER-ENCODING: CHUNKED\r\n", &held), 405),
        kept("te_no_space", post(b"Transfer-Encoding:chunked\r\n", &held), 405),
        kept("te_empty_list_elements", post(&te(b", chunked ,"), &held), 405),
        // Trailer fields never change framing: the TE and CL here are dropped.
        kept("te_in_trailer", chunked_post(&cat(&[b"0\r\nTransfer-Encoding: chunked\r\n", &cl_n, b"\r\n"])), 405),
        // ---- Content-Length: duplicates, conflicts, and not-quite-digits ----
        closed("cl_conflicting_fields", post(&cat(&[&cl("5"), &cl_n]), s), 400),
        closed("cl_conflicting_list", post(&cl(&format!("5, {n}")), s), 400),
        kept("cl_duplicate_equal_fields", post(&cat(&[&cl_n, &cl_n]), s), 405),
        kept("cl_duplicate_equal_list", post(&cl(&format!("{n}, {n}")), s), 405),
        kept("cl_leading_zeros", post(&cl(&format!("00{n}")), s), 405),
        kept("cl_trailing_whitespace", post(&cl(&format!("{n} \t")), s), 405),
        closed("cl_plus_sign", post(&cl(&format!("+{n}")), s), 400),
        closed("cl_minus_sign", post(&cl("-1"), s), 400),
        closed("cl_hex", post(&cl(&format!("0x{n:x}")), s), 400),
        closed("cl_space_inside", post(&cl("3 5"), s), 400),
        closed("cl_decimal_point", post(&cl(&format!("{n}.0")), s), 400),
        closed("cl_exponent", post(&cl("3e1"), s), 400),
        closed("cl_empty", post(b"Content-Length: \r\n", s), 400),
        closed("cl_comma_only", post(&cl(","), s), 400),
        closed("cl_overflow", post(&cl("184467440737095516160"), s), 400),
        closed("cl_u64_max_over_body_limit", post(&cl("18446744073709551615"), s), 413),
        closed("cl_space_before_colon", post(format!("Content-Length : {n}\r\n").as_bytes(), s), 400),
        closed("cl_obs_fold", post(format!("Content-Length: 0\r\n {n}\r\n").as_bytes(), s), 400),
        closed("cl_bare_cr_in_value", post(b"Content-Length: 3\r5\r\n", s), 400),
        closed("cl_bare_lf", post(format!("Content-Length: {n}\n").as_bytes(), s), 400),
        closed("cl_nul_in_name", post(format!("Content-Length\x00: {n}\r\n").as_bytes(), s), 400),
        closed("cl_control_in_name", post(format!("Content-\x01Length: {n}\r\n").as_bytes(), s), 400),
        closed("cl_nul_in_value", post(format!("Content-Length: \x00{n}\r\n").as_bytes(), s), 400),
        // A request that ends the connection: nothing after its body is a request.
        closed(
            "close_then_pipelined_after_body",
            post(&cat(&[b"Connection: close\r\n", &cl("5")]), &cat(&[b"hello", s])),
            405,
        ),
        closed("http10_then_pipelined_after_body", cat(&[b"POST / HTTP/1.0\r\n", &cl("5"), b"\r\nhello", s]), 405),
        closed(
            "close_then_pipelined_after_chunked_body",
            post(&cat(&[b"Connection: close\r\n", &chunked]), &last_then_smuggled),
            405,
        ),
        kept("cl_on_get", cat(&[b"GET / HTTP/1.1\r\nHost: t\r\n", &cl_n, b"\r\n", s]), 200),
        // ---- The request line and other field syntax ----
        closed("rl_bare_lf", cat(&[b"GET / HTTP/1.1\nHost: t\r\n\r\n", s]), 400),
        closed("rl_bare_cr", cat(&[b"GET / HTTP/1.1\rHost: t\r\n\r\n", s]), 400),
        closed("rl_nul_in_target", cat(&[b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n", s]), 400),
        closed("rl_double_space", cat(&[b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", s]), 400),
        closed("rl_leading_space", cat(&[b" GET / HTTP/1.1\r\nHost: t\r\n\r\n", s]), 400),
        closed("rl_http2_preface", cat(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", s]), 505),
        closed("field_del_in_value", cat(&[b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x7fb\r\n\r\n", s]), 400),
        closed("field_duplicate_host", cat(&[b"GET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n", s]), 400),
        closed("field_bare_lf_ends_head", cat(&[b"GET / HTTP/1.1\r\nHost: t\n\n", s]), 400),
        // ---- Chunked bodies: the head is valid (405 is queued), the body is not ----
        closed("chunk_size_overflow", chunked_post(&cat(&[b"1ffffffffffffffff\r\n", s])), 405),
        // ---- Sizes that parse but are past what wired reads to drop (round 1, finding 1) ----
        closed("chunk_size_u64_max", chunked_post(&cat(&[b"FFFFFFFFFFFFFFFF\r\n", s])), 405),
        closed("chunk_size_just_over_discard_limit", chunked_post(&cat(&[b"100001\r\n", s])), 405),
        closed(
            "chunks_totalling_over_discard_limit",
            chunked_post(&cat(&[b"80000\r\n", &[b'z'; 0x80000], b"\r\n80001\r\n", s])),
            405,
        ),
        closed("chunk_size_negative", chunked_post(&cat(&[b"-5\r\n", s])), 405),
        closed("chunk_size_0x_prefix", chunked_post(&cat(&[b"0x23\r\n", s])), 405),
        closed("chunk_size_not_hex", chunked_post(&cat(&[b"g\r\n", s])), 405),
        closed("chunk_size_plus", chunked_post(&cat(&[b"+23\r\n", s])), 405),
        closed("chunk_size_space_inside", chunked_post(&cat(&[b"2 3\r\n", s])), 405),
        closed("chunk_size_trailing_space", chunked_post(&cat(&[b"23 \r\n", s])), 405),
        closed("chunk_size_too_many_zeros", chunked_post(&cat(&[&[b'0'; 40], b"23\r\n", s])), 405),
        closed(
            "chunk_extension_too_long",
            chunked_post(&cat(&[b"23;x=", &[b'a'; 5000], b"\r\n", s, b"\r\n0\r\n\r\n"])),
            405,
        ),
        closed("chunk_extension_bare_cr", chunked_post(&cat(&[b"23;a\rb\r\n", s])), 405),
        closed("chunk_missing_last_crlf", chunked_post(&cat(&[b"0\r\n", s])), 405),
        closed("chunk_data_longer_than_size", chunked_post(&cat(&[b"3\r\nhello\r\n0\r\n\r\n", s])), 405),
        closed("chunk_data_without_crlf", chunked_post(&cat(&[b"5\r\nhello0\r\n\r\n", s])), 405),
        closed("chunk_size_line_bare_lf", chunked_post(&cat(&[b"5\nhello\r\n0\r\n\r\n", s])), 405),
        closed("chunk_data_bare_lf", chunked_post(&cat(&[b"5\r\nhello\n0\r\n\r\n", s])), 405),
        closed("chunk_last_bare_lf", chunked_post(&cat(&[b"0\n\n", s])), 405),
        closed("chunk_trailer_obs_fold", chunked_post(&cat(&[b"0\r\nX: a\r\n b\r\n\r\n", s])), 405),
        closed("chunk_trailer_nul", chunked_post(&cat(&[b"0\r\nX: \x00\r\n\r\n", s])), 405),
        kept("chunk_extension_quoted", chunked_post(&cat(&[b"5;n=\"v\\\"q\"\r\nhello\r\n0\r\n\r\n"])), 405),
    ]
}

/// Run one row; describe what went wrong, if anything.
fn run_row(server: &Server, row: &Row) -> Result<(), String> {
    let mut s = server.connect();
    // A refused request may be answered before all of it is written.
    let _ = s.write_all(&row.bytes);
    match row.after {
        After::Closed => {
            let (bytes, end) = read_until_closed(&mut s, Duration::from_secs(5));
            if first_status(&bytes) != Some(row.status) {
                return Err(format!("status {:?}, want {}: {:?}", first_status(&bytes), row.status, lossy(&bytes)));
            }
            if end != End::Closed {
                return Err(format!("connection {end:?}, want closed"));
            }
            if count_responses(&bytes) != 1 {
                return Err(format!("{} responses: {:?}", count_responses(&bytes), lossy(&bytes)));
            }
            if contains(&bytes, SMUGGLED_MARK) {
                return Err("the smuggled request was answered".into());
            }
        }
        After::KeptOpen => {
            let mut reader = BufReader::new(&s);
            let first = read_response(&mut reader, false)?;
            if first.status != row.status {
                return Err(format!("status {}, want {}", first.status, row.status));
            }
            // The probe must be the very next request the server sees.
            (&s).write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n").map_err(|e| e.to_string())?;
            let probe = read_response(&mut reader, false).map_err(|e| format!("probe: {e}"))?;
            if probe.text() != INDEX {
                return Err(format!("probe answered with {} {:?}", probe.status, probe.text()));
            }
            if contains(&first.body, SMUGGLED_MARK) {
                return Err("the smuggled request was answered".into());
            }
        }
    }
    // Nothing was corrupted: a clean request on a new connection.
    let clean = server.get("/index.html");
    if clean.status != 200 || clean.text() != INDEX {
        return Err(format!("clean request after the row: {} {:?}", clean.status, clean.text()));
    }
    Ok(())
}

#[test]
fn smuggling_matrix_every_row_refused_or_framed_exactly() {
    let root = site("smuggle");
    let server = Server::start(&root, &[]);
    assert_eq!(server.get("/smuggled").text(), SMUGGLED_MARK, "the marker is served when asked for plainly");
    let rows = smuggling_rows();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let failures: Vec<String> =
        rows.iter().filter_map(|row| run_row(&server, row).err().map(|e| format!("{}: {e}", row.name))).collect();
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

#[test]
fn smuggling_rows_fed_one_byte_at_a_time_agree_with_one_write() {
    // The verdict must not depend on how the bytes arrive: a sample of rows
    // (one of each kind), dribbled byte by byte.
    let root = site("smuggle-dribble");
    let server = Server::start(&root, &[]);
    let wanted = ["cl_te", "te_identity_chunked", "cl_conflicting_fields", "chunk_missing_last_crlf", "te_in_trailer"];
    for row in smuggling_rows().into_iter().filter(|r| wanted.contains(&r.name)) {
        let mut s = server.connect();
        for b in &row.bytes {
            if s.write_all(&[*b]).is_err() {
                break;
            }
        }
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").ok();
        let (bytes, _) = read_until_closed(&mut s, Duration::from_secs(5));
        assert_eq!(first_status(&bytes), Some(row.status), "{}: {:?}", row.name, lossy(&bytes));
        assert!(!contains(&bytes, SMUGGLED_MARK), "{}: the smuggled request was answered", row.name);
        let want = if row.after == After::KeptOpen { 2 } else { 1 };
        assert_eq!(count_responses(&bytes), want, "{}: {:?}", row.name, lossy(&bytes));
    }
}

/// Regression (found by the connection fuzzer): a request with a small body
/// to drop, answered from a file, followed by a pipelined request: the second
/// response was queued over the file body still waiting to be sent, so the
/// client read the second response as the first one's body.
#[test]
fn a_file_response_to_a_request_with_a_body_keeps_its_body() {
    let root = site("filebody");
    big_file(&root, "big", 1);
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(&s);
    let big = read_response(&mut reader, false).unwrap();
    assert_eq!((big.status, big.body.len()), (200, 1024 * 1024));
    assert!(big.body.iter().all(|b| b.is_ascii_lowercase()), "the file's bytes, not another response");
    assert_eq!(read_response(&mut reader, false).unwrap().text(), "file number 1\n");
}

/// Regression: responses to requests with bodies skipped the check for room
/// in the output buffer, so a long pipeline of them overflowed it and the
/// connection closed with answers missing.
#[test]
fn hundreds_of_pipelined_requests_with_bodies_are_all_answered() {
    let root = site("pipebodies");
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    let one = b"POST /n/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
    s.write_all(&one.repeat(300)).unwrap();
    s.write_all(b"GET /n/2 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut reader = BufReader::new(&s);
    for i in 0..300 {
        let r = read_response(&mut reader, false).unwrap_or_else(|e| panic!("response {i}: {e}"));
        assert_eq!(r.status, 405, "response {i}");
    }
    assert_eq!(read_response(&mut reader, false).unwrap().text(), "file number 2\n");
}

#[test]
fn multipart_range_response_is_not_held_back_by_msg_more() {
    let root = site("multipart");
    big_file(&root, "big", 1);
    let server = Server::start(&root, &[]);
    let mut s = server.connect();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    for _ in 0..3 {
        let start = Instant::now();
        s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9,100-199,-5\r\n\r\n").unwrap();
        let r = read_response(&mut reader, false).unwrap();
        let took = start.elapsed();
        assert_eq!(r.status, 206);
        assert!(r.text().ends_with("--\r\n"), "{}", r.text());
        assert!(took < Duration::from_millis(150), "the multipart body's last bytes waited {took:?}");
    }
}
