//! Tests of the tree exporter.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, TraceFlags, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::*;
use crate::export::test_support::{block_on, internal_span, SharedBuf};

const TRACE: u128 = 0x2915_f2d4_dfa5_2f54_7782_1850_a3b9_e9ab;
/// 2026-11-21T22:24:54.238852Z
const T0: u64 = 1_795_299_894_238_852_000;

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(T0 + nanos)
}

/// A span of `trace` with id `id` and parent `parent` (0 for none), times in ns after T0.
fn span(trace: u128, id: u64, parent: u64, name: &'static str, start: u64, end: u64) -> SpanData {
    internal_span(trace, id, parent, name, at(start), at(end))
}

fn exporter() -> (TreeExporter, SharedBuf) {
    let buf = SharedBuf::default();
    let mut exporter = TreeExporter::with_writer(buf.clone());
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name("addsubtract")
            .build(),
    );
    (exporter, buf)
}

fn export(exporter: &TreeExporter, batch: Vec<SpanData>) {
    block_on(exporter.export(batch)).unwrap();
}

#[test]
fn prints_a_trace_as_a_tree_when_its_root_ends() {
    let (exporter, buf) = exporter();
    let root = span(TRACE, 1, 0, "addsubtract", 0, 1_230_000);
    let mut add = span(TRACE, 2, 1, "add", 10_000, 22_300);
    add.attributes = vec![KeyValue::new("a", 1), KeyValue::new("b", 2)];
    let mut subtract = span(TRACE, 3, 1, "subtract", 30_000, 38_100);
    subtract.span_kind = SpanKind::Client;
    let mut inner = span(TRACE, 4, 3, "inner", 31_000, 33_000);
    inner.attributes = vec![KeyValue::new("http.method", "GET")];
    let mut add_again = span(TRACE, 5, 1, "add", 40_000, 47_900);
    add_again.status = Status::error("overflow");
    add_again.events.events.push(Event::new(
        "retry",
        at(41_000),
        vec![KeyValue::new("attempt", 2)],
        0,
    ));
    // An unrelated trace's span in between must neither print nor disturb this one.
    let other = span(7, 9, 8, "elsewhere", 0, 1);

    // End order: children first, the last sibling before the middle one, over two calls.
    export(&exporter, vec![add, inner, other, add_again]);
    export(&exporter, vec![subtract]);
    assert_eq!(buf.drain(), "", "nothing prints before the root ends");
    export(&exporter, vec![root]);
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
addsubtract  1.23ms
├─ add  12.3µs  at +10.0µs  a=1 b=2
├─ subtract  8.10µs  at +30.0µs  [client]
│  └─ inner  2.00µs  at +31.0µs  http.method=\"GET\"
└─ add  7.90µs  at +40.0µs  ERROR: overflow
      • retry  +1.00µs  attempt=2
";
    assert_eq!(buf.drain(), expected);
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 1);
}

#[test]
fn values_events_and_names_stay_on_one_line() {
    let (exporter, buf) = exporter();
    let mut root = span(TRACE, 1, 0, "multi\nline", 0, 500);
    root.span_kind = SpanKind::Server;
    root.attributes = vec![
        KeyValue::new("ratio", 1.0),
        KeyValue::new("ok", true),
        KeyValue::new("text", "héllo\n\"x\""),
        KeyValue::new("ids", Value::Array(Array::I64(vec![1, 2]))),
        KeyValue::new("flags", Value::Array(Array::Bool(vec![true]))),
        KeyValue::new("xs", Value::Array(Array::F64(vec![1.0, 0.5]))),
        KeyValue::new(
            "tags",
            Value::Array(Array::String(vec!["a".into(), "b c".into()])),
        ),
    ];
    root.status = Status::error("");
    root.events
        .events
        .push(Event::new("exception", at(250), Vec::new(), 0));
    export(&exporter, vec![root]);
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
multi\\nline  500ns  [server]  ratio=1.0 ok=true text=\"héllo\\n\\\"x\\\"\" ids=[1, 2] flags=[true] xs=[1.0, 0.5] tags=[\"a\", \"b c\"]  ERROR
   • exception  +250ns
";
    assert_eq!(buf.drain(), expected);
}

