//! A resumable decoder for chunked bodies (RFC 9112 §7.1).
//!
//! A chunked body arrives in whatever pieces the network delivers, so the
//! decoder is a small state machine that can stop after any byte and pick up
//! where it left off. It never copies and never allocates: each call to
//! [`ChunkedDecoder::decode`] says how many input bytes it consumed and, at
//! most once per call, which range of the input is body data. The caller
//! hands those bytes on (to a file, a CGI pipe, an upstream) straight out of
//! its own read buffer.
//!
//! ```text
//!  Size ─┬─ ';' ──> Extension ──┐          (a chunk line: 1*HEXDIG [ext] CRLF)
//!        ├─ SP ──> SizeBws ─';'─┘
//!        └─ CR ──────────────────> SizeLf ─LF─┬─ size > 0 ─> Data ─> DataCr ─> DataLf ─> Size
//!                                             └─ size = 0 ─> Trailer ─ CRLF CRLF ─> Done
//! ```
//!
//! The grammar is applied strictly, because a chunked body that two parsers
//! read differently is how requests are smuggled past a proxy: every line ends
//! in CRLF (a bare LF or a lone CR is an error, not a line end), chunk data must
//! be followed by CRLF, a chunk-size is bare hex digits that must fit in a
//! `u64`, and the extensions and the trailer section are bounded in size.
//! Extensions and trailer fields are checked and then discarded.

use core::ops::Range;

use crate::error::Error;
use crate::limits::Limits;

/// Most hex digits accepted in one chunk-size, leading zeros included.
///
/// Checked arithmetic already refuses more than 16 significant digits; this
/// also ends a size line padded with zeros forever.
const MAX_SIZE_DIGITS: u32 = 32;

/// Most bytes of whitespace and extensions accepted after one chunk-size.
///
/// RFC 9112 §7.1.1 lets a server limit chunk extensions; wired ignores them
/// all, so it has no reason to read more than this.
const MAX_EXTENSION_BYTES: usize = 4096;

/// Decodes one chunked body, fed in pieces of any size.
///
/// Create one per body with [`ChunkedDecoder::new`], call
/// [`decode`](ChunkedDecoder::decode) until it reports `done`, and keep the
/// decoder across reads: it remembers where it stopped, down to a CR whose LF
/// has not arrived yet.
///
/// ```
/// use wired_parser::{ChunkedDecoder, Limits};
/// let mut dec = ChunkedDecoder::new(&Limits::default());
/// assert_eq!(dec.decode(b"a")?.consumed, 1); // half a size line: the decoder keeps its place
/// let input = b"\r\n0123456789\r\n0\r\n\r\n";
/// let d = dec.decode(input)?;
/// assert_eq!(&input[d.data.clone()], b"0123456789");
/// assert!(dec.decode(&input[d.consumed..])?.done);
/// # Ok::<(), wired_parser::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    /// Where in the grammar the next byte belongs.
    state: State,
    /// The chunk-size read so far on the current chunk line.
    size: u64,
    /// Hex digits read so far on the current chunk line.
    size_digits: u32,
    /// Whitespace and extension bytes read so far on the current chunk line.
    extension_bytes: usize,
    /// Bytes of the trailer section read so far, final CRLF included.
    trailer_bytes: usize,
    /// Trailer fields started so far.
    trailer_fields: usize,
    /// Body data handed out so far.
    body_bytes: u64,
    /// Copied from [`Limits::max_head_bytes`].
    max_trailer_bytes: usize,
    /// Copied from [`Limits::max_headers`].
    max_trailer_fields: usize,
}

