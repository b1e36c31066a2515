//! Compiled form of a rule and its evaluation against a request.
//!
//! Compilation validates what the grammar cannot (argument counts, regexes, CIDRs, paths, header
//! names) and precomputes everything matching needs: lowercased hosts, uppercased methods, parsed
//! `HeaderName`s, compiled regexes, parsed `IpNet`s. [`Node::matches`] then neither allocates nor
//! locks in our code (one documented exception in `query.rs`).
//!
//! Regexes use the `regex` crate, unanchored like Go's `regexp.MatchString`. Differences from Go's
//! RE2 syntax are the crate's: e.g. `\d`, `\w` and `\b` are Unicode-aware here, ASCII in Go.
//! A regex search borrows a scratch cache from the crate's internal pool: lock free for the thread
//! that first used the regex, a non-blocking try-lock on a sharded stack for other threads, and a
//! fresh cache (an allocation) only when that is contended. Rules without regexes never touch it.

use std::net::IpAddr;

use http::HeaderName;
use ipnet::IpNet;
use regex::Regex;

use super::ast::{Arg, Call, Expr, MatcherKind};
use super::go_regex;
use super::host::HostExpr;
use super::query;
use super::{ParseError, RequestView};

/// One compiled matcher.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Host(HostExpr),
    HostRegexp(Regex),
    Path(Box<str>),
    PathPrefix(Box<str>),
    PathRegexp(Regex),
    /// Uppercased, compared exactly with the request method (as Traefik does).
    Method(Box<str>),
    Header {
        name: HeaderName,
        value: Box<[u8]>,
    },
    HeaderRegexp {
        name: HeaderName,
        re: regex::bytes::Regex,
    },
    /// `Query(key)` is `Query(key, "")`: Traefik v3 looks for an empty value.
    Query {
        key: Box<[u8]>,
        value: Box<[u8]>,
    },
    QueryRegexp {
        key: Box<[u8]>,
        re: regex::bytes::Regex,
    },
    ClientIp(IpNet),
    /// A matcher of a rule parsed under the v2 syntax.
    V2(Box<super::v2::Matcher>),
}

impl Matcher {
    fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Matcher::Host(host) => host.matches(req.host),
            Matcher::HostRegexp(re) => re.is_match(req.host),
            Matcher::Path(path) => req.path == &**path,
            Matcher::PathPrefix(prefix) => req.path.starts_with(&**prefix),
            Matcher::PathRegexp(re) => re.is_match(req.path),
            Matcher::Method(method) => req.method.as_str() == &**method,
            Matcher::Header { name, value } => req
                .headers
                .get_all(name)
                .iter()
                .any(|v| v.as_bytes() == &**value),
            Matcher::HeaderRegexp { name, re } => req
                .headers
                .get_all(name)
                .iter()
                .any(|v| re.is_match(v.as_bytes())),
            Matcher::Query { key, value } => {
                req.query.is_some_and(|q| query::has_pair(q, key, value))
            }
            Matcher::QueryRegexp { key, re } => req
                .query
                .is_some_and(|q| query::has_value_matching(q, key, re)),
            Matcher::ClientIp(net) => net.contains(&req.client_ip.to_canonical()),
            Matcher::V2(m) => m.matches(req),
        }
    }
}

/// A compiled rule expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Matcher(Matcher),
    Not(Box<Node>),
    All(Box<[Node]>),
    Any(Box<[Node]>),
}

impl Node {
    /// Evaluates the rule, short-circuiting `&&` and `||`.
    pub(crate) fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Node::Matcher(m) => m.matches(req),
            Node::Not(inner) => !inner.matches(req),
            Node::All(nodes) => nodes.iter().all(|n| n.matches(req)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(req)),
        }
    }

    /// A rough evaluation cost: 0 for string and IP comparisons, 1 for header and query scans,
    /// 2 for regexes; a compound costs its most expensive part.
    pub(crate) fn cost(&self) -> u8 {
        match self {
            Node::Matcher(m) => match m {
                Matcher::Host(_)
                | Matcher::Path(_)
                | Matcher::PathPrefix(_)
                | Matcher::Method(_)
                | Matcher::ClientIp(_) => 0,
                Matcher::Header { .. } | Matcher::Query { .. } => 1,
                Matcher::HostRegexp(_)
                | Matcher::PathRegexp(_)
                | Matcher::HeaderRegexp { .. }
                | Matcher::QueryRegexp { .. }
                | Matcher::V2(_) => 2,
            },
            Node::Not(inner) => inner.cost(),
            Node::All(nodes) | Node::Any(nodes) => nodes.iter().map(Node::cost).max().unwrap_or(0),
        }
    }

    /// The finite set of hosts every matched request must have, or `None` if unconstrained.
    /// Conservative: a negation is treated as unconstrained.
    pub(crate) fn required_hosts(&self) -> Option<Vec<String>> {
        match self {
            Node::Matcher(Matcher::Host(h)) if !h.is_wildcard() => {
                Some(vec![super::host::host_index_key(&h.name).to_owned()])
            }
            Node::Matcher(_) | Node::Not(_) => None,
            Node::All(nodes) => nodes
                .iter()
                .filter_map(Node::required_hosts)
                .reduce(|a, b| a.into_iter().filter(|h| b.contains(h)).collect()),
            Node::Any(nodes) => {
                let mut all = Vec::new();
                for n in nodes.iter() {
                    all.extend(n.required_hosts()?);
                }
                all.sort();
                all.dedup();
                Some(all)
            }
        }
    }

    /// Collects the names of `Host` matchers not under an odd number of negations.
    pub(crate) fn host_names(&self, negated: bool, out: &mut Vec<String>) {
        match self {
            // `Host(`*`)` names no domain a certificate could be asked for.
            Node::Matcher(Matcher::Host(h)) if !negated && &*h.name != "*" => {
                out.push(super::host::without_trailing_dot(&h.name).to_owned())
            }
            Node::Matcher(Matcher::V2(m)) if !negated => m.host_names(out),
            Node::Matcher(_) => {}
            Node::Not(inner) => inner.host_names(!negated, out),
            Node::All(nodes) | Node::Any(nodes) => {
                nodes.iter().for_each(|n| n.host_names(negated, out))
            }
        }
    }
}

fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

/// Compiles a syntax tree.
///
/// Operands of `&&` and `||` are reordered cheapest first (a stable sort by [`Node::cost`]): matchers
/// have no side effects, so the order changes only how soon evaluation short-circuits.
/// Compilation errors are still reported for the first bad matcher in source order.
pub(crate) fn compile(expr: &Expr) -> Result<Node, ParseError> {
    let operands = |items: &[Expr]| -> Result<Box<[Node]>, ParseError> {
        let mut nodes = items.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
        nodes.sort_by_key(Node::cost);
        Ok(nodes.into_boxed_slice())
    };
    Ok(match expr {
        Expr::Call(call) => Node::Matcher(compile_call(call)?),
        Expr::Not(inner) => Node::Not(Box::new(compile(inner)?)),
        Expr::And(items) => Node::All(operands(items)?),
        Expr::Or(items) => Node::Any(operands(items)?),
    })
}

fn check_arity(call: &Call) -> Result<(), ParseError> {
    let kind = call.kind;
    let n = call.args.len();
    if kind.arities().contains(&n) {
        return Ok(());
    }
    let expected = match kind.arities() {
        [1] => "exactly one value".to_owned(),
        [2] => "exactly two values".to_owned(),
        _ => "one or two values".to_owned(),
    };
    let max = kind.arities().iter().copied().max().unwrap_or(1);
    let column = call.args.get(max).map_or(call.close_column, |a| a.column);
    let mut message = format!(
        "{} takes {expected}, got {n}; write {}",
        kind.name(),
        kind.signature()
    );
    if n > max && max == 1 {
        let name = kind.name();
        let alternatives: Vec<String> = call
            .args
            .iter()
            .map(|a| format!("{name}(`{}`)", a.value))
            .collect();
        message.push_str(&format!(
            " (Traefik v3 takes one value per matcher: instead of the v2 form {name}(`a`, `b`) write {}; \
             or keep the v2 rule with the router's ruleSyntax v2 or core.defaultRuleSyntax v2)",
            alternatives.join(" || ")
        ));
    }
    Err(err(column, message))
}

fn regex_error(arg: &Arg, kind: MatcherKind, e: &regex::Error) -> ParseError {
    let mut message = format!("invalid regular expression in {}: {e}", kind.name());
    if arg.value.contains('{') && arg.value.contains(':') {
        message.push_str(" (the v2 `{name:regexp}` syntax is gone in Traefik v3: write the plain regexp, e.g. `^[a-z]+\\.example\\.com$`)");
    }
    err(arg.column, message)
}

/// Regexes are read as Go reads them: a `{` that starts no repetition is a literal brace.
fn regex(arg: &Arg, kind: MatcherKind) -> Result<Regex, ParseError> {
    Regex::new(&go_regex::literal_braces(&arg.value)).map_err(|e| regex_error(arg, kind, &e))
}

fn bytes_regex(arg: &Arg, kind: MatcherKind) -> Result<regex::bytes::Regex, ParseError> {
    regex::bytes::Regex::new(&go_regex::literal_braces(&arg.value))
        .map_err(|e| regex_error(arg, kind, &e))
}

