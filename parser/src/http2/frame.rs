//! The frame layer a server reads (RFC 9113 §4, §6): a 9-byte header, then
//! a payload whose layout the header's type decides.
//!
//! ```text
//!  +-----------------------------------------------+
//!  |                 Length (24)                   |   §4.1: payload bytes, header excluded
//!  +---------------+---------------+---------------+
//!  |   Type (8)    |   Flags (8)   |
//!  +-+-------------+---------------+-------------------------------+
//!  |R|                 Stream Identifier (31)                      |   R: ignored on receipt
//!  +=+=============================================================+
//!  |                   Frame Payload (Length bytes)                |
//!  +---------------------------------------------------------------+
//! ```
//!
//! ## Why a whole frame at a time
//!
//! [`FrameDecoder::decode`] is given the unread bytes (any slicing of the
//! stream: a read may end anywhere) and answers [`Decoded::Partial`] until a
//! whole frame is there, then [`Decoded::Frame`]: a typed [`Frame`] whose
//! slices borrow the input, and how many bytes it took. The caller advances
//! past them and calls again. Unlike the WebSocket decoder, which hands a
//! payload out piece by piece, this one waits for the payload, because every
//! frame is bounded by the SETTINGS_MAX_FRAME_SIZE the server advertised
//! (16 KiB unless it chose more, §4.2) and most payloads only mean something
//! whole: a SETTINGS list, a padded DATA frame whose padding length is in
//! its first byte and whose padding is at its end. Waiting costs nothing:
//! each call reads the 9-byte header again and nothing else until the
//! payload is complete, and [`Decoded::Partial`] says how many bytes that
//! will take, so a caller need not even call before they are in.
//!
//! ## What is checked, and when
//!
//! Everything the header alone decides is checked as soon as its 9 bytes
//! are in, before any of the payload is buffered: the length against the
//! limit (§4.2), the stream identifier against the type (§6), the lengths a
//! type fixes or needs (§6.3-§6.9), and whether a CONTINUATION is due
//! (§4.3). What needs the payload is checked once it is whole: the padding
//! length (§6.1), each setting's value (§6.5.2), a zero window increment
//! (§6.9). The checks run in that fixed order, so a stream gives the same
//! frames and the same error however its bytes are cut.
//!
//! What the decoder does not know is the state of each stream (§5.1) and
//! the flow-control windows (§5.2): whether a DATA frame's stream is open,
//! whether a PUSH_PROMISE may be received at all (a server never may, §8.4),
//! whether a window overflows. Those rules belong to the connection, which
//! keeps that state. The decoder keeps only what a frame sequence needs:
//! the limit, and the stream whose field block awaits a CONTINUATION.

use core::fmt;

use super::error::{Error, ErrorCode, Reason};
use super::settings::{MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE, SETTING_LEN, Settings};

/// The length of every frame header (§4.1).
pub const HEADER_LEN: usize = 9;

/// The flag bits of RFC 9113 §6. A bit means different things on
/// different types (0x1 is END_STREAM on DATA and HEADERS, ACK on SETTINGS
/// and PING); bits a type does not define are ignored on receipt (§4.1).
pub mod flags {
    /// 0x1 on DATA and HEADERS: the sender's last frame on the stream (§6.1, §6.2).
    pub const END_STREAM: u8 = 0x1;
    /// 0x1 on SETTINGS and PING: this answers the peer's frame (§6.5, §6.7).
    pub const ACK: u8 = 0x1;
    /// 0x4 on HEADERS, PUSH_PROMISE and CONTINUATION: the field block ends here (§4.3).
    pub const END_HEADERS: u8 = 0x4;
    /// 0x8 on DATA, HEADERS and PUSH_PROMISE: a Pad Length byte leads the payload (§6.1).
    pub const PADDED: u8 = 0x8;
    /// 0x20 on HEADERS: the deprecated priority fields follow (§6.2, §5.3.2).
    pub const PRIORITY: u8 = 0x20;
}

