//! The SETTINGS frame's payload (RFC 9113 §6.5.1, §6.5.2): 6-byte
//! settings, each a 16-bit identifier and a 32-bit value.
//!
//! The decoder checks every value before it hands the frame out, so a
//! [`Settings`] view holds only values §6.5.2 allows. It does not keep the
//! current values: which side sent them, when they take effect (on the
//! ACK, §6.5.3) and what they change (every stream window, §6.9.2) are the
//! connection's business.

use core::fmt;

use super::error::Reason;

/// The least SETTINGS_MAX_FRAME_SIZE may be, and its initial value (§4.2, §6.5.2).
pub const MIN_MAX_FRAME_SIZE: u32 = 1 << 14;

/// The most SETTINGS_MAX_FRAME_SIZE may be: the largest 24-bit length (§4.2).
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// The largest flow-control window, and so SETTINGS_INITIAL_WINDOW_SIZE (§6.5.2, §6.9.1).
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;

/// The initial size of every flow-control window (§6.9.2).
pub const DEFAULT_WINDOW_SIZE: u32 = (1 << 16) - 1;

/// The initial SETTINGS_HEADER_TABLE_SIZE (§6.5.2).
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;

/// The length of one setting on the wire (§6.5.1).
pub const SETTING_LEN: usize = 6;

/// A setting's identifier (§6.5.2). Identifiers §6.5.2 does not define
/// are kept as [`SettingId::Unknown`], and the receiver ignores them.
///
/// ```
/// use wired_parser::http2::SettingId;
/// assert_eq!(SettingId::from_u16(0x5), SettingId::MaxFrameSize);
/// assert_eq!(SettingId::MaxFrameSize.name(), "MAX_FRAME_SIZE");
/// assert_eq!(SettingId::from_u16(0x8).to_string(), "0x8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingId {
    /// 0x1: the largest HPACK dynamic table the sender's decoder keeps.
    HeaderTableSize,
    /// 0x2: whether the sender (a client) accepts PUSH_PROMISE.
    EnablePush,
    /// 0x3: how many streams the receiver may have open at once.
    MaxConcurrentStreams,
    /// 0x4: each new stream's flow-control window for what the receiver sends.
    InitialWindowSize,
    /// 0x5: the longest frame payload the sender accepts.
    MaxFrameSize,
    /// 0x6: advice on the largest field section the sender accepts.
    MaxHeaderListSize,
    /// An identifier RFC 9113 does not define.
    Unknown(u16),
}

impl SettingId {
    /// The identifier for a value read from the wire.
    pub fn from_u16(value: u16) -> SettingId {
        match value {
            0x1 => SettingId::HeaderTableSize,
            0x2 => SettingId::EnablePush,
            0x3 => SettingId::MaxConcurrentStreams,
            0x4 => SettingId::InitialWindowSize,
            0x5 => SettingId::MaxFrameSize,
            0x6 => SettingId::MaxHeaderListSize,
            other => SettingId::Unknown(other),
        }
    }

    /// The value written on the wire.
    pub fn as_u16(self) -> u16 {
        match self {
            SettingId::HeaderTableSize => 0x1,
            SettingId::EnablePush => 0x2,
            SettingId::MaxConcurrentStreams => 0x3,
            SettingId::InitialWindowSize => 0x4,
            SettingId::MaxFrameSize => 0x5,
            SettingId::MaxHeaderListSize => 0x6,
            SettingId::Unknown(value) => value,
        }
    }

