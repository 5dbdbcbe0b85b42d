//! Reading one HTTP/1.x response, defensively: anything that is not well-formed becomes an
//! error, never a panic, and every part has a size limit, so a confused or hostile server can
//! neither crash the exporter nor make it allocate without bound.

use std::io::{self, BufRead, Read};

use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Response, StatusCode, Version};
use opentelemetry_http::Bytes;

use super::http_client::{Stage, MAX_RESPONSE_BODY_BYTES};

/// The status line and headers together; a collector's are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// One chunk-size line of a chunked body.
const MAX_CHUNK_LINE_BYTES: usize = 1024;
const MAX_HEADERS: usize = 100;
/// `100 Continue` and friends skipped before the final response.
const MAX_INFORMATIONAL_RESPONSES: usize = 8;

/// Why no response could be read; the client adds which server it was.
#[derive(Debug)]
pub(super) enum ReadError {
    /// Reading failed, timed out, or ended early (`UnexpectedEof`).
    Io(Stage, io::Error),
    /// The bytes are not a well-formed HTTP/1.x response; the message shows where.
    Malformed(String),
    /// The body is larger than [`MAX_RESPONSE_BODY_BYTES`].
    TooLarge,
}

/// A `Malformed` error quoting the start of the offending bytes.
fn malformed(what: &str, bytes: &[u8]) -> ReadError {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]);
    ReadError::Malformed(format!(
        "malformed HTTP response: {what}: `{}`",
        shown.escape_debug()
    ))
}

/// Reads one HTTP/1.x response.
pub(super) struct ResponseReader<R> {
    reader: R,
    /// The body ended with the stream (no `Content-Length`, not chunked): the connection can
    /// carry nothing more.
    ended_by_close: bool,
}

impl<R: BufRead> ResponseReader<R> {
    /// Reads from `reader`, which should be buffered.
    pub(super) fn new(reader: R) -> Self {
        Self {
            reader,
            ended_by_close: false,
        }
    }

    /// Whether the last response read ended only because the stream did.
    pub(super) fn ended_by_close(&self) -> bool {
        self.ended_by_close
    }

