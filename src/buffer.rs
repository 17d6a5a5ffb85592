//! Byte buffers and the per-worker pool they come from.
//!
//! A connection checks a buffer out when bytes arrive and gives it back when it
//! goes idle between keep-alive requests, so ten thousand idle connections cost
//! ten thousand small structs, not ten thousand buffers. One vocabulary:
//! bytes live in `data[pos..end]`; `fill` reads into `data[end..]`, `consume`
//! advances `pos`, `compact` moves the live bytes to the front.

/// A fixed-capacity byte buffer with a read position and an end.
#[derive(Debug)]
pub struct Buffer {
    data: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl Buffer {
    fn new(capacity: usize) -> Self {
        Buffer { data: vec![0; capacity].into_boxed_slice(), pos: 0, end: 0 }
    }

    /// The bytes not yet consumed.
    pub fn bytes(&self) -> &[u8] {
        self.data.get(self.pos..self.end).unwrap_or_default()
    }

    /// The bytes not yet consumed, to change in place (a WebSocket frame's
    /// payload is unmasked where it lies).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.data.get_mut(self.pos..self.end).unwrap_or_default()
    }

    /// True when there are no unconsumed bytes.
    pub fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// Unconsumed byte count.
    pub fn len(&self) -> usize {
        self.end - self.pos
    }

    /// Mark `n` bytes at the front as used.
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
    }

    /// The free space after the bytes, to read into; then call `filled`.
    pub fn spare(&mut self) -> &mut [u8] {
        self.data.get_mut(self.end..).unwrap_or_default()
    }

    /// Record that `n` bytes were written into `spare()`.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }

    /// Move the unconsumed bytes to the front, making room at the end.
    pub fn compact(&mut self) {
        if self.pos > 0 {
            self.data.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
    }

    /// Append bytes; returns false (appending nothing) when they do not fit.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let Some(dst) = self.data.get_mut(self.end..self.end + bytes.len()) else {
            return false;
        };
        dst.copy_from_slice(bytes);
        self.end += bytes.len();
        true
    }

    /// Room left at the end.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.end
    }

    /// Total capacity.
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Drop all bytes.
    pub fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }
}

/// A worker's stock of equal-sized buffers.
#[derive(Debug)]
pub struct Pool {
    free: Vec<Buffer>,
    size: usize,
    keep: usize,
}

impl Pool {
    /// A pool of buffers of `size` bytes, `prealloc` made up front, at most
    /// `keep` kept when returned (the rest are freed).
    pub fn new(size: usize, prealloc: usize, keep: usize) -> Self {
        Pool { free: (0..prealloc).map(|_| Buffer::new(size)).collect(), size, keep }
    }

    /// Check a buffer out (empty).
    pub fn get(&mut self) -> Buffer {
        self.free.pop().unwrap_or_else(|| Buffer::new(self.size))
    }

    /// Give a buffer back.
    pub fn put(&mut self, mut buf: Buffer) {
        if self.free.len() < self.keep && buf.capacity() == self.size {
            buf.clear();
            self.free.push(buf);
        }
    }

    /// Buffers currently in stock.
    pub fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_consume_compact() {
        let mut pool = Pool::new(8, 1, 4);
        let mut b = pool.get();
        assert!(b.push(b"abcdef"));
        assert!(!b.push(b"xyz"));
        b.consume(4);
        assert_eq!(b.bytes(), b"ef");
        b.compact();
        assert_eq!(b.remaining(), 6);
        b.spare()[..2].copy_from_slice(b"gh");
        b.filled(2);
        assert_eq!(b.bytes(), b"efgh");
        b.consume(4);
        assert!(b.is_empty());
        pool.put(b);
        assert_eq!(pool.available(), 1);
    }
}
