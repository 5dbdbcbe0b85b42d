//! Names, ids, parent links and timing of spans from `#[traced]` and `span!`.

use std::collections::HashSet;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use traced::{span, traced, Span};
use traced_tests::{assert_child_of, assert_root, capture, names, one};

#[traced]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[traced("minus")]
fn subtract(a: i64, b: i64) -> i64 {
    a - b
}

#[traced(name = "times")]
fn multiply(a: i64, b: i64) -> i64 {
    a * b
}

#[test]
fn the_seed_program_gives_four_spans_in_one_trace() {
    let (result, spans) = capture(|| {
        span!("addsubtract", {
            let s = add(1, 2);
            let s = subtract(s, 4);
            add(s, 5)
        })
    });
    assert_eq!(result, 4);
    assert_eq!(names(&spans), ["add", "minus", "add", "addsubtract"]);
    let root = one(&spans, "addsubtract");
    assert_root(root);
    for child in &spans[..3] {
        assert_child_of(child, root);
        assert_eq!(child.span_kind, SpanKind::Internal);
    }
    // Siblings follow each other in time.
    assert!(spans[0].end_time <= spans[1].start_time);
    assert!(spans[1].end_time <= spans[2].start_time);
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    assert_eq!(ids.len(), 4, "span ids are distinct");
    assert!(!ids.contains(&SpanId::INVALID));
    assert_ne!(root.span_context.trace_id(), TraceId::INVALID);
    assert!(spans.iter().all(|s| s.span_context.is_sampled()));
}

#[test]
fn names_come_from_the_fn_or_the_attribute() {
    let (_, spans) = capture(|| (add(1, 1), subtract(1, 1), multiply(2, 2)));
    assert_eq!(names(&spans), ["add", "minus", "times"]);
}

