//! With no pipeline installed, instrumented code runs unchanged and records
//! nothing.

use traced::{span, traced, Span};
use traced_tests::{capture, names};

#[traced]
fn work(n: u32) -> u32 {
    assert!(
        Span::current().is_none(),
        "no span exists without a pipeline"
    );
    assert!(!Span::current().is_recording());
    span!("inner", { n + 1 })
}

#[test]
fn nothing_is_recorded_before_a_pipeline_is_installed() {
    let lock = traced_tests::lock();
    assert_eq!(work(1), 2);
    let guard = span!("guard");
    assert!(!guard.is_recording());
    assert!(guard.span().is_none());
    drop(guard);
    drop(lock);

    // A pipeline installed afterwards sees only what runs while installed.
    let ((), spans) = capture(|| ());
    assert!(spans.is_empty());
}

#[test]
fn spans_stop_when_the_pipeline_is_dropped() {
    #[traced]
    fn traced_call() {}
    let ((), spans) = capture(traced_call);
    assert_eq!(names(&spans), ["traced_call"]);
    // capture() dropped the pipeline: this call is not recorded anywhere.
    let _lock = traced_tests::lock();
    traced_call();
    assert!(Span::current().is_none());
}

fn not_evaluated() -> i64 {
    panic!("attribute values are not evaluated without a pipeline")
}

/// A service that installs no tracing, between two that do.
#[traced(kind = server, parent = incoming, attrs(evaluated = not_evaluated()))]
fn relay(
    incoming: &std::collections::HashMap<String, String>,
) -> std::collections::HashMap<String, String> {
    assert!(!Span::current().is_recording());
    let mut outgoing = std::collections::HashMap::new();
    span!("downstream call", kind: client, {
        traced::propagation::inject(&mut outgoing);
    });
    outgoing
}

#[test]
fn without_a_pipeline_an_extracted_parent_is_passed_on_unchanged() {
    let _lock = traced_tests::lock();
    traced::propagation::set_propagators(&[traced::propagation::Propagator::TraceContext]);
    for traceparent in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    ] {
        let incoming =
            std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        let outgoing = relay(&incoming);
        assert_eq!(
            outgoing.get("traceparent").map(String::as_str),
            Some(traceparent),
            "the trace goes on through a service that records nothing"
        );
        // The same in a block, and nothing is left current afterwards.
        let mut from_block = std::collections::HashMap::new();
        span!("handler", parent: traced::propagation::extract(&incoming), {
            traced::propagation::inject(&mut from_block);
        });
        assert_eq!(from_block, outgoing);
        assert!(Span::current().is_none());
    }
    // No incoming context: nothing to pass on.
    assert!(relay(&std::collections::HashMap::new()).is_empty());
    // Baggage goes on with the trace.
    traced::propagation::set_propagators(&[
        traced::propagation::Propagator::TraceContext,
        traced::propagation::Propagator::Baggage,
    ]);
    let incoming = std::collections::HashMap::from([
        (
            "traceparent".to_owned(),
            "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        ),
        ("baggage".to_owned(), "tenant=acme".to_owned()),
    ]);
    assert_eq!(
        relay(&incoming).get("baggage").map(String::as_str),
        Some("tenant=acme")
    );
}

fn not_evaluated_name() -> String {
    panic!("span names made at run time are not evaluated without a pipeline")
}

#[test]
fn a_name_made_at_run_time_is_not_evaluated_without_a_pipeline() {
    let _lock = traced_tests::lock();
    assert_eq!(span!(not_evaluated_name(), { 5 }), 5);
}
