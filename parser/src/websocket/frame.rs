//! A resumable decoder for the frames a server receives (RFC 6455 §5.2).
//!
//! ```text
//!  byte 0: FIN RSV1 RSV2 RSV3 opcode(4)    byte 1: MASK len(7)
//!  len 126: 16-bit length follows; 127: 64-bit length follows (top bit 0)
//!  then the 4-byte masking key (every client frame has one, §5.3)
//!  then the payload, each byte XORed with key[i % 4]
//!
//!  Header ─ all header bytes ─> Start ─┬─ len > 0 ─> Payload ─ pieces ─┐
//!    ^                                 └─ len = 0 ────────────────────>├─> End ─┐
//!    └─────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! ## Why `&mut [u8]`
//!
//! A client's payload is masked, so a decoder must change every byte before
//! anyone can read it. [`FrameDecoder::decode`] takes the caller's read
//! buffer mutably and unmasks the payload where it lies: a payload piece is
//! then just a range of that buffer (offsets, not borrows, as everywhere in
//! wired), and there is no output buffer to size, no copy, no allocation.
//! The price is a rule: bytes before `consumed` now belong to the caller
//! as the decoder left them (unmasked), and must not be fed again; bytes
//! from `consumed` on are never touched, so the caller simply continues
//! from there. The masking key and how far into it the payload has got
//! (its offset modulo 4) are kept in the decoder, so unmasking resumes
//! exactly where a read ended.
//!
//! ## What is checked, and when
//!
//! Each rule is applied as soon as the bytes it needs have arrived, and in
//! byte order, so the same input gives the same answer however it is cut:
//! at byte 2 the RSV bits, the opcode, FIN on control frames, the
//! continuation rules (§5.4), the MASK bit (§5.1) and a control frame's
//! 7-bit length (§5.5); once the extended length is in, its top bit, its
//! minimal encoding, and the frame and message limits (1009). In the payload
//! of a text message, or of a Close frame, the first byte that cannot be
//! valid UTF-8 (§8.1), or a close code that may not be sent (§7.4); and at
//! the frame's end, a text message or close reason that stops inside a
//! character. A compressed message (RSV1, RFC 7692) is not checked for
//! UTF-8 here: its bytes are deflate's; the caller checks the inflated text
//! with a [`Utf8Validator`].

use core::ops::Range;

use super::close::CloseCheck;
use super::utf8::Utf8Validator;
use super::{Error, MAX_CONTROL_PAYLOAD, Opcode};

/// What a server accepts from its client.
///
/// ```
/// let config = wired_parser::websocket::Config { max_message: 64 * 1024, ..Default::default() };
/// assert!(!config.rsv1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Longest frame payload accepted (1009 beyond it). Checked from the header,
    /// before a byte of the payload arrives.
    pub max_frame: u64,
    /// Longest message accepted, the payloads of its fragments added up (1009
    /// beyond it); counted in bytes on the wire, so compressed when RSV1 is set.
    pub max_message: u64,
    /// RSV1 may be set on a message's first frame: permessage-deflate was
    /// negotiated in the handshake (RFC 7692 §6).
    pub rsv1: bool,
}

impl Default for Config {
    /// 1 MiB frames and messages, no extension.
    fn default() -> Self {
        Config { max_frame: 1 << 20, max_message: 1 << 20, rsv1: false }
    }
}

/// A frame's header, as the decoder reports it at the frame's start and end.
///
/// RSV2 and RSV3 are not here: no extension wired knows defines them, so a
/// frame with either set is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The last frame of its message (always true for control frames).
    pub fin: bool,
    /// The message is compressed (RFC 7692 §6); only on a first frame.
    pub rsv1: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The payload length.
    pub len: u64,
}

/// One thing the decoder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A frame's header is complete and valid; its payload follows.
    Start(Header),
    /// A piece of the current frame's payload, already unmasked, as indices
    /// into the input of this call. Never empty.
    Payload(Range<usize>),
    /// The current frame's payload is complete (and, for a text message's
    /// last frame or a Close frame, valid UTF-8).
    End(Header),
}

