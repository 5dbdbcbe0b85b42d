//! An exporter that keeps spans in memory, for tests that assert on what was traced.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// A [`SpanExporter`] that stores every exported span, to be read back through its
/// [`MemorySpans`] handle.
///
/// [`MemoryExporter::new`] returns the exporter together with its handle, like a channel:
/// the exporter moves into the tracer provider, the handle stays with the test. Spans are
/// stored whole and in export order (the order spans end in, with a simple processor), so
/// tests can assert on names, parents, attributes, events and status alike.
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use traced::export::MemoryExporter;
///
/// let (exporter, spans) = MemoryExporter::new();
/// let provider = SdkTracerProvider::builder()
///     .with_simple_exporter(exporter)
///     .build();
/// let tracer = provider.tracer("example");
/// tracer.in_span("parent", |_| tracer.in_span("child", |_| ()));
///
/// let names: Vec<_> = spans.spans().iter().map(|s| s.name.to_string()).collect();
/// assert_eq!(names, ["child", "parent"]);
/// ```
///
/// After [`shutdown`](SpanExporter::shutdown), `export` returns
/// [`OTelSdkError::AlreadyShutdown`] and stores nothing; the spans already stored stay
/// readable.
pub struct MemoryExporter {
    store: Arc<Mutex<Store>>,
}

/// A cloneable handle on the spans a [`MemoryExporter`] received.
///
/// Every clone sees the same store, so a handle can be given to several threads or kept
/// while the exporter lives inside a tracer provider.
#[derive(Clone)]
pub struct MemorySpans {
    store: Arc<Mutex<Store>>,
}

#[derive(Default)]
struct Store {
    spans: Vec<SpanData>,
    resource: Option<Resource>,
    is_shutdown: bool,
}

impl MemoryExporter {
    /// Creates an exporter and the handle that reads what it stores.
    pub fn new() -> (Self, MemorySpans) {
        let store = Arc::new(Mutex::new(Store::default()));
        let spans = MemorySpans {
            store: Arc::clone(&store),
        };
        (Self { store }, spans)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

/// A test that panicked while holding the lock must not hide the spans from the next one.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for MemoryExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.store();
        f.debug_struct("MemoryExporter")
            .field("spans", &store.spans.len())
            .field("is_shutdown", &store.is_shutdown)
            .finish()
    }
}

impl SpanExporter for MemoryExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let mut store = self.store();
        let result = if store.is_shutdown {
            Err(OTelSdkError::AlreadyShutdown)
        } else {
            store.spans.extend(batch);
            Ok(())
        };
        std::future::ready(result)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.store().is_shutdown = true;
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.store().resource = Some(resource.clone());
    }
}

impl MemorySpans {
    /// Copies of the stored spans, in the order they were exported.
    pub fn spans(&self) -> Vec<SpanData> {
        self.store().spans.clone()
    }

    /// Removes and returns the stored spans, in the order they were exported.
    pub fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut self.store().spans)
    }

    /// Forgets the stored spans, for example between two phases of a test.
    pub fn clear(&self) {
        self.store().spans.clear();
    }

    /// How many spans are stored.
    pub fn len(&self) -> usize {
        self.store().spans.len()
    }

    /// Whether no span is stored.
    pub fn is_empty(&self) -> bool {
        self.store().spans.is_empty()
    }

    /// The resource the tracer provider gave the exporter, or `None` before it did.
    pub fn resource(&self) -> Option<Resource> {
        self.store().resource.clone()
    }

    /// Whether the exporter has been shut down (usually by shutting down its provider).
    pub fn is_shutdown(&self) -> bool {
        self.store().is_shutdown
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

impl fmt::Debug for MemorySpans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.store();
        f.debug_struct("MemorySpans")
            .field("spans", &store.spans.len())
            .field("is_shutdown", &store.is_shutdown)
            .finish()
    }
}

#[cfg(test)]
mod tests {

    use opentelemetry::trace::{
        SpanId, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
    };
    use opentelemetry::{Key, KeyValue};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;
    use crate::export::test_support::block_on;

    fn names(spans: &[SpanData]) -> Vec<&str> {
        spans.iter().map(|s| s.name.as_ref()).collect()
    }

    fn traced_provider() -> (SdkTracerProvider, MemorySpans) {
        let (exporter, spans) = MemoryExporter::new();
        let provider = SdkTracerProvider::builder()
            .with_resource(Resource::builder().with_service_name("memory-test").build())
            .with_simple_exporter(exporter)
            .build();
        (provider, spans)
    }

    #[test]
    fn stores_spans_from_the_sdk_in_end_order() {
        let (provider, spans) = traced_provider();
        assert!(spans.is_empty());
        let tracer = provider.tracer("test");
        tracer.in_span("parent", |cx| {
            cx.span().set_attribute(KeyValue::new("user", 7));
            tracer.in_span("child", |cx| cx.span().set_status(Status::error("boom")));
        });

        let stored = spans.spans();
        assert_eq!(names(&stored), ["child", "parent"]);
        assert_eq!(spans.len(), 2);
        let (child, parent) = (&stored[0], &stored[1]);
        assert_eq!(child.parent_span_id, parent.span_context.span_id());
        assert_eq!(parent.parent_span_id, SpanId::INVALID);
        assert_eq!(child.status, Status::error("boom"));
        assert_eq!(parent.attributes, [KeyValue::new("user", 7)]);
        assert_eq!(parent.span_kind, SpanKind::Internal);
        // Reading does not consume.
        assert_eq!(spans.len(), 2);

        let resource = spans.resource().expect("the provider sets the resource");
        assert_eq!(
            resource.get(&Key::new("service.name")),
            Some("memory-test".into())
        );
    }

    #[test]
    fn take_and_clear_empty_the_store_for_every_handle() {
        let (provider, spans) = traced_provider();
        let other_handle = spans.clone();
        let tracer = provider.tracer("test");
        tracer.in_span("one", |_| ());
        tracer.in_span("two", |_| ());

        assert_eq!(names(&other_handle.take()), ["one", "two"]);
        assert!(spans.is_empty());
        assert!(spans.take().is_empty());

        tracer.in_span("three", |_| ());
        assert_eq!(names(&spans.spans()), ["three"]);
        other_handle.clear();
        assert_eq!(spans.len(), 0);
    }

    #[test]
    fn shutdown_keeps_spans_and_refuses_new_ones() {
        let (provider, spans) = traced_provider();
        provider.tracer("test").in_span("before", |_| ());
        assert!(!spans.is_shutdown());
        provider.shutdown().unwrap();
        assert!(spans.is_shutdown());
        assert_eq!(names(&spans.spans()), ["before"]);
    }

    #[test]
    fn direct_export_after_shutdown_returns_already_shutdown() {
        let (exporter, spans) = MemoryExporter::new();
        assert!(spans.resource().is_none());
        let (provider, source) = traced_provider();
        provider.tracer("test").in_span("s", |_| ());
        let batch = source.take();

        block_on(exporter.export(batch.clone())).unwrap();
        block_on(exporter.export(batch.clone())).unwrap();
        assert_eq!(spans.len(), 2);
        exporter.shutdown().unwrap();
        assert!(matches!(
            block_on(exporter.export(batch)),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert_eq!(spans.len(), 2);
        assert_eq!(
            format!("{spans:?}"),
            "MemorySpans { spans: 2, is_shutdown: true }"
        );
    }
}
