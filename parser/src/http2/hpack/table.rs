//! The indexing tables (RFC 7541 §2.3): one address space in which a small
//! number stands for a whole field, or for its name.
//!
//! ```text
//!   1 ..= 61            62 ..= 61 + len
//!  +---------------+   +--------------------------------+
//!  | static table  |   | dynamic table: newest first    |
//!  | (Appendix A)  |   | <- inserted here, evicted there ->
//!  +---------------+   +--------------------------------+
//! ```
//!
//! The static table is fixed: the fields HTTP uses most, some with a value
//! (`:method: GET`), most with the name alone. The dynamic table is what
//! one side of a connection has told the other to remember: each literal
//! "with incremental indexing" is pushed at the front (index 62), and
//! everything already there moves one index up (§2.3.3). Its size is not
//! counted in entries but in bytes, name + value + 32 per entry (§4.1, the
//! 32 standing for the bookkeeping a real implementation spends on it), and
//! it may never exceed its maximum: to make room the oldest entries are
//! evicted from the end (§4.4). The maximum is chosen by the encoder, up to
//! the limit the decoder set in SETTINGS_HEADER_TABLE_SIZE, and changed
//! only by a size update at the start of a header block (§4.2, §6.3).
//!
//! Both sides keep a [`Table`] and must apply exactly the same inserts,
//! evictions and size changes, or every index after that names the wrong
//! field; that is why any decoding error ends the connection.
//!
//! ```
//! use wired_parser::http2::hpack::table::{Found, Table};
//!
//! let mut table = Table::new(4096);
//! assert_eq!(table.get(2), Ok((&b":method"[..], &b"GET"[..])));
//! table.insert(b"custom-key".to_vec(), b"custom-header".to_vec());
//! assert_eq!(table.size(), 10 + 13 + 32);
//! assert_eq!(table.get(62), Ok((&b"custom-key"[..], &b"custom-header"[..])));
//! assert_eq!(table.find(b":status", b"307"), Found::Name(8));
//! ```

use std::collections::VecDeque;

use super::Error;

/// Appendix A, index 1 to 61 (here 0 to 60).
pub const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// What every entry costs beyond its name and value (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// The dynamic table's maximum until SETTINGS say otherwise (RFC 9113 §6.5.2).
pub const DEFAULT_MAX_SIZE: usize = 4096;

/// The size of an entry as §4.1 counts it, and as SETTINGS_MAX_HEADER_LIST_SIZE
/// counts a field (RFC 9113 §6.5.2).
pub fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len().saturating_add(value.len()).saturating_add(ENTRY_OVERHEAD)
}

/// What [`Table::find`] found for a field the encoder wants to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// This index holds the name and the value: send the index alone (§6.1).
    Field(usize),
    /// This index holds the name only: send it with a literal value (§6.2).
    Name(usize),
    /// Neither: send the name as a literal too.
    Nothing,
}

/// The static table and one side's dynamic table, addressed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Newest first, so index 62 is `dynamic[0]`.
    dynamic: VecDeque<Entry>,
    /// The sum of the entries' sizes (§4.1); never above `max_size`.
    size: usize,
    /// The current maximum, as last set by a size update (§4.2).
    max_size: usize,
}

/// A dynamic table entry, with a hash of its name so that the encoder's
/// search ([`Table::find`]) compares one number per entry and the bytes
/// only when the numbers agree. Names of one length are common among
/// response fields (`content-type`, `accept-ranges`, `last-modified`), and
/// a byte comparison of each against each was a tenth of a small
/// response's CPU. (A hash of the whole field as well cost more than the
/// comparisons it saved: the table rarely holds two entries of a name.)
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: Vec<u8>,
    value: Vec<u8>,
    name_hash: u64,
}

