//! A dynamic document's inline form: the `dynamic` section of the static configuration, which
//! serde reads in one piece, then has its middlewares checked as the file provider's are.

use serde_json::Value;

use super::{accept, read, Check, DynamicConfig, Element, Reader, Reading};

/// The origin the issues of the inline `dynamic` section name.
pub const INLINE_ORIGIN: &str = "static config (dynamic)";

/// The inline `dynamic` section of the static configuration, read element by element: issues
/// travel in `invalid.issues` (serde has nowhere else to put them).
pub fn deserialize_inline<'de, D>(d: D) -> Result<Option<DynamicConfig>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = <Option<Value> as serde::Deserialize>::deserialize(d)?;
    Ok(value.map(|v| {
        // serde passes no compiler: the wiring checks the middlewares afterwards
        // (`check_middlewares`).
        let reading = read(v, INLINE_ORIGIN, &|_| None, accept);
        let mut cfg = reading.config;
        cfg.invalid.issues = reading.issues;
        cfg
    }))
}

/// Runs `check` over the middlewares of a document read without it (the inline `dynamic` section,
/// which serde reads with [`accept`]): a middleware that fails moves to `invalid` and its issue
/// joins `invalid.issues`, as [`read`] would have done (no line: the inline section has none).
pub fn check_middlewares(cfg: &mut DynamicConfig, origin: &str, check: Check) {
    let failed: Vec<(String, String)> = cfg
        .http
        .middlewares
        .iter()
        .filter_map(|(name, mw)| check(mw).err().map(|message| (name.clone(), message)))
        .collect();
    for (name, message) in failed {
        let Some(mw) = cfg.http.middlewares.remove(&name) else {
            continue;
        };
        // The key names the middleware type, as `read` does (`http.middlewares.<name>.<type>`).
        let key = ["http", "middlewares", name.as_str(), mw.kind()];
        let mut r = Reader {
            origin,
            locate: &|_| None,
            check,
            out: Reading::default(),
        };
        r.issue(Element::Middleware, &name, &key, message);
        cfg.invalid.issues.append(&mut r.out.issues);
        cfg.invalid
            .middlewares
            .insert(name, "is invalid".to_string());
    }
}
