//! Reading a header block (RFC 7541 §3, §6).
//!
//! A block is a run of representations, each told apart by its first bits:
//!
//! ```text
//!  1xxxxxxx  indexed field (§6.1)                     index: 7-bit prefix
//!  01xxxxxx  literal, then add to the table (§6.2.1)  name index: 6-bit prefix
//!  001xxxxx  dynamic table size update (§6.3)         new size: 5-bit prefix
//!  0001xxxx  literal, never indexed (§6.2.3)          name index: 4-bit prefix
//!  0000xxxx  literal, not indexed (§6.2.2)            name index: 4-bit prefix
//! ```
//!
//! A literal whose name index is 0 carries its name as a string; then comes
//! the value as a string. A string is a length with a 7-bit prefix whose top
//! bit says "Huffman-coded", then that many bytes (§5.2).
//!
//! [`Decoder::decode`] reads them in order and hands each field to a
//! callback as a [`Field`] that borrows the block, the table or a scratch
//! buffer: nothing is copied unless the field goes into the dynamic table,
//! or the caller keeps it ([`Decoder::decode_to_vec`]).
//! [`Decoder::decode_traced`] also says how each was sent, as a [`Repr`],
//! for a trace.
//!
//! ## Limits
//!
//! One byte can stand for a field of kilobytes (an index into a dynamic
//! table that holds a large entry), so a block of a few kilobytes can
//! decode into hundreds of megabytes: the "HPACK bomb". The decoder counts
//! the list as it goes, name + value + 32 per field as
//! SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2), and stops at
//! the first field that passes the limit, before handing it out. What a
//! single string can cost is bounded by the block itself (a Huffman string
//! decodes to at most 8/5 of its bytes), and the frame layer bounds the
//! block.
//!
//! The table's maximum is the peer encoder's choice, but never above the
//! SETTINGS_HEADER_TABLE_SIZE we announced (§6.3), and it changes only at
//! the start of a block (§4.2).

use super::encoder::Indexing;
use super::repr::Repr;
use super::table::{DEFAULT_MAX_SIZE, Table, entry_size};
use super::{Error, huffman, integer};

/// What SETTINGS_MAX_HEADER_LIST_SIZE wired announces unless told
/// otherwise: as much as an HTTP/1.1 head may hold (`Limits::max_head_bytes`).
pub const DEFAULT_MAX_HEADER_LIST_SIZE: usize = 16 * 1024;

/// One decoded field, borrowed for the length of the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name, as sent: HPACK does not check it; HTTP/2 does (RFC 9113 §8.2).
    pub name: &'a [u8],
    /// The value, as sent.
    pub value: &'a [u8],
    /// Sent as "never indexed" (§6.2.3): a proxy that forwards the field must
    /// send it the same way, so that no hop ever puts it in a table (§7.1.3).
    pub never_indexed: bool,
}

/// A decoded field that owns its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedField {
    /// The name.
    pub name: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// Sent as "never indexed" (§6.2.3).
    pub never_indexed: bool,
}

impl From<Field<'_>> for OwnedField {
    fn from(field: Field<'_>) -> Self {
        OwnedField { name: field.name.to_vec(), value: field.value.to_vec(), never_indexed: field.never_indexed }
    }
}

/// Which of §6's representations a block's next byte starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    /// §6.1.
    Indexed,
    /// §6.2.1, §6.2.2 or §6.2.3.
    Literal(Indexing),
    /// §6.3.
    SizeUpdate,
}

impl Representation {
    fn of(first: u8) -> Self {
        if first & 0x80 != 0 {
            Representation::Indexed
        } else if first & 0x40 != 0 {
            Representation::Literal(Indexing::Incremental)
        } else if first & 0x20 != 0 {
            Representation::SizeUpdate
        } else if first & 0x10 != 0 {
            Representation::Literal(Indexing::Never)
        } else {
            Representation::Literal(Indexing::Without)
        }
    }
}

