//! The WebSocket phase (RFC 6455): after a 101, the connection carries
//! frames both ways until the close handshake, and wired is the server end
//! of them, for `--ws-echo` and `--ws-program`.
//!
//! ```text
//!   Head ── GET + Upgrade: websocket ──► handshake checked (§4.2.1)
//!                                          │ bad: 400 / 426 / 403, nothing upgraded
//!                                          ▼
//!                                 101 queued, WebSocket phase
//!                                          │
//!      frames in ──► FrameDecoder ──► message gathered (inflated, UTF-8 checked)
//!                                          │ echo: sent back   program: a line on its stdin
//!      frames out ◄── queued ◄─────────────┘                   its stdout lines: text messages
//!                                          │
//!          Close received ⇄ Close sent (either side first, §5.5.1)
//!                                          ▼
//!                        TCP closed by the server first (§7.1.1)
//! ```
//!
//! The frame codec is the parser crate's (`wired_parser::websocket`), the
//! compression flate2's (`deflate.rs`); this file moves bytes and keeps the
//! rules that need a connection: what to answer a Ping with, when the close
//! handshake is over, backpressure, the idle Ping.
//!
//! Backpressure: frames are decoded only while the queue toward the client
//! (for an echo) or toward the program is below [`HIGH_WATER`]; past it the
//! input buffer stays full and the socket unread, so a client that floods
//! without reading stalls itself, and a queue never grows past one message
//! beyond the mark.

mod deflate;
mod program;

use std::io::ErrorKind;
use std::process::Command;

use wired_parser::websocket::extension::{self, Deflate};
use wired_parser::websocket::{
    Config as FrameConfig, Event, FrameDecoder, Header, Opcode, Utf8Validator, encode_close, encode_control,
    encode_header, handshake, parse_close,
};
use wired_parser::{Body, Request};

use super::{Conn, Phase, Step};
use crate::buffer::Buffer;
use crate::config::routes::WsEndpoint;
use crate::handler::WebSocketTarget;
use crate::handler::cgi::{self, Meta};
use crate::services::Services;
use deflate::{InflateError, PerMessage};
use program::Program;

/// Queued bytes (toward the client, or toward a program) past which no
/// more frames are read.
const HIGH_WATER: usize = 256 * 1024;

/// Most rounds of one wake-up before yielding to other connections.
const MAX_PASSES: usize = 32;

/// Status codes of RFC 6455 §7.4.1.
mod code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const UNSUPPORTED: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const SERVER_ERROR: u16 = 1011;
}

/// Who answers the client's messages.
#[derive(Debug)]
enum Peer {
    Echo,
    Program(Box<Program>),
}

/// One WebSocket's state, beside the connection's buffers.
#[derive(Debug)]
pub struct WebSocket {
    decoder: FrameDecoder,
    peer: Peer,
    deflate: Option<PerMessage>,
    /// The data message being received: its bytes (inflated), its opcode,
    /// whether it came compressed.
    message: Vec<u8>,
    opcode: Opcode,
    compressed: bool,
    /// A compressed text message's UTF-8 (the decoder checks uncompressed ones).
    text: Utf8Validator,
    /// The control frame being received (at most 125 bytes, §5.5).
    control: Vec<u8>,
    /// The frame being read is a control frame (between a data message's
    /// fragments, §5.4).
    in_control: bool,
    /// Bytes for the client, sent from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// Our Close frame is queued.
    close_sent: bool,
    /// The client's Close frame has arrived.
    close_received: bool,
    /// The connection is being failed (§7.1.7): nothing more is read, and
    /// the TCP connection closes once our Close frame is out.
    failing: bool,
    /// An idle Ping is out with no byte heard since.
    ping_out: bool,
    max_message: usize,
    /// Frames queued since `--trace` last showed them (only when tracing).
    traced_out: Option<Vec<Header>>,
}

