//! `tracing` field values as OpenTelemetry attributes, and the `otel.*`
//! fields that tracing-opentelemetry users write to name a span, set its
//! kind or its status.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::Status;
use opentelemetry::{Key, KeyValue, Value};
use tracing_core::field::{Field, Visit};

use crate::model::{Annotations, Kind};

/// What a set of fields says about a span besides its attributes.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    pub(super) name: Option<Cow<'static, str>>,
    pub(super) kind: Option<Kind>,
    pub(super) status_code: Option<StatusCode>,
    pub(super) status_description: Option<String>,
}

/// `otel.status_code`: `ok`, `error` or `unset`, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StatusCode {
    Unset,
    Ok,
    Error,
}

impl Overrides {
    /// Applies the name and status to `annotations` (the kind is the
    /// caller's business: it belongs to the span's site).
    pub(super) fn apply(self, annotations: &mut Annotations) {
        if let Some(name) = self.name {
            annotations.name = Some(name);
        }
        match self.status_code {
            Some(StatusCode::Ok) => annotations.set_status(Status::Ok),
            Some(StatusCode::Error) => {
                annotations.set_status(Status::error(self.status_description.unwrap_or_default()));
            }
            // A description alone means an error, as tracing-opentelemetry
            // reads it.
            None if self.status_description.is_some() => {
                annotations.set_status(Status::error(self.status_description.unwrap_or_default()));
            }
            Some(StatusCode::Unset) | None => {}
        }
    }
}

/// Records a span's fields into its annotations.
pub(super) struct SpanFields<'a> {
    pub(super) annotations: &'a mut Annotations,
    pub(super) overrides: Overrides,
}

impl SpanFields<'_> {
    fn value(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(otel) = name.strip_prefix("otel.") {
            self.special(otel, &value);
        } else {
            self.annotations
                .set_attribute(KeyValue::new(Key::from_static_str(name), value));
        }
    }

    fn special(&mut self, name: &str, value: &Value) {
        let text = value.as_str();
        match name {
            "name" => self.overrides.name = Some(Cow::Owned(text.into_owned())),
            "kind" => self.overrides.kind = parse_kind(&text),
            "status_code" => self.overrides.status_code = parse_status(&text),
            "status_description" | "status_message" => {
                self.overrides.status_description = Some(text.into_owned());
            }
            _ => {}
        }
    }
}

fn parse_kind(text: &str) -> Option<Kind> {
    let kinds = [
        ("internal", Kind::Internal),
        ("server", Kind::Server),
        ("client", Kind::Client),
        ("producer", Kind::Producer),
        ("consumer", Kind::Consumer),
    ];
    kinds
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, kind)| *kind)
}

fn parse_status(text: &str) -> Option<StatusCode> {
    [
        ("unset", StatusCode::Unset),
        ("ok", StatusCode::Ok),
        ("error", StatusCode::Error),
    ]
    .iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(text))
    .map(|(_, code)| *code)
}

impl Visit for SpanFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.value(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.value(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.value(field, unsigned(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.value(field, wide(i64::try_from(value).ok(), value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.value(field, wide(i64::try_from(value).ok(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.value(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.value(field, Value::from(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.value(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields arrive here too, with a `Debug` that writes their
        // `Display` form.
        self.value(field, Value::from(format!("{value:?}")));
    }
}

/// An unsigned integer as OpenTelemetry's signed one, or as its decimal
/// string when it does not fit (tracing-opentelemetry does the same).
fn unsigned(value: u64) -> Value {
    wide(i64::try_from(value).ok(), value)
}

fn wide(fits: Option<i64>, value: impl fmt::Display) -> Value {
    match fits {
        Some(value) => Value::I64(value),
        None => Value::from(value.to_string()),
    }
}

/// Records an event's fields: the `message` apart, the others as
/// attributes.
#[derive(Default)]
pub(super) struct EventFields {
    pub(super) message: Option<String>,
    pub(super) attributes: Vec<KeyValue>,
}

impl EventFields {
    fn value(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            self.message = Some(value.as_str().into_owned());
        } else if !name.starts_with("log.") {
            // `log.*` are what tracing-log adds for `log` records: the
            // event's own metadata says the same.
            self.attributes
                .push(KeyValue::new(Key::from_static_str(name), value));
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.value(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.value(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.value(field, unsigned(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.value(field, wide(i64::try_from(value).ok(), value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.value(field, wide(i64::try_from(value).ok(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.value(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.value(field, Value::from(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.value(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.value(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_status_codes_parse_in_any_case() {
        assert_eq!(parse_kind("Server"), Some(Kind::Server));
        assert_eq!(parse_kind("CLIENT"), Some(Kind::Client));
        assert_eq!(parse_kind("queue"), None);
        assert_eq!(parse_status("Error"), Some(StatusCode::Error));
        assert_eq!(parse_status("OK"), Some(StatusCode::Ok));
    }

    #[test]
    fn integers_too_wide_for_i64_become_strings() {
        assert_eq!(unsigned(7), Value::I64(7));
        assert_eq!(unsigned(u64::MAX), Value::from(u64::MAX.to_string()));
    }
}