    /// The name §6.5.2 gives it, without the `SETTINGS_` prefix; "UNKNOWN" for the rest.
    pub fn name(self) -> &'static str {
        match self {
            SettingId::HeaderTableSize => "HEADER_TABLE_SIZE",
            SettingId::EnablePush => "ENABLE_PUSH",
            SettingId::MaxConcurrentStreams => "MAX_CONCURRENT_STREAMS",
            SettingId::InitialWindowSize => "INITIAL_WINDOW_SIZE",
            SettingId::MaxFrameSize => "MAX_FRAME_SIZE",
            SettingId::MaxHeaderListSize => "MAX_HEADER_LIST_SIZE",
            SettingId::Unknown(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for SettingId {
    /// The name, or the identifier in hex when RFC 9113 does not define it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingId::Unknown(value) => write!(f, "0x{value:x}"),
            known => f.write_str(known.name()),
        }
    }
}

/// One setting: an identifier and its value (§6.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Setting {
    /// Which setting.
    pub id: SettingId,
    /// Its new value.
    pub value: u32,
}

impl Setting {
    /// Check the value against §6.5.2. Unknown identifiers pass: the
    /// receiver ignores them.
    pub(crate) fn check(self) -> Result<(), Reason> {
        match self.id {
            SettingId::EnablePush if self.value > 1 => Err(Reason::EnablePush),
            SettingId::InitialWindowSize if self.value > MAX_WINDOW_SIZE => Err(Reason::InitialWindowSize),
            SettingId::MaxFrameSize if !(MIN_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&self.value) => {
                Err(Reason::MaxFrameSize)
            }
            _ => Ok(()),
        }
    }
}

/// A SETTINGS frame's payload, checked: a whole number of settings, each
/// value within §6.5.2's bounds. Iterate it for the settings in the order
/// they came, which is the order they apply in (§6.5.3).
///
/// The iterator yields unknown identifiers too, so a trace can show them;
/// §6.5.2 says the receiver MUST ignore them.
///
/// ```
/// use wired_parser::http2::{Payload, FrameDecoder, Decoded, SettingId};
/// let wire = b"\0\0\x0c\x04\0\0\0\0\0\0\x03\0\0\0\x64\0\x08\0\0\0\x01";
/// let Ok(Decoded::Frame { frame, .. }) = FrameDecoder::new().decode(wire) else { panic!() };
/// let Payload::Settings { ack: false, settings } = frame.payload else { panic!() };
/// let ids: Vec<_> = settings.iter().map(|s| (s.id, s.value)).collect();
/// assert_eq!(ids, [(SettingId::MaxConcurrentStreams, 100), (SettingId::Unknown(8), 1)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings<'a> {
    /// The payload, a multiple of [`SETTING_LEN`] bytes long.
    pub(crate) bytes: &'a [u8],
}

impl<'a> Settings<'a> {
    /// Check a SETTINGS payload whose length is already known to be a
    /// multiple of 6; the first value out of bounds is the error.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Reason> {
        let settings = Settings { bytes };
        settings.iter().try_for_each(Setting::check)?;
        Ok(settings)
    }

    /// The settings, in the order they came.
    pub fn iter(&self) -> SettingsIter<'a> {
        SettingsIter { chunks: self.bytes.chunks_exact(SETTING_LEN) }
    }

    /// How many settings the frame carries.
    pub fn len(&self) -> usize {
        self.bytes.len() / SETTING_LEN
    }

    /// Whether the frame carries none (as the client preface's may, §3.4).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<'a> IntoIterator for Settings<'a> {
    type Item = Setting;
    type IntoIter = SettingsIter<'a>;

    fn into_iter(self) -> SettingsIter<'a> {
        self.iter()
    }
}

/// The settings of a [`Settings`] payload, in order.
#[derive(Debug, Clone)]
pub struct SettingsIter<'a> {
    /// The remaining settings, 6 bytes each.
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for SettingsIter<'_> {
    type Item = Setting;

    fn next(&mut self) -> Option<Setting> {
        let &[i0, i1, v0, v1, v2, v3] = self.chunks.next()? else { return None };
        Some(Setting {
            id: SettingId::from_u16(u16::from_be_bytes([i0, i1])),
            value: u32::from_be_bytes([v0, v1, v2, v3]),
        })
    }
}
