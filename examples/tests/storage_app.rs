//! The storage example: a library annotated with `#[traced]` records
//! nothing unless the application installs a pipeline.

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

#[test]
fn with_a_pipeline_the_library_spans_join_the_application_trace() {
    let stdout = String::from_utf8(run(&[]).stdout).unwrap();
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
    for operation in [&spans[1], &spans[3], &spans[5]] {
        assert_eq!(operation["parent_id"], backup["context"]["span_id"]);
        assert_eq!(operation["kind"], "SpanKind.CLIENT");
    }
    assert_eq!(spans[0]["parent_id"], spans[1]["context"]["span_id"]);
    assert_eq!(spans[3]["attributes"]["size"], 10);
    let failed = &spans[5];
    assert_eq!(failed["status"]["status_code"], "ERROR");
    assert_eq!(failed["events"][0]["name"], "exception");
    assert_eq!(
        failed["events"][0]["attributes"]["exception.message"],
        "container `videos` not found"
    );
}
