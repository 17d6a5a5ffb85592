//! Sending: response bodies cut into DATA frames as the flow-control
//! windows allow (RFC 9113 §5.2, §6.9).

use std::collections::VecDeque;
use std::io::ErrorKind;

use wired_parser::http2::{ErrorCode, data_header};

use super::*;
use crate::conn::Conn;
use crate::response::{Body, FileSlice, Part};

impl Conn {
    /// Queue DATA frames while the windows and the buffer allow: for each
    /// ready stream in turn, up to [`BURST`] bytes, read at once (one
    /// `pread` for a file, not one per frame) and cut into frames of the
    /// peer's size.
    /// Returns whether a secondary connection's output was taken (it may
    /// now write more).
    pub(super) fn http2_data(&mut self, h2: &mut Http2) -> bool {
        let frame_max = (h2.peer_max_frame as usize).clamp(1, DATA_FRAME);
        let mut took = false;
        while h2.pending() < HIGH_WATER && h2.send_window > 0 && h2.file_out.is_none() {
            let Some(id) = h2.ready.pop_front() else { break };
            let Some(st) = h2.streams.get_mut(&id) else { continue };
            st.queued = false;
            if st.window <= 0 {
                // Back in line when its WINDOW_UPDATE comes.
                continue;
            }
            let budget = (st.window as usize).min(h2.send_window as usize).min(BURST);
            if h2.sendfile
                && let Some(slice) = st.body.as_mut().and_then(|c| c.take_file(budget.min(frame_max)))
            {
                // Cleartext: the frame header is queued, its payload goes
                // from the page cache by `sendfile` once `out` is sent up
                // to here (`http2_flush`); one such frame at a time.
                let n = slice.len as usize;
                let done = st.body.as_ref().is_some_and(Cursor::is_done);
                h2.out.extend_from_slice(&data_header(id, n as u32, done));
                h2.file_out = Some(FileOut { at: h2.out.len(), slice });
                st.window -= n as i64;
                h2.send_window -= n as i64;
                if done {
                    h2.answered += 1;
                    if st.remote_closed {
                        h2.remove_stream(id);
                    } else {
                        h2.reset(id, ErrorCode::NoError);
                    }
                } else {
                    st.queued = true;
                    h2.ready.push_back(id);
                }
                break;
            }
            let mut chunk = std::mem::take(&mut h2.scratch);
            chunk.clear();
            let filled = if let Some(cursor) = st.body.as_mut() {
                match cursor.fill(budget, &mut chunk) {
                    Ok(_) => Ok(cursor.is_done()),
                    Err(e) => {
                        log::warn!("HTTP/2 stream {id}: reading the body: {e}");
                        Err(ErrorCode::InternalError)
                    }
                }
            } else if let Some(sec) = st.secondary.as_mut() {
                took = true;
                sec.fill(budget, &mut chunk).map(|_| sec.is_done())
            } else {
                continue;
            };
            let done = match filled {
                Ok(done) => done,
                Err(code) => {
                    h2.scratch = chunk;
                    h2.reset(id, code);
                    continue;
                }
            };
            let n = chunk.len();
            if n == 0 && !done {
                // A secondary connection with nothing more yet: queued
                // again when it writes (`http2_secondaries`).
                h2.scratch = chunk;
                continue;
            }
            let frames = n.div_ceil(frame_max).max(1);
            for (i, piece) in chunk.chunks(frame_max).chain((n == 0).then_some(&[][..])).enumerate() {
                // END_STREAM on the body's last frame (§6.1).
                let last = done && i + 1 == frames;
                h2.out.extend_from_slice(&data_header(id, piece.len() as u32, last));
                h2.out.extend_from_slice(piece);
            }
            h2.scratch = chunk;
            st.window -= n as i64;
            h2.send_window -= n as i64;
            if done {
                h2.response_done(id);
            } else if st.body.is_some() || st.secondary.as_ref().is_some_and(|s| s.has_body_bytes()) {
                st.queued = true;
                h2.ready.push_back(id);
            }
        }
        took
    }
}

/// The most a stream sends in one turn before the next ready stream's
/// turn: 64 KiB, four frames of the size every peer takes, read from a file
/// with one system call.
const BURST: usize = 64 * 1024;

/// A DATA frame's payload to go by `sendfile` once `Http2::out` has been
/// sent up to `at`, where its frame header ends.
#[derive(Debug)]
pub(super) struct FileOut {
    pub(super) at: usize,
    pub(super) slice: FileSlice,
}

/// A response body being sent, a frame at a time.
#[derive(Debug)]
pub(super) struct Cursor {
    parts: VecDeque<Part>,
    /// How far into the front part.
    offset: usize,
}

impl Cursor {
    pub(super) fn new(body: Body) -> Cursor {
        let parts: VecDeque<Part> = match body {
            Body::Empty => VecDeque::new(),
            Body::Static(b) => VecDeque::from([Part::Bytes(b.to_vec())]),
            Body::Owned(v) => VecDeque::from([Part::Bytes(v)]),
            Body::File(f) => VecDeque::from([Part::File(f)]),
            Body::Parts(p) => p.into(),
        };
        Cursor { parts, offset: 0 }
    }

    fn is_done(&self) -> bool {
        self.parts.is_empty()
    }

    /// Up to `max` bytes of the front part, when it is a file not held in
    /// memory: for `sendfile`. The cursor moves past them.
    fn take_file(&mut self, max: usize) -> Option<FileSlice> {
        let Some(Part::File(f)) = self.parts.front_mut() else { return None };
        if f.memory.is_some() || f.len == 0 || max == 0 {
            return None;
        }
        let mut piece = f.clone();
        piece.len = f.len.min(max as u64);
        f.advance(piece.len as usize);
        if f.len == 0 {
            self.parts.pop_front();
            self.offset = 0;
        }
        Some(piece)
    }

    /// Append up to `max` bytes of the body to `out`.
    fn fill(&mut self, max: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut n = 0;
        while n < max {
            let Some(front) = self.parts.front_mut() else { break };
            let took = match front {
                Part::Bytes(b) => {
                    let piece = b.get(self.offset..).unwrap_or_default();
                    let piece = piece.get(..(max - n).min(piece.len())).unwrap_or_default();
                    out.extend_from_slice(piece);
                    self.offset += piece.len();
                    let done = self.offset >= b.len();
                    (piece.len(), done)
                }
                Part::File(f) => {
                    let took = read_file(f, max - n, out)?;
                    (took, f.len == 0)
                }
            };
            n += took.0;
            if took.1 {
                self.parts.pop_front();
                self.offset = 0;
            } else if took.0 == 0 {
                break;
            }
        }
        Ok(n)
    }
}

/// Read up to `max` bytes of a file slice onto `out` (from memory when the
/// file is held there), advancing the slice.
fn read_file(f: &mut FileSlice, max: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let want = usize::try_from(f.len).unwrap_or(usize::MAX).min(max);
    if want == 0 {
        return Ok(0);
    }
    if let Some(bytes) = f.in_memory() {
        let piece = bytes.get(..want).unwrap_or_default();
        out.extend_from_slice(piece);
        let n = piece.len();
        f.advance(n);
        return Ok(n);
    }
    let start = out.len();
    out.resize(start + want, 0);
    let got = std::os::unix::fs::FileExt::read_at(&*f.file, out.get_mut(start..).unwrap_or_default(), f.offset);
    let got = match got {
        Ok(n) => n,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    out.truncate(start + got);
    if got == 0 {
        // The file shrank after its length was announced.
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "file shrank while being sent"));
    }
    f.advance(got);
    Ok(got)
}
