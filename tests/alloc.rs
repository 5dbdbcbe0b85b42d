//! The hot path allocates nothing per span: static names and up to four
//! attributes of integers, floats, bools and string literals, with the batch
//! processor. A counting global allocator counts this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use traced::{span, traced, BatchConfig};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[traced(attrs(user.id = id, ratio = 0.5, cached = true, region = "eu"))]
fn handle(id: u64) -> u64 {
    span!("query", table = "users", limit = 10, { id + 1 })
}

#[test]
fn spans_allocate_nothing_on_the_calling_thread() {
    let _lock = traced_tests::lock();
    let (exporter, spans) = traced::export::MemoryExporter::new();
    let guard = traced::builder()
        .with_exporter(exporter)
        .with_batch_processor(BatchConfig {
            max_queue_size: 4096,
            scheduled_delay: Duration::from_millis(50),
            ..BatchConfig::default()
        })
        .install();
    // The first span of a thread sets the thread up (its ring, its id).
    handle(0);
    let before = allocations();
    for i in 0..1_000 {
        span!("root", n = i, {
            handle(i);
        });
    }
    let after = allocations();
    assert!(guard.flush());
    assert_eq!(spans.len(), 2 + 3_000);
    assert_eq!(
        after - before,
        0,
        "allocations on the calling thread for 3 000 spans"
    );
    let recorded = spans.spans();
    let handle_span = recorded.iter().find(|s| s.name == "handle").unwrap();
    assert_eq!(
        handle_span.attributes.len(),
        4,
        "the four attributes were recorded"
    );
}

/// An HTTP service whose future is ready at once and allocates nothing.
#[derive(Clone, Copy)]
struct Ready;

impl tower_service::Service<http::Request<()>> for Ready {
    type Response = http::Response<()>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(())))
    }
}

#[test]
fn the_http_layer_allocates_nothing_without_a_pipeline() {
    use std::future::Future;

    use tower_layer::Layer;
    use tower_service::Service;

    let _lock = traced_tests::lock();
    let mut service = traced::http::TraceLayer::new()
        .with_route(|_: &http::Request<()>| Some("/items/{id}"))
        .layer(Ready);
    let request = || {
        http::Request::builder()
            .uri("/items/7")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(())
            .unwrap()
    };
    let waker = std::task::Waker::noop();
    for _ in 0..3 {
        let request = request();
        let before = allocations();
        let mut future = std::pin::pin!(service.call(request));
        let response = future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(response.is_ready());
        assert_eq!(allocations() - before, 0, "the layer allocated");
    }
}

/// Every native encoding the batch worker uses (OTLP/protobuf, OTLP JSON lines, Zipkin JSON,
/// the console's JSON) allocates nothing per span: after one batch has sized its buffers,
/// encoding it again allocates nothing at all, whatever the number of spans, for static names
/// and up to four attributes.
#[test]
fn encoding_from_records_allocates_nothing_per_span() {
    let encodings = traced::__private::EncodeProbe::ENCODINGS;
    assert!(encodings.contains(&"otlp-json") && encodings.contains(&"console"));
    for &encoding in encodings {
        for attributes in [0, 3, 4] {
            let mut probe = traced::__private::EncodeProbe::new(encoding, 2000, attributes);
            let start = allocations();
            let first = probe.encode();
            assert!(
                allocations() > start,
                "{encoding}: the first batch sizes the buffer (and the count sees the encoder)"
            );
            assert!(
                first > 2000 * 40,
                "{encoding}: {first} bytes for 2000 spans: every span is written"
            );
            let before = allocations();
            let again = probe.encode();
            let after = allocations();
            assert_eq!(
                again, first,
                "{encoding}: the same records give the same bytes"
            );
            assert_eq!(
                after - before,
                0,
                "{encoding}: allocations encoding 2000 spans with {attributes} attributes"
            );
        }
    }
}
