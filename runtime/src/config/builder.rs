//! `traced::init()` and `traced::builder()`.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanExporter;
use opentelemetry_sdk::Resource;

use super::env::{self, EnvConfig, ExporterName};
use crate::collector::exporters::{DynExporter, ExporterSet};
use crate::collector::{
    self, BatchConfig, BatchProcessor, Pipeline, PipelineGuard, Processor, Sampler,
};
use crate::diag;
use crate::export::span_data::Conversion;
use crate::export::{ConsoleExporter, OtlpJsonLinesExporter, TreeExporter};
use crate::local::clock;
use crate::model::SpanLimits;
use crate::propagation::Propagator;

/// Installs a pipeline configured from the environment, the way
/// `opentelemetry-instrument` configures Python.
///
/// | variable | meaning | default |
/// | --- | --- | --- |
/// | `OTEL_TRACES_EXPORTER` | comma list of `otlp`, `zipkin`, `console` (JSON per span, like Python's `ConsoleSpanExporter`), `tree` (a readable tree per trace on stderr), `otlp/stdout` and `otlp/file` (OTLP JSON lines, see [`OtlpJsonLinesExporter`](crate::export::OtlpJsonLinesExporter)), `none` | `tree`, or `otlp` when an OTLP endpoint is set |
/// | `TRACED_OTLP_FILE_PATH` | the file `otlp/file` appends to (traced's own variable: the specification names none) | `traces.jsonl` |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT`, `..._TRACES_ENDPOINT`, `..._HEADERS`, `..._PROTOCOL` (`http/protobuf`, `http/json`, `grpc` with the `otlp-grpc` feature), `..._TIMEOUT`, `..._COMPRESSION` (`gzip`), `..._CERTIFICATE`, `..._CLIENT_KEY`, `..._CLIENT_CERTIFICATE` (TLS, with the `otlp-tls` feature) | the OTLP exporter | `http://localhost:4318` (gRPC: `4317`), protobuf, 10 s |
/// | `OTEL_SERVICE_NAME` | `service.name` | `unknown_service:<executable>` |
/// | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,...` (percent-encoded values; one malformed entry discards the whole value, with a warning) | |
/// | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | see [`Sampler`] | `parentbased_always_on` |
/// | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT` | see [`BatchConfig`] | 2048, 5000 ms, 512, 30000 ms |
/// | `TRACED_BSP_MAX_BUFFER_BYTES` (traced's own) | bytes of spans the batch worker holds between the threads' rings and the exporters; see [`BatchConfig::max_buffer_bytes`] | 67108864 (64 MiB) |
/// | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | what one span keeps; see [`SpanLimits`] | 128 each |
/// | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` | characters kept of each string value | no limit |
/// | `OTEL_ATTRIBUTE_COUNT_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | the attribute limits where no span-specific variable above is set | 128, no limit |
/// | `OTEL_PROPAGATORS` | comma list of `tracecontext`, `baggage`, `b3`, `b3multi`, `none` | `tracecontext,baggage` |
/// | `OTEL_SDK_DISABLED` | `true` installs nothing | `false` |
///
/// A bad value is reported once on stderr and replaced by the default.
/// `otlp` sends OTLP over HTTP (protobuf or JSON) or gRPC as configured by
/// `OTEL_EXPORTER_OTLP_*`, and is the default when an OTLP endpoint variable
/// is set; `zipkin` sends Zipkin v2 JSON to `OTEL_EXPORTER_ZIPKIN_ENDPOINT`
/// (default `http://localhost:9411/api/v2/spans`).
///
/// Returns a guard: keep it alive while the program runs; dropping it
/// flushes every ended span and shuts the exporters down.
///
/// ```
/// #[traced::traced]
/// fn work() -> u32 { 42 }
///
/// let _traced = traced::init();
/// assert_eq!(work(), 42);
/// ```
pub fn init() -> PipelineGuard {
    builder().install()
}

