//! A small JSON writer that lays text out the way Python's `json.dumps(obj, indent=4)` does.
//!
//! The console exporter promises byte-for-byte the output of Python OpenTelemetry's
//! `ConsoleSpanExporter`, so the rules here follow the `json` module of `CPython` rather than any
//! Rust serializer: one item per line ending in a bare `,`, `"key": value`, `[]`/`{}` for
//! empty containers, `NaN`/`Infinity` for non-finite floats, `repr()`-style floats (`1.0`, `1e+16`)
//! and, by default, every non-ASCII character escaped as `\uXXXX`.

use std::fmt::Write as _;

const INDENT: &str = "    ";

/// What a string escape does with characters outside ASCII.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NonAscii {
    /// `\uXXXX` (surrogate pairs above the BMP), as Python's default `ensure_ascii=True`.
    Escape,
    /// Written as they are: the RFC 8259 minimum, easier for people to read.
    Keep,
}

/// Streams one JSON value into a `String`, pretty-printed with a 4-space indent.
///
/// The caller drives it like an event stream (`begin_object`, `key`, a value, ...,
/// `end_object`). It does not validate the sequence: it serves only the exporters in this
/// module, whose call order is fixed by code.
pub(crate) struct JsonWriter<'a> {
    out: &'a mut String,
    /// How many containers are open.
    depth: u32,
    /// Bit `d` of the open container at depth `d + 1`: whether it has received an item yet
    /// (the exporters here nest a handful deep, never 128).
    has_items: u128,
    /// A key was just written, so the next value belongs on the same line.
    after_key: bool,
}

impl<'a> JsonWriter<'a> {
    /// Writes into `out`, appending to what it already holds.
    pub(crate) fn new(out: &'a mut String) -> Self {
        Self {
            out,
            depth: 0,
            has_items: 0,
            after_key: false,
        }
    }

    /// Writes one member's value into `out` as if `depth` containers were open around it (for
    /// a part written once and then reused with [`raw`](Self::raw) at that depth).
    pub(crate) fn at_depth(out: &'a mut String, depth: u32) -> Self {
        Self {
            out,
            depth,
            has_items: 0,
            // The value follows its key on the key's line.
            after_key: true,
        }
    }

    /// A value written before, at this depth, by a writer from [`at_depth`](Self::at_depth).
    pub(crate) fn raw(&mut self, value: &str) {
        self.before_value();
        self.out.push_str(value);
    }

    /// The text written so far, to add what is outside any JSON value (a newline between
    /// values).
    pub(crate) fn out(&mut self) -> &mut String {
        self.out
    }

    fn open(&mut self) {
        assert!(self.depth < 128, "JSON nested too deep");
        self.has_items &= !(1 << self.depth);
        self.depth += 1;
    }

    pub(crate) fn begin_object(&mut self) {
        self.before_value();
        self.out.push('{');
        self.open();
    }

    pub(crate) fn end_object(&mut self) {
        self.close('}');
    }

    pub(crate) fn begin_array(&mut self) {
        self.before_value();
        self.out.push('[');
        self.open();
    }

    pub(crate) fn end_array(&mut self) {
        self.close(']');
    }

    /// Starts an object member; the next call writes its value.
    pub(crate) fn key(&mut self, key: &str) {
        self.before_item();
        push_string(self.out, key, NonAscii::Escape);
        self.out.push_str(": ");
        self.after_key = true;
    }

    pub(crate) fn string(&mut self, value: &str) {
        self.before_value();
        push_string(self.out, value, NonAscii::Escape);
    }

    pub(crate) fn int(&mut self, value: i64) {
        self.before_value();
        push_i64(self.out, value);
    }

    pub(crate) fn float(&mut self, value: f64) {
        self.before_value();
        push_float(self.out, value);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
    }

    pub(crate) fn null(&mut self) {
        self.before_value();
        self.out.push_str("null");
    }

    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
        } else {
            self.before_item();
        }
    }

    fn before_item(&mut self) {
        if self.depth == 0 {
            return;
        }
        let bit = 1 << (self.depth - 1);
        if self.has_items & bit != 0 {
            self.out.push(',');
        }
        self.has_items |= bit;
        self.newline(self.depth);
    }

    fn close(&mut self, bracket: char) {
        if self.depth > 0 {
            self.depth -= 1;
            if self.has_items & (1 << self.depth) != 0 {
                self.newline(self.depth);
            }
        }
        self.out.push(bracket);
    }

    fn newline(&mut self, depth: u32) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }
}