/// A frame's type (§6, §11 of RFC 7540 for the registry). Types RFC 9113
/// does not define are [`FrameType::Unknown`], and are ignored (§4.1, §5.5).
///
/// ```
/// use wired_parser::http2::FrameType;
/// assert_eq!(FrameType::from_u8(0x4), FrameType::Settings);
/// assert_eq!(FrameType::Settings.name(), "SETTINGS");
/// assert_eq!(FrameType::from_u8(0xfa).to_string(), "UNKNOWN(0xfa)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// 0x0: a piece of a message's content (§6.1).
    Data,
    /// 0x1: opens a stream and carries a field block fragment (§6.2).
    Headers,
    /// 0x2: deprecated priority signal (§6.3).
    Priority,
    /// 0x3: ends a stream at once (§6.4).
    RstStream,
    /// 0x4: the sender's configuration, or an acknowledgment (§6.5).
    Settings,
    /// 0x5: a stream the server means to push (§6.6).
    PushPromise,
    /// 0x6: a liveness and round-trip probe (§6.7).
    Ping,
    /// 0x7: the connection is shutting down (§6.8).
    GoAway,
    /// 0x8: more flow-control credit (§6.9).
    WindowUpdate,
    /// 0x9: the next fragment of a field block (§6.10).
    Continuation,
    /// A type RFC 9113 does not define.
    Unknown(u8),
}

impl FrameType {
    /// The type for a value read from the wire.
    pub fn from_u8(value: u8) -> FrameType {
        match value {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The value written on the wire.
    pub fn as_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(value) => value,
        }
    }

    /// The name §6 gives the type; "UNKNOWN" for the rest.
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::Unknown(_) => "UNKNOWN",
        }
    }

    /// The section of RFC 9113 that defines the type ("5.5" for unknown
    /// types, the section on extensions).
    pub fn section(self) -> &'static str {
        match self {
            FrameType::Data => "6.1",
            FrameType::Headers => "6.2",
            FrameType::Priority => "6.3",
            FrameType::RstStream => "6.4",
            FrameType::Settings => "6.5",
            FrameType::PushPromise => "6.6",
            FrameType::Ping => "6.7",
            FrameType::GoAway => "6.8",
            FrameType::WindowUpdate => "6.9",
            FrameType::Continuation => "6.10",
            FrameType::Unknown(_) => "5.5",
        }
    }

    /// The flags this type defines, with their names, for the trace.
    pub(crate) fn flag_names(self) -> &'static [(u8, &'static str)] {
        use flags::*;
        match self {
            FrameType::Data => &[(END_STREAM, "END_STREAM"), (PADDED, "PADDED")],
            FrameType::Headers => {
                &[(END_STREAM, "END_STREAM"), (END_HEADERS, "END_HEADERS"), (PADDED, "PADDED"), (PRIORITY, "PRIORITY")]
            }
            FrameType::Settings | FrameType::Ping => &[(ACK, "ACK")],
            FrameType::PushPromise => &[(END_HEADERS, "END_HEADERS"), (PADDED, "PADDED")],
            FrameType::Continuation => &[(END_HEADERS, "END_HEADERS")],
            _ => &[],
        }
    }

    /// Whether the type carries a field block fragment (§4.3).
    fn starts_field_block(self) -> bool {
        matches!(self, FrameType::Headers | FrameType::PushPromise)
    }
}

/// The 9 bytes in front of every frame (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The payload's length, 24 bits.
    pub len: u32,
    /// What the payload is.
    pub kind: FrameType,
    /// The flag bits, as sent; see [`flags`].
    pub flags: u8,
    /// The stream, 31 bits (the reserved bit is dropped); 0 is the connection itself.
    pub stream: u32,
}

impl FrameHeader {
    /// Read a header. Total: any 9 bytes are a header; whether it is
    /// acceptable is the decoder's question.
    ///
    /// ```
    /// use wired_parser::http2::{FrameHeader, FrameType};
    /// let h = FrameHeader::parse(&[0, 0, 8, 0x6, 0x1, 0x80, 0, 0, 0]);
    /// assert_eq!(h, FrameHeader { len: 8, kind: FrameType::Ping, flags: 0x1, stream: 0 });
    /// ```
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> FrameHeader {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        FrameHeader {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_u8(kind),
            flags,
            // §4.1: the reserved bit "MUST be ignored when receiving".
            stream: u32::from_be_bytes([s0, s1, s2, s3]) & STREAM_MASK,
        }
    }

    /// Whether all the bits of `flag` are set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }

    /// The frame's whole length on the wire: header and payload.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.len as usize
    }
}

