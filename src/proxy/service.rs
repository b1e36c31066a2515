//! The per-request handler: `handle()` loads the table, finds the route and turns any error into a
//! response; `handle_route()` runs the middlewares and the service as a plain `?` chain.

use std::borrow::Cow;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::{Request, Response};

use super::body::ProxyBody;
use super::error::ProxyError;
use super::error_pages;
use super::failover;
use super::forward::{self, ForwardedPolicy};
use super::forward_auth;
use super::internal;
use super::mirror;
use crate::middleware::{
    buffering, circuit_breaker, compress, content_type, grpc_web, retry, Flow, Middleware,
    RequestContext, RequestFacts,
};
use crate::observe::otel::Traced;
use crate::observe::{Observer, Pending};
use crate::rules::RequestView;
use crate::table::{Route, RoutingTable, Service, Walk};
use crate::upstream::UpstreamPool;

pub use super::conn::ConnInfo;

/// The proxy as one entrypoint runs it. Shared by all its connections.
pub struct Proxy {
    table: Arc<ArcSwap<RoutingTable>>,
    /// Index of this entrypoint in the list the table was compiled for.
    entrypoint: usize,
    name: Arc<str>,
    forwarded: ForwardedPolicy,
    /// `http.sanitizePath` and `http.encodedCharacters` of this entrypoint.
    path_policy: super::hygiene::PathPolicy,
    observer: Option<Arc<Observer>>,
    /// ACME HTTP-01 answers and the entrypoint redirection (`crate::proxy::edge`).
    edge: Option<Arc<crate::proxy::EdgeHooks>>,
}

impl Proxy {
    pub fn new(
        table: Arc<ArcSwap<RoutingTable>>,
        entrypoint: usize,
        name: &str,
        forwarded: ForwardedPolicy,
    ) -> Self {
        // `X-Forwarded-Server` is read once, here at start, never per request.
        forward::server_name();
        Proxy {
            table,
            entrypoint,
            name: Arc::from(name),
            forwarded,
            path_policy: super::hygiene::PathPolicy::default(),
            observer: None,
            edge: None,
        }
    }