/// Appends `value` as a quoted JSON string.
///
/// Always escaped: `"`, `\` and the C0 controls (short forms `\b \f \n \r \t`, the rest as
/// `\u00XX`). With [`NonAscii::Escape`], DEL and everything beyond ASCII are escaped too,
/// exactly as Python's `json.dumps` does by default.
pub(crate) fn push_string(out: &mut String, value: &str, non_ascii: NonAscii) {
    let needs_escape = match non_ascii {
        NonAscii::Escape => &ESCAPED_ASCII_ONLY,
        NonAscii::Keep => &ESCAPED,
    };
    out.push('"');
    // Runs of characters written as they are go in with one copy; what needs an escape is
    // always a whole character at the position found, so every slice is on a boundary.
    let mut rest = value;
    while let Some(at) = (rest.as_bytes().iter()).position(|&b| needs_escape[usize::from(b)]) {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or_default();
        push_escaped(out, c);
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
    out.push('"');
}

/// The bytes that start a character JSON needs escaped: `"`, `\` and the C0 controls.
const ESCAPED: [bool; 256] = escaped_bytes(false);
/// [`ESCAPED`], and DEL and every byte of a character beyond ASCII.
const ESCAPED_ASCII_ONLY: [bool; 256] = escaped_bytes(true);

const fn escaped_bytes(non_ascii: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] =
            b < 0x20 || b == b'"' as usize || b == b'\\' as usize || (non_ascii && b >= 0x7f);
        b += 1;
    }
    table
}

/// `ascii` as text.
pub(crate) fn ascii_str(ascii: &[u8]) -> &str {
    debug_assert!(ascii.is_ascii());
    // SAFETY: every caller passes ASCII only (digits, hex and punctuation it wrote itself),
    // which is UTF-8; checking it again costs as much as writing it.
    unsafe { std::str::from_utf8_unchecked(ascii) }
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
}

/// "00" to "99", for writing decimal digits two at a time.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut i = 0;
    while i < 100 {
        // Digits: below 10.
        #[allow(clippy::cast_possible_truncation)]
        {
            pairs[2 * i] = b'0' + (i / 10) as u8;
            pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        }
        i += 1;
    }
    pairs
};

/// Appends ASCII bytes the callers here produced (digits, hex, punctuation).
fn push_ascii(out: &mut String, ascii: &[u8]) {
    out.push_str(ascii_str(ascii));
}

/// Appends `value` in decimal, without the formatting machinery.
pub(crate) fn push_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while value >= 100 {
        // Below 100.
        #[allow(clippy::cast_possible_truncation)]
        let pair = 2 * (value % 100) as usize;
        value /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    // Below 100.
    #[allow(clippy::cast_possible_truncation)]
    let last = value as usize;
    if last >= 10 {
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[2 * last..2 * last + 2]);
    } else {
        at -= 1;
        digits[at] = DIGIT_PAIRS[2 * last + 1];
    }
    push_ascii(out, &digits[at..]);
}

/// Appends `value` in decimal, without the formatting machinery.
pub(crate) fn push_i64(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    push_u64(out, value.unsigned_abs());
}

/// Appends `bytes` as lowercase hex, the way OpenTelemetry writes ids.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    let mut hex = [0u8; 32];
    let len = write_hex(&mut hex, bytes);
    push_ascii(out, &hex[..len]);
}

/// Writes the lowercase hex of `bytes` (as many as fit) at the start of
/// `dst`, two digits a byte, and returns how many digits it wrote.
pub(crate) fn write_hex(dst: &mut [u8], bytes: &[u8]) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut len = 0;
    for (pair, byte) in dst.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
        len += 2;
    }
    len
}

/// Appends `value` the way Python's `json.dumps` prints a float.
///
/// That is `float.__repr__`: the shortest digits that round-trip, positional notation for
/// decimal exponents from -4 to 15 (always with a fractional part, so `1.0`), scientific
/// notation outside that range (`1e+16`, `2.5e-07`), and the bare words `NaN`, `Infinity`,
/// `-Infinity` for values JSON cannot express.
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // Rust's `{:e}` already yields the shortest round-trip digits; only the layout differs.
    // Written on the stack: a float is printed without allocating.
    let mut scientific = StackText::<40>::new();
    let _ = write!(scientific, "{value:e}");
    let (mantissa, exponent) = scientific
        .as_str()
        .split_once('e')
        .expect("`{:e}` output always contains an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let mut digits = StackText::<40>::new();
    for c in mantissa.chars().filter(|c| *c != '.') {
        let _ = digits.write_char(c);
    }
    let digits = digits.as_str();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        push_positional(out, digits, exponent + 1);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exp_sign}{:02}", exponent.unsigned_abs());
    }
}

