//! The OpenTelemetry SDK environment variables for traces, parsed into plain values.
//!
//! Each variable means what the OpenTelemetry specification says it means. Values are trimmed of
//! surrounding whitespace, and a value that is empty after trimming counts as unset. A value
//! that cannot be used is reported once (naming the variable, the value and what is used
//! instead) and replaced by the default: a typo in the environment never stops the application.
//! Reading and warning go through [`vars`](super::vars), shared with the exporters' variables.

#[cfg(test)]
use std::time::Duration;

use crate::diag::{self, quote, warn_once, warn_once_with};
use crate::model::SpanLimits;
use crate::vars::{invalid, key_values, list, var, Vars};

const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
const BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
const BSP_MAX_BUFFER_BYTES: &str = "TRACED_BSP_MAX_BUFFER_BYTES";
const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
const PROPAGATORS: &str = "OTEL_PROPAGATORS";
const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The file `otlp/file` appends to. The OpenTelemetry specification defines the file
/// exporter's format but no variable for its path, so this one is traced's own, named outside
/// the `OTEL_` namespace where a later standard variable could mean something else.
pub(crate) const OTLP_FILE_PATH: &str = "TRACED_OTLP_FILE_PATH";
/// Where `otlp/file` writes when [`OTLP_FILE_PATH`] is not set: the specification's preferred
/// extension, in the working directory.
pub(crate) const DEFAULT_OTLP_FILE_PATH: &str = "traces.jsonl";

/// The trace settings found in the environment; fields left unset hold their defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct EnvConfig {
    /// `OTEL_SDK_DISABLED`: true only for `true` (any case).
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`; see [`EnvConfig::service_name`] for the name that applies.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`: keys and percent-decoded values, in the order given.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_TRACES_EXPORTER`: the exporters asked for, or `None` for the default.
    pub exporters: Option<Vec<ExporterName>>,
    /// `OTEL_BSP_*`: the batch span processor's limits.
    pub batch: BatchSettings,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: SamplerSetting,
    /// `OTEL_PROPAGATORS`: lowercased names, not yet checked, or `None` for the default.
    pub propagators: Option<Vec<String>>,
    /// Whether `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set.
    pub otlp_endpoint_set: bool,
    /// The `OTEL_*_LIMIT` variables (see [`limits`](super::limits)).
    pub span_limits: SpanLimits,
    /// `TRACED_OTLP_FILE_PATH`: the file `otlp/file` appends to, if set.
    pub otlp_file_path: Option<String>,
}

impl EnvConfig {
    /// The service name: `OTEL_SERVICE_NAME` wins over `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES` (the last one, if repeated, as when building a resource).
    pub(crate) fn service_name(&self) -> Option<&str> {
        self.service_name.as_deref().or_else(|| {
            let mut attributes = self.resource_attributes.iter().rev();
            let found = attributes.find(|(key, _)| key == "service.name");
            found.map(|(_, value)| value.as_str())
        })
    }
}

/// An exporter named in `OTEL_TRACES_EXPORTER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExporterName {
    /// `console`: one JSON object per span, like Python's `ConsoleSpanExporter`.
    Console,
    /// `tree`: the human-readable span tree with durations (a `traced` addition).
    Tree,
    /// `none`: export nothing.
    None,
    /// `otlp`: OTLP to a collector.
    Otlp,
    /// `zipkin`: Zipkin's JSON API.
    Zipkin,
    /// `otlp/stdout`: OTLP JSON lines on standard output (the OTLP file exporter's format).
    OtlpStdout,
    /// `otlp/file`: OTLP JSON lines appended to the file named by `TRACED_OTLP_FILE_PATH`.
    OtlpFile,
}

