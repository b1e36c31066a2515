//! Which IP a request comes from, as Traefik's `ipStrategy`: the remote address by default;
//! with `depth` N the N-th entry from the right of `X-Forwarded-For` (none if there are fewer);
//! with `excludedIPs` the rightmost `X-Forwarded-For` entry not in those ranges. `depth` wins
//! over `excludedIPs`. Only the first `X-Forwarded-For` header is read (Go's `Header.Get`).
//! With `ipv6Subnet`, an IPv6 result becomes the first address of its subnet. Never allocates.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use super::config::IpStrategyConfig;
use super::error::MiddlewareError;
use super::RequestContext;
use crate::config::net::IpRange;

const X_FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");

/// A compiled `ipStrategy`.
#[derive(Debug, Clone)]
pub struct IpStrategy {
    source: Source,
    ipv6_subnet: Option<u8>,
}

/// Where the IP is read.
#[derive(Debug, Clone)]
enum Source {
    RemoteAddr,
    Depth(usize),
    Excluded(Vec<IpNet>),
}

/// The range an entry was parsed into when the configuration was read (an IP or CIDR, as
/// Traefik's IP checker takes them; a bare IP is a one-address range), or the error naming it.
pub(crate) fn range(
    middleware: &'static str,
    option: &'static str,
    entry: &IpRange,
) -> Result<IpNet, MiddlewareError> {
    entry.net().ok_or_else(|| {
        MiddlewareError::invalid(
            middleware,
            option,
            entry.as_str().trim(),
            "not an IP or CIDR",
        )
    })
}

/// Parses an address as found in `X-Forwarded-For` (an IP, or an IP with a port).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

impl IpStrategy {
    /// The default strategy: the connection's remote address.
    pub const REMOTE_ADDR: IpStrategy = IpStrategy {
        source: Source::RemoteAddr,
        ipv6_subnet: None,
    };

    pub fn compile(
        cfg: Option<&IpStrategyConfig>,
        middleware: &'static str,
    ) -> Result<Self, MiddlewareError> {
        let Some(cfg) = cfg else {
            return Ok(IpStrategy::REMOTE_ADDR);
        };
        if let Some(bits) = cfg.ipv6_subnet.filter(|b| *b > 128) {
            return Err(MiddlewareError::invalid(
                middleware,
                "ipStrategy.ipv6Subnet",
                bits,
                "must be at most 128",
            ));
        }
        Ok(IpStrategy {
            source: Source::compile(cfg, middleware)?,
            ipv6_subnet: cfg.ipv6_subnet,
        })
    }

    /// The client IP by this strategy; `None` when the header lacks it or it is not an IP.
    /// IPv4-mapped IPv6 addresses come back as IPv4.
    pub fn client_ip(&self, headers: &http::HeaderMap, ctx: &RequestContext<'_>) -> Option<IpAddr> {
        let ip = self.source.client_ip(headers, ctx)?.to_canonical();
        Some(match (ip, self.ipv6_subnet) {
            (IpAddr::V6(v6), Some(bits)) => {
                ipnet::Ipv6Net::new(v6, bits).map_or(ip, |net| IpAddr::V6(net.network()))
            }
            _ => ip,
        })
    }
}

impl Source {
    fn compile(cfg: &IpStrategyConfig, middleware: &'static str) -> Result<Self, MiddlewareError> {
        // Traefik ignores a depth of 0 or less.
        if cfg.depth > 0 {
            let depth = usize::try_from(cfg.depth).map_err(|_| {
                MiddlewareError::invalid(middleware, "ipStrategy.depth", cfg.depth, "too large")
            })?;
            return Ok(Source::Depth(depth));
        }
        if !cfg.excluded_ips.is_empty() {
            let nets = cfg
                .excluded_ips
                .iter()
                .map(|entry| range(middleware, "ipStrategy.excludedIPs", entry))
                .collect::<Result<_, _>>()?;
            return Ok(Source::Excluded(nets));
        }
        Ok(Source::RemoteAddr)
    }