/// Decodes the header blocks one peer sends on one connection, keeping the
/// dynamic table they build between blocks.
///
/// Feed it every block of the connection in order, including those of
/// requests that are refused, so the table stays in step (RFC 9113 §4.3).
/// After any error the table is out of step: close the connection with
/// COMPRESSION_ERROR and drop the decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    table: Table,
    /// The SETTINGS_HEADER_TABLE_SIZE in force: the most a size update may set.
    max_table_size: usize,
    /// The SETTINGS_MAX_HEADER_LIST_SIZE in force.
    max_header_list_size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with the protocol's initial table size, 4096 (RFC 9113
    /// §6.5.2), and [`DEFAULT_MAX_HEADER_LIST_SIZE`].
    pub fn new() -> Self {
        Decoder {
            table: Table::new(DEFAULT_MAX_SIZE),
            max_table_size: DEFAULT_MAX_SIZE,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
        }
    }

    /// Applies the SETTINGS_HEADER_TABLE_SIZE we sent, once the peer has
    /// acknowledged it (its blocks before the ACK were encoded under the old
    /// one). If it is below the table's current maximum, the next block must
    /// start with a size update that obeys it (§4.2), or it is refused with
    /// [`Error::SizeUpdateMissing`].
    pub fn set_max_table_size(&mut self, size: u32) {
        self.max_table_size = size as usize;
    }

    /// Applies the SETTINGS_MAX_HEADER_LIST_SIZE we sent.
    pub fn set_max_header_list_size(&mut self, size: u32) {
        self.max_header_list_size = size as usize;
    }

    /// The tables as this decoder has built them.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Decodes one complete header block, calling `emit` with each field in
    /// order.
    ///
    /// On an error, the fields before it have been emitted; the caller
    /// drops them and ends the connection.
    pub fn decode(&mut self, block: &[u8], emit: impl FnMut(Field<'_>)) -> Result<(), Error> {
        self.decode_with(block, emit, None)
    }

    /// [`Decoder::decode`], and also appends to `reprs` how each
    /// representation was sent and what it did to the table, in order:
    /// size updates first, then one [`Repr`] per field emitted. For a trace;
    /// the table ends as [`Decoder::decode`] would leave it.
    ///
    /// ```
    /// use wired_parser::http2::hpack::Decoder;
    /// let mut reprs = Vec::new();
    /// // RFC 7541 §C.3.1: three static entries, then :authority added at 62.
    /// let block = b"\x82\x86\x84\x41\x0fwww.example.com";
    /// Decoder::new().decode_traced(block, |_| {}, &mut reprs)?;
    /// let lines: Vec<String> = reprs.iter().map(|r| r.to_string()).collect();
    /// assert_eq!(lines[0], "indexed 2 (static)");
    /// assert_eq!(lines[3], "literal, name 1 (static), raw, indexed as 62");
    /// # Ok::<(), wired_parser::http2::hpack::Error>(())
    /// ```
    pub fn decode_traced(
        &mut self,
        block: &[u8],
        emit: impl FnMut(Field<'_>),
        reprs: &mut Vec<Repr>,
    ) -> Result<(), Error> {
        self.decode_with(block, emit, Some(reprs))
    }

    fn decode_with(
        &mut self,
        block: &[u8],
        mut emit: impl FnMut(Field<'_>),
        mut reprs: Option<&mut Vec<Repr>>,
    ) -> Result<(), Error> {
        let mut pos = 0;
        let mut list_size = 0usize;
        // Size updates are allowed until the first field (§4.2).
        let mut at_start = true;
        // Huffman-coded strings are decoded here, reused from field to field.
        let (mut name_buf, mut value_buf) = (Vec::new(), Vec::new());
        while let Some(rest) = block.get(pos..).filter(|rest| !rest.is_empty()) {
            let representation = Representation::of(rest.first().copied().unwrap_or_default());
            if at_start && representation != Representation::SizeUpdate {
                self.check_size_update_made()?;
                at_start = false;
            }
            let (field, mut repr) = match representation {
                Representation::SizeUpdate => {
                    if !at_start {
                        return Err(Error::SizeUpdateNotAtStart);
                    }
                    let (size, used) = integer::decode(rest, 5)?;
                    pos += used;
                    if size as usize > self.max_table_size {
                        return Err(Error::SizeUpdateTooLarge);
                    }
                    let before = self.table.len();
                    self.table.set_max_size(size as usize);
                    if let Some(reprs) = reprs.as_deref_mut() {
                        reprs.push(Repr::SizeUpdate { size, evicted: evicted(before, self.table.len()) });
                    }
                    continue;
                }
                Representation::Indexed => {
                    let (index, used) = integer::decode(rest, 7)?;
                    pos += used;
                    let (name, value) = self.table.get(index as usize)?;
                    (Field { name, value, never_indexed: false }, Repr::Indexed { index })
                }
                Representation::Literal(indexing) => {
                    let prefix = if indexing == Indexing::Incremental { 6 } else { 4 };
                    let (index, used) = integer::decode(rest, prefix)?;
                    pos += used;
                    let (name, name_huffman) = match index {
                        0 => read_string(block, &mut pos, &mut name_buf)?,
                        index => (self.table.get(index as usize)?.0, false),
                    };
                    let (value, value_huffman) = read_string(block, &mut pos, &mut value_buf)?;
                    let field = Field { name, value, never_indexed: indexing == Indexing::Never };
                    let repr =
                        Repr::Literal { name: index, name_huffman, value_huffman, indexing, added: false, evicted: 0 };
                    (field, repr)
                }
            };
            list_size = list_size.saturating_add(entry_size(field.name, field.value));
            if list_size > self.max_header_list_size {
                return Err(Error::HeaderListTooLarge);
            }
            emit(field);
            if representation == Representation::Literal(Indexing::Incremental) {
                let before = self.table.len();
                let fits = entry_size(field.name, field.value) <= self.table.max_size();
                let entry = (field.name.to_vec(), field.value.to_vec());
                self.table.insert(entry.0, entry.1);
                if let Repr::Literal { added, evicted: count, .. } = &mut repr {
                    *added = fits;
                    *count = evicted(before + usize::from(fits), self.table.len());
                }
            }
            if let Some(reprs) = reprs.as_deref_mut() {
                reprs.push(repr);
            }
        }
        if at_start {
            self.check_size_update_made()?;
        }
        Ok(())
    }

    /// Decodes one complete header block into a list of owned fields.
    pub fn decode_to_vec(&mut self, block: &[u8]) -> Result<Vec<OwnedField>, Error> {
        let mut fields = Vec::new();
        self.decode(block, |field| fields.push(field.into()))?;
        Ok(fields)
    }

    /// At the end of a block's size updates: the table obeys our setting.
    fn check_size_update_made(&self) -> Result<(), Error> {
        if self.table.max_size() > self.max_table_size {
            return Err(Error::SizeUpdateMissing);
        }
        Ok(())
    }
}

/// Reads the string literal at `block[*pos..]` (§5.2) and moves `pos` past
/// it: raw bytes are borrowed from the block, Huffman-coded ones decoded
/// into `buf`. The flag says which it was.
fn read_string<'a>(block: &'a [u8], pos: &mut usize, buf: &'a mut Vec<u8>) -> Result<(&'a [u8], bool), Error> {
    let rest = block.get(*pos..).unwrap_or_default();
    let huffman = rest.first().is_some_and(|first| first & 0x80 != 0);
    let (len, used) = integer::decode(rest, 7)?;
    let bytes = rest.get(used..).and_then(|after| after.get(..len as usize)).ok_or(Error::Truncated)?;
    *pos += used + bytes.len();
    if !huffman {
        return Ok((bytes, false));
    }
    buf.clear();
    huffman::decode(bytes, buf)?;
    Ok((buf, true))
}

/// How many entries went, from `before` (counting one just added) to `after`.
fn evicted(before: usize, after: usize) -> u32 {
    u32::try_from(before.saturating_sub(after)).unwrap_or(u32::MAX)
}
