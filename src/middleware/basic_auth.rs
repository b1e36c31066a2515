//! `basicAuth`: HTTP Basic authentication against htpasswd users, as Traefik's `basicAuth`.
//!
//! `users` and the lines of `usersFile` (blank lines and `#` comments skipped) are `user:hash`;
//! file users override list users of the same name. A malformed line or an unsupported hash is a
//! compile error naming the line. A missing or wrong credential gets 401 with
//! `WWW-Authenticate: Basic realm="<realm>"` (default realm `traefik`). On success the user name
//! goes into `headerField` (if set) and `Authorization` is removed when `removeHeader` is set.
//!
//! Compile reads `usersFile` (the one file read of the middlewares). bcrypt checks cost
//! milliseconds of CPU on the calling thread, as in Traefik.

use std::collections::HashMap;

use base64::Engine;
use http::{header, HeaderName, HeaderValue, StatusCode};

use super::config::BasicAuthConfig;
use super::error::{header_name, header_value, MiddlewareError};
use super::htpasswd::Hash;
use super::response::respond;
use super::Flow;

const M: &str = "basicAuth";
/// Largest decoded `user:password` accepted.
pub const MAX_CREDENTIALS: usize = 1024;

/// Compiled `basicAuth`.
#[derive(Debug)]
pub struct BasicAuth {
    users: HashMap<String, Hash>,
    challenge: HeaderValue,
    remove_header: bool,
    header_field: Option<HeaderName>,
}

/// Parses htpasswd lines from `origin` into `users`.
fn parse_lines<'a>(
    origin: &str,
    lines: impl Iterator<Item = &'a str>,
    users: &mut HashMap<String, Hash>,
) -> Result<(), MiddlewareError> {
    for (i, raw) in lines.enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason| MiddlewareError::Htpasswd {
            origin: origin.to_owned(),
            line: i + 1,
            text: line.to_owned(),
            reason,
        };
        let (user, hash) = line
            .split_once(':')
            .ok_or_else(|| err("expected user:hash"))?;
        if user.is_empty() || hash.contains(':') {
            return Err(err("expected user:hash"));
        }
        let hash = Hash::parse(hash)
            .ok_or_else(|| err("unsupported hash (use bcrypt, $apr1$ MD5 or {SHA})"))?;
        users.insert(user.to_owned(), hash);
    }
    Ok(())
}

impl BasicAuth {
    pub fn compile(cfg: &BasicAuthConfig) -> Result<Self, MiddlewareError> {
        let mut users = HashMap::new();
        parse_lines("users", cfg.users.iter().map(String::as_str), &mut users)?;
        if !cfg.users_file.is_empty() {
            let text = std::fs::read_to_string(&cfg.users_file).map_err(|source| {
                MiddlewareError::UsersFile {
                    path: cfg.users_file.clone().into(),
                    source,
                }
            })?;
            parse_lines(&cfg.users_file, text.lines(), &mut users)?;
        }
        let realm = if cfg.realm.is_empty() {
            "traefik"
        } else {
            &cfg.realm
        };
        if realm.contains('"') {
            return Err(MiddlewareError::invalid(
                M,
                "realm",
                realm,
                "must not contain '\"'",
            ));
        }
        let challenge = header_value(M, "realm", &format!("Basic realm=\"{realm}\""))?;
        let header_field = match cfg.header_field.as_str() {
            "" => None,
            f => Some(header_name(M, "headerField", f)?),
        };
        Ok(BasicAuth {
            users,
            challenge,
            remove_header: cfg.remove_header,
            header_field,
        })
    }

    /// The authenticated user's header value, if the `Authorization` header holds valid
    /// credentials. Decodes into a stack buffer: credentials longer than
    /// [`MAX_CREDENTIALS`] bytes are refused.
    fn authenticate(&self, headers: &http::HeaderMap) -> Option<HeaderValue> {
        let value = headers.get(header::AUTHORIZATION)?.as_bytes();
        let (scheme, b64) = value.split_at(value.iter().position(|&b| b == b' ')?);
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return None;
        }
        let mut buf = [0u8; MAX_CREDENTIALS];
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(b64.trim_ascii(), &mut buf)
            .ok()?;
        let decoded = &buf[..n];
        let colon = decoded.iter().position(|&b| b == b':')?;
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let hash = self.users.get(std::str::from_utf8(user).ok()?)?;
        if !hash.verify(password) {
            return None;
        }
        // Only allocates when the user name is to be forwarded.
        match &self.header_field {
            Some(_) => HeaderValue::from_bytes(user).ok(),
            None => Some(HeaderValue::from_static("")),
        }
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        let Some(user) = self.authenticate(&req.headers) else {
            return Flow::Respond(respond(
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, self.challenge.clone())],
            ));
        };
        if let Some(field) = &self.header_field {
            req.headers.insert(field.clone(), user);
        }
        if self.remove_header {
            req.headers.remove(header::AUTHORIZATION);
        }
        Flow::Continue
    }
}