#[test]
fn each_root_starts_its_own_trace() {
    let ((), spans) = capture(|| {
        add(1, 2);
        add(3, 4);
    });
    assert_eq!(spans.len(), 2);
    assert_root(&spans[0]);
    assert_root(&spans[1]);
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[test]
fn nesting_three_deep_links_each_level() {
    #[traced]
    fn leaf() -> u8 {
        1
    }
    #[traced]
    fn middle() -> u8 {
        leaf() + leaf()
    }
    let (value, spans) = capture(|| span!("top", { middle() }));
    assert_eq!(value, 2);
    assert_eq!(names(&spans), ["leaf", "leaf", "middle", "top"]);
    assert_child_of(&spans[0], &spans[2]);
    assert_child_of(&spans[1], &spans[2]);
    assert_child_of(&spans[2], &spans[3]);
    assert_root(&spans[3]);
}

#[test]
fn a_guard_span_lasts_until_the_guard_drops() {
    let ((), spans) = capture(|| {
        let outer = span!("outer");
        add(1, 1);
        {
            let _inner = span!("inner");
            add(2, 2);
        }
        add(3, 3);
        drop(outer);
        add(4, 4);
    });
    assert_eq!(
        names(&spans),
        ["add", "add", "inner", "add", "outer", "add"]
    );
    let outer = &spans[4];
    let inner = &spans[2];
    assert_child_of(&spans[0], outer);
    assert_child_of(&spans[1], inner);
    assert_child_of(inner, outer);
    assert_child_of(&spans[3], outer);
    assert_root(&spans[5]);
}

#[test]
fn dropping_an_outer_guard_first_does_not_misparent_later_spans() {
    let ((), spans) = capture(|| {
        let outer = span!("outer");
        let inner = span!("inner");
        drop(outer);
        add(1, 1); // still inside `inner`
        drop(inner);
        add(2, 2); // nothing is current any more
    });
    assert_eq!(names(&spans), ["outer", "add", "inner", "add"]);
    let inner = one(&spans, "inner");
    assert_eq!(inner.parent_span_id, spans[0].span_context.span_id());
    assert_eq!(spans[1].parent_span_id, inner.span_context.span_id());
    assert_root(&spans[3]);
}

#[test]
fn span_block_is_an_expression_and_keeps_control_flow() {
    fn find(items: &[i32], wanted: i32) -> Option<usize> {
        for (i, item) in items.iter().enumerate() {
            span!("check", {
                if *item == wanted {
                    return Some(i);
                }
            });
        }
        None
    }
    let (found, spans) = capture(|| find(&[5, 6, 7], 6));
    assert_eq!(found, Some(1));
    assert_eq!(
        names(&spans),
        ["check", "check"],
        "the span ends on early return too"
    );

    let (sum, spans) = capture(|| {
        let mut sum = 0;
        for i in 0..5 {
            span!("iteration", {
                if i == 3 {
                    break;
                }
                sum += i;
            });
        }
        sum
    });
    assert_eq!(sum, 3);
    assert_eq!(spans.len(), 4);
}

#[test]
fn question_mark_and_return_keep_their_meaning() {
    #[traced]
    fn parse(input: &str) -> Result<i32, std::num::ParseIntError> {
        let value: i32 = input.trim().parse()?;
        if value < 0 {
            return Ok(0);
        }
        Ok(value * 2)
    }
    let (results, spans) = capture(|| (parse("21"), parse("-4"), parse("x").is_err()));
    assert_eq!(results, (Ok(42), Ok(0), true));
    assert_eq!(names(&spans), ["parse", "parse", "parse"]);
}

struct Counter {
    count: u32,
    label: String,
}

trait Describe {
    fn describe(&self) -> String;
}

impl Counter {
    #[traced]
    fn bump(&mut self) -> &mut u32 {
        self.count += 1;
        &mut self.count
    }

    #[traced("Counter::label")]
    fn label(&self) -> &str {
        &self.label
    }

    #[traced]
    fn into_label(self) -> String {
        self.label
    }

    #[traced]
    fn new(label: &str) -> Self {
        Counter {
            count: 0,
            label: label.to_owned(),
        }
    }
}

impl Describe for Counter {
    #[traced]
    fn describe(&self) -> String {
        format!("{}={}", self.label, self.count)
    }
}

#[traced]
fn largest<T>(items: &[T]) -> Option<T>
where
    T: PartialOrd + Copy + std::fmt::Debug,
{
    let mut best = *items.first()?;
    for &item in items {
        if item > best {
            best = item;
        }
    }
    Some(best)
}

#[test]
fn methods_and_generic_fns_are_traced() {
    let (out, spans) = capture(|| {
        let mut counter = Counter::new("hits");
        *counter.bump() += 10;
        let label = counter.label().to_owned();
        let described = counter.describe();
        let owned = counter.into_label();
        (
            label,
            described,
            owned,
            largest(&[3, 9, 2]),
            largest::<f64>(&[]),
        )
    });
    assert_eq!(
        out,
        (
            "hits".into(),
            "hits=11".into(),
            "hits".into(),
            Some(9),
            None
        )
    );
    assert_eq!(
        names(&spans),
        [
            "new",
            "bump",
            "Counter::label",
            "describe",
            "into_label",
            "largest",
            "largest"
        ]
    );
}

#[test]
fn current_span_is_the_innermost_open_span() {
    let (ids, spans) = capture(|| {
        assert!(Span::current().is_none());
        span!("outer", {
            let outer = Span::current();
            let inner = span!("inner", { Span::current() });
            let after = Span::current();
            (outer, inner, after)
        })
    });
    let (outer, inner, after) = ids;
    assert_eq!(outer, after);
    assert_eq!(outer.span_id(), one(&spans, "outer").span_context.span_id());
    assert_eq!(inner.span_id(), one(&spans, "inner").span_context.span_id());
    assert_eq!(inner.trace_id(), outer.trace_id());
}

#[test]
fn threads_have_their_own_current_span() {
    let ((), spans) = capture(|| {
        span!("main", {
            std::thread::spawn(|| {
                assert!(Span::current().is_none());
                add(1, 2)
            })
            .join()
            .unwrap();
        });
    });
    assert_eq!(names(&spans), ["add", "main"]);
    assert_root(&spans[0]);
    assert_root(&spans[1]);
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[test]
fn instrumentation_scope_is_the_annotated_crate() {
    let (_, spans) = capture(|| add(1, 1));
    let scope = &spans[0].instrumentation_scope;
    assert_eq!(scope.name(), "traced-tests");
    assert_eq!(scope.version(), Some(env!("CARGO_PKG_VERSION")));
}

#[test]
fn recursion_nests() {
    #[traced]
    fn fact(n: u64) -> u64 {
        if n <= 1 {
            1
        } else {
            n * fact(n - 1)
        }
    }
    let (value, spans) = capture(|| fact(4));
    assert_eq!(value, 24);
    assert_eq!(spans.len(), 4);
    for pair in spans.windows(2) {
        assert_child_of(&pair[0], &pair[1]);
    }
}

#[test]
fn a_guard_dropped_on_another_thread_does_not_leave_its_span_current() {
    let ((), spans) = capture(|| {
        let guard = span!("moved");
        std::thread::spawn(move || drop(guard)).join().unwrap();
        assert!(
            Span::current().is_none(),
            "the ended span is no longer current"
        );
        span!("next", {});
    });
    assert_eq!(names(&spans), ["moved", "next"]);
    assert_root(&spans[1]);
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[test]
fn span_names_can_be_made_at_run_time() {
    let route = "/users/{id}";
    let ((), spans) = capture(|| {
        span!(format!("GET {route}"), kind: server, id = 7, {
            let _guard = span!(String::from("guard ") + "form");
        });
        futures::executor::block_on(span!(format!("async {}", 1), async {}));
        let fixed: &'static str = "static";
        span!(fixed, {});
    });
    assert_eq!(
        names(&spans),
        ["guard form", "GET /users/{id}", "async 1", "static"]
    );
    let server = &spans[1];
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        traced_tests::attribute(server, "id"),
        Some(&opentelemetry::Value::I64(7))
    );
    assert_child_of(&spans[0], server);
}

#[traced(name = format!("load user {id}"), kind = client)]
fn load_user(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

#[traced(name = format!("fetch {n}"))]
async fn fetch(n: u32) -> u32 {
    n + 1
}

#[test]
fn traced_names_can_be_made_at_run_time() {
    let ((), spans) = capture(|| {
        assert_eq!(load_user(7).unwrap(), 7);
        assert_eq!(futures::executor::block_on(fetch(2)), 3);
    });
    assert_eq!(names(&spans), ["load user 7", "fetch 2"]);
    assert_eq!(spans[0].span_kind, SpanKind::Client);
}
