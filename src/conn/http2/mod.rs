//! HTTP/2 (RFC 9113) on one connection: many requests at once, each a
//! stream, over the same transport as HTTP/1.1.
//!
//! A connection becomes HTTP/2 in one of two ways (`--http2`): on TLS, when
//! the client and wired agreed on `h2` by ALPN during the handshake (§3.2);
//! on a plain listener, when the client's first bytes are the connection
//! preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, which is how a client with
//! prior knowledge starts (§3.3; `curl --http2-prior-knowledge`, h2load).
//! Either way the client's preface comes first, then frames both ways.
//!
//! What this phase does with them, in the order a request meets it:
//!
//! 1. Bytes are read into the connection's input buffer and cut into frames
//!    by `wired_parser::http2::FrameDecoder`, which checks every rule one
//!    frame can break.
//! 2. A HEADERS frame (and its CONTINUATIONs) opens a stream; its field
//!    block is decoded by HPACK (`wired_parser::http2::hpack::Decoder`),
//!    checked by the rules of §8.2–8.3 (`request::request_view`), and handed to the
//!    same handlers HTTP/1.1 uses, as a `wired_parser::Request` of version
//!    `Http2`. A handler's `Reply` comes back; its fields are the ones an
//!    HTTP/1.1 response would carry (`write.rs::response_fields`), encoded by
//!    HPACK into HEADERS, and its body is queued for DATA frames.
//! 3. DATA goes out as the flow-control windows allow (§5.2, §6.9): the
//!    connection's and each stream's, opened by the client's WINDOW_UPDATE
//!    frames. Streams with data take turns, a frame each, so one large file
//!    does not hold back a page's small ones. File bodies are read
//!    (`pread`) only when a frame can be sent, so a client that never opens
//!    its window costs no more than the buffer it has not read; each
//!    payload is read straight into place behind its frame header
//!    (`send.rs`).
//! 4. SETTINGS, PING, WINDOW_UPDATE, RST_STREAM and GOAWAY are answered or
//!    applied as they come (§6).
//!
//! Requests for CGI, FastCGI or a proxied application are answered over
//! time, not by one `Reply`: each such stream gets a secondary HTTP/1.1
//! connection in memory that runs the same phases as a socket's
//! (`secondary.rs`), and its response is framed into HEADERS and DATA.

use std::collections::VecDeque;
use std::io::ErrorKind;

use wired_parser::http2::hpack::{self};
use wired_parser::http2::{
    self as h2, Decoded, ErrorCode, FrameDecoder, Setting, SettingId, encode_goaway, encode_rst_stream, encode_settings,
};

use super::{Conn, Phase, Step};
use crate::services::Services;
use crate::timer::TimerKey;

mod frames;
mod request;
mod secondary;
mod send;
mod streams;
mod trace;

use send::Cursor;
use streams::Streams;

/// Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS,
/// §6.5.2): beyond it a new stream is refused (§5.1.2). 100 is the value
/// RFC 9113 recommends as a minimum and what nginx and h2o announce.
const MAX_CONCURRENT_STREAMS: u32 = 100;

/// Frames queued but not yet sent, in bytes, above which the connection
/// stops reading: a client that sends requests or PINGs without reading
/// the answers is slowed by TCP, not buffered for (§10.5).
const HIGH_WATER: usize = 256 * 1024;

/// The most plaintext one TLS record carries (RFC 8446 §5.1: 2^14 bytes).
/// The TLS layer cuts what it is given into records and takes at most
/// `tls::PENDING_LIMIT` at a time, so a stream's 64 KiB burst of four DATA
/// frames (65,572 bytes with their headers) went as four full records and
/// one of 36 bytes, in a write of its own: about one small record and one
/// more system call per burst, which the client paid for (h2-10m: its
/// reads and decryptions per response). Frames go to the TLS layer in
/// multiples of this while more are coming, and the rest when a turn ends.
const RECORD_PLAINTEXT: usize = 16 * 1024;

