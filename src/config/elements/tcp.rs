//! The `tcp:` section of a dynamic document, element by element (see the parent module): a bad
//! router is reported and left out (only it); a bad service, middleware or serversTransport is
//! reported and named in `TcpConfig::invalid`, so the routers using it are closed.

use serde_json::Value;

use super::{de, did_you_mean, Reader};
use crate::config::tcp::{
    self, TcpElement, TcpMiddlewareConfig, TcpRouterConfig, TcpServersTransportConfig,
    TcpServiceConfig, TCP_MIDDLEWARE_TYPES,
};
use crate::config::Element;

const TCP: &[&str] = &["routers", "services", "middlewares", "serversTransports"];

impl Reader<'_> {
    pub(super) fn tcp(&mut self, value: Value) {
        for (key, value) in self.named(&["tcp"], value) {
            let path = ["tcp", key.as_str()];
            let (element, kind) = match key.as_str() {
                "routers" => (Element::Router, TcpElement::Router),
                "services" => (Element::Service, TcpElement::Service),
                "middlewares" => (Element::Middleware, TcpElement::Middleware),
                "serversTransports" => (Element::ServersTransport, TcpElement::ServersTransport),
                other => {
                    let hint = did_you_mean(other, TCP);
                    self.issue(
                        Element::Source,
                        self.origin,
                        &path,
                        format!("unknown section `tcp.{other}`{hint}: not read"),
                    );
                    continue;
                }
            };
            for (name, v) in self.named(&path, value) {
                let at = ["tcp", key.as_str(), name.as_str()];
                let read = match kind {
                    TcpElement::Router => self.tcp_router(&name, v),
                    TcpElement::Service => self.tcp_service(&name, v),
                    TcpElement::Middleware => self.tcp_middleware(&name, v),
                    TcpElement::ServersTransport => self.tcp_transport(&name, v),
                };
                if let Err((path, message)) = read {
                    let key: Vec<&str> = at
                        .iter()
                        .copied()
                        .chain(path.iter().map(String::as_str))
                        .collect();
                    self.issue(element, &name, &key, message);
                    let reason = match kind {
                        TcpElement::Router => "is not served",
                        _ => "is invalid",
                    };
                    self.out
                        .config
                        .tcp
                        .invalid
                        .insert((kind, name.clone()), reason.to_string());
                }
            }
        }
    }

    fn tcp_router(&mut self, name: &str, v: Value) -> Result<(), (Vec<String>, String)> {
        let router: TcpRouterConfig = de(v)?;
        tcp::check_router(&router).map_err(|m| (vec!["rule".to_string()], m))?;
        self.out.config.tcp.routers.insert(name.to_string(), router);
        Ok(())
    }

    fn tcp_service(&mut self, name: &str, v: Value) -> Result<(), (Vec<String>, String)> {
        let service: TcpServiceConfig = de(v)?;
        tcp::check_service(&service).map_err(|m| (Vec::new(), m))?;
        self.out
            .config
            .tcp
            .services
            .insert(name.to_string(), service);
        Ok(())
    }

    fn tcp_middleware(&mut self, name: &str, v: Value) -> Result<(), (Vec<String>, String)> {
        if let Value::Object(map) = &v {
            if let Some(kind) = map
                .keys()
                .find(|k| !TCP_MIDDLEWARE_TYPES.contains(&k.as_str()))
            {
                let hint = did_you_mean(kind, TCP_MIDDLEWARE_TYPES);
                return Err((
                    vec![kind.clone()],
                    format!("unknown TCP middleware type `{kind}`{hint}"),
                ));
            }
        }
        let middleware: TcpMiddlewareConfig = de(v)?;
        tcp::check_middleware(&middleware).map_err(|m| (Vec::new(), m))?;
        self.out
            .config
            .tcp
            .middlewares
            .insert(name.to_string(), middleware);
        Ok(())
    }

    fn tcp_transport(&mut self, name: &str, v: Value) -> Result<(), (Vec<String>, String)> {
        let transport: TcpServersTransportConfig = de(v)?;
        tcp::check_transport(&transport).map_err(|m| (Vec::new(), m))?;
        self.out
            .config
            .tcp
            .servers_transports
            .insert(name.to_string(), transport);
        Ok(())
    }
}
