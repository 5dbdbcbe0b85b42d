//! The viewer's own span model: what the OTLP JSON and protobuf decoders produce and what the
//! screens and the plain-text printer read.

use std::fmt;
use std::sync::Arc;

/// A trace id: 16 bytes, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TraceId(pub [u8; 16]);

/// A span id: 8 bytes, shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// Parses 32 hex digits (either case).
    ///
    /// ```
    /// let id = traced_view::model::TraceId::parse_hex("4BF92F3577B34DA6A3CE929D0E0E4736").unwrap();
    /// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    pub fn parse_hex(text: &str) -> Option<Self> {
        parse_hex_array(text).map(Self)
    }
}

impl SpanId {
    /// Parses 16 hex digits (either case).
    pub fn parse_hex(text: &str) -> Option<Self> {
        parse_hex_array(text).map(Self)
    }
}

fn parse_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// An attribute's value, as OTLP's `AnyValue` carries it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `stringValue`.
    String(String),
    /// `boolValue`.
    Bool(bool),
    /// `intValue`.
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// `bytesValue`, shown as hex.
    Bytes(Vec<u8>),
    /// `arrayValue`.
    Array(Vec<Value>),
    /// `kvlistValue`.
    Map(Vec<Attribute>),
    /// An `AnyValue` with no value set.
    Empty,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(text) => f.write_str(text),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Int(number) => write!(f, "{number}"),
            Self::Double(number) => write!(f, "{number}"),
            Self::Bytes(bytes) => write_hex(f, bytes),
            Self::Array(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Self::Map(entries) => {
                f.write_str("{")?;
                for (index, entry) in entries.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", entry.key, entry.value)?;
                }
                f.write_str("}")
            }
            Self::Empty => Ok(()),
        }
    }
}

/// A key and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// The attribute's key, e.g. `http.request.method`.
    pub key: String,
    /// Its value.
    pub value: Value,
}

/// What produced the spans: a resource's attributes, shared by all spans of one `ResourceSpans`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    /// The resource's attributes (`service.name`, `host.name`, ...).
    pub attributes: Vec<Attribute>,
}

impl Resource {
    /// The `service.name` attribute, or `unknown_service` as the OpenTelemetry SDKs default it.
    pub fn service_name(&self) -> &str {
        self.attributes
            .iter()
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| match &attribute.value {
                Value::String(name) => Some(name.as_str()),
                _ => None,
            })
            .unwrap_or("unknown_service")
    }
}

/// The instrumentation scope (library) that created the spans.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    /// The scope's name, e.g. `traced`.
    pub name: String,
    /// Its version, empty when not given.
    pub version: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// OTLP's `Span.SpanKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SpanKind {
    /// `SPAN_KIND_UNSPECIFIED` (0), also any unknown number.
    #[default]
    Unspecified,
    /// `SPAN_KIND_INTERNAL` (1).
    Internal,
    /// `SPAN_KIND_SERVER` (2).
    Server,
    /// `SPAN_KIND_CLIENT` (3).
    Client,
    /// `SPAN_KIND_PRODUCER` (4).
    Producer,
    /// `SPAN_KIND_CONSUMER` (5).
    Consumer,
}

impl SpanKind {
    /// The kind for OTLP's enum number.
    pub fn from_number(number: i64) -> Self {
        match number {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// The kind for an enum name, `SPAN_KIND_SERVER` or plain `SERVER` (either case).
    pub fn from_name(name: &str) -> Self {
        let upper = name.to_ascii_uppercase();
        match upper.strip_prefix("SPAN_KIND_").unwrap_or(&upper) {
            "INTERNAL" => Self::Internal,
            "SERVER" => Self::Server,
            "CLIENT" => Self::Client,
            "PRODUCER" => Self::Producer,
            "CONSUMER" => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// A lowercase label for the detail pane.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// OTLP's `Status.StatusCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusCode {
    /// `STATUS_CODE_UNSET` (0), also any unknown number.
    #[default]
    Unset,
    /// `STATUS_CODE_OK` (1).
    Ok,
    /// `STATUS_CODE_ERROR` (2).
    Error,
}

impl StatusCode {
    /// The code for OTLP's enum number.
    pub fn from_number(number: i64) -> Self {
        match number {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// The code for an enum name, `STATUS_CODE_ERROR` or plain `ERROR` (either case).
    pub fn from_name(name: &str) -> Self {
        let upper = name.to_ascii_uppercase();
        match upper.strip_prefix("STATUS_CODE_").unwrap_or(&upper) {
            "OK" => Self::Ok,
            "ERROR" => Self::Error,
            _ => Self::Unset,
        }
    }

    /// A lowercase label for the detail pane.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// A span's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Unset, ok or error.
    pub code: StatusCode,
    /// The description, usually given only with an error.
    pub message: String,
}

/// A timed event within a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When it happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The event's name, e.g. `exception`.
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// A link from a span to another span, possibly in another trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// The link's attributes.
    pub attributes: Vec<Attribute>,
}

/// One span with everything the viewer shows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent, `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The span's name.
    pub name: String,
    /// Server, client, internal, ...
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// The span's attributes.
    pub attributes: Vec<Attribute>,
    /// Its events.
    pub events: Vec<Event>,
    /// Its links.
    pub links: Vec<Link>,
    /// Its status.
    pub status: Status,
    /// The resource that produced it, shared with the other spans of the same batch.
    pub resource: Arc<Resource>,
    /// The instrumentation scope that created it.
    pub scope: Arc<Scope>,
}

impl Span {
    /// End minus start, zero when the end is before the start.
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// The resource's `service.name`.
    pub fn service(&self) -> &str {
        self.resource.service_name()
    }

    /// Whether the status code is error (2).
    pub fn is_error(&self) -> bool {
        self.status.code == StatusCode::Error
    }
}

/// What one OTLP message (a JSON line or a POST body) decoded to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// The spans that decoded.
    pub spans: Vec<Span>,
    /// Spans left out because their trace or span id was missing or malformed.
    pub rejected_spans: usize,
}
