//! One line per frame, for wired's `--trace`:
//! `HEADERS stream=1 flags=END_STREAM|END_HEADERS len=42`.
//!
//! [`FrameHeader`]'s `Display` gives the header alone, which is all a
//! trace can show before a frame is whole or when it is refused; [`Frame`]'s
//! adds what its payload says, in the same `name=value` form. Flags are
//! named by what they mean on the frame's type; a bit the type does not
//! define (ignored on receipt, §4.1) is shown in hex, so an odd peer is
//! visible.

use core::fmt;

use super::frame::{Frame, FrameHeader, Payload};

impl fmt::Display for FrameHeader {
    /// ```
    /// use wired_parser::http2::{FrameHeader, FrameType};
    /// let h = FrameHeader { len: 42, kind: FrameType::Headers, flags: 0x5, stream: 1 };
    /// assert_eq!(h.to_string(), "HEADERS stream=1 flags=END_STREAM|END_HEADERS len=42");
    /// let h = FrameHeader { len: 8, kind: FrameType::Ping, flags: 0x41, stream: 0 };
    /// assert_eq!(h.to_string(), "PING stream=0 flags=ACK|0x40 len=8");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} stream={} flags=", self.kind, self.stream)?;
        let mut rest = self.flags;
        if rest == 0 {
            f.write_str("0")?;
        }
        let mut sep = "";
        for &(bit, name) in self.kind.flag_names() {
            if rest & bit != 0 {
                write!(f, "{sep}{name}")?;
                rest &= !bit;
                sep = "|";
            }
        }
        if rest != 0 {
            write!(f, "{sep}0x{rest:02x}")?;
        }
        write!(f, " len={}", self.len)
    }
}

impl fmt::Display for Frame<'_> {
    /// The header, then the payload's fields.
    ///
    /// ```
    /// use wired_parser::http2::{Decoded, FrameDecoder};
    /// let wire = b"\0\0\x04\x08\0\0\0\0\0\0\x01\0\0";
    /// let Ok(Decoded::Frame { frame, .. }) = FrameDecoder::new().decode(wire) else { panic!() };
    /// assert_eq!(frame.to_string(), "WINDOW_UPDATE stream=0 flags=0 len=4 increment=65536");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.header)?;
        match self.payload {
            Payload::Data { data, .. } if data.len() != self.header.len as usize => write!(f, " data={}", data.len()),
            Payload::Data { .. } | Payload::Unknown { .. } => Ok(()),
            Payload::Headers { fragment, .. } | Payload::Continuation { fragment, .. } => {
                write!(f, " fragment={}", fragment.len())
            }
            Payload::Priority { exclusive, dependency, weight } => {
                write!(f, " dependency={dependency} weight={weight}")?;
                if exclusive { f.write_str(" exclusive") } else { Ok(()) }
            }
            Payload::RstStream { code } => write!(f, " error={code}"),
            Payload::Settings { settings, .. } => {
                settings.iter().try_for_each(|setting| write!(f, " {}={}", setting.id, setting.value))
            }
            Payload::PushPromise { promised, fragment, .. } => {
                write!(f, " promised={promised} fragment={}", fragment.len())
            }
            Payload::Ping { data, .. } => {
                f.write_str(" opaque=")?;
                data.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            // §6.8: debug data "could contain security- or privacy-sensitive
            // data"; a trace may be kept, so only its length is shown.
            Payload::GoAway { last_stream, code, debug } => {
                write!(f, " last_stream={last_stream} error={code} debug={}", debug.len())
            }
            Payload::WindowUpdate { increment } => write!(f, " increment={increment}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::http2::frame::{Decoded, FrameDecoder};

    fn line(wire: &[u8]) -> String {
        match FrameDecoder::new().decode(wire) {
            Ok(Decoded::Frame { frame, .. }) => frame.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_line_per_frame_type() {
        let table: [(&[u8], &str); 14] = [
            (b"\0\0\x05\x00\x01\0\0\0\x01hello", "DATA stream=1 flags=END_STREAM len=5"),
            (b"\0\0\x04\x00\x08\0\0\0\x01\x02a\0\0", "DATA stream=1 flags=PADDED len=4 data=1"),
            (
                b"\0\0\x03\x01\x05\0\0\0\x01\x82\x86\x84",
                "HEADERS stream=1 flags=END_STREAM|END_HEADERS len=3 fragment=3",
            ),
            (
                b"\0\0\x05\x02\x00\0\0\0\x03\x80\0\0\x01\x0f",
                "PRIORITY stream=3 flags=0 len=5 dependency=1 weight=15 exclusive",
            ),
            (b"\0\0\x04\x03\x00\0\0\0\x01\0\0\0\x08", "RST_STREAM stream=1 flags=0 len=4 error=CANCEL"),
            (
                b"\0\0\x0c\x04\x00\0\0\0\0\0\x03\0\0\0\x64\0\x08\0\0\0\x01",
                "SETTINGS stream=0 flags=0 len=12 MAX_CONCURRENT_STREAMS=100 0x8=1",
            ),
            (b"\0\0\0\x04\x01\0\0\0\0", "SETTINGS stream=0 flags=ACK len=0"),
            (
                b"\0\0\x05\x05\x04\0\0\0\x01\0\0\0\x02\x82",
                "PUSH_PROMISE stream=1 flags=END_HEADERS len=5 promised=2 fragment=1",
            ),
            (
                b"\0\0\x08\x06\x00\0\0\0\0\x01\x02\x03\x04\x05\x06\x07\x08",
                "PING stream=0 flags=0 len=8 opaque=0102030405060708",
            ),
            (
                b"\0\0\x0b\x07\x00\0\0\0\0\0\0\0\x07\0\0\0\x01abc",
                "GOAWAY stream=0 flags=0 len=11 last_stream=7 error=PROTOCOL_ERROR debug=3",
            ),
            (b"\0\0\x04\x08\x00\0\0\0\x05\0\0\x10\0", "WINDOW_UPDATE stream=5 flags=0 len=4 increment=4096"),
            (b"\0\0\x01\x01\x00\0\0\0\x01\x82", "HEADERS stream=1 flags=0 len=1 fragment=1"),
            (b"\0\0\x01\xfa\x81\0\0\0\x01x", "UNKNOWN(0xfa) stream=1 flags=0x81 len=1"),
            (b"\0\0\x04\x03\x00\0\0\0\x01\0\0\x01\0", "RST_STREAM stream=1 flags=0 len=4 error=0x100"),
        ];
        for (wire, expected) in table {
            assert_eq!(line(wire), expected);
        }
    }

    #[test]
    fn a_continuation_line() {
        let mut dec = FrameDecoder::new();
        let wire = b"\0\0\x01\x01\x00\0\0\0\x01\x82\0\0\x01\x09\x04\0\0\0\x01\x84";
        let Ok(Decoded::Frame { consumed, .. }) = dec.decode(wire) else { panic!() };
        let Ok(Decoded::Frame { frame, .. }) = dec.decode(&wire[consumed..]) else { panic!() };
        assert_eq!(frame.to_string(), "CONTINUATION stream=1 flags=END_HEADERS len=1 fragment=1");
    }
}
