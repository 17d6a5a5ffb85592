//! Reading the records an application sends back (FastCGI 1.0 §3.3, §4, §5.3, §5.5).
//!
//! The decoder is a small state machine that can stop after any byte and
//! pick up where it left off, like [`ChunkedDecoder`](crate::ChunkedDecoder):
//!
//! ```text
//!  Header ─ 8 bytes ─┬─ STDOUT/STDERR, length > 0 ──> Stream ──────────┐
//!   ^                ├─ STDOUT/STDERR, length = 0 (end of stream) ─────┤
//!   │                ├─ GET_VALUES_RESULT ──> Values (waits for all) ──┤
//!   │                ├─ UNKNOWN_TYPE ──> Body (8 bytes) ───────────────┤
//!   │                └─ END_REQUEST ──> Body (8 bytes) ─> Padding ─> Done
//!   └──────────────────────────────────────────── Padding <────────────┘
//! ```
//!
//! Stream content is handed out as ranges of the caller's input as soon as it
//! arrives, so a 64 KiB STDOUT record is never held whole. The one exception
//! is a GET_VALUES_RESULT, whose name-value pairs are handed out whole and
//! so must fit in the caller's buffer: it is bounded by [`MAX_VALUES_BYTES`].

use core::ops::Range;

use super::{
    Error, FCGI_END_REQUEST, FCGI_GET_VALUES_RESULT, FCGI_STDERR, FCGI_STDOUT, FCGI_UNKNOWN_TYPE, HEADER_LEN,
    NULL_REQUEST_ID, VERSION_1,
};

/// Longest GET_VALUES_RESULT content accepted.
///
/// The three variables of §4.1 (`FCGI_MAX_CONNS`, `FCGI_MAX_REQS`,
/// `FCGI_MPXS_CONNS`) and their values take well under 100 bytes; the
/// bound keeps the wait for the whole record within any read buffer.
pub const MAX_VALUES_BYTES: usize = 1024;

/// Reads one request's records from an application, fed in pieces of any size.
///
/// Create one per request with [`Decoder::new`] and the request id sent in
/// BEGIN_REQUEST, call [`decode`](Decoder::decode) until it reports
/// [`Event::End`], and keep it across reads: it remembers where it stopped,
/// down to half a record header.
///
/// ```
/// use wired_parser::fastcgi::{Decoder, Event};
/// let mut dec = Decoder::new(7);
/// // Half a header: consumed, remembered, nothing to report yet.
/// let d = dec.decode(b"\x01\x06\x00")?;
/// assert_eq!((d.consumed, d.event), (3, Event::NeedMore));
/// let d = dec.decode(b"\x07\x00\x05\x03\x00hello\0\0\0")?;
/// assert_eq!(d.event, Event::Stdout(5..10));
/// assert_eq!(dec.stdout_bytes(), 5);
/// # Ok::<(), wired_parser::fastcgi::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The request id given in BEGIN_REQUEST; application records must carry it.
    request_id: u16,
    /// Where in the record the next byte belongs.
    state: State,
    /// An empty STDOUT record has been seen (§3.3, §5.3).
    stdout_closed: bool,
    /// An empty STDERR record has been seen.
    stderr_closed: bool,
    /// STDOUT content handed out so far.
    stdout_bytes: u64,
    /// STDERR content handed out so far.
    stderr_bytes: u64,
}

/// Where the decoder stands in the record grammar (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a record header: `have` of its 8 bytes so far.
    Header { bytes: [u8; HEADER_LEN], have: u8 },
    /// Inside the content of a STDOUT or STDERR record.
    Stream { stream: Stream, remaining: u16, padding: u8 },
    /// Waiting until the whole content of a GET_VALUES_RESULT is in the input.
    Values { len: u16, padding: u8 },
    /// Reading the 8-byte body of an END_REQUEST or UNKNOWN_TYPE record.
    Body { record: Fixed, bytes: [u8; HEADER_LEN], have: u8, padding: u8 },
    /// Skipping a record's padding, then going on to `then`.
    Padding { remaining: u8, then: Then },
    /// END_REQUEST and its padding have been consumed.
    Done,
    /// A previous call failed; every later call repeats the error.
    Failed(Error),
}