/// What one call to [`FrameDecoder::decode`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How many bytes of the input were used; the caller advances past them.
    pub consumed: usize,
    /// The event found, or `None` when the whole input was consumed without
    /// completing one: read more.
    pub event: Option<Event>,
}

/// Decodes the frames a client sends, fed in pieces of any size.
///
/// Keep one per connection for the life of the WebSocket. Call
/// [`decode`](FrameDecoder::decode) with the unread bytes until it returns
/// `event: None` (it has consumed them all: read more) or an error (send a
/// Close frame with the error's code, and stop reading frames). After the
/// `End` of a Close frame, nothing the client sends means anything (§5.5.1).
///
/// ```
/// use wired_parser::websocket::{Event, FrameDecoder};
///
/// // "Hel" + a ping + "lo": control frames may come between fragments (§5.4).
/// let mut wire = Vec::new();
/// wire.extend_from_slice(b"\x01\x83\0\0\0\0Hel");
/// wire.extend_from_slice(b"\x89\x80\x01\x02\x03\x04");
/// wire.extend_from_slice(b"\x80\x82\x01\x01\x01\x01\x6d\x6e"); // "lo" masked with 01 01 01 01
/// let mut dec = FrameDecoder::new(Default::default());
/// let (mut text, mut events, mut pos) = (Vec::new(), 0, 0);
/// loop {
///     let step = dec.decode(&mut wire[pos..])?;
///     match step.event {
///         None => break,
///         Some(Event::Payload(range)) => text.extend_from_slice(&wire[pos..][range]),
///         Some(_) => events += 1,
///     }
///     pos += step.consumed;
/// }
/// assert_eq!((text.as_slice(), events), (&b"Hello"[..], 6));
/// # Ok::<(), wired_parser::websocket::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    /// What the server accepts.
    config: Config,
    /// Where in the frame the next byte belongs.
    state: State,
    /// The header bytes gathered so far: 2, up to 8 of length, 4 of mask key.
    head: [u8; 14],
    /// How many of `head` are filled.
    head_len: usize,
    /// The current frame's header, valid from its `Start` to its `End`.
    frame: Header,
    /// The current frame's masking key (§5.3).
    mask: [u8; 4],
    /// The data message whose last fragment has not arrived, if any.
    message: Option<Message>,
    /// The open text message's UTF-8 so far, across its fragments.
    text: Utf8Validator,
    /// The current Close frame's payload so far.
    close: CloseCheck,
}

/// Where the decoder stands in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Gathering header bytes into `head`.
    Header,
    /// Inside the payload, with `remaining` bytes to come; the next byte is
    /// unmasked with `mask[offset]`.
    Payload { remaining: u64, offset: usize },
    /// The payload is complete; the `End` event is due.
    End,
    /// A previous call failed; every later call repeats the error.
    Failed(Error),
}

/// A fragmented data message in progress (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    /// Text or Binary: what its first frame said.
    opcode: Opcode,
    /// RSV1 was set on its first frame: the payload is deflate's (RFC 7692).
    compressed: bool,
    /// The payload lengths of its frames so far, the current one included.
    len: u64,
}

impl FrameDecoder {
    /// A decoder at the start of a WebSocket connection.
    pub fn new(config: Config) -> Self {
        FrameDecoder {
            config,
            state: State::Header,
            head: [0; 14],
            head_len: 0,
            frame: Header { fin: true, rsv1: false, opcode: Opcode::Continuation, len: 0 },
            mask: [0; 4],
            message: None,
            text: Utf8Validator::new(),
            close: CloseCheck::new(),
        }
    }

