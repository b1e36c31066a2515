//! CORS for the `headers` middleware, as Traefik 3.7: preflights answered at once, the
//! `Access-Control-*` response headers for allowed origins (exact or regex), credentials echoing
//! what a `*` list would have allowed.

use http::header::{self, HeaderValue};
use http::Method;
use regex::Regex;

use super::M;
use crate::middleware::config::HeadersConfig;
use crate::middleware::error::{header_value, MiddlewareError};

#[derive(Debug)]
pub(super) struct Cors {
    origin_list: Vec<HeaderValue>,
    origin_regex: Vec<Regex>,
    allow_methods: Option<HeaderValue>,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    credentials: bool,
    /// `*` in the method / header lists: with credentials, echo what the preflight asks for.
    any_method: bool,
    any_header: bool,
    /// `*` in the expose list: with credentials no `Access-Control-Expose-Headers` at all.
    any_expose: bool,
    max_age: Option<HeaderValue>,
    vary: bool,
}

/// `list` joined with `,`, or `None` when empty.
pub(super) fn joined(
    list: &[String],
    option: &'static str,
) -> Result<Option<HeaderValue>, MiddlewareError> {
    if list.is_empty() {
        return Ok(None);
    }
    header_value(M, option, &list.join(",")).map(Some)
}

impl Cors {
    pub(super) fn compile(cfg: &HeadersConfig) -> Result<Option<Self>, MiddlewareError> {
        let defined = cfg.access_control_allow_credentials
            || !cfg.access_control_allow_headers.is_empty()
            || !cfg.access_control_allow_methods.is_empty()
            || !cfg.access_control_allow_origin_list.is_empty()
            || !cfg.access_control_allow_origin_list_regex.is_empty()
            || !cfg.access_control_expose_headers.is_empty()
            || cfg.access_control_max_age.is_some()
            || cfg.add_vary_header;
        if !defined {
            return Ok(None);
        }
        let origin_list = cfg
            .access_control_allow_origin_list
            .iter()
            .map(|o| header_value(M, "accessControlAllowOriginList", o))
            .collect::<Result<_, _>>()?;
        let origin_regex = cfg
            .access_control_allow_origin_list_regex
            .iter()
            .map(|r| {
                Regex::new(r).map_err(|e| {
                    MiddlewareError::regex(M, "accessControlAllowOriginListRegex", r, e)
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Cors {
            origin_list,
            origin_regex,
            allow_methods: joined(
                &cfg.access_control_allow_methods,
                "accessControlAllowMethods",
            )?,
            allow_headers: joined(
                &cfg.access_control_allow_headers,
                "accessControlAllowHeaders",
            )?,
            expose_headers: joined(
                &cfg.access_control_expose_headers,
                "accessControlExposeHeaders",
            )?,
            credentials: cfg.access_control_allow_credentials,
            any_method: cfg.access_control_allow_methods.iter().any(|m| m == "*"),
            any_header: cfg.access_control_allow_headers.iter().any(|h| h == "*"),
            any_expose: cfg.access_control_expose_headers.iter().any(|h| h == "*"),
            max_age: cfg.access_control_max_age.map(HeaderValue::from),
            vary: cfg.add_vary_header,
        }))
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if allowed: the list entry (`*`
    /// included) or, for a regex match, the origin itself. With credentials `*` answers the
    /// origin itself, as Traefik 3.7 does: browsers refuse `*` on a credentialed request.
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let bytes = origin.map_or(&b""[..], HeaderValue::as_bytes);
        if let Some(item) = self
            .origin_list
            .iter()
            .find(|item| item.as_bytes() == b"*" || item.as_bytes() == bytes)
        {
            if item.as_bytes() == b"*" && self.credentials {
                return Some(origin.cloned().unwrap_or(HeaderValue::from_static("")));
            }
            return Some(item.clone());
        }
        let s = origin.and_then(|o| o.to_str().ok()).unwrap_or("");
        if self.origin_regex.iter().any(|re| re.is_match(s)) {
            return origin.cloned().or(Some(HeaderValue::from_static("")));
        }
        None
    }

    pub(super) fn preflight(
        &self,
        req: &http::request::Parts,
    ) -> Option<http::Response<bytes::Bytes>> {
        let origin = req.headers.get(header::ORIGIN)?;
        let method_requested = req.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        if req.method != Method::OPTIONS || origin.is_empty() || method_requested.is_empty() {
            return None;
        }
        let mut resp = http::Response::new(bytes::Bytes::new());
        let h = resp.headers_mut();
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if self.any_header && self.credentials {
            // `*` is no wildcard for a credentialed request: echo what the browser asks for.
            if let Some(v) = req
                .headers
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .filter(|v| !v.is_empty())
            {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
            }
        } else if let Some(v) = &self.allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        if self.any_method && self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                method_requested.clone(),
            );
        } else if let Some(v) = &self.allow_methods {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v.clone());
        }
        if let Some(v) = self.allow_origin(Some(origin)) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if let Some(v) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        self.expose(h);
        Some(resp)
    }

    /// `Access-Control-Expose-Headers`, except `*` with credentials (no wildcard there).
    fn expose(&self, h: &mut http::HeaderMap) {
        if let Some(v) = &self.expose_headers {
            if !(self.any_expose && self.credentials) {
                h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
            }
        }
    }

    pub(super) fn on_response(&self, h: &mut http::HeaderMap, origin: Option<&HeaderValue>) {
        if let Some(v) = self.allow_origin(origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        self.expose(h);
        if !self.vary {
            return;
        }
        let vary = match h.get(header::VARY) {
            Some(v) if v.as_bytes() == b"Origin" => return,
            Some(v) if !v.is_empty() => {
                let mut s = v.as_bytes().to_vec();
                s.extend_from_slice(b",Origin");
                HeaderValue::from_bytes(&s).unwrap_or(HeaderValue::from_static("Origin"))
            }
            _ => HeaderValue::from_static("Origin"),
        };
        h.insert(header::VARY, vary);
    }
}
