//! The OTLP exporter's settings, read from the `OTEL_EXPORTER_OTLP_*` variables for traces, and
//! the `opentelemetry-otlp` exporter they build.
//!
//! Each variable means what the OpenTelemetry specification says. A signal-specific variable
//! (`OTEL_EXPORTER_OTLP_TRACES_*`) wins over the generic one. Values are trimmed; an empty value
//! counts as unset. A value that cannot be used is reported once through [`warn_once`] and the
//! next source applies (the generic variable, then the default): a typo in the environment never
//! stops the application. Header values are never echoed in warnings: they often hold tokens.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::Uri;
use opentelemetry_otlp::{
    Compression, ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _,
    WithHttpConfig as _,
};

use super::http_client::{check_scheme, BlockingHttpClient};
use crate::config::env::percent_decode;
use crate::config::warn::warn_once;

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";

/// The collector used when no endpoint variable is set: OTLP/HTTP on this machine.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// The path appended to `OTEL_EXPORTER_OTLP_ENDPOINT` (and to the default) for traces.
const TRACES_PATH: &str = "/v1/traces";

/// The export timeout when none is set, as the specification says: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP/HTTP encoding of the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf`: binary protobuf, `Content-Type: application/x-protobuf` (the default).
    #[default]
    HttpProtobuf,
    /// `http/json`: the OTLP JSON encoding, `Content-Type: application/json`.
    HttpJson,
}

/// How the request body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpCompression {
    /// `none`: sent as is (the default).
    #[default]
    None,
    /// `gzip`: sent with `Content-Encoding: gzip`.
    Gzip,
}

/// Where and how the OTLP exporter sends spans.
///
/// [`OtlpConfig::from_env`] reads the standard variables; [`Default`] gives the specification's
/// defaults; the fields can also be set directly. [`OtlpConfig::build_exporter`] turns the
/// settings into an `opentelemetry-otlp` exporter that needs no async runtime.
///
/// ```
/// use std::time::Duration;
/// use traced::export::otlp::{OtlpCompression, OtlpConfig};
///
/// let config = OtlpConfig {
///     endpoint: "http://collector.internal:4318/v1/traces".to_owned(),
///     compression: OtlpCompression::Gzip,
///     timeout: Duration::from_secs(5),
///     ..OtlpConfig::default()
/// };
/// let exporter = config.build_exporter()?;
/// # drop(exporter);
/// # Ok::<(), traced::export::otlp::OtlpBuildError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The full URL spans are posted to, such as `http://localhost:4318/v1/traces`.
    pub endpoint: String,
    /// Extra request headers, such as an `authorization` token, in the order given.
    pub headers: Vec<(String, String)>,
    /// The body's encoding.
    pub protocol: OtlpProtocol,
    /// How long one export may take, retries included.
    pub timeout: Duration,
    /// The body's compression.
    pub compression: OtlpCompression,
}

/// Header values are left out: they often hold credentials.
impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field("header_names", &header_names)
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .finish()
    }
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: format!("{DEFAULT_ENDPOINT}{TRACES_PATH}"),
            headers: Vec::new(),
            protocol: OtlpProtocol::default(),
            timeout: DEFAULT_TIMEOUT,
            compression: OtlpCompression::default(),
        }
    }
}

impl OtlpConfig {
    /// Reads the `OTEL_EXPORTER_OTLP_*` variables for traces from the process environment.
    ///
    /// | variable (`TRACES_` form wins) | meaning | default |
    /// | --- | --- | --- |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; `/v1/traces` is appended | `http://localhost:4318` |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full URL, used as is | |
    /// | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,key2=value2`, values percent-decoded | none |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` or `http/json` | `http/protobuf` |
    /// | `OTEL_EXPORTER_OTLP_TIMEOUT` | milliseconds | `10000` |
    /// | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip` or `none` | `none` |
    ///
    /// `grpc` is not available in this build: it is warned about and `http/protobuf` is used.
    pub fn from_env() -> Self {
        Self::from_lookup(crate::config::env::var)
    }

