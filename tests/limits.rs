//! Span limits: what a span keeps of its attributes, events and links, the
//! dropped counts it reports, and long strings cut to length. A global
//! allocator counts the bytes each thread holds, to show that a span in
//! progress stops growing at the limits.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use traced::export::MemoryExporter;
use traced::{span, traced, Context, Span, SpanLimits};
use traced_tests::{attribute, capture, lock, one};

struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap()
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(signed(layout.size()));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-signed(layout.size()));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(signed(new_size) - signed(layout.size()));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

/// Like [`capture`], with the pipeline installed under `limits`.
fn capture_with(limits: SpanLimits, f: impl FnOnce()) -> Vec<SpanData> {
    let _lock = lock();
    let (exporter, spans) = MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_simple_processor()
        .with_span_limits(limits)
        .install();
    f();
    drop(guard);
    spans.spans()
}

/// The keys of `attributes`, in order.
fn keys(attributes: &[KeyValue]) -> Vec<String> {
    attributes.iter().map(|kv| kv.key.to_string()).collect()
}

/// `k0`, `k1`, ... up to `k{n-1}`.
fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i}")).collect()
}

#[test]
fn two_hundred_attributes_keep_the_first_128_and_count_72() {
    let ((), spans) = capture(|| {
        span!("through the handle", {
            for i in 0..200 {
                Span::current().set_attribute(format!("k{i}"), i);
            }
        });
        let mut guard = span!("through the guard");
        for i in 0..200 {
            guard.set_attribute(format!("k{i}"), i);
        }
    });
    for name in ["through the handle", "through the guard"] {
        let span = one(&spans, name);
        assert_eq!(keys(&span.attributes), numbered(128), "{name}");
        assert_eq!(span.dropped_attributes_count, 72, "{name}");
    }
}

#[test]
fn guard_and_handle_attributes_share_one_limit() {
    let ((), spans) = capture(|| {
        let mut guard = span!("both");
        for i in 0..100 {
            guard.set_attribute(format!("g{i}"), i);
        }
        for i in 0..100 {
            Span::current().set_attribute(format!("h{i}"), i);
        }
    });
    let span = one(&spans, "both");
    assert_eq!(span.attributes.len(), 128);
    assert_eq!(span.dropped_attributes_count, 72);
    assert_eq!(attribute(span, "g99"), Some(&Value::I64(99)));
    assert_eq!(attribute(span, "h27"), Some(&Value::I64(27)));
    assert_eq!(attribute(span, "h28"), None);
}

#[test]
fn the_batch_worker_applies_the_limits_too() {
    let _lock = lock();
    let (guard, spans) = traced_tests::batch_pipeline(traced::BatchConfig::default());
    span!("batched", {
        for i in 0..200 {
            Span::current().set_attribute(format!("k{i}"), i);
        }
        for i in 0..130 {
            Span::current().add_event(format!("e{i}"), []);
        }
    });
    assert!(guard.flush());
    drop(guard);
    let spans = spans.spans();
    let span = one(&spans, "batched");
    assert_eq!(
        (span.attributes.len(), span.dropped_attributes_count),
        (128, 72)
    );
    assert_eq!(
        (span.events.events.len(), span.events.dropped_count),
        (128, 2)
    );
}

#[test]
fn two_hundred_events_keep_the_first_128_and_count_72() {
    let ((), spans) = capture(|| {
        span!("chatty", {
            for i in 0..200 {
                Span::current().add_event(format!("e{i}"), [KeyValue::new("i", i)]);
            }
        });
    });
    let span = one(&spans, "chatty");
    let names: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
    let expected: Vec<String> = (0..128).map(|i| format!("e{i}")).collect();
    assert_eq!(names, expected);
    assert_eq!(span.events.dropped_count, 72);
}

