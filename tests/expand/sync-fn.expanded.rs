use traced::traced;
fn unit(a: u32) {
    {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "unit",
            ::traced::__private::Kind::Internal,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        let __traced_guard = ::traced::__private::enter(&__TRACED_SITE);
        println!("{a}");
    }
}
fn fallible(input: &str) -> Result<u32, std::num::ParseIntError> {
    {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "parse",
            ::traced::__private::Kind::Internal,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        let mut __traced_guard = ::traced::__private::enter(&__TRACED_SITE);
        let __traced_ret: Result<u32, std::num::ParseIntError> = ::traced::__private::call(move || -> Result<
            u32,
            std::num::ParseIntError,
        > {
            let value = input.parse()?;
            Ok(value)
        });
        {
            #[allow(unused_imports)]
            use ::traced::__private::{
                RecordDebugError as _, RecordDisplayError as _, RecordNothing as _,
            };
            (&&&::traced::__private::Outcome(&__traced_ret))
                .__traced_record(&mut __traced_guard);
        }
        __traced_ret
    }
}
fn options(user: u64) -> u64 {
    {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "options",
            ::traced::__private::Kind::Server,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        let mut __traced_guard = ::traced::__private::enter(&__TRACED_SITE);
        {
            let mut __traced_sink = &mut __traced_guard;
            if ::traced::__private::Sink::is_recording(&__traced_sink) {
                ::traced::__private::Sink::set_attribute(
                    &mut __traced_sink,
                    "user.id",
                    ::traced::__private::to_value(&(user)),
                );
                ::traced::__private::Sink::set_attribute(
                    &mut __traced_sink,
                    "shown",
                    ::traced::__private::display(&(user)),
                );
            }
        }
        let __traced_ret: u64 = ::traced::__private::call(move || -> u64 { user });
        {
            #[allow(unused_imports)]
            use ::traced::__private::{RecordDebugReturn as _, RecordTypedReturn as _};
            (&&::traced::__private::Outcome(&__traced_ret))
                .__traced_ret(&mut __traced_guard);
        }
        __traced_ret
    }
}
struct Repo;
impl Repo {
    fn get(&self, parent: &traced::Context) -> Option<&str> {
        {
            static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
                "get",
                ::traced::__private::Kind::Internal,
                ::core::option_env!("CARGO_PKG_NAME"),
                ::core::option_env!("CARGO_PKG_VERSION"),
                ::core::module_path!(),
                ::core::file!(),
                ::core::line!(),
            );
            let mut __traced_guard = ::traced::__private::enter_with_parent(
                &__TRACED_SITE,
                ::traced::__private::span_ref(&(parent)),
            );
            let __traced_ret: Option<&str> = ::traced::__private::call(move || -> Option<
                &str,
            > { None });
            {
                #[allow(unused_imports)]
                use ::traced::__private::{
                    RecordDebugError as _, RecordDisplayError as _, RecordNothing as _,
                };
                (&&&::traced::__private::Outcome(&__traced_ret))
                    .__traced_record(&mut __traced_guard);
            }
            __traced_ret
        }
    }
}