/// The 31 bits of a stream identifier (§4.1, §5.1.1), and of the other
/// 31-bit fields that share a word with a reserved or flag bit.
pub(crate) const STREAM_MASK: u32 = 0x7FFF_FFFF;

/// A whole frame: its header, and its payload read according to its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header, as received (the reserved bit dropped).
    pub header: FrameHeader,
    /// What the payload says, its slices borrowing the input.
    pub payload: Payload<'a>,
}

impl Frame<'_> {
    /// The stream the frame is on; 0 for the connection.
    pub fn stream(&self) -> u32 {
        self.header.stream
    }

    /// How much of the flow-control windows the frame uses (§5.2.1, §6.1,
    /// §6.9.1): a DATA frame's whole payload, Pad Length and padding
    /// included; nothing for any other type.
    ///
    /// ```
    /// use wired_parser::http2::{Decoded, FrameDecoder};
    /// // 3 bytes of data behind 1 byte of Pad Length and 2 of padding.
    /// let wire = b"\0\0\x06\x00\x09\0\0\0\x01\x02abc\0\0";
    /// let Ok(Decoded::Frame { frame, .. }) = FrameDecoder::new().decode(wire) else { panic!() };
    /// assert_eq!(frame.flow_controlled_len(), 6);
    /// ```
    pub fn flow_controlled_len(&self) -> u32 {
        match self.payload {
            Payload::Data { .. } => self.header.len,
            _ => 0,
        }
    }
}

/// A frame's payload, by type (§6). Padding is already stripped and the
/// deprecated priority fields of HEADERS already skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// DATA (§6.1): a piece of the stream's content.
    Data {
        /// The data, without Pad Length or padding.
        data: &'a [u8],
        /// END_STREAM: the sender's last frame on this stream.
        end_stream: bool,
    },
    /// HEADERS (§6.2): the first fragment of a field block.
    Headers {
        /// The field block fragment, for HPACK once the block is complete.
        fragment: &'a [u8],
        /// END_STREAM: no DATA follows (the block may still continue).
        end_stream: bool,
        /// END_HEADERS: the block is whole; otherwise CONTINUATION follows.
        end_headers: bool,
    },
    /// PRIORITY (§6.3): deprecated (§5.3.2); read so that it can be traced.
    Priority {
        /// The exclusive bit.
        exclusive: bool,
        /// The stream this one depends on.
        dependency: u32,
        /// The weight, as sent.
        weight: u8,
    },
    /// RST_STREAM (§6.4): the peer ended the stream.
    RstStream {
        /// Why.
        code: ErrorCode,
    },
    /// SETTINGS (§6.5): the peer's parameters, or its acknowledgment of ours.
    Settings {
        /// ACK: an acknowledgment, with no settings.
        ack: bool,
        /// The settings, each value already checked.
        settings: Settings<'a>,
    },
    /// PUSH_PROMISE (§6.6): only a server sends it; a server that receives
    /// one answers with a connection error PROTOCOL_ERROR (§8.4), a rule
    /// for the connection, which knows which side it is.
    PushPromise {
        /// The stream being reserved.
        promised: u32,
        /// The first fragment of the promised request's field block.
        fragment: &'a [u8],
        /// END_HEADERS: the block is whole.
        end_headers: bool,
    },
    /// PING (§6.7).
    Ping {
        /// ACK: the answer to our PING; otherwise answer it with these bytes.
        ack: bool,
        /// The 8 opaque bytes.
        data: [u8; 8],
    },
    /// GOAWAY (§6.8): the peer is closing the connection.
    GoAway {
        /// The highest stream the peer may have acted on.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
        /// Diagnostic bytes; possibly sensitive (§6.8), so never logged whole.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE (§6.9): credit for the stream, or on stream 0 the connection.
    WindowUpdate {
        /// How many more bytes may be sent, 1 to 2^31-1.
        increment: u32,
    },
    /// CONTINUATION (§6.10): the next fragment of the open field block.
    Continuation {
        /// The field block fragment.
        fragment: &'a [u8],
        /// END_HEADERS: the block is whole.
        end_headers: bool,
    },
    /// A type RFC 9113 does not define: to be ignored and discarded (§4.1, §5.5).
    Unknown {
        /// The payload, uninterpreted.
        payload: &'a [u8],
    },
}

