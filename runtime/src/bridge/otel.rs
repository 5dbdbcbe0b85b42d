//! traced as OpenTelemetry's tracer provider: spans that libraries start
//! through the OpenTelemetry API (`global::tracer(..)`) are traced spans.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

use crate::context::foreign;
use crate::local::clock;
use crate::model::CarriedRef;
use crate::model::{self, Annotations, InlineAttributes, Kind, Site};
use crate::span::Opened;

/// traced as an OpenTelemetry [`TracerProvider`](opentelemetry::trace::TracerProvider):
/// its tracers start traced spans, recorded by the installed pipeline.
///
/// [`install`](crate::Builder::install) (and so [`init`](crate::init))
/// makes it the `opentelemetry::global` tracer provider unless told not to
/// ([`Builder::without_global_tracer_provider`](crate::Builder::without_global_tracer_provider)).
/// It can also be handed to a library that takes a provider.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
///
/// let tracer = traced::bridge::TracerProvider::default().tracer("my-library");
/// tracer.in_span("query", |_cx| { /* ... */ });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TracerProvider {
    _private: (),
}

impl opentelemetry::trace::TracerProvider for TracerProvider {
    type Tracer = Tracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> Tracer {
        Tracer {
            sites: scope_sites(scope.name(), scope.version().unwrap_or("")),
        }
    }
}

/// Makes traced the `opentelemetry::global` tracer provider.
pub(crate) fn set_global_tracer_provider() {
    opentelemetry::global::set_tracer_provider(TracerProvider::default());
}

/// A tracer of [`TracerProvider`]: one instrumentation scope.
#[derive(Clone, Copy, Debug)]
pub struct Tracer {
    /// One site per span kind, in [`kind_index`] order.
    sites: &'static [Site; 5],
}

const KINDS: [Kind; 5] = [
    Kind::Internal,
    Kind::Server,
    Kind::Client,
    Kind::Producer,
    Kind::Consumer,
];

fn kind_index(kind: &SpanKind) -> usize {
    match kind {
        SpanKind::Internal => 0,
        SpanKind::Server => 1,
        SpanKind::Client => 2,
        SpanKind::Producer => 3,
        SpanKind::Consumer => 4,
    }
}

/// The sites of an instrumentation scope, made once per scope for the
/// life of the process (a program has a fixed set of scopes; a tracer made
/// per request finds the sites made the first time).
#[allow(clippy::type_complexity)]
static SCOPES: Mutex<Vec<(&'static str, &'static str, &'static [Site; 5])>> =
    Mutex::new(Vec::new());

fn scope_sites(name: &str, version: &str) -> &'static [Site; 5] {
    let mut scopes = SCOPES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, _, sites)) = scopes.iter().find(|(n, v, _)| *n == name && *v == version) {
        return sites;
    }
    let name: &'static str = Box::leak(name.into());
    let version: &'static str = Box::leak(version.into());
    let sites: &'static [Site; 5] = Box::leak(Box::new(KINDS.map(|kind| {
        // The name is the span's own, set when it starts.
        Site::new("opentelemetry", kind, Some(name), Some(version), "", "", 0)
    })));
    scopes.push((name, version, sites));
    sites
}

impl opentelemetry::trace::Tracer for Tracer {
    type Span = ApiSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> ApiSpan {
        let kind = builder.span_kind.as_ref().unwrap_or(&SpanKind::Internal);
        let site = &self.sites[kind_index(kind)];
        let explicit = parent_cx
            .has_active_span()
            .then(|| parent_cx.span().span_context().clone())
            .filter(SpanContext::is_valid);
        let (opened, carried) = match &explicit {
            // The current context (what `in_span` and `start` pass): the
            // innermost of traced's current span and OpenTelemetry's.
            Some(parent) if is_current_bridge_span(parent) => {
                (Opened::start(site), crate::context::current::carried())
            }
            None => (Opened::start(site), crate::context::current::carried()),
            // A context the caller chose (an extracted remote parent, a span
            // from elsewhere).
            Some(parent) => {
                let (ctx, carried) = model::from_otel(parent, []);
                (Opened::start_with_parent(site, ctx), carried)
            }
        };
        let Some(mut opened) = opened else {
            // Nothing recorded: the parent's context passes through, as the
            // OpenTelemetry API's non-recording spans do.
            return ApiSpan {
                opened: None,
                carried: None,
                annotations: None,
                context: explicit.unwrap_or_else(SpanContext::empty_context),
            };
        };
        if let Some(start) = builder.start_time {
            opened.set_start(clock::converter().to_ticks(start));
        }
        foreign::opened(opened.span_id(), opened.parent_id());
        let annotations = opened.is_recording().then(|| {
            let mut annotations = Box::new(crate::collector::annotations());
            annotations.name = Some(builder.name);
            for attribute in builder.attributes.into_iter().flatten() {
                annotations.set_attribute(attribute);
            }
            for event in builder.events.into_iter().flatten() {
                annotations.add_event(event);
            }
            for link in builder.links.into_iter().flatten() {
                annotations.add_link(link);
            }
            annotations
        });
        ApiSpan {
            context: model::to_otel(opened.ctx(), &carried),
            opened: Some(opened),
            carried,
            annotations,
        }
    }
}

/// Whether `parent` is OpenTelemetry's current span and one of the
/// bridge's: then the parent is chosen by traced's rule for that case.
fn is_current_bridge_span(parent: &SpanContext) -> bool {
    foreign::is_live(u64::from_be_bytes(parent.span_id().to_bytes()))
        && Context::map_current(|cx| cx.span().span_context().span_id() == parent.span_id())
}

/// A span started through the OpenTelemetry API with [`Tracer`]: a traced
/// span, recorded when it ends (or is dropped).
#[derive(Debug)]
pub struct ApiSpan {
    opened: Option<Opened>,
    /// What the span's context carries (trace state, baggage).
    carried: CarriedRef,
    /// `None` when the span is not recorded, or ended.
    annotations: Option<Box<Annotations>>,
    context: SpanContext,
}

impl ApiSpan {
    fn end_at(&mut self, end: Option<u64>) {
        if let Some(opened) = self.opened.take() {
            foreign::ended(opened.span_id());
            opened.finish_at(
                &mut InlineAttributes::new(),
                self.annotations.take(),
                self.carried.take(),
                end,
            );
        }
    }

    fn annotate(&mut self, f: impl FnOnce(&mut Annotations)) {
        if let Some(annotations) = self.annotations.as_deref_mut() {
            f(annotations);
        }
    }
}

impl opentelemetry::trace::Span for ApiSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.annotate(|a| a.add_event(Event::new(name, timestamp, attributes, 0)));
    }

    fn span_context(&self) -> &SpanContext {
        &self.context
    }

    fn is_recording(&self) -> bool {
        self.annotations.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.annotate(|a| a.set_attribute(attribute));
    }

    fn set_status(&mut self, status: Status) {
        self.annotate(|a| a.set_status(status));
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.annotate(|a| a.name = Some(new_name.into()));
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.annotate(|a| a.add_link(Link::new(span_context, attributes, 0)));
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.end_at(Some(clock::converter().to_ticks(timestamp)));
    }
}

impl Drop for ApiSpan {
    fn drop(&mut self) {
        self.end_at(None);
    }
}