impl WebSocket {
    fn new(peer: Peer, deflate: Option<Deflate>, max_message: u64) -> WebSocket {
        let config = FrameConfig { max_frame: max_message, max_message, rsv1: deflate.is_some() };
        WebSocket {
            decoder: FrameDecoder::new(config),
            peer,
            deflate: deflate.map(PerMessage::new),
            message: Vec::new(),
            opcode: Opcode::Text,
            compressed: false,
            text: Utf8Validator::new(),
            control: Vec::with_capacity(0),
            in_control: false,
            out: Vec::new(),
            out_pos: 0,
            close_sent: false,
            close_received: false,
            failing: false,
            ping_out: false,
            max_message: usize::try_from(max_message).unwrap_or(usize::MAX),
            traced_out: None,
        }
    }

    /// The longest message accepted or sent.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Bytes queued for the client and not yet sent.
    fn out_pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// The queue toward the client is past the high-water mark.
    pub fn output_full(&self) -> bool {
        self.out_pending() >= HIGH_WATER
    }

    /// A data message for the client, compressed when that was agreed (and
    /// worth it: tiny messages go as they are, RSV1 clear, §6.1).
    fn send_message(&mut self, opcode: Opcode, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        let mut header = [0u8; 10];
        let (rsv1, len) = match self.deflate.as_mut() {
            Some(d) if payload.len() >= 32 => {
                let mut packed = Vec::with_capacity(payload.len() / 2 + 16);
                d.compress(payload, &mut packed);
                let n = encode_header(&mut header, true, true, opcode, packed.len() as u64).unwrap_or(0);
                self.out.extend_from_slice(header.get(..n).unwrap_or_default());
                self.out.extend_from_slice(&packed);
                (true, packed.len())
            }
            _ => {
                let n = encode_header(&mut header, true, false, opcode, payload.len() as u64).unwrap_or(0);
                self.out.extend_from_slice(header.get(..n).unwrap_or_default());
                self.out.extend_from_slice(payload);
                (false, payload.len())
            }
        };
        self.traced(Header { fin: true, rsv1, opcode, len: len as u64 });
    }

    /// Note a queued frame for `--trace`.
    fn traced(&mut self, header: Header) {
        if let Some(frames) = self.traced_out.as_mut() {
            frames.push(header);
        }
    }

    /// A program's line, as a text message, or binary when it is not UTF-8
    /// (a text message must be, §8.1).
    pub fn send_line(&mut self, line: &[u8]) {
        let opcode = if std::str::from_utf8(line).is_ok() { Opcode::Text } else { Opcode::Binary };
        self.send_message(opcode, line);
    }

    fn send_control(&mut self, opcode: Opcode, payload: &[u8]) {
        let mut frame = [0u8; wired_parser::websocket::MAX_CONTROL_FRAME];
        if let Some(n) = encode_control(&mut frame, opcode, payload) {
            self.out.extend_from_slice(frame.get(..n).unwrap_or_default());
            self.traced(Header { fin: true, rsv1: false, opcode, len: payload.len() as u64 });
        }
    }

    /// Queue our Close frame (once).
    fn send_close(&mut self, code: Option<u16>, reason: &str) {
        if self.close_sent {
            return;
        }
        let mut frame = [0u8; wired_parser::websocket::MAX_CONTROL_FRAME];
        if let Some(n) = encode_close(&mut frame, code, reason) {
            self.out.extend_from_slice(frame.get(..n).unwrap_or_default());
            self.traced(Header { fin: true, rsv1: false, opcode: Opcode::Close, len: n.saturating_sub(2) as u64 });
        }
        self.close_sent = true;
    }

    /// Fail the WebSocket connection (§7.1.7) with a code and a reason.
    fn fail(&mut self, code: u16, reason: &str) {
        self.send_close(Some(code), reason);
        self.failing = true;
    }

    /// The close handshake is over, or the connection failed: once `out`
    /// is sent, the TCP connection closes.
    fn ending(&self) -> bool {
        self.close_sent && (self.close_received || self.failing)
    }

