//! URI path rewriting shared by the path middlewares: replaces the path, keeps the query.

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
