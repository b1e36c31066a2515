//! Durations as Traefik writes them: Go duration strings (`10s`, `1m30s`, `500ms`, `1h`) or a bare
//! number of seconds (`10`, `"10"`). Pure.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `std::time::Duration` that (de)serializes in Traefik's notation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }

    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| DurationError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        // A bare number is seconds (Traefik accepts ints for durations).
        if let Ok(secs) = s.parse::<f64>() {
            if !secs.is_finite() || secs < 0.0 {
                return Err(err("must be a non-negative number"));
            }
            return Ok(Duration(std::time::Duration::from_secs_f64(secs)));
        }
        let mut total = 0f64;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| err("missing unit (ns, us, ms, s, m, h)"))?;
            if num_len == 0 {
                return Err(err("expected a number"));
            }
            let value: f64 = rest[..num_len].parse().map_err(|_| err("bad number"))?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(err("unknown unit (ns, us, ms, s, m, h)")),
            };
            total += value * factor;
            rest = &rest[unit_len..];
        }
        if !total.is_finite() || total > 1e12 {
            return Err(err("too large"));
        }
        Ok(Duration(std::time::Duration::from_secs_f64(total)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{}s", d.as_secs())
        } else if d.as_nanos().is_multiple_of(1_000_000) {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{}ns", d.as_nanos())
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"10s\", \"500ms\" or a number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom("duration must not be negative"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
                if (0.0..1e12).contains(&v) {
                    Ok(Duration(std::time::Duration::from_secs_f64(v)))
                } else {
                    Err(E::custom("duration must be a non-negative number"))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations_and_seconds() {
        let cases = [
            ("10s", 10_000),
            ("500ms", 500),
            ("1m30s", 90_000),
            ("1h", 3_600_000),
            ("2", 2_000),
            ("1.5s", 1_500),
        ];
        for (input, ms) in cases {
            let d: Duration = input.parse().unwrap();
            assert_eq!(d.0.as_millis(), ms, "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for input in ["", "s", "10x", "-1", "ms10"] {
            assert!(input.parse::<Duration>().is_err(), "{input}");
        }
    }

    #[test]
    fn serde_accepts_numbers_and_strings() {
        #[derive(Deserialize)]
        struct T {
            a: Duration,
            b: Duration,
        }
        let t: T = serde_json::from_str(r#"{"a": 5, "b": "250ms"}"#).unwrap();
        assert_eq!(t.a, Duration::from_secs(5));
        assert_eq!(t.b, Duration::from_millis(250));
    }
}
