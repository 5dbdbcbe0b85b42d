//! Attributes, events and status: from `span!` arguments, from the current
//! span handle, and from errors and panics.

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use traced::{span, traced, Span};
use traced_tests::{attribute, capture, names, one};

#[test]
fn span_attributes_keep_their_types() {
    let user = String::from("ada");
    let items = [1, 2, 3];
    let ((), spans) = capture(|| {
        span!(
            "request",
            http.method = "GET",
            http.status_code = 200,
            user.name = user,
            items = items.len(),
            ratio = 0.5,
            cached = false,
            "custom key" = -7_i8,
            r#type = "raw",
            sizes = items,
            tags = ["a", "b"],
            {}
        );
    });
    let s = one(&spans, "request");
    assert_eq!(attribute(s, "http.method"), Some(&Value::from("GET")));
    assert_eq!(attribute(s, "http.status_code"), Some(&Value::I64(200)));
    assert_eq!(attribute(s, "user.name"), Some(&Value::from("ada")));
    assert_eq!(attribute(s, "items"), Some(&Value::I64(3)));
    assert_eq!(attribute(s, "ratio"), Some(&Value::F64(0.5)));
    assert_eq!(attribute(s, "cached"), Some(&Value::Bool(false)));
    assert_eq!(attribute(s, "custom key"), Some(&Value::I64(-7)));
    assert_eq!(attribute(s, "type"), Some(&Value::from("raw")));
    // Arrays, with the integer literals' default type.
    assert_eq!(
        attribute(s, "sizes"),
        Some(&Value::Array(vec![1_i64, 2, 3].into()))
    );
    assert_eq!(
        attribute(s, "tags"),
        Some(&Value::Array(
            vec![opentelemetry::StringValue::from("a"), "b".into()].into()
        ))
    );
    // The variables were borrowed, not moved.
    assert_eq!(user, "ada");
    assert_eq!(items.len(), 3);
}

#[test]
fn guard_form_takes_attributes_too() {
    let ((), spans) = capture(|| {
        let _span = span!("load", table = "users", limit = 10_u32);
    });
    let s = one(&spans, "load");
    assert_eq!(attribute(s, "table"), Some(&Value::from("users")));
    assert_eq!(attribute(s, "limit"), Some(&Value::I64(10)));
}

#[test]
fn option_names_quoted_are_attributes() {
    // `kind = client`, `parent = p` and `links = [..]` are refused in span!
    // (options take `:` there); the error says to quote the key instead.
    let ((), spans) = capture(|| {
        let _span = span!("job", "kind" = "batch", "parent" = 7_u32, "links" = 2_u32);
    });
    let s = one(&spans, "job");
    assert_eq!(s.span_kind, opentelemetry::trace::SpanKind::Internal);
    assert_eq!(attribute(s, "kind"), Some(&Value::from("batch")));
    assert_eq!(attribute(s, "parent"), Some(&Value::I64(7)));
    assert_eq!(attribute(s, "links"), Some(&Value::I64(2)));
    assert_eq!(s.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}

#[test]
fn attribute_expressions_are_not_evaluated_without_a_pipeline() {
    let _lock = traced_tests::lock();
    let mut evaluated = 0;
    let mut count = || {
        evaluated += 1;
        evaluated
    };
    span!("no pipeline", n = count(), {});
    assert_eq!(evaluated, 0);
}

#[test]
fn current_span_takes_attributes_events_and_status() {
    let ((), spans) = capture(|| {
        span!("work", {
            let span = Span::current();
            span.set_attribute("step", 1);
            span.set_attribute("step", 2); // the later value wins
            span.set_attribute("label", "x");
            span.add_event("cache.miss", [KeyValue::new("key", "user:1")]);
            span.add_event("retry", []);
            span.set_status(Status::Ok);
        });
    });
    let s = one(&spans, "work");
    assert_eq!(attribute(s, "step"), Some(&Value::I64(2)));
    assert_eq!(
        s.attributes
            .iter()
            .filter(|kv| kv.key.as_str() == "step")
            .count(),
        1
    );
    assert_eq!(attribute(s, "label"), Some(&Value::from("x")));
    let events = &s.events.events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].name, "cache.miss");
    assert_eq!(events[0].attributes, vec![KeyValue::new("key", "user:1")]);
    assert_eq!(events[1].name, "retry");
    assert!(events[0].timestamp >= s.start_time && events[1].timestamp <= s.end_time);
    assert!(events[0].timestamp <= events[1].timestamp);
    assert_eq!(s.status, Status::Ok);
}

#[test]
fn annotations_go_to_the_innermost_span_only() {
    let ((), spans) = capture(|| {
        span!("outer", {
            Span::current().set_attribute("level", "outer");
            let outer = Span::current();
            span!("inner", {
                Span::current().set_attribute("level", "inner");
                // A handle reaches its own span, wherever it is used.
                outer.set_attribute("through.handle", true);
            });
            Span::current().add_event("back in outer", []);
        });
    });
    let outer = one(&spans, "outer");
    let inner = one(&spans, "inner");
    assert_eq!(attribute(outer, "level"), Some(&Value::from("outer")));
    assert_eq!(attribute(inner, "level"), Some(&Value::from("inner")));
    assert_eq!(attribute(outer, "through.handle"), Some(&Value::Bool(true)));
    assert_eq!(attribute(inner, "through.handle"), None);
    assert_eq!(outer.events.events.len(), 1);
    assert!(inner.events.events.is_empty());
}

