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
mod tests {
    use super::*;
    use crate::websocket::encode::encode_header;

    /// One frame of a test stream, as a client would send it.
    #[derive(Clone)]
    struct F {
        fin: bool,
        rsv1: bool,
        opcode: Opcode,
        payload: Vec<u8>,
    }

    fn f(fin: bool, opcode: Opcode, payload: impl AsRef<[u8]>) -> F {
        F { fin, rsv1: false, opcode, payload: payload.as_ref().to_vec() }
    }

    fn text(s: &str) -> F {
        f(true, Opcode::Text, s)
    }

    /// A key that varies with the payload, so every byte is really masked.
    fn key_for(payload: &[u8]) -> [u8; 4] {
        let n = payload.len() as u8;
        [0x37 ^ n, 0xfa, 0x21 ^ n.rotate_left(3), 0x3d]
    }

    /// A client frame: the server's header with the MASK bit and a key
    /// inserted, then the masked payload.
    fn wire(frame: &F) -> Vec<u8> {
        let mut head = [0; 10];
        let n = encode_header(&mut head, frame.fin, frame.rsv1, frame.opcode, frame.payload.len() as u64).unwrap();
        head[1] |= 0x80;
        let key = key_for(&frame.payload);
        let mut payload = frame.payload.clone();
        apply_mask(&mut payload, key, 0);
        [&head[..n], &key, &payload].concat()
    }

    fn stream(frames: &[F]) -> Vec<u8> {
        frames.iter().flat_map(wire).collect()
    }