/// What one call to [`FrameDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The next frame is not all there: call again once the input holds
    /// `needed` bytes (9 until the header is in, then the whole frame).
    /// Nothing was consumed.
    Partial {
        /// The length of input that will complete the next frame (or its header).
        needed: usize,
    },
    /// A whole frame; the caller advances `consumed` bytes past it.
    Frame {
        /// The frame.
        frame: Frame<'a>,
        /// Its length on the wire, header included.
        consumed: usize,
    },
}

/// Reads the frames a client sends, after the connection preface.
///
/// Keep one per connection. Call [`decode`](FrameDecoder::decode) with the
/// unread bytes; on [`Decoded::Frame`] advance past it and call again; on
/// [`Decoded::Partial`] read more. On a stream error send RST_STREAM, skip
/// the frame and go on; on a connection error send GOAWAY and close (the
/// decoder returns that error from then on).
///
/// ```
/// use wired_parser::http2::{Decoded, FrameDecoder, FrameType, Payload};
///
/// // An empty SETTINGS, then a HEADERS frame cut short by the read.
/// let wire = b"\0\0\0\x04\0\0\0\0\0\0\0\x02\x01\x05\0\0\0\x01\x82";
/// let mut dec = FrameDecoder::new();
/// let Ok(Decoded::Frame { frame, consumed }) = dec.decode(wire) else { panic!() };
/// assert_eq!((frame.header.kind, consumed), (FrameType::Settings, 9));
/// assert_eq!(dec.decode(&wire[consumed..]), Ok(Decoded::Partial { needed: 11 }));
/// # let mut whole = wire[consumed..].to_vec();
/// # whole.push(0x84);
/// # let Ok(Decoded::Frame { frame, .. }) = dec.decode(&whole) else { panic!() };
/// # assert_eq!(frame.payload, Payload::Headers { fragment: b"\x82\x84", end_stream: true, end_headers: true });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDecoder {
    /// The longest payload accepted: our SETTINGS_MAX_FRAME_SIZE (§4.2).
    max_frame_size: u32,
    /// The stream whose HEADERS or PUSH_PROMISE came without END_HEADERS:
    /// only a CONTINUATION on it may come next (§4.3).
    field_block: Option<u32>,
    /// A connection error ended the frame layer; it is repeated.
    failed: Option<Reason>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder at the start of the connection, accepting frames up to
    /// the initial SETTINGS_MAX_FRAME_SIZE of 16,384 bytes (§6.5.2).
    pub fn new() -> Self {
        FrameDecoder { max_frame_size: MIN_MAX_FRAME_SIZE, field_block: None, failed: None }
    }

    /// Accept frames up to `size` bytes: the SETTINGS_MAX_FRAME_SIZE this
    /// server advertised. Clamped to the range §4.2 allows, 2^14 to 2^24-1:
    /// every endpoint must take 2^14 (§4.2), and no length exceeds 24 bits.
    ///
    /// ```
    /// let mut dec = wired_parser::http2::FrameDecoder::new();
    /// dec.set_max_frame_size(1 << 20);
    /// assert_eq!(dec.max_frame_size(), 1 << 20);
    /// dec.set_max_frame_size(100);
    /// assert_eq!(dec.max_frame_size(), 16_384);
    /// ```
    pub fn set_max_frame_size(&mut self, size: u32) {
        self.max_frame_size = size.clamp(MIN_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
    }

    /// The longest payload accepted.
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// The stream whose field block is open, awaiting CONTINUATION, if any.
    /// The caller gathers the fragments until the one with END_HEADERS.
    pub fn open_field_block(&self) -> Option<u32> {
        self.field_block
    }

    /// Decode the frame at the start of `input`. See the [module
    /// documentation](self) for what is checked, and when.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, Error> {
        if let Some(reason) = self.failed {
            return Err(Error::Connection(reason));
        }
        let Some(head) = input.first_chunk::<HEADER_LEN>() else {
            return Ok(Decoded::Partial { needed: HEADER_LEN });
        };
        let header = FrameHeader::parse(head);
        self.check_header(&header).map_err(|reason| self.fail(reason))?;
        let consumed = header.frame_len();
        let Some(body) = input.get(HEADER_LEN..consumed) else {
            return Ok(Decoded::Partial { needed: consumed });
        };
        let payload = match read_payload(&header, body) {
            Ok(payload) => payload,
            Err(Scope::Connection(reason)) => return Err(self.fail(reason)),
            Err(Scope::Stream(reason)) => return Err(Error::Stream { stream: header.stream, reason, consumed }),
        };
        self.follow_field_block(&header);
        Ok(Decoded::Frame { frame: Frame { header, payload }, consumed })
    }

    /// Record a connection error, which every later call repeats.
    fn fail(&mut self, reason: Reason) -> Error {
        self.failed = Some(reason);
        Error::Connection(reason)
    }

    /// The rules the 9 header bytes decide, all connection errors.
    fn check_header(&self, header: &FrameHeader) -> Result<(), Reason> {
        let FrameHeader { len, kind, flags: _, stream } = *header;
        // §4.2: a frame over the limit is refused before its payload is
        // buffered. §4.2 would make it a stream error on some streams, but
        // a DATA frame still counts against the connection window (§6.9),
        // and §5.4.1 lets any stream error be treated as a connection error.
        if len > self.max_frame_size {
            return Err(Reason::FrameTooLarge);
        }
        match kind {
            // §6.1, §6.2, §6.3, §6.4, §6.6, §6.10: these belong to a stream.
            FrameType::Data
            | FrameType::Headers
            | FrameType::Priority
            | FrameType::RstStream
            | FrameType::PushPromise
            | FrameType::Continuation
                if stream == 0 =>
            {
                return Err(Reason::StreamZero(kind));
            }
            // §6.5, §6.7, §6.8: these belong to the connection.
            FrameType::Settings | FrameType::Ping | FrameType::GoAway if stream != 0 => {
                return Err(Reason::StreamNonZero(kind));
            }
            _ => {}
        }
        // §4.3, §5.5, §6.10: a field block is a contiguous run of frames on
        // one stream; nothing, not even an unknown type, may come between.
        match (self.field_block, kind) {
            (Some(open), FrameType::Continuation) if open == stream => {}
            (Some(_), _) => return Err(Reason::ExpectedContinuation),
            (None, FrameType::Continuation) => return Err(Reason::UnexpectedContinuation),
            (None, _) => {}
        }
        let padded = usize::from(header.has(flags::PADDED));
        let len = len as usize;
        match kind {
            // §4.2: too small for the Pad Length byte and the fixed fields.
            FrameType::Data if len < padded => Err(Reason::TooShort(kind)),
            FrameType::Headers if len < padded + 5 * usize::from(header.has(flags::PRIORITY)) => {
                Err(Reason::TooShort(kind))
            }
            FrameType::PushPromise if len < padded + 4 => Err(Reason::TooShort(kind)),
            FrameType::GoAway if len < 8 => Err(Reason::TooShort(kind)),
            // §6.4, §6.7, §6.9: fixed lengths, connection errors. PRIORITY's
            // (§6.3) is a stream error, reported when the frame is whole.
            FrameType::RstStream | FrameType::WindowUpdate if len != 4 => Err(Reason::WrongLength(kind)),
            FrameType::Ping if len != 8 => Err(Reason::WrongLength(kind)),
            // §6.5: an ACK is empty, and settings are 6 bytes each.
            FrameType::Settings if header.has(flags::ACK) && len != 0 => Err(Reason::SettingsAckWithPayload),
            FrameType::Settings if !len.is_multiple_of(SETTING_LEN) => Err(Reason::SettingsLength),
            _ => Ok(()),
        }
    }

    /// A frame was accepted: open or close the field block it belongs to.
    fn follow_field_block(&mut self, header: &FrameHeader) {
        let end = header.has(flags::END_HEADERS);
        if header.kind.starts_field_block() || header.kind == FrameType::Continuation {
            self.field_block = if end { None } else { Some(header.stream) };
        }
    }
}

