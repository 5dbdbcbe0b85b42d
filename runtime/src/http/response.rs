//! The future of a traced request: the inner service's future, run in the
//! server span, whose outcome is recorded on the span when it completes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::http::Response;
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use pin_project_lite::pin_project;

use crate::model::readable_type_name;
use crate::model::Annotations;
use crate::span::{Instrumented, Span};

pin_project! {
    /// The response future of [`Trace`](super::Trace): the inner service's
    /// future, with the request's server span current while it runs.
    ///
    /// The span ends when the response is ready (the response head, not the
    /// body: streaming a body is not part of the span) or when the future
    /// is dropped unfinished (then with `traced.cancelled = true`). It is
    /// `Send` when the inner future is.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<Outcome<F>>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: Instrumented<Outcome<F>>) -> Self {
        ResponseFuture { inner }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("inner", &self.inner)
            .finish()
    }
}

pin_project! {
    /// Records the response (or the error) on the current span, which is
    /// the server span: it runs inside the span's [`Instrumented`].
    pub(crate) struct Outcome<F> {
        #[pin]
        future: F,
        // Whether the span is recorded: known when the request came in, so
        // an unrecorded request never looks at the context again.
        recording: bool,
    }
}

impl<F> Outcome<F> {
    pub(crate) fn new(future: F, recording: bool) -> Self {
        Outcome { future, recording }
    }
}

impl<F, B, E> Future for Outcome<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        if *this.recording {
            match &output {
                Ok(response) => record_status(response.status().as_u16()),
                Err(_) => record_error(std::any::type_name::<E>()),
            }
        }
        Poll::Ready(output)
    }
}

/// `http.response.status_code`; a 5xx is an error of the server (status
/// Error, `error.type` = the code), a 4xx the client's and leaves the
/// status alone, as the conventions ask of server spans.
fn record_status(code: u16) {
    Span::current().annotate(|pending| {
        pending.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
        if code >= 500 {
            pending.set_attribute(KeyValue::new("error.type", code.to_string()));
            set_error(pending, String::new());
        }
    });
}

/// An `Err` from the inner service: status Error, and `error.type` = the
/// error's type.
#[cold]
fn record_error(type_name: &str) {
    Span::current().annotate(|pending| {
        pending.set_attribute(KeyValue::new(
            "error.type",
            readable_type_name(type_name, true),
        ));
        set_error(pending, readable_type_name(type_name, false));
    });
}

/// Sets status Error unless the handler set a status already (its own
/// Error, with a better description, or a final Ok).
pub(crate) fn set_error(pending: &mut Annotations, description: String) {
    if matches!(pending.status, Status::Unset) {
        pending.status = Status::error(description);
    }
}
