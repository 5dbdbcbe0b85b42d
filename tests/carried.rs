//! What a request brought (trace state, baggage) belongs to that request's
//! context: its spans, tasks and threads see it and pass it on, and no
//! other request does, even one of the same trace served at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use traced::propagation::{self, Propagator};
use traced::{baggage, span, traced, Context, FutureExt, Span};
use traced_tests::{assert_child_of, capture, lock, one};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

type Headers = HashMap<String, String>;

fn w3c() {
    propagation::set_propagators(&[Propagator::TraceContext, Propagator::Baggage]);
}

/// A request of trace [`TRACE`] from parent span `parent` (1-based), with
/// the given `tracestate` and `baggage` (left out when empty).
fn request(parent: u64, tracestate: &str, baggage: &str) -> Headers {
    let mut headers = Headers::new();
    headers.insert("traceparent".into(), format!("00-{TRACE}-{parent:016x}-01"));
    if !tracestate.is_empty() {
        headers.insert("tracestate".into(), tracestate.into());
    }
    if !baggage.is_empty() {
        headers.insert("baggage".into(), baggage.into());
    }
    headers
}

/// What a service passes downstream while serving `incoming`: a server
/// span under the caller, a client span around the outgoing call. `wait`
/// runs between the two, so concurrent requests overlap there.
#[traced(kind = server, parent = incoming)]
fn serve(incoming: &Headers, wait: &dyn Fn()) -> Headers {
    wait();
    let mut outgoing = Headers::new();
    span!("call downstream", kind: client, {
        propagation::inject(&mut outgoing);
    });
    outgoing
}

#[test]
fn concurrent_requests_of_one_trace_on_threads_each_pass_on_their_own() {
    let ((alice, bob), spans) = capture(|| {
        w3c();
        let both_in = Arc::new(Barrier::new(2));
        let barrier = Arc::clone(&both_in);
        let alice = std::thread::spawn(move || {
            serve(&request(1, "vendor=a", "tenant=a,user=alice"), &|| {
                barrier.wait();
            })
        });
        let barrier = Arc::clone(&both_in);
        let bob = std::thread::spawn(move || {
            serve(&request(2, "", "tenant=b"), &|| {
                barrier.wait();
            })
        });
        (alice.join().unwrap(), bob.join().unwrap())
    });
    assert_eq!(alice["baggage"], "tenant=a,user=alice");
    assert_eq!(alice["tracestate"], "vendor=a");
    assert_eq!(bob["baggage"], "tenant=b");
    assert!(!bob.contains_key("tracestate"), "{bob:?}");
    assert_eq!(spans.len(), 4);
}

#[test]
fn a_later_request_of_the_trace_passes_on_nothing_an_earlier_one_brought() {
    let ((first, second), spans) = capture(|| {
        w3c();
        let first = serve(&request(1, "vendor=secret", "tenant=c"), &|| {});
        let second = serve(&request(2, "", ""), &|| {});
        (first, second)
    });
    assert_eq!(first["baggage"], "tenant=c");
    assert_eq!(first["tracestate"], "vendor=secret");
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        ["traceparent"],
        "nothing of the first request leaks: {second:?}"
    );
    // Exported spans carry their own request's trace state, and only that.
    let states: Vec<String> = spans
        .iter()
        .map(|s| s.span_context.trace_state().header())
        .collect();
    assert_eq!(states, ["vendor=secret", "vendor=secret", "", ""]);
}

