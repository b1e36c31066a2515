//! HTTP hooks that run around routing on one entrypoint, as Traefik's synthetic routers do:
//! ACME HTTP-01 answers (`/.well-known/acme-challenge/<token>`, before any routing or
//! redirect) and the entrypoint redirection (`http.redirections.entryPoint`), a catch-all router
//! of priority `MaxInt - 1` (unless configured) on the plain side of the entrypoint: it wins over
//! every matching route of lower or equal priority. Lock-free: challenges sit behind `ArcSwap`.

use std::sync::Arc;

use http::{header, HeaderValue, Request, Response};

use super::conn::ConnInfo;
use crate::body::ProxyBody;
use crate::config::middleware::RedirectSchemeConfig;
use crate::config::static_config::{EntryPointConfig, EntryPointRedirectConfig, StaticConfig};
use crate::middleware::{Flow, MiddlewareError, RedirectScheme, RequestContext};
use crate::tls::challenges::HttpChallenges;

/// The entrypoint redirection, compiled.
#[derive(Debug)]
pub struct Redirect {
    scheme: RedirectScheme,
    priority: i64,
}

impl Redirect {
    /// `cfg.to` is an entrypoint name (its configured port is used) or a port (`:443`, `443`).
    pub fn compile(
        cfg: &EntryPointRedirectConfig,
        entry_points: &std::collections::BTreeMap<String, EntryPointConfig>,
    ) -> Result<Redirect, MiddlewareError> {
        let port = match entry_points.get(&cfg.to) {
            Some(ep) => port_of(&ep.address),
            None => {
                let port = cfg.to.trim_start_matches(':');
                // Neither an entrypoint nor a port: a misspelled or missing entrypoint (Traefik:
                // "'to' entry point field references a non-existing entry point").
                if port.parse::<u16>().is_err() {
                    return Err(MiddlewareError::Invalid {
                        middleware: "redirections.entryPoint",
                        option: "to",
                        value: cfg.to.clone(),
                        reason: "no entrypoint has this name, and it is not a port",
                    });
                }
                port.to_string()
            }
        };
        let scheme = RedirectScheme::compile(&RedirectSchemeConfig {
            scheme: Some(cfg.scheme.clone()),
            port: Some(port),
            permanent: cfg.permanent,
        })?;
        Ok(Redirect {
            scheme,
            priority: cfg.priority.unwrap_or(i64::MAX - 1),
        })
    }
}

/// `:443`, `0.0.0.0:443`, `[::]:443/tcp` → `443`.
fn port_of(address: &str) -> String {
    let address = address.split('/').next().unwrap_or(address);
    address
        .rsplit_once(':')
        .map_or(address, |(_, port)| port)
        .to_string()
}

/// Everything one entrypoint does around routing.
#[derive(Debug, Default)]
pub struct EdgeHooks {
    pub challenges: Option<Arc<HttpChallenges>>,
    pub redirect: Option<Redirect>,
}

