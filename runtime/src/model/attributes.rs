//! Attributes stored inline: the first few of a span need no allocation.

use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit};

use opentelemetry::{KeyValue, Value};

/// Sets `attribute` in `attributes`, replacing an earlier value under the
/// same key (OpenTelemetry's attribute semantics); a new key is refused,
/// returning false, once `max` keys are there. The one "set" of the model:
/// inline lists, annotations and the export adapter all use it.
pub(crate) fn set(attributes: &mut Vec<KeyValue>, attribute: KeyValue, max: usize) -> bool {
    if let Some(existing) = attributes.iter_mut().find(|kv| kv.key == attribute.key) {
        existing.value = attribute.value;
    } else if attributes.len() < max {
        attributes.push(attribute);
    } else {
        return false;
    }
    true
}

/// How many attributes a span keeps without allocating.
const INLINE: usize = 4;

/// A small list of attributes with set semantics (a later value for a key
/// replaces the earlier one); the first four live inline.
pub(crate) struct InlineAttributes {
    inline: [MaybeUninit<KeyValue>; INLINE],
    len: u8,
    /// Dropped by hand, so that dropping an empty list (every guard, once
    /// its attributes have moved to the record) is two inline checks.
    overflow: ManuallyDrop<Vec<KeyValue>>,
}

impl InlineAttributes {
    pub(crate) const fn new() -> Self {
        InlineAttributes {
            inline: [const { MaybeUninit::uninit() }; INLINE],
            len: 0,
            overflow: ManuallyDrop::new(Vec::new()),
        }
    }

    /// The inline part and the overflow, both mutable.
    fn parts_mut(&mut self) -> (&mut [KeyValue], &mut Vec<KeyValue>) {
        let len = usize::from(self.len);
        // SAFETY: the first `len` inline slots are initialized.
        let inline = unsafe {
            std::slice::from_raw_parts_mut(self.inline.as_mut_ptr().cast::<KeyValue>(), len)
        };
        (inline, &mut *self.overflow)
    }

    fn inline_slice(&self) -> &[KeyValue] {
        let len = usize::from(self.len);
        // SAFETY: the first `len` inline slots are initialized.
        unsafe { std::slice::from_raw_parts(self.inline.as_ptr().cast::<KeyValue>(), len) }
    }

    /// Sets `attribute`, replacing an earlier value under the same key.
    ///
    /// Returns false when the key is new and the list already holds as many
    /// keys as a span may keep (`max()`, and at least the inline ones): the
    /// attribute is dropped, for the caller to count. Only the overflow asks
    /// for the limit, so the common case pays nothing for it; the exact
    /// limit is applied when the span is exported.
    #[inline]
    pub(crate) fn set(&mut self, attribute: KeyValue, max: impl FnOnce() -> usize) -> bool {
        let (inline, overflow) = self.parts_mut();
        if let Some(existing) = inline
            .iter_mut()
            .chain(overflow.iter_mut())
            .find(|kv| kv.key == attribute.key)
        {
            existing.value = attribute.value;
            return true;
        }
        let len = usize::from(self.len);
        if len < INLINE {
            self.inline[len].write(attribute);
            self.len += 1;
            true
        } else if INLINE + self.overflow.len() < max() {
            self.overflow.push(attribute);
            true
        } else {
            false
        }
    }

    /// The attributes in the order they were first set.
    #[cfg(test)]
    pub(crate) fn into_vec(mut self) -> Vec<KeyValue> {
        self.take_vec()
    }

