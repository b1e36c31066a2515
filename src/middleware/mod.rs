//! Middlewares: configuration (Traefik shape, [`config`]) and their compiled runtime form.
//!
//! A router's middlewares are a slice of [`Middleware`], a closed enum (no boxed trait objects):
//! the proxy calls [`Middleware::on_request`] in router order before forwarding and
//! [`Middleware::on_response_with`] (or [`Middleware::on_response`]) in reverse order on the
//! response head. Everything is parsed at compile time (header names/values, regexes, CIDRs,
//! htpasswd hashes); a request that no middleware changes costs no allocation.
//!
//! Compile does no network I/O; `basicAuth.usersFile` and `digestAuth.usersFile` are the options
//! that read a file.
//! Lock policy: `rateLimit` keeps mutable state in a sharded map with one `std::sync::Mutex`
//! per shard (see [`rate_limit`]); `inFlightReq` and `circuitBreaker` keep theirs in atomics
//! (see [`circuit_breaker`]); `digestAuth` keeps its issued nonces behind one mutex; nothing
//! else locks.

pub mod add_prefix;
pub mod basic_auth;
pub mod buffering;
pub mod circuit_breaker;
pub mod compress;
/// Moved to `crate::config::middleware` (configuration types live in `config/`); this path is
/// kept for one release.
#[doc(hidden)]
pub use crate::config::middleware as config;
pub mod content_type;
pub mod digest_auth;
pub mod encoded_characters;
pub mod error;
pub mod errors;
pub mod forward_auth;
pub mod grpc_web;
pub mod headers;
mod htpasswd;
pub mod in_flight_req;
pub mod ip_allow_list;
pub mod ip_strategy;
pub mod pass_tls_client_cert;
pub(crate) mod path;
pub mod predicate;
pub mod rate_limit;
pub mod rate_limit_redis;
pub mod redirect;
pub mod replace_path;
mod response;
pub mod retry;
pub mod strip_prefix;

use bytes::Bytes;
use http::HeaderValue;

pub use add_prefix::AddPrefix;
pub use basic_auth::BasicAuth;
pub use buffering::Buffering;
pub use circuit_breaker::CircuitBreaker;
pub use compress::Compress;
pub use config::MiddlewareConfig;
pub use content_type::ContentType;
pub use digest_auth::DigestAuth;
pub use encoded_characters::EncodedCharacters;
pub use error::MiddlewareError;
pub use forward_auth::ForwardAuth;
pub use headers::Headers;
pub use in_flight_req::{InFlightReq, Permit};
pub use ip_allow_list::IpAllowList;
pub use pass_tls_client_cert::PassTlsClientCert;
pub use rate_limit::RateLimit;
pub use redirect::{RedirectRegex, RedirectScheme};
pub use replace_path::{ReplacePath, ReplacePathRegex};
pub use strip_prefix::{StripPrefix, StripPrefixRegex};

/// Per-request facts middlewares may read.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    pub client_addr: std::net::SocketAddr,
    /// The request arrived on a TLS entrypoint (or the proxy trusts that it did).
    pub tls: bool,
    /// The connection itself is TLS (what Traefik's `req.TLS` says; `redirectRegex` looks at
    /// nothing else).
    pub conn_tls: bool,
    pub entrypoint: &'a str,
    /// The certificates the client sent on a mutual-TLS connection (leaf first), as Go's
    /// `req.TLS.PeerCertificates`; `passTLSClientCert` reads them.
    pub client_certs: Option<&'a [rustls::pki_types::CertificateDer<'static>]>,
}

/// What the response phase needs to know about the request it answers. The proxy captures it
/// with [`RequestFacts::capture`] before the request parts are handed to the upstream (it clones
/// at most one `HeaderValue`, a reference-count bump).
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The request's `Origin` header (CORS).
    pub origin: Option<HeaderValue>,
}

impl RequestFacts {
    /// Captures the facts from the request head as the middlewares left it.
    pub fn capture(req: &http::request::Parts) -> Self {
        RequestFacts {
            origin: req.headers.get(http::header::ORIGIN).cloned(),
        }
    }
}

/// Outcome of [`Middleware::on_request`].
#[derive(Debug)]
pub enum Flow {
    /// Go on with the next middleware, then the upstream.
    Continue,
    /// Answer the client with this response; later middlewares and the upstream are skipped.
    /// The responding middleware's own `on_response` is not called (its response is complete);
    /// earlier middlewares' are.
    Respond(http::Response<Bytes>),
}

