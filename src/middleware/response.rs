//! Small builders for the responses middlewares answer with.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

/// A response with `status`, the given headers and the status' reason phrase as a text body
/// (as Traefik's `http.Error`/`http.StatusText` do).
pub(crate) fn respond(
    status: StatusCode,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
) -> Response<Bytes> {
    let body = Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes());
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    for (k, v) in headers {
        h.insert(k, v);
    }
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