/// A fast, non-cryptographic hash of `bytes`, continuing from `seed`:
/// eight bytes at a time, multiplied and rotated. Only ever compared with
/// another such hash made in this process; an equal hash is confirmed by
/// comparing the bytes, so a collision costs time, never a wrong index.
pub(super) fn hash(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (seed ^ bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    // The last 1 to 7 bytes, gathered in a register (a copy through a
    // stack buffer stalled the load that followed it).
    let tail = words.remainder().iter().rev().fold(0u64, |t, &b| (t << 8) | u64::from(b));
    (h ^ tail).wrapping_mul(K).rotate_left(29)
}

impl Table {
    /// An empty dynamic table with this maximum size.
    pub fn new(max_size: usize) -> Self {
        Table { dynamic: VecDeque::new(), size: 0, max_size }
    }

    /// The name and value at `index` (§2.3.3): 1 to 61 static, then dynamic.
    pub fn get(&self, index: usize) -> Result<(&[u8], &[u8]), Error> {
        if index == 0 {
            // §6.1: "The index value of 0 is not used."
            return Err(Error::IndexZero);
        }
        if let Some((name, value)) = STATIC.get(index - 1) {
            return Ok((name.as_bytes(), value.as_bytes()));
        }
        let entry = self.dynamic.get(index - 1 - STATIC.len()).ok_or(Error::IndexOutOfRange)?;
        Ok((&entry.name, &entry.value))
    }

    /// Adds a field at index 62 (§4.4): first evicts from the oldest end
    /// until it fits. An entry larger than the whole table empties it and
    /// is not added, which is not an error.
    pub fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let size = entry_size(&name, &value);
        if size > self.max_size {
            self.dynamic.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        let name_hash = hash(0, &name);
        self.dynamic.push_front(Entry { name, value, name_hash });
    }

    /// Sets a new maximum size (§4.3, from a size update, §6.3), evicting
    /// the oldest entries until the table fits in it.
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Evicts from the end until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.dynamic.pop_back() {
                Some(entry) => self.size -= entry_size(&entry.name, &entry.value),
                None => break,
            }
        }
    }

    /// Where the encoder can find this field, or at least its name: an
    /// exact match before a name alone, the static table before the
    /// dynamic one (its indexes never move, and it is what the examples of
    /// Appendix C choose).
    pub fn find(&self, name: &[u8], value: &[u8]) -> Found {
        // The static entries of this name, then one pass over the dynamic
        // table for both an exact match and (when the static table has
        // not the name) the first of the name.
        let first = static_name(name);
        if let Some((first, count)) = first {
            let same_name = STATIC.get(first - 1..first - 1 + count).unwrap_or_default();
            if let Some(i) = same_name.iter().position(|(_, v)| v.as_bytes() == value) {
                return Found::Field(first + i);
            }
        }
        if self.dynamic.is_empty() {
            return first.map_or(Found::Nothing, |(i, _)| Found::Name(i));
        }
        let name_hash = hash(0, name);
        let mut name_at = None;
        for (i, e) in self.dynamic.iter().enumerate() {
            if e.name_hash == name_hash && e.name == name {
                if e.value == value {
                    return Found::Field(i + 1 + STATIC.len());
                }
                name_at.get_or_insert(i + 1 + STATIC.len());
            }
        }
        // The static table's index for a name alone, as Appendix C does.
        let first = first.map(|(i, _)| i);
        match (first, name_at) {
            (Some(i), _) | (None, Some(i)) => Found::Name(i),
            (None, None) => Found::Nothing,
        }
    }

    /// The dynamic table's size in bytes, as §4.1 counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The dynamic table's current maximum size.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// How many entries the dynamic table holds.
    pub fn len(&self) -> usize {
        self.dynamic.len()
    }

    /// Whether the dynamic table is empty.
    pub fn is_empty(&self) -> bool {
        self.dynamic.is_empty()
    }

    /// The dynamic table's entries, newest (index 62) first.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.dynamic.iter().map(|e| (e.name.as_slice(), e.value.as_slice()))
    }
}

/// The first static index (Appendix A) with this name, if any. Entries
/// of one name are adjacent (`:status` holds 8 to 14), so the rest follow.
/// A `match` on the bytes, which the compiler turns into a switch on the
/// length and a few comparisons, where a scan of the table would compare
/// against all 61 entries, twice (once for the field, once for the name),
/// for every field of every response. A test keeps it in step with
/// [`STATIC`].
fn static_name(name: &[u8]) -> Option<(usize, usize)> {
    // The names with more than one entry, and how many.
    let (index, count) = match name {
        b":method" => (2, 2),
        b":path" => (4, 2),
        b":scheme" => (6, 2),
        b":status" => (8, 7),
        _ => (static_name_once(name)?, 1),
    };
    Some((index, count))
}

