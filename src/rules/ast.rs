//! Syntax tree of a parsed rule: matcher calls with their raw string arguments and columns, combined
//! by `!`, `&&` and `||`.
//!
//! Purely syntactic: nothing here is validated beyond the grammar and the matcher name. Argument
//! counts, regexes, CIDRs and paths are checked when the tree is compiled (`matcher.rs`).

/// The matchers of Traefik v3's HTTP rule language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatcherKind {
    ClientIp,
    Header,
    HeaderRegexp,
    Host,
    HostRegexp,
    Method,
    Path,
    PathPrefix,
    PathRegexp,
    Query,
    QueryRegexp,
}

impl MatcherKind {
    pub(crate) const ALL: [MatcherKind; 11] = [
        MatcherKind::ClientIp,
        MatcherKind::Header,
        MatcherKind::HeaderRegexp,
        MatcherKind::Host,
        MatcherKind::HostRegexp,
        MatcherKind::Method,
        MatcherKind::Path,
        MatcherKind::PathPrefix,
        MatcherKind::PathRegexp,
        MatcherKind::Query,
        MatcherKind::QueryRegexp,
    ];

    /// The canonical (documented) name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MatcherKind::ClientIp => "ClientIP",
            MatcherKind::Header => "Header",
            MatcherKind::HeaderRegexp => "HeaderRegexp",
            MatcherKind::Host => "Host",
            MatcherKind::HostRegexp => "HostRegexp",
            MatcherKind::Method => "Method",
            MatcherKind::Path => "Path",
            MatcherKind::PathPrefix => "PathPrefix",
            MatcherKind::PathRegexp => "PathRegexp",
            MatcherKind::Query => "Query",
            MatcherKind::QueryRegexp => "QueryRegexp",
        }
    }

    /// Accepted argument counts.
    pub(crate) fn arities(self) -> &'static [usize] {
        match self {
            MatcherKind::Header | MatcherKind::HeaderRegexp => &[2],
            MatcherKind::Query | MatcherKind::QueryRegexp => &[1, 2],
            _ => &[1],
        }
    }

    /// How the matcher is written, for error messages.
    pub(crate) fn signature(self) -> &'static str {
        match self {
            MatcherKind::ClientIp => "ClientIP(`ip or cidr`)",
            MatcherKind::Header => "Header(`key`, `value`)",
            MatcherKind::HeaderRegexp => "HeaderRegexp(`key`, `regexp`)",
            MatcherKind::Host => "Host(`domain`)",
            MatcherKind::HostRegexp => "HostRegexp(`regexp`)",
            MatcherKind::Method => "Method(`method`)",
            MatcherKind::Path => "Path(`path`)",
            MatcherKind::PathPrefix => "PathPrefix(`prefix`)",
            MatcherKind::PathRegexp => "PathRegexp(`regexp`)",
            MatcherKind::Query => "Query(`key`, `value`) or Query(`key`)",
            MatcherKind::QueryRegexp => "QueryRegexp(`key`, `regexp`)",
        }
    }

    /// Resolves a name as Traefik does: the canonical name, or its all-lowercase, all-uppercase or
    /// capitalised-lowercase spelling (`Host`, `host`, `HOST`; `PathPrefix`, `pathprefix`,
    /// `PATHPREFIX`, `Pathprefix`).
    pub(crate) fn from_name(name: &str) -> Option<MatcherKind> {
        MatcherKind::ALL
            .into_iter()
            .find(|kind| spelt_as(name, kind.name()))
    }

    /// Resolves a name under `syntax`: v3's names, or Traefik 3.7's v2 names (`Host`,
    /// `HostHeader`, `HostRegexp`, `ClientIP`, `Path`, `PathPrefix`, `Method`, `Headers`,
    /// `HeadersRegexp`, `Query`), each in the same four spellings. Under v2, `Headers` and
    /// `HeadersRegexp` are returned as [`MatcherKind::Header`] and [`MatcherKind::HeaderRegexp`]
    /// and `HostHeader` as [`MatcherKind::Host`]; the v3-only matchers are unknown.
    pub(crate) fn resolve(name: &str, syntax: super::Syntax) -> Option<MatcherKind> {
        match syntax {
            super::Syntax::V3 => MatcherKind::from_name(name),
            super::Syntax::V2 => V2_NAMES
                .iter()
                .find(|(v2, _)| spelt_as(name, v2))
                .map(|(_, kind)| *kind),
        }
    }

    /// The name under `syntax` (`Headers` for [`MatcherKind::Header`] under v2).
    pub(crate) fn name_in(self, syntax: super::Syntax) -> &'static str {
        match (syntax, self) {
            (super::Syntax::V2, MatcherKind::Header) => "Headers",
            (super::Syntax::V2, MatcherKind::HeaderRegexp) => "HeadersRegexp",
            _ => self.name(),
        }
    }

    /// A suggestion for a name unknown under the v2 syntax.
    pub(crate) fn hint_v2(name: &str) -> Option<String> {
        let v3_only = match name {
            "Header" => Some("; under the v2 syntax write `Headers`"),
            "HeaderRegexp" => Some("; under the v2 syntax write `HeadersRegexp`"),
            "PathRegexp" => Some("; under the v2 syntax write Path(`/{name:regexp}`)"),
            "QueryRegexp" => Some("; under the v2 syntax write Query(`key={name:regexp}`)"),
            _ => None,
        };
        if let Some(instead) = v3_only {
            return Some(format!(
                "`{name}` is a Traefik v3 matcher, unknown to the router's v2 rule syntax{instead} or set ruleSyntax v3"
            ));
        }
        if matches!(name, "HostSNI" | "HostSNIRegexp" | "ALPN") {
            return Some(format!(
                "`{name}` is a TCP router matcher, not valid in an HTTP rule"
            ));
        }
        V2_NAMES
            .iter()
            .find(|(v2, _)| v2.eq_ignore_ascii_case(name))
            .map(|(v2, _)| format!("did you mean `{v2}`?"))
    }

    /// The v2 names, comma separated, for "unknown matcher" errors.
    pub(crate) fn known_list_v2() -> String {
        V2_NAMES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A suggestion for an unknown name: a v2 matcher's v3 replacement, a TCP-only matcher, or a
    /// known matcher spelt with other capitalisation.
    pub(crate) fn hint(name: &str) -> Option<String> {
        let v2 = match name {
            "Headers" => Some("Header"),
            "HeadersRegexp" => Some("HeaderRegexp"),
            "HostHeader" => Some("Host"),
            "ClientIp" => Some("ClientIP"),
            _ => None,
        };
        if let Some(v3) = v2 {
            return Some(format!(
                "`{name}` is the Traefik v2 name; Traefik v3 calls it `{v3}`; or keep the v2 rule \
                 with the router's ruleSyntax v2 or core.defaultRuleSyntax v2"
            ));
        }
        if matches!(name, "HostSNI" | "HostSNIRegexp" | "ALPN") {
            return Some(format!(
                "`{name}` is a TCP router matcher, not valid in an HTTP rule"
            ));
        }
        MatcherKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .map(|k| format!("did you mean `{}`?", k.name()))
    }

    /// The known names, comma separated, for "unknown matcher" errors.
    pub(crate) fn known_list() -> String {
        MatcherKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Traefik 3.7's v2 matcher names (`httpFuncsV2`) and the kind each is parsed as.
const V2_NAMES: [(&str, MatcherKind); 10] = [
    ("ClientIP", MatcherKind::ClientIp),
    ("Headers", MatcherKind::Header),
    ("HeadersRegexp", MatcherKind::HeaderRegexp),
    ("Host", MatcherKind::Host),
    ("HostHeader", MatcherKind::Host),
    ("HostRegexp", MatcherKind::HostRegexp),
    ("Method", MatcherKind::Method),
    ("Path", MatcherKind::Path),
    ("PathPrefix", MatcherKind::PathPrefix),
    ("Query", MatcherKind::Query),
];

/// Whether `name` is one of the spellings Traefik registers for `canonical`: as is, all
/// lowercase, all uppercase, or lowercase with a capital first letter.
fn spelt_as(name: &str, canonical: &str) -> bool {
    if name == canonical
        || name == canonical.to_ascii_lowercase()
        || name == canonical.to_ascii_uppercase()
    {
        return true;
    }
    let lower = canonical.to_ascii_lowercase();
    let mut chars = lower.chars();
    let title: String = chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    name == title
}

/// One string argument and the column of its opening quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arg {
    pub(crate) value: String,
    pub(crate) column: usize,
}

/// A matcher call such as ``Host(`a`)``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) kind: MatcherKind,
    /// Column of the matcher name.
    pub(crate) column: usize,
    pub(crate) args: Vec<Arg>,
    /// Column of the closing parenthesis.
    pub(crate) close_column: usize,
}

/// A rule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Call(Call),
    Not(Box<Expr>),
    /// All of at least two operands (a chain of `&&`, flattened).
    And(Vec<Expr>),
    /// Any of at least two operands (a chain of `||`, flattened).
    Or(Vec<Expr>),
}