/// Where the decoder stands in the chunked-body grammar (RFC 9112 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk-size.
    Size,
    /// Whitespace after a chunk-size: only `;` or more whitespace may follow.
    SizeBws,
    /// Inside the chunk extensions of a chunk line.
    Extension(Ext),
    /// CR seen at the end of a chunk line, LF expected.
    SizeLf,
    /// Inside chunk data, with this many bytes still to come.
    Data { remaining: u64 },
    /// Chunk data finished, CR expected.
    DataCr,
    /// CR seen after chunk data, LF expected.
    DataLf,
    /// In the trailer section that follows the last chunk.
    Trailer(Line),
    /// The final CRLF has been consumed.
    Done,
    /// A previous call failed; every later call repeats the error.
    Failed(Error),
}

/// Where the decoder stands inside `chunk-ext` (RFC 9112 §7.1.1):
/// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// After `;`, before the name.
    BeforeName,
    /// Inside the name.
    Name,
    /// Whitespace after the name: `=` or `;` must follow.
    AfterName,
    /// After `=`, before the value.
    BeforeValue,
    /// Inside a token value.
    Token,
    /// Inside a quoted-string value.
    Quoted,
    /// After a backslash in a quoted-string.
    QuotedPair,
    /// Just after the closing quote.
    AfterQuoted,
    /// Whitespace after a value: `;` must follow.
    AfterValue,
}

/// Where the decoder stands inside the trailer section (RFC 9112 §7.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// At the start of a line: a field name, or the CRLF that ends the body.
    Start,
    /// Inside a field name.
    Name,
    /// Inside a field value.
    Value,
    /// CR seen at the end of a field line, LF expected.
    Lf,
    /// CR seen on an empty line, the LF that ends the body expected.
    EndLf,
}

/// What one call to [`ChunkedDecoder::decode`] achieved.
///
/// ```
/// let d = wired_parser::Decoded { consumed: 8, data: 3..8, done: false };
/// assert_eq!(&b"5\r\nhello"[d.data.clone()], b"hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// How many bytes of the input were used; the caller advances past them.
    pub consumed: usize,
    /// Body data, as indices into the input; empty if this call found none.
    pub data: Range<usize>,
    /// True once the final CRLF has been consumed. Nothing after it belongs
    /// to this body: the next pipelined request starts at `consumed`.
    pub done: bool,
}

