//! The W3C Baggage `baggage` header: user key/value pairs, each with optional properties.
//!
//! Section names in quotes refer to the W3C Baggage specification, "Baggage HTTP Header
//! Format" (w3c/baggage `baggage/HTTP_HEADER_FORMAT.md`).
//!
//! Parsing is lenient per list-member: a list-member that breaks the grammar is dropped and the
//! others are kept, so one bad entry never costs the rest ("Mutating baggage": for a
//! `baggage-string` not in the format the behavior is undefined, and an implementation "MAY
//! remove an offending `list-member` before propagating the rest"). In detail:
//!
//! - A list-member is dropped when its key is not an RFC 7230 token, it has no `=`, its value
//!   has a byte outside `baggage-octet`, or it has a malformed property (see below).
//! - A `%` not followed by two hex digits, in a value or a property value, makes the
//!   list-member malformed ("value": the percent code point MUST be percent-encoded), so it is
//!   dropped. Passing it on re-encoded as `%25` would change what the sender wrote, keeping it
//!   raw would propagate a non-conforming value. The OpenTelemetry SDKs disagree: Go (its
//!   `url.PathUnescape` fails) and Java (since its 2026 fix, before which the whole header was
//!   lost) skip the list-member; Python (`unquote_plus`) and Rust (`percent_decode_str`) keep
//!   the `%` as a literal character. Dropping only the offending list-member is the spec's own
//!   example.
//! - A `+` is a literal plus sign: the spec uses RFC 3986 percent-encoding, not HTML forms.
//! - Empty list-members (`a=1,,b=2`, or an empty `baggage` field among several) and empty
//!   properties (`k=v;`, `k=v;;p`) carry nothing and are skipped without dropping anything
//!   else. The "Definition" grammar has no empty elements, so such input is "not in the
//!   format" and left to the implementation; skipping them is what RFC 7230 section 7 ("ABNF
//!   List Extension") asks of recipients of comma-separated fields, and what the Go SDK does
//!   with empty properties.
//! - A malformed property (a key that is not a token, a value outside `baggage-octet` or with
//!   a malformed `%`) drops its whole list-member rather than just the property: the spec gives
//!   properties no meaning ("property"), so a member cannot be told to be still right without
//!   one of them; the Go SDK and the spec's reference implementation do the same.
//!
//! Limits ("Limits"): a platform MUST propagate a `baggage-string` of 64 list-members or fewer
//! and 8192 bytes or fewer, MAY drop list-members beyond that ("the above limits are _minimum_
//! requirements"; an implementor "SHOULD propagate as much baggage information as is
//! reasonable"), and MUST NOT propagate partial list-members. This codec keeps up to
//! [`MAX_MEMBERS`] = 180 list-members and [`MAX_BYTES`] = 8192 bytes, counted on the header
//! this codec writes, on extract and on inject alike. A list-member that does not fit is
//! dropped whole; later, smaller ones may still fit. There is no per-list-member limit: the
//! 4096 bytes of the 2020 draft were replaced in 2022 by the text above, which requires a
//! single list-member of 8192 bytes to be propagated.
//!
//! Other implementations: the OpenTelemetry Python, JS and Ruby SDKs still apply the 2020
//! draft's 180 list-members, 4096 bytes per list-member and 8192 in all; Go (since 1.41),
//! Java and Rust (`opentelemetry` 0.33) keep 64 list-members and 8192 bytes. 180 accepts all
//! that either kind sends; a downstream service that keeps fewer drops the rest itself.

use crate::model::valid_baggage_key;

/// Most list-members kept: at least the 64 "Limits" requires, and the 180 the "Definition"
/// grammar allows (`list-member 0*179( OWS "," OWS list-member )`), so that nothing a
/// conforming sender writes within 8192 bytes is lost here.
pub(crate) const MAX_MEMBERS: usize = 180;

/// Most bytes of formatted header kept, commas included ("Limits": a platform MUST propagate
/// a `baggage-string` of 8192 bytes or less; this framework propagates exactly that much).
pub(crate) const MAX_BYTES: usize = 8192;

/// One list-member: the model's, as the context carries it.
pub(crate) use crate::model::BaggageMember as BaggageEntry;

/// A parsed `baggage`: entries in header order, duplicates kept ("baggage-string": the order
/// of duplicate entries SHOULD be preserved), within [`MAX_MEMBERS`] and [`MAX_BYTES`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Baggage {
    /// The entries, in order.
    entries: Vec<BaggageEntry>,
    /// Length of [`Baggage::format`]'s output, kept to enforce [`MAX_BYTES`].
    bytes: usize,
}

impl Baggage {
    /// Parses a `baggage` value, keeping every valid list-member that fits the limits.
    ///
    /// A member is `key OWS "=" OWS value *( OWS ";" OWS property )` ("Definition");
    /// whitespace around keys, values and properties is trimmed ("key", "value", "property").
    /// What is dropped, and why, is in the module documentation. Extraction reads every
    /// `baggage` field with [`Baggage::parse_all`]; this one-header form serves the tests.
    #[cfg(test)]
    pub(crate) fn parse(header: &str) -> Baggage {
        Baggage::parse_all(&[header])
    }

