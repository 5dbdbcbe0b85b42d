//! Every encoder written from records against the same encoder given the `SpanData` the
//! adapter makes of those records: the text must be the same, byte for byte, for records
//! holding every kind of data, with the default limits and with tight ones.

use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use serde_json::Value as Json;

use crate::export::otlp_json::{push_spans, push_traces_data, EncodedResource};
use crate::export::pipeline::{RecordBatch, RecordExporter as _};
use crate::export::span_data::{write_span_data_copy, Conversion};
use crate::export::test_records::{every_value, records, resource};
use crate::export::test_support::{block_on, SharedBuf};
use crate::export::ConsoleExporter;
use crate::local::clock;
use crate::model::{SpanLimits, SpanRecord};

fn conversions() -> [Conversion; 2] {
    [
        Conversion {
            limits: SpanLimits::default(),
            baggage_keys: Arc::from([Key::from("tenant")]),
        },
        Conversion {
            limits: SpanLimits {
                max_attributes_per_span: 5,
                max_events_per_span: 2,
                max_links_per_span: 1,
                max_attributes_per_event: 3,
                max_attributes_per_link: 2,
                max_attribute_value_length: Some(3),
            },
            baggage_keys: Arc::from([Key::from("tenant"), Key::from("absent")]),
        },
    ]
}

fn span_data(
    records: &[SpanRecord],
    clock: clock::Converter,
    conversion: &Conversion,
) -> Vec<SpanData> {
    (records.iter())
        .map(|record| {
            let mut data = std::mem::MaybeUninit::uninit();
            write_span_data_copy(record, &mut data, clock.unix_nanos(), conversion);
            // SAFETY: `write_span_data_copy` initialized it.
            unsafe { data.assume_init() }
        })
        .collect()
}

