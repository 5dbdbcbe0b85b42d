//! Protocol buffers wire format, the few parts OTLP needs: varints,
//! fixed-width numbers, length-delimited fields, and nested messages whose
//! length is written once their content is.
//!
//! A nested message is opened with a one-byte length placeholder; when it
//! is closed and its content took 128 bytes or more, the content is moved
//! up by the extra bytes of its length. Short messages (values, attributes,
//! most spans' parts) move nothing; a span moves its own bytes once, a
//! batch's scope moves the batch once.

/// Wire type of varints (integers, bools, enums).
const VARINT: u8 = 0;
/// Wire type of 64-bit fixed-width numbers (`fixed64`, `double`).
const FIXED64: u8 = 1;
/// Wire type of length-delimited fields (strings, bytes, messages).
const LEN: u8 = 2;
/// Wire type of 32-bit fixed-width numbers (`fixed32`).
const FIXED32: u8 = 5;

/// Writes protobuf into a byte buffer it borrows (the caller keeps and
/// reuses the buffer's memory).
pub(crate) struct Writer<'a> {
    pub(crate) buf: &'a mut Vec<u8>,
}

/// Where an open nested message's length goes.
#[derive(Clone, Copy)]
#[must_use = "a nested message must be closed with `Writer::close`"]
pub(crate) struct Open(usize);

#[inline]
fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// Where encoded bytes go: the request buffer ([`Writer`]) or a few bytes
/// on the stack ([`Fixed`]), with the field encodings shared.
pub(crate) trait Sink {
    fn put(&mut self, byte: u8);
    fn put_slice(&mut self, bytes: &[u8]);

    #[inline]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // Truncation keeps the low seven bits, with the continuation bit.
            #[allow(clippy::cast_possible_truncation)]
            self.put((value as u8) | 0x80);
            value >>= 7;
        }
        #[allow(clippy::cast_possible_truncation)]
        self.put(value as u8);
    }

    #[inline]
    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field << 3 | u32::from(wire_type)));
    }

    /// A varint field, omitted when zero (proto3's default).
    #[inline]
    fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.tag(field, VARINT);
            self.varint(value);
        }
    }

    /// A varint field written even when zero (a `oneof` member).
    #[inline]
    fn uint_always(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    /// A `fixed64` field, omitted when zero.
    #[inline]
    fn fixed64(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.fixed64_always(field, value);
        }
    }

    /// A 64-bit fixed-width field written even when zero (a `oneof`
    /// `double`, or an array element).
    #[inline]
    fn fixed64_always(&mut self, field: u32, value: u64) {
        self.tag(field, FIXED64);
        self.put_slice(&value.to_le_bytes());
    }

    /// A `fixed32` field, omitted when zero.
    #[inline]
    fn fixed32(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.tag(field, FIXED32);
            self.put_slice(&value.to_le_bytes());
        }
    }

    /// A string or bytes field, omitted when empty.
    #[inline]
    fn bytes(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.bytes_always(field, value);
        }
    }

    /// A string or bytes field written even when empty (a `oneof` member).
    #[inline]
    fn bytes_always(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.put_slice(value);
    }
}

impl Sink for Writer<'_> {
    #[inline]
    fn put(&mut self, byte: u8) {
        self.buf.push(byte);
    }

    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

/// Up to [`Fixed::CAPACITY`] bytes of fields built on the stack and appended
/// to the buffer at once ([`Writer::append`]): a span's ids, flags, kind and
/// times cost one append instead of a capacity check per byte.
pub(crate) struct Fixed {
    bytes: [u8; Fixed::CAPACITY],
    len: usize,
}

impl Fixed {
    pub(crate) const CAPACITY: usize = 96;

    #[inline]
    pub(crate) fn new() -> Fixed {
        Fixed {
            bytes: [0; Fixed::CAPACITY],
            len: 0,
        }
    }
}

impl Sink for Fixed {
    /// # Panics
    /// Past [`Fixed::CAPACITY`] bytes (a bug in the caller's sizes).
    #[inline]
    fn put(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

impl Writer<'_> {
    /// Appends the fields built in `fixed`.
    #[inline]
    pub(crate) fn append(&mut self, fixed: &Fixed) {
        self.buf.extend_from_slice(&fixed.bytes[..fixed.len]);
    }

    /// Opens nested message `field`; write its fields, then [`close`](Self::close) it.
    #[inline]
    pub(crate) fn open(&mut self, field: u32) -> Open {
        Sink::tag(self, field, LEN);
        self.buf.push(0);
        Open(self.buf.len())
    }

    /// Writes the length of the message opened at `open`.
    #[inline]
    pub(crate) fn close(&mut self, open: Open) {
        let start = open.0;
        let len = self.buf.len() - start;
        if len < 0x80 {
            // Checked just above: it fits the placeholder byte.
            #[allow(clippy::cast_possible_truncation)]
            let byte = len as u8;
            self.buf[start - 1] = byte;
            return;
        }
        self.close_long(start, len);
    }

    #[inline(never)]
    fn close_long(&mut self, start: usize, len: usize) {
        let extra = varint_len(len as u64) - 1;
        let end = self.buf.len();
        self.buf.resize(end + extra, 0);
        self.buf.copy_within(start..end, start + extra);
        let mut at = start - 1;
        let mut value = len as u64;
        while value >= 0x80 {
            #[allow(clippy::cast_possible_truncation)]
            let byte = (value as u8) | 0x80;
            self.buf[at] = byte;
            value >>= 7;
            at += 1;
        }
        #[allow(clippy::cast_possible_truncation)]
        let byte = value as u8;
        self.buf[at] = byte;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lengths_take_as_many_bytes_as_they_need() {
        for len in [0_usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut buf = Vec::new();
            let mut w = Writer { buf: &mut buf };
            let open = w.open(2);
            w.buf.extend(std::iter::repeat_n(7_u8, len));
            w.close(open);
            let mut expected = Vec::new();
            Writer { buf: &mut expected }.bytes_always(2, &vec![7_u8; len]);
            assert_eq!(buf, expected, "content of {len} bytes");
        }
    }

    #[test]
    fn varints_and_defaults_follow_the_wire_format() {
        let mut buf = Vec::new();
        let mut w = Writer { buf: &mut buf };
        w.uint(1, 0);
        w.bytes(2, b"");
        w.fixed64(3, 0);
        w.fixed32(4, 0);
        assert!(w.buf.is_empty(), "proto3 defaults are not written");
        w.uint(1, 300);
        w.uint_always(2, 0);
        w.fixed32(16, 0x101);
        assert_eq!(
            buf,
            [0x08, 0xac, 0x02, 0x10, 0x00, 0x85, 0x01, 0x01, 0x01, 0, 0]
        );
    }
}
