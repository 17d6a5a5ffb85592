//! What goes wrong at the frame layer, and what to tell the peer (RFC 9113 §5.4, §7).
//!
//! Every error the decoder finds is one of two kinds, and the kind decides
//! what the server does next. A connection error (§5.4.1) means the frame
//! layer can no longer be trusted: send GOAWAY with the error's code and
//! close. A stream error (§5.4.2) spoils one stream only: send RST_STREAM on
//! that stream and read on. The [`Reason`] says which rule was broken, for
//! the trace, and knows its [`ErrorCode`]; the [`Error`] adds the kind.

use core::fmt;

use super::frame::FrameType;

/// The 32-bit error codes of RST_STREAM and GOAWAY (§7).
///
/// Codes this crate does not know are kept as [`ErrorCode::Unknown`]: §7
/// says they "MUST NOT trigger any special behavior".
///
/// ```
/// use wired_parser::http2::ErrorCode;
/// assert_eq!(ErrorCode::from_u32(0x6), ErrorCode::FrameSizeError);
/// assert_eq!(ErrorCode::FrameSizeError.name(), "FRAME_SIZE_ERROR");
/// assert_eq!(ErrorCode::from_u32(0xff).as_u32(), 0xff);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x0: not an error; a graceful GOAWAY, or RST_STREAM after a full response.
    NoError,
    /// 0x1: a protocol rule was broken and no more specific code applies.
    ProtocolError,
    /// 0x2: the endpoint failed for reasons of its own.
    InternalError,
    /// 0x3: the peer broke the flow-control rules (§5.2).
    FlowControlError,
    /// 0x4: a SETTINGS frame went unacknowledged too long (§6.5.3).
    SettingsTimeout,
    /// 0x5: a frame arrived on a stream already half-closed.
    StreamClosed,
    /// 0x6: a frame of the wrong size (§4.2).
    FrameSizeError,
    /// 0x7: the stream was refused before any processing; safe to retry (§8.7).
    RefusedStream,
    /// 0x8: the stream is no longer needed.
    Cancel,
    /// 0x9: the field compression context cannot be kept (§4.3).
    CompressionError,
    /// 0xa: the connection behind a CONNECT request failed (§8.5).
    ConnectError,
    /// 0xb: the peer is generating excessive load.
    EnhanceYourCalm,
    /// 0xc: the transport is not secure enough (§9.2).
    InadequateSecurity,
    /// 0xd: the request must be retried over HTTP/1.1.
    Http11Required,
    /// A code §7 does not define.
    Unknown(u32),
}

impl ErrorCode {
    /// The code for a value read from the wire; total, as §7 requires.
    pub fn from_u32(value: u32) -> ErrorCode {
        match value {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The value written on the wire.
    pub fn as_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(value) => value,
        }
    }

    /// The name §7 gives the code, as a trace prints it; "UNKNOWN" for the rest.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::ProtocolError => "PROTOCOL_ERROR",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::FlowControlError => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSizeError => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::CompressionError => "COMPRESSION_ERROR",
            ErrorCode::ConnectError => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Unknown(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for ErrorCode {
    /// The name, or the number in hex for a code §7 does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(value) => write!(f, "0x{value:x}"),
            known => f.write_str(known.name()),
        }
    }
}

/// Which rule of RFC 9113 a frame broke. Each knows its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Longer than the SETTINGS_MAX_FRAME_SIZE this endpoint advertised (§4.2).
    FrameTooLarge,
    /// A PRIORITY, RST_STREAM, PING or WINDOW_UPDATE frame whose length is
    /// not the one its type fixes (§6.3, §6.4, §6.7, §6.9).
    WrongLength(FrameType),
    /// Too short to hold the fields its type and flags require (§4.2):
    /// the Pad Length byte, a HEADERS frame's priority fields, a
    /// PUSH_PROMISE frame's promised stream, a GOAWAY frame's 8 bytes.
    TooShort(FrameType),
    /// A SETTINGS frame with the ACK flag and a payload (§6.5).
    SettingsAckWithPayload,
    /// A SETTINGS payload that is not a whole number of 6-byte settings (§6.5).
    SettingsLength,
    /// A frame that belongs to a stream, sent on stream 0 (§6.1, §6.2,
    /// §6.3, §6.4, §6.6, §6.10).
    StreamZero(FrameType),
    /// A frame that belongs to the connection, sent on a stream (§6.5, §6.7, §6.8).
    StreamNonZero(FrameType),
    /// Padding as long as what follows the Pad Length field, or longer
    /// (§6.1, §6.2, §6.6).
    PaddingTooLong(FrameType),
    /// SETTINGS_ENABLE_PUSH other than 0 or 1 (§6.5.2).
    EnablePush,
    /// SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (§6.5.2).
    InitialWindowSize,
    /// SETTINGS_MAX_FRAME_SIZE outside 2^14..=2^24-1 (§6.5.2).
    MaxFrameSize,
    /// A WINDOW_UPDATE that adds nothing (§6.9).
    ZeroIncrement,
    /// A frame other than CONTINUATION on the same stream while a field
    /// block is still open (§4.3, §6.2, §6.10).
    ExpectedContinuation,
    /// A CONTINUATION frame with no field block open (§6.10).
    UnexpectedContinuation,
}

