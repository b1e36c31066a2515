//! The rule language of Traefik v3 routers: parsing, validation and matching.
//!
//! A rule such as ``Host(`example.com`) && PathPrefix(`/api`)`` is tokenized (`lexer`), parsed into
//! a syntax tree (`parser`, `ast`), then compiled (`matcher`) into a form whose [`Rule::matches`]
//! neither allocates nor locks. This module owns the language only: it does not know about routers,
//! priorities beyond Traefik's default, or how the request view is built (the caller lowercases the
//! host and strips its port, and normalises the path).
//!
//! Matchers (one value each, as v3 requires): `Host`, `HostRegexp`, `Path`, `PathPrefix`,
//! `PathRegexp`, `Method`, `Header(key, value)`, `HeaderRegexp(key, regexp)`, `Query(key, value)`,
//! `Query(key)`, `QueryRegexp(key, regexp)`, `ClientIP(ip or cidr)`; operators `!` > `&&` > `||`
//! and parentheses. Names are also accepted in Traefik's alternative spellings (`host`, `HOST`,
//! `Pathprefix`). Strings are Go literals: backticks (raw) or double quotes (with Go escapes).
//!
//! Semantics follow Traefik v3's HTTP muxer:
//! - `Host` compares ASCII case-insensitively, ignores one trailing dot on either side, and accepts
//!   the wildcard forms `*.example.com` (one label) and `**.example.com` (one or more labels);
//!   `Host(`*`)` matches every request. The host it sees is [`routing_host`]'s: no port, no IPv6
//!   brackets (`Host(`10::10`)` matches a request for `[10::10]:80`).
//! - Regex matchers are unanchored (Go's `MatchString`); `HostRegexp` sees the lowercased host.
//!   A `{` that starts no repetition is a literal brace, as in Go: a Traefik v2 `{name:regexp}`
//!   group compiles as Traefik 3.7 compiles it (literally), with a warning ([`Rule::warnings`]).
//! - `Method` uppercases the rule's value and compares it exactly with the request method.
//! - `Header` compares each value of the header exactly; `HeaderRegexp` matches any value.
//! - `Query(key)` matches when `key` is present with an empty value (`?key` or `?key=`), exactly as
//!   Traefik v3's `Query` with one argument looks for the value `""`.
//! - `ClientIP` checks the peer address (not `X-Forwarded-For`); IPv4-mapped IPv6 addresses are
//!   treated as IPv4, as Go does.
//!
//! Differences from Traefik: an invalid header name in `Header`/`HeaderRegexp` is a parse error
//! (Traefik accepts it and never matches); newlines between tokens are plain whitespace (Go's parser
//! would insert a semicolon after `)`); regex syntax is the `regex` crate's (see `matcher`).

mod ast;
mod go_regex;
mod host;
mod lexer;
mod matcher;
mod parser;
mod query;
pub mod tcp;
mod v2;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use host::{host_index_key, routing_host};

/// What a rule can see of a request. Built by the proxy per request; borrowing only.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// [`routing_host`] of the request's authority, lowercased by the caller.
    pub host: &'a str,
    /// Request path (no query), as the proxy normalised it.
    pub path: &'a str,
    /// Raw query string without '?'.
    pub query: Option<&'a str>,
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    /// The peer address of the connection.
    pub client_ip: IpAddr,
}

/// Which of Traefik's rule languages a router's rule is written in (`ruleSyntax`,
/// `core.defaultRuleSyntax`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syntax {
    /// Traefik v2's matchers, as Traefik 3.7 still evaluates them (see the `v2` module).
    V2,
    #[default]
    V3,
}

impl Syntax {
    /// Reads a `ruleSyntax` value as Traefik's muxer does: `v2` and `v3`; `default` (what Traefik
    /// gives internal routers) and the empty string mean "not set". Anything else is `Err` with
    /// the accepted values (Traefik would silently use v3; swarmgate refuses the router).
    pub fn from_option(value: &str) -> Result<Option<Syntax>, String> {
        match value {
            "v2" => Ok(Some(Syntax::V2)),
            "v3" => Ok(Some(Syntax::V3)),
            "" | "default" => Ok(None),
            other => Err(format!("unknown rule syntax {other:?}: write `v2` or `v3`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::V2 => "v2",
            Syntax::V3 => "v3",
        }
    }
}

/// A rule that could not be parsed or compiled; `column` is 1-based and counts characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

/// A parsed and compiled router rule.
#[derive(Debug, Clone)]
pub struct Rule {
    source: String,
    root: matcher::Node,
    /// Compiles, but probably not as meant (see [`Rule::warnings`]).
    warnings: Box<[String]>,
}

/// Two rules are equal when their sources are: the compiled form is a function of the source.
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.source == other.source
    }
}

impl Eq for Rule {}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl Rule {
    /// Parses and compiles `source`. Every error names the 1-based column where the problem starts.
    pub fn parse(source: &str) -> Result<Rule, ParseError> {
        Rule::parse_with(source, Syntax::V3)
    }

    /// Parses and compiles `source` under `syntax` (Traefik's `ruleSyntax`).
    pub fn parse_with(source: &str, syntax: Syntax) -> Result<Rule, ParseError> {
        let expr = parser::parse(source, syntax)?;
        let mut warnings = Vec::new();
        let root = match syntax {
            Syntax::V3 => {
                let root = matcher::compile(&expr)?;
                matcher::warnings(&expr, &mut warnings);
                root
            }
            Syntax::V2 => v2::compile(&expr)?,
        };
        Ok(Rule {
            source: source.to_owned(),
            root,
            warnings: warnings.into_boxed_slice(),
        })
    }

    /// What the rule's author probably did not mean, though it compiles (a Traefik v2
    /// `{name:regexp}` group, read as literal braces as Traefik v3 does); each names its column.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The rule as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the request matches. Does not allocate and takes no lock, except: `QueryRegexp` on a
    /// percent-encoded value longer than 256 bytes decodes it on the heap, and regex matchers borrow
    /// the `regex` crate's scratch cache (see the `matcher` module doc).
    pub fn matches(&self, req: &RequestView<'_>) -> bool {
        self.root.matches(req)
    }

    /// Traefik's default priority: the rule's length (as Traefik computes it: len of the rule string,
    /// in bytes).
    pub fn default_priority(&self) -> i64 {
        i64::try_from(self.source.len()).unwrap_or(i64::MAX)
    }

    /// If every request this rule matches must have a host in a finite set of exact names, that set
    /// (lowercased, trailing dots removed as by [`host_index_key`], deduplicated, sorted). `None` when the host is
    /// unconstrained, negated, or constrained only by `HostRegexp` or a wildcard `Host`.
    /// An empty set means the rule can match no host at all (``Host(`a`) && Host(`b`)``).
    /// Look request hosts up with [`host_index_key`].
    pub fn required_hosts(&self) -> Option<Vec<String>> {
        self.root.required_hosts()
    }

    /// Every name in a non-negated `Host(...)` matcher anywhere in the rule (for ACME certificate
    /// domains): lowercased, one trailing dot removed, deduplicated, sorted; wildcard expressions are included as written.
    pub fn host_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.host_names(false, &mut out);
        out.sort();
        out.dedup();
        out
    }
}
