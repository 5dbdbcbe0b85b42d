//! Entry points for the code `#[traced]` and `span!` generate. Not a public
//! API: names and signatures change without notice.

use std::borrow::Cow;
use std::fmt::{Debug, Display};
use std::future::Future;

pub use crate::model::{Kind, Site, ToValue};
pub use crate::span::task::{
    instrument_lazy, instrument_lazy_inspected, Ignore, Inspect, OnOutput,
};
pub use crate::span::{AsSpanRef, Instrumented, SpanGuard, SpanRef};
pub use opentelemetry::Value;

/// Opens a span for a call site; the span ends when the guard drops.
#[allow(clippy::inline_always)] // the off check must stay at the call site
#[inline(always)]
pub fn enter(site: &'static Site) -> SpanGuard {
    SpanGuard::open(site)
}

/// How many spans have annotations waiting in the side table for
/// handles used where their span is not current (for tests of its bound).
pub fn deferred_spans() -> usize {
    crate::context::deferred::waiting()
}

/// Runs a traced function's body. Taking the closure as `FnOnce` makes the
/// compiler treat it as one, so a body that returns a borrow of a captured
/// `&mut self` compiles exactly as it did without the attribute.
#[inline]
pub fn call<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

/// An attribute value from an expression, taken by reference.
#[inline]
pub fn to_value<T: ToValue + ?Sized>(value: &T) -> Value {
    value.to_value()
}

/// Runs an async body in a span that starts now and ends when the body
/// completes (or is dropped).
#[inline]
pub fn instrument<F: Future>(site: &'static Site, body: F) -> Instrumented<F> {
    Instrumented::with_span(site, body, Ignore)
}

/// [`instrument`], running `inspect` on the output while the span is still
/// current (the `Err` and `ret` recording). A closure that captures nothing
/// takes no room in the future.
#[inline]
pub fn instrument_inspected<F: Future, R: Fn(&F::Output)>(
    site: &'static Site,
    body: F,
    inspect: R,
) -> Instrumented<F, Inspect<R>> {
    Instrumented::with_span(site, body, Inspect(inspect))
}

/// [`instrument_lazy`] under an explicit parent, named at the call; the
/// span still starts at the first poll.
#[inline]
pub fn instrument_lazy_with_parent<F: Future>(
    site: &'static Site,
    parent: SpanRef,
    body: F,
) -> Instrumented<F> {
    Instrumented::lazy_under(site, parent.ctx, parent.carried, body, Ignore)
}

/// [`instrument_lazy_inspected`] under an explicit parent, named at the call.
#[inline]
pub fn instrument_lazy_with_parent_inspected<F: Future, R: Fn(&F::Output)>(
    site: &'static Site,
    parent: SpanRef,
    body: F,
    inspect: R,
) -> Instrumented<F, Inspect<R>> {
    Instrumented::lazy_under(site, parent.ctx, parent.carried, body, Inspect(inspect))
}

/// [`enter`] under an explicit parent.
#[inline]
pub fn enter_with_parent(site: &'static Site, parent: SpanRef) -> SpanGuard {
    SpanGuard::open_with_parent(site, parent.ctx, parent.carried)
}

/// [`instrument`] under an explicit parent.
#[inline]
pub fn instrument_with_parent<F: Future>(
    site: &'static Site,
    parent: SpanRef,
    body: F,
) -> Instrumented<F> {
    Instrumented::with_span_under(site, parent.ctx, parent.carried, body, Ignore)
}

/// [`instrument_inspected`] under an explicit parent.
#[inline]
pub fn instrument_with_parent_inspected<F: Future, R: Fn(&F::Output)>(
    site: &'static Site,
    parent: SpanRef,
    body: F,
    inspect: R,
) -> Instrumented<F, Inspect<R>> {
    Instrumented::with_span_under(site, parent.ctx, parent.carried, body, Inspect(inspect))
}

/// The span named by a `parent` or `links` expression.
#[inline]
pub fn span_ref<T: AsSpanRef + ?Sized>(value: &T) -> SpanRef {
    value.as_span_ref()
}

/// `%value`: the `Display` form as a string attribute.
#[inline]
pub fn display<T: Display + ?Sized>(value: &T) -> Value {
    display_dyn(&value)
}

#[inline(never)]
fn display_dyn(value: &dyn Display) -> Value {
    Value::String(value.to_string().into())
}

/// `?value`: the `Debug` form as a string attribute.
#[inline]
pub fn debug<T: Debug + ?Sized>(value: &T) -> Value {
    debug_dyn(&value)
}

#[inline(never)]
fn debug_dyn(value: &dyn Debug) -> Value {
    Value::String(format!("{value:?}").into())
}

