//! The rule language of Traefik v3 TCP routers: `HostSNI`, `HostSNIRegexp`, `ClientIP` and `ALPN`
//! combined with `!`, `&&`, `||` and parentheses (Traefik's `pkg/muxer/tcp`).
//!
//! Semantics as Traefik 3.7's TCP muxer:
//! - ``HostSNI(`*`)`` matches every connection, TLS or not; any other `HostSNI` compares the
//!   ClientHello's server name ASCII case-insensitively (one trailing dot ignored) and never
//!   matches a connection without one (plain TCP, or a client that sent no SNI).
//! - `HostSNIRegexp` matches the server name with an unanchored regular expression.
//! - `ClientIP` takes an address or a CIDR and checks the peer address.
//! - `ALPN` matches when the client offered the protocol (`acme-tls/1` is refused, as Traefik).
//! - A rule that is exactly ``HostSNI(`*`)`` is a catch-all (`TcpRule::is_catch_all`): on an
//!   entrypoint with HTTPS routers it comes after them.
//!
//! Matcher names are accepted as written, in lower case, upper case and title case (Traefik's
//! parser does the same). Pure: no I/O; `matches` does not allocate.

use std::net::IpAddr;

use ipnet::IpNet;

use super::ParseError;

/// What a TCP rule sees of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnView<'a> {
    /// The ClientHello's server name, lowercased, without a trailing dot; empty when none.
    pub server_name: &'a str,
    /// The protocols the client offered in ALPN.
    pub alpn: &'a [String],
    pub client_ip: IpAddr,
}

/// A parsed TCP rule.
#[derive(Debug, Clone)]
pub struct TcpRule {
    source: String,
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// `None`: `*`.
    HostSni(Option<String>),
    HostSniRegexp(regex::Regex),
    ClientIp(IpNet),
    Alpn(String),
}

const MATCHERS: [&str; 4] = ["HostSNI", "HostSNIRegexp", "ClientIP", "ALPN"];

