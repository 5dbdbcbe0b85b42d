use traced::span;
fn main() {
    let total = {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "block",
            ::traced::__private::Kind::Internal,
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
                    "items",
                    ::traced::__private::to_value(&(3)),
                );
            }
        }
        1 + 2
    };
    let _guard = {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "guard",
            ::traced::__private::Kind::Client,
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
                    "method",
                    ::traced::__private::display(&("GET")),
                );
            }
        }
        __traced_guard
    };
    {
        static __TRACED_SITE: ::traced::__private::Site = ::traced::__private::Site::new(
            "statement",
            ::traced::__private::Kind::Internal,
            ::core::option_env!("CARGO_PKG_NAME"),
            ::core::option_env!("CARGO_PKG_VERSION"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        let __traced_guard = ::traced::__private::enter_with_parent(
            &__TRACED_SITE,
            ::traced::__private::span_ref(&(traced::Span::none())),
        );
    };
    let _ = total;
}