    /// Reads the settings through `lookup`, which returns a variable's raw value if it is set.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| {
            let value = lookup(name)?;
            let value = value.trim();
            (!value.is_empty()).then(|| value.to_owned())
        };
        let defaults = Self::default();
        Self {
            endpoint: resolve(
                &get,
                [TRACES_ENDPOINT, ENDPOINT],
                DEFAULT_ENDPOINT,
                endpoint,
            )
            .unwrap_or(defaults.endpoint),
            headers: [TRACES_HEADERS, HEADERS]
                .into_iter()
                .find_map(|var| Some(headers(var, &get(var)?)))
                .unwrap_or_default(),
            protocol: resolve(&get, [TRACES_PROTOCOL, PROTOCOL], "http/protobuf", protocol)
                .unwrap_or_default(),
            timeout: resolve(&get, [TRACES_TIMEOUT, TIMEOUT], "10000", timeout)
                .unwrap_or(defaults.timeout),
            compression: resolve(&get, [TRACES_COMPRESSION, COMPRESSION], "none", compression)
                .unwrap_or_default(),
        }
    }

    /// Builds the exporter: `opentelemetry-otlp` over HTTP with a [`BlockingHttpClient`], so
    /// neither the application nor the exporter needs an async runtime.
    ///
    /// Fails for an endpoint that is not a valid `http://` URL; in particular an `https://`
    /// endpoint needs TLS, which this build does not have (the error says which feature adds it).
    /// The exporter retries failed exports (connection errors, 429, 502, 503, 504) with backoff
    /// for at most [`timeout`](Self::timeout) in all.
    pub fn build_exporter(&self) -> Result<SpanExporter, OtlpBuildError> {
        let uri: Uri = self.endpoint.parse().map_err(|error| OtlpBuildError {
            message: format!("invalid OTLP endpoint `{}`: {error}", self.endpoint),
            source: None,
        })?;
        check_scheme(&uri).map_err(|message| OtlpBuildError {
            message,
            source: None,
        })?;
        // `with_headers` percent-decodes every value once more; escape what we decoded already.
        let headers: HashMap<String, String> = (self.headers.iter())
            .map(|(name, value)| (name.clone(), value.replace('%', "%25")))
            .collect();
        let builder = SpanExporter::builder()
            .with_http()
            .with_http_client(BlockingHttpClient::new(self.timeout))
            .with_endpoint(self.endpoint.clone())
            .with_protocol(match self.protocol {
                OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
                OtlpProtocol::HttpJson => Protocol::HttpJson,
            })
            .with_timeout(self.timeout)
            .with_headers(headers);
        let builder = match self.compression {
            OtlpCompression::None => builder,
            OtlpCompression::Gzip => builder.with_compression(Compression::Gzip),
        };
        builder.build().map_err(|error| OtlpBuildError {
            message: format!("cannot build the OTLP exporter: {error}"),
            source: Some(error),
        })
    }
}

/// Why [`OtlpConfig::build_exporter`] could not build an exporter.
#[derive(Debug)]
pub struct OtlpBuildError {
    message: String,
    source: Option<ExporterBuildError>,
}

impl fmt::Display for OtlpBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OtlpBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// The value of the first of `vars` that is set and valid; `None` if there is none.
///
/// `parse(var, value)` returns the setting, or the sentence that explains the problem. A set
/// variable that is invalid is warned about once, naming what applies instead.
fn resolve<T>(
    get: &impl Fn(&str) -> Option<String>,
    vars: [&str; 2],
    default: &str,
    parse: impl Fn(&str, &str) -> Result<T, String>,
) -> Option<T> {
    for (i, var) in vars.iter().enumerate() {
        let Some(value) = get(var) else { continue };
        match parse(var, &value) {
            Ok(setting) => return Some(setting),
            Err(problem) => {
                let instead = match vars[i + 1..].iter().find(|later| get(later).is_some()) {
                    Some(later) => format!("using {later} instead"),
                    None => format!("using the default {default}"),
                };
                warn_once(&format!("{var}={value}"), &format!("{problem}; {instead}"));
            }
        }
    }
    None
}

/// `Invalid value `…` for VAR (expected …)`, the common problem sentence.
fn invalid(var: &str, value: &str, expected: &str) -> String {
    format!(
        "invalid value `{}` for {var} (expected {expected})",
        value.escape_debug()
    )
}

/// An endpoint URL: the signal variable as is, the generic one with `/v1/traces` appended.
fn endpoint(var: &str, value: &str) -> Result<String, String> {
    let url = if var == ENDPOINT {
        format!("{}{TRACES_PATH}", value.trim_end_matches('/'))
    } else {
        value.to_owned()
    };
    match url.parse::<Uri>() {
        Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => Ok(url),
        _ => Err(invalid(
            var,
            value,
            "an absolute URL such as http://localhost:4318",
        )),
    }
}

/// `key=value` entries with percent-decoded values; a bad entry is skipped, not the whole list.
fn headers(var: &str, value: &str) -> Vec<(String, String)> {
    let skip = |what: &str, problem: &str| {
        warn_once(
            &format!("{var}:{what}:{problem}"),
            &format!("skipping {what} in {var}: {problem}"),
        );
    };
    let mut headers = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, raw)) = entry.split_once('=') else {
            skip("an entry without `=`", "expected key=value");
            continue;
        };
        let name = name.trim();
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            let what = format!("header `{}`", name.escape_debug());
            skip(&what, "not a valid HTTP header name");
            continue;
        }
        let what = format!("header `{name}`");
        let Some(decoded) = percent_decode(raw.trim()) else {
            skip(
                &what,
                "bad percent-encoding (expected `%` and two hex digits)",
            );
            continue;
        };
        if HeaderValue::from_str(&decoded).is_err() {
            skip(
                &what,
                "the decoded value has characters a header cannot carry (control or non-ASCII)",
            );
            continue;
        }
        headers.push((name.to_owned(), decoded));
    }
    headers
}

fn protocol(var: &str, value: &str) -> Result<OtlpProtocol, String> {
    match value.to_ascii_lowercase().as_str() {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Ok(OtlpProtocol::HttpJson),
        "grpc" => Err(format!(
            "{var} asks for grpc, but gRPC export is not available in this build of traced \
             (the collector must accept OTLP/HTTP, usually on port 4318)"
        )),
        _ => Err(invalid(var, value, "http/protobuf or http/json")),
    }
}

fn timeout(var: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|&ms| ms > 0 && value.bytes().all(|b| b.is_ascii_digit()))
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(var, value, "a positive number of milliseconds"))
}

fn compression(var: &str, value: &str) -> Result<OtlpCompression, String> {
    match value.to_ascii_lowercase().as_str() {
        "gzip" => Ok(OtlpCompression::Gzip),
        "none" => Ok(OtlpCompression::None),
        _ => Err(invalid(var, value, "gzip or none")),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
