//! A span's context: its ids and flags, and what the request it descends
//! from brought along.

use std::sync::Arc;

/// W3C Trace Context `sampled` flag.
pub(crate) const FLAG_SAMPLED: u8 = 0x01;
/// W3C Trace Context level 2 `random` flag: the trace id's right-most 7
/// bytes are random.
pub(crate) const FLAG_RANDOM: u8 = 0x02;

/// Ids and flags of a span, enough to parent children and propagate.
///
/// `Copy` and 32 bytes: this is what the per-thread current-span cell, the
/// guards and the records hold on the hot path. What a request brought
/// (trace state, baggage) is kept beside it as a [`Carried`] pointer, which
/// is `None` in the common case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanCtx {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) sampled: bool,
    /// A span of another process (an extracted parent), not of this one.
    pub(crate) remote: bool,
    /// W3C Trace Context level 2 "random" flag (true for every trace traced
    /// starts).
    pub(crate) random: bool,
}

impl SpanCtx {
    /// Whether this is a span of this process that records: sampled, and
    /// not a remote parent carried through.
    #[inline]
    pub(crate) fn is_recording(self) -> bool {
        self.sampled && !self.remote
    }

    /// The W3C trace flags: sampled and random.
    #[inline]
    pub(crate) fn flags(self) -> u8 {
        let mut flags = 0;
        if self.sampled {
            flags |= FLAG_SAMPLED;
        }
        if self.random {
            flags |= FLAG_RANDOM;
        }
        flags
    }
}

/// One W3C Baggage list-member: a key, its (decoded) value, and its
/// properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaggageMember {
    /// An RFC 7230 `token`, never percent-decoded (`%` is a token character).
    pub(crate) key: String,
    /// The value, `%`-escapes decoded as UTF-8 (bytes that are not UTF-8
    /// become U+FFFD).
    pub(crate) value: String,
    /// The properties after the first `;` as written in the header, each
    /// trimmed, empty ones left out, joined by `;` (`k1=v1;k2`; empty for
    /// none). Property values stay percent-encoded: the spec gives them no
    /// meaning, and decoded values could hold `;`.
    pub(crate) properties: String,
}

/// What a context carries besides ids: the W3C `tracestate` entries
/// (most recent vendor first), the baggage, and the B3 debug flag.
///
/// It arrives with a request (an extracted parent) or is set in process (a
/// baggage scope, a span updating its trace state), and is shared, never
/// copied, by every span and task of that context: one `Arc` per change,
/// and no process-wide table, so two requests never see each other's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Carried {
    /// `(key, value)`, valid and distinct, at most 32, most recent first.
    pub(crate) trace_state: Vec<(String, String)>,
    /// In order; a key appears once (a later set replaces the earlier).
    pub(crate) baggage: Vec<BaggageMember>,
    /// A B3 debug flag came with the request; B3 requires passing it on.
    pub(crate) b3_debug: bool,
}

/// The shared pointer a context holds; `None` when nothing was carried.
pub(crate) type CarriedRef = Option<Arc<Carried>>;

/// Most `tracestate` entries ("There can be a maximum of 32 list-members").
pub(crate) const MAX_TRACE_STATE: usize = 32;

/// Longest `tracestate` key and value (256 characters each).
const MAX_TRACE_STATE_LEN: usize = 256;

/// A W3C `tracestate` key: `( lcalpha / DIGIT ) 0*255( keychar )` with
/// `keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"` (the current
/// specification; the Level 1 `tenant@system` form with its per-part limits
/// was dropped in w3c/trace-context#386).
pub(crate) fn valid_trace_state_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= MAX_TRACE_STATE_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// A W3C `tracestate` value: `0*255(chr) nblk-chr` with `chr = %x20 /
/// nblk-chr` and `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`: 1 to 256
/// printable ASCII characters without `,` or `=`, not ending in a space.
pub(crate) fn valid_trace_state_value(value: &str) -> bool {
    let printable = |b: u8| matches!(b, 0x20..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e);
    value.len() <= MAX_TRACE_STATE_LEN
        && value.bytes().all(printable)
        && value.bytes().last().is_some_and(|b| b != b' ')
}

impl Carried {
    /// `None` for nothing carried, else a shared pointer to `self`.
    pub(crate) fn into_ref(self) -> CarriedRef {
        (!self.is_empty()).then(|| Arc::new(self))
    }

