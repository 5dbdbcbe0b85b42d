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

/// The scheme a proxy says the original request used: the first
/// `Forwarded` element's `proto`, else the first `X-Forwarded-Proto` value;
/// only a well-formed scheme (a letter, then letters, digits, `+`, `-`,
/// `.`), lowercased.
fn forwarded_proto(headers: &header::HeaderMap) -> Option<String> {
    let forwarded = headers.get(header::FORWARDED).and_then(|value| {
        let first = value.to_str().ok()?.split(',').next()?;
        first.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("proto")
                .then(|| value.trim().trim_matches('"'))
        })
    });
    let proto = forwarded.or_else(|| {
        let value = headers.get("x-forwarded-proto")?.to_str().ok()?;
        value.split(',').next().map(str::trim)
    })?;
    let mut chars = proto.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    well_formed.then(|| proto.to_ascii_lowercase())
}

/// Query parameters whose values the HTTP semantic conventions ask to
/// replace by `REDACTED` in `url.query` and `url.full`.
const SENSITIVE_QUERY_KEYS: [&str; 4] = ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"];

/// `query` with the values of [`SENSITIVE_QUERY_KEYS`] replaced by
/// `REDACTED`; borrowed when there is nothing to replace.
pub(crate) fn redact_query(query: &str) -> Cow<'_, str> {
    let sensitive =
        |pair: &str| SENSITIVE_QUERY_KEYS.contains(&pair.split('=').next().unwrap_or(pair));
    if !query.split('&').any(sensitive) {
        return Cow::Borrowed(query);
    }
    let mut redacted = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            redacted.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if SENSITIVE_QUERY_KEYS.contains(&key) => {
                redacted.push_str(key);
                redacted.push_str("=REDACTED");
            }
            _ => redacted.push_str(pair),
        }
    }
    Cow::Owned(redacted)
}

/// The name and the request's attributes, for a span that is recorded.
///
/// `url.scheme` is the request URI's (HTTP/2, absolute form), else the
/// original client's as a proxy forwarded it (`Forwarded: proto=`, then
/// `X-Forwarded-Proto`), else `scheme`: the one the server listens with.
pub(crate) fn annotations<B>(
    request: &Request<B>,
    route: Option<Cow<'static, str>>,
    scheme: &'static str,
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
        set("url.query", redact_query(query).into_owned().into());
    }
    let scheme = match uri.scheme_str() {
        Some(scheme) => scheme.to_owned().into(),
        None => forwarded_proto(request.headers()).map_or(scheme.into(), Into::into),
    };
    set("url.scheme", scheme);
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
        let pending = annotations(&request, Some("/items/{id}".into()), "http");
        assert_eq!(pending.name.as_deref(), Some("HTTP /items/{id}"));
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(text("http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(
            text("http.request.method_original").as_deref(),
            Some("PURGE")
        );
        assert_eq!(text("url.path").as_deref(), Some("/items/7"));
        assert_eq!(text("url.query").as_deref(), Some("fields=name"));
        assert_eq!(text("url.scheme").as_deref(), Some("http"));
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
        let pending = annotations(&http2, None, "http");
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(pending.name.as_deref(), Some("GET"));
        assert_eq!(text("url.scheme").as_deref(), Some("https"));
        assert_eq!(text("server.address").as_deref(), Some("api.example"));
        assert_eq!(text("server.port"), None);
        assert_eq!(text("http.route"), None);
        assert_eq!(text("url.query"), None);
        assert_eq!(text("network.protocol.version").as_deref(), Some("2"));
    }

    #[test]
    fn the_scheme_is_the_original_clients_when_a_proxy_says_it() {
        let scheme = |headers: &[(&str, &str)], listening: &'static str| {
            let mut request = Request::builder().uri("/a");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let pending = annotations(&request.body(()).unwrap(), None, listening);
            value(&pending, "url.scheme").map(ToString::to_string)
        };
        assert_eq!(scheme(&[], "http").as_deref(), Some("http"));
        assert_eq!(scheme(&[], "https").as_deref(), Some("https"));
        assert_eq!(
            scheme(&[("x-forwarded-proto", "HTTPS")], "http").as_deref(),
            Some("https")
        );
        assert_eq!(
            scheme(&[("x-forwarded-proto", "https, http")], "http").as_deref(),
            Some("https"),
            "the first proxy's"
        );
        assert_eq!(
            scheme(
                &[
                    (
                        "forwarded",
                        "for=192.0.2.60;proto=\"https\";by=203.0.113.43, proto=http"
                    ),
                    ("x-forwarded-proto", "http"),
                ],
                "http"
            )
            .as_deref(),
            Some("https"),
            "Forwarded first"
        );
        assert_eq!(
            scheme(&[("x-forwarded-proto", "ht tp")], "http").as_deref(),
            Some("http"),
            "a malformed value is ignored"
        );
    }

    #[test]
    fn signatures_in_the_query_are_redacted() {
        assert_eq!(redact_query("id=7&page=2"), "id=7&page=2");
        assert!(matches!(redact_query("id=7"), Cow::Borrowed(_)));
        assert_eq!(
            redact_query("sig=abc&q=1&X-Goog-Signature=x&AWSAccessKeyId=k&Signature=s"),
            "sig=REDACTED&q=1&X-Goog-Signature=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED"
        );
        let request = Request::builder()
            .uri("/download?sig=topsecret&file=a")
            .body(())
            .unwrap();
        let pending = annotations(&request, None, "http");
        assert_eq!(
            value(&pending, "url.query")
                .map(ToString::to_string)
                .as_deref(),
            Some("sig=REDACTED&file=a")
        );
    }
}