/// One compiled middleware.
// Compiled once per reload and read in place; boxing `Headers` would add a pointer chase per use.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Middleware {
    StripPrefix(StripPrefix),
    StripPrefixRegex(StripPrefixRegex),
    AddPrefix(AddPrefix),
    ReplacePath(ReplacePath),
    ReplacePathRegex(ReplacePathRegex),
    RedirectScheme(RedirectScheme),
    RedirectRegex(RedirectRegex),
    Headers(Headers),
    BasicAuth(BasicAuth),
    DigestAuth(DigestAuth),
    IpAllowList(IpAllowList),
    RateLimit(RateLimit),
    InFlightReq(InFlightReq),
    /// Applied around forwarding (`buffering::around`).
    Buffering(Buffering),
    /// Applied around forwarding (`retry::around`).
    Retry(retry::Retry),
    /// Applied to the response body (`compress::plan`, then `Plan::apply`).
    Compress(Compress),
    /// Answers in `on_request` while open; the proxy reports outcomes (`circuit_breaker::record`).
    CircuitBreaker(std::sync::Arc<CircuitBreaker>),
    /// Applied to the response after the service (`proxy::error_pages`).
    Errors(errors::ErrorPages),
    /// Asks its authentication server before the later middlewares (`proxy::forward_auth`).
    ForwardAuth(ForwardAuth),
    EncodedCharacters(EncodedCharacters),
    /// Applied to the response head and first body bytes (`content_type::sniff`).
    ContentType(ContentType),
    PassTlsClientCert(PassTlsClientCert),
    /// Translates gRPC-Web around forwarding (`grpc_web`, called by the proxy with the body).
    GrpcWeb(grpc_web::GrpcWeb),
}

impl Middleware {
    /// Compiles one middleware's config. `Chain` is not compiled here (the table compiler
    /// flattens chains, resolving names) and yields [`MiddlewareError::ChainNotCompiled`].
    /// Errors name the middleware type, the option and the offending value.
    pub fn compile(cfg: &MiddlewareConfig) -> Result<Middleware, MiddlewareError> {
        Ok(match cfg {
            MiddlewareConfig::StripPrefix(c) => Middleware::StripPrefix(StripPrefix::compile(c)?),
            MiddlewareConfig::StripPrefixRegex(c) => {
                Middleware::StripPrefixRegex(StripPrefixRegex::compile(c)?)
            }
            MiddlewareConfig::AddPrefix(c) => Middleware::AddPrefix(AddPrefix::compile(c)?),
            MiddlewareConfig::ReplacePath(c) => Middleware::ReplacePath(ReplacePath::compile(c)?),
            MiddlewareConfig::ReplacePathRegex(c) => {
                Middleware::ReplacePathRegex(ReplacePathRegex::compile(c)?)
            }
            MiddlewareConfig::RedirectScheme(c) => {
                Middleware::RedirectScheme(RedirectScheme::compile(c)?)
            }
            MiddlewareConfig::RedirectRegex(c) => {
                Middleware::RedirectRegex(RedirectRegex::compile(c)?)
            }
            MiddlewareConfig::Headers(c) => Middleware::Headers(Headers::compile(c)?),
            MiddlewareConfig::BasicAuth(c) => Middleware::BasicAuth(BasicAuth::compile(c)?),
            MiddlewareConfig::DigestAuth(c) => Middleware::DigestAuth(DigestAuth::compile(c)?),
            MiddlewareConfig::IpAllowList(c) => Middleware::IpAllowList(IpAllowList::compile(c)?),
            MiddlewareConfig::IpWhiteList(c) => {
                Middleware::IpAllowList(IpAllowList::compile(&config::IpAllowListConfig {
                    source_range: c.source_range.clone(),
                    ip_strategy: c.ip_strategy.clone(),
                    reject_status_code: None,
                })?)
            }
            MiddlewareConfig::RateLimit(c) => Middleware::RateLimit(RateLimit::compile(c)?),
            MiddlewareConfig::InFlightReq(c) => Middleware::InFlightReq(InFlightReq::compile(c)?),
            MiddlewareConfig::Buffering(c) => Middleware::Buffering(Buffering::compile(c)?),
            MiddlewareConfig::Retry(c) => Middleware::Retry(retry::Retry::compile(c)?),
            MiddlewareConfig::Compress(c) => Middleware::Compress(Compress::compile(c)?),
            MiddlewareConfig::CircuitBreaker(c) => {
                Middleware::CircuitBreaker(std::sync::Arc::new(CircuitBreaker::compile(c)?))
            }
            MiddlewareConfig::EncodedCharacters(c) => {
                Middleware::EncodedCharacters(EncodedCharacters::compile(c))
            }
            MiddlewareConfig::Errors(_) => return Err(MiddlewareError::NeedsService),
            MiddlewareConfig::ForwardAuth(c) => {
                Middleware::ForwardAuth(ForwardAuth::compile(c, "", None)?)
            }
            MiddlewareConfig::ContentType(c) => Middleware::ContentType(ContentType::compile(c)),
            MiddlewareConfig::GrpcWeb(c) => Middleware::GrpcWeb(grpc_web::GrpcWeb::compile(c)),
            MiddlewareConfig::PassTlsClientCert(c) => {
                Middleware::PassTlsClientCert(PassTlsClientCert::compile(c))
            }
            MiddlewareConfig::Chain(_) => return Err(MiddlewareError::ChainNotCompiled),
        })
    }

