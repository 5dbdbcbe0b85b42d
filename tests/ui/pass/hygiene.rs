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
    pub mod traced_items {
        #[allow(non_camel_case_types)]
        pub struct traced;
    }

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
}

fn main() {
    let _ = shadowing::sync(1);
    let _ = ::futures::executor::block_on(shadowing::asynchronous(1));
}
