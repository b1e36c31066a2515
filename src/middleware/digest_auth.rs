//! `digestAuth`: HTTP Digest authentication (RFC 2617, MD5, `qop="auth"`), as Traefik's
//! `digestAuth` (abbot/go-http-auth, containous fork).
//!
//! `users` and the lines of `usersFile` (blank lines and `#` comments skipped) are htdigest lines
//! `user:realm:HA1` with `HA1 = md5hex(user:realm:password)`; list users override file users of
//! the same name and realm (as Traefik). A line that is not three `:`-separated fields is a
//! compile error naming it (as Traefik). An HA1 that is not 32 lowercase hex digits, or a line
//! whose realm is not the middleware's, is kept as a user that can never authenticate, with a
//! warning ([`DigestAuth::notices`]). An unreadable `usersFile` answers 401 to everyone until a
//! reload finds it ([`DigestAuth::missing_file`]), as `basicAuth` does.
//!
//! A request without valid credentials gets 401, `Content-Type: text/plain`, body
//! `401 Unauthorized\n` and `WWW-Authenticate: Digest realm="<realm>", nonce="<new nonce>",
//! opaque="<opaque>", algorithm="MD5", qop="auth"` (`stale="true"` before `algorithm` when the
//! credentials were right but the nonce count went backwards). Nonces are random, issued only in
//! challenges and remembered (at most 1100; the 200 least recently seen are then forgotten);
//! `opaque` is random per compiled middleware. A valid answer must carry this middleware's
//! opaque, `algorithm` MD5 (or none), `qop="auth"`, a known nonce with a nonce count (hex)
//! greater than the last one seen for that nonce, and a `uri` equal to the request target or
//! whose path is a prefix of the request path (go-http-auth's rule). On success the user name
//! goes into `headerField` (if set) and `Authorization` is removed when `removeHeader` is set.
//!
//! A user the middleware does not know never authenticates, whatever the answer (checked against
//! the real Traefik 3.7.15: an answer computed from an empty HA1 for an unknown user gets 401).
//!
//! State: the nonce table is one `std::sync::Mutex`, held for a map lookup or insert.
#![allow(clippy::disallowed_types)] // std Mutex: the issued nonces sit behind one mutex (ARCHITECTURE.md, decision 11)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use md5::{Digest, Md5};

use super::basic_auth::Notice;
use super::config::DigestAuthConfig;
use super::error::{header_name, MiddlewareError};
use super::Flow;

const M: &str = "digestAuth";
/// go-http-auth's `DefaultClientCacheSize` and `DefaultClientCacheTolerance`.
const CACHE_SIZE: usize = 1000;
const CACHE_TOLERANCE: usize = 100;
/// Longest `Authorization` value parsed.
const MAX_AUTHORIZATION: usize = 4096;

/// One issued nonce: the last nonce count seen and when.
#[derive(Debug, Clone, Copy)]
struct Client {
    nc: u64,
    last_seen: Instant,
}

/// Compiled `digestAuth`.
#[derive(Debug)]
pub struct DigestAuth {
    /// `user:realm` → HA1 (lowercase hex); `None` for a user that can never authenticate.
    users: HashMap<String, Option<String>>,
    realm: String,
    opaque: String,
    remove_header: bool,
    header_field: Option<HeaderName>,
    missing_file: Option<std::path::PathBuf>,
    notices: Vec<Notice>,
    clients: Mutex<HashMap<String, Client>>,
}

/// Why a request was not let in.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Denied,
    /// Right credentials, nonce count lower than the last one seen (out-of-order requests).
    Stale,
}

/// Parses htdigest lines from `origin` into `users` (later lines override earlier ones).
fn parse_lines<'a>(
    origin: &str,
    lines: impl Iterator<Item = &'a str>,
    realm: &str,
    users: &mut HashMap<String, Option<String>>,
    notices: &mut Vec<Notice>,
) -> Result<(), MiddlewareError> {
    for (i, raw) in lines.enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let [user, user_realm, ha1] = fields[..] else {
            return Err(MiddlewareError::Htpasswd {
                middleware: M,
                origin: origin.to_owned(),
                line: i + 1,
                text: line.to_owned(),
                reason: "expected user:realm:md5(user:realm:password)",
            });
        };
        let well_formed = ha1.len() == 32
            && ha1
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            notices.push(Notice {
                message: format!(
                    "{M}: {origin} line {}: user {user:?} has a hash that is not 32 lowercase \
                     hex digits (md5 of user:realm:password): this user can never authenticate",
                    i + 1
                ),
                error: false,
            });
        } else if user_realm != realm {
            notices.push(Notice {
                message: format!(
                    "{M}: {origin} line {}: user {user:?} belongs to realm {user_realm:?}, not \
                     the middleware's realm {realm:?}: this line is never used",
                    i + 1
                ),
                error: false,
            });
        }
        users.insert(
            format!("{user}:{user_realm}"),
            well_formed.then(|| ha1.to_owned()),
        );
    }
    Ok(())
}

