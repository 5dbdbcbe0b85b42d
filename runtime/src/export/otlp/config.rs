//! The OTLP exporter's settings, read from the `OTEL_EXPORTER_OTLP_*` variables for traces, and
//! the `opentelemetry-otlp` exporter they build.
//!
//! Each variable means what the OpenTelemetry specification says. A signal-specific variable
//! (`OTEL_EXPORTER_OTLP_TRACES_*`) wins over the generic one. Values are trimmed; an empty value
//! counts as unset. A value that cannot be used is reported once (through
//! [`vars`](crate::vars), shared with every `OTEL_*` parser) and the
//! next source applies (the generic variable, then the default): a typo in the environment never
//! stops the application. Header values are never echoed in warnings: they often hold tokens.
//! Certificate files are only read by [`OtlpConfig::build_exporter`], which fails with a message
//! naming the file if one cannot be used.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::Uri;
use opentelemetry_otlp::{
    Compression, ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _,
    WithHttpConfig as _,
};

use super::exporter::OtlpExporter;
use super::http_client::{check_scheme, BlockingHttpClient};
use super::native::NativeHttp;
use crate::diag::{self, quote, warn_once_with};
use crate::vars::{self, key_values, problem, EntryProblem, Vars, MILLIS_EXPECTED};

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
pub(super) const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
const TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
pub(super) const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
const TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
pub(super) const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
const TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";

/// The collector used when no endpoint variable is set: OTLP/HTTP on this machine.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// The collector used for gRPC when no endpoint variable is set, as the specification says.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";

/// The path appended to `OTEL_EXPORTER_OTLP_ENDPOINT` (and to the default) for traces.
const TRACES_PATH: &str = "/v1/traces";

/// The export timeout when none is set, as the specification says: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP transport and encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf`: binary protobuf, `Content-Type: application/x-protobuf` (the default).
    #[default]
    HttpProtobuf,
    /// `http/json`: the OTLP JSON encoding, `Content-Type: application/json`.
    HttpJson,
    /// `grpc`: the OTLP `TraceService/Export` call over HTTP/2. Needs traced's `otlp-grpc`
    /// feature; without it [`OtlpConfig::build_exporter`] fails saying so.
    Grpc,
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
/// defaults for OTLP/HTTP; the fields can also be set directly. [`OtlpConfig::build_exporter`]
/// turns the settings into an [`OtlpExporter`] that needs no async runtime from the application.
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
    /// The full URL spans are posted to, such as `http://localhost:4318/v1/traces`. Userinfo
    /// (`http://user:password@host/…`) is sent as a Basic `Authorization` header unless
    /// [`headers`](Self::headers) has one, and is never printed, nor is the query. For gRPC
    /// the collector's address, such as `http://localhost:4317` (see [`DEFAULT_GRPC_ENDPOINT`]:
    /// setting [`protocol`](Self::protocol) in code does not change the endpoint).
    pub endpoint: String,
    /// Extra request headers (gRPC metadata for gRPC), such as an `authorization` token, in the
    /// order given.
    pub headers: Vec<(String, String)>,
    /// The transport and the body's encoding.
    pub protocol: OtlpProtocol,
    /// How long one export may take, retries included (at most 10 minutes: a longer one is
    /// used as 10 minutes).
    pub timeout: Duration,
    /// The body's compression.
    pub compression: OtlpCompression,
    /// A PEM file of CA certificates to trust for an `https://` endpoint, besides the
    /// `webpki-roots` ones: the way to reach a collector whose certificate comes from a private
    /// CA. Used with the `otlp-tls` feature, for `https://` endpoints only.
    pub certificate: Option<PathBuf>,
    /// A PEM file with the client's private key, for mutual TLS; needs
    /// [`client_certificate`](Self::client_certificate) too.
    pub client_key: Option<PathBuf>,
    /// A PEM file with the client's certificate chain, for mutual TLS; needs
    /// [`client_key`](Self::client_key) too.
    pub client_certificate: Option<PathBuf>,
}

