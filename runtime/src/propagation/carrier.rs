//! Carriers: where propagation headers are read from and written to.

use std::collections::{BTreeMap, HashMap};

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// A carrier headers can be read from: `http::HeaderMap`, string maps,
/// `Vec<(String, String)>`, or an OpenTelemetry `Extractor` wrapped in
/// [`OtelExtractor`]. Names are matched case-insensitively.
pub trait Extract {
    /// The first value of header `name`.
    fn get(&self, name: &str) -> Option<&str>;

    /// Every value of header `name`, in order (for headers that may repeat,
    /// such as `tracestate` and `baggage`).
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.get(name).into_iter().collect()
    }

    /// Whether header `name` has more than one value.
    fn is_repeated(&self, name: &str) -> bool {
        self.get_all(name).len() > 1
    }

    /// Whether the carrier may hold a header whose lowercase name `wanted` accepts: `true`
    /// unless the carrier can tell from its names alone, without a lookup, that it holds none
    /// (as `http::HeaderMap`, whose names are lowercase, does). [`extract`](super::extract)
    /// asks it first and returns at once when no propagation header is there.
    fn may_contain(&self, wanted: fn(&str) -> bool) -> bool {
        let _ = wanted;
        true
    }
}

/// A carrier headers can be written to. Header names are lowercase.
pub trait Inject {
    /// Sets header `name` to `value`, replacing any earlier value.
    fn set(&mut self, name: &str, value: String);
}

impl Extract for HeaderMap {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderMap::get(self, name).and_then(|v| v.to_str().ok())
    }

    fn get_all(&self, name: &str) -> Vec<&str> {
        HeaderMap::get_all(self, name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    fn is_repeated(&self, name: &str) -> bool {
        HeaderMap::get_all(self, name).iter().nth(1).is_some()
    }

    /// One pass over the names, no hashing: a request without propagation headers costs a few
    /// comparisons per header instead of a lookup per header `extract` reads.
    fn may_contain(&self, wanted: fn(&str) -> bool) -> bool {
        self.keys().any(|name| wanted(name.as_str()))
    }
}

impl Inject for HeaderMap {
    fn set(&mut self, name: &str, value: String) {
        // Values traced writes are ASCII without control characters.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            self.insert(name, value);
        }
    }
}

fn find<'a, I>(entries: I, name: &str) -> Option<&'a str>
where
    I: IntoIterator<Item = (&'a String, &'a String)>,
{
    entries
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl<S: std::hash::BuildHasher> Extract for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name)
            .map(String::as_str)
            .or_else(|| find(self.iter(), name))
    }
}

impl<S: std::hash::BuildHasher> Inject for HashMap<String, String, S> {
    fn set(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value);
    }
}

impl Extract for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name)
            .map(String::as_str)
            .or_else(|| find(self.iter(), name))
    }
}

impl Inject for BTreeMap<String, String> {
    fn set(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value);
    }
}

impl Extract for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn get_all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .nth(1)
            .is_some()
    }
}

impl Inject for Vec<(String, String)> {
    fn set(&mut self, name: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.push((name.to_owned(), value));
    }
}

impl<T: Extract + ?Sized> Extract for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }

    fn get_all(&self, name: &str) -> Vec<&str> {
        (**self).get_all(name)
    }

    fn is_repeated(&self, name: &str) -> bool {
        (**self).is_repeated(name)
    }

    fn may_contain(&self, wanted: fn(&str) -> bool) -> bool {
        (**self).may_contain(wanted)
    }
}

/// Any OpenTelemetry `Extractor` as a carrier.
#[derive(Debug)]
pub struct OtelExtractor<'a, E: ?Sized>(pub &'a E);

impl<E: opentelemetry::propagation::Extractor + ?Sized> Extract for OtelExtractor<'_, E> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .get_all(name)
            .unwrap_or_else(|| self.get(name).into_iter().collect())
    }
}

/// Any OpenTelemetry `Injector` as a carrier.
#[derive(Debug)]
pub struct OtelInjector<'a, I: ?Sized>(pub &'a mut I);

impl<I: opentelemetry::propagation::Injector + ?Sized> Inject for OtelInjector<'_, I> {
    fn set(&mut self, name: &str, value: String) {
        self.0.set(name, value);
    }
}
