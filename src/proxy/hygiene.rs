//! Request hygiene before routing: the request path is checked and normalised the way Traefik
//! 3.7 does it (docs "Request Path"), so a request can only reach a router its normalised path
//! matches, and the backend receives that normalised path.
//!
//! 1. A malformed escape (`%zz`, a `%` at the end) is refused (400), as Go's parser refuses it.
//! 2. Percent-encoded unreserved characters are decoded (`%7E` → `~`, `%2e` → `.`); other escapes
//!    are uppercased (`%c3%a9` → `%C3%A9`); bytes Go never forwards raw (`\`, space, non-ASCII)
//!    are encoded (`\` → `%5C`). Encoded `/ \ NUL ; % ? #` are allowed, as Traefik 3.7's
//!    defaults allow them; `entryPoints.<e>.http.encodedCharacters` denies them per entrypoint
//!    ([`EncodedCharacters`], checked once a router matched, 400).
//! 3. With `entryPoints.<e>.http.sanitizePath` (default true) `.` and `..` segments and duplicate
//!    slashes are removed (RFC 3986 §5.2.4) from the escaped path; a trailing slash is kept.
//!    `%2F` is not a separator, so `/a/..%2Fb` keeps its `..%2Fb` segment.
//! 4. Routers match [`routing_path`]: the escaped path with every escape decoded except the
//!    reserved characters and `%` (`/foo%20bar` matches `Path(`/foo bar`)`, `/a%2Fb` does not
//!    match `Path(`/a/b`)`), as Traefik's muxer.
//!
//! Framing attacks (`Content-Length` with `Transfer-Encoding`, obfuscated or non-final `chunked`,
//! conflicting or invalid `Content-Length`, spaces before the colon, invalid header bytes) are
//! hyper's parser's job and never reach this module; `tests/hardening.rs` pins that behaviour.
//!
//! Must not allocate for a path that is already clean (the common case: no `%`, no dot segment).

use std::borrow::Cow;

use http::{Request, StatusCode, Uri};

use super::body::ProxyBody;
use super::error::plain_response;
use crate::middleware::path::{escape_at, has_dot_or_empty_segment, raw_path_byte_ok};
pub use crate::middleware::EncodedCharacters;

/// Why a request path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("malformed percent-encoding at byte {at}")]
    BadEscape { at: usize },
    #[error("the normalised path is not a valid URI")]
    InvalidUri,
}

/// An entrypoint's path options (`entryPoints.<e>.http`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPolicy {
    /// `sanitizePath`: remove dot segments and duplicate slashes (default true).
    pub sanitize: bool,
    /// `encodedCharacters`: the encoded characters refused once a router matched.
    pub denied: EncodedCharacters,
}

impl Default for PathPolicy {
    fn default() -> Self {
        PathPolicy {
            sanitize: true,
            denied: EncodedCharacters::ALLOW_ALL,
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Reserved characters (and `%`) stay encoded in the routing path, as in Traefik's muxer.
fn is_reserved(b: u8) -> bool {
    b":/?#[]@!$&'()*+,;=%".contains(&b)
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 15)]));
}

/// Normalises an origin-form path (see the module doc) with the default policy.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    normalize_path_with(path, true)
}

/// Normalises an origin-form path (see the module doc); `sanitize` removes dot segments and
/// duplicate slashes. Paths not starting with `/` (`*`) are returned unchanged. Borrowed when
/// nothing changed.
pub fn normalize_path_with(path: &str, sanitize: bool) -> Result<Cow<'_, str>, PathError> {
    if !path.starts_with('/') {
        return Ok(Cow::Borrowed(path));
    }
    let escaped = if path.bytes().all(|b| b != b'%' && raw_path_byte_ok(b)) {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(normalize_escapes(path)?)
    };
    if !sanitize || !has_dot_or_empty_segment(&escaped) {
        return Ok(escaped);
    }
    Ok(Cow::Owned(remove_dot_segments(&escaped)))
}

