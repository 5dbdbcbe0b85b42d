//! Every shape of both macros in a crate that denies all warnings and
//! clippy's default and pedantic lints: an expansion that triggered any of
//! them would fail `cargo test` (rustc lints) or CI's clippy run (clippy
//! lints) here.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::future::Future;
use std::pin::Pin;

use traced::{span, traced, Context, Span};

#[traced]
fn unit() {}

#[traced("named")]
fn value(a: u32) -> u32 {
    a + 1
}

#[traced(kind = server, attrs(a = a, shown = %a, debugged = ?a), ret)]
fn options(a: u32) -> Result<u32, std::num::ParseIntError> {
    let parsed: u32 = "1".parse()?;
    if parsed > a {
        return Ok(0);
    }
    Ok(a + parsed)
}

#[traced(err = false)]
fn no_err() -> Result<(), String> {
    Err(String::new())
}

#[traced(parent = parent, links(link))]
fn with_parent(parent: Context, link: Span) -> u8 {
    span!("inner", n = 1, { 1 })
}

#[traced]
async fn async_unit() {}

#[traced(ret)]
async fn async_value(a: u32) -> Result<u32, String> {
    if a == 0 {
        return Err("zero".into());
    }
    let _guard = span!("guard");
    Ok(a)
}

#[traced]
fn impl_future(a: u32) -> impl Future<Output = u32> {
    async move { a }
}

#[traced]
fn boxed_future(a: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { a })
}

struct Thing {
    n: u32,
}

impl Thing {
    #[traced]
    fn get(&self) -> u32 {
        self.n
    }

    #[traced]
    fn get_mut(&mut self) -> &mut u32 {
        &mut self.n
    }

    #[traced]
    async fn get_async(&self) -> u32 {
        self.n
    }
}

#[test]
fn every_shape_compiles_without_a_lint() {
    let _traced = traced::builder()
        .with_exporter(traced::export::MemoryExporter::new().0)
        .with_simple_processor()
        .install();
    unit();
    let mut thing = Thing { n: value(1) };
    *thing.get_mut() += 1;
    let _ = (
        thing.get(),
        options(1),
        no_err(),
        with_parent(Context::current(), Span::current()),
    );
    futures::executor::block_on(async {
        async_unit().await;
        let _ = async_value(1).await;
        let _ = impl_future(1).await + boxed_future(1).await + thing.get_async().await;
    });
    let total = span!("block", a = 1, b = "two", c = 3.0, d = true, { 1 + 1 });
    assert_eq!(total, 2);
    let _s = span!("guard", kind: client);
    let route = "/users";
    let named = span!(format!("GET {route}"), kind: server, { 2 });
    assert_eq!(named, 2);
    let _n = span!(route.to_owned());
    assert_eq!(dynamic_name(3), 3);
    futures::executor::block_on(span!(String::from("async"), async {}));
}

#[traced(name = format!("dynamic {n}"))]
fn dynamic_name(n: u32) -> u32 {
    n
}
