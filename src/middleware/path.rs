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
