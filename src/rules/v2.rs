//! Traefik v2's rule matchers, as Traefik 3.7 evaluates a router with `ruleSyntax: v2` (or
//! `core.defaultRuleSyntax: v2`): its `matcher_v2.go` over Traefik's fork of gorilla/mux.
//!
//! The grammar is v3's (`parser`); what differs is the set of matchers and their meaning:
//! - Every matcher takes one or more values. `Host`, `HostHeader`, `HostRegexp`, `Path`,
//!   `PathPrefix`, `Method` and `ClientIP` match when any value does.
//! - `Host`/`HostHeader` compare the request host exactly (ASCII lowercased, one trailing dot
//!   ignored on either side): no wildcards, `*.example.com` is a literal name.
//! - `HostRegexp`, `Path` and `PathPrefix` take gorilla/mux templates: literal text with
//!   `{name}` or `{name:regexp}` variables (default `[^.]+` in a host, `[^/]+` in a path).
//!   The template is anchored at both ends (`PathPrefix` only at the start); host templates are
//!   case-insensitive. Paths must start with `/`.
//! - `Headers(key, value, ...)` and `HeadersRegexp(key, regexp, ...)` take pairs, all of which
//!   must hold (a repeated key: the last pair counts); a value (or unanchored regexp) must match
//!   one of the header's values.
//! - `Query(`key=value`, ...)` takes pairs written `key=value` (the value a template as above,
//!   variables defaulting to `.*`; `key=` matches any value); all must hold, against the first
//!   value of `key` in the query string, decoded as Go's `url.ParseQuery` decodes it. The
//!   values are split at their first `=` and then paired, so Query(`a`, `b`) is Query(`a=b`)
//!   and an odd count is an error, as in Traefik.
//! - The v3 matchers `Header`, `HeaderRegexp`, `PathRegexp` and `QueryRegexp` do not exist.
//!
//! Differences from Traefik: an invalid header name is an error (as under v3, see `matcher`);
//! a template regexp with capture groups is accepted (gorilla's panic is not reproduced).

use std::net::IpAddr;

use http::HeaderName;
use ipnet::IpNet;
use regex::Regex;

use super::ast::{Arg, Call, Expr, MatcherKind};
use super::matcher::{self, Node};
use super::{go_regex, query, ParseError, RequestView, Syntax};

/// One compiled v2 matcher.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Lowercased names.
    Host(Box<[Box<str>]>),
    /// Anchored, case-insensitive host templates.
    HostRegexp(Box<[Regex]>),
    /// Anchored path templates (`Path`) or templates anchored at the start (`PathPrefix`).
    Path(Box<[Regex]>),
    /// Uppercased.
    Method(Box<[Box<str>]>),
    Headers(Box<[(HeaderName, Box<[u8]>)]>),
    HeadersRegexp(Box<[(HeaderName, regex::bytes::Regex)]>),
    /// Key and the anchored regexp of the whole `key=value` template.
    Query(Box<[(Box<str>, regex::bytes::Regex)]>),
    ClientIp(Box<[IpNet]>),
}

