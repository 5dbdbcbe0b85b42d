//! Options of `#[traced(..)]` and `span!(.., option: value, ..)`: kind,
//! attributes (typed, `%` Display, `?` Debug), `ret`, `err`, `parent`,
//! `links`, `crate`.

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::Value;
use traced::{span, traced, Context, Span};
use traced_tests::{assert_child_of, assert_root, attribute, capture, names, one};

#[derive(Debug)]
struct Cart {
    items: Vec<u32>,
    owner: &'static str,
}

#[traced(kind = server, attrs(user.id = user_id, items = cart.items.len(), owner = %cart.owner, cart = ?cart.items))]
fn checkout(user_id: u64, cart: &Cart) -> u32 {
    cart.items.iter().sum()
}

#[test]
fn kind_and_attributes_from_arguments() {
    let cart = Cart {
        items: vec![2, 3],
        owner: "ada",
    };
    let (total, spans) = capture(|| checkout(42, &cart));
    assert_eq!(total, 5);
    let s = one(&spans, "checkout");
    assert_eq!(s.span_kind, SpanKind::Server);
    assert_eq!(attribute(s, "user.id"), Some(&Value::I64(42)));
    assert_eq!(attribute(s, "items"), Some(&Value::I64(2)));
    assert_eq!(attribute(s, "owner"), Some(&Value::from("ada")));
    assert_eq!(attribute(s, "cart"), Some(&Value::from("[2, 3]")));
    assert_eq!(
        s.attributes.len(),
        4,
        "nothing else is recorded: {:?}",
        s.attributes
    );
}

#[test]
fn nothing_about_arguments_is_recorded_unless_asked() {
    #[traced]
    fn login(user: &str, password: &str) -> bool {
        !user.is_empty() && !password.is_empty()
    }
    let (_, spans) = capture(|| login("ada", "hunter2"));
    let s = one(&spans, "login");
    assert!(s.attributes.is_empty());
    assert!(s.events.events.is_empty());
}

#[traced(ret)]
fn typed_ret(n: i64) -> i64 {
    n * 2
}

#[traced(ret)]
fn debug_ret() -> Option<&'static str> {
    Some("x")
}

#[traced(ret, err = false)]
fn quiet_err() -> Result<u8, String> {
    Err("expected".into())
}

#[traced(ret)]
async fn async_ret() -> u8 {
    7
}

#[test]
fn ret_records_the_return_value() {
    let (_, spans) = capture(|| {
        (
            typed_ret(21),
            debug_ret(),
            quiet_err(),
            futures::executor::block_on(async_ret()),
        )
    });
    assert_eq!(attribute(&spans[0], "return"), Some(&Value::I64(42)));
    assert_eq!(
        attribute(&spans[1], "return"),
        Some(&Value::from("Some(\"x\")"))
    );
    assert_eq!(
        attribute(&spans[2], "return"),
        Some(&Value::from("Err(\"expected\")"))
    );
    assert_eq!(
        spans[2].status,
        Status::Unset,
        "err = false opts out of error status"
    );
    assert!(spans[2].events.events.is_empty());
    assert_eq!(attribute(&spans[3], "return"), Some(&Value::I64(7)));
}

#[test]
fn span_options_kind_parent_links_and_display_debug_values() {
    let ((), spans) = capture(|| {
        let first = span!("first", {
            let first = Context::current();
            let _guard = span!("client call", kind: client, peer = %"db:5432", args = ?(1, 2));
            first
        });
        // A new root that names `first` as its parent explicitly.
        span!("later", parent: first, {});
        // An explicit root inside another span.
        span!("outer", {
            span!("detached", parent: Span::none(), links: [first], {});
        });
    });
    assert_eq!(
        names(&spans),
        ["client call", "first", "later", "detached", "outer"]
    );
    let client = &spans[0];
    assert_eq!(client.span_kind, SpanKind::Client);
    assert_eq!(attribute(client, "peer"), Some(&Value::from("db:5432")));
    assert_eq!(attribute(client, "args"), Some(&Value::from("(1, 2)")));
    assert_eq!(spans[2].parent_span_id, spans[1].span_context.span_id());
    assert_eq!(
        spans[2].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
    let detached = &spans[3];
    assert_root(detached);
    assert_ne!(
        detached.span_context.trace_id(),
        spans[4].span_context.trace_id()
    );
    assert_eq!(detached.links.links.len(), 1);
    assert_eq!(
        detached.links.links[0].span_context.span_id(),
        spans[1].span_context.span_id()
    );
}

#[traced(parent = remote)]
fn handle_request(remote: &SpanContext) -> u8 {
    span!("inside", {});
    1
}

#[test]
fn a_remote_span_context_can_be_the_parent() {
    let trace_id = TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128);
    let parent_id = SpanId::from(0x00f0_67aa_0ba9_02b7_u64);
    let remote = SpanContext::new(
        trace_id,
        parent_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (_, spans) = capture(|| handle_request(&remote));
    let handler = one(&spans, "handle_request");
    assert_eq!(handler.span_context.trace_id(), trace_id);
    assert_eq!(handler.parent_span_id, parent_id);
    assert!(handler.parent_span_is_remote);
    assert_child_of(one(&spans, "inside"), handler);

    // An unsampled remote parent is followed by the default parent-based sampler.
    let unsampled = SpanContext::new(
        trace_id,
        parent_id,
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let (_, spans) = capture(|| handle_request(&unsampled));
    assert!(spans.is_empty());
}

#[test]
fn an_opentelemetry_context_can_be_the_parent() {
    let trace_id = TraceId::from(7_u128);
    let remote = SpanContext::new(
        trace_id,
        SpanId::from(9_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let otel = opentelemetry::Context::new().with_remote_span_context(remote);
    let ((), spans) = capture(|| span!("child", parent: otel, {}));
    assert_eq!(spans[0].span_context.trace_id(), trace_id);
    assert_eq!(spans[0].parent_span_id, SpanId::from(9_u64));
}

#[traced(parent = parent, links(linked))]
async fn async_with_parent(parent: Context, linked: Context) -> u8 {
    span!("async child", {});
    3
}

#[test]
fn async_fns_take_parent_and_links() {
    let (_, spans) = capture(|| {
        let (a, b) = (
            span!("a", { Context::current() }),
            span!("b", { Context::current() }),
        );
        futures::executor::block_on(async_with_parent(a, b))
    });
    assert_eq!(
        names(&spans),
        ["a", "b", "async child", "async_with_parent"]
    );
    let traced = &spans[3];
    assert_eq!(traced.parent_span_id, spans[0].span_context.span_id());
    assert_eq!(
        traced.span_context.trace_id(),
        spans[0].span_context.trace_id()
    );
    assert_eq!(
        traced.links.links[0].span_context.span_id(),
        spans[1].span_context.span_id()
    );
    assert_child_of(&spans[2], traced);
}

mod sdk {
    //! A crate that re-exports traced, as an SDK would.
    pub use ::traced as tracing_support;
}

#[traced(crate = crate::sdk::tracing_support)]
fn through_reexport() -> u8 {
    span!("inner", crate: crate::sdk::tracing_support, {});
    1
}

#[test]
fn crate_path_serves_reexporting_crates() {
    let (_, spans) = capture(through_reexport);
    assert_eq!(names(&spans), ["inner", "through_reexport"]);
}
