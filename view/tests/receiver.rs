//! The OTLP/HTTP receiver on 127.0.0.1: protobuf and JSON POSTs, gzip, bad requests, and the
//! binary's `--listen --print` showing a trace joined from both.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use traced_view::receiver::Receiver;

const TRACE: &str = "5b8efff798038103d269b633813fc60c";
const TIMEOUT: Duration = Duration::from_secs(10);

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A protobuf request: one `checkout` server span of service `shop`, with an error status.
fn protobuf_request() -> Vec<u8> {
    let service = KeyValue {
        key: "service.name".to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("shop".to_owned())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![service],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: hex(TRACE),
                    span_id: hex("aaaaaaaaaaaaaaaa"),
                    name: "checkout".to_owned(),
                    kind: 2,
                    start_time_unix_nano: 1_796_472_000_000_000_000,
                    end_time_unix_nano: 1_796_472_000_040_000_000,
                    status: Some(Status {
                        code: 2,
                        message: "declined".to_owned(),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A JSON request: the `charge` child span of service `payments`, 10 ms into the trace.
fn json_request() -> Vec<u8> {
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"payments"}}}}]}},"scopeSpans":[{{"scope":{{"name":"opentelemetry.instrumentation.flask"}},"spans":[{{"traceId":"{TRACE}","spanId":"bbbbbbbbbbbbbbbb","parentSpanId":"aaaaaaaaaaaaaaaa","name":"charge","kind":2,"startTimeUnixNano":"1796472000010000000","endTimeUnixNano":"1796472000030000000"}}]}}]}}]}}"#
    )
    .into_bytes()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Sends one request and reads one response (by its Content-Length) from `stream`.
fn exchange(stream: &mut TcpStream, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: test\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    let _ = write!(request, "Content-Length: {}\r\n\r\n", body.len());
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Reply {
        status: head[9..12].parse().unwrap(),
        head,
        body,
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

#[test]
fn protobuf_and_json_posts_on_one_kept_alive_connection() {
    let (sink, batches) = mpsc::channel();
    let receiver = Receiver::spawn("127.0.0.1:0", sink).unwrap();
    let mut stream = connect(receiver.local_addr());

    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(&protobuf_request()),
    );
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert!(reply.head.contains("Content-Type: application/x-protobuf"));
    assert!(reply.body.is_empty(), "an empty ExportTraceServiceResponse");
    let batch = batches.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(batch.spans.len(), 1);
    assert_eq!(batch.spans[0].name, "checkout");
    assert_eq!(batch.spans[0].service(), "shop");
    assert!(batch.spans[0].is_error());

    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[("Content-Type", "application/json; charset=utf-8")],
        &json_request(),
    );
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(reply.body, b"{}");
    let batch = batches.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(batch.spans[0].name, "charge");
    assert_eq!(batch.spans[0].trace_id.to_string(), TRACE);
}

#[test]
fn bad_requests_are_refused_with_their_status() {
    let (sink, batches) = mpsc::channel();
    let receiver = Receiver::spawn("127.0.0.1:0", sink).unwrap();
    let mut stream = connect(receiver.local_addr());
    let protobuf = [("Content-Type", "application/x-protobuf")];

    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    assert_eq!(reply.status, 415);
    let reply = exchange(&mut stream, "/v1/traces", &protobuf, b"\xff\xff\xff");
    assert_eq!(reply.status, 400);
    assert!(reply.head.contains("Content-Type: application/x-protobuf"));
    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[("Content-Type", "application/json")],
        b"{\"resourceSpans\": [",
    );
    assert_eq!(reply.status, 400);
    assert!(String::from_utf8_lossy(&reply.body).contains("not JSON"));
    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        b"not gzip",
    );
    assert_eq!(reply.status, 400);
    let reply = exchange(
        &mut stream,
        "/v1/traces",
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        b"{}",
    );
    assert_eq!(reply.status, 415);
    let reply = exchange(&mut stream, "/v1/metrics", &protobuf, b"");
    assert_eq!(reply.status, 404);
    assert!(batches.try_recv().is_err(), "nothing was accepted");
}

#[test]
fn listen_and_print_shows_the_trace_joined_from_both_encodings() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_traced-view"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--print",
            "--ascii",
            "--quiet-ms",
            "300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("traced-view: listening on http://")
        .and_then(|rest| rest.strip_suffix("/v1/traces"))
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .parse()
        .unwrap();

    let mut stream = connect(addr);
    let protobuf = [("Content-Type", "application/x-protobuf")];
    assert_eq!(
        exchange(&mut stream, "/v1/traces", &protobuf, &protobuf_request()).status,
        200
    );
    let json = [("Content-Type", "application/json")];
    assert_eq!(
        exchange(&mut stream, "/v1/traces", &json, &json_request()).status,
        200
    );

    // Read the printed trace in a thread, so a missing line fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (lines_sink, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_sink.send(line).is_err() {
                return;
            }
        }
    });
    let printed: Vec<String> = (0..3)
        .map_while(|_| lines.recv_timeout(TIMEOUT).ok())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        printed,
        [
            format!("trace {TRACE}  2 spans  services: payments, shop  duration 40.0ms  errors: 1"),
            "checkout  shop        40.0ms  ########################################  ERROR: declined"
                .to_owned(),
            "  charge  payments    20.0ms  ----------####################----------".to_owned(),
        ]
    );
}
