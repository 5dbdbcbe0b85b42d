//! A blocking HTTP/1.1 client over `std::net::TcpStream`: OTLP export without an async runtime,
//! and with TLS (rustls) for `https://` when the `otlp-tls` feature is on.
//!
//! The exporter's batch processor runs on its own thread, so a blocking client is all it needs.
//! The connection is kept between requests (HTTP/1.1 keep-alive): a busy exporter sends a batch
//! many times a second, and a new connection per batch cost about a quarter of the process's CPU
//! (`BENCHMARKS.md`, "End to end"). A kept connection is dropped when the server says
//! `Connection: close`, when a response is not complete and well-formed, on any error or timeout,
//! when the endpoint changes, and when it has been idle longer than [`MAX_IDLE`]. A request sent on
//! a kept connection that fails before any byte of the response arrives (the server closed it
//! meanwhile, say on a collector restart) is sent once more, at once, on a fresh connection, and
//! so is one answered `408 Request Timeout` there (what some servers send on an idle connection
//! as they close it). As
//! with any HTTP client that retries so, a collector that processed the request and then closed
//! the connection without answering receives that batch twice in this rare case.
//!
//! Every step (connect, write, read) is bounded by one deadline, the exporter timeout, so a
//! collector that accepts and never answers cannot hold the export thread longer than that.
//! Responses are parsed defensively: anything that is not well-formed HTTP/1.x becomes an error,
//! never a panic, and bodies are capped at [`MAX_RESPONSE_BODY_BYTES`].

use std::fmt;
use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use http::header::{
    HeaderMap, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, RETRY_AFTER, TRANSFER_ENCODING,
};
use http::{Method, Request, Response, StatusCode, Uri};
use opentelemetry_http::{Bytes, HttpClient, HttpError, ResponseBodyTooLarge};

use super::partial_success::{self, PartialSuccess};
use super::response::{ReadError, ResponseReader};
use crate::export::json::push_u64;
use crate::export::pipeline::Retry;

/// The largest response body accepted, as in `opentelemetry-http`'s own clients: a larger one is
/// reported as [`ResponseBodyTooLarge`], which the exporter does not retry.
pub const MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long a kept connection may stay idle and still be reused: below the keep-alive timeout of
/// common servers (Node.js closes idle connections after 5 s, nginx after 75 s), so the server
/// rarely closes one just as a request is sent on it; a request that meets a closed one anyway
/// is sent again on a new connection.
pub(crate) const MAX_IDLE: Duration = Duration::from_secs(4);

/// The read buffer of one response. A collector's answer (status line, a few headers, an empty
/// or partial-success body) fits in one read of this size; larger ones take more reads. Not the
/// usual 8 KiB: a fresh `BufReader` over a reader without `read_buf` zero-fills its whole buffer
/// on the first read, which at 8 KiB cost about 8 200 instructions per export request (16 per
/// span of a 512-span batch, `--bin e2e -- --callgrind`).
const RESPONSE_BUFFER_BYTES: usize = 1024;

