//! Writing the records a web server sends (FastCGI 1.0 §3.3, §3.4, §4.1, §5.1-§5.4).
//!
//! Each function appends whole records to a caller's `Vec<u8>`, the bytes
//! queued for the application's socket. Records this module builds are
//! padded so that each is a multiple of 8 bytes long, as §3.3 recommends;
//! the one exception is [`stdin_header`], whose data the caller
//! writes itself (see there why).

use super::{
    FCGI_ABORT_REQUEST, FCGI_BEGIN_REQUEST, FCGI_GET_VALUES, FCGI_KEEP_CONN, FCGI_PARAMS, FCGI_RESPONDER, FCGI_STDIN,
    HEADER_LEN, MAX_CONTENT_LEN, NULL_REQUEST_ID, VERSION_1,
};

/// Longest name or value §3.4 can express: its length is 31 bits.
const MAX_PAIR_PART: usize = 0x7FFF_FFFF;

/// Append a BEGIN_REQUEST record (§5.1) asking for the Responder role (§6.2).
///
/// With `keep_conn` the application keeps the connection open after
/// END_REQUEST (`FCGI_KEEP_CONN`); without it, it closes the connection.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_begin(&mut out, 1, true);
/// assert_eq!(out, b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00");
/// ```
pub fn encode_begin(out: &mut Vec<u8>, request_id: u16, keep_conn: bool) {
    let [role_b1, role_b0] = FCGI_RESPONDER.to_be_bytes();
    let flags = if keep_conn { FCGI_KEEP_CONN } else { 0 };
    // §5.1: roleB1, roleB0, flags, reserved[5].
    record(out, FCGI_BEGIN_REQUEST, request_id, &[role_b1, role_b0, flags, 0, 0, 0, 0, 0]);
}

/// Append PARAMS records (§5.2) holding these name-value pairs (§3.4).
///
/// The same records as a [`ParamsEncoder`] fed these pairs one by one and
/// then finished; see there how the pairs are cut into records. No records
/// are written for no pairs. End the stream with [`encode_end_of_params`].
///
/// # Panics
///
/// If a name or value is 2³¹ bytes or longer, which §3.4 cannot express.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_params(&mut out, 1, [(&b"SERVER_PORT"[..], &b"80"[..])]);
/// assert_eq!(out, b"\x01\x04\x00\x01\x00\x0f\x01\x00\x0b\x02SERVER_PORT80\x00");
/// ```
pub fn encode_params<'a, I>(out: &mut Vec<u8>, request_id: u16, pairs: I)
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let mut params = ParamsEncoder::new(out, request_id);
    for (name, value) in pairs {
        params.pair(name, value);
    }
    params.finish();
}

/// PARAMS records (§5.2) written a name-value pair (§3.4) at a time,
/// straight into the caller's `Vec<u8>`: a web server can encode its
/// meta-variables as it works them out, with no list of them in between.
///
/// The pairs are one stream, cut into records of at most 65535 bytes of
/// content. A pair is never cut across two records when it fits in one,
/// because php-fpm reads the pairs of each record separately and refuses
/// one that runs past its record; a single pair longer than a record can
/// only be cut, as §5.2 allows, and php-fpm will then refuse the request,
/// so callers bound what they send.
///
/// The last record is closed (its header filled in, its padding added)
/// when the encoder is finished or dropped; the stream still needs
/// [`encode_end_of_params`] after it. More pairs may follow later from a
/// new encoder on the same `Vec`: they go in records of their own.
///
/// ```
/// use wired_parser::fastcgi::ParamsEncoder;
/// let mut out = Vec::new();
/// let mut params = ParamsEncoder::new(&mut out, 1);
/// params.pair(b"SERVER_PORT", b"80");
/// params.finish();
/// assert_eq!(out, b"\x01\x04\x00\x01\x00\x0f\x01\x00\x0b\x02SERVER_PORT80\x00");
/// ```
#[derive(Debug)]
pub struct ParamsEncoder<'o> {
    records: Records<'o>,
}

