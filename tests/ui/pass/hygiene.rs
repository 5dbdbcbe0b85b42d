//! Expansions use absolute paths only: they work without the prelude and
//! next to user items that shadow the usual names.
#![deny(warnings)]

#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod std {}

#[allow(dead_code)]
mod shadowing {
    #![no_implicit_prelude]

    use ::traced::{span, traced};

    pub struct Result;
    pub struct Option;
    pub struct Ok;
    pub struct Err;
    pub struct Some;
    pub struct None;
    pub struct Box;
    pub struct String;
    pub fn drop() {}
    pub fn call() {}
    pub fn enter() {}
    pub mod traced {}
    pub mod __private {}

    #[traced]
    pub fn sync(a: u32) -> ::core::result::Result<u32, ::std::string::String> {
        let guard = 1;
        let ret = a + guard;
        span!("inner", key = ret, {});
        ::core::result::Result::Ok(ret)
    }

    #[traced(ret, attrs(a = a))]
    pub async fn asynchronous(a: u32) -> ::core::option::Option<u32> {
        let _s = span!("in async", n = a);
        ::core::option::Option::Some(a)
    }

    // User locals with the names a reader might expect the expansion to use.
    #[traced(kind = client, parent = ::traced::Span::none())]
    pub fn locals(span: u32, guard: u32, site: u32, ret: u32, sink: u32) -> u32 {
        let value = span!("block", x = span, { span + guard + site + ret + sink });
        let future = span!("async", async move { value });
        ::core::mem::drop(future);
        value
    }
}

fn main() {
    let _ = shadowing::locals(1, 2, 3, 4, 5);
    let _ = shadowing::sync(1);
    let _ = ::futures::executor::block_on(shadowing::asynchronous(1));
}
