//! The spans of one request: `ServerSpan` (started before routing, ended with the response
//! head), the trace context it leaves in the request's extensions (`Traced`), and
//! `ClientSpan` (the upstream call, whose id the backend receives as its parent).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, Version};

use super::context::{self, SpanId, TraceId};
use super::span::{Kind, Span, Value};
use super::Tracer;
use crate::observe::metrics::NotServed;
use crate::proxy::conn::ConnInfo;
use crate::table::Route;
use crate::upstream::Target;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The trace a request belongs to, in its extensions from the entrypoint to `forward`.
#[derive(Debug, Clone)]
pub struct Traced {
    tracer: Arc<Tracer>,
    trace_id: TraceId,
    /// The span the upstream call is a child of (SERVER, or `Service` when detailed).
    parent: SpanId,
    sampled: bool,
    trace_state: Option<HeaderValue>,
}

/// The entrypoint's span, recorded when the trace is sampled.
#[derive(Debug)]
pub struct ServerSpan {
    tracer: Arc<Tracer>,
    span: Span,
    /// With detailed verbosity, the `Service` span's id (the upstream call's parent); the
    /// `Router` and middleware spans get theirs when recorded.
    detailed: Option<SpanId>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn method_name(method: &Method) -> Cow<'static, str> {
    for known in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ] {
        if *method == known {
            return Cow::Borrowed(match known {
                Method::GET => "GET",
                Method::POST => "POST",
                Method::PUT => "PUT",
                Method::DELETE => "DELETE",
                Method::HEAD => "HEAD",
                Method::OPTIONS => "OPTIONS",
                Method::PATCH => "PATCH",
                Method::CONNECT => "CONNECT",
                _ => "TRACE",
            });
        }
    }
    Cow::Owned(method.as_str().to_string())
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The header as a string, for attributes.
fn text(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// `a=1&b=2` with every value whose name is not in `safe` replaced by `REDACTED`, keys sorted
/// (Traefik re-encodes the query through Go's `url.Values`).
pub fn redact_query(query: &str, safe: &[String]) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .map(|(k, v)| match safe.iter().any(|s| s == k) {
            true => format!("{k}={v}"),
            false => format!("{k}=REDACTED"),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn capture(span: &mut Span, headers: &HeaderMap, wanted: &[(http::HeaderName, String)]) {
    for (name, key) in wanted {
        let values: Vec<String> = headers.get_all(name).iter().map(text).collect();
        if !values.is_empty() {
            span.attributes
                .push((Cow::Owned(key.clone()), Value::Strs(values)));
        }
    }
}

// === impl ServerSpan ===

impl ServerSpan {
    /// Starts the trace of a request on entrypoint `index` (the caller decided it is traced):
    /// reads an incoming `traceparent` (its trace id is kept) or starts a trace, and leaves a
    /// [`Traced`] in the request's extensions for `forward`. `None` when the trace is not
    /// sampled (the backend still gets a `traceparent`, unsampled).
    pub fn start<B>(
        tracer: &Arc<Tracer>,
        index: usize,
        req: &mut Request<B>,
        conn: &ConnInfo,
    ) -> Option<ServerSpan> {
        let incoming = req
            .headers()
            .get(TRACEPARENT)
            .and_then(|v| context::parse_traceparent(v.as_bytes()));
        let sampled = match incoming {
            Some(parent) => parent.sampled,
            None => context::sample(tracer.sample_rate),
        };
        let trace_id = incoming
            .map(|p| p.trace_id)
            .unwrap_or_else(context::new_trace_id);
        let trace_state = incoming
            .and_then(|_| req.headers().get(TRACESTATE))
            .cloned();
        let span_id = context::new_span_id();
        req.extensions_mut().insert(Traced {
            tracer: Arc::clone(tracer),
            trace_id,
            parent: span_id,
            sampled,
            trace_state: trace_state.clone(),
        });
        if !sampled {
            return None;
        }
        let mut span = Span {
            trace_id,
            span_id,
            parent: incoming.map(|p| p.parent_id),
            trace_state: trace_state.as_ref().map(text),
            name: method_name(req.method()),
            kind: Kind::Server,
            start: now(),
            end: 0,
            attributes: Vec::with_capacity(16),
            error: false,
        };
        let headers = req.headers();
        let uri = req.uri();
        span.str("entry_point", tracer.entrypoint_name(index));
        span.str("http.request.method", req.method().as_str());
        span.str("network.protocol.version", protocol_version(req.version()));
        let size = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        span.int("http.request.body.size", size);
        span.str("network.peer.address", conn.peer.ip().to_string());
        span.int("network.peer.port", i64::from(conn.peer.port()));
        span.str("client.address", conn.peer.ip().to_string());
        span.int("client.port", i64::from(conn.peer.port()));
        // As Traefik (Go's `req.Host`): the authority as the client wrote it, port included.
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| headers.get(header::HOST).map(text))
            .unwrap_or_default();
        span.str("server.address", host);
        span.str("url.path", uri.path());
        if let Some(query) = uri.query() {
            span.str("url.query", redact_query(query, &tracer.safe_query_params));
        }
        span.str("url.scheme", if conn.tls { "https" } else { "http" });
        if let Some(agent) = headers.get(header::USER_AGENT) {
            span.str("user_agent.original", text(agent));
        }
        capture(&mut span, headers, &tracer.captured_request);
        Some(ServerSpan {
            tracer: Arc::clone(tracer),
            span,
            detailed: None,
        })
    }

    /// The router is known: `traced` (its `observability.tracing` over the entrypoint's, and
    /// `addInternals`) and `detailed` (`traceVerbosity: detailed`) decide. Not traced: the span
    /// and the trace context go, so the backend gets the caller's `traceparent` as it came (as
    /// Traefik, whose router then never starts a span). Traced where the entrypoint was not:
    /// the trace starts now. Detailed: the upstream call becomes a child of the `Service` span.
    pub fn routed<B>(
        slot: &mut Option<ServerSpan>,
        tracer: &Arc<Tracer>,
        (index, traced, detailed): (usize, bool, bool),
        req: &mut Request<B>,
        conn: &ConnInfo,
    ) {
        if !traced {
            *slot = None;
            req.extensions_mut().remove::<Traced>();
            return;
        }
        if slot.is_none() && req.extensions().get::<Traced>().is_none() {
            *slot = ServerSpan::start(tracer, index, req, conn);
        }
        if detailed {
            let service = context::new_span_id();
            if let Some(t) = req.extensions_mut().get_mut::<Traced>() {
                t.parent = service;
            }
            if let Some(span) = slot {
                span.detailed = Some(service);
            }
        }
    }

    /// Ends the span with the response head and hands it (and the detailed spans) to the
    /// exporter. Detailed: `Router`, then one span per middleware that ran and that Traefik
    /// traces (named after its type, each the child of the one before, in chain order), then
    /// `Service` when the request reached it; they share the entrypoint span's times.
    pub fn end<B>(mut self, route: Option<&Arc<Route>>, resp: &Response<B>) {
        let end = now();
        let status = resp.status().as_u16();
        self.span
            .int("http.response.status_code", i64::from(status));
        capture(
            &mut self.span,
            resp.headers(),
            &self.tracer.captured_response,
        );
        self.span.error = status >= 500;
        self.span.end = end;
        if let (Some(service_id), Some(route)) = (self.detailed, route) {
            let child = |name: &'static str, id: SpanId, parent: SpanId| Span {
                trace_id: self.span.trace_id,
                span_id: id,
                parent: Some(parent),
                trace_state: self.span.trace_state.clone(),
                name: Cow::Borrowed(name),
                kind: Kind::Internal,
                start: self.span.start,
                end,
                attributes: Vec::with_capacity(3),
                error: status >= 500,
            };
            let router_id = context::new_span_id();
            let mut router = child("Router", router_id, self.span.span_id);
            router.str("traefik.router.name", route.name.as_str());
            router.str("traefik.service.name", route.service.name());
            router.str("http.route", route.rule.source());
            self.tracer.exporter.push(router);
            // A middleware that answered ends the chain: the later ones and the service did
            // not run.
            let answered = resp.extensions().get::<NotServed>().map(|n| n.0);
            let ran = answered.map_or(route.traces.len(), |i| i + 1);
            let mut parent = router_id;
            for (i, mw) in route.traces.iter().take(ran).enumerate() {
                let Some(name) = mw.span else { continue };
                let id = context::new_span_id();
                let mut span = child(name, id, parent);
                span.str("traefik.middleware.name", &*mw.name);
                // Traefik marks the span of a middleware that refused the request.
                span.error = answered == Some(i) && status >= 400;
                self.tracer.exporter.push(span);
                parent = id;
            }
            if answered.is_none() {
                let mut service = child("Service", service_id, parent);
                service.str("traefik.service.name", route.service.name());
                self.tracer.exporter.push(service);
            }
        }
        self.tracer.exporter.push(self.span);
    }
}

// === impl ClientSpan ===

/// The upstream call of a traced request; the backend receives its id as parent. Dropped
/// without [`ClientSpan::answered`], it is recorded as failed (no response).
#[derive(Debug)]
pub struct ClientSpan {
    tracer: Arc<Tracer>,
    span: Option<Span>,
    /// Attributes before those of the server aimed at.
    base: usize,
}

impl ClientSpan {
    /// Writes the `traceparent` (and `tracestate`) the backend receives, replacing the
    /// client's, when the request is traced; `None` otherwise (headers left as they came).
    pub fn start(parts: &mut http::request::Parts) -> Option<ClientSpan> {
        let traced = parts.extensions.get::<Traced>()?;
        let span_id = context::new_span_id();
        parts.headers.insert(
            TRACEPARENT,
            context::format_traceparent(&traced.trace_id, &span_id, traced.sampled),
        );
        match &traced.trace_state {
            Some(state) => {
                parts.headers.insert(TRACESTATE, state.clone());
            }
            None => {
                parts.headers.remove(TRACESTATE);
            }
        }
        let span = traced.sampled.then(|| {
            let mut span = Span {
                trace_id: traced.trace_id,
                span_id,
                parent: Some(traced.parent),
                trace_state: traced.trace_state.as_ref().map(text),
                name: Cow::Borrowed("ReverseProxy"),
                kind: Kind::Client,
                start: now(),
                end: 0,
                attributes: Vec::with_capacity(12),
                error: true,
            };
            span.str("http.request.method", parts.method.as_str());
            span.str("network.protocol.version", protocol_version(parts.version));
            if let Some(agent) = parts.headers.get(header::USER_AGENT) {
                span.str("user_agent.original", text(agent));
            }
            capture(&mut span, &parts.headers, &traced.tracer.captured_request);
            span
        });
        Some(ClientSpan {
            tracer: Arc::clone(&traced.tracer),
            base: span.as_ref().map_or(0, |s| s.attributes.len()),
            span,
        })
    }

    /// The server the call went to (the last one tried when retried).
    pub fn aimed(&mut self, target: &Target, path_and_query: &http::uri::PathAndQuery) {
        let Some(span) = &mut self.span else {
            return;
        };
        // A retry aims again: the attributes of the server tried before go.
        span.attributes.truncate(self.base);
        let scheme = target
            .url
            .split_once("://")
            .map(|(s, _)| s)
            .unwrap_or("http");
        let mut full = format!(
            "{scheme}://{}{}{}",
            target.authority,
            target.base_path,
            path_and_query.path()
        );
        if let Some(query) = path_and_query.query() {
            full.push('?');
            full.push_str(&redact_query(query, &self.tracer.safe_query_params));
        }
        span.str("url.full", full);
        span.str("url.scheme", scheme.to_string());
        span.str("server.address", target.host.as_str());
        span.int("server.port", i64::from(target.port));
        span.str("network.peer.address", target.host.as_str());
        span.int("network.peer.port", i64::from(target.port));
    }

    /// The upstream answered with this head.
    pub fn answered<B>(mut self, resp: &Response<B>) {
        if let Some(span) = &mut self.span {
            let status = resp.status().as_u16();
            span.int("http.response.status_code", i64::from(status));
            capture(span, resp.headers(), &self.tracer.captured_response);
            span.error = status >= 400;
        }
    }
}

impl Drop for ClientSpan {
    fn drop(&mut self) {
        if let Some(mut span) = self.span.take() {
            span.end = now();
            self.tracer.exporter.push(span);
        }
    }
}
