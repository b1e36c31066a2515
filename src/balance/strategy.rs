//! Traefik 3.7's `loadBalancer.strategy` choices beyond weighted round robin: `p2c` (power of two
//! random choices, the one with fewer requests in flight) and `hrw` (highest random weight: the
//! server with the highest `weight / -ln(h)` where `h` is the FNV-1a 64 hash of the client IP
//! followed by the server URL, scaled to [0, 1), as Traefik's `hrw` balancer computes it, so the
//! same client lands on the same server in both); `leasttime` (see `least_time`).

use std::net::IpAddr;

/// How a load balancer picks among its usable servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    #[default]
    Wrr,
    P2c,
    Hrw,
    /// `leasttime` (see `balance::least_time`).
    LeastTime,
}

impl Strategy {
    /// Traefik's names (`wrr` or empty: the default).
    pub fn parse(name: Option<&str>) -> Result<Strategy, String> {
        match name.unwrap_or("") {
            "" | "wrr" => Ok(Strategy::Wrr),
            "p2c" => Ok(Strategy::P2c),
            "hrw" => Ok(Strategy::Hrw),
            "leasttime" => Ok(Strategy::LeastTime),
            other => Err(format!(
                "loadBalancer.strategy {other:?} is not supported by swarmgate (wrr, p2c, hrw, leasttime)"
            )),
        }
    }
}

/// FNV-1a, 64 bits (Go's `hash/fnv` New64a).
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Traefik's `getNodeScore`: `weight / -ln(fnv64a(src + name) / 2^64)`.
pub fn hrw_score(src: &str, name: &str, weight: u32) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let score = fnv1a64(&[src.as_bytes(), name.as_bytes()]) as f64 / 18_446_744_073_709_551_616.0;
    (1.0 / -score.ln()) * f64::from(weight)
}

/// The key Traefik's hrw hashes: the client's IP as Go prints it.
pub fn hrw_key(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// Two distinct indices below `n` (n ≥ 2) from one random number, as Traefik draws them (a
/// second draw equal to the first moves to the next index).
pub fn two_choices(n: usize, random: u64) -> (usize, usize) {
    #[allow(clippy::cast_possible_truncation)]
    let (a, b) = (
        (random % n as u64) as usize,
        ((random >> 32) % n as u64) as usize,
    );
    if a == b {
        (a, (b + 1) % n)
    } else {
        (a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_go() {
        // Go: fnv.New64a() of "" and "a".
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"a", b"bc"]), fnv1a64(&[b"abc"]));
    }

    #[test]
    fn names_and_scores() {
        assert_eq!(Strategy::parse(None), Ok(Strategy::Wrr));
        assert_eq!(Strategy::parse(Some("hrw")), Ok(Strategy::Hrw));
        assert_eq!(Strategy::parse(Some("leasttime")), Ok(Strategy::LeastTime));
        assert!(Strategy::parse(Some("LeastTime")).is_err());
        let s = hrw_score("127.0.0.1", "http://a", 1);
        assert!(s > 0.0 && s.is_finite());
        assert!((hrw_score("127.0.0.1", "http://a", 3) - 3.0 * s).abs() < 1e-9);
        for r in [0u64, 1, 7, u64::MAX, 0x0000_0001_0000_0001] {
            let (a, b) = two_choices(3, r);
            assert!(a < 3 && b < 3 && a != b);
        }
    }
}