/// Header values are left out, and the endpoint's userinfo and query: they often hold
/// credentials.
impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OtlpConfig")
            .field("endpoint", &diag::endpoint(&self.endpoint))
            .field("header_names", &header_names)
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("certificate", &self.certificate)
            .field("client_key", &self.client_key)
            .field("client_certificate", &self.client_certificate)
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
            certificate: None,
            client_key: None,
            client_certificate: None,
        }
    }
}

impl OtlpConfig {
    /// Reads the `OTEL_EXPORTER_OTLP_*` variables for traces from the process environment.
    ///
    /// | variable (`TRACES_` form wins) | meaning | default |
    /// | --- | --- | --- |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; for HTTP `/v1/traces` is appended, for gRPC it is used as is | `http://localhost:4318`, gRPC `http://localhost:4317` |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full URL, used as is | |
    /// | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,key2=value2`, values percent-decoded | none |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf`, `http/json` or `grpc` | `http/protobuf` |
    /// | `OTEL_EXPORTER_OTLP_TIMEOUT` | milliseconds | `10000` |
    /// | `OTEL_EXPORTER_OTLP_COMPRESSION` | `gzip` or `none` | `none` |
    /// | `OTEL_EXPORTER_OTLP_CERTIFICATE` | PEM file of CA certificates to trust (TLS) | none |
    /// | `OTEL_EXPORTER_OTLP_CLIENT_KEY`, `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` | PEM files of the client's key and certificate chain (mutual TLS) | none |
    ///
    /// The protocol decides the default endpoint and whether `/v1/traces` is appended. Without
    /// the `otlp-grpc` feature, `grpc` is warned about (naming the feature) and `http/protobuf`
    /// is used.
    pub fn from_env() -> Self {
        Self::from_lookup(vars::var)
    }