impl<'o> ParamsEncoder<'o> {
    /// Start writing PARAMS records for `request_id` at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>, request_id: u16) -> Self {
        ParamsEncoder { records: Records { out, kind: FCGI_PARAMS, request_id, open: None } }
    }

    /// Append one name-value pair.
    ///
    /// # Panics
    ///
    /// If the name or value is 2³¹ bytes or longer, which §3.4 cannot express.
    pub fn pair(&mut self, name: &[u8], value: &[u8]) {
        let (name_len, name_len_bytes) = pair_length(name.len());
        let (value_len, value_len_bytes) = pair_length(value.len());
        let whole = name_len_bytes + value_len_bytes + name.len() + value.len();
        let records = &mut self.records;
        if whole > MAX_CONTENT_LEN {
            // Longer than a record: cut across records as they fill.
            records.write(&name_len[..name_len_bytes]);
            records.write(&value_len[..value_len_bytes]);
            records.write(name);
            records.write(value);
            return;
        }
        if whole > records.room() {
            records.close();
        }
        // The pair fits in the open record (or a new one): written in one go.
        records.open();
        records.out.reserve(whole);
        if name_len_bytes == 1 && value_len_bytes == 1 {
            // Both under 128 bytes, as nearly every meta-variable is: the two
            // lengths in one fixed-size store rather than two copies.
            records.out.extend_from_slice(&[name_len[0], value_len[0]]);
        } else {
            records.out.extend_from_slice(&name_len[..name_len_bytes]);
            records.out.extend_from_slice(&value_len[..value_len_bytes]);
        }
        records.out.extend_from_slice(name);
        records.out.extend_from_slice(value);
        if records.room() == 0 {
            records.close();
        }
    }

    /// Close the record being written, as dropping the encoder does.
    /// Nothing is written if no pair was.
    pub fn finish(self) {}
}

impl Drop for ParamsEncoder<'_> {
    fn drop(&mut self) {
        self.records.close();
    }
}

/// Append the empty PARAMS record that ends the parameters (§5.2).
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_end_of_params(&mut out, 1);
/// assert_eq!(out, b"\x01\x04\x00\x01\x00\x00\x00\x00");
/// ```
pub fn encode_end_of_params(out: &mut Vec<u8>, request_id: u16) {
    record(out, FCGI_PARAMS, request_id, &[]);
}

/// Append STDIN records (§5.3) carrying `data`, a piece of the request body,
/// copied into records of at most 65535 bytes of content. Nothing is written
/// for empty data: an empty record would end the body. End the body with
/// [`encode_end_of_stdin`].
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_stdin(&mut out, 1, b"a=1");
/// assert_eq!(out, b"\x01\x05\x00\x01\x00\x03\x05\x00a=1\0\0\0\0\0");
/// ```
pub fn encode_stdin(out: &mut Vec<u8>, request_id: u16, data: &[u8]) {
    let mut records = Records { out, kind: FCGI_STDIN, request_id, open: None };
    records.write(data);
    records.close();
}

/// The header of a STDIN record (§5.3) whose `len` bytes of content the
/// caller writes next, straight from its own buffer: returned by value, for
/// the caller to put in front of its data wherever that is.
///
/// The record is not padded: padding is only recommended (§3.3), and
/// padding here would make the caller write a third piece after its data
/// for no gain to a receiver that reads a byte stream. `len` must not be
/// 0, which would end the body; use [`encode_end_of_stdin`] for that.
///
/// ```
/// let body = b"q=fastcgi";
/// let header = wired_parser::fastcgi::stdin_header(1, body.len() as u16);
/// assert_eq!(header, *b"\x01\x05\x00\x01\x00\x09\x00\x00");
/// ```
pub fn stdin_header(request_id: u16, len: u16) -> [u8; HEADER_LEN] {
    header(FCGI_STDIN, request_id, len, 0)
}

/// Append the empty STDIN record that ends the request body (§5.3).
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_end_of_stdin(&mut out, 1);
/// assert_eq!(out, b"\x01\x05\x00\x01\x00\x00\x00\x00");
/// ```
pub fn encode_end_of_stdin(out: &mut Vec<u8>, request_id: u16) {
    record(out, FCGI_STDIN, request_id, &[]);
}

/// Append an ABORT_REQUEST record (§5.4): the client went away, so the
/// application should end the request; it still answers with END_REQUEST.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_abort(&mut out, 1);
/// assert_eq!(out, b"\x01\x02\x00\x01\x00\x00\x00\x00");
/// ```
pub fn encode_abort(out: &mut Vec<u8>, request_id: u16) {
    record(out, FCGI_ABORT_REQUEST, request_id, &[]);
}