/// A blocking HTTP/1.1 client for `http://` endpoints (and `https://` ones with the `otlp-tls`
/// feature, trusting the `webpki-roots` CAs), implementing [`opentelemetry_http::HttpClient`]
/// for `opentelemetry-otlp`'s HTTP exporter.
///
/// The connection is kept after a complete HTTP/1.1 response and reused by the next request to
/// the same endpoint, unless the server said `Connection: close` or the connection has been idle
/// for more than 4 seconds; it is dropped on any error. A request that fails on a kept connection
/// before any byte of the response arrives (the collector closed it meanwhile, or restarted) is
/// sent once more on a new connection; a collector that processed it and closed without
/// answering then receives it twice, as with other HTTP clients. Each request must complete,
/// from connect (or its first write on a kept connection) to the last body byte, retry
/// included, within the timeout given to [`BlockingHttpClient::new`]. Responses of any status are returned
/// as they are: the exporter decides which statuses are errors and which are worth a retry.
///
/// ```
/// use std::time::Duration;
/// use opentelemetry_otlp::{SpanExporter, WithHttpConfig as _};
/// use traced::export::otlp::BlockingHttpClient;
///
/// let exporter = SpanExporter::builder()
///     .with_http()
///     .with_http_client(BlockingHttpClient::new(Duration::from_secs(10)))
///     .build();
/// # drop(exporter);
/// ```
#[derive(Clone)]
pub struct BlockingHttpClient {
    timeout: Duration,
    /// Why a request failed since the last [`take_last_failure`](Self::take_last_failure),
    /// shared by the clones: `opentelemetry-otlp` reduces a transport error to "network error",
    /// so [`OtlpExporter`](super::OtlpExporter) reports this instead.
    last_failure: Arc<Mutex<Option<String>>>,
    /// What the collector refused in the last successful response, shared by the clones:
    /// `opentelemetry-otlp` only logs it internally, so [`OtlpExporter`](super::OtlpExporter)
    /// counts and reports it from here.
    partial_success: Arc<Mutex<Option<PartialSuccess>>>,
    /// Whether the last failed request is worth sending again, shared by the clones: set from
    /// the response's status and `Retry-After` (see [`retry_for`]).
    retry: Arc<Mutex<Option<Retry>>>,
    /// When the export in progress must be over, shared by the clones: a request never runs
    /// past it, so retries (each a request with the whole timeout) cannot stretch one export
    /// beyond the exporter's timeout.
    export_deadline: Arc<Mutex<Option<Instant>>>,
    /// The connection of the last complete response, shared by the clones; taken out while a
    /// request uses it, so clones sending at the same time each use their own.
    kept: Arc<Mutex<Option<Kept>>>,
    /// [`MAX_IDLE`], shorter in tests.
    max_idle: Duration,
    #[cfg(feature = "otlp-tls")]
    tls: Arc<rustls::ClientConfig>,
}

/// A connection kept for the next request to the same endpoint.
struct Kept {
    host: String,
    port: u16,
    tls: bool,
    stream: BufReader<Connection>,
    idle_since: Instant,
}

/// How a request on one connection went wrong.
enum Attempt {
    /// A kept connection failed before any byte of the response arrived: the server probably
    /// closed it while idle, so the request is worth sending once more on a fresh one.
    Stale,
    Failed(TransportError),
}

