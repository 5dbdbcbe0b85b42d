//! What a client span says about its request and its outcome: the name and
//! the attributes of the stable HTTP client semantic conventions.

use std::borrow::Cow;

use opentelemetry::KeyValue;
use reqwest::{Request, Response, Url};

use super::request::{protocol_version, set_method, span_name};
use crate::model::Annotations;

/// Query parameters whose values the conventions ask to redact in
/// `url.full`: signed URLs carry credentials there.
/// The name and the request's attributes, for a span that is recorded.
pub(crate) fn annotations(request: &Request, template: Option<&str>) -> Annotations {
    let mut pending = crate::collector::annotations();
    pending.name = Some(span_name(request.method(), template));
    set_method(&mut pending, request.method());
    let url = request.url();
    pending.set_attribute(KeyValue::new("url.full", full_url(url)));
    if let Some(template) = template {
        pending.set_attribute(KeyValue::new("url.template", template.to_owned()));
    }
    if let Some(host) = url.host_str() {
        pending.set_attribute(KeyValue::new("server.address", host.to_owned()));
    }
    if let Some(port) = url.port_or_known_default() {
        pending.set_attribute(KeyValue::new("server.port", i64::from(port)));
    }
    pending
}

/// `url.full`: the URL with its user name and password, if any, replaced by
/// `REDACTED:REDACTED`, and the values of signature query parameters by
/// `REDACTED` (see [`redact_query`](super::request::redact_query)), as the
/// HTTP semantic conventions ask.
pub(crate) fn full_url(url: &Url) -> String {
    let has_userinfo = !url.username().is_empty() || url.password().is_some();
    let query = url.query().map(super::request::redact_query);
    let sensitive_query = matches!(query, Some(Cow::Owned(_)));
    if !has_userinfo && !sensitive_query {
        return url.as_str().to_owned();
    }
    let mut redacted = url.clone();
    if has_userinfo {
        // Only URLs that cannot have userinfo (no host) refuse these, and
        // those have none to replace.
        let _ = redacted.set_username("REDACTED");
        let _ = redacted.set_password(Some("REDACTED"));
    }
    if sensitive_query {
        redacted.set_query(query.as_deref());
    }
    redacted.into()
}

/// The response's attributes; a status of 400 and up is an error of a
/// client span (status Error, `error.type` = the code).
pub(crate) fn record_response(pending: &mut Annotations, response: &Response) {
    let code = response.status().as_u16();
    pending.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
    if let Some(version) = protocol_version(response.version()) {
        pending.set_attribute(KeyValue::new("network.protocol.version", version));
    }
    if code >= 400 {
        pending.set_attribute(KeyValue::new("error.type", code.to_string()));
        super::response::set_error(pending, String::new());
    }
}

/// A request that got no response: status Error, `error.type` = what
/// failed, and a description made of the error's causes, never its own
/// message, which quotes the URL with its credentials.
#[cold]
pub(crate) fn record_failure(pending: &mut Annotations, error: &reqwest_middleware::Error) {
    let kind = error_type(error);
    pending.set_attribute(KeyValue::new("error.type", kind));
    let mut description = kind.to_owned();
    if let reqwest_middleware::Error::Reqwest(error) = error {
        let mut cause = std::error::Error::source(error);
        while let Some(error) = cause {
            description.push_str(": ");
            description.push_str(&error.to_string());
            cause = error.source();
        }
    }
    super::response::set_error(pending, description);
}

/// `error.type` of a request that got no response.
fn error_type(error: &reqwest_middleware::Error) -> &'static str {
    if error.is_middleware() {
        "middleware"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_builder() {
        "builder"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

#[cfg(test)]
mod tests {
    use super::super::request::tests::value;
    use super::*;

    #[test]
    fn userinfo_and_signatures_never_reach_url_full() {
        let url = |s: &str| full_url(&Url::parse(s).unwrap());
        assert_eq!(
            url("https://shop.example/items?id=7"),
            "https://shop.example/items?id=7"
        );
        assert_eq!(
            url("https://alice:secret@shop.example:8443/items"),
            "https://REDACTED:REDACTED@shop.example:8443/items"
        );
        assert_eq!(
            url("https://token@shop.example/items"),
            "https://REDACTED:REDACTED@shop.example/items"
        );
        assert_eq!(
            url("https://bucket.example/key?X-Goog-Signature=abc&a=1&sig=x%20y&Signature=s&AWSAccessKeyId=k"),
            "https://bucket.example/key?X-Goog-Signature=REDACTED&a=1&sig=REDACTED&Signature=REDACTED&AWSAccessKeyId=REDACTED"
        );
        assert_eq!(
            url("https://bucket.example/key?signature=lower&sigx=1"),
            "https://bucket.example/key?signature=lower&sigx=1",
            "only the exact keys the conventions name"
        );
    }

    #[test]
    fn request_attributes() {
        let request = Request::new(
            reqwest::Method::from_bytes(b"PURGE").unwrap(),
            Url::parse("http://bob:pw@cache.example/items/7").unwrap(),
        );
        let pending = annotations(&request, Some("/items/{id}"));
        assert_eq!(pending.name.as_deref(), Some("HTTP /items/{id}"));
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(text("http.request.method").as_deref(), Some("_OTHER"));
        assert_eq!(
            text("http.request.method_original").as_deref(),
            Some("PURGE")
        );
        assert_eq!(
            text("url.full").as_deref(),
            Some("http://REDACTED:REDACTED@cache.example/items/7")
        );
        assert_eq!(text("url.template").as_deref(), Some("/items/{id}"));
        assert_eq!(text("server.address").as_deref(), Some("cache.example"));
        assert_eq!(
            value(&pending, "server.port"),
            Some(&opentelemetry::Value::I64(80)),
            "the scheme's default port"
        );

        let get = Request::new(
            reqwest::Method::GET,
            Url::parse("https://api.example:9443/v1").unwrap(),
        );
        let pending = annotations(&get, None);
        assert_eq!(pending.name.as_deref(), Some("GET"));
        let text = |key| value(&pending, key).map(ToString::to_string);
        assert_eq!(text("http.request.method").as_deref(), Some("GET"));
        assert_eq!(text("http.request.method_original"), None);
        assert_eq!(text("url.template"), None);
        assert_eq!(
            value(&pending, "server.port"),
            Some(&opentelemetry::Value::I64(9443))
        );
    }
}
