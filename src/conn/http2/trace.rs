//! `--trace` for HPACK: beside each field of a block, how it was sent
//! (RFC 7541 §6), both ways:
//!
//! ```text
//! h2: stream 1: GET /hello.txt
//!     | :method: GET   [indexed 2 (static)]
//!     | :authority: 127.0.0.1:8080   [literal, name 1 (static), huffman, indexed as 62]
//! h2 send: HEADERS stream=1 flags=END_HEADERS len=105 fragment=105
//!     | :status: 200   [indexed 8 (static)]
//! ```
//!
//! A received block is decoded by the connection's own decoder, with
//! `Decoder::decode_traced` in place of `decode_to_vec` while tracing
//! ([`Http2::decode_block`]). A sent block is read back from the frames as
//! `Conn::trace_http2_out` shows them, by a second decoder that exists only
//! for the trace ([`HpackTrace::sent`]): every byte wired queues on the
//! connection passes that function before it is written, so this decoder
//! sees every HEADERS sent from the first, whoever encoded it, and its
//! table is the one the client builds. With tracing off none of this is
//! allocated and the decoder's untraced path runs.

use wired_parser::http2::hpack::{self, OwnedField, Repr};
use wired_parser::http2::{Frame, Payload};

use super::Http2;
use super::request::FieldList;
use crate::conn::Conn;
use crate::services::Services;

/// One connection's HPACK trace, in `Http2::trace` once tracing needs it.
#[derive(Debug)]
pub(super) struct HpackTrace {
    /// How each representation of the last block received was sent.
    received: Vec<Repr>,
    /// Decodes the blocks wired sends, only to show them; `None` after it
    /// failed (it cannot, unless the encoder is wrong), which the trace says.
    sent: Option<hpack::Decoder>,
    /// A sent block, gathered from its HEADERS and CONTINUATION frames.
    sent_block: Vec<u8>,
}

impl Default for HpackTrace {
    fn default() -> Self {
        let mut sent = hpack::Decoder::new();
        // It reads what our encoder wrote, under the client's settings,
        // which are not ours to check here: any size goes.
        sent.set_max_table_size(u32::MAX);
        sent.set_max_header_list_size(u32::MAX);
        HpackTrace { received: Vec::new(), sent: Some(sent), sent_block: Vec::new() }
    }
}

impl Http2 {
    /// Decode the gathered field block with the connection's decoder;
    /// while `tracing`, keep how each field was sent, for
    /// [`Conn::trace_h2_fields`].
    pub(super) fn decode_block(&mut self, tracing: bool, fields: &mut FieldList) -> Result<(), hpack::Error> {
        if !tracing {
            return self.hpack_in.decode(&self.block, |f| fields.push(f));
        }
        let trace = self.trace.get_or_insert_with(Box::default);
        trace.received.clear();
        self.hpack_in.decode_traced(&self.block, |f| fields.push(f), &mut trace.received)
    }
}

impl Conn {
    /// The fields of the block just received, one `|` line each, with
    /// their representations.
    pub(super) fn trace_h2_fields(&self, svc: &mut Services, h2: &Http2, fields: &FieldList) {
        let reprs = h2.trace.as_ref().map(|t| t.received.as_slice()).unwrap_or_default();
        self.trace_block(svc, fields.iter().map(|f| (f.name, f.value, f.never_indexed)), reprs);
    }

    /// A frame wired queued, just traced as `h2 send:`: a HEADERS or
    /// CONTINUATION adds its fragment to the block, and a whole block is
    /// decoded and shown as the client will read it.
    pub(super) fn trace_h2_sent(&self, svc: &mut Services, trace: &mut Option<Box<HpackTrace>>, frame: &Frame<'_>) {
        let (fragment, end_headers) = match frame.payload {
            Payload::Headers { fragment, end_headers, .. } => (fragment, end_headers),
            Payload::Continuation { fragment, end_headers } => (fragment, end_headers),
            _ => return,
        };
        let trace = trace.get_or_insert_with(Box::default);
        if matches!(frame.payload, Payload::Headers { .. }) {
            trace.sent_block.clear();
        }
        trace.sent_block.extend_from_slice(fragment);
        if !end_headers {
            return;
        }
        let Some(decoder) = trace.sent.as_mut() else { return };
        let (mut fields, mut reprs) = (Vec::new(), Vec::new());
        match decoder.decode_traced(&trace.sent_block, |f| fields.push(OwnedField::from(f)), &mut reprs) {
            Ok(()) => self.trace_block(
                svc,
                fields.iter().map(|f| (f.name.as_slice(), f.value.as_slice(), f.never_indexed)),
                &reprs,
            ),
            Err(e) => {
                trace.sent = None;
                self.trace_fmt(svc, format_args!("    | (our block does not decode: {e}; no more fields shown)"));
            }
        }
        trace.sent_block.clear();
    }

    /// `    | name: value   [representation]`, and a size update on a line
    /// of its own. Without representations (none were kept), the fields
    /// alone.
    fn trace_block<'f>(
        &self,
        svc: &mut Services,
        fields: impl Iterator<Item = (&'f [u8], &'f [u8], bool)>,
        reprs: &[Repr],
    ) {
        let mut fields = fields;
        for repr in reprs {
            if !repr.is_field() {
                self.trace_fmt(svc, format_args!("    | [{repr}]"));
                continue;
            }
            let Some((name, value, _)) = fields.next() else { break };
            let (name, value) = (String::from_utf8_lossy(name), String::from_utf8_lossy(value));
            self.trace_fmt(svc, format_args!("    | {name}: {value}   [{repr}]"));
        }
        for (name, value, never_indexed) in fields {
            let (name, value) = (String::from_utf8_lossy(name), String::from_utf8_lossy(value));
            let never = if never_indexed { "  (never indexed, RFC 7541 §6.2.3)" } else { "" };
            self.trace_fmt(svc, format_args!("    | {name}: {value}{never}"));
        }
    }
}
