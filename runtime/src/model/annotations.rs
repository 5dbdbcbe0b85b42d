//! What is added to a span after it started: attributes set through its
//! handle, events, links, status, a new name, a changed trace state.

use std::borrow::Cow;

use opentelemetry::trace::{Event, Link, Status};
use opentelemetry::KeyValue;

use super::RecordingLimits;

/// Annotations of a span in progress, kept within the span's count limits
/// (what they refuse is counted, so exported dropped counts are complete).
#[derive(Clone, Debug)]
pub(crate) struct Annotations {
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<Event>,
    pub(crate) status: Status,
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) links: Vec<Link>,
    /// Attributes, events and links refused because their list was full.
    pub(crate) dropped_attributes: u32,
    pub(crate) dropped_events: u32,
    pub(crate) dropped_links: u32,
    limits: RecordingLimits,
}

/// A span's annotations, allocated on the first one.
pub(crate) type AnnotationsBox = Option<Box<Annotations>>;

impl Annotations {
    /// None yet, to be kept within `limits`.
    pub(crate) fn new(limits: RecordingLimits) -> Annotations {
        Annotations {
            attributes: Vec::new(),
            events: Vec::new(),
            status: Status::Unset,
            name: None,
            links: Vec::new(),
            dropped_attributes: 0,
            dropped_events: 0,
            dropped_links: 0,
            limits,
        }
    }

    /// Sets the status with the precedence rules of the OpenTelemetry
    /// specification: `Ok` is final, `Unset` never overrides, `Error`
    /// replaces `Unset` and an earlier `Error`.
    pub(crate) fn set_status(&mut self, status: Status) {
        match (&self.status, &status) {
            (Status::Ok, _) | (_, Status::Unset) => {}
            _ => self.status = status,
        }
    }

    /// Adds annotations made elsewhere (they win over earlier ones).
    pub(crate) fn merge(&mut self, other: Annotations) {
        for attribute in other.attributes {
            self.set_attribute(attribute);
        }
        for event in other.events {
            self.add_event(event);
        }
        for link in other.links {
            self.add_link(link);
        }
        self.dropped_attributes = self
            .dropped_attributes
            .saturating_add(other.dropped_attributes);
        self.dropped_events = self.dropped_events.saturating_add(other.dropped_events);
        self.dropped_links = self.dropped_links.saturating_add(other.dropped_links);
        self.set_status(other.status);
        if other.name.is_some() {
            self.name = other.name;
        }
    }

    /// Sets an attribute, replacing an earlier value under the same key; a
    /// new key is refused (and counted) once the span's limit is reached.
    pub(crate) fn set_attribute(&mut self, attribute: KeyValue) {
        if !super::attributes::set(&mut self.attributes, attribute, self.limits.attributes) {
            self.dropped_attributes = self.dropped_attributes.saturating_add(1);
        }
    }

    /// Adds an event, unless the span's limit is reached (then counts it).
    pub(crate) fn add_event(&mut self, event: Event) {
        if self.events.len() < self.limits.events {
            self.events.push(event);
        } else {
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    /// Adds a link, unless the span's limit is reached (then counts it).
    pub(crate) fn add_link(&mut self, link: Link) {
        if self.links.len() < self.limits.links {
            self.links.push(link);
        } else {
            self.dropped_links = self.dropped_links.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: usize) -> RecordingLimits {
        RecordingLimits {
            attributes: n,
            events: n,
            links: n,
        }
    }

    #[test]
    fn status_precedence_follows_the_spec() {
        let mut p = Annotations::new(limits(8));
        p.set_status(Status::error("a"));
        p.set_status(Status::Unset);
        assert_eq!(p.status, Status::error("a"));
        p.set_status(Status::Ok);
        p.set_status(Status::error("b"));
        assert_eq!(p.status, Status::Ok);
    }

    #[test]
    fn lists_stop_at_their_limits_and_count_what_they_refuse() {
        let mut p = Annotations::new(limits(1));
        p.set_attribute(KeyValue::new("a", 1));
        p.set_attribute(KeyValue::new("b", 2));
        p.set_attribute(KeyValue::new("a", 3));
        assert_eq!(
            p.attributes,
            [KeyValue::new("a", 3)],
            "a kept key still updates"
        );
        assert_eq!(p.dropped_attributes, 1);
        let event = || Event::with_name("e");
        p.add_event(event());
        p.add_event(event());
        assert_eq!((p.events.len(), p.dropped_events), (1, 1));
    }
}
