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

/// `raw` with every byte Go would not forward as it is (`\\`, space, non-ASCII, …) percent-encoded
/// in place; existing escapes are kept, so an encoded `%2F` never becomes a separator.
pub(crate) fn encode_raw(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.bytes().all(raw_path_byte_ok) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for b in raw.bytes() {
        if raw_path_byte_ok(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    std::borrow::Cow::Owned(out)
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

/// The escaped path left after removing what stands for the first `decoded_len` decoded bytes
/// of `raw`, with a leading slash (`force_slash`: exactly one, as stripPrefix's deprecated
/// `forceSlash`); empty when nothing is left (and no `force_slash`).
///
/// Deliberately not Go's answer when the rest starts with an encoded slash (`/api%2Fx` stripped
/// of `/api`): Go's raw rest `/%2Fx` no longer decodes to its decoded rest `/x`, so it forwards
/// the decoded rest re-escaped, and every `%2F` of the rest becomes a separator the router never
/// saw. swarmgate forwards the escaped rest (`/%2Fx`): no separator appears that was not in the
/// routing path.
pub(crate) fn strip_decoded_prefix(raw: &str, decoded_len: usize, force_slash: bool) -> String {
    let rest = raw
        .get(encoded_prefix_len(raw, decoded_len)..)
        .unwrap_or_default();
    let rest = if force_slash {
        rest.strip_prefix('/').unwrap_or(rest)
    } else {
        rest
    };
    if rest.is_empty() && !force_slash {
        return String::new();
    }
    let mut out = String::with_capacity(rest.len() + 1);
    if force_slash || !rest.starts_with('/') {
        out.push('/');
    }
    out.push_str(&encode_raw(rest));
    out
}
