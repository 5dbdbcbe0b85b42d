//! The storage example: a library annotated with `#[traced]` records
//! nothing unless the application installs a pipeline; the same library
//! instrumented with `tracing` joins the application's trace through
//! `traced::bridge::tracing_layer()`.

mod common;

use std::process::Output;

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let mut command = common::example(env!("CARGO_BIN_EXE_storage_app"));
    common::succeed(command.env("OTEL_TRACES_EXPORTER", "console").args(args))
}

#[test]
fn without_a_pipeline_the_library_records_nothing() {
    let output = run(&["--untraced"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout,
        "uploaded 10 bytes\nupload to a missing container: container `videos` not found\n"
    );
    assert!(output.stderr.is_empty());
}

/// The spans the console exporter printed (after the program's own
/// lines), checked for the tree both SDK variants make: `backup` as the
/// root, the three operations under it, each with its token span, all in
/// one trace.
fn backup_tree(args: &[&str]) -> Vec<Value> {
    let stdout = String::from_utf8(run(args).stdout).unwrap();
    let json = &stdout[stdout.find("\n{").map_or(0, |i| i + 1)..];
    let spans: Vec<Value> = serde_json::Deserializer::from_str(json)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "auth.get_token",
            "storage.create_container",
            "auth.get_token",
            "storage.upload_blob",
            "auth.get_token",
            "storage.upload_blob",
            "backup"
        ]
    );
    let backup = &spans[6];
    assert_eq!(backup["parent_id"], Value::Null);
    for span in &spans {
        assert_eq!(span["context"]["trace_id"], backup["context"]["trace_id"]);
    }
    for (token, operation) in [
        (&spans[0], &spans[1]),
        (&spans[2], &spans[3]),
        (&spans[4], &spans[5]),
    ] {
        assert_eq!(operation["parent_id"], backup["context"]["span_id"]);
        assert_eq!(operation["kind"], "SpanKind.CLIENT");
        assert_eq!(token["parent_id"], operation["context"]["span_id"]);
        assert_eq!(token["kind"], "SpanKind.CLIENT");
    }
    assert_eq!(spans[3]["attributes"]["size"], 10);
    assert_eq!(spans[5]["status"]["status_code"], "ERROR");
    spans
}

#[test]
fn with_a_pipeline_the_library_spans_join_the_application_trace() {
    let spans = backup_tree(&[]);
    let failed = &spans[5];
    assert_eq!(failed["status"]["status_code"], "ERROR");
    assert_eq!(failed["events"][0]["name"], "exception");
    assert_eq!(
        failed["events"][0]["attributes"]["exception.message"],
        "container `videos` not found"
    );
}

#[test]
fn a_tracing_instrumented_library_lands_in_the_same_tree_through_the_bridge() {
    let spans = backup_tree(&["--tracing-sdk"]);
    assert_eq!(spans[1]["attributes"]["container"], "photos");
    assert_eq!(spans[3]["attributes"]["blob"], "cat.jpg");
    // `tracing::info!` events are span events, named by their message.
    let created = &spans[1]["events"][0];
    assert_eq!(created["name"], "container created");
    assert_eq!(created["attributes"]["level"], "INFO");
    let stored = &spans[3]["events"][0];
    assert_eq!(stored["name"], "blob stored");
    assert_eq!(stored["attributes"]["bytes"], 10);
    // `#[instrument(err)]` logs the error as an ERROR event, which marks
    // the span Error (`with_error_events_set_status(true)` in the app).
    let failed = &spans[5];
    assert_eq!(failed["attributes"]["blob"], "dog.mp4");
    assert_eq!(failed["events"].as_array().unwrap().len(), 1);
    let logged = &failed["events"][0];
    assert_eq!(logged["attributes"]["level"], "ERROR");
    assert_eq!(
        logged["attributes"]["error"],
        "container `videos` not found"
    );
    // `otel.kind` chose the kind; it is not an attribute.
    assert_eq!(spans[0]["attributes"], serde_json::json!({}));
}