/// On cleartext, DATA is queued until this much waits to be sent, then
/// written (five 16 KiB frames per `send`, as h2o writes), and a
/// connection that has written this much in a turn lets the others run
/// (it runs again after the next poll), so connections sending large
/// bodies take turns a write each. Measured on loopback (h2c-10m: eight
/// connections each fetching 10 MiB, h2load on the other core): with
/// 256 KiB writes and a connection writing its whole file in one turn
/// (loopback's send buffers never fill), 4 ms of CPU per response; with
/// 64 KiB, 2.6 ms; the difference in the kernel's transmit path (pacing
/// timers, wake-ups) and in caches a quarter-megabyte write overruns
/// before the reader copies it out. 80 KiB measured a little better than
/// 64 with two workers (2.9 ms against 3.2), and no worse with one.
const WRITE_UNIT: usize = 80 * 1024;

/// The largest DATA payload sent: the frame size every peer accepts
/// (§4.2); larger frames would need the peer's SETTINGS_MAX_FRAME_SIZE and
/// save little.
const DATA_FRAME: usize = 16 * 1024;

/// Streams the client may reset for each request it lets finish before
/// the connection is closed: the "rapid reset" attack (CVE-2023-44487)
/// opens and cancels streams to make a server start work it never sends.
const RESETS_ALLOWED: u32 = 100;

/// How much of a request body nobody wants is read and dropped, after
/// its response is complete, before the stream is reset: as much as an
/// HTTP/1.1 connection drops for the same reason.
const DRAIN_LIMIT: u64 = 1024 * 1024;

/// The largest window §6.9.1 allows.
const MAX_WINDOW: i64 = (1 << 31) - 1;

/// Streams wired reset lately, remembered so that the frames the client
/// sent before it saw the RST_STREAM are ignored (§5.1, "closed"), not
/// answered as errors. Older ones get STREAM_CLOSED, which is also allowed.
const RESETS_REMEMBERED: usize = 64;

/// Runs of stream ids the client skipped, remembered to tell a stream that
/// never opened (§5.1.1: PROTOCOL_ERROR) from one that closed (§5.1:
/// STREAM_CLOSED). Both end the connection; only the code differs, so a
/// few are kept, not one per stream.
const SKIPS_REMEMBERED: usize = 32;

/// One HTTP/2 connection's state.
#[derive(Debug)]
pub struct Http2 {
    frames: FrameDecoder,
    hpack_in: hpack::Decoder,
    hpack_out: hpack::Encoder,
    /// The client's 24-byte preface has been read.
    preface_read: bool,
    /// The first frame after it, which must be SETTINGS (§3.4), has come.
    settings_seen: bool,
    /// The field block being gathered from HEADERS and CONTINUATION frames,
    /// its stream, and whether its HEADERS had END_STREAM.
    block: Vec<u8>,
    block_stream: u32,
    block_end_stream: bool,
    /// The last field block's fields, decoded (reused).
    fields: request::FieldList,
    /// Open streams by id.
    streams: Streams,
    /// Streams with DATA to send, in turn.
    ready: VecDeque<u32>,
    /// The highest stream id the client has opened (§5.1.1: ids only grow).
    last_stream: u32,
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE, for new streams.
    peer_initial_window: i64,
    /// The client's SETTINGS_MAX_FRAME_SIZE.
    peer_max_frame: u32,
    /// The connection's send window (§6.9.1).
    send_window: i64,
    /// How much more the client may send on the connection before we
    /// replenish it.
    recv_window: i64,
    /// Frames to send, how much of them has gone, and how much `--trace`
    /// has shown.
    out: Vec<u8>,
    /// DATA queued before a write, and written before other connections
    /// get a turn: [`WRITE_UNIT`] on cleartext, [`HIGH_WATER`] and no limit
    /// under TLS, where each write is encrypted whole and larger ones
    /// measured faster.
    write_unit: usize,
    turn_bytes: usize,
    /// Under TLS, frames are handed to the TLS layer in whole records'
    /// worth while more are coming ([`RECORD_PLAINTEXT`]); 1 on cleartext.
    record: usize,
    /// A response's field block, encoded (reused).
    block_out: Vec<u8>,
    /// The last response head encoded, to send again if the next repeats it.
    last_head: LastHead,
    /// How large `out` had grown when the connection last went idle and
    /// gave it back: reserved at once when it wakes, so a burst of answers
    /// costs one allocation, not a chain of reallocations each copying
    /// what was queued so far (3% of a small response's CPU at 64
    /// connections that go idle between bursts).
    out_hint: usize,
    /// Where each response field's name and value lie in its head's text
    /// (name start, name end, value start, value end; reused).
    spans: Vec<(usize, usize, usize, usize)>,
    /// Field names lowered for HPACK (reused).
    names: Vec<u8>,
    /// Secondary connections of streams gone, to give their buffers back.
    retired: Vec<secondary::Secondary>,
    /// The connection's own deadline, in wheel ticks (0: none), apart from
    /// its secondary connections'.
    own_deadline: u64,
    sent: usize,
    traced: usize,
    /// GOAWAY has been queued: no new streams, close once the rest is done.
    goaway: bool,
    /// The client sent GOAWAY: close once the open streams are done. Kept
    /// apart from `goaway`, so that a later error still sends ours (§5.4.1).
    peer_goaway: bool,
    /// The streams wired reset lately ([`RESETS_REMEMBERED`]).
    reset_sent: VecDeque<u32>,
    /// Runs of ids the client skipped, first and last ([`SKIPS_REMEMBERED`]).
    skipped: VecDeque<(u32, u32)>,
    /// Close once `out` is sent (a connection error's GOAWAY).
    close_after_flush: bool,
    /// Responses sent whole, and streams the client reset before theirs
    /// was (the rapid-reset count).
    answered: u32,
    resets: u32,
    /// `--trace` only: how HPACK sent each field, both ways (`trace.rs`).
    trace: Option<Box<trace::HpackTrace>>,
}

