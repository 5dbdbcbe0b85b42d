//! Tests of the OTLP JSON lines exporter and its file.

use std::fs;
use std::time::UNIX_EPOCH;

use super::*;
use crate::export::test_support::{block_on, internal_span, SharedBuf};

fn spans(n: u64) -> Vec<SpanData> {
    (1..=n)
        .map(|id| internal_span(7, id, 0, "step", UNIX_EPOCH, UNIX_EPOCH))
        .collect()
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("traced-jsonl-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir.join("trace.jsonl")
}

#[test]
fn each_batch_is_one_line_carrying_the_resource() {
    let buf = SharedBuf::default();
    let mut exporter = OtlpJsonLinesExporter::with_writer(buf.clone());
    exporter.set_resource(&Resource::builder_empty().with_service_name("svc").build());
    block_on(exporter.export(spans(2))).unwrap();
    block_on(exporter.export(Vec::new())).unwrap();
    block_on(exporter.export(spans(1))).unwrap();
    let text = buf.drain();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, count) in lines.iter().zip([2, 1]) {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        let resource_spans = &json["resourceSpans"][0];
        assert_eq!(
            resource_spans["resource"]["attributes"][0]["value"]["stringValue"],
            "svc"
        );
        assert_eq!(
            resource_spans["scopeSpans"][0]["spans"]
                .as_array()
                .unwrap()
                .len(),
            count
        );
    }
    exporter.shutdown().unwrap();
    assert!(matches!(
        block_on(exporter.export(spans(1))),
        Err(OTelSdkError::AlreadyShutdown)
    ));
}

#[test]
fn a_file_is_appended_to_not_replaced() {
    let path = temp_path("append");
    fs::write(&path, "{\"resourceSpans\":[]}\n").unwrap();
    let exporter = OtlpJsonLinesExporter::to_file(&path).unwrap();
    assert_eq!(exporter.path().as_deref(), Some(path.as_path()));
    block_on(exporter.export(spans(1))).unwrap();
    let second = OtlpJsonLinesExporter::to_file(&path).unwrap();
    block_on(second.export(spans(3))).unwrap();
    block_on(exporter.export(spans(2))).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let counts: Vec<usize> = text
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            json["resourceSpans"][0]["scopeSpans"][0]["spans"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(counts, [0, 1, 3, 2]);
}

#[test]
fn a_full_file_rotates_and_the_oldest_is_dropped() {
    let path = temp_path("rotate");
    let exporter = OtlpJsonLinesExporter::to_file(&path)
        .unwrap()
        .with_rotation(1, 2);
    for n in 1..=4 {
        block_on(exporter.export(spans(n))).unwrap();
    }
    let count = |p: &Path| {
        let text = fs::read_to_string(p).unwrap();
        assert_eq!(text.lines().count(), 1, "{}", p.display());
        text.matches("\"spanId\"").count()
    };
    let rotated = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
    // Every batch fills the 1-byte bound: the newest is `.1`, the one before `.2`, and the
    // first two batches are gone; the path itself starts anew, empty.
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
    assert_eq!((count(&rotated(1)), count(&rotated(2))), (4, 3));
    assert!(!rotated(3).exists());
}

#[test]
fn a_file_rotated_by_another_process_is_reopened_not_rotated_again() {
    let path = temp_path("shared");
    let ours = OtlpJsonLinesExporter::to_file(&path)
        .unwrap()
        .with_rotation(1, 3);
    // Another writer moved the file away and started a new one meanwhile.
    fs::rename(&path, format!("{}.1", path.display())).unwrap();
    fs::write(&path, "").unwrap();
    block_on(ours.export(spans(1))).unwrap();
    // Our batch went to the file we held (now `.1`); we then follow the path without
    // rotating the other writer's new file away.
    assert!(!PathBuf::from(format!("{}.2", path.display())).exists());
    block_on(ours.export(spans(2))).unwrap();
    assert!(fs::read_to_string(format!("{}.2", path.display())).is_ok());
}

#[test]
fn an_unwritable_path_fails_when_built_and_names_it() {
    let path = temp_path("missing").join("no-such-dir").join("t.jsonl");
    let err = OtlpJsonLinesExporter::to_file(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failed_write_warns_once_and_returns_an_error() {
    let exporter = OtlpJsonLinesExporter::with_writer(Broken);
    let (results, warnings) = crate::diag::capture(|| {
        (0..3)
            .map(|_| block_on(exporter.export(spans(1))))
            .collect::<Vec<_>>()
    });
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(OTelSdkError::InternalFailure(m)) if m.contains("closed"))));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("could not write to its writer"),
        "{warnings:?}"
    );
}