/// A pipeline configured in code, starting from the environment's settings
/// (see [`init`]). What the builder is told overrides the environment; when
/// it is given exporters, `OTEL_TRACES_EXPORTER` is not consulted.
///
/// ```
/// use traced::export::MemoryExporter;
///
/// let (exporter, spans) = MemoryExporter::new();
/// let traced = traced::builder()
///     .with_service_name("checkout")
///     .with_exporter(exporter)
///     .with_simple_processor()
///     .install();
/// traced::span!("step", {});
/// drop(traced);
/// assert_eq!(spans.spans()[0].name, "step");
/// ```
pub fn builder() -> Builder {
    Builder {
        env: env::from_env(),
        service_name: None,
        default_service_name: None,
        resource_attributes: Vec::new(),
        exporters: Vec::new(),
        simple: false,
        batch: None,
        sampler: None,
        propagators: None,
        span_limits: None,
        baggage_keys: Vec::new(),
        global_tracer_provider: true,
    }
}

/// Configures and installs a pipeline; made by [`builder`].
pub struct Builder {
    env: EnvConfig,
    service_name: Option<String>,
    default_service_name: Option<String>,
    resource_attributes: Vec<KeyValue>,
    exporters: Vec<Box<dyn DynExporter>>,
    simple: bool,
    batch: Option<BatchConfig>,
    sampler: Option<Sampler>,
    propagators: Option<Vec<Propagator>>,
    span_limits: Option<SpanLimits>,
    baggage_keys: Vec<Key>,
    global_tracer_provider: bool,
}

impl Builder {
    /// Sets `service.name` (overrides `OTEL_SERVICE_NAME`).
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the `service.name` used when the environment names none: the
    /// name a program gives itself, which `OTEL_SERVICE_NAME` and
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES` still override (unlike
    /// [`with_service_name`](Self::with_service_name)). Without it the
    /// default is `unknown_service:<executable>`, as the specification says.
    ///
    /// ```no_run
    /// let _traced = traced::builder().with_default_service_name("shopper").install();
    /// ```
    #[must_use]
    pub fn with_default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (overrides the same key from
    /// `OTEL_RESOURCE_ATTRIBUTES`).
    #[must_use]
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<opentelemetry::Key>,
        value: impl Into<Value>,
    ) -> Self {
        self.resource_attributes.push(KeyValue::new(key, value));
        self
    }