/// ASCII text of at most `N` bytes on the stack (what does not fit is an error).
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> std::fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Lays out `digits` with the decimal point `point` places from their start.
fn push_positional(out: &mut String, digits: &str, point: i32) {
    let Ok(point) = usize::try_from(point) else {
        out.push_str("0.");
        for _ in 0..point.unsigned_abs() {
            out.push('0');
        }
        out.push_str(digits);
        return;
    };
    if point == 0 {
        out.push_str("0.");
        out.push_str(digits);
    } else if point >= digits.len() {
        out.push_str(digits);
        for _ in digits.len()..point {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(value: f64) -> String {
        let mut out = String::new();
        push_float(&mut out, value);
        out
    }

    fn string(value: &str, non_ascii: NonAscii) -> String {
        let mut out = String::new();
        push_string(&mut out, value, non_ascii);
        out
    }

    #[test]
    fn integers_and_hex_print_like_the_formatting_machinery() {
        for value in [
            0,
            1,
            9,
            10,
            99,
            100,
            101,
            999,
            1_000,
            65_535,
            1_700_000_000_123_456_789,
            u64::MAX,
        ] {
            let mut out = String::new();
            push_u64(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        for value in [i64::MIN, -100, -1, 0, 42, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        let mut out = String::new();
        push_hex(&mut out, &[0x00, 0x0a, 0xf7, 0xff]);
        assert_eq!(out, "000af7ff");
    }

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123_456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (1_234_567_890_123_456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e100, "1e+100"),
            (0.0001, "0.0001"),
            (0.000_123, "0.000123"),
            (0.00001, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (-1.25e-300, "-1.25e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(float(value), expected, "repr of {value:?}");
        }
    }

    #[test]
    fn finite_floats_round_trip_through_serde_json() {
        for value in [1.0, 0.1, 1e-7, 6.022_140_76e23, -3.5, 1e16, 0.000_999] {
            let parsed: f64 = serde_json::from_str(&float(value)).unwrap();
            assert_eq!(parsed.to_bits(), value.to_bits(), "{value:?}");
        }
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(
            string("a\"b\\c\n\r\t\u{8}\u{c}", NonAscii::Escape),
            r#""a\"b\\c\n\r\t\b\f""#
        );
        assert_eq!(
            string("\u{0}\u{1}\u{1f}\u{7f}", NonAscii::Escape),
            r#""\u0000\u0001\u001f\u007f""#
        );
        assert_eq!(string("/ <>&'", NonAscii::Escape), r#""/ <>&'""#);
    }

    #[test]
    fn non_ascii_is_escaped_like_python_or_kept() {
        assert_eq!(
            string("é€😀", NonAscii::Escape),
            r#""\u00e9\u20ac\ud83d\ude00""#
        );
        assert_eq!(string("é€😀\u{7f}", NonAscii::Keep), "\"é€😀\u{7f}\"");
        assert_eq!(string("\u{1}", NonAscii::Keep), r#""\u0001""#);
        let decoded: String = serde_json::from_str(&string("é€😀\u{0}", NonAscii::Escape)).unwrap();
        assert_eq!(decoded, "é€😀\u{0}");
    }

    #[test]
    fn pretty_layout_matches_python_indent_4() {
        let mut out = String::new();
        let mut w = JsonWriter::new(&mut out);
        w.begin_object();
        w.key("name");
        w.string("x");
        w.key("empty_list");
        w.begin_array();
        w.end_array();
        w.key("empty_map");
        w.begin_object();
        w.end_object();
        w.key("list");
        w.begin_array();
        w.int(-1);
        w.float(2.0);
        w.bool(true);
        w.null();
        w.begin_object();
        w.key("k");
        w.bool(false);
        w.end_object();
        w.end_array();
        w.end_object();
        let expected = r#"{
    "name": "x",
    "empty_list": [],
    "empty_map": {},
    "list": [
        -1,
        2.0,
        true,
        null,
        {
            "k": false
        }
    ]
}"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn top_level_scalars_and_empty_containers() {
        let mut out = String::new();
        let mut w = JsonWriter::new(&mut out);
        w.begin_array();
        w.end_array();
        assert_eq!(out, "[]");

        let mut out = String::new();
        JsonWriter::new(&mut out).int(i64::MIN);
        assert_eq!(out, "-9223372036854775808");
    }
}