    /// The final response: informational (1xx) responses before it are skipped.
    pub(super) fn read(&mut self, head_request: bool) -> Result<Response<Bytes>, ReadError> {
        let mut budget = MAX_HEAD_BYTES;
        for _ in 0..=MAX_INFORMATIONAL_RESPONSES {
            let (version, status) = self.status_line(&mut budget)?;
            let headers = self.headers(&mut budget)?;
            if status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(ReadError::Malformed(
                    "unexpected HTTP response: 101 Switching Protocols".to_owned(),
                ));
            }
            if status.is_informational() {
                continue;
            }
            let no_body = head_request
                || status == StatusCode::NO_CONTENT
                || status == StatusCode::NOT_MODIFIED;
            let body = if no_body {
                Vec::new()
            } else {
                self.body(&headers)?
            };
            let mut response = Response::new(Bytes::from(body));
            *response.status_mut() = status;
            *response.version_mut() = version;
            *response.headers_mut() = headers;
            return Ok(response);
        }
        Err(ReadError::Malformed(format!(
            "malformed HTTP response: more than {MAX_INFORMATIONAL_RESPONSES} 1xx responses"
        )))
    }

    /// One line without its line ending, charged to `budget`.
    fn line(&mut self, stage: Stage, budget: &mut usize) -> Result<Vec<u8>, ReadError> {
        let mut line = Vec::new();
        let limit = u64::try_from(*budget).unwrap_or(u64::MAX).saturating_add(1);
        (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(|error| ReadError::Io(stage, error))?;
        if line.len() > *budget {
            return Err(ReadError::Malformed(format!(
                "malformed HTTP response: a line exceeds the {}-byte limit",
                *budget
            )));
        }
        if line.last() != Some(&b'\n') {
            let what = if line.is_empty() {
                "end of stream"
            } else {
                "end of stream in the middle of a line"
            };
            return Err(ReadError::Io(
                stage,
                io::Error::new(io::ErrorKind::UnexpectedEof, what),
            ));
        }
        *budget -= line.len();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }

    fn status_line(&mut self, budget: &mut usize) -> Result<(Version, StatusCode), ReadError> {
        let line = self.line(Stage::ReadHead, budget)?;
        let mut parts = line.splitn(3, |&b| b == b' ');
        let version = match parts.next() {
            Some(b"HTTP/1.1") => Version::HTTP_11,
            Some(b"HTTP/1.0") => Version::HTTP_10,
            _ => return Err(malformed("expected an HTTP/1.x status line", &line)),
        };
        let status = parts
            .next()
            .filter(|code| code.len() == 3 && code.iter().all(u8::is_ascii_digit))
            .and_then(|code| StatusCode::from_bytes(code).ok())
            .ok_or_else(|| malformed("bad status code", &line))?;
        Ok((version, status))
    }

    fn headers(&mut self, budget: &mut usize) -> Result<HeaderMap, ReadError> {
        let mut headers = HeaderMap::new();
        loop {
            let line = self.line(Stage::ReadHead, budget)?;
            if line.is_empty() {
                return Ok(headers);
            }
            if headers.len() == MAX_HEADERS {
                return Err(ReadError::Malformed(format!(
                    "malformed HTTP response: more than {MAX_HEADERS} headers"
                )));
            }
            let (name, value) = line
                .iter()
                .position(|&b| b == b':')
                .map(|colon| (&line[..colon], &line[colon + 1..]))
                .ok_or_else(|| malformed("expected `name: value`", &line))?;
            let name =
                HeaderName::from_bytes(name).map_err(|_| malformed("bad header name", &line))?;
            let value = HeaderValue::from_bytes(value.trim_ascii())
                .map_err(|_| malformed("bad header value", &line))?;
            headers.append(name, value);
        }
    }

    /// The body, framed as RFC 9112 section 6.3 says for a response.
    fn body(&mut self, headers: &HeaderMap) -> Result<Vec<u8>, ReadError> {
        if let Some(chunked) = is_chunked(headers) {
            return if chunked {
                self.chunked_body()
            } else {
                self.body_until_close()
            };
        }
        match content_length(headers)? {
            Some(length) => self.sized_body(length),
            None => self.body_until_close(),
        }
    }

    fn sized_body(&mut self, length: u64) -> Result<Vec<u8>, ReadError> {
        let length = usize::try_from(length)
            .ok()
            .filter(|&length| length <= MAX_RESPONSE_BODY_BYTES)
            .ok_or(ReadError::TooLarge)?;
        let mut body = Vec::with_capacity(length);
        self.append(&mut body, length)?;
        Ok(body)
    }

    /// Appends exactly `length` more bytes to `body`, or fails.
    fn append(&mut self, body: &mut Vec<u8>, length: usize) -> Result<(), ReadError> {
        let wanted = u64::try_from(length).unwrap_or(u64::MAX);
        let got = (&mut self.reader)
            .take(wanted)
            .read_to_end(body)
            .map_err(|error| ReadError::Io(Stage::ReadBody, error))?;
        if got < length {
            return Err(ReadError::Io(
                Stage::ReadBody,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("got {got} of {length} body bytes"),
                ),
            ));
        }
        Ok(())
    }

    fn body_until_close(&mut self) -> Result<Vec<u8>, ReadError> {
        self.ended_by_close = true;
        let mut body = Vec::new();
        let limit = u64::try_from(MAX_RESPONSE_BODY_BYTES).unwrap_or(u64::MAX) + 1;
        (&mut self.reader)
            .take(limit)
            .read_to_end(&mut body)
            .map_err(|error| ReadError::Io(Stage::ReadBody, error))?;
        if body.len() > MAX_RESPONSE_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        Ok(body)
    }

    fn chunked_body(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let mut budget = MAX_CHUNK_LINE_BYTES;
            let line = self.line(Stage::ReadBody, &mut budget)?;
            let digits = line
                .split(|&b| b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            let size = std::str::from_utf8(digits)
                .ok()
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|d| usize::from_str_radix(d, 16).ok())
                .ok_or_else(|| malformed("bad chunk size", &line))?;
            if size == 0 {
                break;
            }
            if size > MAX_RESPONSE_BODY_BYTES - body.len() {
                return Err(ReadError::TooLarge);
            }
            self.append(&mut body, size)?;
            let mut end = Vec::with_capacity(2);
            self.append(&mut end, 1)?;
            if end == b"\r" {
                self.append(&mut end, 1)?;
            }
            if end.last() != Some(&b'\n') {
                return Err(malformed("expected CRLF after a chunk", &end));
            }
        }
        // Trailer fields: read and dropped, like any client that doesn't ask for them.
        let mut budget = MAX_HEAD_BYTES;
        while !self.line(Stage::ReadBody, &mut budget)?.is_empty() {}
        Ok(body)
    }
}

/// `Some(true)` if the last transfer coding is `chunked`, `Some(false)` for other codings (the
/// body then ends when the connection does), `None` without `Transfer-Encoding`.
fn is_chunked(headers: &HeaderMap) -> Option<bool> {
    let mut last = None;
    for value in headers.get_all(TRANSFER_ENCODING) {
        for coding in value.as_bytes().split(|&b| b == b',') {
            let coding = coding.trim_ascii();
            if !coding.is_empty() {
                last = Some(coding.eq_ignore_ascii_case(b"chunked"));
            }
        }
    }
    last.or(headers.contains_key(TRANSFER_ENCODING).then_some(false))
}

/// `Content-Length`, which must be the same number however often it is repeated.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ReadError> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let item = item.trim_ascii();
            let parsed = std::str::from_utf8(item)
                .ok()
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or_else(|| malformed("bad Content-Length", value.as_bytes()))?;
            if length.is_some_and(|known| known != parsed) {
                return Err(malformed("conflicting Content-Length", value.as_bytes()));
            }
            length = Some(parsed);
        }
    }
    Ok(length)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