    /// An event with its payload pieces merged, so streams cut differently compare equal.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Start(Header),
        Data(Vec<u8>),
        End(Header),
    }

    /// How feeding a stream went: the events, and the error that ended it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Outcome {
        events: Vec<Ev>,
        error: Option<Error>,
    }

    /// The events a valid stream must give: per frame its start, its
    /// payload (if any) and its end.
    fn expected(frames: &[F]) -> Vec<Ev> {
        let mut events = Vec::new();
        for frame in frames {
            let header =
                Header { fin: frame.fin, rsv1: frame.rsv1, opcode: frame.opcode, len: frame.payload.len() as u64 };
            events.push(Ev::Start(header));
            if !frame.payload.is_empty() {
                events.push(Ev::Data(frame.payload.clone()));
            }
            events.push(Ev::End(header));
        }
        events
    }

    /// Feed `input` as a server would, the bytes becoming available up to
    /// each of `cuts` in turn, then up to the end, checking the decoder's
    /// promises on every call.
    fn feed(input: &[u8], config: Config, cuts: &[usize]) -> Outcome {
        let mut buf = input.to_vec();
        let mut dec = FrameDecoder::new(config);
        let mut ends = cuts.iter().copied().chain([input.len()]);
        let mut end = ends.next().unwrap_or(input.len());
        let (mut events, mut pos) = (Vec::<Ev>::new(), 0);
        let error = loop {
            let avail = &mut buf[pos..end];
            let step = match dec.decode(avail) {
                Ok(step) => step,
                Err(e) => {
                    assert_eq!(dec.decode(avail), Err(e), "errors repeat");
                    break Some(e);
                }
            };
            assert!(step.consumed <= avail.len());
            assert_eq!(&avail[step.consumed..], &input[pos + step.consumed..end], "bytes past consumed untouched");
            match step.event {
                None => {
                    assert_eq!(step.consumed, avail.len(), "no event, yet bytes left over");
                    pos = end;
                    match ends.next() {
                        Some(next) => end = next.max(end),
                        None => break None,
                    }
                    continue;
                }
                Some(Event::Payload(range)) => {
                    assert!(!range.is_empty() && range.end <= step.consumed);
                    let piece = &avail[range];
                    match events.last_mut() {
                        Some(Ev::Data(data)) => data.extend_from_slice(piece),
                        _ => events.push(Ev::Data(piece.to_vec())),
                    }
                }
                Some(Event::Start(h)) => events.push(Ev::Start(h)),
                Some(Event::End(h)) => {
                    assert_eq!(step.consumed, 0);
                    events.push(Ev::End(h));
                }
            }
            pos += step.consumed;
        };
        Outcome { events, error }
    }

    struct Case {
        name: &'static str,
        input: Vec<u8>,
        config: Config,
        expect: Outcome,
    }

    const DEFLATE: Config = Config { max_frame: 1 << 20, max_message: 1 << 20, rsv1: true };
    const SMALL: Config = Config { max_frame: 100, max_message: 150, rsv1: false };

    fn valid(name: &'static str, frames: &[F]) -> Case {
        valid_with(name, Config::default(), frames)
    }

    fn valid_with(name: &'static str, config: Config, frames: &[F]) -> Case {
        Case { name, input: stream(frames), config, expect: Outcome { events: expected(frames), error: None } }
    }

    /// A stream whose `good` frames are decoded, then `bad` bytes refused
    /// with `error` after `prefix` of its payload has been handed out.
    fn invalid(name: &'static str, config: Config, good: &[F], bad: &[u8], prefix: &[Ev], error: Error) -> Case {
        let input = [stream(good), bad.to_vec()].concat();
        let mut events = expected(good);
        events.extend_from_slice(prefix);
        Case { name, input, config, expect: Outcome { events, error: Some(error) } }
    }

    fn bad(name: &'static str, good: &[F], bad_bytes: &[u8], error: Error) -> Case {
        invalid(name, Config::default(), good, bad_bytes, &[], error)
    }

    fn header(fin: bool, opcode: Opcode, len: u64) -> Header {
        Header { fin, rsv1: false, opcode, len }
    }

    /// The first frames of a text message whose payload holds a bad byte:
    /// the events up to that byte.
    fn bad_text(name: &'static str, good: &[F], last: F, valid_prefix: usize) -> Case {
        let h = Header { fin: last.fin, rsv1: false, opcode: last.opcode, len: last.payload.len() as u64 };
        let mut prefix = vec![Ev::Start(h)];
        if valid_prefix > 0 {
            prefix.push(Ev::Data(last.payload[..valid_prefix].to_vec()));
        }
        invalid(name, Config::default(), good, &wire(&last), &prefix, Error::InvalidUtf8)
    }

    #[rustfmt::skip]
    fn table() -> Vec<Case> {
        use Error::*;
        use Opcode::*;
        let big = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 % 251) as u8).collect() };
        let close = |code: u16, reason: &str| [&code.to_be_bytes()[..], reason.as_bytes()].concat();
        let frag = [f(false, Text, "Hel"), f(true, Ping, "p"), f(true, Continuation, "lo")];
        vec![
            // RFC 6455 §5.7: a single-frame masked text message.
            Case {
                name: "RFC 6455 §5.7 masked Hello",
                input: b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58".to_vec(),
                config: Config::default(),
                expect: Outcome { events: expected(&[text("Hello")]), error: None },
            },
            valid("empty input", &[]),
            valid("empty text", &[text("")]),
            valid("125 bytes, 7-bit length", &[f(true, Binary, big(125))]),
            valid("126 bytes, 16-bit length", &[f(true, Binary, big(126))]),
            valid("65535 bytes, 16-bit length", &[f(true, Binary, big(65535))]),
            valid("65536 bytes, 64-bit length", &[f(true, Binary, big(65536))]),
            valid("utf-8 text", &[text("κόσμε € 𝄞")]),
            valid("binary need not be utf-8", &[f(true, Binary, b"\xFF\xC0\x80")]),
            valid("two messages", &[text("a"), f(true, Binary, "b")]),
            valid("fragments with a ping between", &frag),
            valid("fragments, every control frame between", &[
                f(false, Binary, "a"), f(true, Ping, ""), f(false, Continuation, ""), f(true, Pong, "x"),
                f(true, Close, close(1000, "")), f(true, Continuation, "b"),
            ]),
            valid("a character split across fragments", &[f(false, Text, b"\xE2"), f(false, Continuation, b"\x82"), f(true, Continuation, b"\xAC!")]),
            valid("empty first and last fragments", &[f(false, Text, ""), f(false, Continuation, "x"), f(true, Continuation, "")]),
            valid("ping, pong, close with code and reason", &[f(true, Ping, "hi"), f(true, Pong, ""), f(true, Close, close(1001, "going away"))]),
            valid("close without payload", &[f(true, Close, "")]),
            valid("close with a code only", &[f(true, Close, close(4999, ""))]),
            valid("close reason in utf-8", &[f(true, Close, close(3000, "café"))]),
            valid("125-byte ping", &[f(true, Ping, big(125))]),
            valid("125-byte close", &[f(true, Close, [close(1000, ""), vec![b'a'; 123]].concat())]),
            valid_with("compressed message: RSV1, no utf-8 check", DEFLATE, &[
                F { fin: false, rsv1: true, opcode: Text, payload: b"\xF2\x48\xCD".to_vec() },
                f(true, Ping, ""),
                f(true, Continuation, b"\xC9\xC9\x07\x00"),
            ]),
            valid_with("message at the limit", SMALL, &[f(false, Binary, big(100)), f(true, Continuation, big(50))]),
            valid_with("control frames do not count toward the message", SMALL, &[
                f(false, Binary, big(100)), f(true, Ping, big(100)), f(true, Continuation, big(50)),
            ]),
            // Partial streams: a frame whose payload has not all arrived.
            Case {
                name: "65536-byte frame, first bytes only",
                input: stream(&[f(true, Binary, big(65536))])[..30].to_vec(),
                config: Config::default(),
                expect: Outcome { events: vec![Ev::Start(header(true, Binary, 65536)), Ev::Data(big(16))], error: None },
            },
            Case {
                name: "header only",
                input: stream(&[text("abc")])[..6].to_vec(),
                config: Config::default(),
                expect: Outcome { events: vec![Ev::Start(header(true, Text, 3))], error: None },
            },
            Case {
                name: "half a header",
                input: stream(&[f(true, Binary, big(300))])[..5].to_vec(),
                config: Config::default(),
                expect: Outcome { events: vec![], error: None },
            },
            // §5.1: client frames are masked.
            bad("unmasked", &[], b"\x81\x05Hello", Unmasked),
            bad("unmasked after a good frame", &[text("ok")], b"\x82\x00", Unmasked),
            // §5.2: reserved bits and opcodes.
            bad("RSV1 without an extension", &[], b"\xC1\x80\0\0\0\0", ReservedBits),
            bad("RSV2", &[], b"\xA1\x80\0\0\0\0", ReservedBits),
            bad("RSV3", &[], b"\x91\x80\0\0\0\0", ReservedBits),
            invalid("RSV1 on a continuation", DEFLATE, &[f(false, Text, "a")], b"\xC0\x80\0\0\0\0", &[], ReservedBits),
            invalid("RSV1 on a ping", DEFLATE, &[], b"\xC9\x80\0\0\0\0", &[], ReservedBits),
            bad("opcode 3", &[], b"\x83\x80\0\0\0\0", UnknownOpcode),
            bad("opcode 7", &[], b"\x87\x80\0\0\0\0", UnknownOpcode),
            bad("opcode B", &[], b"\x8B\x80\0\0\0\0", UnknownOpcode),
            bad("opcode F", &[], b"\x8F\x80\0\0\0\0", UnknownOpcode),
            // §5.5: control frames.
            bad("fragmented ping", &[], b"\x09\x80\0\0\0\0", FragmentedControl),
            bad("fragmented close", &[], b"\x08\x82\0\0\0\0\x03\xE8", FragmentedControl),
            bad("ping of 126 bytes", &[], b"\x89\xFE\x00\x7E", ControlTooLong),
            bad("close of 127-form length", &[], b"\x88\xFF", ControlTooLong),
            // §5.2: lengths.
            bad("64-bit length, top bit set", &[], b"\x82\xFF\x80\0\0\0\0\0\0\0", LengthTopBit),
            bad("16-bit form for 125", &[], b"\x82\xFE\x00\x7D", NonMinimalLength),
            bad("64-bit form for 65535", &[], b"\x82\xFF\0\0\0\0\0\0\xFF\xFF", NonMinimalLength),
            // 1009.
            invalid("frame over the limit", SMALL, &[], b"\x82\xFE\x00\x7E", &[], FrameTooLarge),
            invalid("64-bit frame over the limit", SMALL, &[], b"\x82\xFF\0\0\0\x01\0\0\0\0", &[], FrameTooLarge),
            invalid("message over the limit", SMALL, &[f(false, Binary, big(100))], &wire(&f(true, Continuation, big(51))), &[], MessageTooLarge),
            // §5.4: fragmentation.
            bad("continuation first", &[], &wire(&f(true, Continuation, "x")), UnexpectedContinuation),
            bad("continuation after the last fragment", &[f(false, Text, "a"), f(true, Continuation, "b")], &wire(&f(true, Continuation, "c")), UnexpectedContinuation),
            bad("text while a message is open", &[f(false, Text, "a")], &wire(&text("b")), ExpectedContinuation),
            bad("binary while a message is open", &[f(false, Text, "a"), f(true, Ping, "")], &wire(&f(true, Binary, "b")), ExpectedContinuation),
            // §8.1: text must be UTF-8, checked as it arrives.
            bad_text("bad byte in one frame", &[], text("ab\u{FF}cd").clone_with(b"ab\xFFcd"), 2),
            bad_text("bad first byte", &[], f(true, Text, b"\x80abc"), 0),
            bad_text("surrogate", &[], f(true, Text, b"a\xED\xA0\x80"), 2),
            bad_text("overlong", &[], f(true, Text, b"\xC0\xAF"), 0),
            bad_text("past U+10FFFF", &[], f(true, Text, b"\xF4\x90\x80\x80"), 1),
            bad_text("bad byte in a later fragment", &[f(false, Text, "ok "), f(true, Ping, "")], f(true, Continuation, b"fine\xFE"), 4),
            bad_text("character broken across fragments", &[f(false, Text, b"\xE2\x82")], f(true, Continuation, b"A"), 0),
            invalid("text ends inside a character", Config::default(), &[], &wire(&f(true, Text, b"a\xE2\x82")),
                &[Ev::Start(header(true, Text, 3)), Ev::Data(b"a\xE2\x82".to_vec())], InvalidUtf8),
            // §5.5.1, §7.4: close payloads.
            bad("close with one byte", &[], b"\x88\x81\0\0\0\0\x03", CloseLength),
            invalid("close code 1005", Config::default(), &[], &wire(&f(true, Close, close(1005, ""))),
                &[Ev::Start(header(true, Close, 2)), Ev::Data(vec![0x03])], CloseCode),
            invalid("close code 2999", Config::default(), &[], &wire(&f(true, Close, close(2999, "x"))),
                &[Ev::Start(header(true, Close, 3)), Ev::Data(vec![0x0B])], CloseCode),
            invalid("close reason not utf-8", Config::default(), &[], &wire(&f(true, Close, [close(1000, "a"), vec![0xFF]].concat())),
                &[Ev::Start(header(true, Close, 4)), Ev::Data(b"\x03\xE8a".to_vec())], InvalidUtf8),
            invalid("close reason ends inside a character", Config::default(), &[], &wire(&f(true, Close, [close(1000, ""), vec![0xC3]].concat())),
                &[Ev::Start(header(true, Close, 3)), Ev::Data(b"\x03\xE8\xC3".to_vec())], InvalidUtf8),
        ]
    }

    impl F {
        fn clone_with(&self, payload: &[u8]) -> F {
            F { payload: payload.to_vec(), ..self.clone() }
        }
    }

    /// The cut points to try: all of them for a short input; for a long
    /// one, every point in the first and last 300 bytes and every 997th
    /// between (each cut replays the whole input).
    fn cut_points(len: usize) -> Vec<usize> {
        if len <= 1000 {
            return (0..=len).collect();
        }
        (0..=len).filter(|&c| c < 300 || c > len - 300 || c % 997 == 0).collect()
    }

    #[test]
    fn table_in_one_piece() {
        let rows = table();
        assert!(rows.len() >= 50);
        for row in &rows {
            assert_eq!(feed(&row.input, row.config, &[]), row.expect, "{}", row.name);
        }
    }

    #[test]
    fn table_split_at_every_boundary() {
        for row in table() {
            for cut in cut_points(row.input.len()) {
                assert_eq!(feed(&row.input, row.config, &[cut]), row.expect, "{} cut at {cut}", row.name);
            }
            if row.input.len() <= 1000 {
                let every: Vec<usize> = (0..=row.input.len()).collect();
                assert_eq!(feed(&row.input, row.config, &every), row.expect, "{} byte by byte", row.name);
            }
        }
    }

    #[test]
    fn short_rows_split_at_every_pair_of_boundaries() {
        for row in table().iter().filter(|row| row.input.len() <= 64) {
            let len = row.input.len();
            for first in 0..=len {
                for second in first..=len {
                    let got = feed(&row.input, row.config, &[first, second]);
                    assert_eq!(got, row.expect, "{} cut at {first}, {second}", row.name);
                }
            }
        }
    }

    #[test]
    fn one_event_per_call() {
        let mut input = stream(&[text("ab"), f(true, Opcode::Ping, "")]);
        let mut dec = FrameDecoder::new(Config::default());
        let start = dec.decode(&mut input).unwrap();
        assert_eq!(start, Step { consumed: 6, event: Some(Event::Start(header(true, Opcode::Text, 2))) });
        let piece = dec.decode(&mut input[6..]).unwrap();
        assert_eq!(piece, Step { consumed: 2, event: Some(Event::Payload(0..2)) });
        assert_eq!(&input[6..8], b"ab");
        let end = dec.decode(&mut input[8..]).unwrap();
        assert_eq!(end, Step { consumed: 0, event: Some(Event::End(header(true, Opcode::Text, 2))) });
        assert_eq!(dec.decode(&mut input[8..]).unwrap().event, Some(Event::Start(header(true, Opcode::Ping, 0))));
        assert_eq!(dec.decode(&mut input[14..]).unwrap().event, Some(Event::End(header(true, Opcode::Ping, 0))));
        assert_eq!(dec.decode(&mut input[14..]).unwrap(), Step { consumed: 0, event: None });
    }

    #[test]
    fn open_message_follows_the_fragments() {
        let mut input =
            stream(&[f(false, Opcode::Binary, "a"), f(true, Opcode::Ping, ""), f(true, Opcode::Continuation, "b")]);
        let mut dec = FrameDecoder::new(Config::default());
        let (mut pos, mut seen) = (0, Vec::new());
        loop {
            let step = dec.decode(&mut input[pos..]).unwrap();
            let Some(event) = step.event else { break };
            if let Event::End(h) = event {
                seen.push((h.opcode, dec.open_message()));
            }
            pos += step.consumed;
        }
        use Opcode::*;
        assert_eq!(seen, [(Binary, Some(Binary)), (Ping, Some(Binary)), (Continuation, None)]);
    }

    #[test]
    fn limits_are_checked_before_the_payload_arrives() {
        // A header alone announcing 2 GiB fails at once, with nothing buffered.
        let mut input = *b"\x82\xFF\0\0\0\0\x80\0\0\0";
        let mut dec = FrameDecoder::new(Config::default());
        assert_eq!(dec.decode(&mut input), Err(Error::FrameTooLarge));
        assert_eq!(Error::FrameTooLarge.close_code(), 1009);
    }
}
