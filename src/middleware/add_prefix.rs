//! `addPrefix`: prepend a fixed prefix to the path (query kept), as Traefik does.

use super::config::AddPrefixConfig;
use super::error::MiddlewareError;
use super::path::{set_path, valid_path};
use super::response::respond;
use super::Flow;

/// Compiled `addPrefix`.
#[derive(Debug)]
pub struct AddPrefix {
    prefix: String,
}

impl AddPrefix {
    pub fn compile(cfg: &AddPrefixConfig) -> Result<Self, MiddlewareError> {
        if cfg.prefix.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: "addPrefix",
                option: "prefix",
            });
        }
        if !valid_path(&cfg.prefix) {
            return Err(MiddlewareError::invalid(
                "addPrefix",
                "prefix",
                &cfg.prefix,
                "not a valid URI path",
            ));
        }
        Ok(AddPrefix {
            prefix: cfg.prefix.clone(),
        })
    }

    pub(crate) fn on_request(&self, req: &mut http::request::Parts) -> Flow {
        let path = format!("{}{}", self.prefix, req.uri.path());
        match set_path(&mut req.uri, &path) {
            Some(()) => Flow::Continue,
            None => Flow::Respond(respond(http::StatusCode::BAD_REQUEST, [])),
        }
    }
}