/// Warnings about a rule that compiles but probably does not say what its author meant: a
/// Traefik v2 `{name:regexp}` group, which Traefik v3 (and so swarmgate) reads as literal braces.
pub(crate) fn warnings(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Call(call) => {
            let pattern = match call.kind {
                MatcherKind::HostRegexp | MatcherKind::PathRegexp => call.args.first(),
                MatcherKind::HeaderRegexp | MatcherKind::QueryRegexp => call.args.get(1),
                _ => None,
            };
            if let Some(arg) = pattern.filter(|a| go_regex::has_v2_group(&a.value)) {
                out.push(format!(
                    "column {}: {}(`{}`) uses the Traefik v2 `{{name:regexp}}` syntax, which Traefik v3 \
                     reads as a plain regexp with literal braces (as swarmgate does); write the \
                     plain regexp, e.g. `^[a-z]+\\.example\\.com$`",
                    arg.column,
                    call.kind.name(),
                    arg.value
                ));
            }
        }
        Expr::Not(inner) => warnings(inner, out),
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| warnings(e, out)),
    }
}

fn header_name(arg: &Arg, kind: MatcherKind) -> Result<HeaderName, ParseError> {
    HeaderName::from_bytes(arg.value.as_bytes()).map_err(|_| {
        err(
            arg.column,
            format!("invalid header name {:?} in {}", arg.value, kind.name()),
        )
    })
}

fn ascii(arg: &Arg, kind: MatcherKind) -> Result<(), ParseError> {
    if arg.value.is_ascii() {
        Ok(())
    } else {
        Err(err(
            arg.column,
            format!(
                "invalid value {:?} for {}: non-ASCII characters are not allowed",
                arg.value,
                kind.name()
            ),
        ))
    }
}

fn path(arg: &Arg, kind: MatcherKind) -> Result<Box<str>, ParseError> {
    if arg.value.starts_with('/') {
        Ok(arg.value.clone().into_boxed_str())
    } else {
        Err(err(
            arg.column,
            format!(
                "{} value {:?} does not start with a '/'",
                kind.name(),
                arg.value
            ),
        ))
    }
}

pub(crate) fn client_ip(arg: &Arg) -> Result<IpNet, ParseError> {
    let value = arg.value.trim();
    if value.contains('/') {
        let net: IpNet = value
            .parse()
            .map_err(|_| err(arg.column, format!("invalid CIDR {value:?} in ClientIP")))?;
        Ok(match net.network() {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() && net.prefix_len() >= 96 => {
                let v4 = IpNet::new(IpAddr::V6(v6).to_canonical(), net.prefix_len() - 96);
                v4.unwrap_or(net)
            }
            _ => net,
        })
    } else {
        let ip: IpAddr = value.parse().map_err(|_| {
            err(
                arg.column,
                format!("invalid IP address {value:?} in ClientIP"),
            )
        })?;
        Ok(IpNet::from(ip.to_canonical()))
    }
}

fn compile_call(call: &Call) -> Result<Matcher, ParseError> {
    check_arity(call)?;
    let kind = call.kind;
    let a = &call.args;
    Ok(match kind {
        MatcherKind::Host => {
            ascii(&a[0], kind)?;
            Matcher::Host(HostExpr::new(&a[0].value))
        }
        MatcherKind::HostRegexp => {
            ascii(&a[0], kind)?;
            Matcher::HostRegexp(regex(&a[0], kind)?)
        }
        MatcherKind::Path => Matcher::Path(path(&a[0], kind)?),
        MatcherKind::PathPrefix => Matcher::PathPrefix(path(&a[0], kind)?),
        MatcherKind::PathRegexp => Matcher::PathRegexp(regex(&a[0], kind)?),
        MatcherKind::Method => Matcher::Method(a[0].value.to_uppercase().into_boxed_str()),
        MatcherKind::Header => Matcher::Header {
            name: header_name(&a[0], kind)?,
            value: a[1].value.as_bytes().into(),
        },
        MatcherKind::HeaderRegexp => Matcher::HeaderRegexp {
            name: header_name(&a[0], kind)?,
            re: bytes_regex(&a[1], kind)?,
        },
        MatcherKind::Query if a.len() == 1 && a[0].value.contains('=') => {
            let (k, v) = a[0].value.split_once('=').unwrap_or_default();
            return Err(err(
                a[0].column,
                format!(
                    "Query(`{}`) is the Traefik v2 form; in v3 write Query(`{k}`, `{v}`)",
                    a[0].value
                ),
            ));
        }
        MatcherKind::Query => Matcher::Query {
            key: a[0].value.as_bytes().into(),
            value: a.get(1).map_or(&[][..], |v| v.value.as_bytes()).into(),
        },
        MatcherKind::QueryRegexp => match a.get(1) {
            None => Matcher::Query {
                key: a[0].value.as_bytes().into(),
                value: Box::default(),
            },
            Some(re) => Matcher::QueryRegexp {
                key: a[0].value.as_bytes().into(),
                re: bytes_regex(re, kind)?,
            },
        },
        MatcherKind::ClientIp => Matcher::ClientIp(client_ip(&a[0])?),
    })
}
