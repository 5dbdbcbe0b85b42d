//! The tree exporter behind the default batch pipeline: a trace whose
//! children ended on other threads before its root prints as one tree.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use traced::export::TreeExporter;
use traced::{span, traced, BatchConfig, FutureExt};
use traced_tests::lock;

/// A writer the test reads back.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[traced]
async fn child(i: u32) {
    tokio::time::sleep(Duration::from_millis(1 + u64::from(i))).await;
}

#[traced]
async fn handler() {
    let handles: Vec<_> = (0..3)
        .map(|i| tokio::spawn(child(i).in_current_span()))
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

/// Runs the scenario of the user report under a batch pipeline with `config` and returns
/// what the tree exporter printed: once the last child line shows up when `wait` is set (the
/// pipeline still running), else after the pipeline has shut down.
fn print_tokio_trace(config: BatchConfig, wait: bool) -> String {
    let _lock = lock();
    let buf = SharedBuf::default();
    let guard = traced::builder()
        .with_exporter(TreeExporter::with_writer(buf.clone()))
        .with_batch_processor(config)
        .install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        // This thread's buffer is registered before the runtime threads' ones, so the
        // worker drains it, with the root, before the buffers with the children.
        span!("warmup", {});
        handler().await;
    });
    let take = || String::from_utf8(std::mem::take(&mut *buf.0.lock().unwrap())).unwrap();
    let mut printed = String::new();
    if wait {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !printed.contains("└─ child") && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
            printed.push_str(&take());
        }
    }
    drop(guard);
    drop(runtime);
    if !wait {
        printed = take();
    }
    printed
}

fn assert_whole_trees(printed: &str) {
    assert!(!printed.contains("(parent"), "{printed}");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 7, "{printed}");
    let shapes = [
        "trace ",
        "warmup  ",
        "trace ",
        "handler  ",
        "├─ child  ",
        "├─ child  ",
        "└─ child  ",
    ];
    for (line, shape) in lines.iter().zip(shapes) {
        assert!(
            line.starts_with(shape),
            "{line:?} should start with {shape:?}\n{printed}"
        );
    }
}

#[test]
fn tokio_children_print_under_their_root_delivered_in_the_same_batch() {
    // Nothing is due before the guard's drop flushes: the spans go out in one batch.
    assert_whole_trees(&print_tokio_trace(BatchConfig::default(), false));
}

#[test]
fn tokio_children_print_under_their_root_delivered_in_an_earlier_batch() {
    // One span per export call: the root arrives calls before its children. The trace
    // prints at the end of a scheduled round, before any flush.
    let config = BatchConfig {
        max_export_batch_size: 1,
        scheduled_delay: Duration::from_millis(20),
        ..BatchConfig::default()
    };
    assert_whole_trees(&print_tokio_trace(config, true));
}
