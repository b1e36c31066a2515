//! The per-request handler: `handle()` loads the table, finds the route and turns any error into a
//! response; `handle_route()` runs the middlewares and the service as a plain `?` chain.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::{Request, Response};

use super::body::ProxyBody;
use super::error::ProxyError;
use super::forward::{self, ForwardedPolicy};
use super::internal;
use crate::middleware::{Flow, RequestContext, RequestFacts};
use crate::rules::RequestView;
use crate::table::{Route, RoutingTable, Service};

/// What the entrypoint knows about a client connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
}

/// The proxy as one entrypoint runs it. Shared by all its connections.
pub struct Proxy {
    table: Arc<ArcSwap<RoutingTable>>,
    /// Index of this entrypoint in the list the table was compiled for.
    entrypoint: usize,
    name: Arc<str>,
    forwarded: ForwardedPolicy,
}

impl Proxy {
    pub fn new(
        table: Arc<ArcSwap<RoutingTable>>,
        entrypoint: usize,
        name: &str,
        forwarded: ForwardedPolicy,
    ) -> Self {
        Proxy {
            table,
            entrypoint,
            name: Arc::from(name),
            forwarded,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Serves one request; never fails (errors become short plain responses).
    pub async fn handle<B>(&self, req: Request<B>, conn: &ConnInfo) -> Response<ProxyBody>
    where
        B: Into<ProxyBody>,
    {
        let req = match super::hygiene::clean_request(req) {
            Ok(req) => req,
            Err(refused) => return *refused,
        };
        let route = {
            let table = self.table.load();
            let host = forward::request_host(req.uri(), req.headers()).map(forward::strip_port);
            let host = lowercase(host.unwrap_or(""));
            let view = RequestView {
                host: &host,
                path: req.uri().path(),
                query: req.uri().query(),
                method: req.method(),
                headers: req.headers(),
                client_ip: conn.peer.ip(),
            };
            match table.lookup(self.entrypoint, conn.tls, &view) {
                // Hold the route, not the table guard, across awaits.
                Some(route) => Arc::clone(route),
                None => return ProxyError::NoRoute.into_response(),
            }
        };
        let (parts, body) = req.into_parts();
        self.handle_route(&route, parts, body.into(), conn).await
    }

    async fn handle_route(
        &self,
        route: &Route,
        mut parts: http::request::Parts,
        body: ProxyBody,
        conn: &ConnInfo,
    ) -> Response<ProxyBody> {
        forward::sanitize_forwarded(&mut parts.headers, conn, &self.forwarded);
        let tls = forward::effective_tls(&parts.headers, conn, &self.forwarded);
        let ctx = RequestContext {
            client_addr: conn.peer,
            tls,
            entrypoint: &self.name,
        };
        let mut applied = route.middlewares.len();
        let mut answer = None;
        for (i, mw) in route.middlewares.iter().enumerate() {
            if let Flow::Respond(resp) = mw.on_request(&mut parts, &ctx) {
                // The answering middleware already shaped its response; earlier ones still see it.
                applied = i;
                let (head, bytes) = resp.into_parts();
                answer = Some(Response::from_parts(head, ProxyBody::full(bytes)));
                break;
            }
        }
        let facts = if route.middlewares[..applied]
            .iter()
            .any(|m| m.has_response_phase())
        {
            RequestFacts::capture(&parts)
        } else {
            RequestFacts::default()
        };
        let resp = match answer {
            Some(resp) => resp,
            None => match &*route.service {
                Service::Internal(service) => internal::respond(*service, &parts, conn),
                Service::LoadBalancer(lb) => match forward::forward(lb, parts, body, conn).await {
                    Ok(resp) => resp,
                    Err(error) => {
                        tracing::debug!(router = %route.name, service = %lb.name, %error, "request failed");
                        error.into_response()
                    }
                },
            },
        };
        let (mut head, body) = resp.into_parts();
        for mw in route.middlewares[..applied].iter().rev() {
            mw.on_response_with(&mut head, &facts, &ctx);
        }
        Response::from_parts(head, body)
    }
}

/// Hosts are compared lowercase; most already are, so this rarely allocates.
fn lowercase(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}