    /// Adds an exporter: any OpenTelemetry `SpanExporter` (traced's own in
    /// [`export`](crate::export), or OTLP, Zipkin, ... from their crates).
    /// Several exporters all receive every span.
    #[must_use]
    pub fn with_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }

    /// Exports each span on the calling thread when it ends. Useful in tests
    /// and while debugging; slow in production.
    #[must_use]
    pub fn with_simple_processor(mut self) -> Self {
        self.simple = true;
        self
    }

    /// Exports in batches from a background thread (the default), with
    /// these settings instead of the `OTEL_BSP_*` ones.
    #[must_use]
    pub fn with_batch_processor(mut self, config: BatchConfig) -> Self {
        self.simple = false;
        self.batch = Some(config);
        self
    }

    /// Chooses the sampler (overrides `OTEL_TRACES_SAMPLER`).
    #[must_use]
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Chooses the propagation formats (overrides `OTEL_PROPAGATORS`).
    #[must_use]
    pub fn with_propagators(mut self, propagators: &[Propagator]) -> Self {
        self.propagators = Some(propagators.to_vec());
        self
    }

    /// Sets what one span keeps: attributes, events, links, and the length
    /// of string values (overrides every `OTEL_*_LIMIT` variable). See
    /// [`SpanLimits`] for what happens past a limit.
    ///
    /// ```
    /// use traced::export::MemoryExporter;
    /// use traced::{Span, SpanLimits};
    ///
    /// let (exporter, spans) = MemoryExporter::new();
    /// let limits = SpanLimits { max_attributes_per_span: 2, ..SpanLimits::default() };
    /// let traced = traced::builder()
    ///     .with_exporter(exporter)
    ///     .with_simple_processor()
    ///     .with_span_limits(limits)
    ///     .install();
    /// traced::span!("step", {
    ///     for i in 0..5 {
    ///         Span::current().set_attribute(format!("k{i}"), i);
    ///     }
    /// });
    /// drop(traced);
    /// let span = &spans.spans()[0];
    /// assert_eq!((span.attributes.len(), span.dropped_attributes_count), (2, 3));
    /// ```
    #[must_use]
    pub fn with_span_limits(mut self, limits: SpanLimits) -> Self {
        self.span_limits = Some(limits);
        self
    }

    /// Copies the baggage entries named by `keys` onto every recorded span
    /// as attributes of the same key, as the baggage span processors of
    /// other OpenTelemetry SDKs do: a `tenant.id` that arrived as baggage,
    /// or was set with `traced::baggage`, shows on each
    /// span of the request in the backend. A span's own attribute of that
    /// key wins. Done on the export thread: spans pay nothing for it when
    /// they are recorded, and nothing at all when their context carries no
    /// baggage. Baggage travels to every service the request reaches:
    /// choose keys that are safe to store.
    ///
    /// ```
    /// let _traced = traced::builder()
    ///     .with_baggage_attributes(["tenant.id", "user.tier"])
    ///     .install();
    /// ```
    #[must_use]
    pub fn with_baggage_attributes<K: Into<Key>>(
        mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> Self {
        for key in keys {
            let key = key.into();
            if !self.baggage_keys.contains(&key) {
                self.baggage_keys.push(key);
            }
        }
        self
    }

    /// Leaves `opentelemetry::global`'s tracer provider alone. By default
    /// [`install`](Builder::install) makes traced the global tracer
    /// provider ([`bridge::TracerProvider`](crate::bridge::TracerProvider)),
    /// so spans that libraries start through the OpenTelemetry API
    /// (`global::tracer("lib").in_span(..)`) are recorded with traced's and
    /// nest with them both ways. Turn that off when the application sets a
    /// provider of its own.
    #[must_use]
    pub fn without_global_tracer_provider(mut self) -> Self {
        self.global_tracer_provider = false;
        self
    }

    /// Installs the pipeline as the process's pipeline and returns its guard.
    /// With `OTEL_SDK_DISABLED=true` nothing is installed and the guard is
    /// inert. While another pipeline is installed, this one is refused (the
    /// guard is inert, a warning says so) and nothing changes.
    pub fn install(self) -> PipelineGuard {
        if self.env.sdk_disabled {
            return PipelineGuard::disabled();
        }
        // Process setup that any pipeline needs, the same for every one.
        clock::init();
        crate::span::install_hook();
        // Everything this install sets is decided here, into one value;
        // `pipeline::install` applies it only if it is accepted.
        let propagators = match self.propagators.as_deref() {
            Some(chosen) => Some(chosen.to_vec()),
            None => propagators_from_env(&self.env),
        };
        let resource = self.resource();
        let batch = bounded(self.batch.unwrap_or(self.env.batch).validated());
        let mut exporters = if self.exporters.is_empty() {
            exporters_from_env(&self.env, batch.export_timeout)
        } else {
            self.exporters
        };
        for exporter in &mut exporters {
            exporter.set_resource(&resource);
        }
        let limits = self.span_limits.unwrap_or(self.env.span_limits);
        let exporters = ExporterSet::new(exporters, batch.export_timeout);
        let rejected = exporters.rejected_counter();
        let processor = if exporters.is_empty() {
            Processor::Discard
        } else if self.simple {
            Processor::Simple {
                exporters: Mutex::new(exporters),
                exported: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }
        } else {
            Processor::Batch(BatchProcessor::new(batch, exporters))
        };
        let sampler = self.sampler.unwrap_or(self.env.sampler);
        let conversion = Conversion {
            limits,
            baggage_keys: self.baggage_keys.into(),
        };
        let global_tracer_provider = self.global_tracer_provider;
        let guard = collector::install(Pipeline::new(
            sampler,
            processor,
            batch.export_timeout,
            conversion,
            propagators,
            rejected,
        ));
        if global_tracer_provider {
            // Also when this pipeline was refused: the tracer provider
            // records into whichever pipeline is installed.
            crate::bridge::set_global_tracer_provider();
        }
        guard
    }

    fn resource(&self) -> Resource {
        let mut attributes: Vec<KeyValue> = Vec::new();
        let mut set = |kv: KeyValue| {
            if let Some(existing) = attributes.iter_mut().find(|e| e.key == kv.key) {
                *existing = kv;
            } else {
                attributes.push(kv);
            }
        };
        let default = match &self.default_service_name {
            Some(name) => name.clone(),
            None => default_service_name(),
        };
        set(KeyValue::new("service.name", default));
        for (key, value) in &self.env.resource_attributes {
            set(KeyValue::new(key.clone(), value.clone()));
        }
        if let Some(name) = self.env.service_name() {
            set(KeyValue::new("service.name", name.to_owned()));
        }
        for kv in &self.resource_attributes {
            set(kv.clone());
        }
        if let Some(name) = &self.service_name {
            set(KeyValue::new("service.name", name.clone()));
        }
        set(KeyValue::new("telemetry.sdk.language", "rust"));
        set(KeyValue::new("telemetry.sdk.name", "traced"));
        set(KeyValue::new(
            "telemetry.sdk.version",
            env!("CARGO_PKG_VERSION"),
        ));
        Resource::builder_empty()
            .with_attributes(attributes)
            .build()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("exporters", &self.exporters)
            .field("simple", &self.simple)
            .field("batch", &self.batch)
            .field("sampler", &self.sampler)
            .field("propagators", &self.propagators)
            .field("span_limits", &self.span_limits)
            .field("baggage_keys", &self.baggage_keys)
            .finish_non_exhaustive()
    }
}

