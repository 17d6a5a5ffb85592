//! The open streams of one connection, by id: at most
//! `MAX_CONCURRENT_STREAMS` (100) of them, so a flat table searched in a
//! line beats a tree. The ids sit in a `Vec<u32>` of their own, a few cache
//! lines the search runs through, beside the streams in the same order.
//! A `BTreeMap` here spent 5% of a small request's CPU rebalancing nodes
//! on insert and remove; order is not needed (streams take turns by the
//! `ready` queue, not by id).

use super::Stream;

#[derive(Debug, Default)]
pub(super) struct Streams {
    ids: Vec<u32>,
    streams: Vec<Stream>,
}

impl Streams {
    fn position(&self, id: u32) -> Option<usize> {
        self.ids.iter().position(|&x| x == id)
    }

    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(super) fn get_mut(&mut self, id: &u32) -> Option<&mut Stream> {
        let at = self.position(*id)?;
        self.streams.get_mut(at)
    }

    /// Adds a stream. Its id is new: a stream is opened only from idle,
    /// with an id above every earlier one (RFC 9113 §5.1.1,
    /// `Http2::idle`), so there is none to look for and replace.
    pub(super) fn insert(&mut self, id: u32, stream: Stream) {
        debug_assert!(self.position(id).is_none(), "stream {id} opened twice");
        self.ids.push(id);
        self.streams.push(stream);
    }

    pub(super) fn remove(&mut self, id: &u32) -> Option<Stream> {
        let at = self.position(*id)?;
        self.ids.swap_remove(at);
        Some(self.streams.swap_remove(at))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Stream> {
        self.streams.iter()
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.streams.iter_mut()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&u32, &Stream)> {
        self.ids.iter().zip(self.streams.iter())
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut Stream)> {
        self.ids.iter().zip(self.streams.iter_mut())
    }

    /// Every stream, taken out (the connection is closing).
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (u32, Stream)> {
        let ids = std::mem::take(&mut self.ids);
        let streams = std::mem::take(&mut self.streams);
        ids.into_iter().zip(streams)
    }
}
