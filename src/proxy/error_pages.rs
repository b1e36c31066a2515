//! Fetching `errors` middleware pages: when a response's status is caught, the error service is
//! asked for the page (GET, the original request's headers and Host) and its headers and body
//! replace the response's, with the caught status (or its rewrite). If the error service gives no
//! response (no server, upstream failure), the original response goes back unchanged.

use std::sync::Arc;

use http::{header, HeaderMap, Method, Request, Response, Uri};

use super::body::ProxyBody;
use super::forward;
use super::internal;
use super::service::ConnInfo;
use crate::middleware::errors::ErrorPages;
use crate::middleware::Middleware;
use crate::observe::metrics::semconv::SemConv;
use crate::table::Service;

/// What the page request needs from the original request.
pub(super) struct Original {
    uri: Uri,
    headers: HeaderMap,
}

/// Copies the request's URI and headers when the route has an `errors` middleware.
pub(super) fn capture(
    middlewares: &[Arc<Middleware>],
    parts: &http::request::Parts,
) -> Option<Original> {
    middlewares
        .iter()
        .any(|m| matches!(**m, Middleware::Errors(_)))
        .then(|| Original {
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
}

/// Runs the `errors` middlewares among `passed` on `resp`, innermost first.
pub(super) async fn apply(
    passed: &[Arc<Middleware>],
    original: Option<&Original>,
    mut resp: Response<ProxyBody>,
    conn: &ConnInfo,
    meter: Option<&SemConv>,
) -> Response<ProxyBody> {
    let Some(original) = original else {
        return resp;
    };
    for m in passed.iter().rev() {
        if let Middleware::Errors(pages) = &**m {
            resp = Box::pin(page(pages, original, resp, conn, meter)).await;
        }
    }
    resp
}

async fn page(
    pages: &ErrorPages,
    original: &Original,
    resp: Response<ProxyBody>,
    conn: &ConnInfo,
    meter: Option<&SemConv>,
) -> Response<ProxyBody> {
    let code = resp.status();
    let Some(status) = pages.options().catches(code) else {
        return resp;
    };
    let url = original
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let Some(target) = pages
        .options()
        .page_target(status.as_u16(), code.as_u16(), &url)
    else {
        return resp;
    };
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = Method::GET;
    parts.uri = target;
    parts.headers = original.headers.clone();
    // The page request has no body, whatever the original had.
    for h in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::EXPECT,
    ] {
        parts.headers.remove(h);
    }
    if let Some(host) = forward::request_host(&original.uri, &original.headers) {
        if let Ok(host) = http::HeaderValue::from_str(host) {
            parts.headers.insert(header::HOST, host);
        }
    }
    let fetched = match pages.service.resolve(std::time::Instant::now()) {
        Some(Service::LoadBalancer(lb)) => {
            let mut served = None;
            forward::forward(lb, parts, ProxyBody::empty(), conn, &mut served, meter)
                .await
                .map_err(|e| e.to_string())
        }
        Some(Service::Internal(service)) => Ok(internal::respond(*service, &parts, conn)),
        None
        | Some(Service::Weighted(_))
        | Some(Service::Hrw(_))
        | Some(Service::Failover(_))
        | Some(Service::Mirroring(_))
        | Some(Service::Closed(_)) => Err("no server available".to_string()),
    };
    match fetched {
        Ok(page) => {
            let (mut head, body) = page.into_parts();
            head.status = status;
            Response::from_parts(head, body)
        }
        Err(error) => {
            tracing::debug!(service = %pages.service.name(), %error, "error page unavailable");
            resp
        }
    }
}
