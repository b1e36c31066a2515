//! `stripPrefix` and `stripPrefixRegex`: remove a leading part of the path before forwarding.
//!
//! As Traefik: the first configured prefix that is a *string* prefix of the path is removed
//! (`/api` strips `/apiv2` to `/v2`), the removed prefix is appended as `X-Forwarded-Prefix`,
//! the result always starts with `/` and the query string is kept. Matching is on the decoded
//! path (Go's `URL.Path`: `/api%2Fx` starts with `/api/`); the escaped path is cut where the
//! decoded prefix ends and forwarded with its escapes (`path::strip_decoded_prefix`; where Go
//! would turn the rest's `%2F` into separators, swarmgate keeps them encoded). A stripped path with `.`/`..` segments or a duplicate slash
//! is refused with 400, as Traefik refuses it.

use http::{HeaderName, HeaderValue};
use regex::bytes::Regex;

use super::config::{StripPrefixConfig, StripPrefixRegexConfig};
use super::error::MiddlewareError;
use super::path::{decode, set_sanitized_path, strip_decoded_prefix};
use super::response::respond;
use super::Flow;

pub(crate) const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

/// Compiled `stripPrefix`.
#[derive(Debug)]
pub struct StripPrefix {
    /// Prefix and its `X-Forwarded-Prefix` value, in config order.
    prefixes: Vec<(String, HeaderValue)>,
    force_slash: bool,
}

impl StripPrefix {
    pub fn compile(cfg: &StripPrefixConfig) -> Result<Self, MiddlewareError> {
        let mut prefixes = Vec::with_capacity(cfg.prefixes.len());
        for p in &cfg.prefixes {
            if p.is_empty() {
                continue;
            }
            let v = super::error::header_value("stripPrefix", "prefixes", p.trim())?;
            prefixes.push((p.clone(), v));
        }
        if prefixes.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: "stripPrefix",
                option: "prefixes",
            });
        }
        Ok(StripPrefix {
            prefixes,
            force_slash: cfg.force_slash.unwrap_or(false),
        })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        let path = req.uri.path();
        let decoded = decode(path);
        let Some((prefix, value)) = self
            .prefixes
            .iter()
            .find(|(p, _)| decoded.starts_with(p.as_bytes()))
        else {
            return Flow::Continue;
        };
        let rest = strip_decoded_prefix(path, prefix.len(), self.force_slash);
        strip(req, &rest, value.clone())
    }
}

/// Sets the stripped path and the `X-Forwarded-Prefix` header; a stripped path left with `.`/`..`
/// segments or a duplicate slash is refused (400), as Traefik does.
fn strip(req: &mut http::request::Parts, rest: &str, prefix: HeaderValue) -> Flow {
    if let Err(status) = set_sanitized_path(&mut req.uri, rest, http::StatusCode::BAD_REQUEST) {
        return Flow::Respond(respond(status, []));
    }
    req.headers.append(X_FORWARDED_PREFIX, prefix);
    Flow::Continue
}

/// Compiled `stripPrefixRegex`.
#[derive(Debug)]
pub struct StripPrefixRegex {
    /// Each configured regex, anchored at the start of the path.
    regexes: Vec<Regex>,
}

impl StripPrefixRegex {
    pub fn compile(cfg: &StripPrefixRegexConfig) -> Result<Self, MiddlewareError> {
        let mut regexes = Vec::with_capacity(cfg.regex.len());
        for r in &cfg.regex {
            let r = r.trim();
            // Traefik uses the leftmost match only when it starts the path: anchoring is the same.
            let re = Regex::new(&format!("^(?:{r})"))
                .map_err(|e| MiddlewareError::regex("stripPrefixRegex", "regex", r, e))?;
            regexes.push(re);
        }
        if regexes.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: "stripPrefixRegex",
                option: "regex",
            });
        }
        Ok(StripPrefixRegex { regexes })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        let path = req.uri.path();
        let decoded = decode(path);
        for re in &self.regexes {
            let Some(m) = re.find(&decoded) else { continue };
            if m.is_empty() {
                continue;
            }
            let Ok(value) = HeaderValue::from_bytes(m.as_bytes()) else {
                continue;
            };
            let rest = strip_decoded_prefix(path, m.end(), false);
            return strip(req, &rest, value);
        }
        Flow::Continue
    }
}
