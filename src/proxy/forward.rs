//! Forwarding to a load-balanced service: rewrite the request for the upstream (hop-by-hop headers,
//! `X-Forwarded-*`, Host, URI form), pick a server, send through its pool, retry elsewhere while
//! nothing was sent (each failed server is ejected for the requests that follow), and clean the
//! response head.

use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderValue};
use http::uri::{PathAndQuery, Scheme};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;

use super::body::ProxyBody;
use super::error::ProxyError;
use super::service::ConnInfo;
use super::upgrade;
// The header rewriting lives in `forwarded.rs`; these paths are kept for the other request phases.
pub use super::forwarded::{
    effective_tls, prepare_forwarded, request_host, server_name, ForwardedPolicy,
};
use super::forwarded::{original_host, remove_hop_by_hop, rewrite_request_headers};
use crate::middleware::headers::ForwardedOverrides;
use crate::observe::metrics::semconv::{self, SemConv};
use crate::observe::otel::ClientSpan;
use crate::table::LoadBalancedService;
use crate::upstream::{Target, UpstreamPool, UpstreamScheme, Upstreamed};

/// Attempts per request: the first pick plus retries on other servers while none could be reached
/// (nothing was sent, so any method may go again). Several: during a rolling update on a
/// multi-node swarm more than one task address may be stale at once, and a request another
/// server could answer must not fail (issue 27). Each attempt costs at most the connect timeout
/// (short for Swarm tasks), and a failed server is ejected, so later requests skip it.
const MAX_ATTEMPTS: usize = 8;

/// Of those attempts, how many may send again a request that was already written: an idempotent
/// request without a body whose connection failed before any response (as nginx's
/// `proxy_next_upstream error`). Bounded so that a request that crashes its server does not take
/// every server down with it.
const MAX_REPLAYS: usize = 2;

/// A written request that may be sent again: method, URI, version and headers (no body, no
/// extension: replays are for bodiless requests that are not upgrades).
struct Replay {
    method: Method,
    uri: Uri,
    version: Version,
    headers: http::HeaderMap,
}

impl Replay {
    /// `Some` for an idempotent method (RFC 9110: GET, HEAD, OPTIONS, TRACE, PUT, DELETE) with an
    /// empty body, not an upgrade.
    fn of(req: &Request<ProxyBody>, upgrade: bool) -> Option<Replay> {
        let idempotent = matches!(
            *req.method(),
            Method::GET
                | Method::HEAD
                | Method::OPTIONS
                | Method::TRACE
                | Method::PUT
                | Method::DELETE
        );
        (idempotent && !upgrade && req.body().is_end_stream()).then(|| Replay {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
        })
    }

    fn request(self) -> Request<ProxyBody> {
        let mut req = Request::new(ProxyBody::empty());
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers;
        req
    }
}

/// Sends the request to one of the service's servers (retrying elsewhere while nothing was sent).
/// `served` is set to the pool of the last server tried (for the access log); each attempt is
/// measured in `meter`'s `http.client.request.duration` when given (`metrics.otlp`).
pub async fn forward(
    service: &LoadBalancedService,
    mut parts: http::request::Parts,
    body: ProxyBody,
    conn: &ConnInfo,
    served: &mut Option<Arc<UpstreamPool>>,
    meter: Option<&SemConv>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let upgrade_proto = upgrade::requested(&parts.version, &parts.headers);
    let client_upgrade = upgrade_proto
        .as_ref()
        .and_then(|_| parts.extensions.remove::<hyper::upgrade::OnUpgrade>());
    let original_host = original_host(&parts.uri, &parts.headers);
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));

    let overrides = parts.extensions.get::<ForwardedOverrides>();
    rewrite_request_headers(&mut parts.headers, conn, original_host.as_ref(), overrides);
    // Traced: the backend's `traceparent` names this call's span (recorded when it drops).
    let mut client_span = ClientSpan::start(&mut parts);
    if let Some(proto) = &upgrade_proto {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, proto.clone());
    }
    // Sticky sessions: the first pick honours the cookie; a retry picks freely (and re-pins).
    let sticky_first = service.balancer.sticky().map(|sticky| {
        let cookie = sticky.value_in(&parts.headers);
        service.balancer.pick_sticky(Instant::now(), cookie, &[])
    });
    let mut req = Request::from_parts(parts, body);

    let mut tried = [usize::MAX; MAX_ATTEMPTS];
    let mut last_error = None;
    let mut replays = 0;
    for attempt in 0..MAX_ATTEMPTS {
        let now = Instant::now();
        let (index, set_cookie) = match (attempt, sticky_first) {
            (0, Some(first)) => match first {
                Some(picked) => picked,
                None => break,
            },
            (_, sticky) => match service
                .balancer
                .pick_for(now, &tried[..attempt], conn.peer.ip())
            {
                Some(index) => (index, sticky.is_some()),
                None => break,
            },
        };
        tried[attempt] = index;
        let (Some(pool), Some(endpoint)) = (
            service.pools.get(index),
            service.balancer.endpoints().get(index),
        ) else {
            break;
        };
        aim(
            &mut req,
            pool.target(),
            &path_and_query,
            service.pass_host_header,
            original_host.as_ref(),
        )?;
        let _inflight = endpoint.state.start_request();
        if let Some(span) = &mut client_span {
            span.aimed(pool.target(), &path_and_query);
        }
        *served = Some(Arc::clone(pool));
        let sent_at = Instant::now();
        let replay = match replays < MAX_REPLAYS {
            true => Replay::of(&req, upgrade_proto.is_some()),
            false => None,
        };
        // What `http.client.request.duration` is keyed by, read before the request goes.
        let metered = meter.map(|m| (m, req.method().clone(), req.version(), scheme_of(&req)));
        let sent = pool.send(req, upgrade_proto.is_some()).await;
        if let Some((meter, method, version, scheme)) = metered {
            let status = match &sent {
                Ok(upstreamed) => upstreamed.response.status().as_u16(),
                Err(failed) => failed.error.status().as_u16(),
            };
            let target = pool.target();
            let attrs = semconv::Attrs {
                method: method.as_str(),
                status,
                version,
                address: target.authority.as_str().as_bytes(),
                port: Some(target.port),
                scheme: scheme.as_ref().map_or(&[][..], HeaderValue::as_bytes),
            };
            meter.client(attrs, sent_at.elapsed());
        }
        match sent {
            Ok(upstreamed) => {
                service.balancer.record_ttfb(index, sent_at.elapsed());
                endpoint.state.report_success();
                let mut resp = finish_response(upstreamed, client_upgrade);
                if let Some(span) = client_span.take() {
                    span.answered(&resp);
                }
                if let Some(passive) = &service.passive {
                    let status = Some(resp.status().as_u16());
                    passive.record(index, &endpoint.state, status, Instant::now());
                }
                if set_cookie {
                    if let Some(cookie) = service.balancer.set_cookie(index) {
                        resp.headers_mut()
                            .append(header::SET_COOKIE, cookie.clone());
                    }
                }
                return Ok(resp);
            }
            Err(failed) => {
                tracing::warn!(
                    service = %service.name,
                    endpoint = %pool.target().url,
                    error = %failed.error,
                    "upstream request failed"
                );
                // Written, then the connection failed with no response (reset, or the server's
                // node vanished and `TCP_USER_TIMEOUT` fired): an idempotent bodiless request
                // goes to another server, as nginx's `proxy_next_upstream error` does.
                let replay = match (&failed.request, &failed.error) {
                    (None, ProxyError::Upstream { .. }) => replay,
                    _ => None,
                };
                if failed.error.retry_safe() || replay.is_some() {
                    endpoint.state.report_failure(now);
                }
                if let Some(passive) = &service.passive {
                    passive.record(index, &endpoint.state, None, Instant::now());
                }
                match (failed.request, replay) {
                    (Some(back), _) => req = back,
                    (None, Some(replay)) => {
                        replays += 1;
                        req = replay.request();
                    }
                    (None, None) => return Err(failed.error),
                }
                last_error = Some(failed.error);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| ProxyError::NoEndpoint {
        service: service.name.clone(),
    }))
}