impl Reason {
    /// The code to send in GOAWAY or RST_STREAM.
    pub fn code(self) -> ErrorCode {
        match self {
            Reason::FrameTooLarge
            | Reason::WrongLength(_)
            | Reason::TooShort(_)
            | Reason::SettingsAckWithPayload
            | Reason::SettingsLength => ErrorCode::FrameSizeError,
            Reason::InitialWindowSize => ErrorCode::FlowControlError,
            Reason::StreamZero(_)
            | Reason::StreamNonZero(_)
            | Reason::PaddingTooLong(_)
            | Reason::EnablePush
            | Reason::MaxFrameSize
            | Reason::ZeroIncrement
            | Reason::ExpectedContinuation
            | Reason::UnexpectedContinuation => ErrorCode::ProtocolError,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FrameTooLarge => f.write_str("frame larger than SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2)"),
            Reason::WrongLength(kind) => {
                write!(f, "{} of the wrong length (RFC 9113 §{})", kind.name(), kind.section())
            }
            Reason::TooShort(kind) => write!(f, "{} too short for its fields (RFC 9113 §4.2)", kind.name()),
            Reason::SettingsAckWithPayload => f.write_str("SETTINGS ACK with a payload (RFC 9113 §6.5)"),
            Reason::SettingsLength => f.write_str("SETTINGS length not a multiple of 6 (RFC 9113 §6.5)"),
            Reason::StreamZero(kind) => write!(f, "{} on stream 0 (RFC 9113 §{})", kind.name(), kind.section()),
            Reason::StreamNonZero(kind) => {
                write!(f, "{} on a stream, not the connection (RFC 9113 §{})", kind.name(), kind.section())
            }
            Reason::PaddingTooLong(kind) => {
                write!(f, "{} padding longer than its payload (RFC 9113 §{})", kind.name(), kind.section())
            }
            Reason::EnablePush => f.write_str("SETTINGS_ENABLE_PUSH neither 0 nor 1 (RFC 9113 §6.5.2)"),
            Reason::InitialWindowSize => f.write_str("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (RFC 9113 §6.5.2)"),
            Reason::MaxFrameSize => f.write_str("SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1 (RFC 9113 §6.5.2)"),
            Reason::ZeroIncrement => f.write_str("WINDOW_UPDATE increment of 0 (RFC 9113 §6.9)"),
            Reason::ExpectedContinuation => f.write_str("field block interrupted before END_HEADERS (RFC 9113 §4.3)"),
            Reason::UnexpectedContinuation => f.write_str("CONTINUATION without an open field block (RFC 9113 §6.10)"),
        }
    }
}

/// A frame the decoder refused, and what the server must do about it.
///
/// ```
/// use wired_parser::http2::{Error, ErrorCode, FrameType, Reason};
/// let e = Error::Connection(Reason::StreamZero(FrameType::Data));
/// assert_eq!(e.code(), ErrorCode::ProtocolError);
/// assert_eq!(e.to_string(), "connection error PROTOCOL_ERROR: DATA on stream 0 (RFC 9113 §6.1)");
/// let e = Error::Stream { stream: 3, reason: Reason::ZeroIncrement, consumed: 13 };
/// assert_eq!(e.stream(), Some(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The connection is done (§5.4.1): send GOAWAY with [`Error::code`]
    /// and close. The decoder repeats this error from now on.
    Connection(Reason),
    /// One stream is done (§5.4.2): send RST_STREAM on `stream` with
    /// [`Error::code`], advance past the frame's `consumed` bytes, and
    /// carry on decoding.
    Stream {
        /// The stream the frame was on.
        stream: u32,
        /// The rule the frame broke.
        reason: Reason,
        /// The whole frame's length, header included: what to skip.
        consumed: usize,
    },
}

impl Error {
    /// The rule that was broken.
    pub fn reason(self) -> Reason {
        match self {
            Error::Connection(reason) | Error::Stream { reason, .. } => reason,
        }
    }

    /// The code for the GOAWAY or RST_STREAM frame that answers this error.
    pub fn code(self) -> ErrorCode {
        self.reason().code()
    }

    /// The stream to reset, for a stream error; `None` when the whole
    /// connection must go.
    pub fn stream(self) -> Option<u32> {
        match self {
            Error::Connection(_) => None,
            Error::Stream { stream, .. } => Some(stream),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connection(reason) => write!(f, "connection error {}: {reason}", reason.code()),
            Error::Stream { stream, reason, .. } => write!(f, "stream {stream} error {}: {reason}", reason.code()),
        }
    }
}

impl std::error::Error for Error {}