/// `unknown_service:<executable name>`, as the resource semantic
/// conventions prescribe.
fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map_or_else(
            || "unknown_service".to_owned(),
            |exe| format!("unknown_service:{exe}"),
        )
}

/// `OTEL_PROPAGATORS`: known names are used, `none` means none, unknown
/// ones are warned about and skipped; `None` when the variable is unset.
fn propagators_from_env(env: &EnvConfig) -> Option<Vec<Propagator>> {
    let names = env.propagators.as_ref()?;
    let mut chosen = Vec::new();
    for name in names {
        match Propagator::from_name(name) {
            Some(p) => chosen.push(p),
            None if name == "none" => {}
            None => diag::warn_once_with(&diag::key("OTEL_PROPAGATORS", name), || {
                format!(
                    "OTEL_PROPAGATORS names `{}`, which traced does not support (tracecontext, baggage, b3, b3multi, none); it is skipped",
                    diag::quote(name)
                )
            }),
        }
    }
    Some(chosen)
}

/// `batch` with an export timeout of at most [`vars::MAX_DURATION`]: a
/// longer one (`Duration::MAX` in code) is clamped, with a warning, so a
/// flush and the shutdown stay bounded.
fn bounded(mut batch: BatchConfig) -> BatchConfig {
    if batch.export_timeout > crate::vars::MAX_DURATION {
        diag::warn_once(
            "batch-export-timeout-clamped",
            "BatchConfig::export_timeout is longer than traced accepts (at most 10 minutes); using 10 minutes",
        );
        batch.export_timeout = crate::vars::MAX_DURATION;
    }
    batch
}

/// The OTLP exporter configured by `OTEL_EXPORTER_OTLP_*`. Its own timeout
/// (retries included) is at most `export_timeout`, the batch processor's:
/// the exporter's blocking HTTP client cannot be interrupted from outside,
/// so this is what bounds one export by `OTEL_BSP_EXPORT_TIMEOUT` too.
#[cfg(feature = "otlp")]
fn otlp_exporter(export_timeout: Duration) -> Result<Box<dyn DynExporter>, String> {
    let mut config = crate::export::otlp::OtlpConfig::from_env();
    config.timeout = config.timeout.min(export_timeout);
    config
        .build_exporter()
        .map(|exporter| Box::new(exporter) as Box<dyn DynExporter>)
        .map_err(|e| format!("the otlp exporter could not be set up: {e}; it is skipped"))
}

#[cfg(not(feature = "otlp"))]
fn otlp_exporter(_: Duration) -> Result<Box<dyn DynExporter>, String> {
    Err(
        "the otlp exporter is not compiled in (traced's `otlp` feature is off); it is skipped"
            .to_owned(),
    )
}

/// The Zipkin exporter configured by `OTEL_EXPORTER_ZIPKIN_*`.
#[cfg(feature = "otlp")]
fn zipkin_exporter() -> Result<Box<dyn DynExporter>, String> {
    crate::export::zipkin::ZipkinExporter::from_env()
        .map(|exporter| Box::new(exporter) as Box<dyn DynExporter>)
        .map_err(|e| format!("the zipkin exporter could not be set up: {e}; it is skipped"))
}

