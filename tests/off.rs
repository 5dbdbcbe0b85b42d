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
