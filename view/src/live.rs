//! `--listen` with `--print`: each received trace is printed once it has been quiet for a while.
//!
//! A trace has no end marker: spans of one trace arrive in several batches, from several
//! services. So a trace is printed once no span of it has arrived for the quiet period (2 s by
//! default), and then forgotten: spans arriving later for it are printed as a new block under the
//! same trace id.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::model::{Batch, TraceId};
use crate::print::{print_trace, PrintOptions};
use crate::store::TraceStore;

/// Prints each trace from `batches` to `out` once it has been quiet for `quiet`, until the
/// sending side closes (then whatever is pending is printed).
pub fn print_when_quiet(
    batches: &Receiver<Batch>,
    quiet: Duration,
    options: &PrintOptions,
    only: Option<TraceId>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut store = TraceStore::new();
    let mut last_seen: HashMap<TraceId, Instant> = HashMap::new();
    let tick = (quiet / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    loop {
        let closed = match batches.recv_timeout(tick) {
            Ok(batch) => {
                let now = Instant::now();
                let spans = batch
                    .spans
                    .into_iter()
                    .filter(|span| only.is_none_or(|id| id == span.trace_id));
                for span in spans {
                    last_seen.insert(span.trace_id, now);
                    store.extend([span]);
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let mut due: Vec<TraceId> = last_seen
            .iter()
            .filter(|(_, seen)| closed || seen.elapsed() >= quiet)
            .map(|(id, _)| *id)
            .collect();
        due.sort_by_key(|id| store.get(*id).map(|trace| (trace.start_unix_nano(), *id)));
        for id in due {
            last_seen.remove(&id);
            if let Some(trace) = store.remove(id) {
                writeln!(out, "{}", print_trace(&trace, options))?;
            }
        }
        out.flush()?;
        if closed {
            return Ok(());
        }
    }
}
