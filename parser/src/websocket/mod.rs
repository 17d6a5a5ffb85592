//! WebSocket (RFC 6455): the opening handshake, and the frames that follow it.
//!
//! Like the rest of this crate, nothing here does I/O: the server owns the
//! bytes, and this module says what they mean and what to answer.
//!
//! ## A tour, in the order a connection meets it
//!
//! 1. [`handshake`]: a `GET` with `Upgrade: websocket` is checked against
//!    §4.2.1 by [`handshake::check`], which answers with the
//!    `Sec-WebSocket-Accept` value for the 101 response, or with the status
//!    to refuse with (400, or 426 with `Sec-WebSocket-Version: 13`). The
//!    SHA-1 and base64 it needs are written here, in [`sha1`] and [`base64`],
//!    rather than taken as dependencies: the crate's whole point is to be a
//!    small, pure function of its input with almost nothing beneath it; the
//!    two are under a hundred lines each, the accept value needs no secrecy
//!    (§1.3: it only shows that the server read the handshake; §10.8), and the
//!    FIPS 180 and RFC 4648 §10 vectors, with RFC 6455's own example key,
//!    prove them.
//! 2. [`frame`]: from then on the client sends frames, and [`FrameDecoder`]
//!    reads them. It is resumable like the chunked decoder: it can stop after
//!    any byte, and each call yields at most one [`Event`]: a frame's
//!    [`Header`], a piece of its payload, or its end. The payload is unmasked
//!    in place, in the caller's buffer, and handed out as a range of it.
//!    Every rule of §5 that a receiver enforces is checked as early as the
//!    bytes allow, and a violation is an [`Error`] that knows the close code
//!    to fail the connection with.
//! 3. [`utf8`]: text messages must be UTF-8 (§8.1). The decoder runs each
//!    text message through a [`Utf8Validator`] as its fragments arrive, so a
//!    bad byte ends the connection when it arrives, not when the message ends.
//! 4. [`close`]: a Close frame's payload, a status code and a UTF-8 reason
//!    (§5.5.1, §7.4), checked by the decoder and parsed by [`parse_close`].
//! 5. [`extension`]: permessage-deflate (RFC 7692), offered by the client and
//!    accepted or declined by [`extension::negotiate_deflate`]; the compression
//!    itself is the server's, through a deflate library.
//! 6. [`encode`]: what the server sends is unmasked (§5.1), so encoding is a
//!    header of 2, 4 or 10 bytes written into the caller's buffer ahead of a
//!    payload it never copies, plus helpers for Close, Ping and Pong.
//!
//! ```
//! use wired_parser::websocket::{Event, FrameDecoder, Opcode};
//!
//! // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
//! let mut bytes = *b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
//! let mut dec = FrameDecoder::new(Default::default());
//! let start = dec.decode(&mut bytes)?;
//! let Some(Event::Start(header)) = start.event else { panic!() };
//! assert_eq!((header.opcode, header.fin, header.len), (Opcode::Text, true, 5));
//! let body = &mut bytes[start.consumed..];
//! let piece = dec.decode(body)?;
//! let Some(Event::Payload(range)) = piece.event else { panic!() };
//! assert_eq!(&body[range], b"Hello"); // unmasked where it lay
//! assert!(matches!(dec.decode(&mut body[piece.consumed..])?.event, Some(Event::End(_))));
//! # Ok::<(), wired_parser::websocket::Error>(())
//! ```

use core::fmt;

pub mod base64;
pub mod close;
pub mod encode;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod sha1;
pub mod utf8;

pub use close::{Close, close_code_is_valid, parse_close};
pub use encode::{encode_close, encode_control, encode_header, header_len};
pub use frame::{Config, Event, FrameDecoder, Header, Step, apply_mask};
pub use handshake::{Handshake, HandshakeError};
pub use utf8::Utf8Validator;

/// The most payload a control frame may carry (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The longest frame header a server sends: 2 bytes, then a 64-bit length (§5.2).
pub const MAX_HEADER_LEN: usize = 10;

/// The longest control frame a server sends: a 2-byte header and 125 bytes.
pub const MAX_CONTROL_FRAME: usize = 2 + MAX_CONTROL_PAYLOAD;