impl ExporterName {
    /// Reads one name, in any case.
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "console" => Some(Self::Console),
            "tree" => Some(Self::Tree),
            "none" => Some(Self::None),
            "otlp" => Some(Self::Otlp),
            "zipkin" => Some(Self::Zipkin),
            "otlp/stdout" => Some(Self::OtlpStdout),
            "otlp/file" => Some(Self::OtlpFile),
            _ => Option::None,
        }
    }
}

/// The batch span processor's limits (`OTEL_BSP_*`).
pub(crate) use crate::collector::BatchConfig as BatchSettings;

/// The sampler chosen by `OTEL_TRACES_SAMPLER`, with its ratio from `OTEL_TRACES_SAMPLER_ARG`.
pub(crate) use crate::collector::Sampler as SamplerSetting;

/// Reads the configuration from the process environment.
pub(crate) fn from_env() -> EnvConfig {
    from_lookup(var)
}

/// Reads the configuration through `lookup`, which returns a variable's raw value if it is set.
pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> EnvConfig {
    let vars = Vars::new(&lookup);
    EnvConfig {
        sdk_disabled: vars.boolean(SDK_DISABLED, false),
        service_name: vars.get(SERVICE_NAME),
        resource_attributes: vars
            .get(RESOURCE_ATTRIBUTES)
            .map(|value| resource_attributes(&value))
            .unwrap_or_default(),
        exporters: vars
            .get(TRACES_EXPORTER)
            .and_then(|value| exporters(&value)),
        batch: batch(&vars),
        sampler: vars
            .get(TRACES_SAMPLER)
            .map_or_else(SamplerSetting::default, |name| {
                sampler(&name, vars.get(TRACES_SAMPLER_ARG).as_deref())
            }),
        propagators: vars.list(PROPAGATORS),
        otlp_endpoint_set: vars.is_set(OTLP_ENDPOINT) || vars.is_set(OTLP_TRACES_ENDPOINT),
        span_limits: super::limits::span_limits(&vars),
        otlp_file_path: vars.get(OTLP_FILE_PATH),
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` entries. One bad entry discards
/// the whole value, with a warning naming it, as the OpenTelemetry resource
/// specification asks ("the entire environment variable value SHOULD be
/// discarded").
fn resource_attributes(value: &str) -> Vec<(String, String)> {
    let mut attributes = Vec::new();
    for entry in key_values(value) {
        match entry {
            Ok((key, value)) => attributes.push((key.to_owned(), value)),
            Err((entry, problem)) => {
                warn_once_with(&diag::key(RESOURCE_ATTRIBUTES, value), || {
                    format!(
                        "{RESOURCE_ATTRIBUTES} is ignored, all of it: its entry `{}` is not valid ({})",
                        quote(entry),
                        problem.describe()
                    )
                });
                return Vec::new();
            }
        }
    }
    attributes
}

/// `OTEL_TRACES_EXPORTER`: known names in order without repeats; `None` when none is usable.
///
/// Linear in the value's length: each unknown entry is warned about once per process, keyed by
/// the entry (not by the whole value), and the message is only built for a new key.
fn exporters(value: &str) -> Option<Vec<ExporterName>> {
    let mut names = Vec::new();
    let mut unknown = Vec::new();
    for entry in list(value) {
        match ExporterName::parse(entry) {
            Some(name) if !names.contains(&name) => names.push(name),
            Some(_) => {}
            None => unknown.push(entry),
        }
    }
    if names.len() > 1 && names.contains(&ExporterName::None) {
        names.retain(|name| *name != ExporterName::None);
        warn_once_with(&format!("{TRACES_EXPORTER}:none-with-others"), || {
            format!(
                "{TRACES_EXPORTER} `{}` combines `none` with other exporters; ignoring `none`",
                quote(value)
            )
        });
    }
    let fallback = if names.is_empty() {
        "using the default exporter"
    } else {
        "skipping it"
    };
    for entry in unknown {
        warn_once_with(&diag::key(TRACES_EXPORTER, entry), || {
            format!(
                "unknown exporter `{}` in {TRACES_EXPORTER}; expected console, tree, otlp, \
                 otlp/stdout, otlp/file, zipkin or none; {fallback}",
                quote(entry)
            )
        });
    }
    (!names.is_empty()).then_some(names)
}

/// `OTEL_BSP_*`, with the export batch never larger than the queue.
fn batch(vars: &Vars<'_>) -> BatchSettings {
    let default = BatchSettings::default();
    let max_queue_size = vars.positive(BSP_MAX_QUEUE_SIZE, default.max_queue_size);
    let requested_batch = vars.positive(BSP_MAX_EXPORT_BATCH_SIZE, default.max_export_batch_size);
    let max_queue_size = max_queue_size.unwrap_or(default.max_queue_size);
    let mut max_export_batch_size = requested_batch.unwrap_or(default.max_export_batch_size);
    if max_export_batch_size > max_queue_size {
        // A default batch size quietly follows a smaller queue; only a requested one is a mistake.
        if let Some(requested) = requested_batch {
            warn_once(
                &format!("{BSP_MAX_EXPORT_BATCH_SIZE}={requested}>{max_queue_size}"),
                &format!(
                    "{BSP_MAX_EXPORT_BATCH_SIZE} ({requested}) is larger than \
                     {BSP_MAX_QUEUE_SIZE} ({max_queue_size}); using {max_queue_size}"
                ),
            );
        }
        max_export_batch_size = max_queue_size;
    }
    BatchSettings {
        max_queue_size,
        scheduled_delay: vars.duration_ms(BSP_SCHEDULE_DELAY, default.scheduled_delay),
        max_export_batch_size,
        export_timeout: vars.duration_ms(BSP_EXPORT_TIMEOUT, default.export_timeout),
        max_buffer_bytes: vars
            .positive(BSP_MAX_BUFFER_BYTES, default.max_buffer_bytes)
            .unwrap_or(default.max_buffer_bytes),
    }
}

/// `OTEL_TRACES_SAMPLER`, reading `arg` only for the ratio samplers.
fn sampler(name: &str, arg: Option<&str>) -> SamplerSetting {
    let ratio = || arg.map_or(1.0, ratio);
    match name.to_ascii_lowercase().as_str() {
        "always_on" => SamplerSetting::AlwaysOn,
        "always_off" => SamplerSetting::AlwaysOff,
        "traceidratio" => SamplerSetting::TraceIdRatio(ratio()),
        "parentbased_always_on" => SamplerSetting::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerSetting::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerSetting::ParentBasedTraceIdRatio(ratio()),
        "jaeger_remote" | "parentbased_jaeger_remote" | "xray" => {
            warn_once(
                &format!("{TRACES_SAMPLER}={name}"),
                &format!(
                    "sampler `{name}` in {TRACES_SAMPLER} is not supported; \
                     using the default parentbased_always_on"
                ),
            );
            SamplerSetting::default()
        }
        _ => {
            let expected = "always_on, always_off, traceidratio, parentbased_always_on, \
                            parentbased_always_off or parentbased_traceidratio";
            invalid(TRACES_SAMPLER, name, expected, "parentbased_always_on");
            SamplerSetting::default()
        }
    }
}

/// `OTEL_TRACES_SAMPLER_ARG` for a ratio sampler: a number from 0 to 1, or 1.0.
fn ratio(value: &str) -> f64 {
    match value.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
        _ => {
            invalid(TRACES_SAMPLER_ARG, value, "a number from 0 to 1", "1.0");
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::capture;

    /// A lookup that sees `vars` as the whole environment.
    fn lookup<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            let found = vars.iter().find(|(var, _)| *var == name);
            found.map(|(_, value)| (*value).to_owned())
        }
    }

    /// Parses `vars` as the whole environment, returning the warnings printed along the way.
    fn parse(vars: &[(&str, &str)]) -> (EnvConfig, Vec<String>) {
        capture(|| from_lookup(lookup(vars)))
    }

    /// Parses `vars` and checks that nothing was warned about.
    fn good(vars: &[(&str, &str)]) -> EnvConfig {
        let (config, warnings) = parse(vars);
        assert!(warnings.is_empty(), "{vars:?}: {warnings:?}");
        config
    }

    /// Parses `vars` and checks that exactly one warning was printed, containing every `needle`.
    fn bad(vars: &[(&str, &str)], needles: &[&str]) -> EnvConfig {
        let (config, warnings) = parse(vars);
        assert_eq!(warnings.len(), 1, "{vars:?}: {warnings:?}");
        assert!(warnings[0].starts_with("traced: warning: "), "{warnings:?}");
        for needle in needles {
            assert!(warnings[0].contains(needle), "{needle:?} in {warnings:?}");
        }
        config
    }

    /// Parses `var=value` alone and checks for one warning naming the variable and the value.
    fn bad_value(var: &str, value: &str, fallback: &str) -> EnvConfig {
        let quoted = format!("`{}`", value.trim());
        bad(&[(var, value)], &[var, &quoted, fallback])
    }

    #[test]
    fn unset_empty_and_blank_are_all_the_default() {
        assert_eq!(parse(&[]), (EnvConfig::default(), vec![]));
        for blank in ["", " ", "\t \r\n"] {
            let every_variable = capture(|| from_lookup(|_| Some(blank.to_owned())));
            assert_eq!(every_variable, (EnvConfig::default(), vec![]), "{blank:?}");
        }
    }

    #[test]
    fn sdk_disabled() {
        for value in ["true", "TRUE", "True", " true\r\n"] {
            assert!(good(&[(SDK_DISABLED, value)]).sdk_disabled, "{value:?}");
        }
        for value in ["false", "FALSE"] {
            assert!(!good(&[(SDK_DISABLED, value)]).sdk_disabled, "{value:?}");
        }
        for value in ["1", "yes", "on", "truee", "t rue"] {
            assert!(!bad_value(SDK_DISABLED, value, "default `false`").sdk_disabled);
        }
    }

    #[test]
    fn service_name_and_its_precedence() {
        let config = good(&[(SERVICE_NAME, " checkout ")]);
        assert_eq!(config.service_name(), Some("checkout"));
        let from_resource = (RESOURCE_ATTRIBUTES, "service.name=a,service.name=b%20c");
        assert_eq!(good(&[from_resource]).service_name(), Some("b c"));
        let both = good(&[from_resource, (SERVICE_NAME, "env")]);
        assert_eq!(both.service_name(), Some("env"));
        assert_eq!(both.resource_attributes.len(), 2, "both kept raw");
        assert_eq!(good(&[]).service_name(), None);
    }

    #[test]
    fn resource_attributes() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("a=b", &[("a", "b")]),
            ("a=b%20c", &[("a", "b c")]),
            ("list=x%2Cy,eq=1%3D2", &[("list", "x,y"), ("eq", "1=2")]),
            (" a = b , c=d ", &[("a", "b"), ("c", "d")]),
            ("a=%20padded%20", &[("a", " padded ")]),
            ("a=b,,c=d", &[("a", "b"), ("c", "d")]),
            ("a=b,", &[("a", "b")]),
            (",", &[]),
            ("a=", &[("a", "")]),
            ("a=x=y", &[("a", "x=y")]),
            ("a=1+1", &[("a", "1+1")]),
            ("z=1,a=2,z=3", &[("z", "1"), ("a", "2"), ("z", "3")]),
            ("u=%C3%A9%e2%82%ac", &[("u", "é€")]),
            ("u=%FF", &[("u", "\u{FFFD}")]),
        ];
        for (value, expected) in table {
            let config = good(&[(RESOURCE_ATTRIBUTES, value)]);
            let got = config.resource_attributes.iter();
            let got: Vec<(&str, &str)> = got.map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(got, *expected, "{value:?}");
        }
    }

    #[test]
    fn a_bad_resource_entry_discards_the_whole_value() {
        for entry in ["novalue", "=v", " = v", "a=%", "a=%2", "a=%zz", "a=50%"] {
            let value = format!("x=1,{entry},y=2");
            let quoted = format!("`{}`", entry.trim());
            let config = bad(
                &[(RESOURCE_ATTRIBUTES, &value)],
                &[&quoted, "is ignored, all of it"],
            );
            assert_eq!(config.resource_attributes, [], "{entry:?}");
        }
    }

    #[test]
    fn exporters() {
        use ExporterName::{Console, Otlp, Tree, Zipkin};
        let table: &[(&str, &[ExporterName])] = &[
            ("otlp", &[Otlp]),
            ("OTLP", &[Otlp]),
            ("Console", &[Console]),
            (" tree , zipkin ", &[Tree, Zipkin]),
            ("none", &[ExporterName::None]),
            ("otlp,,console,", &[Otlp, Console]),
            ("otlp,otlp", &[Otlp]),
            ("otlp/stdout", &[ExporterName::OtlpStdout]),
            ("OTLP/File,tree", &[ExporterName::OtlpFile, Tree]),
        ];
        for (value, expected) in table {
            let exporters = good(&[(TRACES_EXPORTER, value)]).exporters;
            assert_eq!(exporters.as_deref(), Some(*expected), "{value:?}");
        }
        assert_eq!(good(&[(TRACES_EXPORTER, ",")]).exporters, None);
        for value in ["jaeger", "LOGGING"] {
            let config = bad_value(TRACES_EXPORTER, value, "using the default exporter");
            assert_eq!(config.exporters, None);
        }
        let needles = [TRACES_EXPORTER, "unknown exporter `foo`", "skipping it"];
        let config = bad(&[(TRACES_EXPORTER, "otlp,foo")], &needles);
        assert_eq!(config.exporters, Some(vec![Otlp]));
        let config = bad_value(TRACES_EXPORTER, "none,otlp", "ignoring `none`");
        assert_eq!(config.exporters, Some(vec![Otlp]));
        let (config, warnings) = parse(&[(TRACES_EXPORTER, "a,b")]);
        assert_eq!((config.exporters, warnings.len()), (None, 2));
    }

    #[test]
    fn batch_settings() {
        let default = BatchSettings::default();
        let spec_defaults = [
            (BSP_MAX_QUEUE_SIZE, "2048"),
            (BSP_SCHEDULE_DELAY, "5000"),
            (BSP_MAX_EXPORT_BATCH_SIZE, "512"),
            (BSP_EXPORT_TIMEOUT, "30000"),
        ];
        assert_eq!(good(&spec_defaults).batch, default);
        let config = good(&[
            (BSP_MAX_QUEUE_SIZE, "4096"),
            (BSP_MAX_EXPORT_BATCH_SIZE, " 1000 "),
            (BSP_SCHEDULE_DELAY, "1"),
            (BSP_EXPORT_TIMEOUT, "250"),
            (BSP_MAX_BUFFER_BYTES, "1048576"),
        ]);
        let expected = BatchSettings {
            max_queue_size: 4096,
            scheduled_delay: Duration::from_millis(1),
            max_export_batch_size: 1000,
            export_timeout: Duration::from_millis(250),
            max_buffer_bytes: 1 << 20,
        };
        assert_eq!(config.batch, expected);
        for (var, fallback) in spec_defaults {
            for value in [
                "-1",
                "+1",
                "abc",
                "1.5",
                "1e3",
                "5s",
                "99999999999999999999999",
            ] {
                assert_eq!(bad_value(var, value, fallback).batch, default);
            }
        }
        assert_eq!(bad_value(BSP_MAX_QUEUE_SIZE, "0", "2048").batch, default);
        // A zero delay would make the worker spin; a zero timeout would fail
        // every export.
        assert_eq!(bad_value(BSP_SCHEDULE_DELAY, "0", "5000 ms").batch, default);
        assert_eq!(
            bad_value(BSP_EXPORT_TIMEOUT, "0", "30000 ms").batch,
            default
        );
        assert_eq!(
            bad_value(BSP_MAX_EXPORT_BATCH_SIZE, "0", "512").batch,
            default
        );
        // An absurd duration is clamped, not taken: it would make a flush or the
        // shutdown wait for ever (or overflow the clock).
        for var in [BSP_EXPORT_TIMEOUT, BSP_SCHEDULE_DELAY] {
            let (config, warnings) = parse(&[(var, "18446744073709551615")]);
            assert_eq!(
                warnings,
                [format!(
                    "traced: warning: {var} = `18446744073709551615` ms is longer than traced \
                     accepts (at most 600000 ms, 10 minutes); using 600000 ms"
                )]
            );
            let clamped = if var == BSP_EXPORT_TIMEOUT {
                config.batch.export_timeout
            } else {
                config.batch.scheduled_delay
            };
            assert_eq!(clamped, crate::vars::MAX_DURATION);
        }
    }

    #[test]
    fn export_batch_is_clamped_to_the_queue() {
        let vars = [
            (BSP_MAX_QUEUE_SIZE, "100"),
            (BSP_MAX_EXPORT_BATCH_SIZE, "200"),
        ];
        let config = bad(&vars, &[BSP_MAX_EXPORT_BATCH_SIZE, "(200)", "using 100"]);
        assert_eq!(config.batch.max_export_batch_size, 100);
        // The default batch size follows a smaller queue without a warning.
        let config = good(&[(BSP_MAX_QUEUE_SIZE, "100")]);
        assert_eq!(config.batch.max_export_batch_size, 100);
        let config = good(&[(BSP_MAX_EXPORT_BATCH_SIZE, "2048")]);
        assert_eq!(config.batch.max_export_batch_size, 2048);
    }

    #[test]
    fn samplers() {
        use SamplerSetting::{AlwaysOff, AlwaysOn, ParentBasedAlwaysOff, ParentBasedAlwaysOn};
        use SamplerSetting::{ParentBasedTraceIdRatio, TraceIdRatio};
        let parent_ratio = "parentbased_traceidratio";
        let table = [
            ("always_on", "", AlwaysOn),
            ("ALWAYS_OFF", "", AlwaysOff),
            (" parentbased_always_on ", "", ParentBasedAlwaysOn),
            ("parentbased_always_off", "0.5", ParentBasedAlwaysOff),
            ("always_on", "nonsense", AlwaysOn),
            ("traceidratio", "", TraceIdRatio(1.0)),
            ("TraceIdRatio", "0.25", TraceIdRatio(0.25)),
            ("traceidratio", "0", TraceIdRatio(0.0)),
            ("traceidratio", " 1 ", TraceIdRatio(1.0)),
            (parent_ratio, ".1", ParentBasedTraceIdRatio(0.1)),
            (parent_ratio, "1e-3", ParentBasedTraceIdRatio(0.001)),
        ];
        for (name, arg, expected) in table {
            let config = good(&[(TRACES_SAMPLER, name), (TRACES_SAMPLER_ARG, arg)]);
            assert_eq!(config.sampler, expected, "{name} {arg:?}");
        }
        let config = good(&[(TRACES_SAMPLER, "traceidratio")]);
        assert_eq!(config.sampler, TraceIdRatio(1.0), "a missing ratio is 1.0");
        let config = good(&[(TRACES_SAMPLER_ARG, "0.5")]);
        assert_eq!(config.sampler, ParentBasedAlwaysOn);
    }

    #[test]
    fn bad_samplers_fall_back() {
        let default = SamplerSetting::ParentBasedAlwaysOn;
        for name in ["sometimes", "always-on", "parentbased"] {
            let config = bad_value(TRACES_SAMPLER, name, "default parentbased_always_on");
            assert_eq!(config.sampler, default);
        }
        for name in ["jaeger_remote", "parentbased_jaeger_remote", "XRAY"] {
            let config = bad_value(TRACES_SAMPLER, name, "not supported");
            assert_eq!(config.sampler, default);
        }
        for arg in ["1.5", "-0.1", "abc", "NaN", "inf", "50%"] {
            let vars = [(TRACES_SAMPLER, "traceidratio"), (TRACES_SAMPLER_ARG, arg)];
            let quoted = format!("`{arg}`");
            let config = bad(&vars, &[TRACES_SAMPLER_ARG, &quoted, "default 1.0"]);
            assert_eq!(config.sampler, SamplerSetting::TraceIdRatio(1.0), "{arg}");
        }
    }

    #[test]
    fn propagators_and_endpoints() {
        let config = good(&[(PROPAGATORS, " TraceContext, baggage,,B3Multi ,")]);
        let expected = ["tracecontext", "baggage", "b3multi"].map(String::from);
        assert_eq!(config.propagators.as_deref(), Some(&expected[..]));
        assert_eq!(good(&[(PROPAGATORS, ", ,")]).propagators, None);
        assert!(good(&[(OTLP_ENDPOINT, "http://collector:4318")]).otlp_endpoint_set);
        assert!(good(&[(OTLP_TRACES_ENDPOINT, "http://c:4318/v1/traces")]).otlp_endpoint_set);
        let file = good(&[(OTLP_FILE_PATH, " /var/log/app traces.jsonl ")]).otlp_file_path;
        assert_eq!(file.as_deref(), Some("/var/log/app traces.jsonl"));
        assert_eq!(good(&[(OTLP_FILE_PATH, "  ")]).otlp_file_path, None);
    }

    #[test]
    fn each_mistake_warns_once_per_process() {
        let vars = [(BSP_MAX_QUEUE_SIZE, "lots"), (SDK_DISABLED, "yes")];
        let (configs, warnings) =
            capture(|| [from_lookup(lookup(&vars)), from_lookup(lookup(&vars))]);
        assert_eq!(configs[0], configs[1]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn a_huge_value_is_read_in_linear_time_and_quoted_within_bounds() {
        // 256 KB of unknown exporters: each used to be formatted with the
        // whole value into its warn-once key, quadratic (seconds).
        let value = "k=v,".repeat(64_000);
        let started = std::time::Instant::now();
        let (config, warnings) = parse(&[(TRACES_EXPORTER, &value)]);
        let elapsed = started.elapsed();
        assert_eq!(config.exporters, None);
        assert_eq!(warnings.len(), 1, "one per distinct entry");
        assert!(
            warnings[0].contains("unknown exporter `k=v`"),
            "{warnings:?}"
        );
        assert!(
            elapsed < Duration::from_secs(2),
            "{elapsed:?} to read a 256 KB value"
        );
        // A huge bad value is quoted by its first 200 characters.
        let huge = "y".repeat(100_000);
        for var in [
            SDK_DISABLED,
            BSP_SCHEDULE_DELAY,
            RESOURCE_ATTRIBUTES,
            TRACES_SAMPLER,
        ] {
            let (_, warnings) = parse(&[(var, &huge)]);
            assert_eq!(warnings.len(), 1, "{var}");
            assert!(
                warnings[0].len() < 600,
                "{var}: {} bytes",
                warnings[0].len()
            );
            assert!(
                warnings[0].contains(&format!("{}…`", "y".repeat(200))),
                "{var}"
            );
        }
    }

    #[test]
    fn control_characters_in_values_are_escaped() {
        bad(&[(SDK_DISABLED, "ye\ns")], &[r"`ye\ns`"]);
    }

    #[test]
    fn the_real_environment_never_panics() {
        let _ = capture(from_env);
    }
}
