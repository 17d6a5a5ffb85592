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
    /// ready stream in turn, up to [`BURST`] bytes in frames of the peer's
    /// size, each payload read (`pread`) or copied into place behind its
    /// header.
    /// Returns whether a secondary connection's output was taken (it may
    /// now write more).
    pub(super) fn http2_data(&mut self, h2: &mut Http2) -> bool {
        let frame_max = h2.data_frame_max();
        let mut took = false;
        while h2.pending() < h2.write_unit && h2.send_window > 0 {
            let Some(id) = h2.ready.pop_front() else { break };
            let room = h2.write_unit.saturating_sub(h2.pending()).max(frame_max);
            let Some(st) = h2.streams.get_mut(&id) else { continue };
            st.queued = false;
            if st.window <= 0 {
                // Back in line when its WINDOW_UPDATE comes.
                continue;
            }
            let budget = (st.window as usize).min(h2.send_window as usize).min(BURST).min(room);
            if st.body.is_none() && st.secondary.is_none() {
                continue;
            }
            // Frame by frame, each payload read or copied straight into
            // `out` behind a header written once its length is known: no
            // bounce through a scratch buffer (which copied every body byte
            // twice, a third of the CPU a large h2c file took).
            let (mut n, mut done, mut failed) = (0, false, None);
            while n < budget && !done {
                let header_at = h2.out.len();
                h2.out.extend_from_slice(&[0; h2::HEADER_LEN]);
                let want = frame_max.min(budget - n);
                let filled = if let Some(cursor) = st.body.as_mut() {
                    cursor.fill(want, &mut h2.out).map(|k| (k, cursor.is_done())).map_err(|e| {
                        log::warn!("HTTP/2 stream {id}: reading the body: {e}");
                        ErrorCode::InternalError
                    })
                } else if let Some(sec) = st.secondary.as_mut() {
                    took = true;
                    sec.fill(want, &mut h2.out).map(|k| (k, sec.is_done()))
                } else {
                    Ok((0, false))
                };
                let (k, end) = match filled {
                    Ok(got) => got,
                    Err(code) => {
                        h2.out.truncate(header_at);
                        failed = Some(code);
                        break;
                    }
                };
                if k == 0 && !end {
                    // Nothing more yet (a secondary connection's output).
                    h2.out.truncate(header_at);
                    break;
                }
                // END_STREAM on the body's last frame (§6.1).
                if let Some(header) = h2.out.get_mut(header_at..header_at + h2::HEADER_LEN) {
                    header.copy_from_slice(&data_header(id, k as u32, end));
                }
                n += k;
                done = end;
                if k < want {
                    break;
                }
            }
            st.window -= n as i64;
            h2.send_window -= n as i64;
            if let Some(code) = failed {
                h2.reset(id, code);
                continue;
            }
            if n == 0 && !done {
                // A secondary connection with nothing more yet: queued
                // again when it writes (`http2_secondaries`).
                continue;
            }
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
/// turn: 64 KiB, four frames of the size every peer takes.
const BURST: usize = 64 * 1024;

/// A response body being sent, a frame at a time. The part being sent is
/// held apart from the rest, so the usual body of one part (a file, a
/// page) costs no allocation for a queue.
#[derive(Debug)]
pub(super) struct Cursor {
    front: Option<Part>,
    rest: VecDeque<Part>,
    /// How far into the front part.
    offset: usize,
}

impl Cursor {
    pub(super) fn new(body: Body) -> Cursor {
        let (front, mut rest) = match body {
            Body::Empty => (None, VecDeque::new()),
            Body::Static(b) => (Some(Part::Bytes(b.to_vec())), VecDeque::new()),
            Body::Owned(v) => (Some(Part::Bytes(v)), VecDeque::new()),
            Body::File(f) => (Some(Part::File(f)), VecDeque::new()),
            Body::Parts(p) => (None, VecDeque::from(p)),
        };
        let front = front.or_else(|| rest.pop_front());
        Cursor { front, rest, offset: 0 }
    }

    fn is_done(&self) -> bool {
        self.front.is_none()
    }

    /// Append up to `max` bytes of the body to `out`.
    fn fill(&mut self, max: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
        let mut n = 0;
        while n < max {
            let Some(front) = self.front.as_mut() else { break };
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
                self.front = self.rest.pop_front();
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
    let got = crate::sys::fs::pread_append(&*f.file, out, want, f.offset)?;
    if got == 0 {
        // The file shrank after its length was announced.
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "file shrank while being sent"));
    }
    f.advance(got);
    Ok(got)
}
