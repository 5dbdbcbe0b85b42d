//! What a server span says about its request: the name and the attributes
//! of the HTTP semantic conventions (stable, v1.2x); the method and
//! protocol attributes are shared with client spans.

use std::borrow::Cow;

use ::http::{header, uri::Authority, Method, Request, Version};
use opentelemetry::KeyValue;

use crate::model::Annotations;

/// The method as the conventions record it: one of the nine methods of
/// RFC 9110 and RFC 5789, or `None` for any other.
fn known_method(method: &Method) -> Option<&'static str> {
    Some(match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        _ => return None,
    })
}

/// `network.protocol.version`.
pub(crate) fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// The span name: `{method} {route}`, `{method}` without a route, and
/// `HTTP` in place of a method the conventions do not know. The raw path
/// is never used: it would make one name per URL.
pub(crate) fn span_name(method: &Method, route: Option<&str>) -> Cow<'static, str> {
    let method = known_method(method).unwrap_or("HTTP");
    match route {
        // Not `format!`: with it the name cost about 1 150 instructions
        // per request, with these pushes about 460, most of it the
        // allocation (`--bin service -- --callgrind`).
        Some(route) => {
            let mut name = String::with_capacity(method.len() + 1 + route.len());
            name.push_str(method);
            name.push(' ');
            name.push_str(route);
            Cow::Owned(name)
        }
        None => Cow::Borrowed(method),
    }
}

/// `http.request.method`, and `http.request.method_original` for a method
/// the conventions do not know (recorded as `_OTHER`).
pub(crate) fn set_method(pending: &mut Annotations, method: &Method) {
    match known_method(method) {
        Some(known) => pending.set_attribute(KeyValue::new("http.request.method", known)),
        None => {
            pending.set_attribute(KeyValue::new("http.request.method", "_OTHER"));
            pending.set_attribute(KeyValue::new(
                "http.request.method_original",
                method.as_str().to_owned(),
            ));
        }
    }
}

/// The name and the request's attributes, for a span that is recorded.
pub(crate) fn annotations<B>(
    request: &Request<B>,
    route: Option<Cow<'static, str>>,
) -> Annotations {
    let mut pending = crate::collector::annotations();
    pending.name = Some(span_name(request.method(), route.as_deref()));
    set_method(&mut pending, request.method());
    let mut set = |key: &'static str, value: opentelemetry::Value| {
        pending.set_attribute(KeyValue::new(key, value));
    };
    let uri = request.uri();
    set("url.path", uri.path().to_owned().into());
    if let Some(query) = uri.query() {
        set("url.query", query.to_owned().into());
    }
    if let Some(scheme) = uri.scheme_str() {
        set("url.scheme", scheme.to_owned().into());
    }
    if let Some(route) = route {
        set("http.route", route.into());
    }
    // HTTP/2 and absolute-form requests carry the authority in the URI;
    // HTTP/1.1 origin-form requests in `Host`.
    let host = uri.authority().cloned().or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|host| Authority::try_from(host.as_bytes()).ok())
    });
    if let Some(host) = host {
        set("server.address", host.host().to_owned().into());
        if let Some(port) = host.port_u16() {
            set("server.port", i64::from(port).into());
        }
    }
    if let Some(agent) = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
    {
        set("user_agent.original", agent.to_owned().into());
    }
    if let Some(version) = protocol_version(request.version()) {
        set("network.protocol.version", version.into());
    }
    pending
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The attribute `key` of `pending` (for the client's tests too).
    pub(in crate::http) fn value<'a>(
        pending: &'a Annotations,
        key: &str,
    ) -> Option<&'a opentelemetry::Value> {
        pending
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn names_follow_the_conventions() {
        assert_eq!(
            span_name(&Method::GET, Some("/items/{id}")),
            "GET /items/{id}"
        );
        assert_eq!(span_name(&Method::POST, None), "POST");
        let other = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(span_name(&other, None), "HTTP");
        assert_eq!(span_name(&other, Some("/a")), "HTTP /a");
    }

    #[test]
    fn request_attributes() {
        let request = Request::builder()
            .method("PURGE")
            .uri("/items/7?fields=name")
            .header("host", "shop.example:8443")
            .header("user-agent", "curl/8")
            .body(())
            .unwrap();
        let pending = annotations(&request, Some("/items/{id}".into()));
        assert_eq!(pending.name.as_deref(), Some("HTTP /items/{id}"));
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(text("http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(
            text("http.request.method_original").as_deref(),
            Some("PURGE")
        );
        assert_eq!(text("url.path").as_deref(), Some("/items/7"));
        assert_eq!(text("url.query").as_deref(), Some("fields=name"));
        assert_eq!(text("url.scheme"), None);
        assert_eq!(text("http.route").as_deref(), Some("/items/{id}"));
        assert_eq!(text("server.address").as_deref(), Some("shop.example"));
        assert_eq!(
            value(&pending, "server.port"),
            Some(&opentelemetry::Value::I64(8443))
        );
        assert_eq!(text("user_agent.original").as_deref(), Some("curl/8"));
        assert_eq!(text("network.protocol.version").as_deref(), Some("1.1"));

        let http2 = Request::builder()
            .uri("https://api.example/v1")
            .version(Version::HTTP_2)
            .body(())
            .unwrap();
        let pending = annotations(&http2, None);
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(pending.name.as_deref(), Some("GET"));
        assert_eq!(text("url.scheme").as_deref(), Some("https"));
        assert_eq!(text("server.address").as_deref(), Some("api.example"));
        assert_eq!(text("server.port"), None);
        assert_eq!(text("http.route"), None);
        assert_eq!(text("url.query"), None);
        assert_eq!(text("network.protocol.version").as_deref(), Some("2"));
    }
}