/// The two output streams of §5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// The records with an 8-byte body that the decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixed {
    /// `FCGI_EndRequestBody` (§5.5).
    EndRequest,
    /// `FCGI_UnknownTypeBody` (§4.2).
    UnknownType,
}

/// What comes after a record's padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// The next record's header.
    Header,
    /// The end of the request: the END_REQUEST event, reported only once its
    /// padding is consumed so that a done decoder has read the whole record.
    End { app_status: u32, protocol_status: ProtocolStatus },
}

/// The protocolStatus of an END_REQUEST record (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolStatus {
    /// `FCGI_REQUEST_COMPLETE`: the request ended normally.
    RequestComplete,
    /// `FCGI_CANT_MPX_CONN`: the application does not multiplex connections
    /// and one request is already running on this one.
    CantMpxConn,
    /// `FCGI_OVERLOADED`: the application ran out of a resource, such as
    /// database connections.
    Overloaded,
    /// `FCGI_UNKNOWN_ROLE`: the application does not take the requested role.
    UnknownRole,
}

impl ProtocolStatus {
    /// The status from its wire value, or `None` for a value §5.5 does not define.
    ///
    /// ```
    /// use wired_parser::fastcgi::ProtocolStatus;
    /// assert_eq!(ProtocolStatus::from_u8(2), Some(ProtocolStatus::Overloaded));
    /// assert_eq!(ProtocolStatus::from_u8(4), None);
    /// ```
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(ProtocolStatus::RequestComplete),
            1 => Some(ProtocolStatus::CantMpxConn),
            2 => Some(ProtocolStatus::Overloaded),
            3 => Some(ProtocolStatus::UnknownRole),
            _ => None,
        }
    }
}

/// What one call to [`Decoder::decode`] found, as indices into its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing to report: the decoder needs more bytes. The caller keeps
    /// `input[consumed..]` (empty except while a GET_VALUES_RESULT is
    /// incomplete) and calls again with it followed by what it reads next.
    NeedMore,
    /// A piece of STDOUT content (§5.3): the CGI response, head then body.
    Stdout(Range<usize>),
    /// An empty STDOUT record: the response is complete (§3.3, §5.3).
    StdoutEnd,
    /// A piece of STDERR content (§5.3), for the error log.
    Stderr(Range<usize>),
    /// An empty STDERR record: the application will log nothing more.
    StderrEnd,
    /// The whole content of a GET_VALUES_RESULT (§4.1): name-value pairs,
    /// already checked, to be read with [`name_value_pairs`].
    Values(Range<usize>),
    /// The application did not understand a management record of this type (§4.2).
    UnknownType(u8),
    /// END_REQUEST (§5.5): the request is over and the decoder is done.
    End {
        /// The application's exit status, as a CGI program's would be.
        app_status: u32,
        /// Whether the application took the request at all.
        protocol_status: ProtocolStatus,
    },
}

/// What one call to [`Decoder::decode`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// How many bytes of the input were used; the caller advances past them.
    pub consumed: usize,
    /// What was found, if anything; its ranges lie within `..consumed`.
    pub event: Event,
}

impl Decoded {
    fn need_more(consumed: usize) -> Self {
        Decoded { consumed, event: Event::NeedMore }
    }
}

impl Decoder {
    /// A decoder for the answer to the request sent with `request_id`.
    ///
    /// The id should not be 0, the id of management records (§3.3).
    ///
    /// ```
    /// assert!(!wired_parser::fastcgi::Decoder::new(1).is_done());
    /// ```
    pub fn new(request_id: u16) -> Self {
        Decoder {
            request_id,
            state: State::Header { bytes: [0; HEADER_LEN], have: 0 },
            stdout_closed: false,
            stderr_closed: false,
            stdout_bytes: 0,
            stderr_bytes: 0,
        }
    }

    /// Start over for the next request on a kept connection (`FCGI_KEEP_CONN`),
    /// before sending its BEGIN_REQUEST.
    ///
    /// ```
    /// use wired_parser::fastcgi::{Decoder, Event};
    /// let mut dec = Decoder::new(1);
    /// let end = b"\x01\x03\x00\x01\x00\x08\x00\x00\0\0\0\0\0\0\0\0";
    /// assert!(matches!(dec.decode(end)?.event, Event::End { .. }));
    /// dec.reset(2);
    /// assert!(!dec.is_done());
    /// # Ok::<(), wired_parser::fastcgi::Error>(())
    /// ```
    pub fn reset(&mut self, request_id: u16) {
        *self = Decoder::new(request_id);
    }

