//! Conversion of attribute expressions into OpenTelemetry values.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

/// A type that can be recorded as a span attribute value.
///
/// `span!("name", key = expr)` takes `expr` by reference and records
/// `expr.to_value()`, so recording never moves the caller's variable.
/// Implemented for integers, floats, `bool`, string types, slices, arrays
/// and `Vec`s of those, and references and smart pointers to all of them.
///
/// OpenTelemetry integers are `i64`. A `u64`, `usize`, `u128` or `i128`
/// that does not fit is recorded as its decimal string rather than wrapped,
/// so such a key can hold an integer on one span and a string on another;
/// record `key = %value` to always get a string.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a span attribute value",
    label = "not an attribute value",
    note = "attribute values are integers, floats, `bool`, strings and arrays of those; record the `Display` form with `key = %value` or the `Debug` form with `key = ?value`"
)]
pub trait ToValue {
    /// The attribute value.
    fn to_value(&self) -> Value;
}

macro_rules! lossless_int {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            #[inline]
            fn to_value(&self) -> Value {
                Value::I64(i64::from(*self))
            }
        }
    )*};
}
lossless_int!(i8, i16, i32, i64, u8, u16, u32);

// Integers wider than i64: recorded as numbers when they fit, else as their
// decimal string so no value is silently wrapped.
macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            #[inline]
            fn to_value(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
        }
    )*};
}
wide_int!(u64, usize, isize, i128, u128);

impl ToValue for f64 {
    #[inline]
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
}

impl ToValue for f32 {
    #[inline]
    fn to_value(&self) -> Value {
        Value::F64(f64::from(*self))
    }
}

impl ToValue for bool {
    #[inline]
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::String(self.to_owned().into())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone().into())
    }
}

impl ToValue for Cow<'static, str> {
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(self.clone()))
    }
}

impl ToValue for Arc<str> {
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(Arc::clone(self)))
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for StringValue {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToValue for Array {
    fn to_value(&self) -> Value {
        Value::Array(self.clone())
    }
}

/// A type whose slices are recorded as a homogeneous OpenTelemetry array.
///
/// Integers become an `i64` array; an integer type wider than `i64` does so
/// only when every item fits, else the array holds their decimal strings (as
/// for a single value: nothing is silently wrapped).
pub trait ArrayItem: Sized {
    /// The array of `items`.
    fn array(items: &[Self]) -> Array;
}

macro_rules! array_item {
    ($($t:ty => $variant:ident($convert:expr)),* $(,)?) => {$(
        impl ArrayItem for $t {
            fn array(items: &[Self]) -> Array {
                Array::$variant(items.iter().map($convert).collect())
            }
        }
    )*};
}
array_item!(
    i8 => I64(|v| i64::from(*v)),
    i16 => I64(|v| i64::from(*v)),
    i32 => I64(|v| i64::from(*v)),
    i64 => I64(|v| *v),
    u8 => I64(|v| i64::from(*v)),
    u16 => I64(|v| i64::from(*v)),
    u32 => I64(|v| i64::from(*v)),
    f32 => F64(|v| f64::from(*v)),
    f64 => F64(|v| *v),
    bool => Bool(|v| *v),
    String => String(|v| StringValue::from(v.clone())),
    &str => String(|v| StringValue::from((*v).to_owned())),
    Cow<'static, str> => String(|v| StringValue::from(v.clone())),
    Arc<str> => String(|v| StringValue::from(v.to_string())),
);

macro_rules! wide_array_item {
    ($($t:ty),*) => {$(
        impl ArrayItem for $t {
            fn array(items: &[Self]) -> Array {
                match items.iter().map(|v| i64::try_from(*v)).collect() {
                    Ok(numbers) => Array::I64(numbers),
                    Err(_) => Array::String(items.iter().map(|v| v.to_string().into()).collect()),
                }
            }
        }
    )*};
}
wide_array_item!(u64, usize, isize, i128, u128);

impl<T: ArrayItem> ToValue for [T] {
    fn to_value(&self) -> Value {
        Value::Array(T::array(self))
    }
}

impl<T: ArrayItem, const N: usize> ToValue for [T; N] {
    fn to_value(&self) -> Value {
        Value::Array(T::array(self))
    }
}

impl<T: ArrayItem> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::Array(T::array(self))
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for &mut T {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for Rc<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_type() {
        assert_eq!(3_u8.to_value(), Value::I64(3));
        assert_eq!((-3_i32).to_value(), Value::I64(-3));
        assert_eq!(
            u64::MAX.to_value(),
            Value::String("18446744073709551615".into())
        );
        assert_eq!(7_usize.to_value(), Value::I64(7));
        assert_eq!(1.5_f32.to_value(), Value::F64(1.5));
        assert_eq!(true.to_value(), Value::Bool(true));
        assert_eq!("s".to_value(), Value::String("s".into()));
        assert_eq!(String::from("t").to_value(), Value::String("t".into()));
        assert_eq!((&&5_i64).to_value(), Value::I64(5));
        assert_eq!(
            vec![1_i64, 2].to_value(),
            Value::Array(Array::I64(vec![1, 2]))
        );
        assert_eq!(
            [1, 2, 3].to_value(),
            Value::Array(Array::I64(vec![1, 2, 3]))
        );
        assert_eq!([0.5_f32].to_value(), Value::Array(Array::F64(vec![0.5])));
        assert_eq!(
            [1_u64, u64::MAX].to_value(),
            Value::Array(Array::String(vec![
                "1".into(),
                "18446744073709551615".into()
            ]))
        );
        assert_eq!([7_usize].to_value(), Value::Array(Array::I64(vec![7])));
        assert_eq!(
            ["a", "b"][..].to_value(),
            Value::Array(Array::String(vec!["a".into(), "b".into()]))
        );
    }
}
