//! An OTLP/HTTP trace receiver: `POST /v1/traces` with `application/x-protobuf` or
//! `application/json` bodies, gzip or not, answered as the OTLP specification asks.
//!
//! A small HTTP/1.1 server on std's threads, one per connection (at most
//! [`MAX_CONNECTIONS`]): the viewer serves a few local services, and this keeps an async runtime
//! and an HTTP stack out of a program that users install. Connections are kept alive, bodies may
//! be sent with `Content-Length` or chunked, and `Expect: 100-continue` is answered.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use flate2::read::GzDecoder;

use crate::model::Batch;
use crate::otlp::{json, protobuf};

/// The path OTLP/HTTP exporters post traces to.
pub const TRACES_PATH: &str = "/v1/traces";

/// Connections served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 64;

/// The largest request body accepted, after gzip decompression: 64 MiB.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// An idle kept-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A running receiver; it serves until the process ends.
#[derive(Debug)]
pub struct Receiver {
    local_addr: SocketAddr,
}

impl Receiver {
    /// Binds `addr` (port 0 picks a free port) and serves in background threads, sending every
    /// decoded request's spans to `sink`.
    pub fn spawn(addr: impl ToSocketAddrs, sink: Sender<Batch>) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let open = Arc::new(AtomicUsize::new(0));
        thread::Builder::new()
            .name("otlp-http-accept".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                        open.fetch_sub(1, Ordering::SeqCst);
                        let _ = write_response(&stream, &Response::busy(), false);
                        continue;
                    }
                    let sink = sink.clone();
                    let served = Arc::clone(&open);
                    let spawned =
                        thread::Builder::new()
                            .name("otlp-http".to_owned())
                            .spawn(move || {
                                let _ = serve_connection(&stream, &sink);
                                served.fetch_sub(1, Ordering::SeqCst);
                            });
                    if spawned.is_err() {
                        // The closure (and with it the connection) was dropped.
                        open.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })?;
        Ok(Self { local_addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, message: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: message.as_bytes().to_vec(),
        }
    }

    fn busy() -> Self {
        Self::text(503, "too many connections")
    }

    /// An error in the request's own encoding: a `google.rpc.Status`, as OTLP/HTTP asks.
    fn bad_request(encoding: Encoding, message: &str) -> Self {
        const INVALID_ARGUMENT: i32 = 3;
        let body = match encoding {
            Encoding::Protobuf => {
                let mut body = Vec::new();
                prost::encoding::int32::encode(1, &INVALID_ARGUMENT, &mut body);
                prost::encoding::string::encode(2, &message.to_owned(), &mut body);
                body
            }
            Encoding::Json => serde_json::json!({ "code": INVALID_ARGUMENT, "message": message })
                .to_string()
                .into_bytes(),
        };
        Self {
            status: 400,
            content_type: encoding.content_type(),
            body,
        }
    }
}

#[derive(Clone, Copy)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

fn serve_connection(stream: &TcpStream, sink: &Sender<Batch>) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader, stream) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                return write_response(stream, &Response::text(400, &error.to_string()), false);
            }
            Err(error) => return Err(error),
        };
        let keep_alive = !request
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let response = handle(&request, sink);
        write_response(stream, &response, keep_alive)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn handle(request: &Request, sink: &Sender<Batch>) -> Response {
    let path = request.path.split('?').next().unwrap_or_default();
    if path != TRACES_PATH {
        return Response::text(404, "only POST /v1/traces is served");
    }
    if request.method != "POST" {
        return Response::text(405, "use POST");
    }
    let media_type = request
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let encoding = match media_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => {
            return Response::text(
                415,
                "Content-Type must be application/x-protobuf or application/json",
            )
        }
    };
    let body = match request.header("content-encoding") {
        None | Some("" | "identity") => request.body.clone(),
        Some(gzip) if gzip.eq_ignore_ascii_case("gzip") => match gunzip(&request.body) {
            Ok(body) => body,
            Err(error) => {
                return Response::bad_request(encoding, &format!("bad gzip body: {error}"))
            }
        },
        Some(_) => return Response::text(415, "Content-Encoding must be gzip or none"),
    };
    let decoded = match encoding {
        Encoding::Protobuf => protobuf::decode_request(&body),
        Encoding::Json => serde_json::from_slice(&body)
            .map_err(|error| crate::otlp::DecodeError::new(format!("not JSON: {error}")))
            .and_then(|value| json::decode_value(&value)),
    };
    let batch = match decoded {
        Ok(batch) => batch,
        Err(error) => return Response::bad_request(encoding, &error.to_string()),
    };
    let rejected = batch.rejected_spans;
    let _ = sink.send(batch);
    let body = match encoding {
        Encoding::Protobuf => protobuf::encode_response(rejected),
        Encoding::Json if rejected == 0 => b"{}".to_vec(),
        Encoding::Json => serde_json::json!({ "partialSuccess": {
            "rejectedSpans": rejected.to_string(),
            "errorMessage": "spans without a valid trace id or span id",
        }})
        .to_string()
        .into_bytes(),
    };
    Response {
        status: 200,
        content_type: encoding.content_type(),
        body,
    }
}

fn gunzip(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(body)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut out)?;
    if out.len() > MAX_BODY_BYTES {
        return Err(invalid("body larger than 64 MiB once decompressed"));
    }
    Ok(out)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Reads one request; `None` when the client closed the connection between requests.
fn read_request(reader: &mut impl BufRead, stream: &TcpStream) -> io::Result<Option<Request>> {
    let Some(request_line) = read_line(reader)? else {
        return Ok(None);
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("malformed request line"));
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("headers cut short"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() == 100 {
            return Err(invalid("more than 100 headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("malformed header"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        let mut stream = stream;
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if request
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"))
    {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid("malformed Content-Length"))?;
        if length > MAX_BODY_BYTES {
            return Err(invalid("body larger than 64 MiB"));
        }
        request.body = vec![0; length];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("chunks cut short"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("malformed chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while read_line(reader)?.is_some_and(|line| !line.is_empty()) {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(invalid("body larger than 64 MiB"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

/// One CRLF-terminated line of at most 16 KiB, without its terminator; `None` at end of input.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = reader.take(16 << 10).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(invalid("line too long or cut short"));
    }
    let line = String::from_utf8(line).map_err(|_| invalid("header is not UTF-8"))?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

fn write_response(stream: &TcpStream, response: &Response, keep_alive: bool) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        _ => "Service Unavailable",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.status == 405 {
        head.push_str("Allow: POST\r\n");
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}