#[test]
fn event_attributes_past_the_limit_are_dropped_and_counted() {
    let ((), spans) = capture(|| {
        span!("wide event", {
            let attributes = (0..200).map(|i| KeyValue::new(format!("k{i}"), i));
            Span::current().add_event("wide", attributes);
            Span::current().add_event("narrow", [KeyValue::new("k", 1)]);
        });
    });
    let events = &one(&spans, "wide event").events.events;
    assert_eq!(keys(&events[0].attributes), numbered(128));
    assert_eq!(events[0].dropped_attributes_count, 72);
    assert_eq!(events[1].attributes.len(), 1);
    assert_eq!(events[1].dropped_attributes_count, 0);

    let limits = SpanLimits {
        max_attributes_per_event: 2,
        ..SpanLimits::default()
    };
    let spans = capture_with(limits, || {
        span!("narrowed", {
            let attributes = (0..5).map(|i| KeyValue::new(format!("k{i}"), i));
            Span::current().add_event("e", attributes);
        });
    });
    let event = &one(&spans, "narrowed").events.events[0];
    assert_eq!(keys(&event.attributes), numbered(2));
    assert_eq!(event.dropped_attributes_count, 3);
}

#[traced(links(a, b, c))]
fn linked(a: &Context, b: &Context, c: &Context) {}

#[test]
fn links_past_the_limit_are_dropped_and_counted() {
    let limits = SpanLimits {
        max_links_per_span: 2,
        ..SpanLimits::default()
    };
    let spans = capture_with(limits, || {
        let targets = ["a", "b", "c"].map(|name| span!(name, { Context::current() }));
        linked(&targets[0], &targets[1], &targets[2]);
    });
    let span = one(&spans, "linked");
    let linked_ids: Vec<_> = span
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    let first_two = [one(&spans, "a"), one(&spans, "b")].map(|s| s.span_context.span_id());
    assert_eq!(linked_ids, first_two);
    assert_eq!(span.links.dropped_count, 1);
}

#[test]
fn long_strings_are_cut_to_the_limit_in_characters() {
    let limits = SpanLimits {
        max_attribute_value_length: Some(3),
        ..SpanLimits::default()
    };
    let spans = capture_with(limits, || {
        let mut guard = span!("long", ascii = "abcdef", short = "ab", n = 123_456_789);
        guard.set_attribute("accents", "héllo");
        guard.set_attribute("emoji", "😀😀😀😀");
        Span::current().set_attribute("array", ["abcdef", "ü", "€€€€"]);
        Span::current().set_attribute("numbers", [1_234_567_i64, 2]);
        Span::current().add_event("event", [KeyValue::new("text", "wörds")]);
    });
    let span = one(&spans, "long");
    let value = |key| attribute(span, key).cloned();
    assert_eq!(value("ascii"), Some(Value::from("abc")));
    assert_eq!(value("short"), Some(Value::from("ab")));
    assert_eq!(value("n"), Some(Value::I64(123_456_789)));
    assert_eq!(value("accents"), Some(Value::from("hél")));
    assert_eq!(value("emoji"), Some(Value::from("😀😀😀")));
    let strings: Vec<StringValue> = vec!["abc".into(), "ü".into(), "€€€".into()];
    assert_eq!(value("array"), Some(Value::Array(Array::String(strings))));
    let numbers = Value::Array(Array::I64(vec![1_234_567, 2]));
    assert_eq!(value("numbers"), Some(numbers));
    let event = &span.events.events[0];
    assert_eq!(event.attributes, [KeyValue::new("text", "wör")]);
    assert_eq!(span.dropped_attributes_count, 0, "cutting is not dropping");
}

#[test]
fn strings_are_kept_whole_without_a_length_limit() {
    let long = "ü".repeat(100_000);
    let ((), spans) = capture(|| span!("whole", text = long.as_str(), {}));
    let span = one(&spans, "whole");
    assert_eq!(attribute(span, "text"), Some(&Value::from(long)));
}

