//! Every free-function shape #[traced] accepts.
#![deny(warnings)]

use std::fmt::Display;

use traced::traced;

#[traced]
fn plain() {}

#[traced("named")]
fn positional_name() -> u8 {
    1
}

#[traced(name = "named")]
fn keyword_name() -> u8 {
    1
}

/// Doc comments and other attributes stay on the function.
#[traced]
#[must_use]
#[inline]
fn with_attributes(a: u8) -> u8 {
    #![allow(clippy::identity_op)]
    a + 0
}

#[traced]
fn generic<T: Clone + Display, const N: usize>(items: [T; N]) -> Vec<String>
where
    T: Send,
{
    items.iter().map(ToString::to_string).collect()
}

#[traced]
fn lifetimes<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

#[traced]
fn elided(s: &str) -> &str {
    &s[1..]
}

#[traced]
fn impl_arg(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[traced]
fn impl_return(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[traced]
fn mutable_args(mut n: u32, (a, b): (u32, u32)) -> u32 {
    n += a + b;
    n
}

#[traced]
fn early_return(n: i32) -> Result<i32, String> {
    if n < 0 {
        return Err(format!("negative: {n}"));
    }
    let parsed: i32 = "7".parse().map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(n + parsed)
}

#[traced]
fn option_question(v: &[u8]) -> Option<u8> {
    let first = v.first()?;
    Some(*first)
}

/// # Safety
/// Reads through `p`.
#[traced]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    unsafe { *p }
}

#[traced]
extern "C" fn extern_c(a: i32) -> i32 {
    a * 2
}

#[traced]
fn never_returns() -> ! {
    std::process::exit(0)
}

#[traced]
fn recursion(n: u64) -> u64 {
    if n == 0 { 0 } else { n + recursion(n - 1) }
}

#[traced]
fn unit_explicit() -> () {}

#[traced]
fn r#match() {}

#[traced]
pub(crate) fn visibility() {}

fn main() {
    plain();
    let _ = positional_name() + keyword_name() + with_attributes(1);
    let _ = generic([1, 2, 3]);
    let _ = lifetimes("a", "b");
    let _ = elided("ab");
    let _ = impl_arg(vec![1, 2]);
    let _ = impl_return(3).count();
    let _ = mutable_args(1, (2, 3));
    let _ = early_return(1);
    let _ = option_question(&[1]);
    let _ = unsafe { unsafe_fn(&5) };
    let _ = extern_c(2);
    let _ = recursion(3);
    unit_explicit();
    r#match();
    visibility();
    if std::env::args().count() > 100 {
        never_returns();
    }
}