#[test]
fn annotating_with_nothing_current_is_harmless() {
    let ((), spans) = capture(|| {
        Span::current().set_attribute("k", 1);
        Span::current().add_event("e", []);
        Span::current().record_error(&std::fmt::Error);
    });
    assert!(spans.is_empty());
}

#[test]
fn record_error_adds_an_exception_event_and_error_status() {
    let ((), spans) = capture(|| {
        span!("parse", {
            let err = "x1".parse::<i32>().unwrap_err();
            Span::current().record_error(&err);
        });
    });
    let s = one(&spans, "parse");
    assert_eq!(
        s.status,
        Status::error("ParseIntError: invalid digit found in string")
    );
    let event = &s.events.events[0];
    assert_eq!(event.name, "exception");
    assert_eq!(
        event.attributes,
        vec![
            KeyValue::new("exception.type", "ParseIntError"),
            KeyValue::new("exception.message", "invalid digit found in string"),
        ]
    );
}

#[test]
fn status_ok_is_final_and_unset_does_not_override() {
    let ((), spans) = capture(|| {
        span!("a", {
            Span::current().set_status(Status::error("first"));
            Span::current().set_status(Status::Unset);
        });
        span!("b", {
            Span::current().set_status(Status::Ok);
            Span::current().set_status(Status::error("late"));
        });
    });
    assert_eq!(one(&spans, "a").status, Status::error("first"));
    assert_eq!(one(&spans, "b").status, Status::Ok);
}

#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it broke")
    }
}

impl std::error::Error for Broken {}

#[traced]
fn fails(fail: bool) -> std::io::Result<u8> {
    if fail {
        return Err(std::io::Error::other(Broken));
    }
    Ok(1)
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[traced]
fn boxed(fail: bool) -> Res<u8> {
    if fail {
        Err(Box::new(Broken))
    } else {
        Ok(2)
    }
}

#[derive(Debug)]
struct DebugOnly(#[allow(dead_code)] u8);

#[traced]
fn debug_only() -> Result<(), DebugOnly> {
    Err(DebugOnly(7))
}

#[test]
fn an_err_return_marks_the_span_error_whatever_the_spelling() {
    let ((), spans) = capture(|| {
        let _ = fails(true);
        let _ = fails(false);
        let _ = boxed(true);
        let _ = debug_only();
    });
    assert_eq!(names(&spans), ["fails", "fails", "boxed", "debug_only"]);
    assert_eq!(spans[0].status, Status::error("io::Error: it broke"));
    assert_eq!(spans[0].events.events[0].name, "exception");
    assert_eq!(
        spans[0].events.events[0].attributes[0],
        KeyValue::new("exception.type", "io::Error")
    );
    assert_eq!(spans[1].status, Status::Unset);
    assert!(spans[1].events.events.is_empty());
    assert!(
        matches!(&spans[2].status, Status::Error { description } if description.starts_with("Box<dyn Error") && description.ends_with(": it broke")),
        "{:?}",
        spans[2].status
    );
    assert_eq!(
        spans[3].events.events[0].attributes[1],
        KeyValue::new("exception.message", "DebugOnly(7)")
    );
}

#[test]
fn a_panic_marks_the_span_error_and_keeps_unwinding() {
    #[traced]
    fn explode() -> u8 {
        panic!("boom")
    }
    let (caught, spans) =
        capture(|| std::panic::catch_unwind(|| span!("outer", { explode() })).is_err());
    assert!(caught);
    assert_eq!(names(&spans), ["explode", "outer"]);
    for s in &spans {
        assert!(
            matches!(s.status, Status::Error { .. }),
            "{} status {:?}",
            s.name,
            s.status
        );
        assert_eq!(s.events.events[0].name, "exception");
    }
    assert!(
        Span::current().is_none(),
        "context restored after unwinding"
    );
}

#[traced]
fn impl_in_result(fail: bool) -> Result<impl std::fmt::Display, std::io::Error> {
    if fail {
        return Err(std::io::Error::other("no display"));
    }
    Ok(5)
}

#[test]
fn err_is_recorded_when_the_ok_type_is_an_impl_trait() {
    let ((), spans) = capture(|| {
        assert!(impl_in_result(true).is_err());
        assert_eq!(impl_in_result(false).unwrap().to_string(), "5");
    });
    assert!(
        matches!(&spans[0].status, Status::Error { description } if description.ends_with("no display"))
    );
    assert_eq!(spans[1].status, Status::Unset);
}

#[traced]
#[track_caller]
fn caller_line() -> u32 {
    std::panic::Location::caller().line()
}

#[test]
fn track_caller_still_sees_the_caller() {
    let ((seen, line), spans) = capture(|| (caller_line(), line!()));
    assert_eq!(seen, line);
    assert_eq!(names(&spans), ["caller_line"]);
}

#[test]
fn set_attribute_takes_every_attribute_value_type() {
    let ((), spans) = capture(|| {
        span!("values", {
            let span = Span::current();
            span.set_attribute("len", vec![1, 2, 3].len());
            span.set_attribute("big", u64::MAX);
            span.set_attribute("owned", String::from("s"));
            span.set_attribute("list", vec![1_i64, 2]);
        });
    });
    let s = one(&spans, "values");
    assert_eq!(attribute(s, "len"), Some(&Value::I64(3)));
    assert_eq!(
        attribute(s, "big"),
        Some(&Value::from(u64::MAX.to_string()))
    );
    assert_eq!(attribute(s, "owned"), Some(&Value::from("s")));
    assert_eq!(
        attribute(s, "list"),
        Some(&Value::Array(opentelemetry::Array::I64(vec![1, 2])))
    );
}