    /// The attributes in the order they were first set, borrowed (for the
    /// native encoders, which write them without copying).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // only the OTLP encoder reads it so
    #[inline]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &KeyValue> {
        self.inline_slice().iter().chain(self.overflow.iter())
    }

    /// Moves the attributes into `dest`, leaving this list empty. Only the
    /// inline slots in use are copied, so a span with few attributes moves
    /// a few words, not the whole inline array.
    #[inline]
    pub(crate) fn move_into(&mut self, dest: &mut MaybeUninit<InlineAttributes>) {
        let len = self.len;
        let dest = dest.as_mut_ptr();
        // SAFETY: `dest` is valid for writes. `len` and `overflow` are
        // written, and the first `len` inline slots get the initialized
        // values of ours (the rest stay uninit, which `MaybeUninit` slots
        // allow), so `dest` is a valid list when this returns. Setting our
        // `len` to zero hands the moved values over: they are dropped once,
        // by `dest`.
        unsafe {
            (&raw mut (*dest).len).write(len);
            // Most spans never overflow: then there is nothing to take.
            let overflow = if self.overflow.capacity() == 0 {
                Vec::new()
            } else {
                std::mem::take(&mut *self.overflow)
            };
            (&raw mut (*dest).overflow).write(ManuallyDrop::new(overflow));
            if len != 0 {
                std::ptr::copy_nonoverlapping(
                    self.inline.as_ptr(),
                    (&raw mut (*dest).inline).cast::<MaybeUninit<KeyValue>>(),
                    usize::from(len),
                );
            }
        }
        self.len = 0;
    }

    /// Whether dropping the list would do nothing.
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))] // read by the OTLP encoder
    #[inline]
    pub(crate) fn is_bare(&self) -> bool {
        self.len == 0 && self.overflow.capacity() == 0
    }

    /// Zero exactly when the list [is bare](Self::is_bare).
    #[inline]
    pub(crate) fn bare_bits(&self) -> usize {
        usize::from(self.len) | self.overflow.capacity()
    }

    /// Heap memory of the attributes past the inline ones.
    pub(crate) fn overflow_bytes(&self) -> usize {
        self.overflow.capacity() * size_of::<KeyValue>()
    }

    /// A copy of the attributes, in the order they were first set.
    #[inline]
    pub(crate) fn to_vec(&self) -> Vec<KeyValue> {
        if self.len == 0 && self.overflow.is_empty() {
            return Vec::new();
        }
        self.copy_to_vec()
    }

    #[inline(never)]
    fn copy_to_vec(&self) -> Vec<KeyValue> {
        let inline = self.inline_slice();
        let mut out = Vec::with_capacity(inline.len() + self.overflow.len());
        // One loop per part, each copy inlined (an iterator chain called a
        // closure per attribute).
        for attribute in inline {
            out.push(copy(attribute));
        }
        for attribute in self.overflow.iter() {
            out.push(copy(attribute));
        }
        out
    }

    /// Moves the attributes out, in the order they were first set, leaving
    /// the list empty.
    #[cfg(test)]
    pub(crate) fn take_vec(&mut self) -> Vec<KeyValue> {
        let len = usize::from(self.len);
        if len == 0 {
            return std::mem::take(&mut *self.overflow);
        }
        let mut out = Vec::with_capacity(len + self.overflow.len());
        self.len = 0;
        for slot in &self.inline[..len] {
            // SAFETY: slots below the old `len` are initialized, and `len`
            // is zero now so `drop` will not read them again.
            out.push(unsafe { slot.assume_init_read() });
        }
        out.append(&mut self.overflow);
        out
    }
}

impl Default for InlineAttributes {
    fn default() -> Self {
        Self::new()
    }
}

impl InlineAttributes {
    /// The part of `drop` that runs when there is something to drop.
    #[inline(never)]
    fn drop_values(&mut self) {
        let len = usize::from(self.len);
        for slot in &mut self.inline[..len] {
            // SAFETY: the first `len` slots are initialized and dropped once
            // (a number or a boolean holds nothing to drop: only its key is).
            unsafe {
                let attribute = slot.assume_init_mut();
                if is_scalar(&attribute.value) {
                    std::ptr::drop_in_place(&raw mut attribute.key);
                } else {
                    slot.assume_init_drop();
                }
            }
        }
        // SAFETY: called once, from `drop`; `overflow` is not used after.
        unsafe { ManuallyDrop::drop(&mut self.overflow) };
    }
}

/// A copy of `attribute`: a number or a boolean is copied here, other values
/// through `Value::clone` (out of line, and many times dearer).
#[allow(clippy::inline_always)] // per attribute, on the send thread's path
#[inline(always)]
fn copy(attribute: &KeyValue) -> KeyValue {
    let value = match attribute.value {
        Value::I64(v) => Value::I64(v),
        Value::Bool(v) => Value::Bool(v),
        Value::F64(v) => Value::F64(v),
        ref other => other.clone(),
    };
    KeyValue::new(attribute.key.clone(), value)
}

/// Whether `value` holds nothing to drop.
#[inline]
fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::I64(_) | Value::Bool(_) | Value::F64(_))
}