/// Where generated code records on a span: a sync function's guard, or the
/// current span of an async body.
pub trait Sink {
    fn is_recording(&self) -> bool;
    fn set_attribute(&mut self, key: &'static str, value: Value);
    fn add_link(&mut self, target: SpanRef);
    fn record_error(&mut self, type_name: &str, message: &str);
    /// Records an `Err` by its `Display` form if the span records: one
    /// function for every error type, called only on `Err`.
    fn record_display_error(&mut self, type_name: &str, error: &dyn Display);
    /// [`Sink::record_display_error`] by the `Debug` form.
    fn record_debug_error(&mut self, type_name: &str, error: &dyn Debug);
    fn rename(&mut self, name: Cow<'static, str>);
}

/// A `span!` name given as an expression.
#[inline]
pub fn span_name<N: SpanName>(name: N) -> Cow<'static, str> {
    name.into_name()
}

/// What a `span!` name made at run time can be.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a span name",
    label = "not a span name",
    note = "a span name is a `String`, a `&'static str`, a `Box<str>` or a `Cow<'static, str>`: span!(format!(..)) or span!(name.to_string())"
)]
pub trait SpanName {
    fn into_name(self) -> Cow<'static, str>;
}

impl SpanName for String {
    #[inline]
    fn into_name(self) -> Cow<'static, str> {
        Cow::Owned(self)
    }
}

impl SpanName for &'static str {
    #[inline]
    fn into_name(self) -> Cow<'static, str> {
        Cow::Borrowed(self)
    }
}

impl SpanName for Cow<'static, str> {
    #[inline]
    fn into_name(self) -> Cow<'static, str> {
        self
    }
}

impl SpanName for Box<str> {
    #[inline]
    fn into_name(self) -> Cow<'static, str> {
        Cow::Owned(self.into())
    }
}

impl Sink for &mut SpanGuard {
    #[inline]
    fn is_recording(&self) -> bool {
        SpanGuard::is_recording(self)
    }

    fn set_attribute(&mut self, key: &'static str, value: Value) {
        SpanGuard::set_attribute_value(self, key.into(), value);
    }

    fn add_link(&mut self, target: SpanRef) {
        if let Some(link) = target.to_link() {
            SpanGuard::add_link(self, link);
        }
    }

    fn record_error(&mut self, type_name: &str, message: &str) {
        self.record_exception(type_name, message);
    }

    #[cold]
    #[inline(never)]
    fn record_display_error(&mut self, type_name: &str, error: &dyn Display) {
        if self.is_recording() {
            self.record_error(type_name, &error.to_string());
        }
    }

    #[cold]
    #[inline(never)]
    fn record_debug_error(&mut self, type_name: &str, error: &dyn Debug) {
        if self.is_recording() {
            self.record_error(type_name, &format!("{error:?}"));
        }
    }

    fn rename(&mut self, name: Cow<'static, str>) {
        self.span().update_name(name);
    }
}

/// The current span, inside an instrumented async body.
#[derive(Debug)]
pub struct CurrentSpan;

impl Sink for CurrentSpan {
    #[inline]
    fn is_recording(&self) -> bool {
        crate::span::Span::current().is_recording()
    }

    fn set_attribute(&mut self, key: &'static str, value: Value) {
        crate::span::Span::current().set_attribute_value(key.into(), value);
    }

    fn add_link(&mut self, target: SpanRef) {
        if let Some(link) = target.to_link() {
            crate::span::Span::current().add_link_parts(link);
        }
    }

    fn record_error(&mut self, type_name: &str, message: &str) {
        crate::span::Span::current().record_exception_parts(type_name, message);
    }

    #[cold]
    #[inline(never)]
    fn record_display_error(&mut self, type_name: &str, error: &dyn Display) {
        if self.is_recording() {
            self.record_error(type_name, &error.to_string());
        }
    }

    #[cold]
    #[inline(never)]
    fn record_debug_error(&mut self, type_name: &str, error: &dyn Debug) {
        if self.is_recording() {
            self.record_error(type_name, &format!("{error:?}"));
        }
    }

    fn rename(&mut self, name: Cow<'static, str>) {
        crate::span::Span::current().update_name(name);
    }
}

/// `ret`: the return value as the `return` attribute, typed when it is a
/// [`ToValue`], else its `Debug` form.
pub trait RecordTypedReturn {
    fn __traced_ret<S: Sink>(&self, sink: S);
}

impl<T: ToValue> RecordTypedReturn for &Outcome<'_, T> {
    fn __traced_ret<S: Sink>(&self, mut sink: S) {
        if sink.is_recording() {
            sink.set_attribute("return", self.0.to_value());
        }
    }
}

