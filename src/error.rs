//! `ProxyError`: every way a request can fail, which side failed, whether a retry is safe, and the
//! one mapping from failure to HTTP status (an exhaustive match: a new variant forces a decision).

use http::{header, HeaderValue, Response, StatusCode};

use crate::body::{BoxError, ProxyBody};

/// Which side of the proxy a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Downstream,
    Upstream,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("no router matches the request")]
    NoRoute,
    /// The matched router is a closed route (it could not be built from its configuration).
    #[error("the router is closed by a configuration error")]
    RouteClosed,
    /// The TLS route was reached through a connection handshaken with other TLS options.
    #[error("the connection's TLS options are not the router's")]
    Misdirected,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("service {service} has no available server")]
    NoEndpoint { service: String },
    #[error("connecting to {endpoint} failed")]
    Connect {
        endpoint: String,
        #[source]
        source: BoxError,
    },
    #[error("connecting to {endpoint} timed out")]
    ConnectTimeout { endpoint: String },
    #[error("{endpoint} did not answer in time")]
    ResponseTimeout { endpoint: String },
    #[error("exchange with {endpoint} failed")]
    Upstream {
        endpoint: String,
        #[source]
        source: BoxError,
    },
    #[error("service {service} is not usable: {reason}")]
    Misconfigured { service: String, reason: String },
}

impl ProxyError {
    pub fn side(&self) -> Side {
        match self {
            ProxyError::NoRoute | ProxyError::BadRequest(_) | ProxyError::Misdirected => {
                Side::Downstream
            }
            ProxyError::NoEndpoint { .. }
            | ProxyError::Misconfigured { .. }
            | ProxyError::RouteClosed => Side::Internal,
            ProxyError::Connect { .. }
            | ProxyError::ConnectTimeout { .. }
            | ProxyError::ResponseTimeout { .. }
            | ProxyError::Upstream { .. } => Side::Upstream,
        }
    }

    /// True when nothing of the request reached the upstream, so sending it elsewhere is safe.
    pub fn retry_safe(&self) -> bool {
        match self {
            ProxyError::Connect { .. } | ProxyError::ConnectTimeout { .. } => true,
            ProxyError::NoRoute
            | ProxyError::BadRequest(_)
            | ProxyError::Misdirected
            | ProxyError::RouteClosed
            | ProxyError::NoEndpoint { .. }
            | ProxyError::Misconfigured { .. }
            | ProxyError::ResponseTimeout { .. }
            | ProxyError::Upstream { .. } => false,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoRoute => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Misdirected => StatusCode::MISDIRECTED_REQUEST,
            ProxyError::NoEndpoint { .. }
            | ProxyError::Misconfigured { .. }
            | ProxyError::RouteClosed => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Connect { .. } | ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::ConnectTimeout { .. } | ProxyError::ResponseTimeout { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
        }
    }

    /// The short plain-text answer the client gets. Details stay in the log.
    pub fn into_response(self) -> Response<ProxyBody> {
        match self {
            ProxyError::RouteClosed => {
                // A short reason, no configuration details (those are in the log and the API).
                let mut resp = plain_response(self.status());
                *resp.body_mut() = ProxyBody::full(CLOSED_BODY);
                resp
            }
            // Traefik answers these two through Go's `http.Error` (`http.NotFound`, the load
            // balancer's "no available server"), which adds `X-Content-Type-Options: nosniff`.
            ProxyError::NoRoute | ProxyError::NoEndpoint { .. } => {
                go_http_error(plain_response(self.status()))
            }
            _ => plain_response(self.status()),
        }
    }
}

/// Adds what Go's `http.Error` adds besides the plain-text type.
pub fn go_http_error<B>(mut resp: Response<B>) -> Response<B> {
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// The body of a closed route's 503.
pub const CLOSED_BODY: &str = "503 Service Unavailable: router disabled by a configuration error\n";

/// `404 page not found`-style short plain body, like Traefik's.
pub fn plain_response(status: StatusCode) -> Response<ProxyBody> {
    let text = match status {
        StatusCode::NOT_FOUND => "404 page not found\n",
        StatusCode::BAD_REQUEST => "400 Bad Request\n",
        StatusCode::SERVICE_UNAVAILABLE => "503 Service Unavailable\n",
        StatusCode::BAD_GATEWAY => "502 Bad Gateway\n",
        StatusCode::GATEWAY_TIMEOUT => "504 Gateway Timeout\n",
        // As Traefik's snicheck writes it (`http.Error`).
        StatusCode::MISDIRECTED_REQUEST => "Misdirected Request\n",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let mut resp = Response::new(ProxyBody::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Traefik's `http.Error` answers: `nosniff` on the 404 and the no-server 503.
    #[test]
    fn go_http_error_answers_carry_nosniff() {
        let no_server = ProxyError::NoEndpoint {
            service: "s".into(),
        };
        for (error, nosniff) in [
            (ProxyError::NoRoute, true),
            (no_server, true),
            (ProxyError::RouteClosed, false),
            (ProxyError::BadRequest("x"), false),
        ] {
            let name = format!("{error:?}");
            let resp = error.into_response();
            let header = resp.headers().get(header::X_CONTENT_TYPE_OPTIONS);
            assert_eq!(header.is_some(), nosniff, "{name}");
            assert_eq!(
                resp.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
        }
    }

    #[test]
    fn statuses_follow_the_contract() {
        let io = || BoxError::from("x");
        let cases = [
            (ProxyError::NoRoute, 404, false),
            (
                ProxyError::NoEndpoint {
                    service: "s".into(),
                },
                503,
                false,
            ),
            (
                ProxyError::Connect {
                    endpoint: "e".into(),
                    source: io(),
                },
                502,
                true,
            ),
            (
                ProxyError::ConnectTimeout {
                    endpoint: "e".into(),
                },
                504,
                true,
            ),
            (
                ProxyError::ResponseTimeout {
                    endpoint: "e".into(),
                },
                504,
                false,
            ),
            (
                ProxyError::Upstream {
                    endpoint: "e".into(),
                    source: io(),
                },
                502,
                false,
            ),
        ];
        for (err, status, retry) in cases {
            assert_eq!(err.status().as_u16(), status, "{err}");
            assert_eq!(err.retry_safe(), retry, "{err}");
        }
    }
}