/// Whom a payload error concerns.
enum Scope {
    /// The whole connection.
    Connection(Reason),
    /// Only the frame's stream.
    Stream(Reason),
}

/// Read a whole payload whose header passed [`FrameDecoder::check_header`],
/// so the lengths each type needs are known to be there.
fn read_payload<'a>(header: &FrameHeader, body: &'a [u8]) -> Result<Payload<'a>, Scope> {
    let kind = header.kind;
    let end_stream = header.has(flags::END_STREAM);
    let end_headers = header.has(flags::END_HEADERS);
    Ok(match kind {
        FrameType::Data => Payload::Data { data: unpad(header, body).map_err(Scope::Connection)?, end_stream },
        FrameType::Headers => {
            let block = unpad(header, body).map_err(Scope::Connection)?;
            // §6.2: the deprecated Exclusive, Stream Dependency and Weight
            // fields come first; unpad left room for them.
            let skip = if header.has(flags::PRIORITY) { 5 } else { 0 };
            Payload::Headers { fragment: block.get(skip..).unwrap_or_default(), end_stream, end_headers }
        }
        FrameType::Priority => {
            // §6.3: the wrong length spoils this stream only.
            let &[d0, d1, d2, d3, weight] = body else {
                return Err(Scope::Stream(Reason::WrongLength(kind)));
            };
            let word = u32::from_be_bytes([d0, d1, d2, d3]);
            Payload::Priority { exclusive: word >> 31 == 1, dependency: word & STREAM_MASK, weight }
        }
        FrameType::RstStream => Payload::RstStream { code: ErrorCode::from_u32(word_at(body, 0)) },
        FrameType::Settings => Payload::Settings {
            ack: header.has(flags::ACK),
            settings: Settings::parse(body).map_err(Scope::Connection)?,
        },
        FrameType::PushPromise => {
            let block = unpad(header, body).map_err(Scope::Connection)?;
            Payload::PushPromise {
                promised: word_at(block, 0) & STREAM_MASK,
                fragment: block.get(4..).unwrap_or_default(),
                end_headers,
            }
        }
        FrameType::Ping => {
            let data = body.first_chunk::<8>().copied().unwrap_or_default();
            Payload::Ping { ack: header.has(flags::ACK), data }
        }
        FrameType::GoAway => Payload::GoAway {
            last_stream: word_at(body, 0) & STREAM_MASK,
            code: ErrorCode::from_u32(word_at(body, 4)),
            debug: body.get(8..).unwrap_or_default(),
        },
        FrameType::WindowUpdate => {
            // §6.9: the top bit is reserved; an increment of 0 is an error on
            // the stream it names, or on the connection for stream 0.
            let increment = word_at(body, 0) & STREAM_MASK;
            match (increment, header.stream) {
                (0, 0) => return Err(Scope::Connection(Reason::ZeroIncrement)),
                (0, _) => return Err(Scope::Stream(Reason::ZeroIncrement)),
                _ => Payload::WindowUpdate { increment },
            }
        }
        FrameType::Continuation => Payload::Continuation { fragment: body, end_headers },
        FrameType::Unknown(_) => Payload::Unknown { payload: body },
    })
}

