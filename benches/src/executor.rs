//! The smallest executor that drives the async scenario: one future, polled
//! on the calling thread until it completes.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

/// Polls `future` on this thread until it is ready. The waker does nothing:
/// the futures of the benches are never waiting on anything but
/// [`YieldOnce`], which is ready at its next poll.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A future that is pending at its first poll and ready at the second, so
/// every async span in the benches is suspended once and resumed: the
/// instrumentation's work on every poll is part of what is measured.
#[derive(Debug, Default)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