#[test]
fn updating_a_kept_key_when_full_still_updates() {
    let ((), spans) = capture(|| {
        let mut guard = span!("full");
        for i in 0..128 {
            guard.set_attribute(format!("k{i}"), i);
        }
        guard.set_attribute("new", 1);
        guard.set_attribute("k0", "updated by the guard");
        Span::current().set_attribute("k127", "updated through the handle");
        Span::current().set_attribute("newer", 2);
    });
    let span = one(&spans, "full");
    assert_eq!(keys(&span.attributes), numbered(128));
    let value = |key| attribute(span, key).cloned();
    assert_eq!(value("k0"), Some(Value::from("updated by the guard")));
    assert_eq!(
        value("k127"),
        Some(Value::from("updated through the handle"))
    );
    assert_eq!(value("k1"), Some(Value::I64(1)));
    assert_eq!(span.dropped_attributes_count, 2, "`new` and `newer`");

    let ((), spans) = capture(|| {
        span!("full handle", {
            for i in 0..130 {
                Span::current().set_attribute(format!("k{i}"), i);
            }
            Span::current().set_attribute("k5", -5);
        });
    });
    let span = one(&spans, "full handle");
    assert_eq!(attribute(span, "k5"), Some(&Value::I64(-5)));
    assert_eq!(span.dropped_attributes_count, 2);
}

#[test]
fn many_calls_on_one_span_keep_memory_bounded_and_count_every_drop() {
    const CALLS: u32 = 20_000;
    let mut growth = Vec::new();
    let ((), spans) = capture(|| {
        let mut guard = span!("busy");
        for round in 0..2 {
            let before = live_bytes();
            for i in 0..CALLS / 2 {
                let i = round * CALLS / 2 + i;
                guard.set_attribute(format!("g{i}"), 1);
                Span::current().set_attribute(format!("h{i}"), 1);
                Span::current().add_event("tick", [KeyValue::new("i", i64::from(i))]);
            }
            growth.push(live_bytes() - before);
        }
    });
    // The first round fills the lists to their limits; the second one,
    // with the lists full, holds on to nothing.
    assert!(growth[0] < 1 << 20, "{growth:?}");
    assert!(growth[1] <= 0, "{growth:?}");
    let span = one(&spans, "busy");
    assert_eq!(span.attributes.len(), 128);
    assert_eq!(span.dropped_attributes_count, 2 * CALLS - 128);
    assert_eq!(span.events.len(), 128);
    assert_eq!(span.events.dropped_count, CALLS - 128);
}

#[test]
fn zero_limits_keep_nothing_and_count_everything() {
    let limits = SpanLimits {
        max_attributes_per_span: 0,
        max_events_per_span: 0,
        max_links_per_span: 0,
        max_attributes_per_event: 0,
        max_attributes_per_link: 0,
        max_attribute_value_length: Some(0),
    };
    let spans = capture_with(limits, || {
        span!("empty", a = 1, b = "two", {
            Span::current().set_attribute("c", 3);
            Span::current().add_event("e", []);
        });
    });
    let span = one(&spans, "empty");
    assert!(span.attributes.is_empty());
    assert_eq!(span.dropped_attributes_count, 3);
    assert!(span.events.is_empty());
    assert_eq!(span.events.dropped_count, 1);
}

#[test]
fn handles_used_from_other_threads_follow_the_installed_limits() {
    // Raised limits: nothing from the other thread is cut at 128.
    let raised = SpanLimits {
        max_attributes_per_span: 2000,
        ..SpanLimits::default()
    };
    let spans = capture_with(raised, || {
        span!("wide", {
            let span = Span::current();
            std::thread::spawn(move || {
                for i in 0..500 {
                    span.set_attribute(format!("remote.{i}"), i);
                }
            })
            .join()
            .unwrap();
            for i in 0..500 {
                Span::current().set_attribute(format!("local.{i}"), i);
            }
        });
    });
    let wide = one(&spans, "wide");
    assert_eq!(wide.attributes.len(), 1000);
    assert_eq!(wide.dropped_attributes_count, 0);

    // The default limit: what the other thread set past 128 is counted.
    let ((), spans) = capture(|| {
        span!("narrow", {
            let span = Span::current();
            std::thread::spawn(move || {
                for i in 0..200 {
                    span.set_attribute(format!("remote.{i}"), i);
                }
            })
            .join()
            .unwrap();
        });
    });
    let narrow = one(&spans, "narrow");
    assert_eq!(narrow.attributes.len(), 128);
    assert_eq!(narrow.dropped_attributes_count, 72);
}