    /// Whether it carries nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.trace_state.is_empty() && self.baggage.is_empty() && !self.b3_debug
    }

    /// A copy of what `carried` holds (empty for `None`), to change.
    pub(crate) fn of(carried: &CarriedRef) -> Carried {
        carried.as_deref().cloned().unwrap_or_default()
    }

    /// The trace state entry of `key`.
    pub(crate) fn trace_state_value(&self, key: &str) -> Option<&str> {
        self.trace_state
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets trace state entry `key` and moves it to the front, as the W3C
    /// spec's "mutating" rules ask of the vendor updating its entry; the
    /// right-most entry goes when the list is full. An entry outside the
    /// grammar is refused: `false`, nothing changed.
    pub(crate) fn update_trace_state(&mut self, key: &str, value: &str) -> bool {
        if !valid_trace_state_key(key) || !valid_trace_state_value(value) {
            return false;
        }
        self.trace_state.retain(|(k, _)| k != key);
        if self.trace_state.len() == MAX_TRACE_STATE {
            self.trace_state.pop();
        }
        self.trace_state
            .insert(0, (key.to_owned(), value.to_owned()));
        true
    }

    /// The baggage value of `key`.
    pub(crate) fn baggage_value(&self, key: &str) -> Option<&str> {
        self.baggage
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.as_str())
    }

    /// Sets baggage entry `key`, replacing an earlier one in place.
    pub(crate) fn set_baggage(&mut self, key: &str, value: &str, properties: &str) {
        let member = BaggageMember {
            key: key.to_owned(),
            value: value.to_owned(),
            properties: properties.to_owned(),
        };
        match self.baggage.iter_mut().find(|m| m.key == key) {
            Some(existing) => *existing = member,
            None => self.baggage.push(member),
        }
    }

    /// Removes baggage entry `key`.
    pub(crate) fn remove_baggage(&mut self, key: &str) {
        self.baggage.retain(|m| m.key != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_updated_trace_state_entry_moves_to_the_front() {
        let mut carried = Carried {
            trace_state: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            ..Carried::default()
        };
        assert!(carried.update_trace_state("b", "3"));
        assert!(!carried.update_trace_state("B", "3"), "keys are lower case");
        assert!(
            !carried.update_trace_state("b", "x,y"),
            "no commas in values"
        );
        assert_eq!(
            carried.trace_state,
            [("b".into(), "3".into()), ("a".into(), "1".into())]
        );
        assert!(carried.update_trace_state("c", "4"));
        assert_eq!(carried.trace_state[0], ("c".into(), "4".into()));
        assert_eq!(carried.trace_state.len(), 3);
    }

    #[test]
    fn a_full_trace_state_drops_its_right_most_entry() {
        let mut carried = Carried::default();
        for i in 0..MAX_TRACE_STATE {
            assert!(carried.update_trace_state(&format!("k{i}"), "v"));
        }
        assert!(carried.update_trace_state("new", "v"));
        assert_eq!(carried.trace_state.len(), MAX_TRACE_STATE);
        assert_eq!(carried.trace_state[0].0, "new");
        assert!(carried.trace_state_value("k0").is_none(), "the oldest went");
    }

    #[test]
    fn baggage_set_replaces_in_place_and_nothing_carried_is_none() {
        let mut carried = Carried::default();
        assert!(carried.clone().into_ref().is_none());
        carried.set_baggage("tenant", "a", "");
        carried.set_baggage("user", "u", "");
        carried.set_baggage("tenant", "b", "ttl=60");
        let keys: Vec<_> = carried.baggage.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["tenant", "user"]);
        assert_eq!(carried.baggage_value("tenant"), Some("b"));
        carried.remove_baggage("tenant");
        carried.remove_baggage("user");
        assert!(carried.into_ref().is_none());
    }

    #[test]
    fn flags_hold_sampled_and_random() {
        let ctx = SpanCtx {
            trace_id: 1,
            span_id: 1,
            sampled: true,
            remote: false,
            random: true,
        };
        assert_eq!(ctx.flags(), 0x03);
        assert_eq!(
            SpanCtx {
                sampled: false,
                ..ctx
            }
            .flags(),
            0x02
        );
    }
}
