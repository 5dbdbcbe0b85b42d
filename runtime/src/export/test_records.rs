//! Records covering every field a span can hold, for the tests that compare an encoding
//! from records with the one through `SpanData`.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;

use crate::local::clock;
use crate::model::{
    Annotations, BaggageMember, Carried, InlineAttributes, Kind, RecordHead, RecordingLimits, Site,
    SpanRecord,
};

static SITES: [Site; 5] = [
    Site::new(
        "root",
        Kind::Server,
        Some("app"),
        Some("1.2.3"),
        "m",
        "f.rs",
        1,
    ),
    Site::new(
        "child",
        Kind::Internal,
        Some("app"),
        Some("1.2.3"),
        "m",
        "f.rs",
        2,
    ),
    Site::new("call", Kind::Client, Some("lib"), None, "m", "f.rs", 3),
    Site::new("send", Kind::Producer, Some("lib"), None, "m", "f.rs", 4),
    Site::new("receive", Kind::Consumer, None, None, "m", "f.rs", 5),
];

/// One attribute of every kind of value, keyed by the kind.
pub(crate) fn every_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("s", "a string value"),
        KeyValue::new("empty", ""),
        KeyValue::new("b", false),
        KeyValue::new("i", -42_i64),
        KeyValue::new("zero", 0_i64),
        KeyValue::new("f", 2.5_f64),
        KeyValue::new("bs", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("is", Value::Array(Array::I64(vec![1, -2, 300_000]))),
        KeyValue::new("fs", Value::Array(Array::F64(vec![0.0, -1.5]))),
        KeyValue::new(
            "ss",
            Value::Array(Array::String(vec![
                StringValue::from("héllo wörld"),
                StringValue::from(""),
            ])),
        ),
    ]
}

pub(crate) fn record(
    site: usize,
    ids: (u64, u64),
    parent_remote: bool,
    attributes: Vec<KeyValue>,
    extra: Option<Annotations>,
    carried: Carried,
) -> SpanRecord {
    // One start for every call, so that records built twice are equal.
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let (span_id, parent_id) = ids;
    let mut inline = InlineAttributes::new();
    for kv in attributes {
        assert!(inline.set(kv, || 1000));
    }
    let start = *START.get_or_init(clock::now) + span_id * 1000;
    let head = RecordHead {
        site: &SITES[site],
        trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        span_id,
        parent_id,
        parent_remote,
        random: span_id % 2 == 0,
        generation: 1,
        start,
        end: start + 1_000_000,
    };
    SpanRecord::new(head, &mut inline, extra.map(Box::new), carried.into_ref())
}

pub(crate) fn annotations() -> Annotations {
    let mut a = Annotations::new(RecordingLimits {
        attributes: 1000,
        events: 1000,
        links: 1000,
    });
    // Replaces an inline value, and adds keys past the inline ones.
    a.set_attribute(KeyValue::new("i", 7_i64));
    a.set_attribute(KeyValue::new("later", "set through the handle"));
    let when = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    a.add_event(Event::new("exception", when, every_value(), 2));
    a.add_event(Event::new("bare", when, vec![], 0));
    a.add_event(Event::new(Cow::Owned("third".to_owned()), when, vec![], 0));
    let linked = SpanContext::new(
        TraceId::from(0x1234_u128),
        SpanId::from(0x99_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "v1"), ("other", "x")]).unwrap(),
    );
    a.add_link(Link::new(linked, every_value(), 1));
    let local = SpanContext::new(
        TraceId::from(0x5678_u128),
        SpanId::from(0x77_u64),
        TraceFlags::NOT_SAMPLED,
        false,
        TraceState::default(),
    );
    a.add_link(Link::with_context(local));
    a.set_status(Status::error("upstream unavailable"));
    a.name = Some(Cow::Owned("renamed".to_owned()));
    a.dropped_attributes = 3;
    a.dropped_events = 4;
    a.dropped_links = 5;
    a
}

/// Records covering every field: each kind, roots and children, a remote
/// parent, trace state, baggage, attributes inline and past the inline
/// ones, annotations with events, links, statuses and dropped counts.
pub(crate) fn records() -> Vec<SpanRecord> {
    let carried = Carried {
        trace_state: vec![
            ("congo".into(), "t61rcWkgMzE".into()),
            ("rojo".into(), "00f".into()),
        ],
        baggage: vec![BaggageMember {
            key: "tenant".into(),
            value: "acme".into(),
            properties: String::new(),
        }],
        b3_debug: false,
    };
    let mut ok = Annotations::new(RecordingLimits {
        attributes: 8,
        events: 8,
        links: 8,
    });
    ok.set_status(Status::Ok);
    vec![
        record(
            0,
            (1, 0xfeed),
            true,
            every_value(),
            Some(annotations()),
            carried.clone(),
        ),
        record(1, (2, 1), false, vec![], None, Carried::default()),
        record(
            2,
            (3, 1),
            false,
            every_value()[..3].to_vec(),
            Some(ok),
            Carried::default(),
        ),
        record(3, (4, 0), false, every_value()[..4].to_vec(), None, carried),
        record(
            4,
            (5, 4),
            false,
            vec![KeyValue::new("tenant", "own")],
            None,
            Carried::default(),
        ),
        record(
            1,
            (6, 1),
            false,
            every_value(),
            Some(annotations()),
            Carried::default(),
        ),
    ]
}

pub(crate) fn resource() -> Resource {
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.name", "shop"),
            KeyValue::new("service.version", "9"),
            KeyValue::new("deployment.count", 3_i64),
        ])
        .build()
}
