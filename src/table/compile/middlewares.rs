//! The middlewares half of `compile()`: each `http.middlewares` entry compiled once, by name
//! (chains flattened with cycle detection, `errors` with its service resolved like a router's),
//! kept in `State` so every router using it shares one `Arc`.

use std::sync::Arc;

use super::{Resolved, State};
use crate::config::middleware::ErrorsConfig;
use crate::config::{ConfigIssue, Element};
use crate::middleware::errors::{ErrorPages, ErrorsOptions};
use crate::middleware::{ForwardAuth, Middleware, MiddlewareConfig};
use crate::table::MiddlewareTrace;

impl State<'_> {
    /// Resolves a middleware by name, flattening chains; `path` detects cycles.
    pub(super) fn middleware_into(
        &mut self,
        router: &str,
        name: &str,
        path: &mut Vec<String>,
        out: &mut Vec<(Arc<Middleware>, MiddlewareTrace)>,
    ) -> Result<(), String> {
        let trace = |cfg: &MiddlewareConfig| MiddlewareTrace {
            span: cfg.span_name(),
            name: Arc::from(name),
        };
        if path.iter().any(|p| p == name) {
            return Err(format!("chain cycle through {}", path.join(" -> ")));
        }
        let Some(cfg) = self.cfg.http.middlewares.get(name) else {
            if let Some(reason) = self.cfg.invalid.middlewares.get(name) {
                return Err(reason.clone());
            }
            return Err("does not exist".to_string());
        };
        if let MiddlewareConfig::Chain(chain) = cfg {
            path.push(name.to_string());
            for inner in &chain.middlewares {
                self.middleware_into(router, inner, path, out)
                    .map_err(|e| format!("in chain {name:?}: {inner:?}: {e}"))?;
            }
            path.pop();
            return Ok(());
        }
        if let MiddlewareConfig::CircuitBreaker(c) = cfg {
            // State per router (Traefik instantiates middlewares per router), kept across reloads.
            let breaker = self
                .ctx
                .breakers
                .get_or_compile(router, name, c)
                .map_err(|e| e.to_string())?;
            out.push((Arc::new(Middleware::CircuitBreaker(breaker)), trace(cfg)));
            return Ok(());
        }
        if let MiddlewareConfig::ForwardAuth(c) = cfg {
            // Its connection pool comes from the reload-surviving registries.
            let compiled = match self.middlewares.get(name) {
                Some(done) => done.clone(),
                None => {
                    let pools = Some((self.ctx.pools, self.ctx.transports));
                    let built = ForwardAuth::compile(c, name, pools)
                        .map(|m| Arc::new(Middleware::ForwardAuth(m)))
                        .map_err(|e| e.to_string());
                    self.middlewares.insert(name.to_string(), built.clone());
                    built
                }
            };
            out.push((compiled?, trace(cfg)));
            return Ok(());
        }
        if let MiddlewareConfig::Errors(c) = cfg {
            // Needs the error service, resolved like a router's.
            let compiled = match self.middlewares.get(name) {
                Some(done) => done.clone(),
                None => {
                    let built = self.error_pages(c);
                    self.middlewares.insert(name.to_string(), built.clone());
                    built
                }
            };
            out.push((compiled?, trace(cfg)));
            return Ok(());
        }
        out.push((self.compiled(name, cfg)?, trace(cfg)));
        Ok(())
    }

    /// Compiles a plain middleware once per compilation, recording what it noticed.
    pub(super) fn compiled(&mut self, name: &str, cfg: &MiddlewareConfig) -> Resolved<Middleware> {
        if let Some(done) = self.middlewares.get(name) {
            return done.clone();
        }
        if let MiddlewareConfig::IpWhiteList(_) = cfg {
            // Traefik v3 still reads it; one notice per middleware for the life of the process.
            crate::config::deprecation::notice(
                &format!("middleware|{name}|ipWhiteList"),
                &format!("{name}: ipWhiteList"),
                "ipAllowList",
                name,
            );
        }
        let built = match cfg {
            // Its redis key carries the middleware's name, as Traefik's.
            MiddlewareConfig::RateLimit(c) if c.redis.is_some() => {
                crate::middleware::RateLimit::compile_named(c, name).map(Middleware::RateLimit)
            }
            _ => Middleware::compile(cfg),
        }
        .map(Arc::new)
        .map_err(|e| e.to_string());
        if let Ok(m) = &built {
            for notice in m.notices() {
                let issue = ConfigIssue::new(Element::Middleware, name, notice.message.clone())
                    .with_key(m.kind());
                self.notices.push(if notice.error {
                    issue
                } else {
                    issue.as_warning()
                });
            }
            if let Some(path) = m.missing_file() {
                self.missing_files.push(path.to_path_buf());
            }
        }
        self.middlewares.insert(name.to_string(), built.clone());
        built
    }

    fn error_pages(&mut self, cfg: &ErrorsConfig) -> Resolved<Middleware> {
        let options = ErrorsOptions::compile(cfg).map_err(|e| e.to_string())?;
        if self
            .cfg
            .http
            .services
            .get(&cfg.service)
            .is_some_and(|s| !s.middlewares.is_empty())
        {
            return Err(format!(
                "errors: service {:?} has middlewares, which swarmgate does not apply to an \
                 error page service (Traefik 3.7 does): refused",
                cfg.service
            ));
        }
        let service = self
            .service(&cfg.service)
            .map_err(|e| format!("errors: service {:?} {e}", cfg.service))?;
        Ok(Arc::new(Middleware::Errors(ErrorPages::new(
            options, service,
        ))))
    }
}
