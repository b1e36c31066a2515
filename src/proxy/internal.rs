//! Services swarmgate answers itself (`demo@internal`, `ping@internal`, `noop@internal`).

use std::fmt::Write as _;

use http::{header, HeaderValue, Response, StatusCode};

use super::body::ProxyBody;
use super::service::ConnInfo;
use crate::table::InternalService;

pub fn respond(
    service: InternalService,
    req: &http::request::Parts,
    conn: &ConnInfo,
) -> Response<ProxyBody> {
    let (status, text) = match service {
        InternalService::Ping => (StatusCode::OK, "OK".to_string()),
        InternalService::Noop => (StatusCode::IM_A_TEAPOT, String::new()),
        InternalService::Demo => (StatusCode::OK, describe(req, conn)),
        // Answered by `observe` when enabled; reaching here means the feature is off.
        InternalService::Api | InternalService::Dashboard | InternalService::Prometheus => {
            (StatusCode::NOT_FOUND, "not enabled".to_string())
        }
    };
    let mut resp = Response::new(ProxyBody::full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The demo's page: where a newcomer is, where to go next (the dashboard, a file router, a
/// stack), then what swarmgate saw of the request, whoami-style.
fn describe(req: &http::request::Parts, conn: &ConnInfo) -> String {
    let mut out = String::with_capacity(1536);
    // The address the visitor used, to make the links below work as typed.
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("127.0.0.1:8080");
    let scheme = if conn.tls { "https" } else { "http" };
    let _ = writeln!(out, "swarmgate {} is running.", env!("CARGO_PKG_VERSION"));
    let _ = write!(
        out,
        "This is the built-in demo service (demo@internal). You are on swarmgate's embedded demo
configuration (config/default.toml), used when it is started without any configuration.

Next steps:
  1. The dashboard, live: {scheme}://{host}/dashboard/  (the API: {scheme}://{host}/api/rawdata)
  2. A router of your own, from a file (re-read on change; config/dynamic.example.yml has more).
     dynamic.yml, for an app on 127.0.0.1:3000:
       http:
         routers:
           hello: {{rule: \"PathPrefix(`/`)\", service: hello}}
         services:
           hello: {{loadBalancer: {{servers: [{{url: \"http://127.0.0.1:3000\"}}]}}}}
     then:
       swarmgate check --entrypoints.web.address=:8000 --providers.file.filename=dynamic.yml
       swarmgate run   --entrypoints.web.address=:8000 --providers.file.filename=dynamic.yml
  3. Docker Swarm: the services of a stack, from their traefik.* deploy labels (docker-stack.yml):
       swarmgate check --stack docker-stack.yml
       docker stack deploy -c docker-stack.yml seed
  README.md, \"First five minutes\", says more.

What swarmgate saw of your request:
"
    );
    let _ = writeln!(out, "RemoteAddr: {}", conn.peer);
    let _ = writeln!(out, "{} {} {:?}", req.method, req.uri, req.version);
    for (name, value) in &req.headers {
        let _ = writeln!(
            out,
            "{}: {}",
            name,
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(host: Option<&str>, tls: bool) -> String {
        let mut req = http::Request::get("/some/path");
        if let Some(host) = host {
            req = req.header(header::HOST, host);
        }
        let (parts, ()) = req.body(()).unwrap().into_parts();
        let addr = "127.0.0.1:1".parse().unwrap();
        let conn = ConnInfo {
            peer: addr,
            local: addr,
            tls,
            tls_options: 0,
            client_certs: None,
            negotiated: None,
        };
        describe(&parts, &conn)
    }

    #[test]
    fn the_demo_page_says_where_you_are_and_links_the_dashboard_and_the_next_steps() {
        let text = page(Some("demo.test:8080"), false);
        for want in [
            "embedded demo",
            "config/default.toml",
            "http://demo.test:8080/dashboard/",
            "--providers.file.filename=dynamic.yml",
            "swarmgate check --stack docker-stack.yml",
            "First five minutes",
            "GET /some/path",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(page(Some("x.test"), true).contains("https://x.test/dashboard/"));
        // No usable Host: the demo's own address.
        assert!(page(None, false).contains("http://127.0.0.1:8080/dashboard/"));
        assert!(page(Some("a b"), false).contains("http://127.0.0.1:8080/dashboard/"));
    }

    /// The dashboard the page links is served by the embedded demo configuration.
    #[test]
    fn the_embedded_demo_serves_the_dashboard_it_links() {
        let cfg: crate::config::StaticConfig =
            toml::from_str(include_str!("../../config/default.toml")).unwrap();
        assert!(cfg.api.as_ref().is_some_and(|a| a.dashboard));
        let dynamic = cfg.dynamic.unwrap();
        let dashboard = &dynamic.http.routers["dashboard"];
        assert_eq!(dashboard.service, "api@internal");
        assert!(dashboard.rule.contains("PathPrefix(`/dashboard`)"));
        assert!(dashboard.rule.contains("PathPrefix(`/api`)"));
    }
}