    /// Parses several `baggage` fields of one request as one list: "Baggage HTTP Header
    /// Format" allows multiple headers, combined as RFC 7230 "Field Order" does (joined with
    /// `,`), and "Limits" apply to the combination.
    pub(crate) fn parse_all(headers: &[&str]) -> Baggage {
        let mut baggage = Baggage::default();
        // Decoded value bytes, reused so that members that do not fit cost no allocation.
        let mut scratch = Vec::new();
        for member in headers.iter().flat_map(|header| header.split(',')) {
            if baggage.is_full() {
                break;
            }
            let Some(member) = RawMember::parse(member) else {
                continue;
            };
            // Every three bytes of a raw value give at least one byte of formatted value:
            // skip what cannot fit before decoding it.
            let room = MAX_BYTES - baggage.bytes;
            if member.key.len() + 1 + member.value.len().div_ceil(3) > room {
                continue;
            }
            percent_decode_into(member.value, &mut scratch);
            let value_bytes = encoded_len_lossy(&scratch);
            let Some(bytes) = baggage.bytes_with(member.key, value_bytes, member.properties.len)
            else {
                continue;
            };
            baggage.entries.push(BaggageEntry {
                key: member.key.to_owned(),
                value: String::from_utf8_lossy(&scratch).into_owned(),
                properties: member.properties.normalized(),
            });
            baggage.bytes = bytes;
        }
        baggage
    }

    /// Appends an entry built in process. `properties` uses the form [`BaggageEntry`] stores
    /// (`k1=v1;k2`, property values percent-encoded, or empty). Returns `false`, changing
    /// nothing, when `key` is not a token, a property is malformed, or the entry does not fit
    /// the limits.
    pub(crate) fn push(&mut self, key: &str, value: &str, properties: &str) -> bool {
        let Some(properties) = RawProperties::parse(properties) else {
            return false;
        };
        if !valid_baggage_key(key) {
            return false;
        }
        let value_bytes = value.bytes().map(encoded_byte_len).sum();
        let Some(bytes) = self.bytes_with(key, value_bytes, properties.len) else {
            return false;
        };
        self.entries.push(BaggageEntry {
            key: key.to_owned(),
            value: value.to_owned(),
            properties: properties.normalized(),
        });
        self.bytes = bytes;
        true
    }

    /// The entries, in header order, moved out.
    pub(crate) fn into_entries(self) -> Vec<BaggageEntry> {
        self.entries
    }

    /// The entries, in order.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[BaggageEntry] {
        &self.entries
    }

    /// Whether there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header value: `key=value;properties` members joined by `,` without whitespace.
    /// Every value byte outside `baggage-octet` is written as `%XX` ("value": such code points
    /// MUST be percent-encoded), and so are `%` (MUST) and `+` (MAY: the OpenTelemetry Python
    /// SDK decodes a raw `+` as a space). [`Baggage::parse`] gives back the same entries.
    pub(crate) fn format(&self) -> String {
        let mut out = String::with_capacity(self.bytes);
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&entry.key);
            out.push('=');
            percent_encode_into(&entry.value, &mut out);
            if !entry.properties.is_empty() {
                out.push(';');
                out.push_str(&entry.properties);
            }
        }
        out
    }

    /// Whether no list-member could be added any more: [`MAX_MEMBERS`] are kept, or the
    /// shortest one (`,k=`) would pass [`MAX_BYTES`].
    fn is_full(&self) -> bool {
        let comma = usize::from(!self.entries.is_empty());
        self.entries.len() >= MAX_MEMBERS || self.bytes + comma + 2 > MAX_BYTES
    }

    /// The formatted length with one more entry of `key`, a value that formats to
    /// `value_bytes`, and normalized properties of `properties_bytes`; `None` when the entry
    /// does not fit [`MAX_MEMBERS`] and [`MAX_BYTES`] ("Limits").
    fn bytes_with(&self, key: &str, value_bytes: usize, properties_bytes: usize) -> Option<usize> {
        let comma = usize::from(!self.entries.is_empty());
        let properties = if properties_bytes == 0 {
            0
        } else {
            1 + properties_bytes
        };
        let bytes = self.bytes + comma + key.len() + 1 + value_bytes + properties;
        (self.entries.len() < MAX_MEMBERS && bytes <= MAX_BYTES).then_some(bytes)
    }
}

/// A list-member that passed the "Definition" grammar, still borrowing the header.
struct RawMember<'a> {
    /// The key, whitespace trimmed.
    key: &'a str,
    /// The value as sent, whitespace trimmed: `baggage-octet`s with well-formed escapes.
    value: &'a str,
    /// The properties after the first `;`.
    properties: RawProperties<'a>,
}