/// [`static_name`] for the names the static table holds once.
fn static_name_once(name: &[u8]) -> Option<usize> {
    let index = match name {
        b":authority" => 1,
        b"accept-charset" => 15,
        b"accept-encoding" => 16,
        b"accept-language" => 17,
        b"accept-ranges" => 18,
        b"accept" => 19,
        b"access-control-allow-origin" => 20,
        b"age" => 21,
        b"allow" => 22,
        b"authorization" => 23,
        b"cache-control" => 24,
        b"content-disposition" => 25,
        b"content-encoding" => 26,
        b"content-language" => 27,
        b"content-length" => 28,
        b"content-location" => 29,
        b"content-range" => 30,
        b"content-type" => 31,
        b"cookie" => 32,
        b"date" => 33,
        b"etag" => 34,
        b"expect" => 35,
        b"expires" => 36,
        b"from" => 37,
        b"host" => 38,
        b"if-match" => 39,
        b"if-modified-since" => 40,
        b"if-none-match" => 41,
        b"if-range" => 42,
        b"if-unmodified-since" => 43,
        b"last-modified" => 44,
        b"link" => 45,
        b"location" => 46,
        b"max-forwards" => 47,
        b"proxy-authenticate" => 48,
        b"proxy-authorization" => 49,
        b"range" => 50,
        b"referer" => 51,
        b"refresh" => 52,
        b"retry-after" => 53,
        b"server" => 54,
        b"set-cookie" => 55,
        b"strict-transport-security" => 56,
        b"transfer-encoding" => 57,
        b"user-agent" => 58,
        b"vary" => 59,
        b"via" => 60,
        b"www-authenticate" => 61,
        _ => return None,
    };
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(table: &Table) -> Vec<(String, String)> {
        table
            .entries()
            .map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn the_static_table_is_addressed_from_one() {
        let table = Table::new(DEFAULT_MAX_SIZE);
        assert_eq!(table.get(0), Err(Error::IndexZero));
        assert_eq!(table.get(1), Ok((&b":authority"[..], &b""[..])));
        assert_eq!(table.get(8), Ok((&b":status"[..], &b"200"[..])));
        assert_eq!(table.get(61), Ok((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(table.get(62), Err(Error::IndexOutOfRange));
        assert_eq!(table.get(usize::MAX), Err(Error::IndexOutOfRange));
    }

    #[test]
    fn inserts_go_to_62_and_push_the_rest_up() {
        let mut table = Table::new(DEFAULT_MAX_SIZE);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        assert_eq!(table.get(62), Ok((&b"b"[..], &b"2"[..])));
        assert_eq!(table.get(63), Ok((&b"a"[..], &b"1"[..])));
        assert_eq!(table.get(64), Err(Error::IndexOutOfRange));
        assert_eq!((table.len(), table.size()), (2, 68));
    }

    #[test]
    fn eviction_drops_the_oldest_until_the_new_entry_fits() {
        // Room for two 34-byte entries, not three.
        let mut table = Table::new(100);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        table.insert(b"c".to_vec(), b"3".to_vec());
        assert_eq!(entries(&table), [pair("c", "3"), pair("b", "2")]);
        assert_eq!(table.size(), 68);
        // Exactly the maximum fits (§4.4 evicts only while size + new > max).
        let mut table = Table::new(68);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        assert_eq!(table.size(), 68);
    }

    #[test]
    fn an_entry_larger_than_the_table_empties_it() {
        let mut table = Table::new(40);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"too".to_vec(), b"larger".to_vec());
        assert!(table.is_empty());
        assert_eq!(table.size(), 0);
    }

    #[test]
    fn the_name_of_an_entry_about_to_be_evicted_can_be_reused() {
        // §4.4: the new entry names one that its own insertion evicts.
        let mut table = Table::new(34);
        table.insert(b"a".to_vec(), b"1".to_vec());
        let name = table.get(62).unwrap().0.to_vec();
        table.insert(name, b"2".to_vec());
        assert_eq!(entries(&table), [pair("a", "2")]);
    }

    #[test]
    fn lowering_the_maximum_evicts_and_zero_empties() {
        let mut table = Table::new(DEFAULT_MAX_SIZE);
        for name in ["a", "b", "c"] {
            table.insert(name.as_bytes().to_vec(), b"1".to_vec());
        }
        table.set_max_size(70);
        assert_eq!(entries(&table), [pair("c", "1"), pair("b", "1")]);
        table.set_max_size(0);
        assert!(table.is_empty());
        table.insert(b"d".to_vec(), b"1".to_vec());
        assert!(table.is_empty(), "nothing fits in a table of size 0");
        table.set_max_size(DEFAULT_MAX_SIZE);
        table.insert(b"d".to_vec(), b"1".to_vec());
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn find_prefers_a_whole_field_then_the_static_table() {
        let mut table = Table::new(DEFAULT_MAX_SIZE);
        assert_eq!(table.find(b":method", b"GET"), Found::Field(2));
        assert_eq!(table.find(b":method", b"PUT"), Found::Name(2));
        assert_eq!(table.find(b"x-custom", b"1"), Found::Nothing);
        table.insert(b"x-custom".to_vec(), b"1".to_vec());
        table.insert(b"date".to_vec(), b"Mon".to_vec());
        assert_eq!(table.find(b"x-custom", b"1"), Found::Field(63));
        assert_eq!(table.find(b"x-custom", b"2"), Found::Name(63));
        assert_eq!(table.find(b"date", b"Mon"), Found::Field(62));
        assert_eq!(table.find(b"date", b"Tue"), Found::Name(33), "the static name, as §C.6.3 does");
        assert_eq!(table.find(b":status", b"404"), Found::Field(13));
        assert_eq!(table.find(b"accept-ranges", b""), Found::Field(18));
    }

    #[test]
    fn static_name_agrees_with_the_static_table() {
        for (i, (name, _)) in STATIC.iter().enumerate() {
            let first = STATIC.iter().position(|(n, _)| n == name).map(|p| p + 1);
            let count = STATIC.iter().filter(|(n, _)| n == name).count();
            assert_eq!(static_name(name.as_bytes()), first.map(|f| (f, count)), "{name} (index {})", i + 1);
        }
        assert_eq!(static_name(b"x-custom"), None);
        assert_eq!(static_name(b"Date"), None, "names are compared as sent");
    }
}
