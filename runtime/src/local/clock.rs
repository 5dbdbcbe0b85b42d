//! Monotonic timestamps anchored once to wall-clock time.
//!
//! Spans store ticks (nanoseconds since the anchor, read from the monotonic
//! clock), so a child always lies within its parent's interval even if the
//! system clock is adjusted while the program runs. The background worker
//! turns ticks into wall-clock times with one addition.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

struct Anchor {
    instant: Instant,
    wall: SystemTime,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| Anchor {
        instant: Instant::now(),
        wall: SystemTime::now(),
    })
}

/// Nanoseconds since the process-wide anchor.
#[inline]
pub(crate) fn now() -> u64 {
    let anchor = anchor();
    // u64 nanoseconds cover 584 years of uptime.
    #[allow(clippy::cast_possible_truncation)]
    let ticks = anchor.instant.elapsed().as_nanos() as u64;
    ticks
}

/// Wall-clock time of a tick.
pub(crate) fn to_system_time(ticks: u64) -> SystemTime {
    anchor().wall + Duration::from_nanos(ticks)
}

/// Anchors the clock now, so the first span does not pay for it.
pub(crate) fn init() {
    anchor();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_monotonic_and_map_to_wall_clock() {
        let a = now();
        let b = now();
        assert!(b >= a);
        let wall = to_system_time(b);
        let drift = SystemTime::now()
            .duration_since(wall)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_secs(5), "drift {drift:?}");
    }
}