    /// Checks a middleware's options as far as possible without the rest of the configuration
    /// (`chain` members and the `errors` service are resolved by the table compiler).
    pub fn validate(cfg: &MiddlewareConfig) -> Result<(), MiddlewareError> {
        match cfg {
            MiddlewareConfig::Chain(_) => Ok(()),
            MiddlewareConfig::Errors(c) => errors::ErrorsOptions::compile(c).map(drop),
            other => Middleware::compile(other).map(drop),
        }
    }

    /// Called in router order before forwarding. May rewrite the request (path, headers) or
    /// answer it.
    pub fn on_request(&self, req: &mut http::request::Parts, ctx: &RequestContext<'_>) -> Flow {
        match self {
            Middleware::StripPrefix(m) => m.on_request(req),
            Middleware::StripPrefixRegex(m) => m.on_request(req),
            Middleware::AddPrefix(m) => m.on_request(req),
            Middleware::ReplacePath(m) => m.on_request(req),
            Middleware::ReplacePathRegex(m) => m.on_request(req),
            Middleware::RedirectScheme(m) => m.on_request(req, ctx),
            Middleware::RedirectRegex(m) => m.on_request(req, ctx),
            Middleware::Headers(m) => m.on_request(req),
            Middleware::BasicAuth(m) => m.on_request(req),
            Middleware::DigestAuth(m) => m.on_request(req),
            Middleware::IpAllowList(m) => m.on_request(req, ctx),
            Middleware::RateLimit(m) => m.on_request(req, ctx),
            Middleware::EncodedCharacters(m) => m.on_request(req),
            Middleware::PassTlsClientCert(m) => m.on_request(req, ctx),
            Middleware::CircuitBreaker(m) => {
                if m.admit(std::time::Instant::now()) {
                    Flow::Continue
                } else {
                    Flow::Respond(m.fallback())
                }
            }
            // Needs to hold state until the response: see `on_request_held`.
            Middleware::InFlightReq(_)
            | Middleware::Buffering(_)
            | Middleware::Retry(_)
            | Middleware::Compress(_)
            | Middleware::Errors(_)
            | Middleware::ContentType(_)
            | Middleware::GrpcWeb(_) => Flow::Continue,
            // Asynchronous: the proxy calls `proxy::forward_auth::check` instead.
            Middleware::ForwardAuth(_) => Flow::Continue,
        }
    }