impl Decoded {
    /// A result that carries no body data.
    fn framing(consumed: usize, done: bool) -> Self {
        Decoded { consumed, data: 0..0, done }
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body. The trailer section is
    /// bounded like a head, by `limits.max_head_bytes` and `limits.max_headers`.
    ///
    /// ```
    /// let dec = wired_parser::ChunkedDecoder::new(&wired_parser::Limits::default());
    /// assert!(!dec.is_done());
    /// ```
    pub fn new(limits: &Limits) -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            size_digits: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            trailer_fields: 0,
            body_bytes: 0,
            max_trailer_bytes: limits.max_head_bytes,
            max_trailer_fields: limits.max_headers,
        }
    }

    /// Decode as much of `input` as possible, stopping after at most one data span.
    ///
    /// A call returns after the end of a data span, after the final CRLF, or
    /// when the input runs out; it consumes every byte it reads, so
    /// `consumed == 0` means the input was empty (or the body is done) and
    /// the caller must read more. After an error the body cannot be
    /// delimited, so the connection must be closed; later calls return the
    /// same error.
    ///
    /// ```
    /// use wired_parser::{ChunkedDecoder, Limits};
    ///
    /// let input = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nGET /next";
    /// let mut dec = ChunkedDecoder::new(&Limits::default());
    /// let (mut body, mut pos) = (Vec::new(), 0);
    /// loop {
    ///     let d = dec.decode(&input[pos..])?;
    ///     body.extend_from_slice(&input[pos..][d.data.clone()]);
    ///     pos += d.consumed;
    ///     if d.done || d.consumed == 0 {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(body, b"hello world");
    /// assert_eq!(&input[pos..], b"GET /next");
    /// # Ok::<(), wired_parser::Error>(())
    /// ```
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Failed(error) => return Err(error),
                State::Done => return Ok(Decoded::framing(pos, true)),
                State::Data { remaining } => {
                    let available = input.len().saturating_sub(pos);
                    if available == 0 {
                        return Ok(Decoded::framing(pos, false));
                    }
                    let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                    // Lossless: `take` is at most `remaining`, a u64.
                    let taken = take as u64;
                    self.body_bytes = self.body_bytes.saturating_add(taken);
                    self.state = match remaining - taken {
                        0 => State::DataCr,
                        left => State::Data { remaining: left },
                    };
                    let end = pos + take;
                    return Ok(Decoded { consumed: end, data: pos..end, done: false });
                }
                _ => {
                    let Some(&byte) = input.get(pos) else {
                        return Ok(Decoded::framing(pos, false));
                    };
                    pos += 1;
                    if let Err(error) = self.step(byte) {
                        self.state = State::Failed(error);
                        return Err(error);
                    }
                }
            }
        }
    }

    /// True once the whole body, trailer section included, has been consumed.
    ///
    /// ```
    /// let mut dec = wired_parser::ChunkedDecoder::new(&wired_parser::Limits::default());
    /// assert!(dec.decode(b"0\r\n\r\n")?.done);
    /// assert!(dec.is_done());
    /// # Ok::<(), wired_parser::Error>(())
    /// ```
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Total body data handed out so far, for enforcing a body size limit.
    ///
    /// ```
    /// let mut dec = wired_parser::ChunkedDecoder::new(&wired_parser::Limits::default());
    /// dec.decode(b"3\r\nabc")?;
    /// assert_eq!(dec.body_bytes(), 3);
    /// # Ok::<(), wired_parser::Error>(())
    /// ```
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// The body data handed out so far plus what the current chunk line has
    /// announced and not yet delivered: the least the whole body will be.
    /// A receiver that will not accept a body this large can stop before a
    /// single byte of the chunk arrives (RFC 9112 §7.1: the size comes first).
    ///
    /// ```
    /// let mut dec = wired_parser::ChunkedDecoder::new(&wired_parser::Limits::default());
    /// let d = dec.decode(b"3\r\nabc\r\nFFFFFFFF")?; // stops after the data "abc"
    /// dec.decode(&b"3\r\nabc\r\nFFFFFFFF"[d.consumed..])?;
    /// assert_eq!(dec.body_bytes(), 3);
    /// assert_eq!(dec.announced(), 3 + 0xFFFF_FFFF);
    /// # Ok::<(), wired_parser::Error>(())
    /// ```
    pub fn announced(&self) -> u64 {
        let pending = match self.state {
            State::Data { remaining } => remaining,
            // The digits so far are already a lower bound on the chunk's size.
            State::Size | State::SizeBws | State::Extension(_) | State::SizeLf => self.size,
            _ => 0,
        };
        self.body_bytes.saturating_add(pending)
    }

    /// Advance the state machine by one framing byte (any state but `Data`).
    fn step(&mut self, byte: u8) -> Result<(), Error> {
        self.state = match self.state {
            State::Size => self.size_byte(byte)?,
            State::SizeBws | State::Extension(_) if byte == b'\n' => return Err(Error::BareLf),
            State::SizeBws => {
                self.count_extension_byte()?;
                match byte {
                    // RFC 9112 §7.1.1: BWS is allowed only before a `;`, so
                    // whitespace that ends the line is refused.
                    b' ' | b'\t' => State::SizeBws,
                    b';' => State::Extension(Ext::BeforeName),
                    _ => return Err(Error::ChunkSize),
                }
            }
            State::Extension(ext) => match extension_byte(ext, byte)? {
                State::SizeLf => State::SizeLf,
                next => {
                    self.count_extension_byte()?;
                    next
                }
            },
            State::SizeLf => match byte {
                b'\n' => self.end_chunk_line(),
                _ => return Err(Error::BareCr),
            },
            // RFC 9112 §7.1: chunk-data is followed by CRLF; anything else
            // means the size and the data disagree.
            State::DataCr => match byte {
                b'\r' => State::DataLf,
                _ => return Err(Error::ChunkFraming),
            },
            State::DataLf => match byte {
                b'\n' => State::Size,
                _ => return Err(Error::ChunkFraming),
            },
            State::Trailer(line) => {
                self.trailer_bytes += 1;
                if self.trailer_bytes > self.max_trailer_bytes {
                    return Err(Error::HeadersTooLarge);
                }
                self.trailer_byte(line, byte)?
            }
            // `decode` handles these without reading a byte.
            State::Data { .. } | State::Done | State::Failed(_) => self.state,
        };
        Ok(())
    }

    /// A byte of a chunk-size, or the byte that ends it.
    fn size_byte(&mut self, byte: u8) -> Result<State, Error> {
        // RFC 9112 §7.1: chunk-size = 1*HEXDIG, so no sign, no "0x" and no
        // leading whitespace; `to_digit(16)` accepts exactly HEXDIG.
        if let Some(digit) = char::from(byte).to_digit(16) {
            self.size_digits += 1;
            if self.size_digits > MAX_SIZE_DIGITS {
                return Err(Error::ChunkSize);
            }
            self.size = self
                .size
                .checked_mul(16)
                .and_then(|size| size.checked_add(u64::from(digit)))
                .ok_or(Error::ChunkSize)?;
            return Ok(State::Size);
        }
        if self.size_digits == 0 {
            return Err(Error::ChunkSize);
        }
        match byte {
            b'\r' => Ok(State::SizeLf),
            b'\n' => Err(Error::BareLf),
            b' ' | b'\t' => {
                self.count_extension_byte()?;
                Ok(State::SizeBws)
            }
            b';' => {
                self.count_extension_byte()?;
                Ok(State::Extension(Ext::BeforeName))
            }
            _ => Err(Error::ChunkSize),
        }
    }

    /// Count one byte against the per-line extension bound (RFC 9112 §7.1.1).
    fn count_extension_byte(&mut self) -> Result<(), Error> {
        self.extension_bytes += 1;
        if self.extension_bytes > MAX_EXTENSION_BYTES {
            return Err(Error::ChunkExtension);
        }
        Ok(())
    }

    /// The LF of a chunk line: data follows, or the trailer if the size is 0.
    fn end_chunk_line(&mut self) -> State {
        let size = self.size;
        self.size = 0;
        self.size_digits = 0;
        self.extension_bytes = 0;
        match size {
            // RFC 9112 §7.1: last-chunk = 1*("0") [ chunk-ext ] CRLF.
            0 => State::Trailer(Line::Start),
            remaining => State::Data { remaining },
        }
    }

    /// A byte of the trailer section (RFC 9112 §7.1.2). The fields are checked
    /// and discarded: wired uses none, which also keeps fields that must not
    /// appear in a trailer (RFC 9110 §6.5.1) from reaching anything.
    fn trailer_byte(&mut self, line: Line, byte: u8) -> Result<State, Error> {
        let next = match (line, byte) {
            (Line::Lf, b'\n') => Line::Start,
            (Line::EndLf, b'\n') => return Ok(State::Done),
            (Line::Lf | Line::EndLf, _) => return Err(Error::BareCr),
            (_, b'\n') => return Err(Error::BareLf),
            (Line::Start, b'\r') => Line::EndLf,
            (Line::Start, _) if is_tchar(byte) => {
                self.trailer_fields += 1;
                if self.trailer_fields > self.max_trailer_fields {
                    return Err(Error::HeadersTooLarge);
                }
                Line::Name
            }
            (Line::Name, b':') => Line::Value,
            (Line::Name, _) if is_tchar(byte) => Line::Name,
            (Line::Value, b'\r') => Line::Lf,
            (Line::Value, _) if is_field_byte(byte) => Line::Value,
            // A name that is not a token (RFC 9110 §5.1), a line that starts
            // with whitespace (obs-fold, RFC 9112 §5.2), a control byte in a
            // value (RFC 9110 §5.5).
            _ => return Err(Error::Trailer),
        };
        Ok(State::Trailer(next))
    }
}