#[cfg(not(feature = "otlp"))]
fn zipkin_exporter() -> Result<Box<dyn DynExporter>, String> {
    Err(
        "the zipkin exporter is not compiled in (traced's `otlp` feature is off); it is skipped"
            .to_owned(),
    )
}

/// The OTLP JSON lines file of `otlp/file`, at `TRACED_OTLP_FILE_PATH`.
fn otlp_file_exporter(env: &EnvConfig) -> Result<Box<dyn DynExporter>, String> {
    let path = env
        .otlp_file_path
        .as_deref()
        .unwrap_or(env::DEFAULT_OTLP_FILE_PATH);
    OtlpJsonLinesExporter::to_file(path)
        .map(|exporter| Box::new(exporter) as Box<dyn DynExporter>)
        .map_err(|e| {
            format!(
                "the otlp/file exporter could not be set up ({}): {}; it is skipped",
                env::OTLP_FILE_PATH,
                diag::quote(&e.to_string())
            )
        })
}

fn exporters_from_env(env: &EnvConfig, export_timeout: Duration) -> Vec<Box<dyn DynExporter>> {
    let names = match &env.exporters {
        Some(names) => names.clone(),
        // The specification's default is otlp; traced prints a tree unless
        // an OTLP endpoint is configured.
        None if env.otlp_endpoint_set => vec![ExporterName::Otlp],
        None => vec![ExporterName::Tree],
    };
    let mut exporters: Vec<Box<dyn DynExporter>> = Vec::new();
    let mut unavailable = 0;
    for name in &names {
        match name {
            ExporterName::Console => exporters.push(Box::new(ConsoleExporter::new())),
            ExporterName::Tree => exporters.push(Box::new(TreeExporter::new())),
            ExporterName::None => {}
            ExporterName::OtlpStdout => exporters.push(Box::new(OtlpJsonLinesExporter::stdout())),
            ExporterName::OtlpFile => match otlp_file_exporter(env) {
                Ok(exporter) => exporters.push(exporter),
                Err(message) => {
                    unavailable += 1;
                    diag::warn_once("exporter-otlp-file", &message);
                }
            },
            ExporterName::Otlp => match otlp_exporter(export_timeout) {
                Ok(exporter) => exporters.push(exporter),
                Err(message) => {
                    unavailable += 1;
                    diag::warn_once("exporter-otlp", &message);
                }
            },
            ExporterName::Zipkin => match zipkin_exporter() {
                Ok(exporter) => exporters.push(exporter),
                Err(message) => {
                    unavailable += 1;
                    diag::warn_once("exporter-zipkin", &message);
                }
            },
        }
    }
    if exporters.is_empty() && unavailable > 0 && !names.contains(&ExporterName::None) {
        diag::warn_once(
            "exporter-fallback",
            "no exporter from OTEL_TRACES_EXPORTER is available; using `tree`",
        );
        exporters.push(Box::new(TreeExporter::new()));
    }
    exporters
}

#[cfg(test)]
mod tests {
    use opentelemetry::Value;

    use super::*;

    fn service_name(vars: &[(&str, &str)], configure: impl FnOnce(Builder) -> Builder) -> Value {
        let vars: Vec<(String, String)> = (vars.iter())
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut builder = builder();
        builder.env = env::from_lookup(|name| {
            (vars.iter())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        });
        configure(builder)
            .resource()
            .get(&opentelemetry::Key::new("service.name"))
            .unwrap()
    }

    #[test]
    fn a_default_service_name_yields_to_the_environment() {
        let default = |b: Builder| b.with_default_service_name("shopper");
        assert_eq!(service_name(&[], default), Value::from("shopper"));
        assert_eq!(
            service_name(&[("OTEL_SERVICE_NAME", "checkout")], default),
            Value::from("checkout")
        );
        assert_eq!(
            service_name(
                &[("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing")],
                default
            ),
            Value::from("billing")
        );
        let both = |b: Builder| default(b).with_service_name("fixed");
        assert_eq!(
            service_name(&[("OTEL_SERVICE_NAME", "checkout")], both),
            Value::from("fixed")
        );
        let Value::String(unknown) = service_name(&[], |b| b) else {
            panic!("service.name is a string");
        };
        assert!(unknown.as_str().starts_with("unknown_service:"));
    }
}
