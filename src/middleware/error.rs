//! Compile errors of middlewares: each names the middleware type, the option and the value.

use std::path::PathBuf;

/// Why a middleware config could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum MiddlewareError {
    #[error("chain middlewares are flattened by the table compiler, not compiled alone")]
    ChainNotCompiled,
    #[error("errors middlewares name a service and are compiled by the table compiler")]
    NeedsService,
    #[error("{middleware}: option `{option}` is required")]
    Missing {
        middleware: &'static str,
        option: &'static str,
    },
    #[error("{middleware}: option `{option}` has an invalid regex {value:?}: {source}")]
    Regex {
        middleware: &'static str,
        option: &'static str,
        value: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("{middleware}: option `{option}` has an invalid header name {value:?}")]
    HeaderName {
        middleware: &'static str,
        option: &'static str,
        value: String,
    },
    #[error("{middleware}: option `{option}` has an invalid header value {value:?}")]
    HeaderValue {
        middleware: &'static str,
        option: &'static str,
        value: String,
    },
    #[error("{middleware}: option `{option}` has an invalid value {value:?}: {reason}")]
    Invalid {
        middleware: &'static str,
        option: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{middleware}: option `{option}` has an invalid expression {value:?}: {error}")]
    Expression {
        middleware: &'static str,
        option: &'static str,
        value: String,
        error: String,
    },
    #[error("{middleware}: {origin} line {line}: {reason}: {text:?}")]
    Htpasswd {
        /// `basicAuth` or `digestAuth`.
        middleware: &'static str,
        /// `users` or the users file path.
        origin: String,
        /// 1-based line (or list entry) number.
        line: usize,
        text: String,
        reason: &'static str,
    },
    #[error("{middleware}: option `usersFile`: cannot read {path:?}: {source}")]
    UsersFile {
        middleware: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl MiddlewareError {
    pub(crate) fn regex(
        middleware: &'static str,
        option: &'static str,
        value: &str,
        source: regex::Error,
    ) -> Self {
        MiddlewareError::Regex {
            middleware,
            option,
            value: value.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn invalid(
        middleware: &'static str,
        option: &'static str,
        value: impl ToString,
        reason: &'static str,
    ) -> Self {
        MiddlewareError::Invalid {
            middleware,
            option,
            value: value.to_string(),
            reason,
        }
    }
}

/// Parses a configured header name.
pub(crate) fn header_name(
    middleware: &'static str,
    option: &'static str,
    value: &str,
) -> Result<http::HeaderName, MiddlewareError> {
    http::HeaderName::from_bytes(value.trim().as_bytes()).map_err(|_| MiddlewareError::HeaderName {
        middleware,
        option,
        value: value.to_owned(),
    })
}

/// Parses a configured header value as Go writes one (Traefik): line breaks become spaces and
/// surrounding whitespace is trimmed, so a YAML folded block (`contentSecurityPolicy: >`), which
/// ends in a newline, reads as the one-line value it means.
pub(crate) fn header_value(
    middleware: &'static str,
    option: &'static str,
    value: &str,
) -> Result<http::HeaderValue, MiddlewareError> {
    let value: std::borrow::Cow<'_, str> = if value.contains(['\r', '\n']) {
        value.replace(['\r', '\n'], " ").into()
    } else {
        value.into()
    };
    let value = value.trim_matches([' ', '\t']);
    http::HeaderValue::from_str(value).map_err(|_| MiddlewareError::HeaderValue {
        middleware,
        option,
        value: value.to_owned(),
    })
}