    fn client_ip(&self, headers: &http::HeaderMap, ctx: &RequestContext<'_>) -> Option<IpAddr> {
        match self {
            Source::RemoteAddr => Some(ctx.client_addr.ip()),
            Source::Depth(depth) => {
                let xff = xff(headers);
                let count = xff.split(',').count();
                if count < *depth {
                    return None;
                }
                xff.split(',').nth(count - depth).and_then(parse_ip)
            }
            Source::Excluded(nets) => {
                let entry = xff(headers)
                    .rsplit(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .find(|e| parse_ip(e).is_none_or(|ip| !nets.iter().any(|n| n.contains(&ip))))?;
                parse_ip(entry)
            }
        }
    }
}

fn xff(headers: &http::HeaderMap) -> &str {
    headers
        .get(X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Traefik's `sourceCriterion`: what identifies the source of a request for `rateLimit` and
/// `inFlightReq` (the client IP by an `ipStrategy`, a request header, or the request host).
#[derive(Debug)]
pub(crate) enum SourceCriterion {
    Ip(IpStrategy),
    Header(http::HeaderName),
    Host,
}

impl SourceCriterion {
    /// Traefik's precedence: `ipStrategy`, then `requestHeaderName`, then `requestHost`; the
    /// remote address when none is set.
    pub(crate) fn compile(
        cfg: Option<&super::config::SourceCriterionConfig>,
        middleware: &'static str,
    ) -> Result<SourceCriterion, super::error::MiddlewareError> {
        Ok(match cfg {
            None => SourceCriterion::Ip(IpStrategy::REMOTE_ADDR),
            Some(sc) if sc.ip_strategy.is_some() => {
                SourceCriterion::Ip(IpStrategy::compile(sc.ip_strategy.as_ref(), middleware)?)
            }
            Some(sc) if !sc.request_header_name.is_empty() => {
                SourceCriterion::Header(super::error::header_name(
                    middleware,
                    "sourceCriterion.requestHeaderName",
                    &sc.request_header_name,
                )?)
            }
            Some(sc) if sc.request_host => SourceCriterion::Host,
            Some(_) => SourceCriterion::Ip(IpStrategy::REMOTE_ADDR),
        })
    }

    /// The source as Traefik's extractor writes it (the rateLimit redis key): the IP, the
    /// header's value or the host; empty when there is none.
    pub(crate) fn text(
        &self,
        req: &http::request::Parts,
        ctx: &super::RequestContext<'_>,
    ) -> String {
        let header = |v: Option<&http::HeaderValue>| {
            v.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        match self {
            SourceCriterion::Ip(strategy) => strategy
                .client_ip(&req.headers, ctx)
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            SourceCriterion::Header(name) => header(req.headers.get(name)),
            SourceCriterion::Host => match req.headers.get(http::header::HOST) {
                Some(h) => header(Some(h)),
                None => req
                    .uri
                    .authority()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
            },
        }
    }

    /// Hash of the request's source under `hasher`. Allocation-free.
    pub(crate) fn hash(
        &self,
        hasher: &impl std::hash::BuildHasher,
        req: &http::request::Parts,
        ctx: &super::RequestContext<'_>,
    ) -> u64 {
        match self {
            SourceCriterion::Ip(strategy) => hasher.hash_one(strategy.client_ip(&req.headers, ctx)),
            SourceCriterion::Header(name) => {
                hasher.hash_one(req.headers.get(name).map(http::HeaderValue::as_bytes))
            }
            SourceCriterion::Host => hasher.hash_one(
                req.headers
                    .get(http::header::HOST)
                    .map(http::HeaderValue::as_bytes)
                    .or_else(|| req.uri.authority().map(|a| a.as_str().as_bytes())),
            ),
        }
    }
}
