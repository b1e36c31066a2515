//! `errors` (Traefik v3): when the response status is in `status`, the client gets an error page
//! from `service` instead, fetched with `GET <query>` (the original request's headers and Host),
//! with the original status code (or its `statusRewrites` replacement).
//!
//! `query` placeholders: `{status}` (the status sent to the client, after `statusRewrites`),
//! `{originalStatus}` (the status the chain answered), `{url}` (the request's path and query,
//! query-escaped). The page's headers and body replace the response's; its status is ignored.
//! When the error service cannot answer (no server, connection failure), the original response is
//! returned unchanged.
//!
//! The service is resolved by the table compiler (`name@provider` as for routers); an unknown
//! service disables the routers using the middleware. Fetching the page is the proxy's job
//! (`proxy::error_pages`); this module is the pure part: matching, rewrites, templating.

use std::sync::Arc;

use http::StatusCode;

use super::config::ErrorsConfig;
use super::error::MiddlewareError;
use crate::balance::Service;

const M: &str = "errors";

/// Inclusive status code ranges.
type Ranges = Vec<(u16, u16)>;

/// The options of an `errors` middleware, checked without its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorsOptions {
    status: Ranges,
    rewrites: Vec<(Ranges, StatusCode)>,
    /// Starts with `/`.
    query: String,
}

/// Compiled `errors`.
#[derive(Debug)]
pub struct ErrorPages {
    options: ErrorsOptions,
    pub service: Arc<Service>,
}

/// Parses `"500-599"`, `"404"`, `"500,502"` into inclusive ranges.
fn ranges(option: &'static str, entries: &[&str]) -> Result<Ranges, MiddlewareError> {
    let mut out = Vec::new();
    for entry in entries {
        for part in entry.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = |s: &str| {
                s.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (100..=999).contains(c))
                    .ok_or_else(|| {
                        MiddlewareError::invalid(
                            M,
                            option,
                            part,
                            "expected a status code (100-999) or a range like 500-599",
                        )
                    })
            };
            let range = match part.split_once('-') {
                Some((from, to)) => (code(from)?, code(to)?),
                None => (code(part)?, code(part)?),
            };
            if range.0 > range.1 {
                return Err(MiddlewareError::invalid(
                    M,
                    option,
                    part,
                    "a range goes from the lower code to the higher",
                ));
            }
            out.push(range);
        }
    }
    Ok(out)
}

fn contains(ranges: &Ranges, code: u16) -> bool {
    ranges
        .iter()
        .any(|(from, to)| (*from..=*to).contains(&code))
}

impl ErrorsOptions {
    /// Checks everything but the service.
    pub fn compile(cfg: &ErrorsConfig) -> Result<Self, MiddlewareError> {
        let entries: Vec<&str> = cfg.status.iter().map(String::as_str).collect();
        let status = ranges("status", &entries)?;
        if status.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "status",
            });
        }
        if cfg.service.trim().is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "service",
            });
        }
        let mut rewrites = Vec::new();
        for (from, to) in &cfg.status_rewrites {
            let to = u16::try_from(*to)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| {
                    MiddlewareError::invalid(M, "statusRewrites", to, "not an HTTP status code")
                })?;
            rewrites.push((ranges("statusRewrites", &[from.as_str()])?, to));
        }
        let query = format!(
            "/{}",
            cfg.query.as_deref().unwrap_or("").trim_start_matches('/')
        );
        let options = ErrorsOptions {
            status,
            rewrites,
            query,
        };
        // The template must give a valid request target whatever the status and URL.
        if options.page_target(500, 500, "/x?y=1").is_none() {
            return Err(MiddlewareError::invalid(
                M,
                "query",
                cfg.query.as_deref().unwrap_or(""),
                "not a valid path and query",
            ));
        }
        Ok(options)
    }

    /// The status the client gets when the chain answered `code`, if the middleware catches it.
    pub fn catches(&self, code: StatusCode) -> Option<StatusCode> {
        if !contains(&self.status, code.as_u16()) {
            return None;
        }
        let rewritten = self
            .rewrites
            .iter()
            .find(|(from, _)| contains(from, code.as_u16()))
            .map_or(code, |(_, to)| *to);
        Some(rewritten)
    }

    /// The error page's request target (`query` with its placeholders replaced).
    pub fn page_target(&self, status: u16, original: u16, url: &str) -> Option<http::Uri> {
        let target = self
            .query
            .replace("{status}", &status.to_string())
            .replace("{originalStatus}", &original.to_string())
            .replace("{url}", &query_escape(url));
        http::uri::PathAndQuery::try_from(target)
            .ok()
            .map(http::Uri::from)
    }
}

