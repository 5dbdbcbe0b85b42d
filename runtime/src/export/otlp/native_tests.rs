//! The native encoding from records against the `SpanData` adapter path:
//! both decoded with opentelemetry-proto must be the same request.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Key, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;

use prost::Message as _;

use super::encode::Encoder;
use crate::export::span_data::{write_span_data_copy, Conversion};
use crate::export::test_records::{every_value, record, records, resource};
use crate::local::clock;
use crate::model::{Carried, SpanLimits, SpanRecord};

fn native(records: &[SpanRecord], conversion: &Conversion) -> ExportTraceServiceRequest {
    let mut encoder = Encoder::default();
    encoder.set_resource(&resource());
    let bytes = encoder.encode(records, clock::converter(), conversion);
    ExportTraceServiceRequest::decode(bytes).unwrap()
}

fn through_span_data(records: &[SpanRecord], conversion: &Conversion) -> ExportTraceServiceRequest {
    let clock = clock::converter();
    let spans = (records.iter())
        .map(|record| {
            let mut data = std::mem::MaybeUninit::uninit();
            write_span_data_copy(record, &mut data, clock.unix_nanos(), conversion);
            // SAFETY: `write_span_data_copy` initialized it.
            unsafe { data.assume_init() }
        })
        .collect();
    let resource = ResourceAttributesWithSchema::from(&resource());
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    };
    ExportTraceServiceRequest::decode(&*request.encode_to_vec()).unwrap()
}

