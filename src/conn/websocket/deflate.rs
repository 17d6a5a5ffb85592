//! permessage-deflate (RFC 7692 §7): each message compressed as a raw
//! deflate stream, flushed to a byte boundary at the message's end, with
//! the flush's constant tail `00 00 ff ff` left off the wire.
//!
//! The negotiation is the parser's (`wired_parser::websocket::extension`);
//! the compression is flate2's (over zlib-rs), never hand-made. The two
//! halves are created on first use, so a socket that never sends a
//! compressed message costs no deflate memory; with context takeover (the
//! default) they then live as long as the connection, since each message may
//! refer back to the ones before it (§7.2.1, §7.2.2).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use wired_parser::websocket::extension::Deflate;

/// The bytes a sync flush ends with, removed by the sender and put back by
/// the receiver (§7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why a compressed message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// Not a valid deflate stream: fail with 1007 (RFC 7692 §8, RFC 6455 §7.4.1).
    Corrupt,
    /// It inflates past the message limit: fail with 1009 (a small frame
    /// may hold a huge message, so the limit applies to what comes out).
    TooBig,
}

/// One connection's compression state.
pub struct PerMessage {
    /// What was agreed in the handshake.
    pub agreed: Deflate,
    compress: Option<Compress>,
    decompress: Option<Decompress>,
    /// Bytes of the current message have been inflated.
    fed: bool,
}

impl std::fmt::Debug for PerMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerMessage").field("agreed", &self.agreed).finish_non_exhaustive()
    }
}

impl PerMessage {
    pub fn new(agreed: Deflate) -> PerMessage {
        PerMessage { agreed, compress: None, decompress: None, fed: false }
    }

    /// Compress a whole message into `out` (appended), as the payload of a
    /// frame with RSV1 set.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let bits = self.agreed.server_max_window_bits;
        let deflate = self.compress.get_or_insert_with(|| match bits {
            // zlib cannot make raw deflate with a 256-byte window. Stored
            // blocks (level 0) refer back to nothing, so they keep within
            // any window the client asked for.
            8 => Compress::new_with_window_bits(Compression::none(), false, 9),
            // Level 1: a socket's messages are small and many; the faster
            // level keeps the CPU per message low for most of the gain.
            bits => Compress::new_with_window_bits(Compression::fast(), false, bits.clamp(9, 15)),
        });
        let start = out.len();
        let mut input = message;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = deflate.total_in();
            if deflate.compress_vec(input, out, FlushCompress::Sync).is_err() {
                // zlib reports a stream error only for misuse; send the
                // message stored instead of losing it.
                out.truncate(start);
                stored(message, out);
                return;
            }
            let used = (deflate.total_in() - before) as usize;
            input = input.get(used..).unwrap_or_default();
            // Done when all input is in and the flush left spare room.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        // §7.2.3.6: an empty message is one byte, an empty block's start;
        // nothing at all would leave the receiver inside a block.
        if out.len() == start {
            out.push(0x00);
        }
        if self.agreed.server_no_context_takeover {
            deflate.reset();
        }
    }

    /// Inflate a piece of a compressed message's payload, appending to
    /// `out`, which may not grow past `max`. `last`: this is the end of the
    /// message, and the flush tail is put back.
    pub fn inflate(&mut self, piece: &[u8], last: bool, out: &mut Vec<u8>, max: usize) -> Result<(), InflateError> {
        if !piece.is_empty() {
            self.fed = true;
            self.inflate_some(piece, out, max)?;
        }
        if last {
            // A message with no payload at all is empty; the tail would
            // open a block nothing closes.
            if std::mem::take(&mut self.fed) {
                self.inflate_some(&TAIL, out, max)?;
            }
            if self.agreed.client_no_context_takeover
                && let Some(d) = self.decompress.as_mut()
            {
                d.reset(false);
            }
        }
        Ok(())
    }

    fn inflate_some(&mut self, mut input: &[u8], out: &mut Vec<u8>, max: usize) -> Result<(), InflateError> {
        let inflate = self.decompress.get_or_insert_with(|| Decompress::new(false));
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let status =
                inflate.decompress(input, &mut chunk, FlushDecompress::Sync).map_err(|_| InflateError::Corrupt)?;
            let used = (inflate.total_in() - in_before) as usize;
            let made = (inflate.total_out() - out_before) as usize;
            input = input.get(used..).unwrap_or_default();
            if out.len() + made > max {
                return Err(InflateError::TooBig);
            }
            out.extend_from_slice(chunk.get(..made).unwrap_or_default());
            if status == Status::StreamEnd {
                // A block marked final ends the stream (the sender may do
                // that, §7.2.3.3): the next message starts a new one, and
                // what is left here is at most the tail put back.
                inflate.reset(false);
                return Ok(());
            }
            if made < chunk.len() && (input.is_empty() || (used == 0 && made == 0)) {
                return Ok(());
            }
        }
    }
}

/// A message as one final stored block (RFC 1951 §3.2.4), for when the
/// compressor fails: still valid permessage-deflate data.
fn stored(message: &[u8], out: &mut Vec<u8>) {
    let mut rest = message;
    loop {
        let (block, after) = rest.split_at(rest.len().min(0xffff));
        out.push(0x00); // not final: a sync-flushed message ends with an empty block
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
        rest = after;
        if rest.is_empty() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(bits: u8, no_context: bool) -> Deflate {
        Deflate {
            server_no_context_takeover: no_context,
            client_no_context_takeover: no_context,
            server_max_window_bits: bits,
            client_max_window_bits: None,
        }
    }

    #[test]
    fn round_trips_at_every_window() {
        for bits in 8..=15 {
            for no_context in [false, true] {
                let mut us = PerMessage::new(agreed(bits, no_context));
                let mut them = PerMessage::new(agreed(bits, no_context));
                for message in [&b"Hello"[..], b"", b"Hello Hello Hello Hello", &[7u8; 100_000]] {
                    let mut wire = Vec::new();
                    us.compress(message, &mut wire);
                    assert!(!wire.ends_with(&TAIL), "the tail is left off (RFC 7692 §7.2.1)");
                    let mut back = Vec::new();
                    them.inflate(&wire, true, &mut back, 1 << 20).unwrap();
                    assert_eq!(back, message, "bits {bits}");
                }
            }
        }
    }

    #[test]
    fn rfc_7692_example_inflates() {
        // §7.2.3.1: "Hello" compressed.
        let mut p = PerMessage::new(agreed(15, false));
        let mut out = Vec::new();
        p.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], true, &mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.2: the same message again, referring back to the first.
        out.clear();
        p.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], true, &mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let mut big = Vec::new();
        PerMessage::new(agreed(15, false)).compress(&[0u8; 1 << 20], &mut big);
        assert!(big.len() < 16 * 1024);
        let mut out = Vec::new();
        assert_eq!(PerMessage::new(agreed(15, false)).inflate(&big, true, &mut out, 1000), Err(InflateError::TooBig));
        let mut out = Vec::new();
        assert_eq!(
            PerMessage::new(agreed(15, false)).inflate(&[0xff, 0xff, 0xff], true, &mut out, 1000),
            Err(InflateError::Corrupt)
        );
    }

    #[test]
    fn stored_blocks_inflate() {
        let mut wire = Vec::new();
        stored(b"plain", &mut wire);
        let mut out = Vec::new();
        PerMessage::new(agreed(15, false)).inflate(&wire, true, &mut out, 100).unwrap();
        assert_eq!(out, b"plain");
    }
}
