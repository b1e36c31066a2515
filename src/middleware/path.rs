//! URI path rewriting shared by the path middlewares: replaces the path, keeps the query, and
//! tells whether a rewritten path is still sanitised (no `.`/`..` segment, no duplicate slash),
//! the check Traefik makes after stripPrefix, stripPrefixRegex and replacePathRegex.

use http::uri::{PathAndQuery, Uri};

/// Replaces `uri`'s path with `path` (made to start with `/`), keeping scheme, authority and
/// query. `None` (and `uri` untouched) when the result is not a valid URI.
pub(crate) fn set_path(uri: &mut Uri, path: &str) -> Option<()> {
    let mut pq = String::with_capacity(path.len() + 2 + uri.query().map_or(0, str::len));
    if !path.starts_with('/') {
        pq.push('/');
    }
    pq.push_str(path);
    if let Some(q) = uri.query() {
        pq.push('?');
        pq.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    *uri = Uri::from_parts(parts).ok()?;
    Some(())
}

/// Checks at compile time that `path` can become a URI path.
pub(crate) fn valid_path(path: &str) -> bool {
    !path.contains('?') && PathAndQuery::try_from(format!("/{path}")).is_ok()
}

/// Whether any segment of `path` is `.` or `..`, or empty before the last one (a duplicate
/// slash). Such a path is what Traefik's sanitising (`URL.JoinPath`) would change; segments are
/// split on `/` only, so `%2F` and `%2E` are not separators or dots.
pub(crate) fn has_dot_or_empty_segment(path: &str) -> bool {
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(s) = segments.next() {
        let last = segments.peek().is_none();
        if s == "." || s == ".." || (s.is_empty() && !last) {
            return true;
        }
    }
    false
}

/// Sets a rewritten `path` as [`set_path`] does, unless it is not sanitised (issue 16 point 1):
/// `Err(400)` then, as Traefik refuses it, so no rewrite can hand the backend a traversal.
/// `Err(fail)` when the result is not a valid URI.
pub(crate) fn set_sanitized_path(
    uri: &mut Uri,
    path: &str,
    fail: http::StatusCode,
) -> Result<(), http::StatusCode> {
    // `set_path` adds the leading slash a stripped rest may lack (`./foo` becomes `/./foo`).
    let unsanitized = match path.strip_prefix('/') {
        Some(_) => has_dot_or_empty_segment(path),
        None => has_dot_or_empty_segment(&format!("/{path}")),
    };
    if unsanitized {
        return Err(http::StatusCode::BAD_REQUEST);
    }
    set_path(uri, path).ok_or(fail)
}

// === percent-encoding as Go's net/url sees a path ===
//
// Traefik keeps two forms of a path: `URL.Path` (fully decoded; stripPrefix and
// stripPrefixRegex match it) and the escaped form it forwards (`URL.EscapedPath()`). swarmgate's
// URI holds the escaped form; these helpers give the decoded one and rebuild the escaped one
// after a rewrite as Go would.

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XY` at `bytes[i..]` stands for, if `bytes[i]` starts a valid escape.
pub(crate) fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    if bytes.get(i) != Some(&b'%') {
        return None;
    }
    let hi = bytes.get(i + 1).copied().and_then(hex_value)?;
    let lo = bytes.get(i + 2).copied().and_then(hex_value)?;
    Some(hi * 16 + lo)
}

/// Whether Go accepts `b` as it is in an escaped path (`validEncoded`, encodePath mode).
pub(crate) fn raw_path_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:@[]/%".contains(&b)
}

/// The fully decoded path (Go's `URL.Path`); borrowed when there is no `%`. A `%` that does not
/// start a valid escape is kept as it is.
pub(crate) fn decode(path: &str) -> std::borrow::Cow<'_, [u8]> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path.as_bytes());
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(bytes, i) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Decodes `path` strictly (Go's `url.PathUnescape`): `None` on a malformed escape.
pub(crate) fn decode_strict(path: &str) -> Option<Vec<u8>> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(escape_at(bytes, i)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Go's `escape(path, encodePath)`: what `EscapedPath()` gives when the raw form cannot be used.
pub(crate) fn escape(decoded: &[u8]) -> String {
    let mut out = String::with_capacity(decoded.len() + 8);
    for &b in decoded {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// Go's `EscapedPath()` for a raw form and the decoded path it should stand for: `raw` when
/// every byte is allowed and it decodes to `decoded`, else `decoded` escaped.
pub(crate) fn escaped_form(raw: &str, decoded: &[u8]) -> String {
    if raw.bytes().all(raw_path_byte_ok) && decode_strict(raw).as_deref() == Some(decoded) {
        raw.to_owned()
    } else {
        escape(decoded)
    }
}

/// How many bytes of the escaped `raw` stand for the first `decoded_len` decoded bytes (each
/// `%XY` counts as one), as Traefik's `encodedPrefixLen`.
pub(crate) fn encoded_prefix_len(raw: &str, decoded_len: usize) -> usize {
    let bytes = raw.as_bytes();
    let (mut i, mut decoded) = (0, 0);
    while i < bytes.len() && decoded < decoded_len {
        i += if bytes[i] == b'%' && i + 2 < bytes.len() {
            3
        } else {
            1
        };
        decoded += 1;
    }
    i
}

/// The escaped path left after removing the first `decoded_len` decoded bytes of `raw` (whose
/// decoded form is `decoded`), with its leading slash (`force_slash`: exactly one, as
/// stripPrefix's deprecated `forceSlash`), as Traefik computes `RawPath` and `Path` and then
/// forwards `EscapedPath()`. Empty when nothing is left.
pub(crate) fn strip_decoded_prefix(
    raw: &str,
    decoded: &[u8],
    decoded_len: usize,
    force_slash: bool,
) -> String {
    let rest = decoded.get(decoded_len..).unwrap_or_default();
    let raw_rest = raw
        .get(encoded_prefix_len(raw, decoded_len)..)
        .unwrap_or_default();
    let lead = |d: &[u8], r: &str| -> (Vec<u8>, String) {
        if force_slash {
            let d = d.strip_prefix(b"/").unwrap_or(d);
            let r = r.strip_prefix('/').unwrap_or(r);
            ([b"/", d].concat(), format!("/{r}"))
        } else if d.is_empty() || d.starts_with(b"/") {
            let r = if r.starts_with('/') || r.is_empty() {
                r.to_owned()
            } else {
                format!("/{r}")
            };
            (d.to_vec(), r)
        } else {
            ([b"/", d].concat(), format!("/{r}"))
        }
    };
    let (rest, raw_rest) = lead(rest, raw_rest);
    if rest.is_empty() {
        return String::new();
    }
    escaped_form(&raw_rest, &rest)
}
