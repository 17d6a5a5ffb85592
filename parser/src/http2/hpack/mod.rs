//! HPACK (RFC 7541): how HTTP/2 compresses header fields.
//!
//! HTTP/1.1 sends every field as text, every time. HTTP/2 sends a *header
//! block*: a run of representations, each of which stands for one field
//! (§2.4, §6). A field both sides already know is sent as a number that
//! indexes a table; one they do not is sent as literal strings, optionally
//! Huffman-coded, and optionally added to the table so that the next time
//! it is a number. There is one table per direction, and each side changes
//! its copy in exactly the same way as it encodes or decodes, so the two
//! stay in step without ever sending the table itself (§2.2).
//!
//! Like the rest of this crate, nothing here does I/O: the frame layer
//! joins a HEADERS frame and its CONTINUATION frames into one block and
//! hands it over whole.
//!
//! ## A tour, from the smallest piece up
//!
//! 1. [`integer`]: every number (an index, a length, a table size) is a
//!    prefix-coded integer (§5.1) that starts in the low bits of a byte
//!    whose high bits say which representation it belongs to.
//! 2. [`huffman`]: a string may be Huffman-coded with the fixed code of
//!    Appendix B (§5.2), kept here as data; decoding walks a tree built from
//!    it at compile time, and refuses EOS and bad padding.
//! 3. [`table`]: the 61-entry static table (Appendix A) and the dynamic
//!    table after it in one address space (§2.3.3), with its size counted as
//!    name + value + 32 per entry (§4.1) and the oldest entries evicted to
//!    stay under its maximum (§4.4).
//! 4. [`decoder`]: [`Decoder::decode`] reads a whole block, representation
//!    by representation, and hands each field to a callback, borrowed; a
//!    size update is allowed only at the start and never above our
//!    SETTINGS_HEADER_TABLE_SIZE (§4.2, §6.3), and the decoded list is
//!    counted as it grows, so a small block that expands into megabytes of
//!    fields (an "HPACK bomb") is refused when it passes our
//!    SETTINGS_MAX_HEADER_LIST_SIZE, not after. [`Decoder::decode_traced`]
//!    also reports how each field was sent ([`repr`]), for a trace.
//! 5. [`encoder`]: [`Encoder::encode`] writes a response's fields into a
//!    block: indexes where the tables hold the field, literals otherwise,
//!    never indexed for credentials, Huffman where it is shorter, and a size
//!    update first when the peer's SETTINGS changed the table size.
//!
//! ```
//! use wired_parser::http2::hpack::{Decoder, Encoder};
//!
//! let mut encoder = Encoder::new();
//! let mut block = Vec::new();
//! encoder.encode([(":status", "200"), ("content-type", "text/html"), ("set-cookie", "id=42")], &mut block);
//!
//! let mut decoder = Decoder::new();
//! let fields = decoder.decode_to_vec(&block)?;
//! assert_eq!(fields[0].name, b":status");
//! assert_eq!(fields[1].value, b"text/html");
//! assert!(fields[2].never_indexed, "credentials are marked for every hop (§7.1.3)");
//! assert!(decoder.table().entries().eq(encoder.table().entries()), "both tables in step");
//! # Ok::<(), wired_parser::http2::hpack::Error>(())
//! ```

use core::fmt;

pub mod decoder;
pub mod encoder;
pub mod huffman;
pub mod integer;
pub mod repr;
pub mod table;

pub use decoder::{Decoder, Field, OwnedField};
pub use encoder::{Encoder, Indexing};
pub use repr::Repr;
pub use table::Table;

#[cfg(test)]
mod tests;

/// Why a header block could not be decoded.
///
/// Every one of these is a connection error of type COMPRESSION_ERROR
/// (RFC 9113 §4.3): the block was not processed to its end, so the
/// decoder's table may no longer match the encoder's, and every later block
/// would be misread. The decoder must not be used again.
///
/// ```
/// use wired_parser::http2::hpack::{Decoder, Error};
/// assert_eq!(Decoder::new().decode_to_vec(&[0x80]), Err(Error::IndexZero));
/// assert_eq!(Error::IndexZero.to_string(), "index 0 (RFC 7541 §6.1)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The block ends inside a representation: an integer or a string is cut.
    Truncated,
    /// An integer above `u32::MAX`, or written with more bytes than one that
    /// large needs (§5.1: "excessively large integer decodings").
    IntegerOverflow,
    /// The EOS symbol inside a Huffman-coded string (§5.2).
    HuffmanEos,
    /// More than 7 bits of padding after a Huffman-coded string (§5.2).
    HuffmanPaddingTooLong,
    /// Padding that is not the first bits of EOS, all ones (§5.2).
    HuffmanPaddingNotOnes,
    /// An indexed field or name with index 0 (§6.1).
    IndexZero,
    /// An index past the end of the dynamic table (§2.3.3).
    IndexOutOfRange,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE (§6.3).
    SizeUpdateTooLarge,
    /// A dynamic table size update after a field in the same block (§4.2).
    SizeUpdateNotAtStart,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's size, and the
    /// block did not start with the size update that must follow (§4.2).
    SizeUpdateMissing,
    /// The decoded fields add up to more than our
    /// SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2, counted as §4.1
    /// counts entries). Refused as soon as the sum passes it.
    HeaderListTooLarge,
}

impl Error {
    /// A short reason with the rule it breaks, for logs and GOAWAY debug data.
    pub fn reason(self) -> &'static str {
        match self {
            Error::Truncated => "block ends inside a representation (RFC 7541 §5)",
            Error::IntegerOverflow => "integer too large (RFC 7541 §5.1)",
            Error::HuffmanEos => "EOS inside a Huffman string (RFC 7541 §5.2)",
            Error::HuffmanPaddingTooLong => "Huffman padding longer than 7 bits (RFC 7541 §5.2)",
            Error::HuffmanPaddingNotOnes => "Huffman padding not all ones (RFC 7541 §5.2)",
            Error::IndexZero => "index 0 (RFC 7541 §6.1)",
            Error::IndexOutOfRange => "index past the dynamic table (RFC 7541 §2.3.3)",
            Error::SizeUpdateTooLarge => "table size update above our setting (RFC 7541 §6.3)",
            Error::SizeUpdateNotAtStart => "table size update after a field (RFC 7541 §4.2)",
            Error::SizeUpdateMissing => "no table size update after our setting shrank (RFC 7541 §4.2)",
            Error::HeaderListTooLarge => "header list larger than our setting (RFC 9113 §6.5.2)",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Error {}