impl Matcher {
    pub(crate) fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Matcher::Host(hosts) => host_matches(hosts, req.host),
            Matcher::HostRegexp(res) => res.iter().any(|re| re.is_match(req.host)),
            Matcher::Path(res) => res.iter().any(|re| re.is_match(req.path)),
            Matcher::Method(methods) => methods.iter().any(|m| req.method.as_str() == &**m),
            Matcher::Headers(pairs) => pairs.iter().all(|(name, value)| {
                req.headers
                    .get_all(name)
                    .iter()
                    .any(|v| v.as_bytes() == &**value)
            }),
            Matcher::HeadersRegexp(pairs) => pairs.iter().all(|(name, re)| {
                req.headers
                    .get_all(name)
                    .iter()
                    .any(|v| re.is_match(v.as_bytes()))
            }),
            Matcher::Query(pairs) => pairs.iter().all(|(key, re)| {
                // gorilla/mux matches "key=" + the first value of key, or "" when key is absent.
                let mut subject = Vec::new();
                if let Some(value) = req
                    .query
                    .and_then(|q| query::first_value(q, key.as_bytes()))
                {
                    subject.extend_from_slice(key.as_bytes());
                    subject.push(b'=');
                    subject.extend_from_slice(&value);
                }
                re.is_match(&subject)
            }),
            Matcher::ClientIp(nets) => {
                let ip: IpAddr = req.client_ip.to_canonical();
                nets.iter().any(|n| n.contains(&ip))
            }
        }
    }

    /// The names of a `Host` matcher (for ACME certificate domains).
    pub(crate) fn host_names(&self, out: &mut Vec<String>) {
        if let Matcher::Host(hosts) = self {
            out.extend(
                hosts
                    .iter()
                    .map(|h| super::host::without_trailing_dot(h).to_owned()),
            );
        }
    }
}

fn host_matches(hosts: &[Box<str>], req_host: &str) -> bool {
    if req_host.is_empty() {
        return false;
    }
    hosts.iter().any(|host| {
        let host: &str = host;
        req_host == host
            || host.strip_suffix('.') == Some(req_host)
            || req_host.strip_suffix('.') == Some(host)
    })
}

fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

/// Compiles a tree parsed under [`Syntax::V2`].
pub(crate) fn compile(expr: &Expr) -> Result<Node, ParseError> {
    let all = |items: &[Expr]| -> Result<Box<[Node]>, ParseError> {
        items
            .iter()
            .map(compile)
            .collect::<Result<Vec<_>, _>>()
            .map(Vec::into_boxed_slice)
    };
    Ok(match expr {
        Expr::Call(call) => Node::Matcher(matcher::Matcher::V2(Box::new(compile_call(call)?))),
        Expr::Not(inner) => Node::Not(Box::new(compile(inner)?)),
        Expr::And(items) => Node::All(all(items)?),
        Expr::Or(items) => Node::Any(all(items)?),
    })
}

/// Where a gorilla/mux template is matched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Host,
    Path,
    PathPrefix,
    Query,
}

/// The regexp gorilla/mux builds from a template: literal text quoted, each `{name}` or
/// `{name:regexp}` replaced by its regexp (or the default for `target`), anchored.
fn template_regex(tpl: &str, target: Target) -> Result<String, String> {
    let mut bounds = Vec::new();
    let mut level = 0usize;
    let mut start = 0;
    for (i, b) in tpl.bytes().enumerate() {
        match b {
            b'{' => {
                level += 1;
                if level == 1 {
                    start = i;
                }
            }
            b'}' => {
                level = level
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced braces in {tpl:?}"))?;
                if level == 0 {
                    bounds.push((start, i + 1));
                }
            }
            _ => {}
        }
    }
    if level != 0 {
        return Err(format!("unbalanced braces in {tpl:?}"));
    }
    let default = match target {
        Target::Query => ".*",
        Target::Host => "[^.]+",
        Target::Path | Target::PathPrefix => "[^/]+",
    };
    let mut pattern = String::new();
    if target == Target::Host {
        pattern.push_str("(?i)");
    }
    pattern.push('^');
    let mut end = 0;
    for (open, close) in bounds {
        pattern.push_str(&regex::escape(&tpl[end..open]));
        end = close;
        let inner = &tpl[open + 1..close - 1];
        let (name, patt) = inner.split_once(':').unwrap_or((inner, default));
        if name.is_empty() || patt.is_empty() {
            return Err(format!(
                "missing name or pattern in {:?}",
                &tpl[open..close]
            ));
        }
        pattern.push_str("(?:");
        pattern.push_str(patt);
        pattern.push(')');
    }
    pattern.push_str(&regex::escape(&tpl[end..]));
    if target == Target::Query && tpl.split_once('=').is_some_and(|(_, v)| v.is_empty()) {
        pattern.push_str(default);
    }
    if target != Target::PathPrefix {
        pattern.push('$');
    }
    Ok(go_regex::literal_braces(&pattern).into_owned())
}

