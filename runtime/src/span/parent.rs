//! Explicit parents and links: anything that names a span.

use opentelemetry::trace::{
    Link, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};

use super::{Span, SpanGuard};
use crate::context::{Context, SpanCtx};

/// A span named as a parent (`#[traced(parent = p)]`,
/// `span!("name", parent: p, ..)`) or as a link (`links(..)`).
///
/// "No span" (for example [`Span::none()`]) as a parent makes the new span
/// the root of a new trace; as a link it adds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanRef {
    pub(crate) ctx: Option<SpanCtx>,
}

impl SpanRef {
    /// An OpenTelemetry link to this span, if it names one.
    pub(crate) fn to_link(self) -> Option<Link> {
        self.ctx.map(|ctx| {
            Link::with_context(SpanContext::new(
                TraceId::from(ctx.trace_id),
                SpanId::from(ctx.span_id),
                if ctx.sampled {
                    TraceFlags::SAMPLED
                } else {
                    TraceFlags::default()
                },
                ctx.remote,
                TraceState::default(),
            ))
        })
    }
}

/// Types that name a span: traced's [`Span`], [`SpanGuard`], [`Context`]
/// and [`Remote`](crate::propagation::Remote), request headers
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
        *self
    }
}

impl AsSpanRef for Span {
    fn as_span_ref(&self) -> SpanRef {
        SpanRef { ctx: self.ctx() }
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
    fn as_span_ref(&self) -> SpanRef {
        SpanRef {
            ctx: self.is_valid().then(|| {
                let ctx = SpanCtx {
                    trace_id: u128::from_be_bytes(self.trace_id().to_bytes()),
                    span_id: u64::from_be_bytes(self.span_id().to_bytes()),
                    sampled: self.is_sampled(),
                    remote: self.is_remote(),
                    random: self.trace_flags().to_u8() & crate::propagation::FLAG_RANDOM != 0,
                };
                crate::propagation::remember_trace_state(ctx.trace_id, self.trace_state());
                ctx
            }),
        }
    }
}

impl AsSpanRef for opentelemetry::Context {
    fn as_span_ref(&self) -> SpanRef {
        if self.has_active_span() {
            self.span().span_context().as_span_ref()
        } else {
            SpanRef { ctx: None }
        }
    }
}

impl<T: AsSpanRef> AsSpanRef for Option<T> {
    fn as_span_ref(&self) -> SpanRef {
        self.as_ref()
            .map_or(SpanRef { ctx: None }, AsSpanRef::as_span_ref)
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
