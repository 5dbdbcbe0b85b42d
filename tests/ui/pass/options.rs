//! Every option of both macros.
#![deny(warnings)]

use traced::{span, traced, Context, Span};

pub mod sdk {
    pub use ::traced as tracing_support;
}

struct Request {
    method: &'static str,
    path: String,
}

#[traced(name = "handle", kind = server, attrs(http.method = req.method, http.route = %req.path, debug = ?req.path.len()))]
fn handle(req: &Request) -> usize {
    req.path.len()
}

#[traced(kind = client, ret, err = false)]
fn client() -> Result<u8, String> {
    Ok(1)
}

#[traced(kind = producer, parent = parent, links(first, second))]
fn produce(parent: &Context, first: Span, second: Context) {}

#[traced(kind = consumer, crate = crate::sdk::tracing_support)]
fn consume() {}

#[traced(kind = internal, ret, attrs("any key" = 1))]
async fn async_options(n: u8) -> u8 {
    n
}

fn main() {
    let _ = handle(&Request { method: "GET", path: "/".into() });
    let _ = client();
    produce(&Context::current(), Span::current(), Context::current());
    consume();
    let _ = futures::executor::block_on(async_options(1));

    let parent = Context::current();
    let _a = span!("a", kind: client, parent: parent, links: [Span::current(), parent], key = 1, shown = %1.5, dbg = ?"x");
    let _b = span!("b", crate: crate::sdk::tracing_support, kind: server);
    let _ = span!("c", parent: Span::none(), { 1 });
}
