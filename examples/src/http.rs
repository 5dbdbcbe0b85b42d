//! Just enough HTTP/1.1 over `std::net` for the examples to talk to each
//! other on 127.0.0.1, so what they show is the propagation, not a web
//! framework.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Reads one request: the request line and the headers (names lowercased).
pub fn read_request(stream: &TcpStream) -> io::Result<(String, HashMap<String, String>)> {
    let (line, headers) = read_head(&mut BufReader::new(stream))?;
    Ok((line, headers.into_iter().collect()))
}

/// Reads an HTTP/1.1 request head: the request line and the headers, names
/// lowercased, in order. The reader is left at the start of the body.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<(String, Vec<(String, String)>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok((line.trim_end().to_owned(), headers))
}

/// Answers 200 with `body` and closes.
pub fn respond(stream: &mut TcpStream, body: &str) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `GET path` to 127.0.0.1:`port` with `headers`; returns the body.
pub fn get<S: BuildHasher>(
    port: u16,
    path: &str,
    headers: &HashMap<String, String, S>,
) -> io::Result<String> {
    let response = exchange(
        port,
        path,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?;
    Ok(body(&response).to_owned())
}

/// Sends `GET path` to 127.0.0.1:`port` with `headers`; returns the status
/// code and the body (an error if the answer is not an HTTP response).
pub fn get_response<'a>(
    port: u16,
    path: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> io::Result<(u16, String)> {
    let response = exchange(port, path, headers)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {response:?}"),
            )
        })?;
    Ok((status, body(&response).to_owned()))
}

/// One `GET` on its own connection: the whole response, as text.
fn exchange<'a>(
    port: u16,
    path: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
    for (name, value) in headers {
        for part in [name, ": ", value, "\r\n"] {
            request.push_str(part);
        }
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// The body of a whole response (empty if it has none).
fn body(response: &str) -> &str {
    response.split("\r\n\r\n").nth(1).unwrap_or_default()
}