#[test]
fn remote_parent_makes_a_local_root_and_late_children_print_alone() {
    let (exporter, buf) = exporter();
    let child = span(TRACE, 2, 1, "handler", 100, 200);
    let mut entry = span(TRACE, 1, 0xabc, "GET /", 0, 1_000);
    entry.parent_span_is_remote = true;
    export(&exporter, vec![child, entry]);
    assert_eq!(
        buf.drain(),
        "trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z\n\
             GET /  1.00µs\n\
             └─ handler  100ns  at +100ns\n"
    );

    // A spawned task outliving its parent: its own subtree prints as soon as it ends.
    let grandchild = span(TRACE, 4, 3, "write", 2_000, 3_000);
    let late = span(TRACE, 3, 1, "background", 1_500, 5_000);
    export(&exporter, vec![grandchild, late]);
    assert_eq!(
        buf.drain(),
        "trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z\n\
             background  3.50µs  (parent already printed)\n\
             └─ write  1.00µs  at +500ns\n"
    );
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 0);
}

#[test]
fn flush_prints_orphans_in_the_order_their_traces_started() {
    let (exporter, buf) = exporter();
    export(
        &exporter,
        vec![
            span(TRACE, 3, 2, "leaf", 20, 30),
            span(2, 5, 4, "other", 0, 10),
            span(TRACE, 2, 1, "middle", 10, 40),
            span(TRACE, 6, 1, "sibling", 50, 60),
        ],
    );
    assert_eq!(buf.drain(), "");
    exporter.force_flush().unwrap();
    let expected = "\
trace 00000000000000000000000000000002  service=addsubtract  22:24:54.238Z
other  10ns  (parent not ended)
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
middle  30ns  (parent not ended)
└─ leaf  10ns  at +10ns
sibling  10ns  at +40ns  (parent not ended)
";
    assert_eq!(buf.drain(), expected);
    exporter.force_flush().unwrap();
    assert_eq!(buf.drain(), "", "a flush empties the buffer");
}

#[test]
fn overflow_prints_the_oldest_trace_as_it_is() {
    let (exporter, buf) = exporter();
    let exporter = exporter.with_max_buffered_spans(3);
    export(
        &exporter,
        vec![
            span(1, 11, 10, "a1", 0, 1),
            span(2, 21, 20, "b1", 0, 1),
            span(1, 12, 10, "a2", 2, 3),
        ],
    );
    assert_eq!(buf.drain(), "");
    export(&exporter, vec![span(2, 22, 20, "b2", 0, 1)]);
    let expected = "\
trace 00000000000000000000000000000001  service=addsubtract  22:24:54.238Z
a1  1ns  (parent not ended)
a2  1ns  at +2ns  (parent not ended)
";
    assert_eq!(buf.drain(), expected);
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 2);
}

