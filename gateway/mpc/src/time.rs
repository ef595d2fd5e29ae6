//! Wall-clock instants as the engine sees them, and Plivo's timestamp format.

use std::fmt;

/// Milliseconds since the Unix epoch, UTC. The engine never reads a clock:
/// its driver passes one of these with every input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `secs` seconds later.
    pub fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// Whole seconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0) / 1000
    }
}

/// `YYYY-MM-DD HH:mm:ss+00:00`, the format of every Plivo callback
/// timestamp (a space, not `T`; chorus reports UTC).
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1000;
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}+00:00",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_plivo() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00:00+00:00");
        // 2020-07-09 07:25:07 UTC, the example in the notes.
        assert_eq!(
            Timestamp(1_594_279_507_000).to_string(),
            "2020-07-09 07:25:07+00:00"
        );
        // A leap day, and the last second of a year.
        assert_eq!(
            Timestamp(951_782_400_999).to_string(),
            "2000-02-29 00:00:00+00:00"
        );
        assert_eq!(
            Timestamp(1_704_067_199_000).to_string(),
            "2023-12-31 23:59:59+00:00"
        );
    }

    #[test]
    fn durations_round_down_and_never_go_negative() {
        let t = Timestamp(10_000);
        assert_eq!(t.plus_secs(5).secs_since(t), 5);
        assert_eq!(Timestamp(10_999).secs_since(t), 0);
        assert_eq!(t.secs_since(t.plus_secs(1)), 0);
    }
}