/// A response head as HPACK encoded it (`request.rs`), kept with what it
/// was encoded from: the field lines, the status and the length, and the
/// encoder's epoch, which the encoding did not move.
#[derive(Debug, Default)]
struct LastHead {
    kept: bool,
    epoch: u64,
    status: u16,
    length: u64,
    lines: Vec<u8>,
    block: Vec<u8>,
}

/// One stream (§5.1): open, or half-closed (remote) once the client's
/// END_STREAM came.
#[derive(Debug)]
struct Stream {
    /// Its send window (§6.9.1): the client's initial window, moved by its
    /// WINDOW_UPDATEs and by SETTINGS changes (§6.9.2).
    window: i64,
    /// The response body still to send, if any.
    body: Option<Cursor>,
    /// The secondary connection answering it, for CGI, FastCGI or a proxy.
    secondary: Option<Box<secondary::Secondary>>,
    /// The response is complete and the client's body is being dropped:
    /// how much of it so far ([`Http2::response_done`]).
    draining: Option<u64>,
    /// In `ready`.
    queued: bool,
    /// The client has sent END_STREAM.
    remote_closed: bool,
    /// How much more DATA the client may send on it (§6.9.1): 65,535, the
    /// initial window wired never changes, moved by its WINDOW_UPDATEs.
    recv_window: i64,
    /// The request's content-length, and the DATA received (§8.1.1).
    expected: Option<u64>,
    received: u64,
}

impl Stream {
    /// The response waits for the client: to read, or to open a window.
    fn waits_on_client(&self) -> bool {
        self.body.is_some() || self.draining.is_some() || self.secondary.as_ref().is_some_and(|s| s.has_body_bytes())
    }
}

/// Why the connection ends with a GOAWAY (a connection error, §5.4.1).
struct ConnError {
    code: ErrorCode,
    why: String,
}

fn conn_error(code: ErrorCode, why: impl Into<String>) -> ConnError {
    ConnError { code, why: why.into() }
}

