//! TEMPORARY stub of the rule language (replaced by the rules branch): Host/Path/PathPrefix joined by &&.

use std::net::IpAddr;

pub struct RequestView<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub method: &'a http::Method,
    pub headers: &'a http::HeaderMap,
    pub client_ip: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
enum M {
    Host(String),
    Path(String),
    Prefix(String),
}

#[derive(Debug, Clone)]
pub struct Rule {
    src: String,
    ms: Vec<M>,
}

impl Rule {
    pub fn parse(source: &str) -> Result<Rule, ParseError> {
        let mut ms = Vec::new();
        for part in source.split("&&") {
            let part = part.trim();
            let err = || ParseError {
                column: 1,
                message: format!("bad {part}"),
            };
            let open = part.find('(').ok_or_else(err)?;
            let arg = part[open + 1..]
                .trim_end_matches(')')
                .trim_matches('`')
                .to_string();
            ms.push(match &part[..open] {
                "Host" => M::Host(arg.to_lowercase()),
                "Path" => M::Path(arg),
                "PathPrefix" => M::Prefix(arg),
                _ => return Err(err()),
            });
        }
        Ok(Rule {
            src: source.to_string(),
            ms,
        })
    }
    pub fn source(&self) -> &str {
        &self.src
    }
    pub fn matches(&self, req: &RequestView<'_>) -> bool {
        self.ms.iter().all(|m| match m {
            M::Host(h) => req.host == h,
            M::Path(p) => req.path == p,
            M::Prefix(p) => req.path.starts_with(p.as_str()),
        })
    }
    pub fn default_priority(&self) -> i64 {
        self.src.len() as i64
    }
    pub fn required_hosts(&self) -> Option<Vec<String>> {
        self.ms.iter().find_map(|m| match m {
            M::Host(h) => Some(vec![h.clone()]),
            _ => None,
        })
    }
    pub fn host_names(&self) -> Vec<String> {
        self.required_hosts().unwrap_or_default()
    }
}
