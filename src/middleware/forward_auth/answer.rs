//! What an authentication answer does beyond pass or deny: the authentication server's cookies
//! on the response (`addAuthCookiesToResponse`) and its redirects as Go's client and
//! `http.Redirect` write them. Pure.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode, Uri};

use super::ForwardAuth;

/// Applies `addAuthCookiesToResponse` to the service's response: its cookies of those names go,
/// the authentication server's take their place.
pub fn apply_cookies(headers: &mut HeaderMap, cookies: &[HeaderValue], names: &ForwardAuth) {
    if cookies.is_empty() {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !cookie_name(v).is_some_and(|n| names.auth_cookies.iter().any(|c| c == n)))
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for v in kept.into_iter().chain(cookies.iter().cloned()) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The name of a `Set-Cookie` value.
pub(super) fn cookie_name(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let (name, _) = s.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then_some(name)
}

/// Go's `http.Redirect(rw, req, url, 302)`.
pub(super) fn found(url: &HeaderValue, method: &Method) -> Response<Bytes> {
    let body = if *method == Method::GET || *method == Method::HEAD {
        let href = url.to_str().unwrap_or("");
        Bytes::from(format!("<a href=\"{}\">Found</a>.\n\n", html_escape(href)))
    } else {
        Bytes::new()
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::FOUND;
    resp.headers_mut().insert(header::LOCATION, url.clone());
    if *method == Method::GET || *method == Method::HEAD {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    resp
}

pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A `Location` resolved against the authentication server's URL (Go's `Response.Location`).
pub(super) fn resolve(base: &Uri, loc: &str) -> Option<HeaderValue> {
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    let abs = if loc.contains("://") && loc.parse::<Uri>().is_ok_and(|u| u.scheme().is_some()) {
        loc.to_string()
    } else if let Some(rest) = loc.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if loc.starts_with('/') {
        format!("{scheme}://{authority}{loc}")
    } else if loc.is_empty() {
        format!(
            "{scheme}://{authority}{}",
            base.path_and_query().map_or("", |p| p.as_str())
        )
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{scheme}://{authority}{dir}/{loc}")
    };
    HeaderValue::from_str(&abs).ok()
}