impl fmt::Debug for BlockingHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BlockingHttpClient {
    /// Creates a client whose requests each finish or fail within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last_failure: Arc::default(),
            partial_success: Arc::default(),
            retry: Arc::default(),
            export_deadline: Arc::default(),
            kept: Arc::default(),
            max_idle: MAX_IDLE,
            #[cfg(feature = "otlp-tls")]
            tls: super::tls::default_client_config(),
        }
    }

    /// Takes the description of the first transport failure since the last call, if any.
    pub(crate) fn take_last_failure(&self) -> Option<String> {
        (self.last_failure.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Takes what the collector refused in the last successful response, if it refused anything.
    pub(crate) fn take_partial_success(&self) -> Option<PartialSuccess> {
        (self.partial_success.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Takes whether the last failed request is worth sending again (`None` when the last
    /// request succeeded or none was made since the last call).
    pub(crate) fn take_retry(&self) -> Option<Retry> {
        (self.retry.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Sets (or, with `None`, clears) the time by which every request of the export in progress
    /// must be over, whatever is left of its own timeout.
    pub(crate) fn set_export_deadline(&self, deadline: Option<Instant>) {
        *(self.export_deadline.lock()).unwrap_or_else(PoisonError::into_inner) = deadline;
    }

    /// Starts an export: forgets what the last one left (its failure, partial success and
    /// retry advice) and gives all its requests one [`timeout`](Self::timeout) from now.
    /// [`end_export`](Self::end_export) lifts the deadline.
    pub(crate) fn begin_export(&self) {
        self.take_last_failure();
        self.take_partial_success();
        self.take_retry();
        self.set_export_deadline(Instant::now().checked_add(self.timeout));
    }

    /// Ends the export [`begin_export`](Self::begin_export) started.
    pub(crate) fn end_export(&self) {
        self.set_export_deadline(None);
    }

    /// Uses `tls` for `https://` requests instead of the default (`webpki-roots`, no client
    /// certificate).
    #[cfg(feature = "otlp-tls")]
    pub(crate) fn with_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = tls;
        // A connection kept under the old configuration is not this client's.
        self.kept = Arc::default();
        self
    }

    /// Reuses connections idle for at most `max_idle` instead of [`MAX_IDLE`].
    #[cfg(test)]
    pub(super) fn with_max_idle(mut self, max_idle: Duration) -> Self {
        self.max_idle = max_idle;
        self
    }

    /// The time one request may take, from connect to the last byte of the response.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and reads the whole response, whatever its status.
    pub(crate) fn send(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, TransportError> {
        let now = Instant::now();
        // A timeout too large for the clock (from `u64::MAX` milliseconds) means "no deadline".
        let deadline = (now.checked_add(self.timeout))
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or(now);
        let export_deadline =
            *(self.export_deadline.lock()).unwrap_or_else(PoisonError::into_inner);
        let deadline = export_deadline.map_or(deadline, |export| export.min(deadline));
        let target = Target::from_uri(request.uri())?;
        if let Some(mut stream) = self.take_kept(&target) {
            stream.get_mut().set_deadline(deadline);
            match self.exchange(&mut stream, request, &target, true) {
                Ok((response, framed)) => {
                    self.keep(&target, stream, &response, framed);
                    return Ok(response);
                }
                Err(Attempt::Failed(error)) => return Err(error),
                // Sent once more below, within the same deadline.
                Err(Attempt::Stale) => {}
            }
        }
        let failed = |stage, error| self.failure(&target, stage, error);
        let stream = connect(&target, deadline).map_err(|error| failed(Stage::Connect, error))?;
        let stream = DeadlineStream { stream, deadline };
        let stream = self
            .secure(stream, &target)
            .map_err(|error| failed(Stage::Handshake, error))?;
        let mut stream = BufReader::with_capacity(RESPONSE_BUFFER_BYTES, stream);
        match self.exchange(&mut stream, request, &target, false) {
            Ok((response, framed)) => {
                self.keep(&target, stream, &response, framed);
                Ok(response)
            }
            Err(Attempt::Failed(error)) => Err(error),
            Err(Attempt::Stale) => unreachable!("only a kept connection is stale"),
        }
    }

    /// Writes `request` on `stream` and reads the whole response, and whether its end was
    /// framed (not the end of the stream). On a `reused` connection, a failure before any
    /// response byte arrived is [`Attempt::Stale`] instead of an error.
    fn exchange(
        &self,
        stream: &mut BufReader<Connection>,
        request: &Request<Bytes>,
        target: &Target,
        reused: bool,
    ) -> Result<(Response<Bytes>, bool), Attempt> {
        let failed = |stage, error| Attempt::Failed(self.failure(target, stage, error));
        let head = request_head(request, target);
        let connection = stream.get_mut();
        let written =
            write_all_of(connection, &head, request.body()).and_then(|()| connection.flush());
        if let Err(error) = written {
            return Err(if reused && !is_timeout(&error) {
                Attempt::Stale
            } else {
                failed(Stage::Write, error)
            });
        }
        if reused {
            match stream.fill_buf() {
                Ok([]) => return Err(Attempt::Stale),
                Err(error) if is_closed(&error) => return Err(Attempt::Stale),
                Err(error) => return Err(failed(Stage::ReadHead, error)),
                Ok(_) => {}
            }
        }
        let mut reader = ResponseReader::new(stream);
        let response =
            reader
                .read(request.method() == Method::HEAD)
                .map_err(|error| match error {
                    ReadError::Io(stage, error) => failed(stage, error),
                    ReadError::Malformed(message) => {
                        Attempt::Failed(TransportError::Malformed(message))
                    }
                    ReadError::TooLarge => Attempt::Failed(TransportError::TooLarge),
                })?;
        // Some servers send `408 Request Timeout` on a connection they close for being idle,
        // before any request came: not this request's answer.
        if reused && response.status() == http::StatusCode::REQUEST_TIMEOUT {
            return Err(Attempt::Stale);
        }
        Ok((response, !reader.ended_by_close()))
    }

    /// The kept connection, if it goes to `target` and has not been idle too long.
    fn take_kept(&self, target: &Target) -> Option<BufReader<Connection>> {
        let kept = (self.kept.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let same = kept.host == target.host && kept.port == target.port && kept.tls == target.tls;
        (same && kept.idle_since.elapsed() <= self.max_idle).then_some(kept.stream)
    }

    /// Keeps `stream` for the next request, unless `response` or the stream rule that out.
    fn keep(
        &self,
        target: &Target,
        stream: BufReader<Connection>,
        response: &Response<Bytes>,
        framed: bool,
    ) {
        // Bytes after the response mean the server and this client disagree on framing.
        if !framed || !stream.buffer().is_empty() || !is_reusable(response) {
            return;
        }
        *(self.kept.lock()).unwrap_or_else(PoisonError::into_inner) = Some(Kept {
            host: target.host.clone(),
            port: target.port,
            tls: target.tls,
            stream,
            idle_since: Instant::now(),
        });
    }

    /// Wraps the connection in TLS for `https://`, completing the handshake (so a certificate
    /// problem is reported as such, not as a failed write).
    #[cfg(feature = "otlp-tls")]
    fn secure(&self, mut stream: DeadlineStream, target: &Target) -> io::Result<Connection> {
        if !target.tls {
            return Ok(Connection::Plain(stream));
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let mut tls =
            rustls::ClientConnection::new(Arc::clone(&self.tls), name).map_err(io::Error::other)?;
        while tls.is_handshaking() {
            tls.complete_io(&mut stream)?;
        }
        Ok(Connection::Tls(Box::new(rustls::StreamOwned::new(
            tls, stream,
        ))))
    }

    #[cfg(not(feature = "otlp-tls"))]
    #[allow(clippy::unused_self, clippy::unnecessary_wraps)]
    fn secure(&self, stream: DeadlineStream, target: &Target) -> io::Result<Connection> {
        debug_assert!(!target.tls, "check_scheme refuses https:// without TLS");
        Ok(Connection::Plain(stream))
    }

    /// Sorts an I/O error into a refused connection, a timeout, an early close, or anything else.
    fn failure(&self, target: &Target, stage: Stage, error: io::Error) -> TransportError {
        let target = target.host_port.clone();
        match error.kind() {
            _ if is_timeout(&error) => TransportError::TimedOut {
                target,
                stage,
                timeout: self.timeout,
            },
            _ if stage == Stage::Connect => TransportError::Connect {
                target,
                source: error,
            },
            io::ErrorKind::UnexpectedEof => TransportError::Closed {
                target,
                stage,
                source: error,
            },
            _ => TransportError::Io {
                target,
                stage,
                source: error,
            },
        }
    }
}

impl BlockingHttpClient {
    /// Sends one export request: reads the whole response, keeps what a successful one says
    /// the collector refused (see [`take_partial_success`](Self::take_partial_success)) and
    /// the first transport failure (see [`take_last_failure`](Self::take_last_failure)).
    pub(crate) fn send_export(
        &self,
        request: &Request<Bytes>,
    ) -> Result<Response<Bytes>, TransportError> {
        let response = self.send(request);
        let retry = match &response {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(retry_for(response.status(), response.headers())),
            // A response too large to read: sending the request again would only bring
            // another.
            Err(TransportError::TooLarge) => Some(Retry::No),
            Err(_) => Some(Retry::Yes { after: None }),
        };
        *(self.retry.lock()).unwrap_or_else(PoisonError::into_inner) = retry;
        if let Ok(response) = &response {
            if response.status().is_success() {
                // The collector answers in the encoding it was sent.
                let content_type = [response.headers(), request.headers()]
                    .iter()
                    .find_map(|headers| headers.get(CONTENT_TYPE)?.to_str().ok())
                    .unwrap_or_default();
                *(self.partial_success.lock()).unwrap_or_else(PoisonError::into_inner) =
                    partial_success::parse(content_type, response.body());
            }
        }
        if let Err(error) = &response {
            if !matches!(error, TransportError::TooLarge) {
                // The first failure is kept: it is what the retries were about.
                (self
                    .last_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner))
                .get_or_insert_with(|| error.to_string());
            }
        }
        response
    }
}

#[async_trait]
impl HttpClient for BlockingHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        self.send_export(&request).map_err(|error| match error {
            TransportError::TooLarge => Box::new(ResponseBodyTooLarge::new()) as HttpError,
            other => Box::new(other),
        })
    }
}

/// Whether a request answered with `status` is worth sending again, as the OTLP/HTTP
/// specification says: 429, 502, 503 and 504 are (after `Retry-After`, when the collector gave
/// one), every other error status is not.
pub(crate) fn retry_for(status: StatusCode, headers: &HeaderMap) -> Retry {
    match status.as_u16() {
        429 | 502 | 503 | 504 => Retry::Yes {
            after: retry_after(headers, SystemTime::now()),
        },
        _ => Retry::No,
    }
}

/// The wait a `Retry-After` header asks for at `now`: delay-seconds, or an HTTP date (a date
/// already past asks for none). `None` without the header, or with a value that is neither.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// The deadline passed (a socket timeout shows as either kind, depending on the platform).
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// The peer closed or reset the connection.
fn is_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Whether the connection of `response` may carry another request: HTTP/1.1 and no
/// `Connection: close`.
fn is_reusable(response: &Response<Bytes>) -> bool {
    let close = (response.headers().get_all(CONNECTION).iter()).any(|value| {
        (value.as_bytes().split(|&b| b == b','))
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    });
    response.version() == http::Version::HTTP_11 && !close
}

/// Where a request goes: the parts of an `http://` URI this client uses.
#[derive(Debug)]
struct Target {
    /// `host:port` as written in the URI, for the `Host` header and for messages.
    host_port: String,
    /// The host to resolve, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    path: String,
    /// `https://`: the connection is wrapped in TLS.
    tls: bool,
}

impl Target {
    fn from_uri(uri: &Uri) -> Result<Self, TransportError> {
        check_scheme(uri).map_err(TransportError::Unsupported)?;
        let authority = uri.authority().ok_or_else(|| {
            TransportError::Unsupported(format!(
                "`{}` has no host",
                crate::diag::endpoint(&uri.to_string())
            ))
        })?;
        let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        Ok(Self {
            host_port: host_port.to_owned(),
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            path: if path.is_empty() { "/" } else { path }.to_owned(),
            tls,
        })
    }
}

/// Accepts `http://` URIs, and `https://` ones with the `otlp-tls` feature; explains what to do
/// about any other scheme.
pub(crate) fn check_scheme(uri: &Uri) -> Result<(), String> {
    // Written only for an error: this runs before every export request.
    let shown = || crate::diag::endpoint(&uri.to_string());
    let expected = if cfg!(feature = "otlp-tls") {
        "http:// or https://"
    } else {
        "http://"
    };
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => Ok(()),
        Some(scheme) if scheme.eq_ignore_ascii_case("https") && cfg!(feature = "otlp-tls") => {
            Ok(())
        }
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => Err(format!(
            "the OTLP endpoint `{}` uses https://, but this build of traced has no TLS: \
             enable traced's `otlp-tls` feature, or send to an http:// endpoint (such as a local \
             OpenTelemetry Collector, which can forward over TLS)",
            shown()
        )),
        Some(scheme) => Err(format!(
            "the OTLP endpoint `{}` uses the scheme `{scheme}`; expected {expected}",
            shown()
        )),
        None => Err(format!(
            "the OTLP endpoint `{}` has no scheme; expected http://host:port/path",
            shown()
        )),
    }
}

/// Connects to the first address of `target` that answers before `deadline`.
///
/// Name resolution itself cannot be bounded with `std`; a numeric address or `localhost` (the
/// usual collector endpoints) resolves without any network round trip.
fn connect(target: &Target, deadline: Instant) -> io::Result<TcpStream> {
    let mut last_error = None;
    for address in (target.host.as_str(), target.port).to_socket_addrs()? {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        match TcpStream::connect_timeout(&address, remaining) {
            Ok(stream) => {
                // The head and the body go out as two writes; don't let the body wait for an ACK.
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address")
    }))
}

/// The request line and headers; `Host`, `Content-Length` and `Connection` are ours to set (no
/// `Connection` header: HTTP/1.1 keeps the connection by default).
fn request_head(request: &Request<Bytes>, target: &Target) -> Vec<u8> {
    // Pieces appended, not `format!`: this runs for every export request.
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(request.method().as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(target.host_port.as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in request.headers() {
        if [HOST, CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING].contains(name) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let mut length = String::with_capacity(20);
    push_u64(&mut length, request.body().len() as u64);
    head.extend_from_slice(b"Content-Length: ");
    head.extend_from_slice(length.as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    head
}

/// The connection a request is sent on: plain TCP, or TLS over it.
enum Connection {
    Plain(DeadlineStream),
    #[cfg(feature = "otlp-tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, DeadlineStream>>),
}

impl Connection {
    /// Bounds the next request's reads and writes by `deadline`.
    fn set_deadline(&mut self, deadline: Instant) {
        match self {
            Self::Plain(stream) => stream.deadline = deadline,
            #[cfg(feature = "otlp-tls")]
            Self::Tls(stream) => stream.sock.deadline = deadline,
        }
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            #[cfg(feature = "otlp-tls")]
            Self::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            #[cfg(feature = "otlp-tls")]
            Self::Tls(stream) => stream.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write_vectored(bufs),
            #[cfg(feature = "otlp-tls")]
            Self::Tls(stream) => stream.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            #[cfg(feature = "otlp-tls")]
            Self::Tls(stream) => stream.flush(),
        }
    }
}

/// Writes `head` then `body`, both in one call when the stream takes them
/// (one system call, and one timeout set, per request instead of two).
fn write_all_of(connection: &mut Connection, head: &[u8], body: &[u8]) -> io::Result<()> {
    let mut slices = [IoSlice::new(head), IoSlice::new(body)];
    let mut left = &mut slices[..];
    IoSlice::advance_slices(&mut left, 0);
    while !left.is_empty() {
        match connection.write_vectored(left) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut left, written),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A stream whose every read and write gives up at the request's deadline.
struct DeadlineStream {
    stream: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    fn remaining(&self) -> io::Result<Duration> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(remaining)
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.remaining()?))?;
        self.stream.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.remaining()?))?;
        self.stream.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.remaining()?))?;
        self.stream.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// What the client was doing when something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    Handshake,
    Write,
    ReadHead,
    ReadBody,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connecting",
            Self::Handshake => "establishing TLS",
            Self::Write => "sending the request",
            Self::ReadHead => "reading the response status and headers",
            Self::ReadBody => "reading the response body",
        })
    }
}

