//! Wall-clock formatting for logs: UTC civil time from `SystemTime`, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant broken into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Civil {
    pub fn from_system(t: SystemTime) -> Civil {
        let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(_) => (0, 0),
        };
        Civil::from_unix(secs, nanos)
    }

    /// Howard Hinnant's days-to-civil algorithm.
    pub fn from_unix(secs: i64, nanos: u32) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            nanos,
        }
    }

    /// `24/Nov/2026:23:30:00 +0000` (the Common Log Format's time, always UTC).
    pub fn clf(&self) -> String {
        let month = MONTHS
            .get(self.month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("Jan");
        format!(
            "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
            self.day, month, self.year, self.hour, self.minute, self.second
        )
    }

    /// `2026-11-24T23:30:00.123456789Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.nanos
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        for (secs, clf, rfc) in [
            (
                0,
                "01/Jan/1970:00:00:00 +0000",
                "1970-01-01T00:00:00.000000000Z",
            ),
            (
                951_782_400, // leap day
                "29/Feb/2000:00:00:00 +0000",
                "2000-02-29T00:00:00.000000000Z",
            ),
            (
                1_795_649_445,
                "25/Nov/2026:23:30:45 +0000",
                "2026-11-25T23:30:45.000000000Z",
            ),
        ] {
            let c = Civil::from_unix(secs, 0);
            assert_eq!(c.clf(), clf);
            assert_eq!(c.rfc3339(), rfc);
        }
        assert_eq!(
            Civil::from_unix(1, 5).rfc3339(),
            "1970-01-01T00:00:01.000000005Z"
        );
    }
}
