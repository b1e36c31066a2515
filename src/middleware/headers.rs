//! `headers`: custom request/response headers, security headers and CORS, as Traefik's
//! `headers` middleware.
//!
//! Request side: a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`,
//! when any CORS option is set) is answered at once with 200; `allowedHosts` rejects other hosts
//! with 500 "Bad Host" (Traefik's secure handler); then `customRequestHeaders` are set (an empty
//! value removes the header). Response side, in Traefik's order: security headers, then
//! `customResponseHeaders`, then CORS (`Access-Control-Allow-Origin` only for an allowed origin,
//! credentials, expose headers, `Vary: Origin`). As Traefik 3.7: with credentials a `*` origin,
//! method or header list echoes what the request asks for (browsers refuse `*` there), and
//! `Access-Control-Max-Age` is sent only when configured.

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use regex::Regex;

use super::config::HeadersConfig;
use super::error::{header_name, header_value, MiddlewareError};
use super::response::respond;
use super::{Flow, RequestContext, RequestFacts};

const M: &str = "headers";

/// Compiled `headers`.
#[derive(Debug)]
pub struct Headers {
    request_set: Vec<(HeaderName, HeaderValue)>,
    request_remove: Vec<HeaderName>,
    /// A custom `Host`, also as the URI authority (HTTP/2, absolute-form) when it is one.
    host: Option<(HeaderValue, Option<http::uri::Authority>)>,
    /// The forwarded headers `customRequestHeaders` decides, which the proxy must leave alone.
    forwarded: ForwardedOverrides,
    response_set: Vec<(HeaderName, HeaderValue)>,
    response_remove: Vec<HeaderName>,
    /// Security headers set on every response.
    secure: Vec<(HeaderName, HeaderValue)>,
    /// Security headers set only on TLS requests (or always with `forceSTSHeader` for STS).
    sts: Option<HeaderValue>,
    force_sts: bool,
    public_key: Option<HeaderValue>,
    allowed_hosts: Vec<String>,
    hosts_proxy_headers: Vec<HeaderName>,
    cors: Option<Cors>,
}

/// What `customRequestHeaders` decided about the forwarded headers the proxy writes when it
/// forwards (`proxy::forward`). Traefik writes them before its middlewares, so there a
/// middleware's choice stands; the proxy reads this request extension to do the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardedOverrides {
    /// The client's own host when a custom `Host` replaced it: `X-Forwarded-Host` and
    /// `X-Forwarded-Port` still name it.
    pub client_host: Option<HeaderValue>,
    /// `X-Forwarded-For: ""`: unless a later middleware sets one, the backend gets none (Go's
    /// proxy appends nothing to a nil header).
    pub omit_for: bool,
    /// Set or removed by the middleware: the proxy writes none of its own.
    pub real_ip: bool,
    pub proto: bool,
    pub host: bool,
    pub port: bool,
    pub server: bool,
}

impl ForwardedOverrides {
    fn any(&self) -> bool {
        *self != ForwardedOverrides::default()
    }

    /// Adds what an earlier middleware decided (the first kept client host wins).
    fn merge(&mut self, earlier: &ForwardedOverrides) {
        if earlier.client_host.is_some() {
            self.client_host = earlier.client_host.clone();
        }
        self.omit_for |= earlier.omit_for;
        self.real_ip |= earlier.real_ip;
        self.proto |= earlier.proto;
        self.host |= earlier.host;
        self.port |= earlier.port;
        self.server |= earlier.server;
    }
}