impl TcpRule {
    /// Parses `source`; errors name the 1-based column.
    pub fn parse(source: &str) -> Result<TcpRule, ParseError> {
        let tokens = lex(source)?;
        let mut p = Parser { tokens, pos: 0 };
        if p.tokens.is_empty() {
            return Err(err(1, "empty rule"));
        }
        let root = p.or()?;
        if let Some((col, tok)) = p.tokens.get(p.pos) {
            return Err(err(*col, &format!("unexpected {}", tok.describe())));
        }
        Ok(TcpRule {
            source: source.to_string(),
            root,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Traefik's default priority: the rule's length in bytes.
    pub fn default_priority(&self) -> i64 {
        i64::try_from(self.source.len()).unwrap_or(i64::MAX)
    }

    /// Whether the rule is exactly ``HostSNI(`*`)``.
    pub fn is_catch_all(&self) -> bool {
        matches!(self.root, Node::HostSni(None))
    }

    /// The `HostSNI` values anywhere in the rule (`*` included), lowercased: Traefik refuses a
    /// router without `tls` that names any but `*`, and certificate resolvers read them.
    pub fn host_snis(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.host_snis(&mut out);
        out
    }

    pub fn matches(&self, conn: &ConnView<'_>) -> bool {
        self.root.matches(conn)
    }
}

impl Node {
    fn matches(&self, conn: &ConnView<'_>) -> bool {
        match self {
            Node::And(a, b) => a.matches(conn) && b.matches(conn),
            Node::Or(a, b) => a.matches(conn) || b.matches(conn),
            Node::Not(a) => !a.matches(conn),
            Node::HostSni(None) => true,
            Node::HostSni(Some(host)) => {
                !conn.server_name.is_empty() && conn.server_name.eq_ignore_ascii_case(host)
            }
            Node::HostSniRegexp(re) => {
                !conn.server_name.is_empty() && re.is_match(conn.server_name)
            }
            Node::ClientIp(net) => net.contains(&canonical(conn.client_ip)),
            Node::Alpn(proto) => conn.alpn.iter().any(|p| p == proto),
        }
    }

    fn host_snis(&self, out: &mut Vec<String>) {
        match self {
            Node::And(a, b) | Node::Or(a, b) => {
                a.host_snis(out);
                b.host_snis(out);
            }
            Node::Not(a) => a.host_snis(out),
            Node::HostSni(None) => out.push("*".to_string()),
            Node::HostSni(Some(h)) => out.push(h.clone()),
            _ => {}
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4, as Go does.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn err(column: usize, message: &str) -> ParseError {
    ParseError {
        column,
        message: message.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
    Not,
    And,
    Or,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Not => "`!`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
        }
    }
}

fn lex(source: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let col = i + 1;
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((col, Tok::Open));
                i += 1;
            }
            ')' => {
                out.push((col, Tok::Close));
                i += 1;
            }
            ',' => {
                out.push((col, Tok::Comma));
                i += 1;
            }
            '!' => {
                out.push((col, Tok::Not));
                i += 1;
            }
            '&' | '|' => {
                if chars.get(i + 1) != Some(&c) {
                    return Err(err(col, &format!("expected `{c}{c}`")));
                }
                out.push((col, if c == '&' { Tok::And } else { Tok::Or }));
                i += 2;
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or_else(|| err(col, "unterminated string"))?;
                out.push((col, Tok::Str(chars[i + 1..i + 1 + end].iter().collect())));
                i += end + 2;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(col, "unterminated string")),
                        Some('"') => break,
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(&c @ ('\\' | '"')) => s.push(c),
                                _ => return Err(err(i + 1, "unknown escape sequence")),
                            }
                            i += 2;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push((col, Tok::Str(s)));
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(chars.len(), |n| i + n);
                out.push((col, Tok::Ident(chars[i..end].iter().collect())));
                i = end;
            }
            other => return Err(err(col, &format!("unexpected character {other:?}"))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(1, |(c, _)| *c)
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary()?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        let col = self.column();
        match self.tokens.get(self.pos).cloned() {
            Some((_, Tok::Not)) => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.unary()?)))
            }
            Some((_, Tok::Open)) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(err(self.column(), "expected `)`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some((_, Tok::Ident(name))) => {
                self.pos += 1;
                self.call(col, &name)
            }
            Some((_, tok)) => Err(err(col, &format!("unexpected {}", tok.describe()))),
            None => Err(err(col, "unexpected end of rule")),
        }
    }

    fn call(&mut self, col: usize, name: &str) -> Result<Node, ParseError> {
        let Some(matcher) = MATCHERS.iter().find(|m| spelled(m, name)) else {
            return Err(err(
                col,
                &format!(
                    "unknown TCP matcher `{name}` (TCP rules know {})",
                    MATCHERS.join(", ")
                ),
            ));
        };
        if self.peek() != Some(&Tok::Open) {
            return Err(err(self.column(), &format!("expected `(` after {name}")));
        }
        self.pos += 1;
        let mut args = Vec::new();
        loop {
            match self.tokens.get(self.pos).cloned() {
                Some((_, Tok::Str(s))) => {
                    args.push(s);
                    self.pos += 1;
                }
                Some((_, Tok::Close)) if args.is_empty() => break,
                _ => return Err(err(self.column(), "expected a string")),
            }
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::Close) => break,
                _ => return Err(err(self.column(), "expected `,` or `)`")),
            }
        }
        self.pos += 1;
        let [value] = args.as_slice() else {
            return Err(err(
                col,
                &format!("{matcher} takes exactly one value, found {}", args.len()),
            ));
        };
        let value = value.as_str();
        match *matcher {
            "HostSNI" => {
                if value == "*" {
                    return Ok(Node::HostSni(None));
                }
                let host = value.strip_suffix('.').unwrap_or(value);
                if host.is_empty()
                    || !host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
                {
                    return Err(err(col, &format!("invalid value {value:?} for HostSNI")));
                }
                Ok(Node::HostSni(Some(host.to_ascii_lowercase())))
            }
            "HostSNIRegexp" => regex::Regex::new(value)
                .map(Node::HostSniRegexp)
                .map_err(|e| err(col, &format!("invalid regexp {value:?}: {e}"))),
            "ClientIP" => value
                .parse::<IpNet>()
                .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                .map(|net| match net {
                    IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some() => IpNet::new(
                        canonical(v6.addr().into()),
                        v6.prefix_len().saturating_sub(96),
                    )
                    .unwrap_or(net),
                    other => other,
                })
                .map(Node::ClientIp)
                .map_err(|_| err(col, &format!("invalid IP or CIDR {value:?} for ClientIP"))),
            _ => {
                if value == "acme-tls/1" {
                    return Err(err(col, "invalid protocol value for ALPN (\"acme-tls/1\")"));
                }
                Ok(Node::Alpn(value.to_string()))
            }
        }
    }
}

/// Traefik's parser knows each matcher as written, lowercased, uppercased and title-cased.
fn spelled(matcher: &str, name: &str) -> bool {
    let lower = matcher.to_ascii_lowercase();
    let mut title = lower.clone();
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    name == matcher || name == lower || name == matcher.to_ascii_uppercase() || name == title
}

#[cfg(test)]
mod tests;