    /// Reports requests to `observer` (metrics, access log) and lets it answer its internal services.
    pub fn with_observer(mut self, observer: Arc<Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sets the entrypoint's path options (`http.sanitizePath`, `http.encodedCharacters`).
    pub fn with_path_policy(mut self, policy: super::hygiene::PathPolicy) -> Self {
        self.path_policy = policy;
        self
    }

    pub fn observer(&self) -> Option<&Arc<Observer>> {
        self.observer.as_ref()
    }

    /// This entrypoint's index in the table's entrypoint list.
    pub fn entrypoint_index(&self) -> usize {
        self.entrypoint
    }

    /// Adds the hooks that run before and around routing on this entrypoint.
    pub fn with_edge(mut self, edge: Option<Arc<crate::proxy::EdgeHooks>>) -> Self {
        self.edge = edge;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Serves one request; never fails (errors become short plain responses).
    pub async fn handle<B>(&self, mut req: Request<B>, conn: &ConnInfo) -> Response<ProxyBody>
    where
        B: Into<ProxyBody>,
    {
        let upgrade = asks_upgrade(&req);
        let mut resp = match &self.observer {
            None => self.route_and_serve(req, conn, None).await.0,
            Some(observer) => {
                let mut pending = observer.begin(self.entrypoint, &mut req, conn);
                let (resp, route, served) =
                    self.route_and_serve(req, conn, Some(&mut pending)).await;
                observer.finish(pending, route.as_ref(), served, resp)
            }
        };
        if let Some(connect) = upgrade {
            keep_guard_honest(&mut resp, connect);
        }
        resp
    }

    /// The registry when `metrics.otlp` measures the upstream calls of `route`
    /// (`http.client.request.duration`: not for `@internal` routers unless `addInternals`, not
    /// when the router's (else the entrypoint's) `observability.metrics` is off, as Traefik's
    /// `shouldMeterSemConv`).
    fn metered(&self, route: &Route) -> Option<&Arc<crate::observe::Metrics>> {
        self.observer
            .as_ref()
            .and_then(|o| o.metrics())
            .filter(|m| {
                m.semconv().is_some()
                    && (!route.is_internal() || m.internals())
                    && route.switches(self.entrypoint).metrics
            })
    }

    /// Finds the route and serves; also returns the route and the index of the server that answered.
    /// `pending`: what the observer captured, told the router once it is known; it also learns
    /// the request's forwarded headers.
    async fn route_and_serve<B>(
        &self,
        req: Request<B>,
        conn: &ConnInfo,
        mut pending: Option<&mut Pending>,
    ) -> (
        Response<ProxyBody>,
        Option<Arc<Route>>,
        Option<Arc<UpstreamPool>>,
    )
    where
        B: Into<ProxyBody>,
    {
        if let Some(refusal) = super::framing::rejected(&req) {
            // A head the framing guard refused (src/proxy/framing.rs): answer and close.
            let mut resp = ProxyError::BadRequest(refusal.as_str()).into_response();
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return (resp, None, None);
        }
        if let Some(problem) = host_problem(req.headers()) {
            // Go's server refuses these before Traefik sees them: 400 and close.
            let mut resp = ProxyError::BadRequest(problem).into_response();
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return (resp, None, None);
        }
        let req = match super::hygiene::clean_request_with(req, &self.path_policy) {
            Ok(req) => req,
            Err(refused) => return (*refused, None, None),
        };
        // As Traefik's forwardedheaders handler, before the router: rules never see a spoofed
        // `X-Forwarded-*` (issue 16 point 2).
        let (mut head, body) = req.into_parts();
        forward::prepare_forwarded(&mut head.headers, &head.uri, conn, &self.forwarded);
        if let Some(pending) = pending.as_deref_mut() {
            pending.forwarded(&head.headers);
        }
        let mut req = Request::from_parts(head, body);
        if let Some(resp) = self.edge.as_ref().and_then(|e| e.before_routing(&req)) {
            return (resp, None, None);
        }
        let route = {
            let table = self.table.load();
            let host =
                forward::request_host(req.uri(), req.headers()).map(crate::rules::routing_host);
            let host = lowercase(host.unwrap_or(""));
            let path = super::hygiene::routing_path(req.uri().path());
            let view = RequestView {
                host: &host,
                path: &path,
                query: req.uri().query(),
                method: req.method(),
                headers: req.headers(),
                client_ip: conn.peer.ip(),
            };
            let found = table.lookup(self.entrypoint, conn.tls, &view);
            if let Some(edge) = &self.edge {
                let matched = found.map(|r| r.priority);
                if let Some(resp) = edge.redirect(&req, matched, conn, &self.name) {
                    return (resp, None, None);
                }
            }
            // The router's observability switches apply from here (a request no router
            // matched keeps its entrypoint's).
            if let (Some(route), Some(pending), Some(observer)) = (found, pending, &self.observer) {
                observer.routed(pending, &mut req, conn, route);
            }
            match found {
                // A TLS route reached through a connection handshaken with other options (its
                // SNI chose them): 421, as Traefik's snicheck, so the route's protection holds.
                Some(route)
                    if conn.tls
                        && route.tls_options != conn.tls_options
                        && route.closed.is_none() =>
                {
                    tracing::debug!(router = %route.name, "TLS options of the connection differ from the router's: 421");
                    return (
                        ProxyError::Misdirected.into_response(),
                        Some(Arc::clone(route)),
                        None,
                    );
                }
                // Hold the route, not the table guard, across awaits.
                Some(route) => Arc::clone(route),
                None => return (ProxyError::NoRoute.into_response(), None, None),
            }
        };
        // Traefik checks the entrypoint's encodedCharacters once a router matched (404 first).
        if let Some(byte) = self.path_policy.denied.first_denied(req.uri().path()) {
            tracing::debug!(router = %route.name, byte, "encoded character refused");
            return (
                super::error::plain_response(http::StatusCode::BAD_REQUEST),
                Some(route),
                None,
            );
        }
        let (parts, body) = req.into_parts();
        let mut served = Served::default();
        let resp = self
            .handle_route(&route, parts, body.into(), conn, &mut served)
            .await;
        (resp, Some(route), served.pool)
    }

    async fn handle_route(
        &self,
        route: &Route,
        mut parts: http::request::Parts,
        mut body: ProxyBody,
        conn: &ConnInfo,
        served: &mut Served,
    ) -> Response<ProxyBody> {
        let tls = forward::effective_tls(&parts.headers, conn, &self.forwarded);
        let ctx = RequestContext {
            client_addr: conn.peer,
            tls,
            conn_tls: conn.tls,
            entrypoint: &self.name,
            client_certs: conn.client_certs.as_deref(),
        };
        let started = circuit_breaker::started(&route.middlewares);
        let mut applied = route.middlewares.len();
        let mut answer = None;
        // Permits of middlewares wrapping the forward (inFlightReq); no allocation unless used.
        let mut held = Vec::new();
        let mut authed = forward_auth::Passed::default();
        // A request `grpcWeb` translated, and the CORS headers its response gets.
        let mut grpc = None;
        for (i, mw) in route.middlewares.iter().enumerate() {
            let flow = match &**mw {
                // Asks its authentication server, in order among the middlewares.
                Middleware::ForwardAuth(fa) => {
                    let untrusted = !self.forwarded.trusts(conn.peer.ip());
                    let metrics = self.observer.as_ref().and_then(|o| o.metrics());
                    // Traefik describes the connection itself (`req.TLS`), not what a hop said.
                    let conn_ctx = RequestContext {
                        tls: conn.tls,
                        ..ctx
                    };
                    let check = forward_auth::check(
                        fa,
                        &mut parts,
                        &mut body,
                        &conn_ctx,
                        untrusted,
                        metrics.map(|m| &**m),
                        &mut authed,
                    );
                    Box::pin(check).await
                }
                Middleware::GrpcWeb(g) => g.on_request(&mut parts, &mut body, &mut grpc),
                // Asks redis (shared limit); may wait up to its maxDelay.
                Middleware::RateLimit(rl) if rl.is_shared() => {
                    Box::pin(rl.check_shared(&parts, &ctx)).await
                }
                _ => mw.on_request_held(&mut parts, &ctx, &mut held),
            };
            if let Flow::Respond(resp) = flow {
                // The answering middleware already shaped its response; earlier ones still see it.
                applied = i;
                let (head, bytes) = resp.into_parts();
                answer = Some(Response::from_parts(head, ProxyBody::full(bytes)));
                break;
            }
        }
        // `compress` decides on the request head (Accept-Encoding) before it is forwarded.
        let compress = compress::plan(&route.middlewares[..applied], &parts);
        let facts = if route.middlewares[..applied]
            .iter()
            .any(|m| m.has_response_phase())
        {
            RequestFacts::capture(&parts)
        } else {
            RequestFacts::default()
        };
        // The `errors` middlewares need the request after the response; no copy without them.
        let original = error_pages::capture(&route.middlewares[..applied], &parts);
        // `mirroring` services on the way send their copies (boxed: rarely used) first.
        let mut walk = Walk {
            client: Some(conn.peer.ip()),
            ..Walk::default()
        };
        let resolved = match answer {
            Some(_) => Ok(None),
            None => {
                let now = std::time::Instant::now();
                let service = route.service.walk(now, Some(&parts.headers), &mut walk);
                match walk.mirrors.is_empty() {
                    true => Ok(service),
                    false => Box::pin(mirror::dispatch(
                        &walk.mirrors,
                        &parts,
                        &mut body,
                        conn,
                        self.metered(route),
                    ))
                    .await
                    .map(|()| service),
                }
            }
        };
        let resp = match (answer, resolved) {
            (Some(mut resp), _) => {
                // For the metrics: the service was not reached (Traefik counts it on the router).
                resp.extensions_mut()
                    .insert(crate::observe::metrics::NotServed(applied));
                resp
            }
            (None, Err(error)) => error.into_response(),
            (None, Ok(resolved)) => match walk.failover {
                // `failover.errors`: the answer may send the request again to the fallback.
                Some(failover) => {
                    let serve =
                        self.serve_failover(route, failover, resolved, (parts, body), conn, served);
                    let (resp, mut cookies) = Box::pin(serve).await;
                    walk.cookies.append(&mut cookies);
                    resp
                }
                None => {
                    self.serve_resolved(route, resolved, parts, body, conn, served)
                        .await
                }
            },
        };
        let mut resp = resp;
        if self.observer.as_ref().is_some_and(|o| o.wants_headers()) {
            // The access log's `origin_<Header>` fields: the head as the service sent it.
            let origin = crate::observe::OriginHeaders(Box::new(resp.headers().clone()));
            resp.extensions_mut().insert(origin);
        }
        // Sticky `weighted` services that picked anew pin the client (as Traefik, whatever the answer).
        for cookie in walk.cookies.drain(..) {
            resp.headers_mut().append(http::header::SET_COOKIE, cookie);
        }
        let resp = error_pages::apply(
            &route.middlewares[..applied],
            original.as_ref(),
            resp,
            conn,
            self.metered(route).and_then(|m| m.semconv()),
        )
        .await;
        circuit_breaker::record(&route.middlewares[..applied], started, resp.status());
        let resp = match grpc {
            Some((translated, cors)) => grpc_web::respond(translated, cors, resp),
            None => resp,
        };
        let resp = content_type::sniff(&route.middlewares[..applied], resp).await;
        let resp = match compress {
            // The service's bytes are counted before they are re-encoded (`OriginContentSize`).
            Some(plan) if self.observer.is_some() => {
                plan.apply(crate::observe::counted::count_origin(resp))
                    .await
            }
            Some(plan) => plan.apply(resp).await,
            None => resp,
        };
        let (mut head, body) = resp.into_parts();
        let retries = *served.retries.get_mut();
        if retries > 0 {
            head.extensions.insert(retry::Retries(retries));
        }
        if let Some(began) = served.began.filter(|_| self.observer.is_some()) {
            head.extensions.insert(crate::observe::OriginStart(began));
        }
        authed.finish(&mut head);
        for mw in route.middlewares[..applied].iter().rev() {
            mw.on_response_with(&mut head, &facts, &ctx);
        }
        drop(held);
        Response::from_parts(head, body)
    }

    /// `failover.errors`: the main service answers unless its status is one of `errors.status`;
    /// then the same request goes to the fallback (503 when that is down). The fallback's own
    /// `failover.errors` and `mirroring` are not followed (its sticky cookies are: returned with
    /// the answer, for the caller to add after the main walk's).
    async fn serve_failover<'r>(
        &self,
        route: &'r Route,
        failover: &'r crate::table::FailoverService,
        resolved: Option<&'r Service>,
        (parts, mut body): (http::request::Parts, ProxyBody),
        conn: &ConnInfo,
        served: &mut Served,
    ) -> (Response<ProxyBody>, Vec<http::HeaderValue>) {
        let kept = match failover::plan(failover, &mut body).await {
            failover::Plan::Keep(bytes) => bytes,
            failover::Plan::MainOnly => {
                let resp = self
                    .serve_resolved(route, resolved, parts, body, conn, served)
                    .await;
                return (resp, Vec::new());
            }
            failover::Plan::Answer(resp) => return (resp, Vec::new()),
        };
        let again = failover::copy_head(&parts);
        let resp = self
            .serve_resolved(route, resolved, parts, body, conn, served)
            .await;
        if !failover::falls_back(failover, &resp) {
            return (resp, Vec::new());
        }
        // The main answer is dropped (its connection is released as its body is).
        drop(resp);
        if !failover.fallback.is_up() {
            return (failover::unavailable(), Vec::new());
        }
        let mut walk = Walk::default();
        let fallback =
            failover
                .fallback
                .walk(std::time::Instant::now(), Some(&again.headers), &mut walk);
        let resp = self
            .serve_resolved(route, fallback, again, ProxyBody::full(kept), conn, served)
            .await;
        (resp, walk.cookies)
    }

    /// Answers with the service a walk resolved to (a load balancer forwards, through the
    /// `buffering`/`retry` middlewares wrapping the forward).
    async fn serve_resolved(
        &self,
        route: &Route,
        resolved: Option<&Service>,
        parts: http::request::Parts,
        body: ProxyBody,
        conn: &ConnInfo,
        served: &mut Served,
    ) -> Response<ProxyBody> {
        match resolved {
            None
            | Some(
                Service::Weighted(_)
                | Service::Hrw(_)
                | Service::Failover(_)
                | Service::Mirroring(_),
            ) => ProxyError::NoEndpoint {
                service: route.service.name().to_string(),
            }
            .into_response(),
            Some(Service::Closed(_)) => ProxyError::RouteClosed.into_response(),
            Some(Service::Internal(service)) => match &self.observer {
                Some(o) => o.respond_internal(*service, &parts, conn.tls),
                None => None,
            }
            .unwrap_or_else(|| internal::respond(*service, &parts, conn)),
            Some(Service::LoadBalancer(lb)) => {
                // Middlewares wrapping the forward: buffering (which may send again per its
                // retryExpression) around retry; no-ops without them.
                let retried = &served.retries;
                // Each attempt is timed from its start (the access log's `OriginDuration`).
                let meter = self.metered(route).and_then(|m| m.semconv());
                // `retry` and `buffering` send a copy of the head per attempt, which carries no
                // extensions of this layer: each attempt gets the trace context back.
                let traced = parts.extensions.get::<Traced>().cloned();
                let traced = &traced;
                let (sent, by) = buffering::around(&route.middlewares, parts, body, |p, b| {
                    retry::around(&route.middlewares, p, b, retried, |mut p, b| async move {
                        if let Some(t) = traced {
                            if p.extensions.get::<Traced>().is_none() {
                                p.extensions.insert(t.clone());
                            }
                        }
                        let began = std::time::Instant::now();
                        let mut by = None;
                        let sent = forward::forward(lb, p, b, conn, &mut by, meter).await;
                        (sent, by.map(|pool| (pool, began)))
                    })
                })
                .await;
                let (pool, began) = by.unzip();
                served.pool = pool;
                served.began = began;
                match sent {
                    Ok(resp) => resp,
                    Err(error) => {
                        tracing::debug!(router = %route.name, service = %lb.name, %error, "request failed");
                        error.into_response()
                    }
                }
            }
        }
    }
}

/// What serving a request leaves for the metrics and the access log besides the response.
#[derive(Default)]
struct Served {
    /// The upstream pool that answered; `None` when no upstream did.
    pool: Option<Arc<UpstreamPool>>,
    /// Requests the `retry` middleware sent again.
    retries: std::sync::atomic::AtomicU32,
    /// When the request went to that server (its last attempt).
    began: Option<std::time::Instant>,
}

/// An HTTP/1 request that may switch protocols (the framing guard stops following such a
/// connection): `Some(true)` for `CONNECT`, `Some(false)` for an HTTP/1.1 `Upgrade`.
fn asks_upgrade<B>(req: &Request<B>) -> Option<bool> {
    if req.version() != http::Version::HTTP_11 && req.version() != http::Version::HTTP_10 {
        return None;
    }
    if req.method() == http::Method::CONNECT {
        return Some(true);
    }
    (req.version() == http::Version::HTTP_11 && req.headers().contains_key(http::header::UPGRADE))
        .then_some(false)
}

/// After an upgrade request the framing guard no longer checks heads on the connection, so if
/// the protocol did not switch the connection must not carry another request: `Connection: close`.
fn keep_guard_honest(resp: &mut Response<ProxyBody>, connect: bool) {
    let switched = resp.status() == http::StatusCode::SWITCHING_PROTOCOLS
        || (connect && resp.status().is_success());
    if !switched {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
}

/// Why the `Host` header is unusable, as Go's server sees it: more than one, or a byte outside
/// what a host and port may hold (`httpguts.ValidHostHeader`: letters, digits and
/// `!$%&'()*+,-.:;=[]_~`; raw UTF-8, spaces, `@`, `/` are malformed).
fn host_problem(headers: &http::HeaderMap) -> Option<&'static str> {
    let mut hosts = headers.get_all(http::header::HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return Some("too many Host headers");
    }
    let valid = host
        .as_bytes()
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"!$%&'()*+,-.:;=[]_~".contains(&b));
    (!valid).then_some("malformed Host header")
}

/// Hosts are compared lowercase; most already are, so this rarely allocates.
fn lowercase(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    use super::host_problem;

    #[test]
    fn hosts_go_refuses_are_refused() {
        let headers = |hosts: &[&[u8]]| {
            let mut h = http::HeaderMap::new();
            for host in hosts {
                h.append(
                    http::header::HOST,
                    http::HeaderValue::from_bytes(host).unwrap(),
                );
            }
            h
        };
        let malformed = Some("malformed Host header");
        let cases: [(&[&[u8]], Option<&str>); 9] = [
            (&[b"example.com"], None),
            (&[b"[::1]:8080"], None),
            (&[b"a_b-c.~!$&'()*+,;=%25"], None),
            (&[b""], None),
            (&[], None),
            (&["🦭.com".as_bytes()], malformed),
            (&[b"a b"], malformed),
            (&[b"user@example.com"], malformed),
            (&[b"a", b"b"], Some("too many Host headers")),
        ];
        for (hosts, want) in cases {
            assert_eq!(host_problem(&headers(hosts)), want, "{hosts:?}");
        }
    }
}