impl EdgeHooks {
    /// The hooks of entrypoint `name`; `None` when it has none.
    pub fn for_entrypoint(
        cfg: &StaticConfig,
        name: &str,
        challenges: Option<&Arc<HttpChallenges>>,
    ) -> Result<Option<Arc<EdgeHooks>>, MiddlewareError> {
        let redirect = cfg
            .entry_points
            .get(name)
            .and_then(|ep| ep.http.as_ref())
            .and_then(|http| http.redirections.as_ref())
            .and_then(|r| r.entry_point.as_ref())
            .map(|r| Redirect::compile(r, &cfg.entry_points))
            .transpose()?;
        if redirect.is_none() && challenges.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(EdgeHooks {
            challenges: challenges.cloned(),
            redirect,
        })))
    }

    /// Answers an ACME HTTP-01 challenge; runs before routing.
    pub fn before_routing<B>(&self, req: &Request<B>) -> Option<Response<ProxyBody>> {
        let answer = self.challenges.as_ref()?.answer(req.uri().path())?;
        let mut resp = Response::new(ProxyBody::full(answer));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Some(resp)
    }

    /// The redirect, when the redirection router outranks the matched route (priority `matched`).
    pub fn redirect<B>(
        &self,
        req: &Request<B>,
        matched: Option<i64>,
        conn: &ConnInfo,
        entrypoint: &str,
    ) -> Option<Response<ProxyBody>> {
        let redirect = self.redirect.as_ref()?;
        if conn.tls || matched.is_some_and(|p| p > redirect.priority) {
            return None;
        }
        let mut parts = Request::new(()).into_parts().0;
        parts.method = req.method().clone();
        parts.uri = req.uri().clone();
        parts.headers = req.headers().clone();
        // Before routing nothing has checked who sent `X-Forwarded-Proto`: the entrypoint
        // redirection goes by the connection alone.
        parts.headers.remove("x-forwarded-proto");
        let ctx = RequestContext {
            client_addr: conn.peer,
            tls: false,
            conn_tls: conn.tls,
            entrypoint,
            client_certs: None,
        };
        match redirect.scheme.on_request(&mut parts, &ctx) {
            Flow::Respond(resp) => {
                let (head, bytes) = resp.into_parts();
                Some(Response::from_parts(head, ProxyBody::full(bytes)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;
    use std::collections::HashMap;

    fn conn(tls: bool) -> ConnInfo {
        let addr = "127.0.0.1:1".parse().unwrap();
        ConnInfo {
            peer: addr,
            local: addr,
            tls,
            tls_options: 0,
            client_certs: None,
            negotiated: None,
        }
    }

    fn hooks(static_toml: &str) -> Arc<EdgeHooks> {
        let cfg: StaticConfig = toml::from_str(static_toml).unwrap();
        EdgeHooks::for_entrypoint(&cfg, "web", Some(&Arc::default()))
            .unwrap()
            .unwrap()
    }

    const REDIRECTING: &str = "[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.http.redirections.entryPoint]\nto = \"websecure\"\n[entryPoints.websecure]\naddress = \":8443\"\n";

    #[test]
    fn redirect_targets_the_entrypoint_port_and_yields_to_higher_priorities() {
        let hooks = hooks(REDIRECTING);
        let req = Request::get("/a?b=1")
            .header("host", "example.com")
            .body(())
            .unwrap();
        let cases: [(Option<i64>, bool, Option<&str>); 4] = [
            (None, false, Some("https://example.com:8443/a?b=1")),
            (Some(1000), false, Some("https://example.com:8443/a?b=1")),
            (Some(i64::MAX), false, None),
            (None, true, None),
        ];
        for (matched, tls, expected) in cases {
            let got = hooks.redirect(&req, matched, &conn(tls), "web");
            let location = got.as_ref().map(|r| {
                assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
                r.headers()[header::LOCATION].to_str().unwrap().to_string()
            });
            assert_eq!(location.as_deref(), expected, "{matched:?} tls={tls}");
        }
    }

    /// The redirection runs before anything checked who sent `X-Forwarded-Proto`: a client's
    /// `https` (or `wss`) must not talk its way past it.
    #[test]
    fn a_client_forwarded_proto_does_not_skip_the_redirection() {
        let hooks = hooks(&REDIRECTING.replace(":8443", ":443"));
        for proto in ["https", "wss"] {
            let req = Request::get("/")
                .header("host", "example.com")
                .header("x-forwarded-proto", proto)
                .body(())
                .unwrap();
            assert!(
                hooks.redirect(&req, None, &conn(false), "web").is_some(),
                "{proto}"
            );
        }
    }

    #[test]
    fn challenge_answers_only_pending_tokens() {
        let hooks = hooks(REDIRECTING);
        let challenges = hooks.challenges.as_ref().unwrap();
        challenges.insert("tok", "tok.thumb");
        let get = |path: &str| Request::get(path).body(()).unwrap();
        assert!(hooks
            .before_routing(&get("/.well-known/acme-challenge/tok"))
            .is_some());
        assert!(hooks
            .before_routing(&get("/.well-known/acme-challenge/other"))
            .is_none());
        assert!(hooks.before_routing(&get("/tok")).is_none());
        challenges.remove("tok");
        assert!(hooks
            .before_routing(&get("/.well-known/acme-challenge/tok"))
            .is_none());
        // Another replica's token, read from the shared store.
        challenges.set_shared(HashMap::from([(
            "peer".to_string(),
            "peer.thumb".to_string(),
        )]));
        assert!(hooks
            .before_routing(&get("/.well-known/acme-challenge/peer"))
            .is_some());
        challenges.set_shared(HashMap::new());
        assert!(hooks
            .before_routing(&get("/.well-known/acme-challenge/peer"))
            .is_none());
    }

    #[test]
    fn port_of_reads_every_address_form() {
        for (address, port) in [
            (":443", "443"),
            ("0.0.0.0:8443", "8443"),
            ("[::]:443/tcp", "443"),
        ] {
            assert_eq!(port_of(address), port);
        }
    }
}
