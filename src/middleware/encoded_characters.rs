//! `encodedCharacters` (and the entrypoint option `http.encodedCharacters`): refuse (400) a path
//! holding some encoded characters, as Traefik 3.7's middleware and router check do.
//!
//! The seven options (`allowEncodedSlash`, `allowEncodedBackSlash`, `allowEncodedNullCharacter`,
//! `allowEncodedSemicolon`, `allowEncodedPercent`, `allowEncodedQuestionMark`,
//! `allowEncodedHash`) default to **false in the middleware** (Go's zero value: a middleware
//! allows only what it names) and to **true on an entrypoint** (Traefik's `SetDefaults`), so
//! Traefik 3.7 forwards `%2F` unless told otherwise. Escapes are compared case-insensitively.

use super::config::EncodedCharactersConfig;
use super::response::respond;
use super::Flow;

/// The encoded characters, in the order of [`EncodedCharacters`]' bits.
const CHARACTERS: [u8; 7] = [b'/', b'\\', 0, b';', b'%', b'?', b'#'];

/// Which encoded characters are refused (one bit per entry of `CHARACTERS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedCharacters {
    denied: u8,
}

impl EncodedCharacters {
    /// Nothing refused (Traefik 3.7's entrypoint default).
    pub const ALLOW_ALL: EncodedCharacters = EncodedCharacters { denied: 0 };

    /// From the options; an option not given takes `default_allow`.
    pub fn from_config(cfg: &EncodedCharactersConfig, default_allow: bool) -> Self {
        let allowed = [
            cfg.allow_encoded_slash,
            cfg.allow_encoded_back_slash,
            cfg.allow_encoded_null_character,
            cfg.allow_encoded_semicolon,
            cfg.allow_encoded_percent,
            cfg.allow_encoded_question_mark,
            cfg.allow_encoded_hash,
        ];
        let mut denied = 0;
        for (bit, allow) in allowed.iter().enumerate() {
            if !allow.unwrap_or(default_allow) {
                denied |= 1 << bit;
            }
        }
        EncodedCharacters { denied }
    }

    /// The middleware `encodedCharacters` (options default to false).
    pub fn compile(cfg: &EncodedCharactersConfig) -> Self {
        Self::from_config(cfg, false)
    }

    /// The first refused character encoded in `path`, if any. No allocation.
    pub fn first_denied(&self, path: &str) -> Option<u8> {
        if self.denied == 0 {
            return None;
        }
        let bytes = path.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if let Some(byte) = super::path::escape_at(bytes, i) {
                let denied = CHARACTERS
                    .iter()
                    .position(|&c| c == byte)
                    .is_some_and(|bit| self.denied & (1 << bit) != 0);
                if denied {
                    return Some(byte);
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        None
    }

    pub(crate) fn on_request(&self, req: &http::request::Parts) -> Flow {
        match self.first_denied(req.uri.path()) {
            Some(_) => Flow::Respond(respond(http::StatusCode::BAD_REQUEST, [])),
            None => Flow::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_differ_between_middleware_and_entrypoint() {
        let none = EncodedCharactersConfig::default();
        let middleware = EncodedCharacters::compile(&none);
        let entrypoint = EncodedCharacters::from_config(&none, true);
        for path in [
            "/a%2Fb", "/a%2fb", "/a%5cb", "/a%00", "/a%3B", "/a%25", "/a%3F", "/a%23",
        ] {
            assert!(middleware.first_denied(path).is_some(), "{path}");
            assert_eq!(entrypoint.first_denied(path), None, "{path}");
        }
        assert_eq!(middleware.first_denied("/a%20b/%C3%A9"), None);
        let slash_only = EncodedCharactersConfig {
            allow_encoded_slash: Some(false),
            ..Default::default()
        };
        let ep = EncodedCharacters::from_config(&slash_only, true);
        assert_eq!(ep.first_denied("/a%2fb"), Some(b'/'));
        assert_eq!(ep.first_denied("/a%5Cb"), None);
        let mw = EncodedCharacters::compile(&EncodedCharactersConfig {
            allow_encoded_slash: Some(true),
            ..Default::default()
        });
        assert_eq!(mw.first_denied("/a%2Fb"), None);
        assert_eq!(mw.first_denied("/a%2Fb%3b"), Some(b';'));
    }
}