/// What a frame carries (§5.2, §11.8). Reserved opcodes are refused by the
/// decoder, so every frame has one of these.
///
/// ```
/// use wired_parser::websocket::Opcode;
/// assert_eq!(Opcode::from_u4(0x9), Some(Opcode::Ping));
/// assert_eq!(Opcode::from_u4(0x3), None); // reserved for non-control frames
/// assert!(Opcode::Close.is_control() && !Opcode::Continuation.is_control());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0x0: the next fragment of the open message (§5.4).
    Continuation,
    /// 0x1: the first frame of a UTF-8 text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: the closing handshake (§5.5.1).
    Close,
    /// 0x9: a keepalive or latency probe the peer must answer (§5.5.2).
    Ping,
    /// 0xA: the answer to a Ping, or unsolicited (§5.5.3).
    Pong,
}

impl Opcode {
    /// The opcode for the low four bits of a frame's first byte, if defined.
    pub fn from_u4(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The four bits this opcode is written as.
    pub fn as_u4(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Control frames (§5.5) have the high opcode bit set: they may arrive
    /// between the fragments of a message, and never fragment themselves.
    pub fn is_control(self) -> bool {
        self.as_u4() & 0x8 != 0
    }
}

/// Why a frame stream was refused, and the close code to fail it with (§7.1.7).
///
/// Every one of these ends the connection: the server sends a Close frame
/// with [`Error::close_code`] and stops reading frames.
///
/// ```
/// use wired_parser::websocket::Error;
/// assert_eq!(Error::Unmasked.close_code(), 1002);
/// assert_eq!(Error::MessageTooLarge.to_string(), "1009 message too large");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    // ---- 1002 protocol error ----
    /// A client frame without the MASK bit (§5.1: the server MUST close).
    Unmasked,
    /// An RSV bit set that no negotiated extension defines (§5.2); RSV1 is
    /// permessage-deflate's, and only on a message's first frame (RFC 7692 §6).
    ReservedBits,
    /// A reserved opcode, 0x3-0x7 or 0xB-0xF (§5.2).
    UnknownOpcode,
    /// A control frame without FIN (§5.5: control frames MUST NOT be fragmented).
    FragmentedControl,
    /// A control frame announcing more than 125 bytes (§5.5).
    ControlTooLong,
    /// A 64-bit length with its most significant bit set (§5.2).
    LengthTopBit,
    /// A length in a longer form than it needs (§5.2: "the minimal number of
    /// bytes MUST be used"); a strict reader refuses it, as it refuses any
    /// framing two readers might disagree on.
    NonMinimalLength,
    /// A continuation frame with no message open (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a message still awaits its last fragment (§5.4).
    ExpectedContinuation,
    /// A Close payload of one byte (§5.5.1: a code is two bytes).
    CloseLength,
    /// A close code that may not appear on the wire (§7.4.1, §7.4.2).
    CloseCode,
    // ---- 1007 invalid frame payload data ----
    /// A text message, or a close reason, that is not UTF-8 (§8.1).
    InvalidUtf8,
    // ---- 1009 message too big ----
    /// A frame longer than [`Config::max_frame`].
    FrameTooLarge,
    /// A message whose fragments add up to more than [`Config::max_message`].
    MessageTooLarge,
}

impl Error {
    /// The status code of the Close frame that fails the connection (§7.4.1).
    pub fn close_code(self) -> u16 {
        match self {
            Error::InvalidUtf8 => 1007,
            Error::FrameTooLarge | Error::MessageTooLarge => 1009,
            _ => 1002,
        }
    }

    /// A short reason, for logs and for the Close frame's reason text.
    pub fn reason(self) -> &'static str {
        match self {
            Error::Unmasked => "frame not masked",
            Error::ReservedBits => "reserved bit set",
            Error::UnknownOpcode => "reserved opcode",
            Error::FragmentedControl => "fragmented control frame",
            Error::ControlTooLong => "control frame too long",
            Error::LengthTopBit => "64-bit length with the top bit set",
            Error::NonMinimalLength => "length not minimally encoded",
            Error::UnexpectedContinuation => "continuation without a message",
            Error::ExpectedContinuation => "new message before the last one ended",
            Error::CloseLength => "one-byte close payload",
            Error::CloseCode => "invalid close code",
            Error::InvalidUtf8 => "invalid UTF-8",
            Error::FrameTooLarge => "frame too large",
            Error::MessageTooLarge => "message too large",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.close_code(), self.reason())
    }
}

impl std::error::Error for Error {}