impl Http2 {
    /// A connection whose client has not yet sent its preface; our
    /// SETTINGS are queued, to go out first (§3.4: the server's preface).
    pub fn new(max_header_list: usize) -> Box<Http2> {
        let mut out = Vec::with_capacity(4096);
        encode_settings(
            &mut out,
            &[
                Setting { id: SettingId::MaxConcurrentStreams, value: MAX_CONCURRENT_STREAMS },
                Setting { id: SettingId::MaxHeaderListSize, value: u32::try_from(max_header_list).unwrap_or(u32::MAX) },
                // §8.4: a server may not push unless allowed; we never do,
                // and say so for clients that look.
                Setting { id: SettingId::EnablePush, value: 0 },
            ],
        );
        let mut hpack_in = hpack::Decoder::new();
        hpack_in.set_max_header_list_size(u32::try_from(max_header_list).unwrap_or(u32::MAX));
        Box::new(Http2 {
            frames: FrameDecoder::new(),
            hpack_in,
            hpack_out: hpack::Encoder::new(),
            preface_read: false,
            settings_seen: false,
            block: Vec::new(),
            block_stream: 0,
            block_end_stream: false,
            fields: request::FieldList::default(),
            streams: Streams::default(),
            ready: VecDeque::new(),
            last_stream: 0,
            peer_initial_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            peer_max_frame: h2::settings::MIN_MAX_FRAME_SIZE,
            send_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            recv_window: i64::from(h2::settings::DEFAULT_WINDOW_SIZE),
            out,
            write_unit: HIGH_WATER,
            turn_bytes: usize::MAX,
            record: RECORD_PLAINTEXT,
            block_out: Vec::new(),
            last_head: LastHead::default(),
            spans: Vec::new(),
            out_hint: 0,
            names: Vec::new(),
            retired: Vec::new(),
            own_deadline: 0,
            sent: 0,
            traced: 0,
            goaway: false,
            peer_goaway: false,
            reset_sent: VecDeque::new(),
            skipped: VecDeque::new(),
            close_after_flush: false,
            answered: 0,
            resets: 0,
            trace: None,
        })
    }

    /// The largest DATA payload wired sends: the peer's frame size, at
    /// most [`DATA_FRAME`].
    fn data_frame_max(&self) -> usize {
        (self.peer_max_frame as usize).clamp(1, DATA_FRAME)
    }

    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Queue RST_STREAM and forget the stream (§5.4.2): nothing more is
    /// sent on it (§5.1, "closed").
    fn reset(&mut self, stream: u32, code: ErrorCode) {
        encode_rst_stream(&mut self.out, stream, code);
        // (Its place in `ready`, if any, is skipped by `http2_data`.)
        self.remove_stream(stream);
        if self.reset_sent.len() == RESETS_REMEMBERED {
            self.reset_sent.pop_front();
        }
        self.reset_sent.push_back(stream);
    }

    /// Forget a stream; its secondary connection, if any, is retired, to
    /// give its buffers back (and stop its program or upstream exchange)
    /// on the next pass. Returns whether a response was under way.
    fn remove_stream(&mut self, stream: u32) -> bool {
        let Some(mut st) = self.streams.remove(&stream) else { return false };
        let busy = st.body.is_some() || st.secondary.is_some();
        if let Some(sec) = st.secondary.take() {
            self.retired.push(*sec);
        }
        busy
    }

    /// A stream's response is complete. If the client has sent its whole
    /// request too, the stream is closed (§5.1); if not, its body is now
    /// nobody's: it is read and dropped, its window given back, up to
    /// [`DRAIN_LIMIT`], so that the client finishes sending and reads the
    /// answer; past that, RST_STREAM with NO_ERROR asks it to stop (§8.1).
    /// (A reset at once is what §8.1 allows, but curl 7.88 and hyper's h2
    /// then drop the complete response they have not read yet.)
    fn response_done(&mut self, id: u32) {
        self.answered += 1;
        let Some(st) = self.streams.get_mut(&id) else { return };
        if st.remote_closed {
            self.remove_stream(id);
            return;
        }
        st.body = None;
        if let Some(sec) = st.secondary.take() {
            self.retired.push(*sec);
        }
        st.draining = Some(0);
    }

    /// Give back every secondary connection's buffers: the connection is closing.
    pub(super) fn release_all(&mut self, svc: &mut Services) {
        for (_, mut st) in self.streams.drain() {
            if let Some(mut sec) = st.secondary.take() {
                sec.release(svc);
            }
        }
        for mut sec in self.retired.drain(..) {
            sec.release(svc);
        }
    }

    /// Wired reset this stream lately: what the client sent on it before
    /// it knew is ignored (§5.1, "closed").
    fn reset_lately(&self, stream: u32) -> bool {
        self.reset_sent.contains(&stream)
    }

