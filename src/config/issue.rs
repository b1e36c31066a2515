//! `ConfigIssue`: one problem found in configuration, with where it came from.
//!
//! Issues are collected, never thrown: a bad router is left out and reported while the rest compiles.
//! They are logged, printed by `swarmgate check` and listed by the admin API.

use std::fmt;

use serde::Serialize;

/// What kind of configuration element an issue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Element {
    Router,
    Service,
    Middleware,
    ServersTransport,
    Tls,
    EntryPoint,
    Provider,
    /// A whole file or label set that could not be read.
    Source,
    Static,
    /// `udp.routers.<name>` (a name of its own: an HTTP router may have the same one).
    UdpRouter,
    /// `udp.services.<name>`.
    UdpService,
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Element::Router => "router",
            Element::Service => "service",
            Element::Middleware => "middleware",
            Element::ServersTransport => "serversTransport",
            Element::Tls => "tls",
            Element::EntryPoint => "entrypoint",
            Element::Provider => "provider",
            Element::Source => "source",
            Element::Static => "static",
            Element::UdpRouter => "UDP router",
            Element::UdpService => "UDP service",
        })
    }
}

/// One configuration problem. `name` is the element's (qualified) name; `key` is the label or
/// config key that caused it when known; `origin` says where it came from (a file path, a Swarm
/// service name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub element: Element,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub message: String,
    /// A warning: reported like an error, but nothing was disabled for it (a user that can never
    /// authenticate, a file of a directory that is not a dynamic configuration).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl ConfigIssue {
    pub fn new(element: Element, name: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            element,
            name: name.into(),
            key: None,
            origin: None,
            message: message.into(),
            warning: false,
        }
    }

    /// The same issue as a warning.
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// An issue about a TCP element (its key names a `tcp.` path or a `traefik.tcp.` label): TCP
    /// routers, services and middlewares have names of their own, so an HTTP element with the same
    /// name must not show it.
    pub fn is_tcp(&self) -> bool {
        self.key
            .as_deref()
            .is_some_and(|k| k.starts_with("tcp.") || k.starts_with("traefik.tcp."))
    }

    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.warning {
            f.write_str("warning: ")?;
        }
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        write!(f, "{} {:?}", self.element, self.name)?;
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        write!(f, ": {}", self.message)
    }
}
