//! HTTP/2 (RFC 9113): groundwork. The frame layer, from the connection
//! preface to typed frames and back.
//!
//! Like the rest of this crate, nothing here does I/O or keeps a
//! connection's state: the server owns the bytes and the streams, and this
//! module says what the bytes mean and writes the ones to send.
//!
//! ## A tour, in the order a connection meets it
//!
//! 1. [`preface`]: a client with prior knowledge opens a cleartext
//!    connection with 24 fixed bytes (§3.4). [`preface::check`] tells, from
//!    the first bytes read, whether they are that preface, could still be,
//!    or are HTTP/1.1 instead.
//! 2. [`frame`]: then come frames, each a 9-byte header and a payload
//!    (§4.1). [`FrameDecoder`] waits for a whole frame, checks every rule
//!    one frame can break (its size, its stream, its length, its padding,
//!    its settings, and that a field block is not interrupted), and hands
//!    out a [`Frame`] whose [`Payload`] borrows the caller's buffer.
//! 3. [`settings`]: a SETTINGS payload, each value checked (§6.5.2), and
//!    the identifiers and bounds the connection will need.
//! 4. [`error`]: a refused frame is an [`Error`] that says whether the
//!    connection or one stream is lost (§5.4) and which [`ErrorCode`] to
//!    send (§7).
//! 5. [`encode`]: the frames a server sends, appended to a `Vec<u8>`; DATA
//!    as a bare header, so the payload can follow from a file.
//! 6. [`trace`]: one line per frame for `--trace`, such as
//!    `HEADERS stream=1 flags=END_STREAM|END_HEADERS len=42`.
//!
//! 7. [`hpack`]: a HEADERS frame's field block is compressed with HPACK
//!    (RFC 7541); the connection joins a block's fragments and hands it
//!    whole to [`hpack::Decoder`], and encodes its answers with
//!    [`hpack::Encoder`].
//!
//! Stream states (§5.1) and flow control (§5.2) belong to the connection.
//!
//! ```
//! use wired_parser::http2::{Decoded, FrameDecoder, Payload, encode_settings_ack, preface};
//!
//! let mut wire = preface::PREFACE.to_vec();
//! wire.extend_from_slice(b"\0\0\x06\x04\0\0\0\0\0\0\x04\0\x01\0\0"); // INITIAL_WINDOW_SIZE=65536
//! assert_eq!(preface::check(&wire), preface::Preface::Complete);
//! let mut dec = FrameDecoder::new();
//! let Decoded::Frame { frame, consumed } = dec.decode(&wire[24..])? else { panic!() };
//! assert_eq!(frame.to_string(), "SETTINGS stream=0 flags=0 len=6 INITIAL_WINDOW_SIZE=65536");
//! assert!(matches!(frame.payload, Payload::Settings { ack: false, .. }));
//! assert_eq!(24 + consumed, wire.len());
//! let mut out = Vec::new();
//! encode_settings_ack(&mut out);
//! # Ok::<(), wired_parser::http2::Error>(())
//! ```

pub mod encode;
pub mod error;
pub mod frame;
pub mod hpack;
pub mod preface;
pub mod settings;
pub mod trace;

pub use encode::{
    data_header, encode_field_block, encode_frame, encode_goaway, encode_ping, encode_rst_stream, encode_settings,
    encode_settings_ack, encode_window_update,
};
pub use error::{Error, ErrorCode, Reason};
pub use frame::{Decoded, Frame, FrameDecoder, FrameHeader, FrameType, HEADER_LEN, Payload, flags};
pub use settings::{Setting, SettingId, Settings};