    /// A HEADERS opens `stream`: the ids it skips are closed without ever
    /// having been open (§5.1.1).
    fn open_stream(&mut self, stream: u32) {
        let next = if self.last_stream == 0 { 1 } else { self.last_stream + 2 };
        if stream > next {
            if self.skipped.len() == SKIPS_REMEMBERED {
                self.skipped.pop_front();
            }
            self.skipped.push_back((next, stream - 2));
        }
        self.last_stream = stream;
    }

    /// The client skipped this id, as far as we remember.
    fn never_opened(&self, stream: u32) -> bool {
        self.skipped.iter().any(|&(first, last)| (first..=last).contains(&stream))
    }

    /// Queue GOAWAY naming the last stream we will answer (§6.8).
    fn go_away(&mut self, code: ErrorCode, debug: &str) {
        if !self.goaway {
            self.goaway = true;
            encode_goaway(&mut self.out, self.last_stream, code, debug.as_bytes());
        }
    }

    /// The stream is idle: never opened (§5.1), so a frame on it other
    /// than HEADERS or PRIORITY is a connection error.
    fn idle(&self, stream: u32) -> bool {
        stream > self.last_stream
    }
}

impl Conn {
    /// Become an HTTP/2 connection: by ALPN `h2`, or because the client's
    /// first bytes are the preface (still in the input buffer).
    pub(super) fn start_http2(&mut self, slot: usize, svc: &mut Services) -> Step {
        self.trace_note(svc, "HTTP/2: the client speaks h2 (RFC 9113 §3); our SETTINGS go first");
        let mut h2 = Http2::new(svc.config.limits.max_head_bytes);
        if self.io.zero_copy() {
            h2.write_unit = WRITE_UNIT;
            h2.turn_bytes = WRITE_UNIT;
            h2.record = 1;
        } else {
            // Under TLS, the session may hold as much ciphertext as the
            // connection queues frames (`tls::PENDING_LIMIT`, 64 KiB, is
            // for HTTP/1.1). With 64 KiB each write was four records, and
            // a 10 MiB response cost wired 5.1 ms of CPU and h2load 5.1;
            // with 256 KiB, 4.8 and 4.5 ms, and h2-10m went from ×0.97–1.00
            // of h2o to ×0.98–1.11 (two workers, three runs of 5 s).
            self.io.set_tls_pending_limit(HIGH_WATER);
        }
        self.http2_arm(slot, svc, &mut h2, Some(svc.config.head_timeout));
        self.h2 = Some(h2);
        self.phase = Phase::Http2;
        self.nodelay();
        Step::Continue
    }

    /// After a reload: renumber the upstream groups of the streams'
    /// secondary connections, as `Conn::regroup` does a connection's.
    pub(super) fn regroup_http2(&mut self, moved: &[Option<usize>]) {
        let Some(h2) = self.h2.as_mut() else { return };
        for st in h2.streams.values_mut() {
            if let Some(sec) = st.secondary.as_mut() {
                sec.regroup(moved);
            }
        }
    }

    /// Whether this connection speaks HTTP/2.
    pub fn is_http2(&self) -> bool {
        matches!(self.phase, Phase::Http2)
    }

    /// The server is stopping: GOAWAY with the last stream it will answer
    /// (§6.8), so the client sends nothing more here and retries elsewhere.
    pub(super) fn http2_going_away(&mut self) {
        if let Some(h2) = self.h2.as_mut() {
            h2.go_away(ErrorCode::NoError, "server shutting down");
        }
    }

