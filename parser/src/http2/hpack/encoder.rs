//! Writing a header block (RFC 7541 §6, with §7's advice on what to index).
//!
//! For each field the encoder asks the tables ([`Table::find`]) and writes
//! the shortest representation its indexing rule allows:
//!
//! - the whole field is in a table: its index alone (§6.1), one or two bytes;
//! - only the name is: the name's index and the value as a string (§6.2);
//! - neither: both as strings.
//!
//! A literal is then added to the dynamic table or not, as the field's
//! [`Indexing`] says. The rule that chooses it is a plain function
//! ([`default_indexing`] unless [`Encoder::with_rule`] is given another):
//! credentials are never indexed, values that change with every response
//! are not indexed, everything else is, and values that are one per
//! resource (ETags) only once they come again. Each string is Huffman-coded
//! unless that would make it longer.
//!
//! The peer limits the table with SETTINGS_HEADER_TABLE_SIZE; the encoder
//! uses the smaller of that and its own limit, and tells the peer's decoder
//! with a size update at the start of the next block (§4.2, §6.3).

use super::table::{DEFAULT_MAX_SIZE, Found, Table, entry_size, hash};
use super::{huffman, integer};

/// How the encoder sends a literal field, and whether it remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    /// Add it to the dynamic table, so that next time it is an index (§6.2.1).
    Incremental,
    /// Do not add it (§6.2.2); a field already in a table is still sent as
    /// its index.
    Without,
    /// Do not add it, and mark it so that no later hop does either (§6.2.3);
    /// always a literal value, even when a table holds the whole field.
    Never,
}

/// Names whose values must not be guessable by probing the table (§7.1):
/// an attacker who can add fields to the same connection can learn whether
/// a guessed value is in the table from the compressed size (§7.1.1), so
/// credentials are never indexed (§7.1.3 names Cookie and Authorization).
pub const SENSITIVE: [&str; 4] = ["authorization", "cookie", "proxy-authorization", "set-cookie"];

/// Names whose values change with nearly every response: indexing them
/// would only push fields that do repeat out of the table.
pub const UNIQUE: [&str; 2] = ["content-length", "content-range"];

/// Names whose values are one per resource: a page of many resources sends
/// each value once, and a table entry for each would push out the fields
/// that do repeat (a page of 100 files cycled 100 ETags through a 4 KiB
/// table, each evicting an entry); but a resource fetched again and again
/// (a poll, a load test, a revalidation) sends the same value each time.
/// So the encoder adds one of these only when it comes again soon: the
/// first time it is sent without indexing and remembered among the last
/// [`RECENT`], the second time it is added ([`Encoder::encode`]).
pub const REPEATING: [&str; 1] = ["etag"];

/// How many recent [`REPEATING`] values the encoder remembers: about a
/// quarter of the entries of that size a 4 KiB table holds.
pub const RECENT: usize = 16;

/// Whether `name` is one of [`REPEATING`] (a `match`, as in
/// [`default_indexing`]).
pub fn repeating(name: &[u8]) -> bool {
    matches!(name, b"etag")
}

/// wired's rule: [`SENSITIVE`] fields never indexed, [`UNIQUE`] ones not
/// indexed, the rest indexed ([`REPEATING`] ones among them only once
/// they repeat, which the encoder itself keeps track of). Names are
/// compared as sent; HTTP/2 names are lower-case (RFC 9113 §8.2.1).
pub fn default_indexing(name: &[u8], _value: &[u8]) -> Indexing {
    // A `match`, which compiles to a switch on the length, for every field
    // of every block; a test keeps it in step with the two lists.
    match name {
        b"authorization" | b"cookie" | b"proxy-authorization" | b"set-cookie" => Indexing::Never,
        b"content-length" | b"content-range" => Indexing::Without,
        _ => Indexing::Incremental,
    }
}

/// Encodes the header blocks one side sends on one connection, keeping the
/// dynamic table the peer's decoder builds from them.
#[derive(Debug, Clone)]
pub struct Encoder {
    table: Table,
    /// The most this encoder lets its table grow, whatever the peer allows.
    own_limit: usize,
    /// The table size from the next block on: the peer's setting, capped
    /// by `own_limit`.
    target: usize,
    /// The smallest `target` since the last block: if the table must shrink
    /// below where it ends, the decoder must hear that first (§4.2).
    lowest: usize,
    /// Chooses each field's [`Indexing`].
    rule: fn(&[u8], &[u8]) -> Indexing,
    /// Moves whenever what the next block would say for the same fields
    /// may change: an entry added, the table resized, a size update owed,
    /// a [`REPEATING`] value remembered ([`Encoder::epoch`]).
    epoch: u64,
    /// Hashes of the last [`RECENT`] values of [`REPEATING`] fields sent
    /// without indexing, and where the next one goes. (A collision only
    /// adds a value to the table a first time, never a wrong index.)
    recent: [u64; RECENT],
    recent_at: usize,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with the protocol's initial table size, 4096 (RFC 9113
    /// §6.5.2), which is also its own limit, and [`default_indexing`].
    pub fn new() -> Self {
        Self::with_rule(default_indexing)
    }

