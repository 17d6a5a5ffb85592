//! How a block said what it said: one [`Repr`] per representation (RFC
//! 7541 §6), for a trace that teaches HPACK by showing it.
//!
//! [`Decoder::decode_traced`](super::Decoder::decode_traced) reports them;
//! plain [`Decoder::decode`](super::Decoder::decode) does not, so a server
//! that is not tracing keeps none and allocates nothing. Each reads as a
//! short phrase:
//!
//! ```text
//! indexed 2 (static)                                  §6.1, a whole field from the static table
//! indexed 63 (dynamic)                                §6.1, from the dynamic table (§2.3.3)
//! literal, name 1 (static), huffman, indexed as 62    §6.2.1, added to the dynamic table
//! literal, name 58 (static), raw, indexed as 62 (1 evicted)
//! literal, name 4 (static), raw, not indexed          §6.2.2
//! literal, new name, raw, never indexed (§6.2.3)
//! literal, new name, name raw, value huffman, not indexed
//! literal, new name, raw, larger than the table: not added, 3 evicted (§4.4)
//! table size update to 256 (§6.3)
//! table size update to 0, 3 evicted (§6.3)
//! ```
//!
//! "huffman" and "raw" say how the literal's strings were sent (§5.2: the
//! H bit); a name taken from a table has no string of its own.

use core::fmt;

use super::encoder::Indexing;
use super::table::STATIC;

/// One representation of a header block, with what it did to the dynamic
/// table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// The whole field is the entry at `index` (§6.1).
    Indexed {
        /// 1 to 61 the static table, from 62 the dynamic one (§2.3.3).
        index: u32,
    },
    /// A literal field (§6.2).
    Literal {
        /// The index of its name, or 0 when the name was sent as a string.
        name: u32,
        /// The name was sent Huffman-coded (only when `name` is 0).
        name_huffman: bool,
        /// The value was sent Huffman-coded.
        value_huffman: bool,
        /// Added to the dynamic table (§6.2.1), or not (§6.2.2, §6.2.3).
        indexing: Indexing,
        /// With incremental indexing: the field is now at index 62. False
        /// when it was larger than the whole table, which it emptied (§4.4).
        added: bool,
        /// Older entries evicted to make room (§4.4).
        evicted: u32,
    },
    /// A dynamic table size update (§6.3).
    SizeUpdate {
        /// The table's new maximum, in bytes as §4.1 counts them.
        size: u32,
        /// Entries evicted to fit under it (§4.3).
        evicted: u32,
    },
}

impl Repr {
    /// Whether this representation stands for a field (a size update does
    /// not).
    pub fn is_field(&self) -> bool {
        !matches!(self, Repr::SizeUpdate { .. })
    }
}

/// `4 (static)`, `63 (dynamic)`: which table an index falls in (§2.3.3).
struct Index(u32);

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = if self.0 as usize <= STATIC.len() { "static" } else { "dynamic" };
        write!(f, "{} ({table})", self.0)
    }
}

/// ` (2 evicted)`, or nothing.
struct Evicted(u32);

impl fmt::Display for Evicted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 { Ok(()) } else { write!(f, " ({} evicted)", self.0) }
    }
}

fn coding(huffman: bool) -> &'static str {
    if huffman { "huffman" } else { "raw" }
}

impl fmt::Display for Repr {
    /// ```
    /// use wired_parser::http2::hpack::{Indexing, Repr};
    /// assert_eq!(Repr::Indexed { index: 2 }.to_string(), "indexed 2 (static)");
    /// let literal = Repr::Literal {
    ///     name: 1,
    ///     name_huffman: false,
    ///     value_huffman: true,
    ///     indexing: Indexing::Incremental,
    ///     added: true,
    ///     evicted: 0,
    /// };
    /// assert_eq!(literal.to_string(), "literal, name 1 (static), huffman, indexed as 62");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Repr::Indexed { index } => write!(f, "indexed {}", Index(index)),
            Repr::SizeUpdate { size, evicted: 0 } => write!(f, "table size update to {size} (§6.3)"),
            Repr::SizeUpdate { size, evicted } => write!(f, "table size update to {size}, {evicted} evicted (§6.3)"),
            Repr::Literal { name, name_huffman, value_huffman, indexing, added, evicted } => {
                f.write_str("literal, ")?;
                match name {
                    0 if name_huffman == value_huffman => write!(f, "new name, {}", coding(value_huffman))?,
                    0 => write!(f, "new name, name {}, value {}", coding(name_huffman), coding(value_huffman))?,
                    index => write!(f, "name {}, {}", Index(index), coding(value_huffman))?,
                }
                match indexing {
                    Indexing::Incremental if added => {
                        write!(f, ", indexed as {}{}", STATIC.len() + 1, Evicted(evicted))
                    }
                    // §4.4: "not an error", but the table is now empty.
                    Indexing::Incremental => write!(f, ", larger than the table: not added, {evicted} evicted (§4.4)"),
                    Indexing::Without => f.write_str(", not indexed"),
                    Indexing::Never => f.write_str(", never indexed (§6.2.3)"),
                }
            }
        }
    }
}