fn template(arg: &Arg, tpl: &str, target: Target, name: &str) -> Result<String, ParseError> {
    template_regex(tpl, target).map_err(|e| err(arg.column, format!("{name}: {e}")))
}

fn compiled(arg: &Arg, pattern: &str, name: &str) -> Result<Regex, ParseError> {
    Regex::new(pattern).map_err(|e| {
        err(
            arg.column,
            format!("invalid regular expression in {name}: {e}"),
        )
    })
}

fn compiled_bytes(arg: &Arg, pattern: &str, name: &str) -> Result<regex::bytes::Regex, ParseError> {
    regex::bytes::Regex::new(pattern).map_err(|e| {
        err(
            arg.column,
            format!("invalid regular expression in {name}: {e}"),
        )
    })
}

fn ascii(arg: &Arg, name: &str) -> Result<(), ParseError> {
    if arg.value.is_ascii() {
        Ok(())
    } else {
        Err(err(
            arg.column,
            format!(
                "invalid value {:?} for {name}: non-ASCII characters are not allowed",
                arg.value
            ),
        ))
    }
}

fn header_name(arg: &Arg, name: &str) -> Result<HeaderName, ParseError> {
    HeaderName::from_bytes(arg.value.as_bytes()).map_err(|_| {
        err(
            arg.column,
            format!("invalid header name {:?} in {name}", arg.value),
        )
    })
}

/// `(key, value)` pairs of `Headers`/`HeadersRegexp`, a repeated key keeping its last value.
fn pairs<'a>(call: &'a Call, name: &str) -> Result<Vec<(&'a Arg, &'a Arg)>, ParseError> {
    if !call.args.len().is_multiple_of(2) {
        let column = call.args.last().map_or(call.close_column, |a| a.column);
        return Err(err(
            column,
            format!(
                "{name} takes pairs of values ({name}(`key`, `value`, ...)), got {}",
                call.args.len()
            ),
        ));
    }
    let mut out: Vec<(&Arg, &Arg)> = Vec::new();
    for pair in call.args.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        let canonical = k.value.to_ascii_lowercase();
        out.retain(|(old, _)| old.value.to_ascii_lowercase() != canonical);
        out.push((k, v));
    }
    Ok(out)
}