    /// An encoder that asks `rule` how to send each field.
    pub fn with_rule(rule: fn(&[u8], &[u8]) -> Indexing) -> Self {
        let size = DEFAULT_MAX_SIZE;
        Encoder {
            table: Table::new(size),
            own_limit: size,
            target: size,
            lowest: size,
            rule,
            epoch: 0,
            recent: [0; RECENT],
            recent_at: 0,
        }
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE: the table will use at
    /// most this (and at most the encoder's own limit) from the next block
    /// on, which starts with the size update that says so.
    pub fn set_peer_max_table_size(&mut self, size: u32) {
        self.target = (size as usize).min(self.own_limit);
        self.lowest = self.lowest.min(self.target);
        self.epoch += 1;
    }

    /// Sets how large the encoder lets its table grow, below what the peer
    /// allows (memory is the encoder's to spend; §4.2 lets it use less).
    pub fn set_own_limit(&mut self, size: usize) {
        self.own_limit = size;
        self.target = self.target.min(size);
        self.lowest = self.lowest.min(self.target);
        self.epoch += 1;
    }

    /// A count that moves whenever the encoder's state moves: an entry
    /// added to the dynamic table, a size update owed or written, a
    /// [`REPEATING`] value remembered. The
    /// encoder is a function of its state and the fields, so the same
    /// fields encoded at the same epoch give the same bytes; and if a
    /// block left the epoch where it found it, it changed nothing, so
    /// sending those bytes again tells the peer's decoder exactly what the
    /// first time did (a repeated response's head, `wired`'s HTTP/2 layer).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The tables as the peer's decoder will have built them.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Appends the block for `fields` to `out`: any size update owed first,
    /// then one representation per field, in order.
    pub fn encode<I, N, V>(&mut self, fields: I, out: &mut Vec<u8>)
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.write_size_updates(out);
        for (name, value) in fields {
            let (name, value) = (name.as_ref(), value.as_ref());
            let indexing = (self.rule)(name, value);
            self.encode_field(name, value, indexing, out);
        }
    }

    /// §4.2: a size change goes at the start of the block. If the peer's
    /// setting dipped below where it ended up, the lowest value goes first,
    /// so the decoder evicts exactly what this table evicted.
    fn write_size_updates(&mut self, out: &mut Vec<u8>) {
        if self.lowest < self.table.max_size() && self.lowest < self.target {
            integer::encode(self.lowest, 5, 0x20, out);
            self.table.set_max_size(self.lowest);
            self.epoch += 1;
        }
        if self.target != self.table.max_size() {
            integer::encode(self.target, 5, 0x20, out);
            self.table.set_max_size(self.target);
            self.epoch += 1;
        }
        self.lowest = self.target;
    }

    /// Whether this [`REPEATING`] field was sent lately; if not, it is
    /// remembered now, which moves the epoch (the next block with it will
    /// add it to the table).
    fn seen_recently(&mut self, name: &[u8], value: &[u8]) -> bool {
        let h = hash(hash(0, name), value);
        if self.recent.contains(&h) {
            return true;
        }
        if let Some(slot) = self.recent.get_mut(self.recent_at) {
            *slot = h;
        }
        self.recent_at = (self.recent_at + 1) % RECENT;
        self.epoch += 1;
        false
    }

    /// Appends one field as `indexing` asks (§6.1, §6.2).
    fn encode_field(&mut self, name: &[u8], value: &[u8], indexing: Indexing, out: &mut Vec<u8>) {
        let found = self.table.find(name, value);
        if let (Found::Field(index), Indexing::Incremental | Indexing::Without) = (found, indexing) {
            integer::encode(index, 7, 0x80, out);
            return;
        }
        // An entry larger than the whole table would only empty it (§4.4).
        let indexing = match indexing {
            Indexing::Incremental if entry_size(name, value) > self.table.max_size() => Indexing::Without,
            Indexing::Incremental if repeating(name) && !self.seen_recently(name, value) => Indexing::Without,
            other => other,
        };
        let (prefix, pattern) = match indexing {
            Indexing::Incremental => (6, 0x40),
            Indexing::Without => (4, 0x00),
            Indexing::Never => (4, 0x10),
        };
        match found {
            Found::Field(index) | Found::Name(index) => integer::encode(index, prefix, pattern, out),
            Found::Nothing => {
                integer::encode(0, prefix, pattern, out);
                write_string(name, out);
            }
        }
        write_string(value, out);
        if indexing == Indexing::Incremental {
            self.table.insert(name.to_vec(), value.to_vec());
            self.epoch += 1;
        }
    }
}

/// Appends a string literal (§5.2): Huffman-coded unless that is longer.
/// On a tie Huffman wins, as in the examples of Appendix C.6, except for
/// the empty string, which is simply raw.
fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    let coded_len = huffman::encoded_len(bytes);
    if coded_len <= bytes.len() && !bytes.is_empty() {
        integer::encode(coded_len, 7, 0x80, out);
        huffman::encode(bytes, out);
    } else {
        integer::encode(bytes.len(), 7, 0x00, out);
        out.extend_from_slice(bytes);
    }
}