/// Append a GET_VALUES management record (§4.1) asking for these
/// variables, such as `FCGI_MAX_CONNS`, `FCGI_MAX_REQS` and
/// `FCGI_MPXS_CONNS`: name-value pairs with empty values, in one record.
///
/// # Panics
///
/// If the names take more than the 65535 bytes of one record.
///
/// ```
/// let mut out = Vec::new();
/// wired_parser::fastcgi::encode_get_values(&mut out, [&b"FCGI_MPXS_CONNS"[..]]);
/// assert_eq!(out, b"\x01\x09\x00\x00\x00\x11\x07\x00\x0f\x00FCGI_MPXS_CONNS\0\0\0\0\0\0\0");
/// ```
pub fn encode_get_values<'a, I>(out: &mut Vec<u8>, names: I)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut content = Vec::new();
    for name in names {
        let (name_len, name_len_bytes) = pair_length(name.len());
        content.extend_from_slice(&name_len[..name_len_bytes]);
        content.push(0);
        content.extend_from_slice(name);
    }
    assert!(content.len() <= MAX_CONTENT_LEN, "FCGI_GET_VALUES is one record of at most 65535 bytes");
    record(out, FCGI_GET_VALUES, NULL_REQUEST_ID, &content);
}

/// Append one whole record with this content, padded to a multiple of 8.
fn record(out: &mut Vec<u8>, kind: u8, request_id: u16, content: &[u8]) {
    let padding = padding_for(content.len());
    // Lossless: every caller passes at most MAX_CONTENT_LEN bytes.
    out.extend_from_slice(&header(kind, request_id, content.len() as u16, padding));
    out.extend_from_slice(content);
    out.resize(out.len() + usize::from(padding), 0);
}

/// A record header (§3.3): version, type, requestIdB1, requestIdB0,
/// contentLengthB1, contentLengthB0, paddingLength, reserved.
fn header(kind: u8, request_id: u16, len: u16, padding: u8) -> [u8; HEADER_LEN] {
    let [id_b1, id_b0] = request_id.to_be_bytes();
    let [len_b1, len_b0] = len.to_be_bytes();
    [VERSION_1, kind, id_b1, id_b0, len_b1, len_b0, padding, 0]
}

/// Padding that brings a record with `len` bytes of content to a multiple
/// of 8 bytes (§3.3: the header is 8 bytes, so it is the content that counts).
fn padding_for(len: usize) -> u8 {
    // Lossless: less than 8.
    ((HEADER_LEN - len % HEADER_LEN) % HEADER_LEN) as u8
}

/// The §3.4 encoding of a name or value length: one byte below 128, else
/// four bytes, big-endian, with the high bit set. Returns the bytes and how
/// many of them to use.
fn pair_length(len: usize) -> ([u8; 4], usize) {
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => ([short, 0, 0, 0], 1),
        _ => {
            assert!(len <= MAX_PAIR_PART, "a FastCGI name or value is at most 2^31 - 1 bytes");
            // Lossless: checked just above.
            ((len as u32 | 0x8000_0000).to_be_bytes(), 4)
        }
    }
}

/// A stream of records of one type being written: bytes go into the open
/// record until it holds 65535, and its header is filled in when it closes.
#[derive(Debug)]
struct Records<'o> {
    out: &'o mut Vec<u8>,
    kind: u8,
    request_id: u16,
    /// Where the open record's header starts in `out`, if a record is open.
    open: Option<usize>,
}

impl Records<'_> {
    /// Content the open record (or a new one) can still take.
    fn room(&self) -> usize {
        match self.open {
            Some(start) => MAX_CONTENT_LEN - (self.out.len() - start - HEADER_LEN),
            None => MAX_CONTENT_LEN,
        }
    }

    /// Append `bytes`, opening and closing records as they fill.
    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            self.open();
            let room = self.room();
            let take = room.min(bytes.len());
            self.out.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if take == room {
                self.close();
            }
        }
    }

    /// Open a record, unless one is open: room for its header, filled in
    /// when it closes.
    fn open(&mut self) {
        if self.open.is_none() {
            self.open = Some(self.out.len());
            self.out.extend_from_slice(&[0; HEADER_LEN]);
        }
    }

    /// Fill in the open record's header and pad it; an empty stream writes nothing.
    fn close(&mut self) {
        if let Some(start) = self.open.take() {
            let len = self.out.len() - start - HEADER_LEN;
            let padding = padding_for(len);
            // Lossless: `room` keeps a record's content within MAX_CONTENT_LEN.
            self.out[start..start + HEADER_LEN].copy_from_slice(&header(
                self.kind,
                self.request_id,
                len as u16,
                padding,
            ));
            self.out.resize(self.out.len() + usize::from(padding), 0);
        }
    }
}
