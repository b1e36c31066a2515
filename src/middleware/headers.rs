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
//! `Access-Control-Max-Age` is sent only when configured. CORS is `headers/cors.rs`.

use http::header::{self, HeaderName, HeaderValue};
use http::StatusCode;

use super::config::HeadersConfig;
use super::error::{header_name, header_value, MiddlewareError};
use super::response::respond;
use super::{Flow, RequestContext, RequestFacts};

mod cors;

use cors::Cors;

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
