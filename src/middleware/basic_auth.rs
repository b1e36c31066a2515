//! `basicAuth`: HTTP Basic authentication against htpasswd users, as Traefik's `basicAuth`.
//!
//! `users` and the lines of `usersFile` (blank lines and `#` comments skipped) are `user:hash`;
//! file users override list users of the same name. A line that is not `user:hash` is a compile
//! error naming the line (as Traefik). A hash whose format is unknown or malformed is kept, as
//! Traefik keeps it, as a user that can never authenticate, with a warning naming the line
//! ([`BasicAuth::notices`]). A `usersFile` that cannot be read (a Docker secret not mounted yet)
//! makes the middleware answer 401 to everyone, with an error notice, until a reload finds the
//! file ([`BasicAuth::missing_file`]; Traefik disables the router instead, and its requests fall
//! through to the next router). A missing or wrong credential gets 401 with
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
    /// `usersFile` could not be read: every request gets 401.
    missing_file: Option<std::path::PathBuf>,
    notices: Vec<Notice>,
}

/// Something compile noticed that the configuration's owner should know, though the middleware
/// works (as safely as it can) anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub message: String,
    /// An error (the middleware refuses everyone) rather than a warning.
    pub error: bool,
}

/// Parses htpasswd lines from `origin` into `users`.
fn parse_lines<'a>(
    origin: &str,
    lines: impl Iterator<Item = &'a str>,
    users: &mut HashMap<String, Hash>,
    notices: &mut Vec<Notice>,
) -> Result<(), MiddlewareError> {
    for (i, raw) in lines.enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason| MiddlewareError::Htpasswd {
            middleware: M,
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
        let hash = Hash::parse(hash).unwrap_or_else(|| {
            notices.push(Notice {
                message: format!(
                    "{M}: {origin} line {}: user {user:?} has a hash of an unknown or malformed \
                     format (swarmgate reads bcrypt, $apr1$/$1$ MD5 and {{SHA}}): this user can \
                     never authenticate",
                    i + 1
                ),
                error: false,
            });
            Hash::Never
        });
        users.insert(user.to_owned(), hash);
    }
    Ok(())
}

impl BasicAuth {
    pub fn compile(cfg: &BasicAuthConfig) -> Result<Self, MiddlewareError> {
        let mut users = HashMap::new();
        let mut notices = Vec::new();
        let list = cfg.users.iter().map(String::as_str);
        parse_lines("users", list, &mut users, &mut notices)?;
        let mut missing_file = None;
        if !cfg.users_file.is_empty() {
            match std::fs::read_to_string(&cfg.users_file) {
                Ok(text) => parse_lines(&cfg.users_file, text.lines(), &mut users, &mut notices)?,
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
            missing_file,
            notices,
        })
    }

    /// Warnings (users that can never authenticate) and errors (an unreadable `usersFile`)
    /// found while compiling.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// The `usersFile` that could not be read, if any: a reload after it appears lets users in.
    pub fn missing_file(&self) -> Option<&std::path::Path> {
        self.missing_file.as_deref()
    }

    /// The authenticated user's header value, if the `Authorization` header holds valid
    /// credentials. Decodes into a stack buffer: credentials longer than
    /// [`MAX_CREDENTIALS`] bytes are refused.
    fn authenticate(&self, headers: &http::HeaderMap) -> Option<HeaderValue> {
        if self.missing_file.is_some() {
            return None;
        }
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
            // As Traefik (go-http-auth's RequireAuth): `401 Unauthorized\n`, text/plain.
            let mut resp = respond(
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, self.challenge.clone())],
            );
            *resp.body_mut() = bytes::Bytes::from_static(b"401 Unauthorized\n");
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return Flow::Respond(resp);
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