    /// Bytes queued toward whoever answers, waiting for it to take them.
    fn peer_pending(&self) -> usize {
        match &self.peer {
            Peer::Echo => self.out_pending(),
            Peer::Program(p) => p.stdin_pending(),
        }
    }
}

impl Conn {
    /// Answer an opening handshake (RFC 6455 §4.2): refuse a bad one with
    /// its status, or queue the 101 and enter the WebSocket phase.
    pub(super) fn start_websocket(
        &mut self,
        slot: usize,
        svc: &mut Services,
        req: &Request<'_, '_>,
        rest: &[u8],
        target: WebSocketTarget,
        head_only: bool,
    ) {
        let shake = match handshake::check(req) {
            Ok(s) => s,
            Err(e) => {
                self.trace_fmt(svc, format_args!("WebSocket handshake refused: {} (RFC 6455 §4.2.1)", e.reason()));
                let reply = svc.handlers.error_reply(e.status());
                if e.status() == 426 {
                    // §4.4: say which version this server speaks.
                    svc.handlers.fields.add("Sec-WebSocket-Version", handshake::VERSION.as_bytes());
                    svc.handlers.fields.add("Upgrade", b"websocket");
                }
                self.reply(svc, req, rest, reply, head_only);
                return;
            }
        };
        // A handshake has no body (§4.1: a GET); one announced would leave
        // its bytes in front of the first frame.
        if !matches!(req.body, Body::None | Body::Length(0)) {
            self.trace_note(svc, "WebSocket handshake refused: it has a body");
            let reply = svc.handlers.error_reply(400);
            self.reply(svc, req, rest, reply, head_only);
            return;
        }
        // §10.2: the Origin a browser sends tells which page opened the
        // socket; a server that serves only its own pages refuses others.
        let origins = &svc.config.ws.origins;
        if !origins.is_empty() {
            let origin = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("origin")).map(|h| h.value);
            if !origin.is_some_and(|o| origins.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(o))) {
                self.trace_note(svc, "WebSocket handshake refused: its Origin is not allowed (RFC 6455 §10.2)");
                let reply = svc.handlers.error_reply(403);
                self.reply(svc, req, rest, reply, head_only);
                return;
            }
        }
        let peer = match target.endpoint {
            WsEndpoint::Echo => Peer::Echo,
            WsEndpoint::Program(_) => match self.spawn_ws_program(slot, svc, req, &target.script) {
                Ok(p) => Peer::Program(Box::new(p)),
                Err(status) => {
                    let reply = svc.handlers.error_reply(status);
                    if status == 503 {
                        // RFC 9110 §15.6.4: busy for now; say when to come back.
                        svc.handlers.fields.add("Retry-After", b"1");
                    }
                    self.reply(svc, req, rest, reply, head_only);
                    return;
                }
            },
        };
        let protocols: Vec<&str> = svc.config.ws.protocols.iter().map(String::as_str).collect();
        let protocol = handshake::choose_protocol(req.headers, &protocols);
        let deflate = if svc.config.ws.deflate { extension::negotiate_deflate(req.headers) } else { None };
        let mut ws = WebSocket::new(peer, deflate, svc.config.ws.max_message);
        if svc.trace.is_some() {
            ws.traced_out = Some(Vec::new());
        }
        // §4.2.2 item 5: the server's handshake.
        let mut head = String::with_capacity(192);
        head.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        head.push_str("Sec-WebSocket-Accept: ");
        head.push_str(shake.accept());
        head.push_str("\r\n");
        if let Some(p) = protocol {
            head.push_str("Sec-WebSocket-Protocol: ");
            head.push_str(p);
            head.push_str("\r\n");
        }
        if let Some(d) = &deflate {
            head.push_str("Sec-WebSocket-Extensions: ");
            head.push_str(&d.response());
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.trace_queued(svc, "response head", head.as_bytes());
        ws.out.extend_from_slice(head.as_bytes());
        self.log_access(svc, req, 101, 0);
        if let Peer::Program(p) = &ws.peer {
            self.trace_fmt(svc, format_args!("started WebSocket program {} (pid {})", p.name, p.pid()));
        }
        self.nodelay();
        // Whatever follows is frames; the connection ends with the socket.
        self.close_after = true;
        self.ws = Some(Box::new(ws));
        self.phase = Phase::WebSocket;
        self.set_deadline(slot, svc, svc.config.ws.idle_timeout);
    }

    /// Start a `--ws-program` for this request, or say which status refuses it.
    fn spawn_ws_program(
        &mut self,
        slot: usize,
        svc: &mut Services,
        req: &Request<'_, '_>,
        script: &cgi::Script,
    ) -> Result<Program, u16> {
        if svc.ws_programs >= svc.config.ws.program_max {
            self.trace_note(svc, "WebSocket program refused: --ws-program-max are running");
            return Err(503);
        }
        let query = req.target.split_once('?').map_or("", |(_, q)| q);
        let meta = Meta {
            script,
            query: query.as_bytes(),
            content_length: None,
            peer: self.peer,
            local: self.local,
            document_root: &svc.document_root,
            https: self.io.is_tls(),
            http2: self.io.is_http2_stream(),
        };
        let mut command = Command::new(&script.program);
        // A clean environment: the CGI meta-variables (RFC 3875 §4.1), as
        // websocketd passes them.
        command.env_clear().envs(cgi::environment_list(req, &meta));
        if let Some(dir) = script.program.parent().filter(|d| !d.as_os_str().is_empty()) {
            command.current_dir(dir);
        }
        let name = script.program.display().to_string();
        match Program::spawn(command, name, slot, svc) {
            Ok(p) => {
                svc.ws_programs += 1;
                Ok(p)
            }
            Err(e) => {
                log::error!("ws-program {}: cannot start: {e}", script.program.display());
                Err(502)
            }
        }
    }

    /// The WebSocket phase: move frames until nothing moves.
    pub(super) fn run_websocket(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut ws) = self.ws.take() else { return Step::Close };
        let step = self.pump_websocket(slot, svc, &mut ws);
        if matches!(self.phase, Phase::WebSocket) && step != Step::Close {
            self.ws = Some(ws);
        } else {
            self.end_websocket(svc, ws);
        }
        step
    }

    fn pump_websocket(&mut self, slot: usize, svc: &mut Services, ws: &mut WebSocket) -> Step {
        for _ in 0..MAX_PASSES {
            let mut progress = self.read_frames(svc, ws);
            // The program is lent out of the socket's state for one pump,
            // which queues its lines as messages there.
            if let Peer::Program(mut program) = std::mem::replace(&mut ws.peer, Peer::Echo) {
                progress |= program.pump(ws, svc);
                if program.finished() && !ws.close_sent {
                    // Its exit ends the socket: 1000 for success, 1011 otherwise.
                    let ok = program.status.is_some_and(|s| s.success());
                    let (code, why) = if ok { (code::NORMAL, "") } else { (code::SERVER_ERROR, "the program failed") };
                    self.trace_fmt(svc, format_args!("WebSocket program ended; closing with {code}"));
                    ws.send_close(Some(code), why);
                }
                ws.peer = Peer::Program(program);
            }
            match self.send_frames(svc, ws) {
                Ok(p) => progress |= p,
                Err(()) => return self.close_because("a write failed: the WebSocket client went away"),
            }
            if ws.ending() && ws.out_pending() == 0 && self.output.as_ref().is_none_or(Buffer::is_empty) {
                // §7.1.1: the server closes the TCP connection first.
                let why = if ws.failing {
                    "WebSocket failed: our Close frame is sent (RFC 6455 §7.1.7)"
                } else {
                    "WebSocket closed: both Close frames exchanged (RFC 6455 §7.1.1)"
                };
                self.close_because(why);
                // A failed connection may have frames in flight behind the
                // bad one: closing on them would reset the connection and
                // could lose our Close frame, so wired shuts its side and
                // drains briefly first (the lingering close).
                self.linger_needed = ws.failing;
                self.phase = Phase::Closed;
                return self.finish(slot, svc);
            }
            match self.read_socket(svc, ws) {
                Ok(p) => progress |= p,
                Err(why) => return self.close_because(why),
            }
            if !progress {
                let after = if ws.out_pending() > 0 { svc.config.send_timeout } else { svc.config.ws.idle_timeout };
                self.set_deadline(slot, svc, after);
                return Step::Wait;
            }
        }
        Step::Yield
    }

    /// Read from the client while frames may be taken. `Err`: the
    /// connection is over.
    fn read_socket(&mut self, svc: &mut Services, ws: &mut WebSocket) -> Result<bool, &'static str> {
        if ws.close_received || ws.failing || self.read_drained || ws.peer_pending() >= HIGH_WATER {
            return Ok(false);
        }
        if self.input.as_ref().is_some_and(|b| b.remaining() == 0 && !b.is_empty()) {
            return Ok(false);
        }
        match self.fill(svc) {
            Ok(0) => {
                // §7.1.5: closed without a Close frame: 1006, nothing to send.
                self.peer_closed = true;
                Err("the WebSocket client closed TCP without a Close frame (1006, RFC 6455 §7.1.5)")
            }
            Ok(_) => {
                ws.ping_out = false;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.read_drained = true;
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(_) => Err("recvfrom() failed: the connection was reset"),
        }
    }

    /// Decode the buffered frames while their answers have room.
    fn read_frames(&mut self, svc: &mut Services, ws: &mut WebSocket) -> bool {
        let Some(mut input) = self.input.take() else { return false };
        let mut progress = false;
        // Until the decoder has nothing more to say: a frame's End may be
        // due with no bytes left (its payload ended the last read).
        while !ws.close_received && !ws.failing && ws.peer_pending() < HIGH_WATER {
            let step = match ws.decoder.decode(input.bytes_mut()) {
                Ok(s) => s,
                Err(e) => {
                    self.trace_fmt(
                        svc,
                        format_args!("WebSocket frame refused: {} (close {})", e.reason(), e.close_code()),
                    );
                    ws.fail(e.close_code(), e.reason());
                    progress = true;
                    break;
                }
            };
            progress |= step.consumed > 0 || step.event.is_some();
            match step.event {
                None => {
                    input.consume(step.consumed);
                    break;
                }
                Some(Event::Start(h)) => self.frame_start(svc, ws, h),
                Some(Event::Payload(range)) => {
                    let piece = input.bytes().get(range).unwrap_or_default();
                    if svc.trace.is_some() {
                        self.trace_payload(svc, ws, piece);
                    }
                    self.frame_payload(ws, piece);
                }
                Some(Event::End(h)) => self.frame_end(svc, ws, h),
            }
            input.consume(step.consumed);
        }
        if input.is_empty() {
            svc.pool.put(input);
        } else {
            self.input = Some(input);
        }
        progress
    }

    fn frame_start(&mut self, svc: &mut Services, ws: &mut WebSocket, h: Header) {
        if svc.trace.is_some() {
            let rsv1 = if h.rsv1 { ", RSV1 (compressed)" } else { "" };
            self.trace_fmt(
                svc,
                format_args!("frame in: {:?}, FIN={}, masked, {} bytes{rsv1}", h.opcode, u8::from(h.fin), h.len),
            );
        }
        ws.in_control = h.opcode.is_control();
        if ws.in_control {
            ws.control.clear();
        } else if h.opcode != Opcode::Continuation {
            ws.opcode = h.opcode;
            ws.compressed = h.rsv1;
            ws.message.clear();
            ws.text = Utf8Validator::new();
        }
    }

    /// `--trace`: a payload piece as it reads once unmasked (§5.3).
    fn trace_payload(&self, svc: &mut Services, ws: &WebSocket, piece: &[u8]) {
        const SHOWN: usize = 64;
        let what = if ws.compressed && !ws.in_control { "deflate data" } else { "unmasked" };
        let text: String = String::from_utf8_lossy(piece.get(..SHOWN).unwrap_or(piece)).escape_debug().collect();
        let more = if piece.len() > SHOWN { format!(" … {} more bytes", piece.len() - SHOWN) } else { String::new() };
        self.trace_fmt(svc, format_args!("    payload, {what}: \"{text}\"{more}"));
    }

    fn frame_payload(&mut self, ws: &mut WebSocket, piece: &[u8]) {
        if self.ws_control_frame(ws) {
            ws.control.extend_from_slice(piece);
            return;
        }
        if ws.compressed {
            let Some(d) = ws.deflate.as_mut() else { return ws.fail(code::INVALID_DATA, "RSV1 without deflate") };
            let start = ws.message.len();
            match d.inflate(piece, false, &mut ws.message, ws.max_message) {
                Ok(()) => {}
                Err(InflateError::TooBig) => return ws.fail(code::TOO_BIG, "message too big"),
                Err(InflateError::Corrupt) => return ws.fail(code::INVALID_DATA, "bad deflate data"),
            }
            // §8.1: fail as soon as the text cannot be UTF-8.
            if ws.opcode == Opcode::Text && ws.text.feed(ws.message.get(start..).unwrap_or_default()).is_err() {
                ws.fail(code::INVALID_DATA, "invalid UTF-8");
            }
        } else {
            ws.message.extend_from_slice(piece);
        }
    }

    /// The frame being read is a control frame (the decoder says which
    /// message is open; a control frame never continues one).
    fn ws_control_frame(&self, ws: &WebSocket) -> bool {
        ws.in_control
    }

    fn frame_end(&mut self, svc: &mut Services, ws: &mut WebSocket, h: Header) {
        match h.opcode {
            // §5.5.2: a Pong with the Ping's payload, unless closing.
            Opcode::Ping => {
                if !ws.close_sent {
                    let payload = std::mem::take(&mut ws.control);
                    ws.send_control(Opcode::Pong, &payload);
                    ws.control = payload;
                }
            }
            // §5.5.3: an unsolicited Pong is a heartbeat; no answer.
            Opcode::Pong => ws.ping_out = false,
            Opcode::Close => {
                ws.close_received = true;
                // §5.5.1: answer with a Close, echoing the status code.
                let code = match parse_close(&ws.control) {
                    Ok(Some(c)) => Some(c.code),
                    _ => None,
                };
                match code {
                    Some(c) => self.trace_fmt(
                        svc,
                        format_args!("Close received, code {c}: answering with the same code (RFC 6455 §5.5.1)"),
                    ),
                    None => {
                        self.trace_note(svc, "Close received, no code: answering with an empty Close (RFC 6455 §5.5.1)")
                    }
                }
                ws.send_close(code, "");
                if let Peer::Program(p) = &mut ws.peer {
                    p.end_input(svc);
                }
            }
            _ if !h.fin => {}
            _ => self.message_done(ws),
        }
    }

    /// A whole data message has arrived.
    fn message_done(&mut self, ws: &mut WebSocket) {
        if ws.compressed {
            let Some(d) = ws.deflate.as_mut() else { return };
            let start = ws.message.len();
            match d.inflate(&[], true, &mut ws.message, ws.max_message) {
                Ok(()) => {}
                Err(InflateError::TooBig) => return ws.fail(code::TOO_BIG, "message too big"),
                Err(InflateError::Corrupt) => return ws.fail(code::INVALID_DATA, "bad deflate data"),
            }
            if ws.opcode == Opcode::Text
                && (ws.text.feed(ws.message.get(start..).unwrap_or_default()).is_err() || !ws.text.is_complete())
            {
                return ws.fail(code::INVALID_DATA, "invalid UTF-8");
            }
        }
        let message = std::mem::take(&mut ws.message);
        match &mut ws.peer {
            Peer::Echo => ws.send_message(ws.opcode, &message),
            Peer::Program(p) if ws.opcode == Opcode::Text => p.give(&message),
            // A program speaks lines of text: binary data means nothing to it.
            Peer::Program(_) => ws.fail(code::UNSUPPORTED, "binary messages are not taken"),
        }
        ws.message = message;
        ws.message.clear();
        if ws.message.capacity() > 64 * 1024 {
            ws.message = Vec::new();
        }
    }

    /// Send queued bytes: an earlier pipelined response first, then frames.
    fn send_frames(&mut self, svc: &mut Services, ws: &mut WebSocket) -> Result<bool, ()> {
        if let Some(frames) = ws.traced_out.as_mut().filter(|f| !f.is_empty()) {
            for h in std::mem::take(frames) {
                let rsv1 = if h.rsv1 { ", RSV1 (compressed)" } else { "" };
                self.trace_fmt(
                    svc,
                    format_args!("frame out: {:?}, FIN={}, unmasked, {} bytes{rsv1}", h.opcode, u8::from(h.fin), h.len),
                );
            }
        }
        let mut progress = false;
        while self.output.as_ref().is_some_and(|b| !b.is_empty()) {
            if !self.flush_output(svc)? {
                return Ok(progress);
            }
            progress = true;
        }
        if !self.io.flush().map_err(|_| ())? {
            return Ok(progress);
        }
        while ws.out_pos < ws.out.len() {
            match self.io.send(ws.out.get(ws.out_pos..).unwrap_or_default(), false) {
                Ok(n) => {
                    ws.out_pos += n;
                    self.trace_sent(svc, n, crate::trace::Call::Write);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(()),
            }
        }
        if ws.out_pos == ws.out.len() {
            ws.out.clear();
            ws.out_pos = 0;
            // Idle sockets are many: a large queue's memory is given back.
            if ws.out.capacity() > 64 * 1024 {
                ws.out = Vec::new();
            }
        }
        Ok(progress)
    }

    /// The WebSocket's timer: the client stopped reading (close), or it has
    /// been quiet (a Ping; a second quiet spell closes).
    pub(super) fn websocket_timeout(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(ws) = self.ws.as_mut() else { return Step::Close };
        if ws.out_pending() > 0 {
            return self.close_because("send timeout: the WebSocket client stopped reading");
        }
        if ws.ping_out || ws.close_sent {
            ws.fail(code::GOING_AWAY, "idle");
            self.trace_note(svc, "WebSocket idle: no answer to our Ping; closing with 1001");
            return self.drive(slot, svc);
        }
        // §5.5.2: a Ping to see whether the client is still there.
        ws.send_control(Opcode::Ping, b"");
        ws.ping_out = true;
        self.trace_note(svc, "WebSocket idle: sending a Ping");
        self.drive(slot, svc)
    }

    /// The WebSocket is over: stop its program, give its memory back.
    fn end_websocket(&mut self, svc: &mut Services, ws: Box<WebSocket>) {
        let ws = *ws;
        if let Peer::Program(mut p) = ws.peer {
            p.stop(svc);
            svc.ws_programs = svc.ws_programs.saturating_sub(1);
        }
    }

    /// The server is shutting down: a Close with 1001 ("going away",
    /// RFC 6455 §7.4.1) is queued, and the connection ends with the close
    /// handshake. The caller drives the connection.
    pub fn going_away(&mut self) {
        if let Some(ws) = self.ws.as_mut() {
            ws.send_close(Some(code::GOING_AWAY), "server shutting down");
        }
        self.http2_going_away();
    }

    /// Whether this connection is a WebSocket.
    pub fn is_websocket(&self) -> bool {
        matches!(self.phase, Phase::WebSocket)
    }

    /// Drop the WebSocket of a closing connection.
    pub fn drop_websocket(&mut self, svc: &mut Services) {
        if let Some(ws) = self.ws.take() {
            self.end_websocket(svc, ws);
        }
    }
}