/// A byte inside chunk extensions (RFC 9112 §7.1.1, quoted-string per
/// RFC 9110 §5.6.4). A bare LF has already been refused.
fn extension_byte(ext: Ext, byte: u8) -> Result<State, Error> {
    let is_ws = byte == b' ' || byte == b'\t';
    let next = match ext {
        Ext::BeforeName if is_ws => Ext::BeforeName,
        Ext::BeforeName | Ext::Name if is_tchar(byte) => Ext::Name,
        Ext::Name | Ext::AfterName if is_ws => Ext::AfterName,
        Ext::Name | Ext::AfterName if byte == b'=' => Ext::BeforeValue,
        Ext::BeforeValue if is_ws => Ext::BeforeValue,
        Ext::BeforeValue if byte == b'"' => Ext::Quoted,
        Ext::BeforeValue | Ext::Token if is_tchar(byte) => Ext::Token,
        Ext::Quoted if byte == b'"' => Ext::AfterQuoted,
        Ext::Quoted if byte == b'\\' => Ext::QuotedPair,
        Ext::Quoted if is_qdtext(byte) => Ext::Quoted,
        Ext::QuotedPair if is_field_byte(byte) => Ext::Quoted,
        Ext::Token | Ext::AfterQuoted | Ext::AfterValue if is_ws => Ext::AfterValue,
        Ext::Name | Ext::AfterName | Ext::Token | Ext::AfterQuoted | Ext::AfterValue if byte == b';' => Ext::BeforeName,
        // Only a complete name or value may end the line; whitespace before
        // the CRLF is not in the grammar.
        Ext::Name | Ext::Token | Ext::AfterQuoted if byte == b'\r' => return Ok(State::SizeLf),
        _ => return Err(Error::ChunkExtension),
    };
    Ok(State::Extension(next))
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// `qdtext` (RFC 9110 §5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text.
fn is_qdtext(byte: u8) -> bool {
    is_field_byte(byte) && byte != b'"' && byte != b'\\'
}

/// HTAB, SP, VCHAR or obs-text: what a field value (RFC 9110 §5.5) or a
/// quoted-pair may hold.
fn is_field_byte(byte: u8) -> bool {
    byte == b'\t' || byte == b' ' || byte.is_ascii_graphic() || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How feeding a body ended.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum End {
        /// The final CRLF was reached after this many bytes.
        Done { consumed: usize },
        /// The input ran out first.
        Partial,
        /// The decoder refused the body.
        Failed(Error),
    }

    /// What a row of the table expects: the body decoded so far, and the end.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Outcome {
        body: Vec<u8>,
        end: End,
    }

    struct Case {
        name: &'static str,
        input: Vec<u8>,
        limits: Limits,
        expect: Outcome,
    }

    /// Trailer bounds small enough to exceed in a short row.
    const SMALL: Limits = Limits { max_request_line: 8 * 1024, max_headers: 2, max_head_bytes: 64 };

    fn case(name: &'static str, input: impl AsRef<[u8]>, limits: Limits, expect: Outcome) -> Case {
        let input = input.as_ref().to_vec();
        Case { name, input, limits, expect }
    }

    /// A complete body: everything but the last `rest` bytes of `input`.
    fn finished(name: &'static str, input: impl AsRef<[u8]>, limits: Limits, body: &str, rest: usize) -> Case {
        let len = input.as_ref().len();
        let expect = Outcome { body: body.as_bytes().to_vec(), end: End::Done { consumed: len - rest } };
        case(name, input, limits, expect)
    }

    fn partial(body: &str) -> Outcome {
        Outcome { body: body.as_bytes().to_vec(), end: End::Partial }
    }

    fn err(body: &str, error: Error) -> Outcome {
        Outcome { body: body.as_bytes().to_vec(), end: End::Failed(error) }
    }

    fn done(name: &'static str, input: &str, body: &str, rest: &str) -> Case {
        finished(name, input, Limits::default(), body, rest.len())
    }

    fn bad(name: &'static str, input: impl AsRef<[u8]>, body: &str, error: Error) -> Case {
        case(name, input, Limits::default(), err(body, error))
    }

    #[rustfmt::skip] // one row per line reads as a table
    fn table() -> Vec<Case> {
        use Error::*;
        let big_ext_ok = format!("1;{}\r\nx\r\n0\r\n\r\n", "a".repeat(MAX_EXTENSION_BYTES - 1));
        let big_ext_bad = format!("1;{}\r\nx\r\n0\r\n\r\n", "a".repeat(MAX_EXTENSION_BYTES));
        let many_fields = format!("0\r\n{}\r\n", "A: b\r\n".repeat(101));
        let max_fields = format!("0\r\n{}\r\n", "A: b\r\n".repeat(100));
        vec![
            done("empty body", "0\r\n\r\n", "", ""),
            done("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", ""),
            done("upper hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", ""),
            done("lower hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789", ""),
            done("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", ""),
            done("data holds CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", ""),
            done("ext name", "5;name\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext token", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext quoted", "5;n=\"a; b=c\"\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext quoted-pair", "5;n=\"a\\\"b\"\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext empty quoted", "5;n=\"\"\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext several", "5;a=1;b;c=\"x\"\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("BWS before ;", "5 ;x\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("tab before ;", "5\t;x\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("BWS everywhere", "5 ; a = b ; c = \"d\" ;e\r\nhello\r\n0\r\n\r\n", "hello", ""),
            done("ext on last chunk", "0;end=1\r\n\r\n", "", ""),
            done("trailer", "0\r\nExpires: never\r\n\r\n", "", ""),
            done("trailers, empty value", "0\r\nA: 1\r\nB:\r\nC:\t x \r\n\r\n", "", ""),
            done("trailer obs-text", "0\r\nA: caf\u{e9}\r\n\r\n", "", ""),
            done("pipelined", "0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "", "GET / HTTP/1.1\r\n\r\n"),
            done("pipelined after data", "1\r\nx\r\n0\r\n\r\n0\r\n\r\n", "x", "0\r\n\r\n"),
            finished("ext at the bound", &big_ext_ok, Limits::default(), "x", 0),
            finished("trailer fields at the bound", &max_fields, Limits::default(), "", 0),
            finished("small trailer at the bound", "0\r\nA: 1\r\nB: 2\r\n\r\n", SMALL, "", 0),
            case("u64::MAX size", "ffffffffffffffff\r\nabc", Limits::default(), partial("abc")),
            case("32 digits", format!("{}5\r\nhello", "0".repeat(31)), Limits::default(), partial("hello")),
            case("empty input", "", Limits::default(), partial("")),
            case("cut in data", "5\r\nhel", Limits::default(), partial("hel")),
            case("cut in last CRLF", "0\r\n\r", Limits::default(), partial("")),
            case("cut in trailer", "0\r\nA: b", Limits::default(), partial("")),
            // Chunk-size (RFC 9112 §7.1).
            bad("overflow", "ffffffffffffffffff\r\n", "", ChunkSize),
            bad("17 digits", "10000000000000000\r\n", "", ChunkSize),
            bad("33 digits", format!("{}5\r\n", "0".repeat(32)), "", ChunkSize),
            bad("negative", "-1\r\n", "", ChunkSize),
            bad("plus", "+5\r\nhello\r\n", "", ChunkSize),
            bad("0x prefix", "0x10\r\n", "", ChunkSize),
            bad("leading space", " 5\r\nhello\r\n", "", ChunkSize),
            bad("empty size", "\r\n", "", ChunkSize),
            bad("not hex", "g\r\n", "", ChunkSize),
            bad("trailing space", "5 \r\nhello\r\n0\r\n\r\n", "", ChunkSize),
            bad("junk after size", "5 x\r\nhello\r\n", "", ChunkSize),
            bad("junk in size", "5x\r\nhello\r\n", "", ChunkSize),
            // Chunk extensions (RFC 9112 §7.1.1).
            bad("empty ext", "5;\r\nhello\r\n", "", ChunkExtension),
            bad("ext no name", "5;=v\r\nhello\r\n", "", ChunkExtension),
            bad("ext no value", "5;a=\r\nhello\r\n", "", ChunkExtension),
            bad("ext space in name", "5;a b\r\nhello\r\n", "", ChunkExtension),
            bad("ext space in value", "5;a=b c\r\nhello\r\n", "", ChunkExtension),
            bad("ext trailing space", "5;a \r\nhello\r\n", "", ChunkExtension),
            bad("ext unterminated quote", "5;a=\"x\r\nhello\r\n", "", ChunkExtension),
            bad("ext junk after quote", "5;a=\"x\"y\r\nhello\r\n", "", ChunkExtension),
            bad("ext NUL", "5;a=\0\r\nhello\r\n", "", ChunkExtension),
            bad("huge ext", &big_ext_bad, "", ChunkExtension),
            // Line ends (RFC 9112 §2.2, §7.1).
            bad("bare LF after size", "5\nhello\r\n0\r\n\r\n", "", BareLf),
            bad("bare LF after ext", "5;a=b\nhello\r\n", "", BareLf),
            bad("bare LF in quoted ext", "5;a=\"\n\"\r\nhello\r\n", "", BareLf),
            bad("bare CR after size", "5\rhello\r\n", "", BareCr),
            bad("LF only after data", "5\r\nhello\n0\r\n\r\n", "hello", ChunkFraming),
            bad("no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", "hello", ChunkFraming),
            bad("CR without LF after data", "5\r\nhello\rX0\r\n\r\n", "hello", ChunkFraming),
            bad("size shorter than data", "3\r\nhello\r\n0\r\n\r\n", "hel", ChunkFraming),
            bad("bare LF ends body", "0\r\n\n", "", BareLf),
            bad("bare CR ends body", "0\r\n\rX", "", BareCr),
            bad("bare LF after trailer", "0\r\nA: b\n\r\n", "", BareLf),
            bad("bare CR after trailer", "0\r\nA: b\rX\r\n", "", BareCr),
            // Trailer section (RFC 9112 §7.1.2).
            bad("trailer name with space", "0\r\nBad Name: x\r\n\r\n", "", Trailer),
            bad("trailer empty name", "0\r\n: x\r\n\r\n", "", Trailer),
            bad("trailer space before colon", "0\r\nA : x\r\n\r\n", "", Trailer),
            bad("trailer obs-fold", "0\r\nA: x\r\n folded\r\n\r\n", "", Trailer),
            bad("trailer NUL in value", "0\r\nA: x\0y\r\n\r\n", "", Trailer),
            bad("trailer DEL in value", "0\r\nA: x\x7fy\r\n\r\n", "", Trailer),
            bad("trailer without colon", "0\r\nA\r\n\r\n", "", Trailer),
            bad("too many trailer fields", &many_fields, "", HeadersTooLarge),
            case("too many small trailer fields", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", SMALL, err("", HeadersTooLarge)),
            case("trailer too long", format!("0\r\nA: {}\r\n\r\n", "x".repeat(60)), SMALL, err("", HeadersTooLarge)),
        ]
    }

    /// Feed `input` to a decoder the way a server does, the bytes becoming
    /// available up to each of `cuts` in turn, then up to the end.
    fn feed(input: &[u8], limits: &Limits, cuts: &[usize]) -> Outcome {
        let mut dec = ChunkedDecoder::new(limits);
        let mut ends = cuts.iter().copied().chain([input.len()]);
        let mut end = ends.next().unwrap_or(input.len());
        let (mut body, mut pos) = (Vec::new(), 0);
        let end_state = loop {
            let avail = &input[pos..end];
            let d = match dec.decode(avail) {
                Ok(d) => d,
                Err(e) => {
                    assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                    break End::Failed(e);
                }
            };
            assert!(d.consumed <= avail.len() && d.data.end <= d.consumed);
            body.extend_from_slice(&avail[d.data.clone()]);
            pos += d.consumed;
            assert_eq!(dec.body_bytes(), body.len() as u64);
            assert!(dec.announced() >= dec.body_bytes(), "announced is a lower bound of the whole body");
            assert_eq!(dec.is_done(), d.done);
            if d.done {
                break End::Done { consumed: pos };
            }
            if d.consumed == 0 {
                assert_eq!(pos, end, "asks for more while holding bytes");
                match ends.next() {
                    Some(next) => end = next.max(end),
                    None => break End::Partial,
                }
            }
        };
        Outcome { body, end: end_state }
    }

    #[test]
    fn announced_counts_a_chunk_before_its_data_arrives() {
        let mut dec = ChunkedDecoder::new(&Limits::default());
        // The size digits alone are a lower bound, even before the line ends.
        dec.decode(b"FFFF").unwrap();
        assert_eq!(dec.announced(), 0xFFFF);
        dec.decode(b"FFFF\r\n").unwrap();
        assert_eq!(dec.announced(), 0xFFFF_FFFF);
        assert_eq!(dec.body_bytes(), 0);
        // Data delivered moves from announced-only to both.
        let mut dec = ChunkedDecoder::new(&Limits::default());
        dec.decode(b"a\r\n0123").unwrap();
        assert_eq!((dec.body_bytes(), dec.announced()), (4, 10));
        dec.decode(b"456789").unwrap();
        assert_eq!((dec.body_bytes(), dec.announced()), (10, 10));
        assert!(dec.decode(b"\r\n0\r\n\r\n").unwrap().done);
        assert_eq!((dec.body_bytes(), dec.announced()), (10, 10));
    }

    #[test]
    fn table_in_one_piece() {
        let rows = table();
        assert!(rows.len() >= 30);
        for row in &rows {
            let got = feed(&row.input, &row.limits, &[]);
            assert_eq!(got, row.expect, "{}", row.name);
        }
    }

    #[test]
    fn table_split_at_every_boundary() {
        for row in table() {
            let len = row.input.len();
            for cut in 0..=len {
                let got = feed(&row.input, &row.limits, &[cut]);
                assert_eq!(got, row.expect, "{} cut at {cut}", row.name);
            }
            let every: Vec<usize> = (0..=len).collect();
            assert_eq!(feed(&row.input, &row.limits, &every), row.expect, "{} byte by byte", row.name);
        }
    }

    #[test]
    fn short_rows_split_at_every_pair_of_boundaries() {
        for row in table().iter().filter(|row| row.input.len() <= 48) {
            let len = row.input.len();
            for first in 0..=len {
                for second in first..=len {
                    let got = feed(&row.input, &row.limits, &[first, second]);
                    assert_eq!(got, row.expect, "{} cut at {first}, {second}", row.name);
                }
            }
        }
    }

    #[test]
    fn one_data_span_per_call() {
        let input = b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
        let mut dec = ChunkedDecoder::new(&Limits::default());
        let first = dec.decode(input);
        assert_eq!(first, Ok(Decoded { consumed: 5, data: 3..5, done: false }));
        let second = dec.decode(&input[5..]);
        assert_eq!(second, Ok(Decoded { consumed: 7, data: 5..7, done: false }));
        let last = dec.decode(&input[12..]);
        assert_eq!(last, Ok(Decoded { consumed: 7, data: 0..0, done: true }));
    }

    #[test]
    fn done_decoder_consumes_nothing_more() {
        let mut dec = ChunkedDecoder::new(&Limits::default());
        assert!(dec.decode(b"0\r\n\r\n").is_ok_and(|d| d.done));
        assert_eq!(dec.decode(b"GET / HTTP/1.1\r\n"), Ok(Decoded { consumed: 0, data: 0..0, done: true }));
    }
}