impl<'a> RawMember<'a> {
    /// Checks one list-member; `None` when it breaks the grammar.
    fn parse(member: &'a str) -> Option<RawMember<'a>> {
        let (pair, properties) = match member.split_once(';') {
            Some((pair, properties)) => (pair, RawProperties::parse(properties)?),
            None => (member, RawProperties::NONE),
        };
        let (key, value) = pair.split_once('=')?;
        let (key, value) = (trim_ows(key), trim_ows(value));
        (valid_baggage_key(key) && is_encoded_value(value)).then_some(RawMember {
            key,
            value,
            properties,
        })
    }
}

/// Properties that passed `property *( OWS ";" OWS property )`, with `property = key OWS "="
/// OWS value / key OWS` ("Definition"), empty properties allowed and skipped.
#[derive(Clone, Copy)]
struct RawProperties<'a> {
    /// The text after a list-member's first `;`.
    raw: &'a str,
    /// Length of [`RawProperties::normalized`].
    len: usize,
}

impl<'a> RawProperties<'a> {
    /// No properties.
    const NONE: RawProperties<'static> = RawProperties { raw: "", len: 0 };

    /// Checks every property of `raw`; `None` when one is malformed.
    fn parse(raw: &'a str) -> Option<RawProperties<'a>> {
        let mut len = 0;
        for property in raw.split(';') {
            let Some((key, value)) = split_property(property) else {
                continue;
            };
            if !valid_baggage_key(key) || !value.is_none_or(is_encoded_value) {
                return None;
            }
            len += usize::from(len > 0) + key.len() + value.map_or(0, |v| 1 + v.len());
        }
        Some(RawProperties { raw, len })
    }

    /// The properties trimmed of whitespace, without empty ones, joined by `;`.
    fn normalized(self) -> String {
        let mut out = String::with_capacity(self.len);
        for (key, value) in self.raw.split(';').filter_map(split_property) {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(key);
            if let Some(value) = value {
                out.push('=');
                out.push_str(value);
            }
        }
        out
    }
}

/// One property's trimmed key and value (`None` for a key alone); `None` for an empty
/// property.
fn split_property(property: &str) -> Option<(&str, Option<&str>)> {
    match property.split_once('=') {
        Some((key, value)) => Some((trim_ows(key), Some(trim_ows(value)))),
        None => {
            let key = trim_ows(property);
            (!key.is_empty()).then_some((key, None))
        }
    }
}

/// Removes `OWS = *( SP / HTAB )` at both ends (RFC 7230 "Whitespace").
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// "Definition": `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`, ASCII
/// without controls, whitespace, `"`, `,`, `;` and `\`.
fn is_baggage_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// Whether `value` is `*baggage-octet` with every `%` starting a `%XX` escape ("value": the
/// percent code point MUST be percent-encoded).
fn is_encoded_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if !is_baggage_octet(byte) {
            return false;
        }
        if byte == b'%' {
            match bytes.get(i + 1..i + 3) {
                Some(&[high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                    i += 3;
                }
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// Whether `format` writes `byte` of a value as is: a `baggage-octet` other than `%`, which
/// would read back as the start of an escape, and `+`, which form decoders (the OpenTelemetry
/// Python SDK's `unquote_plus`) read as a space.
fn is_plain(byte: u8) -> bool {
    byte != b'%' && byte != b'+' && is_baggage_octet(byte)
}

/// How many bytes `format` writes for `byte` of a value.
fn encoded_byte_len(byte: u8) -> usize {
    if is_plain(byte) {
        1
    } else {
        3
    }
}

/// How many bytes `format` writes for the value that `decoded` becomes once invalid UTF-8 is
/// replaced by U+FFFD (written `%EF%BF%BD`), as [`String::from_utf8_lossy`] does.
fn encoded_len_lossy(decoded: &[u8]) -> usize {
    decoded
        .utf8_chunks()
        .map(|chunk| {
            let valid: usize = chunk.valid().bytes().map(encoded_byte_len).sum();
            let replacement = if chunk.invalid().is_empty() { 0 } else { 9 };
            valid + replacement
        })
        .sum()
}

/// Digits for `%XX` escapes; RFC 3986 "Percent-Encoding" recommends uppercase.
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` to `out` with every byte that is not [`is_plain`] written as `%XX`.
fn percent_encode_into(value: &str, out: &mut String) {
    for &byte in value.as_bytes() {
        if is_plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0xf)]));
        }
    }
}

/// Replaces `out` with the bytes of `value`, `%XX` escapes (either case) decoded. A `%` that
/// does not start an escape is copied as is; [`is_encoded_value`] rejects such values first.
fn percent_decode_into(value: &str, out: &mut Vec<u8>) {
    out.clear();
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) if byte == b'%' => hex_digit(high).zip(hex_digit(low)),
            _ => None,
        };
        if let Some((high, low)) = escaped {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
}

/// The value of one hex digit of either case.
fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
#[path = "baggage_tests.rs"]
mod tests;
