//! `traced-view` shows OpenTelemetry traces as waterfalls in a terminal.
//!
//! It reads OTLP JSON lines files (what the OpenTelemetry file exporters write: one
//! `TracesData` object per line) and receives OTLP/HTTP (protobuf or JSON) live. Each trace is
//! drawn as a tree of spans with bars on a shared time axis, so sequential and parallel work
//! look different. `--print` writes the waterfalls as plain text; without it the traces open in
//! an interactive screen.
//!
//! This library is the program's inside, public so that its tests (and anyone embedding the
//! viewer) can drive it:
//! [`input`] reads files, [`otlp`] decodes both encodings, [`store`] groups spans into traces,
//! [`waterfall`] lays a trace out, [`print`](mod@print) writes it as text, [`receiver`] serves
//! OTLP/HTTP, and [`tui`] is the interactive screen.
//!
//! ```
//! use traced_view::{input::read_lines, print::{print_store, PrintOptions}, store::TraceStore};
//!
//! let line = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /","startTimeUnixNano":"1000000","endTimeUnixNano":"3000000"}]}]}]}"#;
//! let mut store = TraceStore::new();
//! read_lines(line.as_bytes(), &mut store).unwrap();
//! let options = PrintOptions { ascii: true, bar_width: 10 };
//! assert_eq!(
//!     print_store(&store, &options),
//!     "trace 5b8efff798038103d269b633813fc60c  1 span  services: api  duration 2.00ms\n\
//!      GET /  api    2.00ms  ##########\n"
//! );
//! ```

pub mod cli;
pub mod input;
pub mod live;
pub mod model;
pub mod otlp;
pub mod print;
pub mod receiver;
pub mod store;
pub mod tui;
pub mod waterfall;
