//! `replacePath` and `replacePathRegex`: replace the path (query kept) and record the original in
//! `X-Replaced-Path`, as Traefik does. `replacePathRegex` uses Go-style `$1` / `${name}`
//! replacements (the `regex` crate's syntax is the same); the replacement is trimmed and may be
//! empty, as Traefik's; no match leaves the request alone. A `replacePathRegex` result with
//! `.`/`..` segments or a duplicate slash is refused (400), as Traefik refuses it.

use http::{HeaderName, HeaderValue};
use regex::Regex;

use super::config::{ReplacePathConfig, ReplacePathRegexConfig};
use super::error::MiddlewareError;
use super::path::{decode_strict, encode_raw, set_path, set_sanitized_path, valid_path};
use super::response::respond;
use super::Flow;

pub(crate) const X_REPLACED_PATH: HeaderName = HeaderName::from_static("x-replaced-path");

/// Compiled `replacePath`.
#[derive(Debug)]
pub struct ReplacePath {
    path: String,
}

impl ReplacePath {
    pub fn compile(cfg: &ReplacePathConfig) -> Result<Self, MiddlewareError> {
        if !valid_path(&cfg.path) {
            return Err(MiddlewareError::invalid(
                "replacePath",
                "path",
                &cfg.path,
                "not a valid URI path",
            ));
        }
        Ok(ReplacePath {
            path: cfg.path.clone(),
        })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        replace(req, &self.path)
    }
}

/// Sets `path`, recording the old one in `X-Replaced-Path`.
fn replace(req: &mut http::request::Parts, path: &str) -> Flow {
    let old = HeaderValue::from_str(req.uri.path());
    if set_path(&mut req.uri, path).is_none() {
        return Flow::Respond(respond(http::StatusCode::INTERNAL_SERVER_ERROR, []));
    }
    if let Ok(old) = old {
        req.headers.append(X_REPLACED_PATH, old);
    }
    Flow::Continue
}

/// Compiled `replacePathRegex`.
#[derive(Debug)]
pub struct ReplacePathRegex {
    regex: Regex,
    replacement: String,
}

impl ReplacePathRegex {
    pub fn compile(cfg: &ReplacePathRegexConfig) -> Result<Self, MiddlewareError> {
        let r = cfg.regex.trim();
        let regex =
            Regex::new(r).map_err(|e| MiddlewareError::regex("replacePathRegex", "regex", r, e))?;
        Ok(ReplacePathRegex {
            regex,
            replacement: cfg.replacement.trim().to_owned(),
        })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        if !self.regex.is_match(req.uri.path()) {
            return Flow::Continue;
        }
        let replaced = self
            .regex
            .replace_all(req.uri.path(), self.replacement.as_str());
        // Go unescapes the result (500 when it cannot); bytes Go escapes are encoded in place,
        // so no `%2F` of the result becomes a separator.
        if decode_strict(&replaced).is_none() {
            return Flow::Respond(respond(http::StatusCode::INTERNAL_SERVER_ERROR, []));
        }
        let new = encode_raw(&replaced).into_owned();
        let old = HeaderValue::from_str(req.uri.path());
        if let Err(status) =
            set_sanitized_path(&mut req.uri, &new, http::StatusCode::INTERNAL_SERVER_ERROR)
        {
            return Flow::Respond(respond(status, []));
        }
        if let Ok(old) = old {
            req.headers.append(X_REPLACED_PATH, old);
        }
        Flow::Continue
    }
}