    /// Reads the settings through `lookup`, which returns a variable's raw value if it is set.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let vars = Vars::new(&lookup);
        let get = |name: &str| vars.get(name);
        let defaults = Self::default();
        // The protocol comes first: it decides the default endpoint and the `/v1/traces` suffix.
        let protocol: OtlpProtocol =
            resolve(&get, [TRACES_PROTOCOL, PROTOCOL], "http/protobuf", protocol)
                .unwrap_or_default();
        let default_endpoint = match protocol {
            OtlpProtocol::Grpc => DEFAULT_GRPC_ENDPOINT,
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => DEFAULT_ENDPOINT,
        };
        let path = |vars: [&str; 2]| vars.into_iter().find_map(|var| get(var).map(PathBuf::from));
        Self {
            endpoint: resolve(
                &get,
                [TRACES_ENDPOINT, ENDPOINT],
                default_endpoint,
                |var, value| endpoint(var, value, protocol),
            )
            .unwrap_or_else(|| match protocol {
                OtlpProtocol::Grpc => DEFAULT_GRPC_ENDPOINT.to_owned(),
                OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => defaults.endpoint,
            }),
            headers: [TRACES_HEADERS, HEADERS]
                .into_iter()
                .find_map(|var| Some(headers(var, &get(var)?)))
                .unwrap_or_default(),
            protocol,
            timeout: resolve(&get, [TRACES_TIMEOUT, TIMEOUT], "10000", timeout)
                .unwrap_or(defaults.timeout),
            compression: resolve(&get, [TRACES_COMPRESSION, COMPRESSION], "none", compression)
                .unwrap_or_default(),
            certificate: path([TRACES_CERTIFICATE, CERTIFICATE]),
            client_key: path([TRACES_CLIENT_KEY, CLIENT_KEY]),
            client_certificate: path([TRACES_CLIENT_CERTIFICATE, CLIENT_CERTIFICATE]),
        }
    }

    /// Builds the exporter. Over HTTP it is `opentelemetry-otlp` with a [`BlockingHttpClient`],
    /// so neither the application nor the exporter needs an async runtime; over gRPC (feature
    /// `otlp-grpc`) it is `opentelemetry-otlp`'s tonic exporter on a one-thread tokio runtime
    /// the exporter owns, which works the same inside or outside the application's own runtime.
    ///
    /// Fails for an endpoint that is not a valid `http://` URL, or `https://` with the
    /// `otlp-tls` feature (the error says which feature is missing, as it does for
    /// [`OtlpProtocol::Grpc`] without `otlp-grpc`), and for certificate files that cannot be
    /// read or hold no usable PEM data.
    ///
    /// Under traced's batch processor a failed export is sent again with backoff (see
    /// [`BatchConfig`](crate::BatchConfig)) when it may succeed later: connection errors,
    /// timeouts and the statuses 429, 502, 503 and 504, not before the wait a `Retry-After`
    /// header asks for (up to 5 minutes; at shutdown each batch left is tried once). Any
    /// other error status means the collector refused the data itself; as the OTLP
    /// specification requires, that batch is not sent again, and counts as failed. Over gRPC
    /// the same holds for the codes the specification calls not retryable when the collector
    /// sent them (`INVALID_ARGUMENT`, `UNAUTHENTICATED`, `PERMISSION_DENIED`,
    /// `RESOURCE_EXHAUSTED` without retry information, ...); a lost connection and
    /// `UNAVAILABLE` are sent again.
    pub fn build_exporter(&self) -> Result<OtlpExporter, OtlpBuildError> {
        let config = self.sendable();
        let uri: Uri = config.endpoint.parse().map_err(|error| {
            OtlpBuildError::new(format!(
                "invalid OTLP endpoint `{}`: {error}",
                diag::endpoint(&self.endpoint)
            ))
        })?;
        check_scheme(&uri).map_err(OtlpBuildError::new)?;
        match config.protocol {
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let client = config.http_client(&uri)?;
                let exporter = config.build_http(client.clone())?;
                let native = NativeHttp::new(
                    uri,
                    &config.headers,
                    config.compression == OtlpCompression::Gzip,
                    config.protocol == OtlpProtocol::HttpJson,
                );
                Ok(OtlpExporter::http(
                    exporter,
                    client,
                    Some(native),
                    &self.endpoint,
                ))
            }
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => {
                let exporter = super::grpc::GrpcExporter::build(&config, &uri)?;
                Ok(OtlpExporter::grpc(exporter, &self.endpoint))
            }
            #[cfg(not(feature = "otlp-grpc"))]
            OtlpProtocol::Grpc => Err(OtlpBuildError::new(
                "OTLP over gRPC is not compiled in: enable traced's `otlp-grpc` feature, or use \
                 http/protobuf (the collector's port 4318)"
                    .to_owned(),
            )),
        }
    }

    /// The settings as they are sent: the timeout at most [`vars::MAX_DURATION`], and the
    /// endpoint without userinfo (`http://user:password@host/…`), which becomes an
    /// `Authorization: Basic …` header instead (user and password percent-decoded), unless an
    /// `Authorization` header is given (it wins, and a warning says the userinfo is unused).
    /// Userinfo is never sent in the request line, nor printed.
    fn sendable(&self) -> Self {
        let mut config = self.clone();
        config.timeout = config.timeout.min(vars::MAX_DURATION);
        let Some((endpoint, authorization)) = without_userinfo(&self.endpoint) else {
            return config;
        };
        config.endpoint = endpoint;
        let explicit =
            (self.headers.iter()).any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        if explicit {
            diag::warn_once(
                "otlp-userinfo-unused",
                "the OTLP endpoint's userinfo (user:password@) is not used: an Authorization header is set, and it wins",
            );
        } else {
            config
                .headers
                .push(("authorization".to_owned(), authorization));
        }
        config
    }

    /// The HTTP client, with TLS set up from the certificate files for `https://`.
    #[allow(clippy::unnecessary_wraps)] // Without `otlp-tls` nothing can fail.
    fn http_client(&self, uri: &Uri) -> Result<BlockingHttpClient, OtlpBuildError> {
        let client = BlockingHttpClient::new(self.timeout);
        #[cfg(feature = "otlp-tls")]
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            return Ok(client.with_tls(super::tls::client_config(self)?));
        }
        self.warn_unused_certificates(uri);
        Ok(client)
    }

    /// Certificate files are read for `https://` endpoints only, in builds with `otlp-tls`.
    /// Set where they are not used, each is named in a warning (a missing file as missing),
    /// so that a mistyped path or a build without TLS is not a silent surprise.
    pub(super) fn warn_unused_certificates(&self, uri: &Uri) {
        let why = if cfg!(feature = "otlp-tls") {
            if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
                return;
            }
            "the endpoint is not https://"
        } else {
            "this build of traced has no TLS (enable its `otlp-tls` feature for https:// endpoints)"
        };
        let files = [
            (CERTIFICATE, &self.certificate),
            (CLIENT_CERTIFICATE, &self.client_certificate),
            (CLIENT_KEY, &self.client_key),
        ];
        for (variable, path) in files {
            let Some(path) = path else { continue };
            let shown = diag::quote(&path.display().to_string());
            let state = if path.is_file() {
                "is not used"
            } else {
                "does not exist (or is not a file), and is not used anyway"
            };
            diag::warn_once_with(&format!("otlp-unused-file:{variable}"), || {
                format!("the file `{shown}` ({variable} or the builder) {state}: {why}")
            });
        }
    }

    fn build_http(&self, client: BlockingHttpClient) -> Result<SpanExporter, OtlpBuildError> {
        // `with_headers` percent-decodes every value once more; escape what we decoded already.
        let headers: HashMap<String, String> = (self.headers.iter())
            .map(|(name, value)| (name.clone(), value.replace('%', "%25")))
            .collect();
        let builder = SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(self.endpoint.clone())
            .with_protocol(match self.protocol {
                OtlpProtocol::HttpJson => Protocol::HttpJson,
                OtlpProtocol::HttpProtobuf | OtlpProtocol::Grpc => Protocol::HttpBinary,
            })
            .with_timeout(self.timeout)
            .with_headers(headers);
        let builder = match self.compression {
            OtlpCompression::None => builder,
            OtlpCompression::Gzip => builder.with_compression(Compression::Gzip),
        };
        builder.build().map_err(OtlpBuildError::from_exporter)
    }
}

