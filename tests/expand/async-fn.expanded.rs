use traced::traced;
fn unit() -> impl ::core::future::Future<Output = ()> {
    static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
        "unit",
        ::traced::__private::Kind::Internal,
        ::core::option_env!("CARGO_PKG_NAME"),
        ::core::option_env!("CARGO_PKG_VERSION"),
        ::core::module_path!(),
        ::core::file!(),
        ::core::line!(),
    );
    ::traced::__private::instrument_lazy(&__TRACED_SITE, async move { {} })
}
fn value(n: u32) -> impl ::core::future::Future<Output = Result<u32, String>> {
    static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
        "value",
        ::traced::__private::Kind::Internal,
        ::core::option_env!("CARGO_PKG_NAME"),
        ::core::option_env!("CARGO_PKG_VERSION"),
        ::core::module_path!(),
        ::core::file!(),
        ::core::line!(),
    );
    ::traced::__private::instrument_lazy_inspected(
        &__TRACED_SITE,
        async move {
            let n = n;
            {
                let mut __traced_sink = ::traced::__private::CurrentSpan;
                if ::traced::__private::Sink::is_recording(&__traced_sink) {
                    ::traced::__private::Sink::set_attribute(
                        &mut __traced_sink,
                        "n",
                        ::traced::__private::to_value(&(n)),
                    );
                }
            }
            if let ::core::option::Option::Some(__traced_never) = ::core::option::Option::None::<
                Result<u32, String>,
            > {
                return __traced_never;
            }
            {
                if n == 0 {
                    return Err("zero".into());
                }
                Ok(n)
            }
        },
        |__traced_ret: &_| {
            {
                #[allow(unused_imports)]
                use ::traced::__private::{
                    RecordDebugError as _, RecordDisplayError as _, RecordNothing as _,
                };
                (&&&::traced::__private::Outcome(__traced_ret))
                    .__traced_record(::traced::__private::CurrentSpan);
            }
        },
    )
}
fn returns_future(n: u32) -> impl std::future::Future<Output = u32> {
    {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "returns_future",
            ::traced::__private::Kind::Internal,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        let doubled = n * 2;
        ::traced::__private::instrument_inspected(
            &__TRACED_SITE,
            async move { doubled },
            |__traced_ret: &u32| {
                {
                    #[allow(unused_imports)]
                    use ::traced::__private::{
                        RecordDebugError as _, RecordDisplayError as _,
                        RecordNothing as _,
                    };
                    (&&&::traced::__private::Outcome(__traced_ret))
                        .__traced_record(::traced::__private::CurrentSpan);
                }
            },
        )
    }
}
fn patterns(
    __traced_arg0: (u32, u32),
    __traced_arg1: String,
    count: u32,
) -> impl ::core::future::Future<Output = u32> {
    static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
        "patterns",
        ::traced::__private::Kind::Internal,
        ::core::option_env!("CARGO_PKG_NAME"),
        ::core::option_env!("CARGO_PKG_VERSION"),
        ::core::module_path!(),
        ::core::file!(),
        ::core::line!(),
    );
    ::traced::__private::instrument_lazy_inspected(
        &__TRACED_SITE,
        async move {
            let __traced_arg0 = __traced_arg0;
            let (a, b) = __traced_arg0;
            let __traced_arg1 = __traced_arg1;
            let _ = __traced_arg1;
            let mut count = count;
            if let ::core::option::Option::Some(__traced_never) = ::core::option::Option::None::<
                u32,
            > {
                return __traced_never;
            }
            {
                count += a;
                count + b
            }
        },
        |__traced_ret: &_| {
            {
                #[allow(unused_imports)]
                use ::traced::__private::{
                    RecordDebugError as _, RecordDisplayError as _, RecordNothing as _,
                };
                (&&&::traced::__private::Outcome(__traced_ret))
                    .__traced_record(::traced::__private::CurrentSpan);
            }
        },
    )
}
struct Store;
impl Store {
    fn get(
        &self,
        parent: traced::Span,
        key: &str,
    ) -> impl ::core::future::Future<Output = Option<&str>> {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "get",
            ::traced::__private::Kind::Internal,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        ::traced::__private::instrument_lazy_with_parent_inspected(
            &__TRACED_SITE,
            ::traced::__private::span_ref(&(parent)),
            async move {
                let _ = &self;
                #[allow(unused_variables)]
                let parent = parent;
                let key = key;
                if let ::core::option::Option::Some(__traced_never) = ::core::option::Option::None::<
                    Option<&str>,
                > {
                    return __traced_never;
                }
                { Some(key) }
            },
            |__traced_ret: &_| {
                {
                    #[allow(unused_imports)]
                    use ::traced::__private::{
                        RecordDebugError as _, RecordDisplayError as _,
                        RecordNothing as _,
                    };
                    (&&&::traced::__private::Outcome(__traced_ret))
                        .__traced_record(::traced::__private::CurrentSpan);
                }
            },
        )
    }
}