    /// `on_request` for middlewares that wrap forwarding: those that must hold something until
    /// the response head (an `inFlightReq` permit) push it to `held`; the proxy drops `held`
    /// after the response phase. The proxy calls this instead of `on_request`.
    pub fn on_request_held<'a>(
        &'a self,
        req: &mut http::request::Parts,
        ctx: &RequestContext<'_>,
        held: &mut Vec<Permit<'a>>,
    ) -> Flow {
        match self {
            Middleware::InFlightReq(m) => match m.acquire(req, ctx) {
                Some(permit) => {
                    held.push(permit);
                    Flow::Continue
                }
                None => InFlightReq::refusal(),
            },
            other => other.on_request(req, ctx),
        }
    }

    /// Called in reverse router order on the upstream's response head (or on a `Respond` from a
    /// later middleware), with the facts captured from the request. Prefer this over
    /// [`Middleware::on_response`].
    pub fn on_response_with(
        &self,
        resp: &mut http::response::Parts,
        facts: &RequestFacts,
        ctx: &RequestContext<'_>,
    ) {
        match self {
            Middleware::Headers(m) => m.on_response(resp, facts, ctx),
            Middleware::StripPrefix(_)
            | Middleware::StripPrefixRegex(_)
            | Middleware::AddPrefix(_)
            | Middleware::ReplacePath(_)
            | Middleware::ReplacePathRegex(_)
            | Middleware::RedirectScheme(_)
            | Middleware::RedirectRegex(_)
            | Middleware::BasicAuth(_)
            | Middleware::DigestAuth(_)
            | Middleware::IpAllowList(_)
            | Middleware::RateLimit(_)
            | Middleware::InFlightReq(_)
            | Middleware::Buffering(_)
            | Middleware::Retry(_)
            | Middleware::Compress(_)
            | Middleware::EncodedCharacters(_) => {}
            Middleware::CircuitBreaker(_) | Middleware::Errors(_) | Middleware::ForwardAuth(_) => {}
            Middleware::ContentType(_) | Middleware::GrpcWeb(_) => {}
            Middleware::PassTlsClientCert(_) => {}
        }
    }

    /// [`Middleware::on_response_with`] without request facts: a CORS `headers` middleware then
    /// cannot echo the request's `Origin` (only a `*` entry of `accessControlAllowOriginList`
    /// yields `Access-Control-Allow-Origin`).
    pub fn on_response(&self, resp: &mut http::response::Parts, ctx: &RequestContext<'_>) {
        self.on_response_with(resp, &RequestFacts::default(), ctx);
    }

    /// Whether [`Middleware::on_response_with`] does anything for this middleware (only
    /// `headers` does): the proxy may skip the response phase and [`RequestFacts::capture`]
    /// when no middleware of a route needs it.
    pub fn has_response_phase(&self) -> bool {
        matches!(self, Middleware::Headers(_))
    }

    /// What compiling this middleware noticed (see [`basic_auth::Notice`]); empty for most.
    pub fn notices(&self) -> &[basic_auth::Notice] {
        match self {
            Middleware::BasicAuth(m) => m.notices(),
            Middleware::DigestAuth(m) => m.notices(),
            Middleware::ContentType(m) => m.notices(),
            _ => &[],
        }
    }

    /// A file this middleware needs but could not read (a `basicAuth.usersFile`): the table
    /// is compiled again when it appears.
    pub fn missing_file(&self) -> Option<&std::path::Path> {
        match self {
            Middleware::BasicAuth(m) => m.missing_file(),
            Middleware::DigestAuth(m) => m.missing_file(),
            _ => None,
        }
    }

    /// Traefik's name for the middleware type.
    pub fn kind(&self) -> &'static str {
        match self {
            Middleware::StripPrefix(_) => "stripPrefix",
            Middleware::StripPrefixRegex(_) => "stripPrefixRegex",
            Middleware::AddPrefix(_) => "addPrefix",
            Middleware::ReplacePath(_) => "replacePath",
            Middleware::ReplacePathRegex(_) => "replacePathRegex",
            Middleware::RedirectScheme(_) => "redirectScheme",
            Middleware::RedirectRegex(_) => "redirectRegex",
            Middleware::Headers(_) => "headers",
            Middleware::BasicAuth(_) => "basicAuth",
            Middleware::DigestAuth(_) => "digestAuth",
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::RateLimit(_) => "rateLimit",
            Middleware::InFlightReq(_) => "inFlightReq",
            Middleware::Buffering(_) => "buffering",
            Middleware::Retry(_) => "retry",
            Middleware::Compress(_) => "compress",
            Middleware::CircuitBreaker(_) => "circuitBreaker",
            Middleware::Errors(_) => "errors",
            Middleware::ForwardAuth(_) => "forwardAuth",
            Middleware::EncodedCharacters(_) => "encodedCharacters",
            Middleware::ContentType(_) => "contentType",
            Middleware::GrpcWeb(_) => "grpcWeb",
            Middleware::PassTlsClientCert(_) => "passTLSClientCert",
        }
    }
}

#[cfg(test)]
mod tests;
