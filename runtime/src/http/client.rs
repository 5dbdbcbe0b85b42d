//! The reqwest client middleware: a client span per request, current while
//! the request runs, and its context in the request's headers.

use std::borrow::Cow;

use ::http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use super::client_request;
use crate::context::current;
use crate::context::Saved;
use crate::model::{Kind, Site};
use crate::span::{Instrumented, Opened, Span};

/// The call site of every client span; as for server spans, the
/// instrumentation scope is traced itself, and the name is replaced by the
/// request's (`GET`, or `GET /items/{id}` with a [`UrlTemplate`]) whenever
/// the span is recorded.
static SITE: Site = Site::new(
    "HTTP",
    Kind::Client,
    option_env!("CARGO_PKG_NAME"),
    option_env!("CARGO_PKG_VERSION"),
    module_path!(),
    file!(),
    line!(),
);

/// A [`reqwest_middleware::Middleware`] that traces every request a
/// client sends; see the [module docs](super#http-clients).
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(traced::http::ClientMiddleware::default())
///     .build();
/// # drop(client);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientMiddleware {
    // Room for options without breaking `ClientMiddleware::default()`.
    _options: (),
}

impl ClientMiddleware {
    /// The middleware (the same as `ClientMiddleware::default()`).
    pub fn new() -> Self {
        ClientMiddleware::default()
    }
}

/// The template of a request's URL (`/items/{id}`), given to
/// [`ClientMiddleware`] as a request extension: the client span is then
/// named `{method} {template}` (`GET /items/{id}`) and records
/// `url.template`, as the HTTP conventions ask. Without it the span is
/// named after the method alone, since the URL itself would make one name
/// per item.
///
/// ```
/// use traced::http::UrlTemplate;
///
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<()> {
/// client
///     .get("http://127.0.0.1:8080/items/7")
///     .with_extension(UrlTemplate::new("/items/{id}"))
///     .send()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate(Cow<'static, str>);

impl UrlTemplate {
    /// A template such as `/items/{id}`: a `&'static str`, a `String` or a
    /// `Cow<'static, str>`.
    pub fn new(template: impl Into<Cow<'static, str>>) -> Self {
        UrlTemplate(template.into())
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let Some(span) = Opened::start(&SITE) else {
            // No pipeline: no span, and the headers get what
            // `propagation::inject` writes for the current context, which is
            // nothing unless a caller's context is carried through.
            crate::propagation::inject(request.headers_mut());
            return next.run(request, extensions).await;
        };
        let recording = span.is_recording();
        let mut task = Saved::new(Some(span.ctx()), current::carried());
        if recording {
            let template = extensions.get::<UrlTemplate>().map(UrlTemplate::as_str);
            task.pending = Some(Box::new(client_request::annotations(&request, template)));
        }
        let exchange = async move {
            // The client span is current here: its ids go out.
            crate::propagation::inject(request.headers_mut());
            let result = next.run(request, extensions).await;
            if recording {
                Span::current().annotate(|pending| match &result {
                    Ok(response) => client_request::record_response(pending, response),
                    Err(error) => client_request::record_failure(pending, error),
                });
            }
            result
        };
        Instrumented::with_task(Some(span), task, exchange).await
    }
}