/// Why [`OtlpConfig::build_exporter`] could not build an exporter.
#[derive(Debug)]
pub struct OtlpBuildError {
    message: String,
    source: Option<ExporterBuildError>,
}

impl OtlpBuildError {
    pub(super) fn new(message: String) -> Self {
        Self {
            message,
            source: None,
        }
    }

    pub(super) fn from_exporter(error: ExporterBuildError) -> Self {
        Self {
            message: format!("cannot build the OTLP exporter: {error}"),
            source: Some(error),
        }
    }
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
                warn_once_with(&diag::key(var, &value), || format!("{problem}; {instead}"));
            }
        }
    }
    None
}

/// `Invalid value `…` for VAR (expected …)`, the common problem sentence.
fn invalid(var: &str, value: &str, expected: &str) -> String {
    problem(var, value, expected)
}

/// An endpoint URL: the signal variable as is, the generic one with `/v1/traces` appended to
/// its path for OTLP/HTTP, as the specification says (`http://h:4318/base?k=v` becomes
/// `http://h:4318/base/v1/traces?k=v`); gRPC has no path: the service and method name it.
fn endpoint(var: &str, value: &str, protocol: OtlpProtocol) -> Result<String, String> {
    let url = if var == ENDPOINT && protocol != OtlpProtocol::Grpc {
        let (base, query) = value.split_at(value.find(['?', '#']).unwrap_or(value.len()));
        format!("{}{TRACES_PATH}{query}", base.trim_end_matches('/'))
    } else {
        value.to_owned()
    };
    match url.parse::<Uri>() {
        Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => Ok(url),
        _ => Err(invalid(
            var,
            &diag::redact_url(value),
            if protocol == OtlpProtocol::Grpc {
                "an absolute URL such as http://localhost:4317"
            } else {
                "an absolute URL such as http://localhost:4318"
            },
        )),
    }
}

