//! Path normalisation and the path-rewriting middlewares (issue 16 points 1 and 3): never a
//! panic, and the invariants that keep the router's and the backend's views of a path the same:
//! - the arrival path is normalised once and for all (normalising it again changes nothing) and
//!   has no `.`/`..` segment or duplicate slash;
//! - the routing path decodes no separator (`%2F` stays encoded);
//! - a stripPrefix, stripPrefixRegex or replacePathRegex result that is forwarded has no
//!   `.`/`..` segment or duplicate slash, and the strip results have no separator that was not
//!   in the routing path.
//! Input: first byte picks the middleware, then line 1 its prefix/regex, line 2 the replacement
//! (replacePathRegex) and the rest the request target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::middleware::config::{
    ReplacePathRegexConfig, StripPrefixConfig, StripPrefixRegexConfig,
};
use swarmgate::middleware::{Flow, Middleware, MiddlewareConfig, RequestContext};
use swarmgate::proxy::hygiene::{normalize_path, routing_path};

/// A `.`/`..` segment, or an empty one before the last (a duplicate slash).
fn unsanitised(path: &str) -> bool {
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(s) = segments.next() {
        let last = segments.peek().is_none();
        if s == "." || s == ".." || (s.is_empty() && !last) {
            return true;
        }
    }
    false
}

fn slashes(path: &str) -> usize {
    path.bytes().filter(|&b| b == b'/').count()
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let arg = lines.next().unwrap_or("");
    let replacement = lines.next().unwrap_or("");
    let target = lines.next().unwrap_or("/");
    // What hyper hands over: a parsed request target.
    let Ok(uri) = target.parse::<http::Uri>() else {
        return;
    };
    if !uri.path().starts_with('/') {
        return;
    }
    let Ok(normalized) = normalize_path(uri.path()) else {
        return;
    };
    assert!(!unsanitised(&normalized), "{target:?} -> {normalized:?}");
    assert_eq!(
        normalize_path(&normalized).as_deref(),
        Ok(normalized.as_ref()),
        "not idempotent"
    );
    let view = routing_path(&normalized);
    assert_eq!(
        slashes(&view),
        slashes(&normalized),
        "{normalized:?} -> {view:?}"
    );

    let cfg = match kind % 4 {
        0 => MiddlewareConfig::StripPrefix(StripPrefixConfig {
            prefixes: vec![arg.to_owned()],
            force_slash: None,
        }),
        1 => MiddlewareConfig::StripPrefix(StripPrefixConfig {
            prefixes: vec![arg.to_owned()],
            force_slash: Some(true),
        }),
        2 => MiddlewareConfig::StripPrefixRegex(StripPrefixRegexConfig {
            regex: vec![arg.to_owned()],
        }),
        _ => MiddlewareConfig::ReplacePathRegex(ReplacePathRegexConfig {
            regex: arg.to_owned(),
            replacement: replacement.to_owned(),
        }),
    };
    let Ok(middleware) = Middleware::compile(&cfg) else {
        return;
    };
    let Ok(request) = http::Request::get(normalized.as_ref()).body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    let ctx = RequestContext {
        client_addr: std::net::SocketAddr::from(([10, 0, 0, 7], 1234)),
        tls: false,
        conn_tls: false,
        entrypoint: "web",
        client_certs: None,
    };
    if !matches!(middleware.on_request(&mut parts, &ctx), Flow::Continue) {
        return; // refused (400, 500): nothing forwarded
    }
    let out = parts.uri.path();
    if out == normalized {
        return;
    }
    assert!(out.starts_with('/'), "{normalized:?} -> {out:?}");
    assert!(!unsanitised(out), "{cfg:?}: {normalized:?} -> {out:?}");
    if kind % 4 != 3 {
        assert!(
            slashes(out) <= slashes(&view),
            "{cfg:?}: separator added: {view:?} -> {out:?}"
        );
    }
});