/// Strip a PADDED frame's Pad Length byte and padding (§6.1, §6.2, §6.6);
/// return the rest. The padding may not reach into the fixed fields the
/// type puts before its data (5 priority bytes, or 4 of promised stream):
/// §6.1's "padding ... the length of the frame payload or greater" is a
/// connection error PROTOCOL_ERROR. Padding bytes should be zero, but a
/// receiver need not check (§6.1), and this one does not.
fn unpad<'a>(header: &FrameHeader, body: &'a [u8]) -> Result<&'a [u8], Reason> {
    if !header.has(flags::PADDED) {
        return Ok(body);
    }
    let Some((&pad, rest)) = body.split_first() else {
        return Err(Reason::TooShort(header.kind));
    };
    let fixed = match header.kind {
        FrameType::Headers if header.has(flags::PRIORITY) => 5,
        FrameType::PushPromise => 4,
        _ => 0,
    };
    let room = rest.len().saturating_sub(fixed);
    if usize::from(pad) > room {
        return Err(Reason::PaddingTooLong(header.kind));
    }
    Ok(rest.get(..rest.len() - usize::from(pad)).unwrap_or_default())
}

/// The big-endian 32-bit word at `at`, or 0 past the end (the header
/// checks make sure it never is).
fn word_at(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..).and_then(|b| b.first_chunk::<4>()).map_or(0, |&w| u32::from_be_bytes(w))
}

impl fmt::Display for FrameType {
    /// The name, or the number in hex for a type RFC 9113 does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameType::Unknown(value) => write!(f, "UNKNOWN(0x{value:02x})"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests;