/// Sorts what neither side orders by meaning: the resource's attributes (a
/// hash map's order) and the scopes.
fn normalized(mut request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    for resource_spans in &mut request.resource_spans {
        if let Some(resource) = &mut resource_spans.resource {
            resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        resource_spans.scope_spans.sort_by(|a, b| {
            a.scope
                .as_ref()
                .map(|s| &s.name)
                .cmp(&b.scope.as_ref().map(|s| &s.name))
        });
    }
    request
}

/// Every length the encoder wrote takes the fewest bytes: prost, which
/// writes them so, writes the decoded request in as many bytes.
fn assert_minimal_lengths(records: &[SpanRecord], conversion: &Conversion) {
    let mut encoder = Encoder::default();
    encoder.set_resource(&resource());
    let bytes = encoder.encode(records, clock::converter(), conversion);
    let decoded = ExportTraceServiceRequest::decode(bytes).unwrap();
    assert_eq!(bytes.len(), decoded.encode_to_vec().len());
}

fn assert_same(conversion: &Conversion) {
    let records = records();
    assert_minimal_lengths(&records, conversion);
    let native = normalized(native(&records, conversion));
    let adapted = normalized(through_span_data(&records, conversion));
    assert_eq!(native, adapted);
    // Not equal by being empty: every record is there, in three scopes.
    let scopes = &native.resource_spans[0].scope_spans;
    let names: Vec<&str> = scopes
        .iter()
        .map(|s| s.scope.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["app", "lib", "unknown"]);
    let spans: usize = scopes.iter().map(|s| s.spans.len()).sum();
    assert_eq!(spans, records.len());
}

#[test]
fn native_encoding_equals_the_span_data_path_for_every_field() {
    let conversion = Conversion {
        limits: SpanLimits::default(),
        baggage_keys: Arc::from([Key::from("tenant")]),
    };
    assert_same(&conversion);
    let request = native(&records(), &conversion);
    let root = &request.resource_spans[0].scope_spans[0].spans[0];
    // What the comparison covers, seen on one span.
    assert_eq!(root.name, "renamed");
    assert_eq!(root.trace_state, "congo=t61rcWkgMzE,rojo=00f");
    assert_eq!(root.flags, 0x100 | 0x200 | 0x01);
    assert_eq!((root.events.len(), root.links.len()), (3, 2));
    assert_eq!(root.links[0].trace_state, "vendor=v1,other=x");
    assert_eq!(
        root.status.as_ref().unwrap().message,
        "upstream unavailable"
    );
    assert_eq!(
        root.attributes.len(),
        every_value().len() + 2,
        "own, later, baggage"
    );
}

#[test]
fn native_encoding_applies_the_span_limits_as_the_adapter_does() {
    let conversion = Conversion {
        limits: SpanLimits {
            max_attributes_per_span: 5,
            max_events_per_span: 2,
            max_links_per_span: 1,
            max_attributes_per_event: 3,
            max_attributes_per_link: 2,
            max_attribute_value_length: Some(3),
        },
        baggage_keys: Arc::from([Key::from("tenant"), Key::from("absent")]),
    };
    assert_same(&conversion);
    let request = native(&records(), &conversion);
    let root = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(root.attributes.len(), 5);
    assert_eq!(root.dropped_attributes_count, 3 + 7);
    assert_eq!(
        (root.dropped_events_count, root.dropped_links_count),
        (4 + 1, 5 + 1)
    );
}

#[test]
fn long_spans_and_batches_get_multi_byte_lengths() {
    let conversion = Conversion::default();
    let long = "x".repeat(20_000);
    let mut records: Vec<SpanRecord> = (0..300)
        .map(|i| {
            record(
                i % 5,
                (i as u64 + 1, 0),
                false,
                every_value(),
                None,
                Carried::default(),
            )
        })
        .collect();
    records.push(record(
        0,
        (999, 0),
        false,
        vec![KeyValue::new("long", long)],
        None,
        Carried::default(),
    ));
    assert_eq!(
        normalized(native(&records, &conversion)),
        normalized(through_span_data(&records, &conversion))
    );
}

/// `count` records in the first `sites` sites (two are one scope, five
/// are three), every third a root, with attribute lists cycling through
/// `lists`.
fn many(count: u64, sites: u64, lists: &[Vec<KeyValue>]) -> Vec<SpanRecord> {
    (0..count)
        .map(|i| {
            let parent = if i % 3 == 0 { 0 } else { i };
            #[allow(clippy::cast_possible_truncation)]
            let list = lists[(i % lists.len() as u64) as usize].clone();
            #[allow(clippy::cast_possible_truncation)]
            let site = (i % sites) as usize;
            record(
                site,
                (i + 1, parent),
                i % 7 == 0,
                list,
                None,
                Carried::default(),
            )
        })
        .collect()
}

#[test]
fn plain_spans_are_measured_then_written_as_the_span_data_path_gives_them() {
    let lists = [
        vec![],
        vec![
            KeyValue::new("s", "short"),
            KeyValue::new("b", true),
            KeyValue::new("i", -1_i64),
            KeyValue::new("f", -0.5_f64),
        ],
        vec![
            KeyValue::new("i", i64::MAX),
            KeyValue::new("zero", 0_i64),
            KeyValue::new("", "no key"),
            KeyValue::new("empty", ""),
        ],
        // A `KeyValue` of 127 bytes, the longest a plain span holds
        // (key 1 + 2, value 120 + 2 + 2), and one of 128.
        vec![KeyValue::new("k", "v".repeat(120))],
        vec![KeyValue::new("k", "v".repeat(121))],
    ];
    let records = many(600, 5, &lists);
    let plain = |conversion: &Conversion| -> Vec<bool> {
        (records[..5].iter())
            .map(|record| super::encode::plain_len(record, conversion).is_some())
            .collect()
    };
    let unlimited = Conversion::default();
    assert_eq!(plain(&unlimited), [true, true, true, true, false]);
    // At most three attributes, strings of at most five characters: the
    // second list is over the count, the fourth over the length; "short"
    // is at the limit.
    let limited = Conversion {
        limits: SpanLimits {
            max_attributes_per_span: 3,
            max_attribute_value_length: Some(5),
            ..SpanLimits::default()
        },
        baggage_keys: Arc::from([]),
    };
    assert_eq!(plain(&limited), [true, false, false, false, false]);
    let only_short = [lists[0].clone(), vec![KeyValue::new("s", "short")]];
    let cases = [
        (many(600, 5, &lists), &unlimited),
        (many(600, 5, &lists), &limited),
        (many(600, 5, &only_short), &limited),
        // One scope; one encoder for all the cases, so that the lengths
        // guessed from the last batch are too short or too long.
        (many(1, 2, &lists), &unlimited),
        (many(600, 2, &lists), &unlimited),
        (many(3, 2, &lists), &unlimited),
        (many(300, 2, &only_short), &unlimited),
    ];
    let mut encoder = Encoder::default();
    encoder.set_resource(&resource());
    for (records, conversion) in &cases {
        let bytes = encoder.encode(records, clock::converter(), conversion);
        let native = ExportTraceServiceRequest::decode(bytes).unwrap();
        assert_eq!(bytes.len(), native.encode_to_vec().len(), "minimal lengths");
        let native = normalized(native);
        assert_eq!(native, normalized(through_span_data(records, conversion)));
        let spans: usize = (native.resource_spans[0].scope_spans.iter())
            .map(|scope| scope.spans.len())
            .sum();
        assert_eq!(spans, records.len());
    }
}

/// Exports the records of [`records`] through an exporter built from `config` (pointed at a
/// receiver answering `reply`) on the native path; returns the result and the request read.
fn export_native(
    config: super::OtlpConfig,
    reply: super::test_server::Reply,
) -> (Result<(), String>, super::test_server::Received, usize) {
    use opentelemetry_sdk::trace::SpanExporter as _;

    let server = super::test_server::OneShotServer::start(reply);
    let config = super::OtlpConfig {
        endpoint: server.url("/v1/traces"),
        timeout: Duration::from_secs(5),
        ..config
    };
    let mut exporter = config.build_exporter().unwrap();
    exporter.set_resource(&resource());
    assert!(exporter.takes_records());
    let result = exporter
        .export_records(&records(), &Conversion::default())
        .expect("HTTP/protobuf takes records");
    let received = server.received();
    (
        result.map_err(|e| e.to_string()),
        received,
        exporter.take_rejected(),
    )
}

#[test]
fn the_native_path_sends_gzip_and_the_configured_headers() {
    use std::io::Read as _;

    let config = super::OtlpConfig {
        compression: super::OtlpCompression::Gzip,
        headers: vec![("x-tenant".to_owned(), "acme corp".to_owned())],
        ..super::OtlpConfig::default()
    };
    let (result, received, _) = export_native(config, super::test_server::Reply::ok());
    result.unwrap();
    assert_eq!(
        (received.method.as_str(), received.path.as_str()),
        ("POST", "/v1/traces")
    );
    assert_eq!(received.header("content-type"), "application/x-protobuf");
    assert_eq!(received.header("content-encoding"), "gzip");
    assert_eq!(received.header("x-tenant"), "acme corp");
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(received.body.as_slice())
        .read_to_end(&mut body)
        .unwrap();
    let sent = normalized(ExportTraceServiceRequest::decode(body.as_slice()).unwrap());
    let expected = normalized(through_span_data(&records(), &Conversion::default()));
    assert_eq!(sent, expected);
}

#[test]
fn the_native_path_fails_on_error_statuses_and_counts_partial_success() {
    use super::test_server::Reply;

    for status in [400, 503] {
        let reply = Reply::status(status, &[], b"no");
        let (result, received, _) = export_native(super::OtlpConfig::default(), reply);
        let error = result.unwrap_err();
        assert!(error.contains(&format!("status code: {status}")), "{error}");
        assert!(received
            .headers
            .iter()
            .all(|(n, _)| n != "content-encoding"));
    }
    let body = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse {
        partial_success: Some(
            opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess {
                rejected_spans: 2,
                error_message: "too old".to_owned(),
            },
        ),
    }
    .encode_to_vec();
    let reply = Reply::status(200, &["Content-Type: application/x-protobuf"], &body);
    let ((result, _, rejected), warnings) =
        crate::diag::capture(|| export_native(super::OtlpConfig::default(), reply));
    assert_eq!((result, rejected), (Ok(()), 2));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("too old"), "{warnings:?}");
}

