//! What is known about a span at compile time.

use opentelemetry::trace::SpanKind;

/// The role of a span in a distributed operation, as OpenTelemetry defines
/// it (`SpanKind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An operation inside the application (the default).
    #[default]
    Internal,
    /// Handling of a request from a remote client.
    Server,
    /// A request to a remote service.
    Client,
    /// Creation of a message for later asynchronous processing.
    Producer,
    /// Processing of a message created by a producer.
    Consumer,
}

impl From<Kind> for SpanKind {
    fn from(kind: Kind) -> SpanKind {
        match kind {
            Kind::Internal => SpanKind::Internal,
            Kind::Server => SpanKind::Server,
            Kind::Client => SpanKind::Client,
            Kind::Producer => SpanKind::Producer,
            Kind::Consumer => SpanKind::Consumer,
        }
    }
}

/// The static description of one instrumented call site.
///
/// `#[traced]` and `span!` put one of these in a `static` next to the code
/// they instrument, so nothing about the site is allocated per call.
#[derive(Debug)]
pub struct Site {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: Kind,
    /// Instrumentation scope name: the instrumented crate's package name.
    pub scope_name: &'static str,
    /// Instrumentation scope version: the instrumented crate's version.
    pub scope_version: &'static str,
    /// `module_path!()` of the site.
    pub module_path: &'static str,
    /// `file!()` of the site.
    pub file: &'static str,
    /// `line!()` of the site.
    pub line: u32,
}

impl Site {
    /// A site; `scope_name` and `scope_version` are the instrumented crate's
    /// `option_env!("CARGO_PKG_NAME")` and `..._VERSION` (absent when the
    /// crate is not built by cargo).
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        kind: Kind,
        scope_name: Option<&'static str>,
        scope_version: Option<&'static str>,
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Site {
        Site {
            name,
            kind,
            scope_name: match scope_name {
                Some(scope) => scope,
                None => "unknown",
            },
            scope_version: match scope_version {
                Some(version) => version,
                None => "",
            },
            module_path,
            file,
            line,
        }
    }
}
