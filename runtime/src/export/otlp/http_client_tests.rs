use std::net::TcpListener;
use std::time::{Duration, Instant};

use http::{Request, StatusCode};
use opentelemetry_http::{Bytes, HttpClient as _, ResponseBodyTooLarge};

use super::{BlockingHttpClient, Stage, TransportError};
use crate::export::otlp::test_server::{OneShotServer, Reply, ScriptedServer, Step};
use crate::export::test_support::block_on;

const PATIENT: Duration = Duration::from_secs(5);

fn post(url: &str, body: &'static [u8]) -> Request<Bytes> {
    Request::post(url)
        .header("content-type", "application/x-protobuf")
        .header("x-tenant", "acme")
        .body(Bytes::from_static(body))
        .unwrap()
}

#[test]
fn sends_the_request_and_reads_a_sized_response() {
    let server = OneShotServer::start(Reply::status(200, &["X-Answer: 42"], b"done"));
    let client = BlockingHttpClient::new(PATIENT);
    let response = client
        .send(&post(&server.url("/v1/traces?q=1"), b"payload"))
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-answer"], "42");
    assert_eq!(response.body().as_ref(), b"done");

    let request = server.received();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/traces?q=1");
    let port = request.header("host").rsplit(':').next().unwrap();
    assert_eq!(request.header("host"), format!("127.0.0.1:{port}"));
    assert_eq!(request.header("content-length"), "7");
    assert!(
        !request.headers.iter().any(|(name, _)| name == "connection"),
        "HTTP/1.1 keeps the connection without asking: {:?}",
        request.headers
    );
    assert_eq!(request.header("content-type"), "application/x-protobuf");
    assert_eq!(request.header("x-tenant"), "acme");
    assert_eq!(request.body, b"payload");
}

#[test]
fn the_trait_method_sends_too_and_an_empty_path_becomes_slash() {
    let server = OneShotServer::start(Reply::ok());
    let client = BlockingHttpClient::new(PATIENT);
    let response = block_on(client.send_bytes(post(&server.url(""), b""))).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    let request = server.received();
    assert_eq!(request.path, "/");
    assert_eq!(request.header("content-length"), "0");
}

#[test]
fn reads_a_chunked_body_over_the_network() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n";
    let server = OneShotServer::start(Reply::Raw(raw.to_vec()));
    let response = BlockingHttpClient::new(PATIENT)
        .send(&post(&server.url("/"), b"x"))
        .unwrap();
    assert_eq!(response.body().as_ref(), b"Wikipedia in\r\n\r\nchunks.");
    server.received();
}

#[test]
fn error_statuses_are_responses_for_the_exporter_to_judge() {
    for (status, body) in [(400, &b"bad span"[..]), (503, b"busy")] {
        let server = OneShotServer::start(Reply::status(status, &["Retry-After: 1"], body));
        let response = BlockingHttpClient::new(PATIENT)
            .send(&post(&server.url("/v1/traces"), b"x"))
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.body().as_ref(), body);
        server.received();
    }
}