    /// Decode as much of `input` as possible, stopping after at most one event.
    ///
    /// A call returns after an event, or when the input runs out. It consumes
    /// every byte it reads, except the content of a GET_VALUES_RESULT that
    /// has not arrived whole. After an error the records cannot be delimited,
    /// so the connection to the application must be closed; later calls
    /// return the same error. Once done, the decoder answers an empty input
    /// with [`Event::NeedMore`] and any byte with [`Error::AfterEnd`]: on a
    /// kept connection the application is silent until the next
    /// BEGIN_REQUEST, before which the caller calls [`reset`](Decoder::reset).
    ///
    /// ```
    /// use wired_parser::fastcgi::{Decoder, Event};
    /// let input = b"\x01\x06\x00\x01\x00\x03\x05\x00abc\0\0\0\0\0\
    ///               \x01\x07\x00\x01\x00\x02\x00\x00!!\
    ///               \x01\x06\x00\x01\x00\x02\x00\x00de";
    /// let mut dec = Decoder::new(1);
    /// let (mut out, mut err, mut pos) = (Vec::new(), Vec::new(), 0);
    /// loop {
    ///     let d = dec.decode(&input[pos..])?;
    ///     match d.event {
    ///         Event::Stdout(r) => out.extend_from_slice(&input[pos..][r]),
    ///         Event::Stderr(r) => err.extend_from_slice(&input[pos..][r]),
    ///         Event::NeedMore => break,
    ///         _ => {}
    ///     }
    ///     pos += d.consumed;
    /// }
    /// assert_eq!((&out[..], &err[..]), (&b"abcde"[..], &b"!!"[..]));
    /// # Ok::<(), wired_parser::fastcgi::Error>(())
    /// ```
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        match self.run(input) {
            Ok(decoded) => Ok(decoded),
            Err(error) => {
                self.state = State::Failed(error);
                Err(error)
            }
        }
    }

    /// True once END_REQUEST, padding included, has been consumed.
    ///
    /// ```
    /// assert!(!wired_parser::fastcgi::Decoder::new(1).is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// STDOUT content handed out so far, for enforcing a response size limit.
    ///
    /// ```
    /// let mut dec = wired_parser::fastcgi::Decoder::new(1);
    /// dec.decode(b"\x01\x06\x00\x01\x00\x04\x00\x00ab")?;
    /// assert_eq!(dec.stdout_bytes(), 2);
    /// # Ok::<(), wired_parser::fastcgi::Error>(())
    /// ```
    pub fn stdout_bytes(&self) -> u64 {
        self.stdout_bytes
    }

    /// STDERR content handed out so far, for bounding what is logged.
    ///
    /// ```
    /// let mut dec = wired_parser::fastcgi::Decoder::new(1);
    /// dec.decode(b"\x01\x07\x00\x01\x00\x01\x00\x00!")?;
    /// assert_eq!(dec.stderr_bytes(), 1);
    /// # Ok::<(), wired_parser::fastcgi::Error>(())
    /// ```
    pub fn stderr_bytes(&self) -> u64 {
        self.stderr_bytes
    }

    /// The body of [`decode`](Decoder::decode), which records a failure.
    fn run(&mut self, input: &[u8]) -> Result<Decoded, Error> {
        let mut pos = 0;
        loop {
            let available = input.len() - pos;
            match self.state {
                State::Failed(error) => return Err(error),
                State::Done if available == 0 => return Ok(Decoded::need_more(0)),
                State::Done => return Err(Error::AfterEnd),
                // An empty GET_VALUES_RESULT (php-fpm's answer when it
                // states none of the names) is complete with its header.
                State::Values { len: 0, .. } => {
                    let padding = match self.state {
                        State::Values { padding, .. } => padding,
                        _ => 0,
                    };
                    self.state = after_padding(padding, Then::Header);
                    return Ok(Decoded { consumed: pos, event: Event::Values(pos..pos) });
                }
                _ if available == 0 => return Ok(Decoded::need_more(pos)),
                State::Header { mut bytes, have } => {
                    let have = usize::from(have);
                    let take = available.min(HEADER_LEN - have);
                    bytes[have..have + take].copy_from_slice(&input[pos..pos + take]);
                    pos += take;
                    // Lossless: at most HEADER_LEN.
                    let have = (have + take) as u8;
                    self.state = State::Header { bytes, have };
                    if usize::from(have) == HEADER_LEN
                        && let Some(event) = self.header(bytes)?
                    {
                        return Ok(Decoded { consumed: pos, event });
                    }
                }
                State::Stream { stream, remaining, padding } => {
                    let take = available.min(usize::from(remaining));
                    // Lossless: at most `remaining`, a u16.
                    let left = remaining - take as u16;
                    self.state = match left {
                        0 => after_padding(padding, Then::Header),
                        _ => State::Stream { stream, remaining: left, padding },
                    };
                    let range = pos..pos + take;
                    let event = match stream {
                        Stream::Stdout => {
                            self.stdout_bytes += take as u64;
                            Event::Stdout(range)
                        }
                        Stream::Stderr => {
                            self.stderr_bytes += take as u64;
                            Event::Stderr(range)
                        }
                    };
                    return Ok(Decoded { consumed: pos + take, event });
                }
                State::Values { len, padding } => {
                    let len = usize::from(len);
                    if available < len {
                        return Ok(Decoded::need_more(pos));
                    }
                    let content = &input[pos..pos + len];
                    if name_value_pairs(content).any(|pair| pair.is_err()) {
                        return Err(Error::NameValue);
                    }
                    self.state = after_padding(padding, Then::Header);
                    return Ok(Decoded { consumed: pos + len, event: Event::Values(pos..pos + len) });
                }
                State::Body { record, mut bytes, have, padding } => {
                    let have = usize::from(have);
                    let take = available.min(HEADER_LEN - have);
                    bytes[have..have + take].copy_from_slice(&input[pos..pos + take]);
                    pos += take;
                    // Lossless: at most HEADER_LEN.
                    let have = (have + take) as u8;
                    self.state = State::Body { record, bytes, have, padding };
                    if usize::from(have) == HEADER_LEN {
                        match record {
                            Fixed::EndRequest => {
                                // §5.5: appStatusB3..B0, protocolStatus, reserved[3].
                                let app_status = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                                let protocol_status =
                                    ProtocolStatus::from_u8(bytes[4]).ok_or(Error::UnknownProtocolStatus)?;
                                self.state = after_padding(padding, Then::End { app_status, protocol_status });
                            }
                            Fixed::UnknownType => {
                                // §4.2: type, reserved[7].
                                self.state = after_padding(padding, Then::Header);
                                return Ok(Decoded { consumed: pos, event: Event::UnknownType(bytes[0]) });
                            }
                        }
                    }
                }
                State::Padding { remaining, then } => {
                    let take = available.min(usize::from(remaining));
                    pos += take;
                    // Lossless: at most `remaining`, a u8.
                    self.state = after_padding(remaining - take as u8, then);
                }
            }
            // An END_REQUEST whose padding is all consumed, or that had none:
            // the request is over.
            if let State::Padding { remaining: 0, then: Then::End { app_status, protocol_status } } = self.state {
                self.state = State::Done;
                return Ok(Decoded { consumed: pos, event: Event::End { app_status, protocol_status } });
            }
        }
    }

    /// Check a complete record header (§3.3) and choose the next state; an
    /// empty stream record is reported at once.
    fn header(&mut self, bytes: [u8; HEADER_LEN]) -> Result<Option<Event>, Error> {
        let [version, kind, id_b1, id_b0, len_b1, len_b0, padding, _reserved] = bytes;
        if version != VERSION_1 {
            return Err(Error::Version);
        }
        let request_id = u16::from_be_bytes([id_b1, id_b0]);
        let len = u16::from_be_bytes([len_b1, len_b0]);
        // §3.3: management records carry the null request id, application
        // records the id of their request; wired runs one request per
        // connection at a time, so any other id is an error.
        let expected = match kind {
            FCGI_STDOUT | FCGI_STDERR | FCGI_END_REQUEST => self.request_id,
            FCGI_GET_VALUES_RESULT | FCGI_UNKNOWN_TYPE => NULL_REQUEST_ID,
            _ => return Err(Error::RecordType),
        };
        if request_id != expected {
            return Err(Error::RequestId);
        }
        let mut event = None;
        self.state = match kind {
            FCGI_STDOUT | FCGI_STDERR => {
                let (stream, closed) = match kind {
                    FCGI_STDOUT => (Stream::Stdout, &mut self.stdout_closed),
                    _ => (Stream::Stderr, &mut self.stderr_closed),
                };
                if *closed {
                    return Err(Error::AfterStreamEnd);
                }
                if len == 0 {
                    // §3.3: an empty record ends its stream.
                    *closed = true;
                    event = Some(match stream {
                        Stream::Stdout => Event::StdoutEnd,
                        Stream::Stderr => Event::StderrEnd,
                    });
                    after_padding(padding, Then::Header)
                } else {
                    State::Stream { stream, remaining: len, padding }
                }
            }
            FCGI_GET_VALUES_RESULT if usize::from(len) > MAX_VALUES_BYTES => return Err(Error::ValuesTooLarge),
            FCGI_GET_VALUES_RESULT => State::Values { len, padding },
            _ if usize::from(len) != HEADER_LEN => return Err(Error::BodyLength),
            FCGI_END_REQUEST => State::Body { record: Fixed::EndRequest, bytes: [0; HEADER_LEN], have: 0, padding },
            _ => State::Body { record: Fixed::UnknownType, bytes: [0; HEADER_LEN], have: 0, padding },
        };
        Ok(event)
    }
}