/// Why a request got no usable response.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// The URI is not one this client can serve (`https://` without TLS, no host, …).
    Unsupported(String),
    /// No connection could be made (refused, unreachable, unknown host).
    Connect { target: String, source: io::Error },
    /// The request's deadline passed.
    TimedOut {
        target: String,
        stage: Stage,
        timeout: Duration,
    },
    /// The server closed the connection before the response was complete.
    Closed {
        target: String,
        stage: Stage,
        source: io::Error,
    },
    /// Writing or reading failed otherwise.
    Io {
        target: String,
        stage: Stage,
        source: io::Error,
    },
    /// The response is not well-formed HTTP/1.x.
    Malformed(String),
    /// The response body is larger than [`MAX_RESPONSE_BODY_BYTES`].
    TooLarge,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(message) | Self::Malformed(message) => f.write_str(message),
            Self::Connect { target, source } => write!(f, "cannot connect to {target}: {source}"),
            Self::TimedOut {
                target,
                stage,
                timeout,
            } => write!(
                f,
                "{target} did not respond within the {}ms timeout (while {stage})",
                timeout.as_millis()
            ),
            Self::Closed {
                target,
                stage,
                source,
            } => write!(
                f,
                "{target} closed the connection early (while {stage}: {source})"
            ),
            Self::Io {
                target,
                stage,
                source,
            } => write!(f, "error talking to {target} (while {stage}): {source}"),
            Self::TooLarge => write!(
                f,
                "the response body exceeds {MAX_RESPONSE_BODY_BYTES} bytes"
            ),
        }
    }
}

/// The I/O error is part of the message rather than a `source`: the exporter keeps only the
/// message, and a chain printer would otherwise show it twice.
impl std::error::Error for TransportError {}

#[cfg(test)]
#[path = "http_client_tests.rs"]
mod tests;
