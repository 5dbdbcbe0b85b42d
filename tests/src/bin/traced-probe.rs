//! A small traced program the environment tests run with different
//! `OTEL_*` variables. It prints nothing of its own on stdout, so stdout
//! holds exactly what the exporters wrote there.
//!
//! Scenarios (first argument): `seed` (the addsubtract program, default),
//! `error` (a span that records an error), `many N` (N root spans),
//! `inject` (prints the headers injected from a span on stderr), `limits` (a span with more
//! attributes and events, and longer strings, than small limits allow), `tokio` (the seed program as a
//! tokio application: init, spans in a spawned task, and the guard dropped inside the runtime).

use traced::{span, traced, KeyValue, Span};

#[traced]
fn add(a: i64, b: i64) -> i64 {
    Span::current().set_attribute("a", a);
    a + b
}

#[traced]
fn subtract(a: i64, b: i64) -> i64 {
    a - b
}

#[traced]
fn divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b)
        .ok_or_else(|| "division by zero".to_owned())
}

fn seed() -> i64 {
    span!("addsubtract", {
        let s = add(1, 2);
        let s = subtract(s, 4);
        Span::current().add_event("halfway", [KeyValue::new("s", s)]);
        add(s, 5)
    })
}

/// What a `#[tokio::main]` application does: everything inside the runtime.
fn in_tokio() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let traced = traced::init();
        let task = tokio::spawn(async { seed() });
        task.await.expect("the task ran");
        traced.flush();
        drop(traced);
    });
    eprintln!("probe: tokio done");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("tokio") {
        in_tokio();
        return;
    }
    let traced = traced::init();
    match args.first().map(String::as_str) {
        Some("error") => {
            let _ = divide(1, 0);
        }
        Some("inject") => {
            span!("outgoing", {
                let mut headers = std::collections::BTreeMap::new();
                traced::propagation::inject(&mut headers);
                for (name, value) in headers {
                    eprintln!("header {name}: {value}");
                }
            });
        }
        Some("limits") => {
            span!("limited", text = "abcdefgh", {
                for i in 0..5 {
                    Span::current().set_attribute(format!("k{i}"), i);
                    Span::current().add_event(format!("e{i}"), [KeyValue::new("i", i)]);
                }
            });
        }
        Some("many") => {
            let n: u32 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10);
            let started = std::time::Instant::now();
            for i in 0..n {
                span!("many", i = i, {});
            }
            eprintln!("probe: {n} spans took {}ms", started.elapsed().as_millis());
        }
        _ => {
            seed();
        }
    }
    traced.flush();
    let stats = traced.stats();
    eprintln!(
        "probe: exported={} dropped={} failed={}",
        stats.exported, stats.dropped, stats.failed
    );
}
