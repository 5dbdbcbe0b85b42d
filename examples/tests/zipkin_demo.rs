//! The Zipkin seed, run as a user would, against a Zipkin-shaped receiver
//! on 127.0.0.1.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Reads one Zipkin POST and answers 202: the request line and the body.
fn read_post(stream: TcpStream) -> (String, Vec<u8>) {
    let mut stream = stream;
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    stream
        .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    (line, body)
}

#[test]
fn the_demo_and_service1_share_a_trace_in_zipkin_format() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let demo_done = Arc::new(AtomicBool::new(false));
    // Takes every POST until the demo has exited and no connection waits
    // (the spans may come in more than one export), for at most a minute.
    let receiver = std::thread::spawn({
        let demo_done = Arc::clone(&demo_done);
        move || {
            let deadline = Instant::now() + Duration::from_mins(1);
            let mut posts = Vec::new();
            while Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => posts.push(read_post(stream)),
                    Err(_) if demo_done.load(Ordering::Acquire) => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            posts
        }
    });
    let mut command = common::example(env!("CARGO_BIN_EXE_zipkin_demo"));
    let output = common::succeed(command.env("OTEL_TRACES_EXPORTER", "zipkin").env(
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
        format!("http://127.0.0.1:{port}/api/v2/spans"),
    ));
    demo_done.store(true, Ordering::Release);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "result 42");
    let posts = receiver.join().unwrap();
    assert!(!posts.is_empty(), "the demo sent nothing to Zipkin");
    let mut spans: Vec<Value> = Vec::new();
    for (request_line, body) in posts {
        assert!(
            request_line.starts_with("POST /api/v2/spans "),
            "{request_line}"
        );
        spans.extend(serde_json::from_slice::<Vec<Value>>(&body).unwrap());
    }
    let span = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let (demo, client, index, work) = (
        span("demo"),
        span("call service1"),
        span("index"),
        span("do_stuff"),
    );
    for s in [client, index, work] {
        assert_eq!(s["traceId"], demo["traceId"]);
        assert_eq!(s["localEndpoint"]["serviceName"], "demo");
    }
    assert_eq!(client["parentId"], demo["id"]);
    assert_eq!(client["kind"], "CLIENT");
    assert_eq!(
        index["parentId"], client["id"],
        "service1 continued the trace from the b3 header"
    );
    assert_eq!(index["kind"], "SERVER");
    assert_eq!(work["parentId"], index["id"]);
}