/// `endpoint` without its userinfo, and the `Authorization` header value the userinfo makes
/// (`Basic` and base64 of `user:password`, each percent-decoded); `None` without userinfo.
fn without_userinfo(endpoint: &str) -> Option<(String, String)> {
    let start = endpoint.find("://")? + 3;
    let rest = &endpoint[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let at = authority.rfind('@')?;
    let (user, password) = authority[..at]
        .split_once(':')
        .unwrap_or((&authority[..at], ""));
    let decode = |part: &str| vars::percent_decode(part).unwrap_or_else(|| part.to_owned());
    let credentials = format!("{}:{}", decode(user), decode(password));
    let stripped = format!("{}{}", &endpoint[..start], &rest[at + 1..]);
    Some((
        stripped,
        format!("Basic {}", base64(credentials.as_bytes())),
    ))
}

/// Standard base64 with padding (RFC 4648), for a Basic `Authorization` header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[(group >> (18 - 6 * i)) as usize & 63]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

/// `key=value` entries with percent-decoded values; a bad entry is skipped, not the whole list.
/// A warning names the header, never its value.
fn headers(var: &str, value: &str) -> Vec<(String, String)> {
    let skip = |what: &str, problem: &str| {
        warn_once_with(&format!("{var}:{what}:{problem}"), || {
            format!("skipping {what} in {var}: {problem}")
        });
    };
    let header = |name: &str| format!("header `{}`", quote(name));
    let mut headers = Vec::new();
    for entry in key_values(value) {
        let (name, decoded) = match entry {
            Ok(entry) => entry,
            Err((_, EntryProblem::NoEquals)) => {
                skip("an entry without `=`", "expected key=value");
                continue;
            }
            Err((_, EntryProblem::EmptyKey)) => {
                skip(&header(""), "not a valid HTTP header name");
                continue;
            }
            Err((entry, EntryProblem::BadPercent)) => {
                let name = entry.split_once('=').map_or(entry, |(name, _)| name.trim());
                if HeaderName::from_bytes(name.as_bytes()).is_err() {
                    skip(&header(name), "not a valid HTTP header name");
                } else {
                    skip(
                        &header(name),
                        "bad percent-encoding (expected `%` and two hex digits)",
                    );
                }
                continue;
            }
        };
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            skip(&header(name), "not a valid HTTP header name");
            continue;
        }
        if HeaderValue::from_str(&decoded).is_err() {
            skip(
                &header(name),
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
        #[cfg(feature = "otlp-grpc")]
        "grpc" => Ok(OtlpProtocol::Grpc),
        #[cfg(not(feature = "otlp-grpc"))]
        "grpc" => Err(format!(
            "{var} asks for grpc, but this build of traced has no gRPC export (enable traced's \
             `otlp-grpc` feature; meanwhile the collector must accept OTLP/HTTP, usually on \
             port 4318)"
        )),
        _ => Err(invalid(var, value, "http/protobuf, http/json or grpc")),
    }
}

/// A timeout in milliseconds, at most [`vars::MAX_DURATION`] (clamped with a warning).
fn timeout(var: &str, value: &str) -> Result<Duration, String> {
    let timeout = vars::millis(value).ok_or_else(|| invalid(var, value, MILLIS_EXPECTED))?;
    Ok(vars::at_most_max(var, value, timeout))
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