#[test]
fn http_json_takes_records_and_sends_the_otlp_json_encoding() {
    use crate::export::otlp_json::{push_traces_data, EncodedResource};

    let config = super::OtlpConfig {
        protocol: super::OtlpProtocol::HttpJson,
        ..super::OtlpConfig::default()
    };
    let (result, received, _) = export_native(config, super::test_server::Reply::ok());
    result.unwrap();
    assert_eq!(received.header("content-type"), "application/json");
    let clock = clock::converter();
    let spans: Vec<_> = (records().iter())
        .map(|record| {
            let mut data = std::mem::MaybeUninit::uninit();
            write_span_data_copy(
                record,
                &mut data,
                clock.unix_nanos(),
                &Conversion::default(),
            );
            // SAFETY: `write_span_data_copy` initialized it.
            unsafe { data.assume_init() }
        })
        .collect();
    let mut expected = String::new();
    push_traces_data(&mut expected, &EncodedResource::new(&resource()), &spans);
    let sent = String::from_utf8(received.body).unwrap();
    assert_eq!(sent, expected);
    let json: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let count: usize = (json["resourceSpans"][0]["scopeSpans"]
        .as_array()
        .unwrap()
        .iter())
    .map(|scope| scope["spans"].as_array().unwrap().len())
    .sum();
    assert_eq!(count, records().len());
}