#[test]
fn buffer_never_holds_more_than_the_default_cap() {
    let (exporter, buf) = exporter();
    // 10 traces of 500 spans whose common parent never ends: 5000 spans in all.
    for trace in 1..=10u128 {
        let batch = (1..=500u64)
            .map(|id| span(trace, id, 1_000, "orphan", id, id + 1))
            .collect();
        export(&exporter, batch);
        assert!(exporter.buffer.lock().unwrap().buffered <= DEFAULT_MAX_BUFFERED_SPANS);
    }
    let printed = buf.drain();
    // 5000 - 4096 = 904 spans had to go: the first two traces, oldest first.
    assert_eq!(printed.matches(NOTE_PARENT_NOT_ENDED).count(), 1_000);
    assert!(printed.starts_with("trace 00000000000000000000000000000001"));
    assert_eq!(printed.matches("\ntrace ").count(), 1);
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 4_000);

    exporter.shutdown().unwrap();
    assert_eq!(buf.drain().matches(NOTE_PARENT_NOT_ENDED).count(), 4_000);
    assert!(matches!(
        block_on(exporter.export(vec![span(1, 1, 0, "late", 0, 1)])),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert_eq!(buf.drain(), "");
}

#[test]
fn write_failure_is_an_error_not_a_panic() {
    // A zero-length buffer refuses every byte.
    let exporter = TreeExporter::with_writer(io::Cursor::new([0u8; 0]));
    match block_on(exporter.export(vec![span(TRACE, 1, 0, "root", 0, 1)])) {
        Err(OTelSdkError::InternalFailure(message)) => assert!(message.contains("write")),
        other => panic!("expected InternalFailure, got {other:?}"),
    }
    assert!(format!("{exporter:?}").contains("buffered_spans: 0"));
}

#[test]
fn spans_from_the_sdk_pipeline_print_as_a_tree() {
    let buf = SharedBuf::default();
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name("tree-test").build())
        .with_simple_exporter(TreeExporter::with_writer(buf.clone()))
        .build();
    let tracer = provider.tracer("test");
    tracer.in_span("outer", |_| {
        tracer.in_span("first", |_| tracer.in_span("nested", |_| ()));
        tracer.in_span("second", |_| ());
    });
    provider.shutdown().unwrap();

    let printed = buf.drain();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 5, "{printed}");
    assert!(lines[0].starts_with("trace ") && lines[0].contains("  service=tree-test  "));
    let shapes = ["outer  ", "├─ first  ", "│  └─ nested  ", "└─ second  "];
    for (line, shape) in lines[1..].iter().zip(shapes) {
        assert!(
            line.starts_with(shape),
            "{line:?} should start with {shape:?}"
        );
    }
}

#[test]
fn children_after_their_root_in_one_call_print_under_it() {
    let (exporter, buf) = exporter();
    // The root's thread was drained before its children's threads.
    export(
        &exporter,
        vec![
            span(TRACE, 1, 0, "handler", 0, 900),
            span(TRACE, 3, 1, "child", 200, 400),
            span(TRACE, 2, 1, "child", 100, 300),
        ],
    );
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
handler  900ns
├─ child  200ns  at +100ns
└─ child  200ns  at +200ns
";
    assert_eq!(buf.drain(), expected);
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 0);
}

#[test]
fn in_pipeline_rounds_children_in_a_later_call_print_under_their_root() {
    let (exporter, buf) = exporter();
    exporter.wait_for_pipeline_rounds();
    export(&exporter, vec![span(TRACE, 1, 0, "handler", 0, 900)]);
    export(&exporter, vec![span(TRACE, 2, 1, "child", 100, 300)]);
    export(
        &exporter,
        vec![
            span(TRACE, 4, 3, "query", 250, 350),
            span(TRACE, 3, 1, "child", 200, 400),
        ],
    );
    assert_eq!(buf.drain(), "", "a root waits for the end of the round");
    exporter.end_round().unwrap();
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
handler  900ns
├─ child  200ns  at +100ns
└─ child  200ns  at +200ns
   └─ query  100ns  at +250ns
";
    assert_eq!(buf.drain(), expected);
    exporter.end_round().unwrap();
    assert_eq!(buf.drain(), "", "a round prints each trace once");
    assert_eq!(exporter.buffer.lock().unwrap().buffered, 0);
}

#[test]
fn a_child_arriving_after_its_root_was_printed_prints_alone_and_says_so() {
    let (exporter, buf) = exporter();
    exporter.wait_for_pipeline_rounds();
    export(&exporter, vec![span(TRACE, 1, 0, "handler", 0, 900)]);
    exporter.end_round().unwrap();
    assert_eq!(
        buf.drain(),
        "trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z\n\
         handler  900ns\n"
    );
    // Two detached tasks that outlived the handler: one header for both.
    export(
        &exporter,
        vec![
            span(TRACE, 2, 1, "detached", 100, 2_000),
            span(TRACE, 3, 1, "detached", 150, 2_100),
        ],
    );
    exporter.end_round().unwrap();
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
detached  1.90µs  (parent already printed)
detached  1.95µs  at +50ns  (parent already printed)
";
    assert_eq!(buf.drain(), expected);
}