/// `ret` on a type that is not a [`ToValue`]: its `Debug` form. The impl
/// holds for every type and the bound sits on the method, so a type that is
/// not `Debug` either is reported with [`ReturnValue`]'s message (E0277)
/// rather than as a method whose trait bounds are not met (E0599).
pub trait RecordDebugReturn {
    type Value: ?Sized;
    fn __traced_ret<S: Sink>(&self, sink: S)
    where
        Self::Value: ReturnValue;
}

impl<T> RecordDebugReturn for Outcome<'_, T> {
    type Value = T;
    fn __traced_ret<S: Sink>(&self, mut sink: S)
    where
        T: ReturnValue,
    {
        if sink.is_recording() {
            sink.set_attribute("return", debug(self.0));
        }
    }
}

/// A return value `ret` can record.
#[diagnostic::on_unimplemented(
    message = "`#[traced(ret)]` cannot record a `{Self}`",
    label = "the return type is neither an attribute value nor `Debug`",
    note = "`ret` records attribute values (integers, floats, `bool`, strings) as they are and other types by their `Debug` form; derive or implement `Debug`, or remove `ret`"
)]
pub trait ReturnValue: Debug {}

impl<T: Debug + ?Sized> ReturnValue for T {}

/// The outcome of a traced call, inspected by autoref specialization: the
/// generated code calls `(&&&Outcome(&ret)).__traced_record(sink)` and
/// method resolution picks the most specific of the three traits below whose
/// bounds hold. A `Result` is recognised by its type, so aliases such as
/// `io::Result<T>` work, whatever the spelling.
#[derive(Debug)]
pub struct Outcome<'a, T>(pub &'a T);

/// `Result<T, E>` with `E: Display`: `Err` is recorded with its message.
pub trait RecordDisplayError {
    fn __traced_record<S: Sink>(&self, sink: S);
}

impl<T, E: Display> RecordDisplayError for &&Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record<S: Sink>(&self, mut sink: S) {
        if let Err(error) = self.0 {
            sink.record_display_error(std::any::type_name::<E>(), error);
        }
    }
}

/// `Result<T, E>` with `E: Debug` only: `Err` is recorded with its `Debug`.
pub trait RecordDebugError {
    fn __traced_record<S: Sink>(&self, sink: S);
}

impl<T, E: Debug> RecordDebugError for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn __traced_record<S: Sink>(&self, mut sink: S) {
        if let Err(error) = self.0 {
            sink.record_debug_error(std::any::type_name::<E>(), error);
        }
    }
}

/// Every other type: nothing to record.
pub trait RecordNothing {
    fn __traced_record<S: Sink>(&self, sink: S);
}

impl<T> RecordNothing for Outcome<'_, T> {
    #[inline]
    fn __traced_record<S: Sink>(&self, _sink: S) {}
}

