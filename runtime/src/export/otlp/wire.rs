//! Protocol buffers wire format, the few parts OTLP needs: varints,
//! fixed-width numbers, length-delimited fields, and nested messages whose
//! length is written once their content is.
//!
//! A nested message is opened with a length placeholder as wide as the
//! varint of the length it is expected to have (one byte when nothing is
//! known); when it is closed with a length of another width, its content
//! is moved by the difference. The encoder measures plain spans and the
//! batch beforehand, so they move nothing; a wrong guess costs a move,
//! never a wrong length.
//!
//! [`Reserved`] writes into memory reserved beforehand, with one bounds
//! check per write and the position kept in a register instead of the
//! `Vec`'s length.

use std::mem::MaybeUninit;

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

/// Where an open nested message's length goes: its content starts at
/// `start`, after a placeholder of `width` bytes.
#[derive(Clone, Copy)]
#[must_use = "a nested message must be closed with `Writer::close`"]
pub(crate) struct Open {
    start: usize,
    width: usize,
}

/// The bytes of `value` as a varint.
#[inline]
pub(crate) fn varint_len(mut value: u64) -> usize {
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
        Open {
            start: self.buf.len(),
            width: 1,
        }
    }

    /// Opens nested message `field` whose content is expected to take
    /// `expected` bytes: its length's place is as wide as that length
    /// needs, so that closing it moves nothing when the guess is right.
    #[inline]
    pub(crate) fn open_sized(&mut self, field: u32, expected: usize) -> Open {
        Sink::tag(self, field, LEN);
        let width = varint_len(expected as u64);
        let at = self.buf.len();
        self.buf.resize(at + width, 0);
        Open {
            start: self.buf.len(),
            width,
        }
    }

    /// Writes the length of the message opened at `open`.
    #[inline]
    pub(crate) fn close(&mut self, open: Open) {
        let len = self.buf.len() - open.start;
        if open.width == 1 && len < 0x80 {
            // Checked just above: it fits the placeholder byte.
            #[allow(clippy::cast_possible_truncation)]
            let byte = len as u8;
            self.buf[open.start - 1] = byte;
            return;
        }
        self.close_wide(open, len);
    }

    /// Writes a length wider than one byte, or one the placeholder was not
    /// sized for: the content moves by the difference of widths first.
    fn close_wide(&mut self, open: Open, len: usize) {
        let width = varint_len(len as u64);
        let mut start = open.start;
        if width != open.width {
            let end = self.buf.len();
            let to = start - open.width + width;
            if width > open.width {
                self.buf.resize(end + width - open.width, 0);
            }
            self.buf.copy_within(start..end, to);
            self.buf.truncate(to + len);
            start = to;
        }
        let mut at = start - width;
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

    /// Writes message `field` whose content is measured to take `len`
    /// bytes: its tag, length and content (by `write`, through a
    /// [`Reserved`] holding `len` bytes and `slack` more) go into memory
    /// reserved once. Content of another length than measured (a bug) is
    /// moved to fit its length, as [`close`](Self::close) does.
    #[inline]
    pub(crate) fn message(
        &mut self,
        field: u32,
        len: usize,
        slack: usize,
        write: impl FnOnce(&mut Reserved<'_>),
    ) {
        self.buf.reserve(len + slack + 2 * 5);
        let start = self.buf.len();
        let mut out = Reserved {
            out: self.buf.spare_capacity_mut(),
            at: 0,
        };
        out.tag(field, LEN);
        out.varint(len as u64);
        let content = out.at;
        write(&mut out);
        let written = out.at;
        // SAFETY: `Reserved` moves `at` only past bytes it has written, so
        // the first `written` bytes of the spare capacity are initialized.
        unsafe { self.buf.set_len(start + written) };
        if written - content != len {
            let open = Open {
                start: start + content,
                width: varint_len(len as u64),
            };
            self.close_wide(open, written - content);
        }
    }
}

/// Writes into a `Vec`'s spare capacity (see [`Writer::message`]).
pub(crate) struct Reserved<'a> {
    out: &'a mut [MaybeUninit<u8>],
    at: usize,
}

impl Reserved<'_> {
    /// Writes all of `bytes` but keeps only the first `used` (at most
    /// `N`): a block of constant size copies without a loop or a call,
    /// and the next write goes over what is not kept.
    #[inline]
    pub(crate) fn put_prefix<const N: usize>(&mut self, bytes: &[u8; N], used: usize) {
        copy(&mut self.out[self.at..self.at + N], bytes);
        self.at += used.min(N);
    }
}

/// Copies `src` into `dst`, which is as long. Up to 16 bytes (names, keys,
/// short values) as two overlapping words, not through a call to `memcpy`.
#[inline]
fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    let len = src.len();
    let words = |dst: &mut [MaybeUninit<u8>], first: &[u8], last: &[u8]| {
        copy_exact(&mut dst[..first.len()], first);
        copy_exact(&mut dst[len - last.len()..], last);
    };
    match len {
        8..=16 => words(dst, &src[..8], &src[len - 8..]),
        4..=7 => words(dst, &src[..4], &src[len - 4..]),
        0..=3 => {
            for (d, s) in dst.iter_mut().zip(src) {
                d.write(*s);
            }
        }
        _ => copy_exact(dst, src),
    }
}

#[inline]
fn copy_exact(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: both hold `src.len()` bytes (checked above), `MaybeUninit<u8>`
    // is laid out as `u8`, and a `&mut` and a `&` never overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len());
    }
}

impl Sink for Reserved<'_> {
    /// # Panics
    /// Past the reserved memory (a bug in the caller's measure).
    #[inline]
    fn put(&mut self, byte: u8) {
        self.out[self.at].write(byte);
        self.at += 1;
    }

    #[inline]
    fn put_slice(&mut self, bytes: &[u8]) {
        copy(&mut self.out[self.at..self.at + bytes.len()], bytes);
        self.at += bytes.len();
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
    fn sized_lengths_move_the_content_when_the_guess_is_wrong() {
        for guess in [0_usize, 1, 127, 128, 300, 20_000, 3_000_000] {
            for len in [0_usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
                let mut buf = vec![1, 2, 3];
                let mut w = Writer { buf: &mut buf };
                let open = w.open_sized(2, guess);
                let content: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
                w.buf.extend_from_slice(&content);
                w.close(open);
                w.buf.push(9);
                // Measured wrong, written through `Reserved`.
                w.message(2, guess, len, |out| out.put_slice(&content));
                let mut expected = vec![1, 2, 3];
                let mut x = Writer { buf: &mut expected };
                x.bytes_always(2, &content);
                x.buf.push(9);
                x.bytes_always(2, &content);
                assert_eq!(buf, expected, "content of {len} bytes, {guess} guessed");
            }
        }
    }

    #[test]
    fn reserved_writes_copy_every_length() {
        let text: Vec<u8> = (1..=40).collect();
        for len in 0..=40 {
            let mut buf = vec![0xee];
            let mut w = Writer { buf: &mut buf };
            w.message(3, len, 0, |out| out.put_slice(&text[..len]));
            let mut expected = vec![0xee];
            Writer { buf: &mut expected }.bytes_always(3, &text[..len]);
            assert_eq!(buf, expected, "{len} bytes");
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