/// The state after a record's content: its padding, if any, then `then`.
fn after_padding(padding: u8, then: Then) -> State {
    match (padding, then) {
        (0, Then::Header) => State::Header { bytes: [0; HEADER_LEN], have: 0 },
        _ => State::Padding { remaining: padding, then },
    }
}

/// Read name-value pairs (§3.4) out of record content.
///
/// Each length is one byte if below 128, else four bytes, big-endian, with
/// the high bit of the first set; the name and value follow the two lengths.
/// The iterator yields `Err(Error::NameValue)` once if the content is cut
/// short, then stops.
///
/// ```
/// use wired_parser::fastcgi::name_value_pairs;
/// // §9, example 1: "\013\002SERVER_PORT80\013\016SERVER_ADDR199.170.183.42"
/// let content = b"\x0b\x02SERVER_PORT80\x0b\x0eSERVER_ADDR199.170.183.42";
/// let pairs: Vec<_> = name_value_pairs(content).collect::<Result<_, _>>()?;
/// assert_eq!(pairs, [(&b"SERVER_PORT"[..], &b"80"[..]), (&b"SERVER_ADDR"[..], &b"199.170.183.42"[..])]);
/// # Ok::<(), wired_parser::fastcgi::Error>(())
/// ```
pub fn name_value_pairs(content: &[u8]) -> NameValuePairs<'_> {
    NameValuePairs { rest: content }
}

