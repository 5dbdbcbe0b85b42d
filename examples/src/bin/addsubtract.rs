//! The seed program: a root span and three traced calls.
//!
//! ```text
//! cargo run -p traced-examples --bin addsubtract
//! ```
//! prints `4` and, on stderr, the tree of four spans (`addsubtract` with
//! `add`, `subtract`, `add` beneath it). With
//! `OTEL_TRACES_EXPORTER=console` the spans are printed instead as JSON,
//! one object per span, in the shape Python's `ConsoleSpanExporter` uses;
//! `OTEL_SERVICE_NAME=addsubtract` names the service. With
//! `OTEL_TRACES_EXPORTER=otlp/stdout` they are OTLP JSON lines, which
//! `traced-view --print -` draws as a waterfall.

use traced::{span, traced, Span};

#[traced]
fn add(a: i64, b: i64) -> i64 {
    Span::current().set_attribute("a", a);
    Span::current().set_attribute("b", b);
    a + b
}

#[traced]
fn subtract(a: i64, b: i64) -> i64 {
    Span::current().set_attribute("a", a);
    Span::current().set_attribute("b", b);
    a - b
}

fn main() {
    let _traced = traced::init();
    let result = span!("addsubtract", {
        let s = add(1, 2);
        let s = subtract(s, 4);
        add(s, 5)
    });
    println!("{result}");
}
