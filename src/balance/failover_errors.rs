//! `failover.errors` (Traefik 3.7), compiled: the main service's status codes that send the
//! request again to the fallback, and how much of the request body is kept to do so.

use crate::config::dynamic::FailoverErrorsConfig;

/// Compiled `failover.errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverErrors {
    /// Inclusive ranges, as Traefik's `types.HTTPCodeRanges`. Empty: never falls back on a
    /// status (Traefik then sends the request to the main service untouched).
    pub status: Vec<(u16, u16)>,
    /// Largest request body kept; `None`: no limit (Traefik's `-1`).
    pub max_request_body_bytes: Option<u64>,
}

impl FailoverErrors {
    /// Reads `failover.errors`; an entry is a code (`"500"`) or a range (`"500-599"`), as
    /// Traefik's `NewHTTPCodeRanges` reads them.
    pub fn compile(cfg: &FailoverErrorsConfig) -> Result<Self, String> {
        let mut status = Vec::with_capacity(cfg.status.len());
        for entry in &cfg.status {
            let code = |s: &str| {
                s.trim().parse::<u16>().map_err(|_| {
                    format!(
                        "errors.status {entry:?}: expected a status code or a range like 500-599"
                    )
                })
            };
            let range = match entry.split_once('-') {
                Some((from, to)) => (code(from)?, code(to)?),
                None => (code(entry)?, code(entry)?),
            };
            status.push(range);
        }
        // Traefik keeps any negative value as "no limit" (`maxRequestBodyBytes < 0`).
        let max_request_body_bytes = u64::try_from(cfg.max_request_body_bytes).ok();
        Ok(FailoverErrors {
            status,
            max_request_body_bytes,
        })
    }

    /// Whether an answer with `code` from the main service goes to the fallback instead.
    pub fn falls_back_on(&self, code: u16) -> bool {
        self.status
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(status: &[&str], max: i64) -> Result<FailoverErrors, String> {
        FailoverErrors::compile(&FailoverErrorsConfig {
            status: status.iter().map(|s| (*s).to_string()).collect(),
            max_request_body_bytes: max,
        })
    }

    #[test]
    fn codes_and_ranges_as_traefik_reads_them() {
        let e = compile(&["500", "502-504"], -1).unwrap();
        assert_eq!(e.status, vec![(500, 500), (502, 504)]);
        assert!(e.falls_back_on(500));
        assert!(!e.falls_back_on(501));
        assert!(e.falls_back_on(503));
        assert!(e.falls_back_on(504));
        assert!(!e.falls_back_on(200));
        assert_eq!(e.max_request_body_bytes, None);
        assert_eq!(compile(&[], 10).unwrap().max_request_body_bytes, Some(10));
        assert!(!compile(&[], 10).unwrap().falls_back_on(500));
    }

    #[test]
    fn a_bad_entry_is_refused_by_name() {
        for bad in ["5xx", "500-", "abc-599", ""] {
            let e = compile(&[bad], -1).unwrap_err();
            assert!(e.contains("errors.status"), "{bad}: {e}");
        }
    }
}
