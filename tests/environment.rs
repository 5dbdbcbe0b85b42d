//! `traced::init()` driven by `OTEL_*` variables, observed from outside: the
//! probe program runs with a controlled environment and its stdout/stderr
//! are checked.

use std::process::Output;

use serde_json::Value;

fn probe(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = traced_tests::command_without_otel(env!("CARGO_BIN_EXE_traced-probe"));
    command.envs(env.iter().copied()).args(args);
    let output = command.output().expect("run the probe");
    assert!(
        output.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Parses a stream of JSON values, as Python's console exporter writes them.
fn json_stream(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a JSON stream ({e}):\n{text}"))
}

fn is_hex(s: &str, digits: usize) -> bool {
    s.len() == digits + 2
        && s.starts_with("0x")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `2026-11-21T22:24:54.238852Z`
fn is_iso_micros(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 26].contains(&i) || c.is_ascii_digit())
}

#[test]
fn console_exporter_prints_python_shaped_json_per_span() {
    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_SERVICE_NAME", "addsubtract"),
        ],
        &[],
    );
    let text = stdout(&out);
    let spans = json_stream(&text);
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["add", "subtract", "add", "addsubtract"]);

    let root = &spans[3];
    assert!(root["parent_id"].is_null());
    let root_id = root["context"]["span_id"].as_str().unwrap();
    let trace_id = root["context"]["trace_id"].as_str().unwrap();
    assert!(is_hex(trace_id, 32), "{trace_id}");
    for span in &spans {
        let context = &span["context"];
        assert_eq!(context["trace_id"], trace_id);
        assert!(is_hex(context["span_id"].as_str().unwrap(), 16));
        assert_eq!(context["trace_state"], "[]");
        assert_eq!(span["kind"], "SpanKind.INTERNAL");
        let start = span["start_time"].as_str().unwrap();
        let end = span["end_time"].as_str().unwrap();
        assert!(is_iso_micros(start) && is_iso_micros(end), "{start} {end}");
        assert!(start <= end);
        assert_eq!(span["status"], serde_json::json!({"status_code": "UNSET"}));
        assert_eq!(span["links"], serde_json::json!([]));
        let resource = &span["resource"];
        assert_eq!(resource["attributes"]["service.name"], "addsubtract");
        assert_eq!(resource["attributes"]["telemetry.sdk.language"], "rust");
        assert_eq!(resource["attributes"]["telemetry.sdk.name"], "traced");
        assert!(resource["attributes"]["telemetry.sdk.version"].is_string());
        assert_eq!(resource["schema_url"], "");
    }
    for child in &spans[..3] {
        assert_eq!(child["parent_id"], root_id);
    }
    assert_eq!(spans[0]["attributes"], serde_json::json!({"a": 1}));
    assert_eq!(spans[1]["attributes"], serde_json::json!({}));
    let event = &root["events"][0];
    assert_eq!(event["name"], "halfway");
    assert_eq!(event["attributes"], serde_json::json!({"s": -1}));
    assert!(is_iso_micros(event["timestamp"].as_str().unwrap()));

    // Python's layout: 4-space indentation and this key order.
    let first = text.split("\n}").next().unwrap();
    let order = [
        "\"name\"",
        "\"context\"",
        "\"kind\"",
        "\"parent_id\"",
        "\"start_time\"",
        "\"end_time\"",
        "\"status\"",
        "\"attributes\"",
        "\"events\"",
        "\"links\"",
        "\"resource\"",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| {
            first
                .find(&format!("\n    {k}: "))
                .unwrap_or_else(|| panic!("{k} missing at indent 4"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order differs from Python's"
    );
}

#[test]
fn console_exporter_shows_errors_like_python() {
    let out = probe(&[("OTEL_TRACES_EXPORTER", "console")], &["error"]);
    let spans = json_stream(&stdout(&out));
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span["name"], "divide");
    assert_eq!(span["status"]["status_code"], "ERROR");
    assert_eq!(span["status"]["description"], "String: division by zero");
    let event = &span["events"][0];
    assert_eq!(event["name"], "exception");
    assert_eq!(event["attributes"]["exception.type"], "String");
    assert_eq!(event["attributes"]["exception.message"], "division by zero");
    let service = span["resource"]["attributes"]["service.name"]
        .as_str()
        .unwrap();
    assert_eq!(service, "unknown_service:traced-probe");
}

#[test]
fn the_default_exporter_is_a_tree_on_stderr() {
    let out = probe(&[], &[]);
    assert_eq!(stdout(&out), "", "nothing on stdout by default");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let root = lines
        .iter()
        .position(|l| l.starts_with("addsubtract"))
        .unwrap_or_else(|| panic!("no root line in:\n{err}"));
    let children: Vec<&str> = lines[root + 1..]
        .iter()
        .take_while(|l| !l.starts_with("probe:"))
        .copied()
        .collect();
    let child_names: Vec<&str> = children
        .iter()
        .filter(|l| !l.contains('•'))
        .map(|l| {
            l.trim_start_matches(|c: char| !c.is_alphanumeric())
                .split_whitespace()
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(child_names, ["add", "subtract", "add"], "tree:\n{err}");
}

#[test]
fn exporter_none_and_sdk_disabled_print_nothing() {
    for env in [
        [
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_SDK_DISABLED", "false"),
        ],
        [
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    ] {
        let out = probe(&env, &[]);
        assert_eq!(stdout(&out), "", "{env:?}");
        assert_eq!(
            stderr(&out).trim(),
            "probe: exported=0 dropped=0 failed=0",
            "{env:?}"
        );
    }
}

#[test]
fn resource_attributes_come_from_the_environment() {
    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, team=a%20b,service.name=from-attrs",
            ),
        ],
        &["many", "1"],
    );
    let spans = json_stream(&stdout(&out));
    let attributes = &spans[0]["resource"]["attributes"];
    assert_eq!(attributes["deployment.environment"], "prod");
    assert_eq!(attributes["team"], "a b");
    assert_eq!(attributes["service.name"], "from-attrs");

    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
            ("OTEL_SERVICE_NAME", "from-name"),
        ],
        &["many", "1"],
    );
    let spans = json_stream(&stdout(&out));
    assert_eq!(
        spans[0]["resource"]["attributes"]["service.name"],
        "from-name"
    );
}

