//! Timestamps: a cheap per-call tick, converted to wall-clock time off the
//! calling thread.
//!
//! On `x86_64`, when the kernel itself keeps time with the TSC (the
//! `clocksource` is `tsc`, which Linux only selects when the TSC is
//! invariant and synchronised across cores), a tick is one `rdtsc`: a few
//! nanoseconds, against tens for `clock_gettime`. Elsewhere a tick is a
//! nanosecond of `Instant`. Either way the ticks of all threads share one
//! origin and one rate, so a child always lies within its parent's
//! interval.
//!
//! The rate is measured once per process, over 5 ms, when the first
//! pipeline is installed, and kept in 32.32 fixed point: the worker turns a
//! tick into nanoseconds with one multiply and a shift. Reading a tick
//! costs one relaxed load of a flag and the `rdtsc`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Anchor {
    tsc: bool,
    ticks: u64,
    instant: Instant,
    wall: SystemTime,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();
/// Set once the anchor exists and ticks are TSC reads: what `now` reads
/// first, one relaxed load instead of the `OnceLock` check and a field.
static TSC: AtomicBool = AtomicBool::new(false);
/// Nanoseconds per tick in 32.32 fixed point: converting a tick is a
/// multiply and a shift, with no float conversions. The rounding (a part in
/// 10^9 of the rate) is far below the calibration's own error.
static RATE: OnceLock<u64> = OnceLock::new();

/// The fraction bits of [`RATE`].
const RATE_SHIFT: u32 = 32;

/// How long the tick rate is measured against the monotonic clock.
const CALIBRATION: Duration = Duration::from_millis(5);

#[cfg(target_arch = "x86_64")]
fn tsc_is_reliable() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|source| source.trim() == "tsc")
}

#[cfg(not(target_arch = "x86_64"))]
fn tsc_is_reliable() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> u64 {
    0
}

fn anchor() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        let tsc = tsc_is_reliable();
        let anchor = Anchor {
            tsc,
            ticks: if tsc { read_tsc() } else { 0 },
            instant: Instant::now(),
            wall: SystemTime::now(),
        };
        // After the anchor's tick: no tick read through `TSC` precedes it.
        TSC.store(tsc, Ordering::Relaxed);
        anchor
    })
}

/// The current tick.
#[inline]
pub(crate) fn now() -> u64 {
    if TSC.load(Ordering::Relaxed) {
        return read_tsc();
    }
    let anchor = anchor();
    if anchor.tsc {
        read_tsc()
    } else {
        // u64 nanoseconds cover 584 years of uptime.
        #[allow(clippy::cast_possible_truncation)]
        let ticks = anchor.instant.elapsed().as_nanos() as u64;
        ticks
    }
}

fn rate() -> u64 {
    *RATE.get_or_init(|| {
        let anchor = anchor();
        if !anchor.tsc {
            return 1 << RATE_SHIFT;
        }
        let waited = anchor.instant.elapsed();
        if waited < CALIBRATION {
            std::thread::sleep(CALIBRATION.saturating_sub(waited));
        }
        let ticks = read_tsc().wrapping_sub(anchor.ticks);
        let nanos = anchor.instant.elapsed().as_nanos();
        let rate = (nanos << RATE_SHIFT) / u128::from(ticks.max(1));
        u64::try_from(rate).unwrap_or(u64::MAX)
    })
}

/// Turns ticks into wall-clock time: the anchor and the rate, read once
/// for many ticks (the worker takes one per batch it drains).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Converter {
    ticks: u64,
    rate: u64,
    wall: SystemTime,
}

impl Converter {
    /// Wall-clock time of a tick.
    #[inline]
    pub(crate) fn to_system_time(self, ticks: u64) -> SystemTime {
        let elapsed = ticks.saturating_sub(self.ticks);
        let nanos = (u128::from(elapsed) * u128::from(self.rate)) >> RATE_SHIFT;
        self.wall + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Converter {
    /// The conversion to nanoseconds since the Unix epoch, for encoders
    /// that write times as numbers: the same values as `to_system_time`,
    /// without a `SystemTime` per tick.
    pub(crate) fn unix_nanos(self) -> UnixNanos {
        let wall = self.wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        UnixNanos {
            ticks: self.ticks,
            rate: self.rate,
            wall: u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

/// Ticks to nanoseconds since the Unix epoch (see [`Converter::unix_nanos`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnixNanos {
    ticks: u64,
    rate: u64,
    wall: u64,
}

impl UnixNanos {
    /// Nanoseconds since the Unix epoch of a tick.
    #[inline]
    pub(crate) fn of(self, ticks: u64) -> u64 {
        let elapsed = ticks.saturating_sub(self.ticks);
        let nanos = (u128::from(elapsed) * u128::from(self.rate)) >> RATE_SHIFT;
        self.wall
            .saturating_add(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Converter {
    /// The tick of a wall-clock time (the anchor's tick for a time before
    /// it): for spans whose start or end is given as a time, as the
    /// OpenTelemetry API allows.
    pub(crate) fn to_ticks(self, time: SystemTime) -> u64 {
        let nanos = time
            .duration_since(self.wall)
            .unwrap_or_default()
            .as_nanos();
        let ticks = (nanos << RATE_SHIFT) / u128::from(self.rate.max(1));
        self.ticks
            .saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX))
    }
}

/// The converter for this process's clock.
pub(crate) fn converter() -> Converter {
    let anchor = anchor();
    Converter {
        ticks: anchor.ticks,
        rate: rate(),
        wall: anchor.wall,
    }
}

/// Wall-clock time of a tick.
pub(crate) fn to_system_time(ticks: u64) -> SystemTime {
    converter().to_system_time(ticks)
}

/// Anchors and calibrates the clock (once per process, about 5 ms), so
/// neither the first span nor the first export pays for it.
pub(crate) fn init() {
    rate();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_monotonic_and_map_to_wall_clock() {
        let a = now();
        std::thread::sleep(Duration::from_millis(2));
        let b = now();
        assert!(b > a);
        let gap = to_system_time(b).duration_since(to_system_time(a)).unwrap();
        assert!(
            gap >= Duration::from_millis(2) && gap < Duration::from_millis(500),
            "{gap:?}"
        );
        let drift = SystemTime::now()
            .duration_since(to_system_time(now()))
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_millis(50), "drift {drift:?}");
    }

    #[test]
    fn ticks_from_other_threads_share_the_origin() {
        let mine = now();
        let theirs = std::thread::spawn(now).join().unwrap();
        let after = now();
        assert!(mine <= theirs && theirs <= after);
    }
}