impl Drop for InlineAttributes {
    #[inline]
    fn drop(&mut self) {
        // A vector that never allocated holds nothing to drop.
        if self.len != 0 || self.overflow.capacity() != 0 {
            self.drop_values();
        }
    }
}

impl fmt::Debug for InlineAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.inline_slice().iter().chain(self.overflow.iter()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn set_replaces_and_keeps_order_past_the_inline_part() {
        let mut attributes = InlineAttributes::new();
        for i in 0..6 {
            assert!(attributes.set(KeyValue::new(format!("k{i}"), i), || 128));
        }
        assert!(attributes.set(KeyValue::new("k1", 10), || 128));
        assert!(attributes.set(KeyValue::new("k5", 50), || 128));
        let all = attributes.into_vec();
        let values: Vec<String> = all
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        assert_eq!(values, ["k0=0", "k1=10", "k2=2", "k3=3", "k4=4", "k5=50"]);
    }

    #[test]
    fn values_are_dropped_exactly_once() {
        let shared: Arc<str> = Arc::from("v");
        let mut attributes = InlineAttributes::new();
        for i in 0..6 {
            let value = opentelemetry::Value::from(Arc::clone(&shared));
            let _ = attributes.set(KeyValue::new(format!("k{i}"), value), || 128);
        }
        assert_eq!(Arc::strong_count(&shared), 7);
        drop(attributes);
        assert_eq!(Arc::strong_count(&shared), 1);

        let mut attributes = InlineAttributes::new();
        let value = opentelemetry::Value::from(Arc::clone(&shared));
        let _ = attributes.set(KeyValue::new("a", value), || 128);
        let out = attributes.into_vec();
        assert_eq!(Arc::strong_count(&shared), 2);
        drop(out);
        assert_eq!(Arc::strong_count(&shared), 1);
    }

    #[test]
    fn copies_are_equal_and_keys_of_scalar_values_are_dropped_once() {
        let key: Arc<str> = Arc::from("shared.key");
        let text: Arc<str> = Arc::from("text");
        let values = [
            opentelemetry::Value::I64(-7),
            opentelemetry::Value::Bool(true),
            opentelemetry::Value::F64(1.5),
            opentelemetry::Value::from(Arc::clone(&text)),
            opentelemetry::Value::from("static"),
            opentelemetry::Value::I64(9),
        ];
        let mut attributes = InlineAttributes::new();
        for (i, value) in values.iter().enumerate() {
            // Keys shared through an `Arc`, numbered so that each is set anew.
            let name: Arc<str> = if i == 0 {
                Arc::clone(&key)
            } else {
                Arc::from(format!("k{i}"))
            };
            let _ = attributes.set(KeyValue::new(name, value.clone()), || 128);
        }
        // The sixth is past the inline part: the copy reads both parts.
        let copy = attributes.to_vec();
        assert_eq!(copy.len(), 6);
        assert_eq!(copy[0].key.as_str(), "shared.key");
        assert_eq!(copy[5].key.as_str(), "k5");
        for (attribute, value) in copy.iter().zip(&values) {
            assert_eq!(&attribute.value, value);
        }
        assert_eq!((Arc::strong_count(&key), Arc::strong_count(&text)), (3, 4));
        drop(copy);
        assert_eq!((Arc::strong_count(&key), Arc::strong_count(&text)), (2, 3));
        drop(attributes);
        assert_eq!((Arc::strong_count(&key), Arc::strong_count(&text)), (1, 2));
    }

    #[test]
    fn a_full_list_refuses_new_keys_but_takes_updates() {
        // The installed limit (128 unless a test installed other limits).
        let cap = 128;
        let mut attributes = InlineAttributes::new();
        for i in 0..cap {
            assert!(attributes.set(KeyValue::new(format!("k{i}"), 1), || 128));
        }
        assert!(!attributes.set(KeyValue::new("new", 1), || 128));
        assert!(attributes.set(KeyValue::new("k0", 2), || 128));
        assert!(attributes.set(KeyValue::new(format!("k{}", cap - 1), 2), || 128));
        let all = attributes.into_vec();
        assert_eq!(all.len(), cap);
        let two = opentelemetry::Value::I64(2);
        assert_eq!((&all[0].value, &all[cap - 1].value), (&two, &two));
    }
}