#[test]
fn bad_values_warn_once_and_fall_back() {
    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
            ("OTEL_BSP_SCHEDULE_DELAY", "-5"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_SDK_DISABLED", "maybe"),
        ],
        &["many", "3"],
    );
    assert_eq!(json_stream(&stdout(&out)).len(), 3, "defaults still export");
    let err = stderr(&out);
    for var in [
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_TRACES_SAMPLER",
        "OTEL_SDK_DISABLED",
    ] {
        let warnings = err
            .lines()
            .filter(|l| l.contains("warning") && l.contains(var))
            .count();
        assert_eq!(warnings, 1, "one warning for {var} in:\n{err}");
    }
}

#[test]
fn unavailable_and_unknown_exporters_warn_and_fall_back_to_the_tree() {
    let out = probe(&[("OTEL_TRACES_EXPORTER", "jaeger")], &["many", "1"]);
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("warning") && l.contains("jaeger")),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("many")),
        "tree printed:\n{err}"
    );

    let out = probe(
        &[("OTEL_TRACES_EXPORTER", "consol,console")],
        &["many", "2"],
    );
    assert_eq!(json_stream(&stdout(&out)).len(), 2);
    assert!(stderr(&out).contains("consol"), "the typo is named");
}

#[test]
fn samplers_from_the_environment() {
    let off = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
        ],
        &["many", "5"],
    );
    assert_eq!(stdout(&off), "");
    let ratio = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ],
        &["many", "5"],
    );
    assert_eq!(stdout(&ratio), "");
    let all = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.0"),
        ],
        &["many", "5"],
    );
    assert_eq!(json_stream(&stdout(&all)).len(), 5);
}

#[test]
fn propagators_come_from_the_environment() {
    let header_names = |env: &[(&str, &str)]| -> Vec<String> {
        stderr(&probe(env, &["inject"]))
            .lines()
            .filter_map(|l| l.strip_prefix("header "))
            .map(|l| l.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        header_names(&[("OTEL_TRACES_EXPORTER", "none")]),
        ["traceparent"]
    );
    assert_eq!(
        header_names(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_PROPAGATORS", "b3multi,tracecontext")
        ]),
        ["traceparent", "x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]
    );
    assert_eq!(
        header_names(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_PROPAGATORS", "none")
        ]),
        Vec::<String>::new()
    );
    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_PROPAGATORS", "b3,xray"),
        ],
        &["inject"],
    );
    let err = stderr(&out);
    assert!(err.contains("header b3: "), "{err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("warning") && l.contains("xray"))
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn an_unusable_tls_setup_is_explained_and_falls_back() {
    // This crate builds traced with `otlp-tls`: https:// works, half a client identity doesn't.
    let out = probe(
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector.example:4318",
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client-key.pem"),
        ],
        &["many", "1"],
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "mutual TLS needs both a client key and a client certificate: \
             OTEL_EXPORTER_OTLP_CLIENT_KEY is set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not"
        ),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("many")),
        "the tree is used instead:\n{err}"
    );
}

#[test]
fn span_limits_come_from_the_environment() {
    let out = probe(
        &[
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "3"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "0"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "2"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "-1"),
        ],
        &["limits"],
    );
    let spans = json_stream(&stdout(&out));
    assert_eq!(spans.len(), 1);
    let expected = serde_json::json!({"text": "ab", "k0": 0, "k1": 1});
    assert_eq!(spans[0]["attributes"], expected);
    let events = spans[0]["events"].as_array().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["e0", "e1"]);
    assert_eq!(events[0]["attributes"], serde_json::json!({}));
    let err = stderr(&out);
    let warning = "traced: warning: invalid value `-1` for OTEL_SPAN_LINK_COUNT_LIMIT \
                   (expected a non-negative integer); using the default 128";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
}