/// `url.scheme` of `http.client.request.duration`: the `X-Forwarded-Proto` the server is sent,
/// as Traefik reads it from the outgoing request.
fn scheme_of(req: &Request<ProxyBody>) -> Option<HeaderValue> {
    req.headers().get("x-forwarded-proto").cloned()
}

/// Points the request at one server: URI form and version for its protocol, `Host` unless passed through.
fn aim(
    req: &mut Request<ProxyBody>,
    target: &Target,
    path_and_query: &PathAndQuery,
    pass_host: bool,
    original_host: Option<&HeaderValue>,
) -> Result<(), ProxyError> {
    let pq = if target.base_path.is_empty() {
        path_and_query.clone()
    } else {
        let joined = format!("{}{}", target.base_path, path_and_query.as_str());
        PathAndQuery::try_from(joined).map_err(|_| ProxyError::BadRequest("invalid path"))?
    };
    let mut uri = http::uri::Parts::default();
    uri.path_and_query = Some(pq);
    match target.scheme {
        UpstreamScheme::H2c => {
            *req.version_mut() = Version::HTTP_2;
            uri.scheme = Some(Scheme::HTTP);
            let authority = match (pass_host, original_host) {
                (true, Some(host)) => host
                    .to_str()
                    .ok()
                    .and_then(|h| h.parse().ok())
                    .unwrap_or_else(|| target.authority.clone()),
                _ => target.authority.clone(),
            };
            uri.authority = Some(authority);
            req.headers_mut().remove(header::HOST);
        }
        UpstreamScheme::Http | UpstreamScheme::Https => {
            *req.version_mut() = Version::HTTP_11;
            let host = match (pass_host, original_host) {
                (true, Some(host)) => host.clone(),
                _ => target.host_header.clone(),
            };
            req.headers_mut().insert(header::HOST, host);
        }
    }
    *req.uri_mut() = Uri::from_parts(uri).map_err(|_| ProxyError::BadRequest("invalid URI"))?;
    Ok(())
}

fn finish_response(
    upstreamed: Upstreamed,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Response<ProxyBody> {
    let Upstreamed { response, reuse } = upstreamed;
    let (mut parts, body) = response.into_parts();
    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client) = client_upgrade {
            let upstream_proto = parts.headers.get(header::UPGRADE).cloned();
            let mut upstream = Response::from_parts(parts, body);
            let upstream_upgrade = hyper::upgrade::on(&mut upstream);
            let (mut parts, _) = upstream.into_parts();
            upgrade::tunnel(client, upstream_upgrade);
            remove_hop_by_hop(&mut parts.headers);
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            if let Some(proto) = upstream_proto {
                parts.headers.insert(header::UPGRADE, proto);
            }
            return Response::from_parts(parts, ProxyBody::empty());
        }
    }
    remove_hop_by_hop(&mut parts.headers);
    // An HTTP/1.0 server's answer goes to the client as HTTP/1.1 (the server would make the
    // client connection close): only the upstream connection ends, as in Traefik.
    if parts.version == http::Version::HTTP_10 {
        parts.version = http::Version::HTTP_11;
    }
    Response::from_parts(parts, ProxyBody::upstream(body, reuse))
}