/// What every `OTEL_*` variable traced reads comes to: [`read_settings`]'s answer.
#[derive(Debug)]
pub struct Settings {
    /// `OTEL_SDK_DISABLED`.
    pub sdk_disabled: bool,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_BSP_*`.
    pub batch: crate::collector::BatchConfig,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: crate::collector::Sampler,
    /// The `OTEL_*_LIMIT` variables.
    pub span_limits: crate::model::SpanLimits,
    /// `OTEL_EXPORTER_OTLP_*`.
    #[cfg(feature = "otlp")]
    pub otlp: crate::export::otlp::OtlpConfig,
    /// `OTEL_EXPORTER_ZIPKIN_*`: the exporter's timeout, or `None` when the endpoint is refused.
    #[cfg(feature = "otlp")]
    pub zipkin_timeout: Option<std::time::Duration>,
}

/// Reads every `OTEL_*` variable traced understands through `lookup` instead of the process
/// environment, as `init()` and the exporters' `from_env` do, without installing anything.
/// For the fuzz targets (`fuzz/`), which feed it arbitrary values and check the settings stay
/// within their documented bounds.
pub fn read_settings(lookup: &dyn Fn(&str) -> Option<String>) -> Settings {
    let env = crate::config::env::from_lookup(lookup);
    Settings {
        sdk_disabled: env.sdk_disabled,
        resource_attributes: env.resource_attributes,
        batch: env.batch,
        sampler: env.sampler,
        span_limits: env.span_limits,
        #[cfg(feature = "otlp")]
        otlp: crate::export::otlp::OtlpConfig::from_lookup(lookup),
        #[cfg(feature = "otlp")]
        zipkin_timeout: crate::export::zipkin::ZipkinExporter::from_lookup(lookup)
            .ok()
            .map(|exporter| exporter.timeout()),
    }
}

/// The encodings the batch worker's send thread uses, on records made here, for tests that
/// count what they allocate (`tests/alloc.rs`): `spans` records of one static site, each with
/// `attributes` (at most four) integer, string, boolean and float attributes.
#[derive(Debug)]
pub struct EncodeProbe {
    records: Vec<crate::model::SpanRecord>,
    conversion: crate::export::span_data::Conversion,
    encoding: ProbeEncoding,
}

#[derive(Debug)]
enum ProbeEncoding {
    #[cfg(feature = "otlp")]
    Otlp(crate::export::otlp::Encoder),
    #[cfg(feature = "otlp")]
    Zipkin(crate::export::zipkin::Encoder),
    /// An exporter writing to a [`CountingSink`].
    Written(
        Box<dyn crate::export::pipeline::RecordExporter + Send>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ),
}

/// Counts the bytes written to it, and keeps none.
struct CountingSink(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl EncodeProbe {
    /// The encoders by the names [`new`](Self::new) takes.
    pub const ENCODINGS: &'static [&'static str] = &[
        #[cfg(feature = "otlp")]
        "otlp",
        "otlp-json",
        #[cfg(feature = "otlp")]
        "zipkin",
        "console",
    ];

    /// `spans` records, each with `attributes` attributes (at most four), for `encoding`:
    /// `otlp` (OTLP/protobuf), `otlp-json` (the OTLP JSON lines exporter), `zipkin` (Zipkin
    /// JSON) or `console` (the console exporter's JSON).
    ///
    /// # Panics
    /// If `attributes` is more than four, or `encoding` is none of those.
    #[must_use]
    pub fn new(encoding: &str, spans: u64, attributes: usize) -> EncodeProbe {
        use opentelemetry::KeyValue;

        static SITE: Site = Site::new(
            "probe",
            Kind::Internal,
            Some("probe"),
            Some("1"),
            "m",
            "f",
            1,
        );
        assert!(attributes <= 4, "at most four attributes live inline");
        let all = || {
            [
                KeyValue::new("user.id", 42_i64),
                KeyValue::new("region", "eu"),
                KeyValue::new("cached", true),
                KeyValue::new("ratio", 0.5),
            ]
        };
        crate::local::clock::init();
        let records = (1..=spans)
            .map(|span_id| {
                let mut inline = crate::model::InlineAttributes::new();
                for kv in all().into_iter().take(attributes) {
                    let _ = inline.set(kv, || 4);
                }
                let start = crate::local::clock::now();
                let head = crate::model::RecordHead {
                    site: &SITE,
                    trace_id: 7,
                    span_id,
                    parent_id: span_id / 2,
                    parent_remote: false,
                    random: true,
                    generation: 0,
                    start,
                    end: start + 100,
                };
                crate::model::SpanRecord::new(head, &mut inline, None, None)
            })
            .collect();
        let written = std::sync::Arc::default();
        let sink = || CountingSink(std::sync::Arc::clone(&written));
        let encoding = match encoding {
            #[cfg(feature = "otlp")]
            "otlp" => ProbeEncoding::Otlp(crate::export::otlp::Encoder::default()),
            #[cfg(feature = "otlp")]
            "zipkin" => ProbeEncoding::Zipkin(crate::export::zipkin::Encoder::default()),
            "otlp-json" => ProbeEncoding::Written(
                Box::new(crate::export::OtlpJsonLinesExporter::with_writer(sink())),
                written,
            ),
            "console" => ProbeEncoding::Written(
                Box::new(crate::export::ConsoleExporter::with_writer(sink())),
                written,
            ),
            other => panic!("no encoding {other:?}; one of {:?}", Self::ENCODINGS),
        };
        EncodeProbe {
            records,
            conversion: crate::export::span_data::Conversion::default(),
            encoding,
        }
    }

    /// Encodes every record as one batch; returns its length in bytes.
    ///
    /// # Panics
    /// If the exporter fails (it writes to memory, so it does not).
    pub fn encode(&mut self) -> usize {
        let clock = crate::local::clock::converter();
        match &mut self.encoding {
            #[cfg(feature = "otlp")]
            ProbeEncoding::Otlp(encoder) => {
                encoder.encode(&self.records, clock, &self.conversion).len()
            }
            #[cfg(feature = "otlp")]
            ProbeEncoding::Zipkin(encoder) => {
                let batch = crate::export::pipeline::RecordBatch::new(
                    &self.records,
                    &self.conversion,
                    clock,
                );
                encoder.encode(batch.spans(), "probe");
                encoder.text().len()
            }
            ProbeEncoding::Written(exporter, written) => {
                let batch = crate::export::pipeline::RecordBatch::new(
                    &self.records,
                    &self.conversion,
                    clock,
                );
                let before = written.load(std::sync::atomic::Ordering::Relaxed);
                exporter.export_records(&batch).expect("writing to memory");
                written.load(std::sync::atomic::Ordering::Relaxed) - before
            }
        }
    }
}
