//! TEMPORARY stub of the middleware runtime (replaced by the mw branch): stripPrefix only.

pub mod config;

pub use config::MiddlewareConfig;

pub struct RequestContext<'a> {
    pub client_addr: std::net::SocketAddr,
    pub tls: bool,
    pub entrypoint: &'a str,
}

pub enum Flow {
    Continue,
    Respond(http::Response<bytes::Bytes>),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MiddlewareError(String);

#[derive(Debug)]
pub enum Middleware {
    StripPrefix(Vec<String>),
}

impl Middleware {
    pub fn compile(cfg: &MiddlewareConfig) -> Result<Middleware, MiddlewareError> {
        match cfg {
            MiddlewareConfig::StripPrefix(c) => Ok(Middleware::StripPrefix(c.prefixes.clone())),
            _ => Err(MiddlewareError("unsupported".into())),
        }
    }
    pub fn on_request(&self, req: &mut http::request::Parts, _ctx: &RequestContext<'_>) -> Flow {
        let Middleware::StripPrefix(prefixes) = self;
        let path = req.uri.path().to_string();
        for p in prefixes {
            if let Some(rest) = path.strip_prefix(p.as_str()) {
                let rest = if rest.starts_with('/') {
                    rest.to_string()
                } else {
                    format!("/{rest}")
                };
                let pq = match req.uri.query() {
                    Some(q) => format!("{rest}?{q}"),
                    None => rest,
                };
                if let Ok(uri) = pq.parse() {
                    req.uri = uri;
                }
                break;
            }
        }
        Flow::Continue
    }
    pub fn on_response(&self, _resp: &mut http::response::Parts, _ctx: &RequestContext<'_>) {}
}