#[test]
fn fifty_concurrent_tokio_requests_of_one_trace_each_pass_on_their_own() {
    let (results, spans) = capture(|| {
        w3c();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let tasks: Vec<_> = (1..=50_u64)
                .map(|i| {
                    let incoming = request(i, &format!("vendor=v{i}"), &format!("user=u{i}"));
                    tokio::spawn(async move {
                        let outgoing = handle_async(incoming).await;
                        (i, outgoing)
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        })
    });
    for (i, outgoing) in results {
        assert_eq!(outgoing["baggage"], format!("user=u{i}"));
        assert_eq!(outgoing["tracestate"], format!("vendor=v{i}"));
        assert!(outgoing["traceparent"].contains(TRACE));
    }
    assert_eq!(spans.len(), 100);
}

#[traced(kind = server, parent = &incoming)]
async fn handle_async(incoming: Headers) -> Headers {
    // Other requests run on this thread while this one waits.
    tokio::time::sleep(Duration::from_millis(2)).await;
    tokio::task::yield_now().await;
    let mut outgoing = Headers::new();
    span!("call downstream", kind: client, async {
        tokio::task::yield_now().await;
        propagation::inject(&mut outgoing);
    })
    .await;
    outgoing
}

#[test]
fn children_threads_and_tasks_of_a_request_see_its_baggage() {
    let (seen, _spans) = capture(|| {
        w3c();
        span!("handle", kind: server, parent: propagation::extract(&request(1, "", "tenant=acme")), {
            let in_child = span!("child", { baggage::get("tenant") });
            let on_thread = traced::spawn(|| baggage::get("tenant")).join().unwrap();
            let context = Context::current();
            let in_scope = std::thread::spawn(move || context.in_scope(|| baggage::get("tenant")))
                .join()
                .unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let in_task = runtime.block_on(async {
                tokio::spawn(async { baggage::get("tenant") }.in_current_span())
                    .await
                    .unwrap()
            });
            [in_child, on_thread, in_scope, in_task]
        })
    });
    assert_eq!(seen, [(); 4].map(|()| Some("acme".to_owned())));
}

#[test]
fn a_baggage_scope_adds_and_removes_entries_for_its_own_extent_only() {
    let ((inside, without, after), _spans) = capture(|| {
        w3c();
        span!("handle", kind: server, parent: propagation::extract(&request(1, "", "tenant=acme,debug=1")), {
            let mut inside = Headers::new();
            baggage::scope([("user.id", "u1"), ("tenant", "other")], || {
                span!("call", kind: client, { propagation::inject(&mut inside) });
            });
            let mut without = Headers::new();
            baggage::scope_without("debug", || propagation::inject(&mut without));
            let mut after = Headers::new();
            propagation::inject(&mut after);
            (inside, without, after)
        })
    });
    assert_eq!(inside["baggage"], "tenant=other,debug=1,user.id=u1");
    assert_eq!(without["baggage"], "tenant=acme");
    assert_eq!(after["baggage"], "tenant=acme,debug=1");
}

#[test]
fn baggage_set_for_a_future_follows_it_and_stays_out_of_other_tasks() {
    let _lock = lock();
    w3c();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let seen = runtime.block_on(async {
        let with = async {
            tokio::task::yield_now().await;
            baggage::get("user.id")
        }
        .with_context(Context::current().with_baggage("user.id", "u7"));
        let plain = async {
            tokio::task::yield_now().await;
            baggage::get("user.id")
        };
        let with = tokio::spawn(with);
        let plain = tokio::spawn(plain);
        (with.await.unwrap(), plain.await.unwrap())
    });
    assert_eq!(seen, (Some("u7".to_owned()), None));
    assert_eq!(baggage::current().len(), 0, "nothing left on this thread");
}

#[test]
fn a_span_updates_its_own_trace_state_entry_for_its_children_and_export() {
    let ((child_sees, parent_after), spans) = capture(|| {
        w3c();
        span!("handle", kind: server, parent: propagation::extract(&request(1, "other=1,ours=old", "")), {
            let child_sees = span!("update", {
                assert!(Span::current().set_trace_state("ours", "new"));
                assert!(!Span::current().set_trace_state("Bad Key", "v"), "refused");
                let mut outgoing = Headers::new();
                span!("call", kind: client, { propagation::inject(&mut outgoing) });
                outgoing["tracestate"].clone()
            });
            let mut after = Headers::new();
            propagation::inject(&mut after);
            (child_sees, after["tracestate"].clone())
        })
    });
    assert_eq!(
        child_sees, "ours=new,other=1",
        "the updated key moves first"
    );
    assert_eq!(parent_after, "other=1,ours=old", "the parent keeps its own");
    let state = |name: &str| one(&spans, name).span_context.trace_state().header();
    assert_eq!(state("update"), "ours=new,other=1");
    assert_eq!(state("call"), "ours=new,other=1");
    assert_eq!(state("handle"), "other=1,ours=old");
}

#[test]
fn a_handle_that_is_not_current_cannot_change_the_trace_state() {
    let (changed, _spans) = capture(|| {
        span!("outer", {
            let outer = Span::current();
            span!("inner", { outer.set_trace_state("ours", "x") })
        })
    });
    assert!(!changed);
}

#[test]
fn an_opentelemetry_context_as_parent_brings_its_baggage_and_trace_state() {
    let (outgoing, spans) = capture(|| {
        w3c();
        let span_context = opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from_hex(TRACE).unwrap(),
            opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            "vendor=otel".parse().unwrap(),
        );
        let parent = opentelemetry::Context::new()
            .with_remote_span_context(span_context)
            .with_baggage([opentelemetry::KeyValue::new("tenant", "otel")]);
        span!("under otel", parent: parent, {
            let mut outgoing = Headers::new();
            propagation::inject(&mut outgoing);
            outgoing
        })
    });
    assert_eq!(outgoing["baggage"], "tenant=otel");
    assert_eq!(outgoing["tracestate"], "vendor=otel");
    let span = one(&spans, "under otel");
    assert_eq!(span.span_context.trace_state().header(), "vendor=otel");
}

#[test]
fn the_context_handed_to_opentelemetry_carries_baggage_and_trace_state() {
    let (otel, spans) = capture(|| {
        w3c();
        span!("handle", kind: server, parent: propagation::extract(&request(1, "vendor=a", "tenant=t;ttl=60")), {
            Context::current().to_opentelemetry()
        })
    });
    let handle = one(&spans, "handle");
    let span = otel.span();
    assert_eq!(span.span_context().span_id(), handle.span_context.span_id());
    assert_eq!(span.span_context().trace_state().header(), "vendor=a");
    let entry = otel.baggage().get_with_metadata("tenant").unwrap();
    assert_eq!(entry.0.as_str(), "t");
    assert_eq!(entry.1.as_str(), "ttl=60");
    // And back: a span under it is a child of "handle", with the same data.
    let (outgoing, spans) = capture(|| {
        span!("again", parent: otel, {
            let mut outgoing = Headers::new();
            propagation::inject(&mut outgoing);
            outgoing
        })
    });
    assert_eq!(outgoing["baggage"], "tenant=t;ttl=60");
    assert_eq!(
        one(&spans, "again").parent_span_id,
        handle.span_context.span_id()
    );
}

#[test]
fn without_a_pipeline_a_request_still_passes_on_exactly_its_own_data() {
    let _lock = lock();
    w3c();
    let first = serve(&request(1, "vendor=a", "tenant=a"), &|| {});
    let second = serve(&request(2, "", "tenant=b"), &|| {});
    assert_eq!(first["baggage"], "tenant=a");
    assert_eq!(first["tracestate"], "vendor=a");
    assert_eq!(first["traceparent"], format!("00-{TRACE}-{:016x}-01", 1));
    assert_eq!(second["baggage"], "tenant=b");
    assert!(!second.contains_key("tracestate"));
}

#[test]
fn inject_baggage_keeps_its_entries_for_the_rest_of_the_span_only() {
    let ((first, later, after), spans) = capture(|| {
        w3c();
        span!("handle", kind: server, parent: propagation::extract(&request(1, "", "tenant=acme")), {
            let (first, later) = span!("work", {
                let mut first = Headers::new();
                propagation::inject_baggage([("user", "u1")], &mut first);
                let mut later = Headers::new();
                span!("call", kind: client, { propagation::inject(&mut later) });
                (first, later)
            });
            let mut after = Headers::new();
            propagation::inject(&mut after);
            (first, later, after)
        })
    });
    assert_eq!(first["baggage"], "tenant=acme,user=u1");
    assert_eq!(later["baggage"], "tenant=acme,user=u1");
    assert_eq!(after["baggage"], "tenant=acme", "gone with the span");
    assert_child_of(one(&spans, "call"), one(&spans, "work"));
}

#[test]
fn chosen_baggage_entries_become_attributes_of_every_span() {
    let _lock = lock();
    w3c();
    let (exporter, spans) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_baggage_attributes(["tenant", "missing"])
        .install();
    span!("handle", kind: server, parent: propagation::extract(&request(1, "", "tenant=acme,user=alice")), {
        span!("own", tenant = "set.by.span", {});
        baggage::scope([("tenant", "inner")], || span!("scoped", {}));
    });
    span!("no baggage", {});
    drop(guard);
    let spans = spans.spans();
    let tenant =
        |name: &str| traced_tests::attribute(one(&spans, name), "tenant").map(ToString::to_string);
    assert_eq!(tenant("handle").as_deref(), Some("acme"));
    assert_eq!(
        tenant("own").as_deref(),
        Some("set.by.span"),
        "the span's own wins"
    );
    assert_eq!(tenant("scoped").as_deref(), Some("inner"));
    assert_eq!(tenant("no baggage"), None);
    assert!(
        traced_tests::attribute(one(&spans, "handle"), "user").is_none(),
        "only the chosen keys"
    );
    assert!(traced_tests::attribute(one(&spans, "handle"), "missing").is_none());
}