impl ErrorPages {
    pub fn new(options: ErrorsOptions, service: Arc<Service>) -> Self {
        ErrorPages { options, service }
    }

    pub fn options(&self) -> &ErrorsOptions {
        &self.options
    }
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, the rest `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(status: &[&str], query: &str) -> ErrorsConfig {
        ErrorsConfig {
            status: status.iter().map(|s| s.to_string()).collect(),
            service: "pages".into(),
            query: Some(query.into()),
            status_rewrites: Default::default(),
        }
    }

    #[test]
    fn status_ranges_and_single_codes_match() {
        let o =
            ErrorsOptions::compile(&cfg(&["500-599", "404", "401,403"], "/{status}.html")).unwrap();
        for code in [500, 503, 599, 404, 401, 403] {
            let code = StatusCode::from_u16(code).unwrap();
            assert_eq!(o.catches(code), Some(code), "{code}");
        }
        for code in [200, 302, 400, 402, 405, 499] {
            assert_eq!(
                o.catches(StatusCode::from_u16(code).unwrap()),
                None,
                "{code}"
            );
        }
    }

    #[test]
    fn rewrites_change_the_status_sent() {
        let mut c = cfg(&["500-599", "418"], "/{status}-{originalStatus}.html");
        c.status_rewrites.insert("502-504".into(), 500);
        c.status_rewrites.insert("418".into(), 404);
        let o = ErrorsOptions::compile(&c).unwrap();
        assert_eq!(
            o.catches(StatusCode::BAD_GATEWAY),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(
            o.catches(StatusCode::IM_A_TEAPOT),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            o.catches(StatusCode::SERVICE_UNAVAILABLE),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(
            o.catches(StatusCode::INTERNAL_SERVER_ERROR),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(
            o.page_target(500, 502, "/").unwrap().to_string(),
            "/500-502.html"
        );
    }

    #[test]
    fn query_templates() {
        let o = ErrorsOptions::compile(&cfg(&["404"], "errors/{status}?from={url}")).unwrap();
        assert_eq!(
            o.page_target(404, 404, "/a b/c?d=1&e").unwrap().to_string(),
            "/errors/404?from=%2Fa+b%2Fc%3Fd%3D1%26e"
        );
        let o = ErrorsOptions::compile(&ErrorsConfig {
            query: None,
            ..cfg(&["404"], "")
        })
        .unwrap();
        assert_eq!(o.page_target(404, 404, "/").unwrap().to_string(), "/");
    }

    #[test]
    fn bad_options_are_errors_naming_the_option() {
        for (c, option) in [
            (cfg(&["abc"], "/"), "status"),
            (cfg(&["599-500"], "/"), "status"),
            (cfg(&["99"], "/"), "status"),
            (cfg(&[], "/"), "status"),
            (cfg(&["500"], "/{status} page"), "query"),
            (
                ErrorsConfig {
                    service: " ".into(),
                    ..cfg(&["500"], "/")
                },
                "service",
            ),
            (
                ErrorsConfig {
                    status_rewrites: [("5xx".to_string(), 500)].into(),
                    ..cfg(&["500"], "/")
                },
                "statusRewrites",
            ),
            (
                ErrorsConfig {
                    status_rewrites: [("500".to_string(), 20)].into(),
                    ..cfg(&["500"], "/")
                },
                "statusRewrites",
            ),
        ] {
            let e = ErrorsOptions::compile(&c).unwrap_err().to_string();
            assert!(e.contains("errors") && e.contains(option), "{option}: {e}");
        }
    }
}
