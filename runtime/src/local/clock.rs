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
    /// without a `SystemTime` per tick. Based at the anchor's tick; an
    /// encoder rebases it near its batch's ticks ([`UnixNanos::based_at`]).
    pub(crate) fn unix_nanos(self) -> UnixNanos {
        let wall = self.wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        UnixNanos::new(
            self.ticks,
            self.rate,
            u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX),
        )
    }
}

/// Ticks to nanoseconds since the Unix epoch (see [`Converter::unix_nanos`]).
///
/// A tick a little after the base tick (within [`UnixNanos::limit`] ticks,
/// seconds) is converted with one 64-bit multiply, an add and a shift: the
/// base's product, kept split at the binary point, makes the result the
/// one the full 128-bit conversion gives, bit for bit. Any other tick takes
/// the full conversion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnixNanos {
    ticks: u64,
    rate: u64,
    wall: u64,
    /// The base tick, at or after the anchor's.
    base: u64,
    /// How many ticks after `base` the short conversion covers (0: none).
    limit: u64,
    /// The fraction bits of the base's product, `(base - ticks) * rate`.
    low: u64,
    /// `wall` plus the whole nanoseconds of the base's product.
    high: u64,
}

impl UnixNanos {
    fn new(ticks: u64, rate: u64, wall: u64) -> Self {
        let full = UnixNanos {
            ticks,
            rate,
            wall,
            base: ticks,
            limit: 0,
            low: 0,
            high: 0,
        };
        full.based_at(ticks)
    }

    /// The same conversion, made short for ticks from `base` on (for a
    /// batch: a little before its first record's start).
    #[must_use]
    pub(crate) fn based_at(self, base: u64) -> Self {
        let base = base.max(self.ticks);
        let product = u128::from(base - self.ticks) * u128::from(self.rate);
        let whole = u64::try_from(product >> RATE_SHIFT).ok();
        #[allow(clippy::cast_possible_truncation)] // the low 32 bits
        let low = (product as u64) & ((1 << RATE_SHIFT) - 1);
        // The short path adds under 2^32 nanoseconds to `high`: only when
        // that cannot saturate is it exact.
        let high = whole
            .and_then(|whole| self.wall.checked_add(whole))
            .filter(|high| high.checked_add(1 << RATE_SHIFT).is_some());
        let (limit, high) = match high {
            // `low + d * rate` must fit in 64 bits (and its shift in 32).
            Some(high) => ((u64::MAX - low) / self.rate.max(1), high),
            None => (0, 0),
        };
        // A tick before `base` wraps to at least `2^64 - base`: kept out.
        let limit = if base == 0 {
            limit
        } else {
            limit.min(base.wrapping_neg())
        };
        UnixNanos {
            base,
            limit,
            low,
            high,
            ..self
        }
    }

    /// Nanoseconds since the Unix epoch of a tick.
    #[inline]
    pub(crate) fn of(self, ticks: u64) -> u64 {
        let since = ticks.wrapping_sub(self.base);
        if since < self.limit {
            // No overflow: `since < limit` (see `based_at`).
            self.high + ((self.low + since * self.rate) >> RATE_SHIFT)
        } else {
            self.full(ticks)
        }
    }

    /// Wall-clock time of a tick: the same value as
    /// [`Converter::to_system_time`] gives, with the short conversion.
    #[inline]
    pub(crate) fn system_time(self, ticks: u64) -> SystemTime {
        const NANOS_PER_SECOND: u64 = 1_000_000_000;
        let nanos = self.of(ticks);
        #[allow(clippy::cast_possible_truncation)] // below 10^9
        let subsec = (nanos % NANOS_PER_SECOND) as u32;
        UNIX_EPOCH + Duration::new(nanos / NANOS_PER_SECOND, subsec)
    }

    /// The full conversion: any tick.
    #[cold]
    #[inline(never)]
    fn full(self, ticks: u64) -> u64 {
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
    fn the_short_conversion_gives_the_full_one_bit_for_bit() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let rates = [1 << RATE_SHIFT, 0x6a3d_70a3, 0x1_0000_0001, 1, 0, u64::MAX];
        let walls = [1_765_000_000_000_000_000, 0, u64::MAX - (1 << 33), u64::MAX];
        for &rate in &rates {
            for &wall in &walls {
                let anchor = next() >> 8;
                let times = UnixNanos::new(anchor, rate, wall);
                for _ in 0..2_000 {
                    let base = anchor.wrapping_add(next() >> (next() % 64));
                    let based = times.based_at(base);
                    for tick in [
                        base,
                        base.wrapping_sub(1),
                        base.wrapping_add(based.limit),
                        base.wrapping_add(based.limit.wrapping_sub(1)),
                        base.wrapping_add(next() % based.limit.max(1)),
                        base.wrapping_add(next() >> (next() % 64)),
                        anchor.wrapping_sub(1),
                        next(),
                    ] {
                        assert_eq!(
                            based.of(tick),
                            times.full(tick),
                            "rate {rate:#x} wall {wall} anchor {anchor} base {base} tick {tick}"
                        );
                    }
                }
            }
        }
        // A real batch's ticks take the short path.
        let times = UnixNanos::new(1_000, 0x6a3d_70a3, 1_765_000_000_000_000_000);
        let based = times.based_at(5_000_000_000);
        assert!(based.limit > 1 << 32, "{}", based.limit);
    }

    #[test]
    fn system_times_from_the_short_conversion_equal_the_converters() {
        let clock = Converter {
            ticks: 1_000,
            rate: 0x6a3d_70a3,
            wall: UNIX_EPOCH + Duration::new(1_765_000_000, 123_456_789),
        };
        let times = clock.unix_nanos().based_at(5_000_000_000);
        for tick in [
            0,
            999,
            1_000,
            4_999_999_999,
            5_000_000_000,
            5_000_000_001,
            5_000_000_000 + 3_000_000_000,
            // Beyond the short conversion's reach (about 10^10 ticks
            // at this rate) and far beyond it.
            5_000_000_000 + 40_000_000_000,
            1 << 50,
        ] {
            assert_eq!(
                times.system_time(tick),
                clock.to_system_time(tick),
                "tick {tick}"
            );
        }
        // Whole seconds and the nanoseconds below them are split right.
        let at = times.system_time(5_000_000_000 + 3_000_000_000);
        let since = at.duration_since(UNIX_EPOCH).unwrap();
        assert!(since.subsec_nanos() < 1_000_000_000);
        assert!(since > Duration::new(1_765_000_000, 0));
    }

    #[test]
    fn ticks_from_other_threads_share_the_origin() {
        let mine = now();
        let theirs = std::thread::spawn(now).join().unwrap();
        let after = now();
        assert!(mine <= theirs && theirs <= after);
    }
}