/// Lowercase hex MD5 of the parts joined by `:`.
fn h(parts: &[&[u8]]) -> String {
    let mut ctx = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            ctx.update(b":");
        }
        ctx.update(p);
    }
    hex(&ctx.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 12 random bytes in standard base64 (16 characters), as go-http-auth's `RandomKey`.
fn random_key() -> Option<String> {
    let mut k = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(k))
}

/// Splits a comma-separated list with quoted strings and `\` escapes inside quotes
/// (go-http-auth's `ParseList`, after Python's `parse_http_list`).
fn parse_list(value: &str) -> Vec<String> {
    let mut list = Vec::new();
    let (mut escape, mut quote) = (false, false);
    let mut b = String::new();
    for c in value.chars() {
        if escape {
            b.push(c);
            escape = false;
        } else if quote {
            if c == '\\' {
                escape = true;
            } else {
                if c == '"' {
                    quote = false;
                }
                b.push(c);
            }
        } else if c == ',' {
            list.push(b.trim().to_owned());
            b.clear();
        } else {
            if c == '"' {
                quote = true;
            }
            b.push(c);
        }
    }
    if !b.is_empty() {
        list.push(b.trim().to_owned());
    }
    list
}

/// The parameters of a `Digest` credential (go-http-auth's `DigestAuthParams`): `None` unless
/// the scheme is exactly `Digest`. Values lose one pair of surrounding quotes.
fn digest_params(authorization: &str) -> Option<HashMap<String, String>> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if scheme != "Digest" {
        return None;
    }
    let mut m = HashMap::new();
    for pair in parse_list(rest.trim()) {
        match pair.split_once('=') {
            None => {
                m.insert(pair, String::new());
            }
            Some((k, v)) => {
                let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    Some(inner) => inner,
                    None => v,
                };
                m.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    Some(m)
}

/// The path of a `uri` parameter as Go's `url.Parse` reads it (no decoding).
fn uri_path(uri: &str) -> &str {
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    match uri.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            rest.find('/').map_or("", |i| &rest[i..])
        }
        _ => uri,
    }
}

