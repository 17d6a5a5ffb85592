//! The `Date` header (RFC 9110 §6.6.1), formatted once a second per worker
//! rather than once per response.

use std::time::{SystemTime, UNIX_EPOCH};

use wired_parser::values::date::{HTTP_DATE_LEN, format_http_date};

/// A worker's clock: the current Unix second and its IMF-fixdate.
#[derive(Debug)]
pub struct Clock {
    secs: u64,
    text: [u8; HTTP_DATE_LEN],
}

impl Clock {
    /// A clock set to now.
    pub fn new() -> Self {
        let mut clock = Clock { secs: u64::MAX, text: [b' '; HTTP_DATE_LEN] };
        clock.update();
        clock
    }

    /// Read the system clock; reformat only when the second changed.
    pub fn update(&mut self) {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if secs != self.secs {
            self.secs = secs;
            format_http_date(secs, &mut self.text);
        }
    }

    /// Unix seconds.
    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn http_date(&self) -> &[u8; HTTP_DATE_LEN] {
        &self.text
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