/// Runs `encode` on the records and on their `SpanData`, for each conversion; checks that
/// both give the same text and returns the texts from records.
fn assert_same(mut encode: impl FnMut(Either<'_>) -> String) -> Vec<String> {
    let records = records();
    let clock = clock::converter();
    let mut texts = Vec::new();
    for conversion in conversions() {
        let batch = RecordBatch::new(&records, &conversion, clock);
        let from_records = encode(Either::Records(&batch));
        let spans = span_data(&records, clock, &conversion);
        let from_span_data = encode(Either::SpanData(&spans));
        assert_eq!(
            from_records, from_span_data,
            "limits {:?}",
            conversion.limits
        );
        texts.push(from_records);
    }
    texts
}

enum Either<'a> {
    Records(&'a RecordBatch<'a>),
    SpanData(&'a [SpanData]),
}

#[test]
fn otlp_json_from_records_equals_the_span_data_path() {
    let resource = EncodedResource::new(&resource());
    let texts = assert_same(|batch| {
        let mut out = String::new();
        match batch {
            Either::Records(batch) => push_spans(&mut out, &resource, &batch.spans()),
            Either::SpanData(spans) => push_traces_data(&mut out, &resource, spans),
        }
        out
    });
    // What the comparison covers, seen in the text.
    let json: Json = serde_json::from_str(&texts[0]).unwrap();
    let scopes = json["resourceSpans"][0]["scopeSpans"].as_array().unwrap();
    let names: Vec<&str> = (scopes.iter())
        .map(|s| s["scope"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["app", "lib", "unknown"]);
    let spans: usize = scopes
        .iter()
        .map(|s| s["spans"].as_array().unwrap().len())
        .sum();
    assert_eq!(spans, records().len());
    let root = &scopes[0]["spans"][0];
    assert_eq!(root["name"], "renamed");
    assert_eq!(root["parentSpanId"], "000000000000feed");
    assert_eq!(root["kind"], 2);
    assert_eq!(root["traceState"], "congo=t61rcWkgMzE,rojo=00f");
    assert_eq!(root["flags"], 0x100 | 0x200 | 0x01);
    assert_eq!(
        root["attributes"].as_array().unwrap().len(),
        every_value().len() + 2
    );
    assert_eq!(root["events"].as_array().unwrap().len(), 3);
    assert_eq!(root["links"][0]["traceState"], "vendor=v1,other=x");
    assert_eq!(root["status"]["message"], "upstream unavailable");
    assert_eq!(
        (
            &root["droppedAttributesCount"],
            &root["droppedEventsCount"],
            &root["droppedLinksCount"]
        ),
        (&Json::from(3), &Json::from(4), &Json::from(5))
    );
    let limited: Json = serde_json::from_str(&texts[1]).unwrap();
    let root = &limited["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(root["attributes"].as_array().unwrap().len(), 5);
    assert_eq!(root["attributes"][0]["value"]["stringValue"], "a s");
    assert_eq!(root["droppedAttributesCount"], 3 + 7);
    assert_eq!(root["events"][0]["attributes"].as_array().unwrap().len(), 3);
}

#[cfg(feature = "otlp")]
#[test]
fn zipkin_json_from_records_equals_the_span_data_path() {
    use crate::export::zipkin::{encode_spans, Encoder};

    let mut encoder = Encoder::default();
    let texts = assert_same(|batch| match batch {
        Either::Records(batch) => {
            encoder.encode(batch.spans(), "shop");
            encoder.text().to_owned()
        }
        Either::SpanData(spans) => encode_spans(spans, "shop"),
    });
    let json: Json = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(json.as_array().unwrap().len(), records().len());
    let root = &json[0];
    assert_eq!(root["name"], "renamed");
    assert_eq!(root["kind"], "SERVER");
    assert_eq!(root["parentId"], "000000000000feed");
    assert_eq!(root["annotations"].as_array().unwrap().len(), 3);
    let tags = root["tags"].as_object().unwrap();
    assert_eq!(tags["tenant"], "acme", "baggage copied as an attribute");
    assert_eq!(tags["later"], "set through the handle");
    assert_eq!(tags["i"], "7", "the later value wins");
    assert_eq!(tags["otel.status_code"], "ERROR");
    assert_eq!(tags["error"], "upstream unavailable");
    assert_eq!(tags["otel.dropped_links_count"], "5");
    assert_eq!(tags["otel.scope.name"], "app");
    let client = &json[2];
    assert_eq!(client["kind"], "CLIENT");
    let limited: Json = serde_json::from_str(&texts[1]).unwrap();
    let tags = limited[0]["tags"].as_object().unwrap();
    assert_eq!(tags["otel.dropped_attributes_count"], "10");
    assert_eq!(tags["s"], "a s", "values cut to three characters");
}

#[test]
fn console_json_from_records_equals_the_span_data_path() {
    let out = SharedBuf::default();
    let mut exporter = ConsoleExporter::with_writer(out.clone());
    opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource());
    let texts = assert_same(|batch| {
        match batch {
            Either::Records(batch) => exporter.export_records(batch).unwrap(),
            Either::SpanData(spans) => block_on(exporter.export(spans.to_vec())).unwrap(),
        }
        out.drain()
    });
    let objects: Vec<Json> = serde_json::Deserializer::from_str(&texts[0])
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(objects.len(), records().len());
    let root = &objects[0];
    assert_eq!(root["name"], "renamed");
    assert_eq!(root["kind"], "SpanKind.SERVER");
    assert_eq!(root["parent_id"], "0x000000000000feed");
    assert_eq!(
        root["context"]["trace_state"],
        "['{key=congo, value=t61rcWkgMzE}', '{key=rojo, value=00f}']"
    );
    assert_eq!(root["attributes"]["tenant"], "acme");
    assert_eq!(root["attributes"]["i"], 7);
    assert_eq!(root["events"].as_array().unwrap().len(), 3);
    assert_eq!(root["links"].as_array().unwrap().len(), 2);
    assert_eq!(root["status"]["description"], "upstream unavailable");
    assert_eq!(root["resource"]["attributes"]["service.name"], "shop");
    assert_eq!(objects[1]["parent_id"], "0x0000000000000001");
}
