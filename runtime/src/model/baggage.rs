//! A read-only view of a context's baggage.

use std::fmt;

use super::{BaggageMember, CarriedRef};

/// The W3C Baggage of a context: key/value entries (with optional
/// properties) that travel with a request to every service it reaches.
///
/// Read it with `traced::baggage::current` or
/// [`Context::baggage`](crate::Context::baggage); change it for a scope with
/// [`Context::with_baggage`](crate::Context::with_baggage). A `Baggage`
/// shares the context's entries (cloning it copies a pointer).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Baggage {
    carried: CarriedRef,
}

impl Baggage {
    pub(crate) fn of(carried: &CarriedRef) -> Baggage {
        Baggage {
            carried: carried.clone(),
        }
    }

    fn members(&self) -> &[BaggageMember] {
        self.carried
            .as_deref()
            .map_or(&[], |c| c.baggage.as_slice())
    }

    /// The value of entry `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members()
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.as_str())
    }

    /// The properties of entry `key` (`ttl=60;flag`; empty for none).
    pub fn properties(&self, key: &str) -> Option<&str> {
        self.members()
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.properties.as_str())
    }

    /// The entries (key, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members()
            .iter()
            .map(|m| (m.key.as_str(), m.value.as_str()))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.members().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.members().is_empty()
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Whether `key` can be a baggage key: an RFC 7230 token.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
