//! Drives an exporter's future to completion on the current thread.
//!
//! `SpanExporter::export` returns a future. The exporters traced ships
//! finish on their first poll; others (network exporters) may wait on I/O
//! driven by their own threads. A thread-parking waker with a deadline is
//! all that needs, without pulling in an async runtime.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` until it completes or `timeout` passes (`None`).
pub(crate) fn block_on_timeout<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_future_completes() {
        assert_eq!(
            block_on_timeout(async { 7 }, Duration::from_secs(1)),
            Some(7)
        );
    }

    #[test]
    fn woken_from_another_thread() {
        struct Later(
            Option<thread::JoinHandle<()>>,
            Arc<std::sync::atomic::AtomicBool>,
        );
        impl Future for Later {
            type Output = u8;
            fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
                if self.1.load(std::sync::atomic::Ordering::SeqCst) {
                    return Poll::Ready(1);
                }
                if self.0.is_none() {
                    let waker = cx.waker().clone();
                    let flag = Arc::clone(&self.1);
                    self.0 = Some(thread::spawn(move || {
                        thread::sleep(Duration::from_millis(20));
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        waker.wake();
                    }));
                }
                Poll::Pending
            }
        }
        let flag = Arc::default();
        assert_eq!(
            block_on_timeout(Later(None, flag), Duration::from_secs(5)),
            Some(1)
        );
    }

    #[test]
    fn never_ready_future_times_out() {
        let start = Instant::now();
        let out = block_on_timeout(std::future::pending::<()>(), Duration::from_millis(50));
        assert_eq!(out, None);
        assert!(start.elapsed() >= Duration::from_millis(50));
    }
}
