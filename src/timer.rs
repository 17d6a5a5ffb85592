//! A hashed timer wheel: O(1) to arm, O(1) per expiry, no scan of all connections.
//!
//! Time is cut into ticks; slot `tick % slots` holds the entries due at that
//! tick (or at the same slot in a later turn of the wheel). Each connection
//! keeps its own deadline and at most one live entry: when an entry comes due
//! and the connection's deadline has moved later, the entry is put back for
//! the new deadline instead of being cancelled and re-inserted on every request.

use std::time::{Duration, Instant};

/// The wheel's granularity.
pub const TICK: Duration = Duration::from_millis(100);

/// Slots whose vectors hold more entries than this are shrunk once drained.
const SHRINK_ABOVE: usize = 64;

/// A key the wheel hands back on expiry: a slab index and the connection's
/// serial number, so an entry for a closed connection whose slot was reused is
/// recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerKey {
    /// The slab slot.
    pub slot: usize,
    /// The connection's serial number.
    pub serial: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: TimerKey,
    tick: u64,
}

/// The wheel.
#[derive(Debug)]
pub struct Wheel {
    slots: Vec<Vec<Entry>>,
    start: Instant,
    /// Every tick before this one has been processed.
    next: u64,
    len: usize,
}

impl Wheel {
    /// A wheel of `slots` slots starting now.
    pub fn new(slots: usize, start: Instant) -> Self {
        Wheel { slots: (0..slots.max(1)).map(|_| Vec::new()).collect(), start, next: 0, len: 0 }
    }

    /// The tick an instant falls in, rounded up so a timer never fires early.
    pub fn tick_of(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.start).as_nanos();
        let tick = TICK.as_nanos();
        u64::try_from(nanos.div_ceil(tick)).unwrap_or(u64::MAX)
    }

    /// Arm an entry for `key` at `tick`.
    pub fn insert(&mut self, key: TimerKey, tick: u64) {
        let tick = tick.max(self.next);
        let n = self.slots.len() as u64;
        if let Some(slot) = self.slots.get_mut((tick % n) as usize) {
            slot.push(Entry { key, tick });
            self.len += 1;
        }
    }

    /// Entries armed (live or stale).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How long until the next tick is due, for the poll timeout.
    pub fn until_next(&self, now: Instant) -> Option<Duration> {
        if self.len == 0 {
            return None;
        }
        let due = self.start + TICK * u32::try_from(self.next).unwrap_or(u32::MAX);
        Some(due.saturating_duration_since(now))
    }

    /// Collect every entry due at or before `now` into `out` (as `(key, tick)`).
    pub fn expire(&mut self, now: Instant, out: &mut Vec<(TimerKey, u64)>) {
        let now_tick = self.tick_of(now).saturating_sub(1).max(self.next.saturating_sub(1));
        let n = self.slots.len() as u64;
        // Never walk more than one turn: every slot is visited once per turn.
        let last = now_tick.min(self.next + n - 1);
        while self.next <= last {
            let tick = self.next;
            if let Some(slot) = self.slots.get_mut((tick % n) as usize) {
                let mut i = 0;
                while i < slot.len() {
                    match slot.get(i) {
                        Some(e) if e.tick <= now_tick => {
                            out.push((e.key, e.tick));
                            slot.swap_remove(i);
                            self.len -= 1;
                        }
                        _ => i += 1,
                    }
                }
                // A burst leaves a slot's vector large, and under steady load
                // every slot meets its burst within one turn: give the memory
                // back once the slot is mostly drained, or the wheel keeps
                // the busiest tick's capacity in each of its slots (memory
                // that grew with the time spent under load).
                if slot.capacity() > SHRINK_ABOVE && slot.len() * 4 < slot.capacity() {
                    slot.shrink_to(slot.len() * 2);
                }
            }
            self.next += 1;
        }
        self.next = self.next.max(now_tick + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_on_time_never_early() {
        let t0 = Instant::now();
        let mut w = Wheel::new(16, t0);
        let key = TimerKey { slot: 3, serial: 9 };
        w.insert(key, w.tick_of(t0 + Duration::from_millis(250)));
        let mut out = Vec::new();
        w.expire(t0 + Duration::from_millis(200), &mut out);
        assert!(out.is_empty());
        w.expire(t0 + Duration::from_millis(400), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, key);
        assert!(w.is_empty());
    }

    /// Regression: a slot's vector kept the capacity of the largest burst
    /// it ever held, so under steady churn every slot grew in turn and the
    /// server's memory rose with the time spent under load (the soak test
    /// saw about 25 bytes per connection, without end until the wheel had
    /// turned once).
    #[test]
    fn a_burst_does_not_leave_its_capacity_in_the_slots() {
        let t0 = Instant::now();
        let mut w = Wheel::new(16, t0);
        let mut out = Vec::new();
        for tick in 1..=32u64 {
            for serial in 0..1000 {
                w.insert(TimerKey { slot: 0, serial }, tick);
            }
            w.expire(t0 + TICK * (tick as u32 + 1), &mut out);
            assert_eq!(out.len(), 1000);
            out.clear();
        }
        let held: usize = w.slots.iter().map(Vec::capacity).sum();
        assert!(held <= 16 * SHRINK_ABOVE, "{held} entries of capacity held by an empty wheel");
    }

    #[test]
    fn entries_beyond_one_turn_wait_their_turn() {
        let t0 = Instant::now();
        let mut w = Wheel::new(4, t0);
        let key = TimerKey { slot: 1, serial: 1 };
        w.insert(key, w.tick_of(t0 + Duration::from_millis(1000)));
        let mut out = Vec::new();
        for ms in (100..1000).step_by(100) {
            w.expire(t0 + Duration::from_millis(ms), &mut out);
            assert!(out.is_empty(), "fired early at {ms} ms");
        }
        w.expire(t0 + Duration::from_millis(1100), &mut out);
        assert_eq!(out.len(), 1);
    }
}
