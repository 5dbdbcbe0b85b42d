//! The `ping` example, run as a user would: the server's spans must
//! continue the client's trace through the HTTP headers alone.

mod common;

use serde_json::Value;

fn run(env: &[(&str, &str)]) -> Vec<Value> {
    let mut command = common::example(env!("CARGO_BIN_EXE_ping"));
    let output = common::succeed(
        command
            .env("OTEL_TRACES_EXPORTER", "console")
            .envs(env.iter().copied()),
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    // The example prints its pongs, then the console exporter its spans.
    let json = &stdout[stdout.find("\n{").map_or(0, |i| i + 1)..];
    serde_json::Deserializer::from_str(json)
        .into_iter::<Value>()
        .filter_map(Result::ok)
        .filter(Value::is_object)
        .collect()
}

fn check(spans: &[Value]) {
    let by_name =
        |name: &str| -> Vec<&Value> { spans.iter().filter(|s| s["name"] == name).collect() };
    let session = by_name("ping-session");
    assert_eq!(session.len(), 1);
    let trace = &session[0]["context"]["trace_id"];
    let clients = by_name("ping");
    let servers = by_name("GET /ping");
    assert_eq!((clients.len(), servers.len()), (3, 3));
    for client in &clients {
        assert_eq!(client["kind"], "SpanKind.CLIENT");
        assert_eq!(&client["context"]["trace_id"], trace);
        assert_eq!(client["parent_id"], session[0]["context"]["span_id"]);
        let server = servers
            .iter()
            .find(|s| s["parent_id"] == client["context"]["span_id"])
            .expect("a server span under each client span");
        assert_eq!(server["kind"], "SpanKind.SERVER");
        assert_eq!(&server["context"]["trace_id"], trace);
        assert_eq!(server["attributes"]["http.route"], "/ping");
    }
}

#[test]
fn the_server_continues_the_clients_trace_over_w3c_headers() {
    check(&run(&[]));
}

#[test]
fn the_server_continues_the_clients_trace_over_b3_headers() {
    check(&run(&[("OTEL_PROPAGATORS", "b3multi")]));
}