    /// Decode from the start of `input`, stopping after at most one event.
    ///
    /// Payload bytes are unmasked in place as they are handed out; see the
    /// [module documentation](self) for why the input is `&mut`. Every call
    /// either returns an event or consumes the whole input. A payload piece
    /// that holds the first bad byte of a text message or a Close payload
    /// (one that cannot be UTF-8, or the second byte of a code that may not
    /// be sent) is cut short before that byte and the error comes with the
    /// next call, so the events before an error do not depend on how the
    /// input was split. After an error every call returns it again.
    pub fn decode(&mut self, input: &mut [u8]) -> Result<Step, Error> {
        match self.state {
            State::Failed(error) => Err(error),
            State::Header => self.read_header(input).inspect_err(|&e| self.state = State::Failed(e)),
            State::Payload { remaining, offset } => self.read_payload(input, remaining, offset),
            State::End => self.end_frame().inspect_err(|&e| self.state = State::Failed(e)),
        }
    }

    /// The opcode (Text or Binary) of the message awaiting further
    /// fragments, if one is open: what a Continuation frame continues.
    pub fn open_message(&self) -> Option<Opcode> {
        self.message.map(|m| m.opcode)
    }

    /// Gather header bytes, checking each rule once its bytes are in.
    fn read_header(&mut self, input: &[u8]) -> Result<Step, Error> {
        for (i, &byte) in input.iter().enumerate() {
            self.head[self.head_len] = byte;
            self.head_len += 1;
            let have = self.head_len;
            if have < 2 {
                continue;
            }
            if have == 2 {
                self.check_first_bytes()?;
            }
            let ext = match self.head[1] & 0x7F {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            if have == 2 + ext {
                self.frame.len = self.check_length(ext)?;
            }
            if have == 2 + ext + 4 {
                self.mask.copy_from_slice(&self.head[have - 4..have]);
                self.start_frame();
                return Ok(Step { consumed: i + 1, event: Some(Event::Start(self.frame)) });
            }
        }
        Ok(Step { consumed: input.len(), event: None })
    }

    /// The rules that the first two bytes decide (§5.1, §5.2, §5.4, §5.5).
    fn check_first_bytes(&mut self) -> Result<(), Error> {
        let [b0, b1] = [self.head[0], self.head[1]];
        let (fin, rsv1) = (b0 & 0x80 != 0, b0 & 0x40 != 0);
        if b0 & 0x30 != 0 {
            return Err(Error::ReservedBits);
        }
        let opcode = Opcode::from_u4(b0 & 0x0F).ok_or(Error::UnknownOpcode)?;
        // RFC 7692 §6: only the first frame of a data message may say it is compressed.
        if rsv1 && !(self.config.rsv1 && matches!(opcode, Opcode::Text | Opcode::Binary)) {
            return Err(Error::ReservedBits);
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(Error::FragmentedControl);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(Error::ControlTooLong);
            }
            if opcode == Opcode::Close && len7 == 1 {
                return Err(Error::CloseLength);
            }
        } else {
            match (opcode, self.message) {
                (Opcode::Continuation, None) => return Err(Error::UnexpectedContinuation),
                (Opcode::Text | Opcode::Binary, Some(_)) => return Err(Error::ExpectedContinuation),
                _ => {}
            }
        }
        if b1 & 0x80 == 0 {
            return Err(Error::Unmasked);
        }
        self.frame = Header { fin, rsv1, opcode, len: 0 };
        Ok(())
    }