#[derive(Debug)]
struct Cors {
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

/// Splits a custom-header map into headers to set and headers to remove.
type HeaderOps = (Vec<(HeaderName, HeaderValue)>, Vec<HeaderName>);

fn custom(
    map: &std::collections::BTreeMap<String, String>,
    option: &'static str,
) -> Result<HeaderOps, MiddlewareError> {
    let (mut set, mut remove) = (Vec::new(), Vec::new());
    for (k, v) in map {
        let name = header_name(M, option, k)?;
        if v.is_empty() {
            remove.push(name);
        } else {
            set.push((name, header_value(M, option, v)?));
        }
    }
    Ok((set, remove))
}

/// `list` joined with `,`, or `None` when empty.
fn joined(list: &[String], option: &'static str) -> Result<Option<HeaderValue>, MiddlewareError> {
    if list.is_empty() {
        return Ok(None);
    }
    header_value(M, option, &list.join(",")).map(Some)
}

fn non_empty(
    value: &str,
    option: &'static str,
    name: HeaderName,
    out: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<(), MiddlewareError> {
    if !value.is_empty() {
        out.push((name, header_value(M, option, value)?));
    }
    Ok(())
}

impl Headers {
    pub fn compile(cfg: &HeadersConfig) -> Result<Self, MiddlewareError> {
        let (mut request_set, mut request_remove) =
            custom(&cfg.custom_request_headers, "customRequestHeaders")?;
        // Traefik's `Header.Del("Host")` touches nothing: the host is not a header in Go.
        request_remove.retain(|name| name != header::HOST);
        let host = request_set
            .iter()
            .position(|(name, _)| name == header::HOST)
            .map(|i| request_set.remove(i).1)
            .map(|v| {
                let authority = http::uri::Authority::try_from(v.as_bytes()).ok();
                (v, authority)
            });
        let decided = |name: &str| {
            request_set.iter().any(|(n, _)| n == name) || request_remove.iter().any(|n| n == name)
        };
        let forwarded = ForwardedOverrides {
            client_host: None,
            omit_for: request_remove.iter().any(|n| n == "x-forwarded-for"),
            real_ip: decided("x-real-ip"),
            proto: decided("x-forwarded-proto"),
            host: decided("x-forwarded-host"),
            port: decided("x-forwarded-port"),
            server: decided("x-forwarded-server"),
        };
        let (response_set, response_remove) =
            custom(&cfg.custom_response_headers, "customResponseHeaders")?;

        let mut secure = Vec::new();
        let frame = match (cfg.custom_frame_options_value.as_str(), cfg.frame_deny) {
            ("", true) => "DENY",
            (v, _) => v,
        };
        non_empty(
            frame,
            "customFrameOptionsValue",
            header::X_FRAME_OPTIONS,
            &mut secure,
        )?;
        if cfg.content_type_nosniff {
            secure.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        let xss = match (
            cfg.custom_browser_xss_value.as_str(),
            cfg.browser_xss_filter,
        ) {
            ("", true) => "1; mode=block",
            (v, _) => v,
        };
        non_empty(
            xss,
            "customBrowserXSSValue",
            header::X_XSS_PROTECTION,
            &mut secure,
        )?;
        non_empty(
            &cfg.content_security_policy,
            "contentSecurityPolicy",
            header::CONTENT_SECURITY_POLICY,
            &mut secure,
        )?;
        non_empty(
            &cfg.content_security_policy_report_only,
            "contentSecurityPolicyReportOnly",
            header::CONTENT_SECURITY_POLICY_REPORT_ONLY,
            &mut secure,
        )?;
        non_empty(
            &cfg.referrer_policy,
            "referrerPolicy",
            header::REFERRER_POLICY,
            &mut secure,
        )?;
        non_empty(
            &cfg.permissions_policy,
            "permissionsPolicy",
            HeaderName::from_static("permissions-policy"),
            &mut secure,
        )?;

        if cfg.sts_seconds < 0 {
            return Err(MiddlewareError::invalid(
                M,
                "stsSeconds",
                cfg.sts_seconds,
                "must not be negative",
            ));
        }
        let sts = if cfg.sts_seconds > 0 && !cfg.is_development {
            let mut v = format!("max-age={}", cfg.sts_seconds);
            if cfg.sts_include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if cfg.sts_preload {
                v.push_str("; preload");
            }
            Some(header_value(M, "stsSeconds", &v)?)
        } else {
            None
        };
        let public_key = match cfg.public_key.as_str() {
            "" => None,
            _ if cfg.is_development => None,
            v => Some(header_value(M, "publicKey", v)?),
        };
        let allowed_hosts = if cfg.is_development {
            Vec::new()
        } else {
            cfg.allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        };
        let hosts_proxy_headers = cfg
            .hosts_proxy_headers
            .iter()
            .map(|h| header_name(M, "hostsProxyHeaders", h))
            .collect::<Result<_, _>>()?;

        Ok(Headers {
            request_set,
            request_remove,
            host,
            forwarded,
            response_set,
            response_remove,
            secure,
            sts,
            force_sts: cfg.force_sts_header,
            public_key,
            allowed_hosts,
            hosts_proxy_headers,
            cors: Cors::compile(cfg)?,
        })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        if let Some(cors) = &self.cors {
            if let Some(resp) = cors.preflight(req) {
                return Flow::Respond(resp);
            }
        }
        if !self.allowed_hosts.is_empty() && !self.host_allowed(req) {
            // Go's `http.Error(w, "Bad Host", 500)`, as Traefik's secure handler answers.
            let nosniff = (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            let mut resp = respond(StatusCode::INTERNAL_SERVER_ERROR, [nosniff]);
            *resp.body_mut() = bytes::Bytes::from_static(b"Bad Host\n");
            return Flow::Respond(resp);
        }
        for name in &self.request_remove {
            req.headers.remove(name);
        }
        for (name, value) in &self.request_set {
            req.headers.insert(name.clone(), value.clone());
        }
        let mut forwarded = None;
        if let Some((value, authority)) = &self.host {
            let client_host = match req.uri.authority() {
                Some(a) => HeaderValue::from_str(a.as_str()).ok(),
                None => req.headers.get(header::HOST).cloned(),
            };
            req.headers.insert(header::HOST, value.clone());
            if let (Some(authority), true) = (authority, req.uri.authority().is_some()) {
                let mut uri = req.uri.clone().into_parts();
                uri.authority = Some(authority.clone());
                if let Ok(uri) = http::Uri::from_parts(uri) {
                    req.uri = uri;
                }
            }
            forwarded = Some(ForwardedOverrides {
                client_host,
                ..self.forwarded.clone()
            });
        } else if self.forwarded.any() {
            forwarded = Some(self.forwarded.clone());
        }
        if let Some(mut forwarded) = forwarded {
            if let Some(earlier) = req.extensions.get::<ForwardedOverrides>() {
                forwarded.merge(earlier);
            }
            req.extensions.insert(forwarded);
        }
        Flow::Continue
    }

    fn host_allowed(&self, req: &http::request::Parts) -> bool {
        let from_proxy = self
            .hosts_proxy_headers
            .iter()
            .filter_map(|h| req.headers.get(h))
            .find(|v| !v.is_empty());
        let host = from_proxy
            .or_else(|| req.headers.get(header::HOST))
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        self.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }

    pub(crate) fn on_response(
        &self,
        resp: &mut http::response::Parts,
        facts: &RequestFacts,
        ctx: &RequestContext<'_>,
    ) {
        let h = &mut resp.headers;
        for (name, value) in &self.secure {
            h.insert(name.clone(), value.clone());
        }
        if let Some(sts) = &self.sts {
            if ctx.tls || self.force_sts {
                h.insert(header::STRICT_TRANSPORT_SECURITY, sts.clone());
            }
        }
        if let Some(pk) = &self.public_key {
            if ctx.tls {
                h.insert(HeaderName::from_static("public-key-pins"), pk.clone());
            }
        }
        for name in &self.response_remove {
            h.remove(name);
        }
        for (name, value) in &self.response_set {
            h.insert(name.clone(), value.clone());
        }
        if let Some(cors) = &self.cors {
            cors.on_response(h, facts.origin.as_ref());
        }
    }
}

// === impl Cors ===

impl Cors {
    fn compile(cfg: &HeadersConfig) -> Result<Option<Self>, MiddlewareError> {
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

    fn preflight(&self, req: &http::request::Parts) -> Option<http::Response<bytes::Bytes>> {
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

    fn on_response(&self, h: &mut http::HeaderMap, origin: Option<&HeaderValue>) {
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
