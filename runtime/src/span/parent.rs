//! Explicit parents and links: anything that names a span.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Link, SpanContext, TraceContextExt};

use super::Context;
use super::{Span, SpanGuard};
use crate::context::SpanCtx;
use crate::model::{self, BaggageMember, CarriedRef};

/// A span named as a parent (`#[traced(parent = p)]`,
/// `span!("name", parent: p, ..)`) or as a link (`links(..)`).
///
/// "No span" (for example [`Span::none()`]) as a parent makes the new span
/// the root of a new trace; as a link it adds nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRef {
    pub(crate) ctx: Option<SpanCtx>,
    /// What the named context carries: a span opened under it carries it
    /// too.
    pub(crate) carried: CarriedRef,
}

impl SpanRef {
    /// Names no span: a new trace, carrying nothing.
    pub(crate) const NONE: SpanRef = SpanRef {
        ctx: None,
        carried: None,
    };

    /// An OpenTelemetry link to this span, if it names one.
    pub(crate) fn to_link(&self) -> Option<Link> {
        self.ctx
            .map(|ctx| Link::with_context(model::to_otel(ctx, &self.carried)))
    }
}

/// Types that name a span: traced's [`Span`], [`SpanGuard`], [`Context`]
/// and `propagation::Remote` (what `extract` gives), request headers
/// (`http::HeaderMap`, `HashMap<String, String>`: the remote parent is
/// extracted from them), OpenTelemetry's `SpanContext` and
/// `opentelemetry::Context`, and `Option`s and references of those.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name a span",
    label = "expected a span, a context or a span context",
    note = "a parent or link is a `traced::Span`, `traced::Context`, `traced::SpanGuard`, a `traced::propagation::Remote`, request headers (`http::HeaderMap`, `HashMap<String, String>`), an OpenTelemetry `SpanContext` or `Context`, or an `Option` of one of those"
)]
pub trait AsSpanRef {
    /// The span named.
    fn as_span_ref(&self) -> SpanRef;
}

impl AsSpanRef for SpanRef {
    fn as_span_ref(&self) -> SpanRef {
        self.clone()
    }
}

impl AsSpanRef for Span {
    fn as_span_ref(&self) -> SpanRef {
        SpanRef {
            ctx: self.ctx(),
            carried: self.carried().clone(),
        }
    }
}

impl AsSpanRef for SpanGuard {
    fn as_span_ref(&self) -> SpanRef {
        self.span().as_span_ref()
    }
}

impl AsSpanRef for Context {
    fn as_span_ref(&self) -> SpanRef {
        self.span().as_span_ref()
    }
}

impl AsSpanRef for SpanContext {
    /// The span, with its trace state.
    fn as_span_ref(&self) -> SpanRef {
        let (ctx, carried) = model::from_otel(self, []);
        SpanRef { ctx, carried }
    }
}

impl AsSpanRef for opentelemetry::Context {
    /// The context's span, with its trace state, and the context's
    /// baggage.
    fn as_span_ref(&self) -> SpanRef {
        let baggage = self
            .baggage()
            .iter()
            .map(|(key, (value, metadata))| BaggageMember {
                key: key.to_string(),
                value: value.to_string(),
                properties: metadata.as_str().to_owned(),
            });
        let (ctx, carried) = if self.has_active_span() {
            model::from_otel(self.span().span_context(), baggage)
        } else {
            model::from_otel(&SpanContext::empty_context(), baggage)
        };
        SpanRef { ctx, carried }
    }
}

impl<T: AsSpanRef> AsSpanRef for Option<T> {
    fn as_span_ref(&self) -> SpanRef {
        self.as_ref().map_or(SpanRef::NONE, AsSpanRef::as_span_ref)
    }
}

impl<T: AsSpanRef + ?Sized> AsSpanRef for &T {
    fn as_span_ref(&self) -> SpanRef {
        (**self).as_span_ref()
    }
}

impl<T: AsSpanRef + ?Sized> AsSpanRef for &mut T {
    fn as_span_ref(&self) -> SpanRef {
        (**self).as_span_ref()
    }
}
