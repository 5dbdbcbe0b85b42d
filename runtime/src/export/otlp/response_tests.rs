use opentelemetry_http::Bytes;

use super::{ReadError, ResponseReader};
use crate::export::otlp::http_client::MAX_RESPONSE_BODY_BYTES;

/// Parses a canned response without any network.
fn parse(raw: &[u8]) -> Result<http::Response<Bytes>, ReadError> {
    ResponseReader::new(raw).read(false)
}

fn malformed_message(raw: &[u8]) -> String {
    match parse(raw) {
        Err(ReadError::Malformed(message)) => message,
        other => panic!("expected a malformed response for {raw:?}, got {other:?}"),
    }
}

#[test]
fn parses_framing_variants() {
    let cases: &[(&[u8], u16, &[u8])] = &[
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 200, b"hi"),
        (b"HTTP/1.0 200\r\n\r\nuntil close", 200, b"until close"),
        (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 200, b"hi"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 1\r\n\r\nk", 202, b"k"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nhi", 200, b"hi"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw", 200, b"raw"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 200, b"x"),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops", 500, b"oops"),
    ];
    for (raw, status, body) in cases {
        let response = parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
        assert_eq!(response.status().as_u16(), *status, "{raw:?}");
        assert_eq!(response.body().as_ref(), *body, "{raw:?}");
    }
    let answer_to_head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let response = ResponseReader::new(&answer_to_head[..]).read(true).unwrap();
    assert_eq!(response.headers()["content-length"], "5");
    assert!(response.body().is_empty());
}

#[test]
fn malformed_responses_are_errors_not_panics() {
    let cases: &[(&[u8], &str)] = &[
        (b"HTTP/2 200 OK\r\n\r\n", "expected an HTTP/1.x status line"),
        (b"ICY 200 OK\r\n\r\n", "expected an HTTP/1.x status line"),
        (b"HTTP/1.1 20 OK\r\n\r\n", "bad status code"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status code"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "bad status code"),
        (b"HTTP/1.1 099 OK\r\n\r\n", "bad status code"),
        (
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "expected `name: value`",
        ),
        (b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n", "bad header name"),
        (b"HTTP/1.1 200 OK\r\n: x\r\n\r\n", "bad header name"),
        (b"HTTP/1.1 200 OK\r\nx: a\x01b\r\n\r\n", "bad header value"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
            "bad Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
            "conflicting",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\nx\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
            "expected CRLF",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "101 Switching Protocols",
        ),
    ];
    for (raw, expected) in cases {
        let message = malformed_message(raw);
        assert!(message.contains(expected), "{raw:?}: {message}");
    }
    let informational = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(10);
    assert!(malformed_message(&informational).contains("1xx"));
    let huge_head = [
        &b"HTTP/1.1 200 OK\r\nX: "[..],
        &vec![b'a'; 70_000],
        b"\r\n\r\n",
    ]
    .concat();
    assert!(malformed_message(&huge_head).contains("limit"));
    let many = [
        &b"HTTP/1.1 200 OK\r\n"[..],
        &b"X: y\r\n".repeat(101),
        b"\r\n",
    ]
    .concat();
    assert!(malformed_message(&many).contains("more than 100 headers"));
}

#[test]
fn truncated_responses_are_early_closes() {
    let cases: &[&[u8]] = &[
        b"",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
    ];
    for raw in cases {
        match parse(raw) {
            Err(ReadError::Io(_, error)) => {
                assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{raw:?}");
            }
            other => panic!("{raw:?}: expected an early close, got {other:?}"),
        }
    }
}

#[test]
fn bodies_beyond_the_limit_are_refused() {
    let limit = MAX_RESPONSE_BODY_BYTES;
    let declared = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", limit + 1);
    assert!(matches!(
        parse(declared.as_bytes()),
        Err(ReadError::TooLarge)
    ));
    let overflow = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    assert!(matches!(parse(overflow), Err(ReadError::Malformed(_))));
    let chunk = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        limit + 1
    );
    assert!(matches!(parse(chunk.as_bytes()), Err(ReadError::TooLarge)));
    let huge_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
    assert!(matches!(parse(huge_chunk), Err(ReadError::Malformed(_))));
    let until_close = [&b"HTTP/1.1 200 OK\r\n\r\n"[..], &vec![b'x'; limit + 1]].concat();
    assert!(matches!(parse(&until_close), Err(ReadError::TooLarge)));
    let exactly = [&b"HTTP/1.1 200 OK\r\n\r\n"[..], &vec![b'x'; limit]].concat();
    assert_eq!(parse(&exactly).unwrap().body().len(), limit);
}