/// A hex nonce count as Go's `strconv.ParseUint(s, 16, 64)` reads it.
fn parse_nc(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

impl DigestAuth {
    pub fn compile(cfg: &DigestAuthConfig) -> Result<Self, MiddlewareError> {
        let realm = if cfg.realm.is_empty() {
            "traefik"
        } else {
            &cfg.realm
        };
        if realm.contains(['"', '\\']) || HeaderValue::from_str(realm).is_err() {
            return Err(MiddlewareError::invalid(
                M,
                "realm",
                realm,
                "must be printable and contain no '\"' or '\\'",
            ));
        }
        let mut users = HashMap::new();
        let mut notices = Vec::new();
        let mut missing_file = None;
        if !cfg.users_file.is_empty() {
            match std::fs::read_to_string(&cfg.users_file) {
                Ok(text) => parse_lines(
                    &cfg.users_file,
                    text.lines(),
                    realm,
                    &mut users,
                    &mut notices,
                )?,
                Err(source) => {
                    let error = MiddlewareError::UsersFile {
                        middleware: M,
                        path: cfg.users_file.clone().into(),
                        source,
                    };
                    notices.push(Notice {
                        message: format!("{error}; every request gets 401 until it can be read"),
                        error: true,
                    });
                    missing_file = Some(cfg.users_file.clone().into());
                }
            }
        }
        let list = cfg.users.iter().map(String::as_str);
        parse_lines("users", list, realm, &mut users, &mut notices)?;
        let header_field = match cfg.header_field.as_str() {
            "" => None,
            f => Some(header_name(M, "headerField", f)?),
        };
        let opaque = random_key().ok_or_else(|| {
            MiddlewareError::invalid(M, "opaque", "", "the system random source failed")
        })?;
        Ok(DigestAuth {
            users,
            realm: realm.to_owned(),
            opaque,
            remove_header: cfg.remove_header,
            header_field,
            missing_file,
            notices,
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// Warnings (users that can never authenticate) and errors (an unreadable `usersFile`).
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// The `usersFile` that could not be read, if any.
    pub fn missing_file(&self) -> Option<&std::path::Path> {
        self.missing_file.as_deref()
    }

    /// The authenticated user name, or why not (go-http-auth's `CheckAuth`).
    fn authenticate(&self, req: &http::request::Parts) -> Result<String, Refusal> {
        use Refusal::Denied;
        if self.missing_file.is_some() {
            return Err(Denied);
        }
        let value = req.headers.get(header::AUTHORIZATION).ok_or(Denied)?;
        if value.len() > MAX_AUTHORIZATION {
            return Err(Denied);
        }
        let auth = digest_params(value.to_str().map_err(|_| Denied)?).ok_or(Denied)?;
        let get = |k: &str| auth.get(k).map_or("", String::as_str);
        let algorithm = auth.get("algorithm").map_or("MD5", String::as_str);
        if get("opaque") != self.opaque || algorithm != "MD5" || get("qop") != "auth" {
            return Err(Denied);
        }
        let uri = get("uri");
        let target = req.uri.path_and_query().map_or("", |pq| pq.as_str());
        if target != uri {
            let prefix = uri_path(uri);
            if prefix.len() > req.uri.path().len() || !req.uri.path().starts_with(prefix) {
                return Err(Denied);
            }
        }
        let user = get("username");
        let key = format!("{user}:{}", self.realm);
        let ha1 = self
            .users
            .get(&key)
            .and_then(Option::as_deref)
            .ok_or(Denied)?;
        let ha2 = h(&[req.method.as_str().as_bytes(), uri.as_bytes()]);
        let (nonce, nc_text, cnonce) = (get("nonce"), get("nc"), get("cnonce"));
        let kd = h(&[
            ha1.as_bytes(),
            nonce.as_bytes(),
            nc_text.as_bytes(),
            cnonce.as_bytes(),
            b"auth",
            ha2.as_bytes(),
        ]);
        if !ct_eq(kd.as_bytes(), get("response").as_bytes()) {
            return Err(Denied);
        }
        let nc = parse_nc(nc_text).ok_or(Denied)?;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let client = clients.get_mut(nonce).ok_or(Denied)?;
        if client.nc != 0 {
            if nc == client.nc {
                return Err(Denied);
            }
            if nc < client.nc {
                return Err(Refusal::Stale);
            }
        }
        client.nc = nc;
        client.last_seen = Instant::now();
        Ok(user.to_owned())
    }

    /// A 401 with a new nonce (go-http-auth's `requireAuth`).
    fn challenge(&self, stale: bool) -> http::Response<Bytes> {
        let nonce = random_key();
        if let Some(nonce) = &nonce {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if clients.len() > CACHE_SIZE + CACHE_TOLERANCE {
                let mut seen: Vec<(Instant, String)> = clients
                    .iter()
                    .map(|(k, c)| (c.last_seen, k.clone()))
                    .collect();
                seen.sort_unstable();
                for (_, k) in seen.into_iter().take(CACHE_TOLERANCE * 2) {
                    clients.remove(&k);
                }
            }
            clients.insert(
                nonce.clone(),
                Client {
                    nc: 0,
                    last_seen: Instant::now(),
                },
            );
        }
        let mut resp = http::Response::new(Bytes::from_static(b"401 Unauthorized\n"));
        *resp.status_mut() = StatusCode::UNAUTHORIZED;
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        // Without a nonce (the random source failed) the challenge cannot be answered.
        let stale = if stale { "stale=\"true\", " } else { "" };
        let value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", {stale}algorithm=\"MD5\", qop=\"auth\"",
            self.realm,
            nonce.as_deref().unwrap_or(""),
            self.opaque,
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        let user = match self.authenticate(req) {
            Ok(user) => user,
            Err(refusal) => return Flow::Respond(self.challenge(refusal == Refusal::Stale)),
        };
        if let Some(field) = &self.header_field {
            match HeaderValue::from_str(&user) {
                Ok(v) => {
                    req.headers.insert(field.clone(), v);
                }
                Err(_) => return Flow::Respond(self.challenge(false)),
            }
        }
        if self.remove_header {
            req.headers.remove(header::AUTHORIZATION);
        }
        Flow::Continue
    }

    /// Number of nonces remembered (tests).
    #[cfg(test)]
    pub(crate) fn nonces(&self) -> usize {
        self.clients.lock().map_or(0, |c| c.len())
    }
}