    /// The payload length, once its `ext` extended bytes are in (§5.2), checked
    /// against the encoding rules and the limits.
    fn check_length(&self, ext: usize) -> Result<u64, Error> {
        let len = match ext {
            0 => u64::from(self.head[1] & 0x7F),
            2 => {
                let len = u64::from(u16::from_be_bytes([self.head[2], self.head[3]]));
                if len < 126 {
                    return Err(Error::NonMinimalLength);
                }
                len
            }
            _ => {
                let mut bytes = [0; 8];
                bytes.copy_from_slice(&self.head[2..10]);
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(Error::LengthTopBit);
                }
                if len <= 0xFFFF {
                    return Err(Error::NonMinimalLength);
                }
                len
            }
        };
        if len > self.config.max_frame {
            return Err(Error::FrameTooLarge);
        }
        if !self.frame.opcode.is_control() {
            let before = match self.frame.opcode {
                Opcode::Continuation => self.message.map_or(0, |m| m.len),
                _ => 0,
            };
            if before.saturating_add(len) > self.config.max_message {
                return Err(Error::MessageTooLarge);
            }
        }
        Ok(len)
    }

    /// The header is complete and valid: open the message or the close
    /// check it starts, and move on to the payload.
    fn start_frame(&mut self) {
        let frame = self.frame;
        match frame.opcode {
            Opcode::Text | Opcode::Binary => {
                self.message = Some(Message { opcode: frame.opcode, compressed: frame.rsv1, len: frame.len });
                self.text = Utf8Validator::new();
            }
            Opcode::Continuation => {
                if let Some(message) = &mut self.message {
                    message.len = message.len.saturating_add(frame.len);
                }
            }
            Opcode::Close => self.close = CloseCheck::new(),
            Opcode::Ping | Opcode::Pong => {}
        }
        self.head_len = 0;
        self.state = match frame.len {
            0 => State::End,
            remaining => State::Payload { remaining, offset: 0 },
        };
    }

    /// Unmask and hand out the next piece of the payload.
    fn read_payload(&mut self, input: &mut [u8], remaining: u64, offset: usize) -> Result<Step, Error> {
        let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
        if take == 0 {
            return Ok(Step { consumed: 0, event: None });
        }
        let piece = &mut input[..take];
        apply_mask(piece, self.mask, offset);
        let checked = match (self.frame.opcode, self.message) {
            (Opcode::Close, _) => self.close.feed(piece),
            (Opcode::Text | Opcode::Continuation, Some(m)) if m.opcode == Opcode::Text && !m.compressed => {
                self.text.feed(piece).map_err(|i| (i, Error::InvalidUtf8))
            }
            _ => Ok(()),
        };
        if let Err((bad, error)) = checked {
            // Give back the bytes from the bad one on as they came, so nothing
            // past `consumed` is ever changed; the valid prefix is handed out
            // and the error comes with the next call.
            apply_mask(&mut piece[bad..], self.mask, offset + bad);
            self.state = State::Failed(error);
            if bad == 0 {
                return Err(error);
            }
            return Ok(Step { consumed: bad, event: Some(Event::Payload(0..bad)) });
        }
        // Lossless: `take` is at most `remaining`, a u64.
        self.state = match remaining - take as u64 {
            0 => State::End,
            remaining => State::Payload { remaining, offset: (offset + take) % 4 },
        };
        Ok(Step { consumed: take, event: Some(Event::Payload(0..take)) })
    }

    /// The payload is complete: check what only its end can show, close the
    /// message if this was its last frame, and report the end.
    fn end_frame(&mut self) -> Result<Step, Error> {
        let frame = self.frame;
        match frame.opcode {
            Opcode::Close => self.close.finish()?,
            Opcode::Text | Opcode::Continuation if frame.fin => {
                let text = self.message.is_some_and(|m| m.opcode == Opcode::Text && !m.compressed);
                if text && !self.text.is_complete() {
                    return Err(Error::InvalidUtf8);
                }
            }
            _ => {}
        }
        if frame.fin && !frame.opcode.is_control() {
            self.message = None;
        }
        self.state = State::Header;
        Ok(Step { consumed: 0, event: Some(Event::End(frame)) })
    }
}

/// XOR `bytes` with the masking key (§5.3), starting `offset` bytes into the
/// payload. Masking and unmasking are the same operation.
///
/// ```
/// let mut bytes = *b"Hello";
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// wired_parser::websocket::apply_mask(&mut bytes, key, 0);
/// assert_eq!(bytes, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// wired_parser::websocket::apply_mask(&mut bytes[2..], key, 2);
/// assert_eq!(&bytes[2..], b"llo");
/// ```
pub fn apply_mask(bytes: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = mask;
    key.rotate_left(offset % 4);
    let mut chunks = bytes.chunks_exact_mut(4);
    for chunk in &mut chunks {
        for (byte, k) in chunk.iter_mut().zip(key) {
            *byte ^= k;
        }
    }
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests;