    /// The phase function: read and answer frames, send what the windows
    /// allow, until the socket would block both ways.
    pub(super) fn run_http2(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut h2) = self.h2.take() else { return self.close_because("HTTP/2 state lost") };
        let step = self.http2_turn(slot, svc, &mut h2);
        self.h2 = Some(h2);
        step
    }

    fn http2_turn(&mut self, slot: usize, svc: &mut Services, h2: &mut Http2) -> Step {
        if svc.draining {
            h2.go_away(ErrorCode::NoError, "server shutting down");
        }
        if h2.out.capacity() == 0 && h2.out_hint > 0 {
            h2.out.reserve(h2.out_hint);
        }
        let mut written = 0;
        for _ in 0..64 {
            if written >= h2.turn_bytes {
                // Other connections' turn (this one is run again after
                // the next poll): see `WRITE_UNIT`.
                return Step::Yield;
            }
            let mut progress = false;
            // Read while there is room to answer, and not after a read
            // found the socket empty: edge-triggered epoll says when more
            // comes (a read that only said WouldBlock, once per write, was
            // 6% of what sending a large file cost). A short read is not
            // taken as proof here, unlike in the HTTP/1.1 phases: the
            // client's next requests often arrive while the answers to the
            // last ones are written, and reading them in the same turn
            // saves a trip through `epoll_wait`.
            if h2.pending() < HIGH_WATER && !h2.close_after_flush && !self.read_drained {
                match self.fill(svc) {
                    Ok(0) => return self.close_because("the client closed the HTTP/2 connection"),
                    Ok(_) => {
                        self.read_drained = false;
                        progress = true
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => self.read_drained = true,
                    Err(e) if e.kind() == ErrorKind::Interrupted => progress = true,
                    Err(e) if e.kind() == ErrorKind::OutOfMemory => {}
                    Err(_) => return self.close_because("recvfrom() failed: the connection was reset"),
                }
            }
            if let Err(e) = self.http2_frames(svc, h2) {
                log::debug!("HTTP/2 connection error {}: {}", e.code.name(), e.why);
                self.trace_fmt(svc, format_args!("HTTP/2 connection error {}: {}", e.code.name(), e.why));
                h2.go_away(e.code, &e.why);
                h2.close_after_flush = true;
            }
            // Programs and upstreams, through their secondary connections.
            if self.http2_secondaries(slot, svc, h2) {
                progress = true;
            }
            if self.http2_data(h2) {
                progress = true;
            }
            if svc.trace.is_some() {
                self.trace_http2_out(svc, h2);
            }
            match self.http2_flush(h2, true) {
                Ok(n) if n > 0 => {
                    written += n;
                    progress = true
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return self.close_because("a write failed: the client went away"),
            }
            if !progress && h2.pending() > 0 && h2.pending() < h2.record {
                // Nothing more is coming this turn: the rest of a record
                // (on cleartext, or with a full socket, there is none to
                // send apart, and no second write is tried).
                match self.http2_flush(h2, false) {
                    Ok(n) if n > 0 => {
                        written += n;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return self.close_because("a write failed: the client went away"),
                }
            }
            let flushed = h2.pending() == 0;
            if flushed && (h2.close_after_flush || ((h2.goaway || h2.peer_goaway) && h2.streams.is_empty())) {
                return self.close_because("HTTP/2: GOAWAY sent and every stream done");
            }
            if !progress {
                // Streams that ended in this pass give their secondary
                // connections back now, not at the next event.
                for mut sec in std::mem::take(&mut h2.retired) {
                    sec.release(svc);
                }
                // Waiting: for the client to read (or open a window), for
                // a program or an upstream (whose secondary connections
                // have timers of their own), or for the next request.
                if !flushed || h2.streams.values().any(Stream::waits_on_client) {
                    self.http2_arm(slot, svc, h2, Some(svc.config.send_timeout));
                } else if !h2.streams.is_empty() {
                    self.http2_arm(slot, svc, h2, None);
                } else {
                    self.http2_arm(slot, svc, h2, Some(svc.config.keepalive_timeout));
                    // Idle: give back what only a busy connection needs, as
                    // an HTTP/1.1 connection gives its buffers to the pool.
                    h2.out_hint = h2.out.capacity().min(HIGH_WATER);
                    h2.out = Vec::new();
                    h2.block_out = Vec::new();
                    h2.last_head = LastHead::default();
                    h2.spans = Vec::new();
                    h2.fields = request::FieldList::default();
                    if h2.frames.open_field_block().is_none() {
                        // (A field block still waiting for its
                        // CONTINUATION is kept, of course.)
                        h2.block = Vec::new();
                    }
                }
                self.release_idle_buffers(svc);
                return Step::Wait;
            }
        }
        Step::Yield
    }

    /// Set the connection's own deadline (`None`: none of its own) and arm
    /// the timer for the earliest of it and its secondary connections'.
    fn http2_arm(&mut self, slot: usize, svc: &mut Services, h2: &mut Http2, own: Option<std::time::Duration>) {
        h2.own_deadline = own.map_or(0, |d| svc.wheel.tick_of(svc.now + d));
        let secondaries = h2.streams.values().filter_map(|st| st.secondary.as_ref()).map(|s| s.deadline());
        let tick = secondaries.chain([h2.own_deadline]).filter(|&t| t != 0).min().unwrap_or(0);
        self.deadline = tick;
        if tick != 0 && (self.armed == 0 || tick < self.armed) {
            svc.wheel.insert(TimerKey { slot, serial: self.serial }, tick);
            self.armed = tick;
        }
    }

    /// A timer ran out: a secondary connection's (its phase decides what
    /// that means, as for any connection), or the connection's own, which
    /// closes it.
    pub(super) fn http2_timeout(&mut self, slot: usize, svc: &mut Services) -> Step {
        let Some(mut h2) = self.h2.take() else { return self.close_because("HTTP/2 state lost") };
        let now_tick = svc.wheel.tick_of(svc.now);
        for st in h2.streams.values_mut() {
            if let Some(sec) = st.secondary.as_mut() {
                sec.timeout(slot, svc, now_tick);
            }
        }
        let own_due = h2.own_deadline != 0 && h2.own_deadline <= now_tick;
        self.h2 = Some(h2);
        if own_due {
            return self.close_because("HTTP/2 timeout: idle, or a client that stopped reading");
        }
        // Frame what the secondary connections did, and arm the next timer.
        self.run_http2(slot, svc)
    }

    /// Send queued frames until done or the socket is full: all of them,
    /// or with `whole_records` only as many as fill whole TLS records
    /// (`Http2::record`; on cleartext, all). DATA payloads are copied into
    /// `out`, never sent by `sendfile`: that was built and measured
    /// (h2c-10m on loopback) and lost, because a frame's 16 KiB is too
    /// small a piece for it and the reader then copies the file's pages
    /// cold out of memory (docs/http2.md §4).
    fn http2_flush(&mut self, h2: &mut Http2, whole_records: bool) -> std::io::Result<usize> {
        let mut total = 0;
        let end = if whole_records { h2.sent + h2.pending() / h2.record * h2.record } else { h2.out.len() };
        while h2.sent < end {
            let n = self.io.send(h2.out.get(h2.sent..end).unwrap_or_default(), false)?;
            if n == 0 {
                break;
            }
            h2.sent += n;
            total += n;
        }
        // (`--trace` has shown every queued frame before this flush.)
        if h2.sent == h2.out.len() {
            h2.out.clear();
            h2.sent = 0;
            h2.traced = 0;
        } else if h2.sent >= HIGH_WATER {
            // What is left (the rest of a record, or what a full socket
            // did not take) moves to the front, so that the buffer of a
            // connection that always has some left does not grow.
            h2.out.drain(..h2.sent);
            h2.traced = h2.traced.saturating_sub(h2.sent);
            h2.sent = 0;
        }
        if !self.io.flush()? {
            return Err(ErrorKind::WouldBlock.into());
        }
        Ok(total)
    }

    /// `--trace`: one line for each frame queued since the last call.
    fn trace_http2_out(&mut self, svc: &mut Services, h2: &mut Http2) {
        let mut reader = FrameDecoder::new();
        reader.set_max_frame_size(h2::settings::MAX_MAX_FRAME_SIZE);
        while let Some(rest) = h2.out.get(h2.traced..).filter(|r| !r.is_empty()) {
            match reader.decode(rest) {
                Ok(Decoded::Frame { frame, consumed }) => {
                    self.trace_fmt(svc, format_args!("h2 send: {frame}"));
                    self.trace_h2_sent(svc, &mut h2.trace, &frame);
                    h2.traced += consumed;
                }
                _ => {
                    // Not a whole frame by itself (a CONTINUATION is read
                    // only after its HEADERS): counted, not shown.
                    let len = rest
                        .get(..3)
                        .map_or(0, |l| (usize::from(l[0]) << 16) | (usize::from(l[1]) << 8) | usize::from(l[2]));
                    h2.traced = (h2.traced + h2::HEADER_LEN + len).min(h2.out.len());
                }
            }
        }
    }
}