/// The iterator returned by [`name_value_pairs`].
#[derive(Debug, Clone)]
pub struct NameValuePairs<'a> {
    /// The content not read yet; emptied after an error.
    rest: &'a [u8],
}

impl<'a> NameValuePairs<'a> {
    /// One pair from the front of `rest`, or `None` if it runs past the end.
    fn pair(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let name_len = self.length()?;
        let value_len = self.length()?;
        let name = self.rest.get(..name_len)?;
        let value = self.rest.get(name_len..name_len.checked_add(value_len)?)?;
        self.rest = &self.rest[name_len + value_len..];
        Some((name, value))
    }

    /// One length, short or long form (§3.4).
    fn length(&mut self) -> Option<usize> {
        match *self.rest {
            [short, ref rest @ ..] if short < 0x80 => {
                self.rest = rest;
                Some(usize::from(short))
            }
            [b3, b2, b1, b0, ref rest @ ..] => {
                self.rest = rest;
                usize::try_from(u32::from_be_bytes([b3 & 0x7f, b2, b1, b0])).ok()
            }
            _ => None,
        }
    }
}

impl<'a> Iterator for NameValuePairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let pair = self.pair();
        if pair.is_none() {
            self.rest = &[];
        }
        Some(pair.ok_or(Error::NameValue))
    }
}