fn compile_call(call: &Call) -> Result<Matcher, ParseError> {
    let kind = call.kind;
    let name = kind.name_in(Syntax::V2);
    let args = &call.args;
    if args.is_empty() {
        return Err(err(
            call.close_column,
            format!("no value for matcher {name}"),
        ));
    }
    Ok(match kind {
        MatcherKind::Host => {
            let mut hosts = Vec::new();
            for a in args {
                ascii(a, name)?;
                hosts.push(a.value.to_ascii_lowercase().into_boxed_str());
            }
            Matcher::Host(hosts.into_boxed_slice())
        }
        MatcherKind::HostRegexp => {
            let mut res = Vec::new();
            for a in args {
                ascii(a, name)?;
                let pattern = template(a, &a.value, Target::Host, name)?;
                res.push(compiled(a, &pattern, name)?);
            }
            Matcher::HostRegexp(res.into_boxed_slice())
        }
        MatcherKind::Path | MatcherKind::PathPrefix => {
            let target = if kind == MatcherKind::Path {
                Target::Path
            } else {
                Target::PathPrefix
            };
            let mut res = Vec::new();
            for a in args {
                if !a.value.starts_with('/') {
                    return Err(err(
                        a.column,
                        format!("{name} value {:?} does not start with a '/'", a.value),
                    ));
                }
                let pattern = template(a, &a.value, target, name)?;
                res.push(compiled(a, &pattern, name)?);
            }
            Matcher::Path(res.into_boxed_slice())
        }
        MatcherKind::Method => Matcher::Method(
            args.iter()
                .map(|a| a.value.to_uppercase().into_boxed_str())
                .collect(),
        ),
        MatcherKind::Header => {
            let mut out = Vec::new();
            for (k, v) in pairs(call, name)? {
                out.push((header_name(k, name)?, v.value.as_bytes().into()));
            }
            Matcher::Headers(out.into_boxed_slice())
        }
        MatcherKind::HeaderRegexp => {
            let mut out = Vec::new();
            for (k, v) in pairs(call, name)? {
                let re = compiled_bytes(v, &go_regex::literal_braces(&v.value), name)?;
                out.push((header_name(k, name)?, re));
            }
            Matcher::HeadersRegexp(out.into_boxed_slice())
        }
        MatcherKind::Query => {
            // Traefik splits each value at its first `=` and pairs the pieces.
            let mut pieces: Vec<(&Arg, &str)> = Vec::new();
            for a in args {
                match a.value.split_once('=') {
                    Some((k, v)) => {
                        pieces.push((a, k));
                        pieces.push((a, v));
                    }
                    None => pieces.push((a, &a.value)),
                }
            }
            if !pieces.len().is_multiple_of(2) {
                let culprit = args
                    .iter()
                    .find(|a| !a.value.contains('='))
                    .unwrap_or(&args[0]);
                return Err(err(
                    culprit.column,
                    format!(
                        "Query under the v2 rule syntax takes `key=value` values, got {:?} (write Query(`{}=`) to match any value)",
                        culprit.value, culprit.value
                    ),
                ));
            }
            let mut out = Vec::new();
            for pair in pieces.chunks(2) {
                let (arg, key) = pair[0];
                let tpl = format!("{key}={}", pair[1].1);
                let pattern = template(arg, &tpl, Target::Query, name)?;
                out.push((key.into(), compiled_bytes(arg, &pattern, name)?));
            }
            Matcher::Query(out.into_boxed_slice())
        }
        MatcherKind::ClientIp => Matcher::ClientIp(
            args.iter()
                .map(matcher::client_ip)
                .collect::<Result<Vec<_>, _>>()?
                .into_boxed_slice(),
        ),
        MatcherKind::PathRegexp | MatcherKind::QueryRegexp => {
            return Err(err(
                call.column,
                format!("`{}` is not a v2 matcher", kind.name()),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_gorilla_regexps() {
        let cases: &[(&str, Target, Result<&str, ()>)] = &[
            ("/foo", Target::Path, Ok("^/foo$")),
            ("/foo", Target::PathPrefix, Ok("^/foo")),
            ("/a.b", Target::Path, Ok(r"^/a\.b$")),
            ("/user/{id}", Target::Path, Ok("^/user/(?:[^/]+)$")),
            ("/user/{id:[0-9]+}", Target::Path, Ok("^/user/(?:[0-9]+)$")),
            ("/x/{n:[0-9]{2}}", Target::Path, Ok("^/x/(?:[0-9]{2})$")),
            (
                "{sub}.example.com",
                Target::Host,
                Ok(r"(?i)^(?:[^.]+)\.example\.com$"),
            ),
            ("a=", Target::Query, Ok("^a=.*$")),
            ("a={v:[0-9]+}", Target::Query, Ok("^a=(?:[0-9]+)$")),
            ("/{id", Target::Path, Err(())),
            ("/id}", Target::Path, Err(())),
            ("/{:x}", Target::Path, Err(())),
            ("/{x:}", Target::Path, Err(())),
        ];
        for (tpl, target, want) in cases {
            let got = template_regex(tpl, *target);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{tpl}"),
                Err(()) => assert!(got.is_err(), "{tpl}: {got:?}"),
            }
        }
    }
}