#[test]
fn a_server_that_closes_without_answering_is_an_error() {
    let server = OneShotServer::start(Reply::Close);
    let error = BlockingHttpClient::new(PATIENT)
        .send(&post(&server.url("/v1/traces"), b"x"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::Closed {
                stage: Stage::ReadHead,
                ..
            } | TransportError::Io {
                stage: Stage::ReadHead,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("127.0.0.1:"), "{error}");
    server.received();
}

#[test]
fn a_body_cut_short_is_an_error() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec();
    let server = OneShotServer::start(Reply::Raw(raw));
    let error = BlockingHttpClient::new(PATIENT)
        .send(&post(&server.url("/"), b"x"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::Closed {
                stage: Stage::ReadBody,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("got 3 of 10 body bytes"),
        "{error}"
    );
    server.received();
}

#[test]
fn a_silent_server_times_out_within_the_timeout() {
    let server = OneShotServer::start(Reply::Stall);
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let error = BlockingHttpClient::new(timeout)
        .send(&post(&server.url("/v1/traces"), b"x"))
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        matches!(
            error,
            TransportError::TimedOut {
                stage: Stage::ReadHead,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        elapsed >= timeout && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert!(error.to_string().contains("300ms"), "{error}");
    server.received();
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = BlockingHttpClient::new(PATIENT)
        .send(&post(&format!("http://{addr}/v1/traces"), b"x"))
        .unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert!(error
        .to_string()
        .starts_with(&format!("cannot connect to {addr}")));
}

#[test]
fn unsupported_schemes_are_refused_with_a_reason() {
    let client = BlockingHttpClient::new(PATIENT);
    #[cfg(not(feature = "otlp-tls"))]
    {
        let error = client.send(&post("https://collector.example:4318/v1/traces", b"x"));
        let message = error.unwrap_err().to_string();
        assert!(message.contains("no TLS"), "{message}");
        assert!(message.contains("`otlp-tls` feature"), "{message}");
    }
    let error = client.send(&post("ftp://collector.example/v1/traces", b"x"));
    assert!(error.unwrap_err().to_string().contains("scheme `ftp`"));
    let error = client.send(&post("/v1/traces", b"x"));
    assert!(error.unwrap_err().to_string().contains("has no scheme"));
}

#[test]
fn the_trait_reports_an_oversized_body_as_response_body_too_large() {
    let raw = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        super::MAX_RESPONSE_BODY_BYTES + 1
    );
    let server = OneShotServer::start(Reply::Raw(raw.into_bytes()));
    let client = BlockingHttpClient::new(PATIENT);
    let error = block_on(client.send_bytes(post(&server.url("/"), b"x"))).unwrap_err();
    assert!(
        error.downcast_ref::<ResponseBodyTooLarge>().is_some(),
        "{error}"
    );
    server.received();
}

#[test]
fn an_enormous_timeout_means_no_deadline_not_a_panic() {
    let server = OneShotServer::start(Reply::ok());
    let client = BlockingHttpClient::new(Duration::MAX);
    let response = client.send(&post(&server.url("/"), b"x")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.received();
}

#[cfg(feature = "otlp-tls")]
#[test]
fn https_to_a_server_that_does_not_speak_tls_fails_in_the_handshake() {
    use std::io::Write as _;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let client = BlockingHttpClient::new(PATIENT);
    let error = client.send(&post(&format!("https://{addr}/v1/traces"), b"x"));
    let message = error.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "error talking to {addr} (while establishing TLS): "
        )),
        "{message}"
    );
    server.join().unwrap();
}

#[test]
fn no_request_runs_past_the_export_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let client = BlockingHttpClient::new(PATIENT);
    // The export this request belongs to is already out of time (a retry after the budget).
    client.clone().set_export_deadline(Some(Instant::now()));
    let error = client.send(&post(&url, b"late")).unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::TimedOut {
                stage: Stage::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    let accepted = listener.accept().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(
        accepted,
        Err(std::io::ErrorKind::WouldBlock),
        "it connected"
    );
    // Cleared, the client uses its own timeout again.
    client.set_export_deadline(None);
    let server = OneShotServer::start(Reply::ok());
    let response = client.send(&post(&server.url("/"), b"on time")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.received();
}

fn ok_bytes() -> Vec<u8> {
    Reply::ok().into_bytes()
}

fn bodies(served: &super::super::test_server::Served) -> Vec<&[u8]> {
    served.requests.iter().map(|r| r.body.as_slice()).collect()
}

#[test]
fn several_requests_share_one_connection() {
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    let server = ScriptedServer::start(vec![
        Step::Answer(ok_bytes()),
        Step::Answer(chunked.to_vec()),
        Step::Answer(Reply::status(503, &["Retry-After: 1"], b"busy").into_bytes()),
        Step::Answer(ok_bytes()),
    ]);
    let client = BlockingHttpClient::new(PATIENT);
    let url = server.url("/v1/traces");
    let statuses: Vec<u16> = [&b"one"[..], b"two", b"three", b"four"]
        .into_iter()
        .map(|body| {
            let request = Request::post(&url).body(Bytes::from(body)).unwrap();
            let response = client.clone().send(&request).unwrap();
            response.status().as_u16()
        })
        .collect();
    assert_eq!(statuses, [200, 200, 503, 200]);
    let seen = server.finish();
    assert_eq!(seen.accepts, 1);
    assert_eq!(bodies(&seen), [&b"one"[..], b"two", b"three", b"four"]);
}

#[test]
fn a_server_that_says_connection_close_gets_the_next_request_on_a_new_connection() {
    // The server keeps the first connection open but never reads it again: a client that
    // reused it would time out.
    let server = ScriptedServer::start(vec![
        Step::AnswerThenHold(
            Reply::status(200, &["Connection: keep-alive, close"], b"").into_bytes(),
        ),
        Step::Answer(ok_bytes()),
    ]);
    let client = BlockingHttpClient::new(Duration::from_secs(2));
    for body in [&b"one"[..], b"two"] {
        let response = client.send(&post(&server.url("/"), body)).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let seen = server.finish();
    assert_eq!(seen.accepts, 2);
    assert_eq!(bodies(&seen), [&b"one"[..], b"two"]);
}

#[test]
fn a_response_that_ends_with_the_connection_or_http_1_0_is_not_reused() {
    for first in [
        b"HTTP/1.1 200 OK\r\n\r\nuntil close".to_vec(),
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
    ] {
        let server =
            ScriptedServer::start(vec![Step::AnswerThenClose(first), Step::Answer(ok_bytes())]);
        let client = BlockingHttpClient::new(Duration::from_secs(2));
        client.send(&post(&server.url("/"), b"one")).unwrap();
        client.send(&post(&server.url("/"), b"two")).unwrap();
        let seen = server.finish();
        assert_eq!(seen.accepts, 2);
        assert_eq!(bodies(&seen), [&b"one"[..], b"two"]);
    }
}

#[test]
fn a_connection_idle_longer_than_the_bound_is_not_reused() {
    let server = ScriptedServer::start(vec![
        Step::AnswerThenHold(ok_bytes()),
        Step::Answer(ok_bytes()),
    ]);
    let client =
        BlockingHttpClient::new(Duration::from_secs(2)).with_max_idle(Duration::from_millis(1));
    client.send(&post(&server.url("/"), b"one")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    client.send(&post(&server.url("/"), b"two")).unwrap();
    let seen = server.finish();
    assert_eq!(seen.accepts, 2);
    assert_eq!(bodies(&seen), [&b"one"[..], b"two"]);
}

#[test]
fn a_kept_connection_the_server_closed_is_replaced_and_the_request_delivered_once() {
    let server = ScriptedServer::start(vec![
        Step::AnswerThenClose(ok_bytes()),
        Step::Answer(ok_bytes()),
        Step::Answer(ok_bytes()),
    ]);
    let client = BlockingHttpClient::new(PATIENT);
    client.send(&post(&server.url("/"), b"one")).unwrap();
    // The server has closed the connection the client keeps.
    server.wait_for_steps(1);
    for body in [&b"two"[..], b"three"] {
        let response = client.send(&post(&server.url("/"), body)).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let seen = server.finish();
    assert_eq!(seen.accepts, 2);
    assert_eq!(bodies(&seen), [&b"one"[..], b"two", b"three"]);
    assert_eq!(client.take_last_failure(), None);
}

#[test]
fn a_server_that_half_reads_then_drops_fails_the_request_after_one_retry() {
    static LARGE: [u8; 1 << 20] = [b'x'; 1 << 20];
    let server = ScriptedServer::start(vec![
        Step::Answer(ok_bytes()),
        Step::HalfReadThenDrop,
        Step::HalfReadThenDrop,
    ]);
    let client = BlockingHttpClient::new(PATIENT);
    client.send(&post(&server.url("/"), b"one")).unwrap();
    // On the kept connection, then once on a fresh one.
    let error = client.send(&post(&server.url("/"), &LARGE)).unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::Closed {
                stage: Stage::Write | Stage::ReadHead,
                ..
            } | TransportError::Io {
                stage: Stage::Write | Stage::ReadHead,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("127.0.0.1:"), "{error}");
    let seen = server.finish();
    assert_eq!(seen.accepts, 2);
    assert_eq!(bodies(&seen), [&b"one"[..]]);
}

#[test]
fn a_fresh_connection_that_fails_is_not_retried() {
    static LARGE: [u8; 1 << 20] = [b'x'; 1 << 20];
    let server = ScriptedServer::start(vec![Step::HalfReadThenDrop]);
    let client = BlockingHttpClient::new(PATIENT);
    let error = client.send(&post(&server.url("/"), &LARGE)).unwrap_err();
    assert!(
        matches!(
            error,
            TransportError::Closed {
                stage: Stage::Write | Stage::ReadHead,
                ..
            } | TransportError::Io {
                stage: Stage::Write | Stage::ReadHead,
                ..
            }
        ),
        "{error:?}"
    );
    let seen = server.finish();
    assert_eq!(seen.accepts, 1);
    // Nothing is listening for a retry: it would fail to connect, not be accepted.
}

#[test]
fn a_408_on_a_kept_connection_is_not_the_answer_and_the_request_goes_on_a_new_one() {
    // The server times the kept connection out with a 408 before the second request comes, and
    // holds it: only a new connection gets an answer.
    let timed_out = Reply::status(408, &["Connection: close"], b"").into_bytes();
    let server = ScriptedServer::start(vec![
        Step::Answer(ok_bytes()),
        Step::AwaitGo,
        Step::SendThenHold(timed_out),
        Step::Answer(ok_bytes()),
    ]);
    let client = BlockingHttpClient::new(PATIENT);
    client.send(&post(&server.url("/"), b"one")).unwrap();
    // The client has read the first answer whole before the 408 is sent.
    server.go();
    server.wait_for_steps(3);
    let response = client.send(&post(&server.url("/"), b"two")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = server.finish();
    assert_eq!(seen.accepts, 2);
    assert_eq!(bodies(&seen), [&b"one"[..], b"two"]);
}

#[test]
fn a_408_on_a_new_connection_is_the_answer() {
    let server = OneShotServer::start(Reply::status(408, &[], b"slow"));
    let response = BlockingHttpClient::new(PATIENT)
        .send(&post(&server.url("/"), b"x"))
        .unwrap();
    assert_eq!(response.status().as_u16(), 408);
    assert_eq!(response.body().as_ref(), b"slow");
    server.received();
}

#[test]
fn only_the_statuses_the_otlp_specification_names_are_worth_a_retry() {
    use crate::export::pipeline::Retry;
    let none = http::HeaderMap::new();
    for status in [429, 502, 503, 504] {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(
            super::retry_for(status, &none),
            Retry::Yes { after: None },
            "{status}"
        );
    }
    for status in [400, 401, 403, 404, 405, 413, 415, 500, 501, 505] {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(super::retry_for(status, &none), Retry::No, "{status}");
    }
}

#[test]
fn retry_after_is_read_as_seconds_or_as_an_http_date() {
    use std::time::SystemTime;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let after = |value: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
        super::retry_after(&headers, now)
    };
    assert_eq!(after("7"), Some(Duration::from_secs(7)));
    assert_eq!(after(" 0 "), Some(Duration::ZERO));
    // 1 700 000 000 s after the epoch is Tue, 14 Nov 2023 22:13:20 GMT.
    assert_eq!(
        after("Tue, 14 Nov 2023 22:13:50 GMT"),
        Some(Duration::from_secs(30))
    );
    assert_eq!(after("Tue, 14 Nov 2023 22:13:00 GMT"), Some(Duration::ZERO));
    assert_eq!(after("soon"), None);
    assert_eq!(after("-5"), None);
    assert_eq!(super::retry_after(&http::HeaderMap::new(), now), None);
}

#[test]
fn the_client_keeps_what_the_last_answer_says_about_a_retry() {
    use crate::export::pipeline::Retry;
    let client = BlockingHttpClient::new(PATIENT);
    let server = OneShotServer::start(Reply::status(503, &["Retry-After: 3"], b"busy"));
    let response = client.send_export(&post(&server.url("/v1/traces"), b"x"));
    assert_eq!(response.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        client.take_retry(),
        Some(Retry::Yes {
            after: Some(Duration::from_secs(3))
        })
    );
    assert_eq!(client.take_retry(), None, "taken once");

    let server = OneShotServer::start(Reply::status(400, &[], b"bad"));
    let _ = client.send_export(&post(&server.url("/v1/traces"), b"x"));
    assert_eq!(client.take_retry(), Some(Retry::No));

    let server = OneShotServer::start(Reply::status(200, &[], b""));
    let _ = client.send_export(&post(&server.url("/v1/traces"), b"x"));
    assert_eq!(
        client.take_retry(),
        None,
        "a success leaves nothing to retry"
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _ = client.send_export(&post(&format!("http://{closed}/v1/traces"), b"x"));
    assert_eq!(client.take_retry(), Some(Retry::Yes { after: None }));
}