fn normalize_escapes(path: &str) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            if raw_path_byte_ok(b) {
                out.push(char::from(b));
            } else {
                push_escape(&mut out, b);
            }
            i += 1;
            continue;
        }
        let Some(byte) = escape_at(bytes, i) else {
            return Err(PathError::BadEscape { at: i });
        };
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            push_escape(&mut out, byte);
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

/// The path routers match (Traefik's routing path): `escaped` with every escape decoded but the
/// reserved characters and `%`. Borrowed when there is no `%`. Decoded bytes that are not UTF-8
/// become U+FFFD.
pub fn routing_path(escaped: &str) -> Cow<'_, str> {
    if !escaped.contains('%') {
        return Cow::Borrowed(escaped);
    }
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(bytes, i) {
            Some(b) if !is_reserved(b) => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Applies [`normalize_path`] to a request: unchanged when clean, the path replaced (query, scheme
/// and authority kept) when normalised, or the 400 response to send when refused.
pub fn clean_request<B>(req: Request<B>) -> Result<Request<B>, Box<http::Response<ProxyBody>>> {
    clean_request_with(req, &PathPolicy::default())
}

/// [`clean_request`] with an entrypoint's [`PathPolicy`].
pub fn clean_request_with<B>(
    req: Request<B>,
    policy: &PathPolicy,
) -> Result<Request<B>, Box<http::Response<ProxyBody>>> {
    let normalized = match normalize_path_with(req.uri().path(), policy.sanitize) {
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
            ("/é/x", "/%C3%A9/x"),
            ("/a\\b", "/a%5Cb"),
            ("/a b", "/a%20b"),
            // Encoded characters are allowed (Traefik 3.7's defaults), escapes uppercased.
            ("/a%2fb", "/a%2Fb"),
            ("/a%5cb", "/a%5Cb"),
            ("/a%00b", "/a%00b"),
            ("/a%3bb", "/a%3Bb"),
            ("/a%25b", "/a%25b"),
            ("/a%3fb", "/a%3Fb"),
            ("/a%23b", "/a%23b"),
            ("/a;b", "/a;b"),
            // `%2F` is no separator: no dot segment to remove.
            ("/a/b/..%2f..%2fc", "/a/b/..%2F..%2Fc"),
            ("/x/..%2Fadmin", "/x/..%2Fadmin"),
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
    fn refuses_malformed_escapes() {
        let cases = [
            ("/a%zz", PathError::BadEscape { at: 2 }),
            ("/a%4", PathError::BadEscape { at: 2 }),
            ("/a%", PathError::BadEscape { at: 2 }),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input), Err(want), "{input}");
        }
    }

    #[test]
    fn sanitize_path_false_keeps_dot_segments() {
        assert_eq!(
            normalize_path_with("/a/../b//c/%2e", false).unwrap(),
            "/a/../b//c/."
        );
        assert!(matches!(
            normalize_path_with("/a/../b", false),
            Ok(Cow::Borrowed(_))
        ));
    }

    /// Issue 16 point 6: routers see unreserved and non-reserved escapes decoded (`%20` is a
    /// space), reserved ones (`%2F`, `%3F`, `%25`, …) still encoded, as Traefik's muxer.
    #[test]
    fn routing_path_decodes_all_but_reserved_escapes() {
        let cases = [
            ("/foo%20bar", "/foo bar"),
            ("/caf%C3%A9", "/café"),
            ("/a%2Fb", "/a%2Fb"),
            ("/a%3Fb%23c%25d%3Be", "/a%3Fb%23c%25d%3Be"),
            ("/a%5Cb", "/a\\b"),
            ("/bad%C3", "/bad\u{FFFD}"),
            ("/plain", "/plain"),
        ];
        for (input, want) in cases {
            assert_eq!(routing_path(input), want, "{input}");
        }
        assert!(matches!(routing_path("/plain/path"), Cow::Borrowed(_)));
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
        let slash = Request::get("/a%2fb").body(()).unwrap();
        let Ok(slash) = clean_request(slash) else {
            panic!("refused an encoded slash")
        };
        assert_eq!(slash.uri().path(), "/a%2Fb");
        let bad = Request::get("/a%zz").body(()).unwrap();
        let Err(resp) = clean_request(bad) else {
            panic!("accepted a malformed escape")
        };
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
}
