//! Request hygiene before routing: the request path is checked and normalised the way Traefik v3
//! does it (docs "Request Path"), so a request can only reach a router its normalised path
//! matches, and the backend receives that normalised path.
//!
//! 1. Encoded characters that change a path's meaning are rejected (400): `%2F` `%5C` `%00`
//!    `%3B` `%25` `%3F` `%23`, as are malformed escapes (`%zz`, a `%` at the end).
//! 2. Percent-encoded unreserved characters are decoded (`%7E` → `~`, `%2e` → `.`); other escapes
//!    are uppercased (`%c3%a9` → `%C3%A9`).
//! 3. `.` and `..` segments and duplicate slashes are removed (RFC 3986 §5.2.4); a trailing slash
//!    is kept.
//!
//! Framing attacks (`Content-Length` with `Transfer-Encoding`, obfuscated or non-final `chunked`,
//! conflicting or invalid `Content-Length`, spaces before the colon, invalid header bytes) are
//! hyper's parser's job and never reach this module; `tests/hardening.rs` pins that behaviour.
//!
//! Must not allocate for a path that is already clean (the common case).

use std::borrow::Cow;

use http::{Request, StatusCode, Uri};

use super::body::ProxyBody;
use super::error::plain_response;
use crate::middleware::path::has_dot_or_empty_segment;

/// Why a request path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("encoded character %{byte:02X} is not allowed in the path")]
    EncodedCharacter { byte: u8 },
    #[error("malformed percent-encoding at byte {at}")]
    BadEscape { at: usize },
    #[error("the normalised path is not a valid URI")]
    InvalidUri,
}

/// Encoded bytes Traefik rejects by default.
const REJECTED: &[u8] = b"/\\\0;%?#";

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Normalises an origin-form path (see the module doc). Paths not starting with `/` (`*`) are
/// returned unchanged. Borrowed when nothing changed.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    if !path.starts_with('/') {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = if path.contains('%') {
        Cow::Owned(decode_unreserved(path)?)
    } else {
        Cow::Borrowed(path)
    };
    if !has_dot_or_empty_segment(&decoded) {
        return Ok(decoded);
    }
    Ok(Cow::Owned(remove_dot_segments(&decoded)))
}

fn decode_unreserved(path: &str) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            // Multi-byte characters are copied whole: find the next '%' or the end.
            let next = bytes[i..]
                .iter()
                .position(|&c| c == b'%')
                .map_or(bytes.len(), |p| i + p);
            out.push_str(&path[i..next]);
            i = next;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(PathError::BadEscape { at: i });
        };
        let byte = hi * 16 + lo;
        if REJECTED.contains(&byte) {
            return Err(PathError::EncodedCharacter { byte });
        }
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
        i += 3;
    }
    Ok(out)
}

fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = path.split('/').skip(1).peekable();
    let mut trailing = false;
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "" | "." => trailing = last,
            ".." => {
                kept.pop();
                trailing = last;
            }
            s => {
                kept.push(s);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &kept {
        out.push('/');
        out.push_str(s);
    }
    if trailing || kept.is_empty() {
        out.push('/');
    }
    out
}

/// Applies [`normalize_path`] to a request: unchanged when clean, the path replaced (query, scheme
/// and authority kept) when normalised, or the 400 response to send when refused.
pub fn clean_request<B>(req: Request<B>) -> Result<Request<B>, Box<http::Response<ProxyBody>>> {
    let normalized = match normalize_path(req.uri().path()) {
        Ok(Cow::Borrowed(_)) => return Ok(req),
        Ok(Cow::Owned(path)) => path,
        Err(error) => {
            tracing::debug!(path = req.uri().path(), %error, "request refused");
            return Err(Box::new(plain_response(StatusCode::BAD_REQUEST)));
        }
    };
    let (mut head, body) = req.into_parts();
    match with_path(&head.uri, &normalized) {
        Ok(uri) => head.uri = uri,
        Err(error) => {
            tracing::debug!(%error, "request refused");
            return Err(Box::new(plain_response(StatusCode::BAD_REQUEST)));
        }
    }
    Ok(Request::from_parts(head, body))
}

fn with_path(uri: &Uri, path: &str) -> Result<Uri, PathError> {
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().map_err(|_| PathError::InvalidUri)?);
    Uri::from_parts(parts).map_err(|_| PathError::InvalidUri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_traefik() {
        let cases = [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a/b/", "/a/b/"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a//b///c", "/a/b/c"),
            ("//", "/"),
            ("/%2e%2e/admin", "/admin"),
            ("/public/%2E%2E/admin", "/admin"),
            ("/a/%2e/b", "/a/b"),
            ("/%7Euser", "/~user"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/enc%20oded", "/enc%20oded"),
            ("/é/x", "/é/x"),
            ("/.well-known/acme", "/.well-known/acme"),
            ("/a..b/..c", "/a..b/..c"),
            ("*", "*"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn clean_paths_are_borrowed() {
        for path in ["/", "/api/v1/users", "/a/b/", "/.well-known/x", "/a..b"] {
            assert!(
                matches!(normalize_path(path), Ok(Cow::Borrowed(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn refuses_dangerous_escapes() {
        let cases = [
            ("/a%2Fb", PathError::EncodedCharacter { byte: b'/' }),
            ("/a%2fb", PathError::EncodedCharacter { byte: b'/' }),
            ("/a%5Cb", PathError::EncodedCharacter { byte: b'\\' }),
            ("/a%00", PathError::EncodedCharacter { byte: 0 }),
            ("/a%3Bb", PathError::EncodedCharacter { byte: b';' }),
            ("/a%252e", PathError::EncodedCharacter { byte: b'%' }),
            ("/a%3F", PathError::EncodedCharacter { byte: b'?' }),
            ("/a%23", PathError::EncodedCharacter { byte: b'#' }),
            ("/a%zz", PathError::BadEscape { at: 2 }),
            ("/a%4", PathError::BadEscape { at: 2 }),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input), Err(want), "{input}");
        }
    }

    #[test]
    fn clean_request_keeps_query_and_authority() {
        let req = Request::get("http://example.com/a/../b/%7Ex?q=%2F..")
            .body(())
            .unwrap();
        let Ok(req) = clean_request(req) else {
            panic!("refused a cleanable request")
        };
        assert_eq!(req.uri().to_string(), "http://example.com/b/~x?q=%2F..");
        let bad = Request::get("/a%2Fb").body(()).unwrap();
        let Err(resp) = clean_request(bad) else {
            panic!("accepted an encoded slash")
        };
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
}