#[test]
fn waiting_roots_count_toward_the_cap_and_overflow_prints_them_whole() {
    let (exporter, buf) = exporter();
    let exporter = exporter.with_max_buffered_spans(2);
    exporter.wait_for_pipeline_rounds();
    export(
        &exporter,
        vec![
            span(TRACE, 2, 1, "child", 100, 300),
            span(TRACE, 1, 0, "root", 0, 900),
        ],
    );
    assert_eq!(buf.drain(), "");
    export(&exporter, vec![span(5, 9, 8, "orphan", 0, 1)]);
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
root  900ns
└─ child  200ns  at +100ns
";
    assert_eq!(buf.drain(), expected);
    exporter.end_round().unwrap();
    assert_eq!(buf.drain(), "", "the evicted root is no longer waiting");
    assert!(exporter.buffer.lock().unwrap().ready.is_empty());
}

#[test]
fn links_print_on_their_own_lines_like_events() {
    let (exporter, buf) = exporter();
    let mut root = span(TRACE, 1, 0, "batch", 0, 1_000);
    let state = TraceState::from_key_value([("vendor", "x1")]).unwrap();
    let linked = SpanContext::new(
        TraceId::from(0x7c1f),
        SpanId::from(0x5f3d),
        TraceFlags::SAMPLED,
        true,
        state,
    );
    root.links
        .links
        .push(Link::new(linked, vec![KeyValue::new("reason", "retry")], 0));
    let mut child = span(TRACE, 2, 1, "item", 100, 200);
    let same_trace = SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(7),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    child.links.links.push(Link::with_context(same_trace));
    export(&exporter, vec![child, root]);
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
batch  1.00µs
│  → link 00000000000000000000000000007c1f/0000000000005f3d  tracestate=\"vendor=x1\"  reason=\"retry\"
└─ item  100ns  at +100ns
      → link 2915f2d4dfa52f5477821850a3b9e9ab/0000000000000007
";
    assert_eq!(buf.drain(), expected);
}

#[test]
fn parallel_children_show_the_same_start_and_sequential_ones_follow_each_other() {
    let (exporter, buf) = exporter();
    export(
        &exporter,
        vec![
            span(TRACE, 3, 1, "fetch b", 1_000_000, 5_000_000),
            span(TRACE, 2, 1, "fetch a", 1_000_000, 4_000_000),
            span(TRACE, 4, 1, "merge", 5_000_000, 6_000_000),
            span(TRACE, 1, 0, "request", 0, 6_500_000),
        ],
    );
    let expected = "\
trace 2915f2d4dfa52f5477821850a3b9e9ab  service=addsubtract  22:24:54.238Z
request  6.50ms
├─ fetch b  4.00ms  at +1.00ms
├─ fetch a  3.00ms  at +1.00ms
└─ merge  1.00ms  at +5.00ms
";
    assert_eq!(buf.drain(), expected);
}

#[test]
fn trees_of_one_round_print_in_the_order_their_traces_started() {
    let (exporter, buf) = exporter();
    exporter.wait_for_pipeline_rounds();
    // The later trace's root ended first.
    export(&exporter, vec![span(9, 1, 0, "later", 5_000, 6_000)]);
    export(&exporter, vec![span(TRACE, 1, 0, "earlier", 0, 9_000)]);
    exporter.end_round().unwrap();
    let text = buf.drain();
    let roots: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with("trace "))
        .collect();
    assert_eq!(roots, ["earlier  9.00µs", "later  1.00µs"], "{text}");
}
