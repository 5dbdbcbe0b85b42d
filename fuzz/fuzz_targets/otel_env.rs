//! Every `OTEL_*` parser: the input's lines are `NAME=VALUE` (`*=VALUE` sets every variable
//! not named), read as `init()` and the OTLP and Zipkin exporters read the environment. No
//! value panics, and every setting stays within its documented bounds.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use traced::Sampler;

/// The longest duration any `OTEL_*` variable may set.
const MAX_DURATION: Duration = Duration::from_secs(600);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let lookup = |name: &str| {
        let given = pairs.iter().find(|(n, _)| *n == name);
        let any = || pairs.iter().find(|(n, _)| *n == "*");
        given.or_else(any).map(|(_, value)| (*value).to_owned())
    };
    let settings = traced::__private::read_settings(&lookup);

    let batch = settings.batch;
    assert!(batch.max_queue_size >= 1, "{batch:?}");
    assert!(
        (1..=batch.max_queue_size).contains(&batch.max_export_batch_size),
        "{batch:?}"
    );
    assert!(batch.max_buffer_bytes >= 1, "{batch:?}");
    for delay in [
        batch.scheduled_delay,
        batch.export_timeout,
        settings.otlp.timeout,
    ] {
        assert!(!delay.is_zero() && delay <= MAX_DURATION, "{delay:?}");
    }
    if let Some(timeout) = settings.zipkin_timeout {
        assert!(!timeout.is_zero() && timeout <= MAX_DURATION, "{timeout:?}");
    }
    if let Sampler::TraceIdRatio(ratio) | Sampler::ParentBasedTraceIdRatio(ratio) = settings.sampler
    {
        assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    }
    for (key, _) in &settings.resource_attributes {
        assert!(!key.is_empty() && key.trim() == key, "{key:?}");
    }
});
