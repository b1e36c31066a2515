//! `accessLog.filters` and `accessLog.fields` as the writer and the request path ask them:
//! built once at start from the static configuration.

use std::collections::HashMap;

use crate::config::static_config::{AccessLogConfig, AccessLogFilters, FieldMode};

/// Which requests are written and what each line holds.
#[derive(Debug, Default)]
pub struct Policy {
    filters: Option<AccessLogFilters>,
    /// Of the core fields (keep unless configured).
    field_default: Option<FieldMode>,
    fields: HashMap<&'static str, FieldMode>,
    /// Of headers (drop unless configured, as Traefik's default).
    header_default: Option<FieldMode>,
    /// By lowercase header name.
    headers: HashMap<String, FieldMode>,
    add_internals: bool,
    /// `accessLog.tcpSessions` (on unless `false`).
    tcp_sessions: bool,
    /// `accessLog.udpSessions` (on unless `false`).
    udp_sessions: bool,
}

impl Policy {
    pub fn new(cfg: &AccessLogConfig) -> Policy {
        let fields = cfg.fields.as_ref();
        let headers = fields.and_then(|f| f.headers.as_ref());
        Policy {
            filters: cfg.filters.clone(),
            field_default: fields.and_then(|f| f.default_mode),
            fields: fields
                .map(|f| {
                    f.names
                        .iter()
                        .filter_map(|(k, v)| {
                            let name = crate::config::access_log::field_name(k).ok()?;
                            Some((name, *v))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            header_default: headers.and_then(|h| h.default_mode),
            headers: headers
                .map(|h| {
                    h.names
                        .iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
                        .collect()
                })
                .unwrap_or_default(),
            add_internals: cfg.add_internals,
            tcp_sessions: cfg.tcp_sessions.unwrap_or(true),
            udp_sessions: cfg.udp_sessions.unwrap_or(true),
        }
    }

    /// Whether a request with this outcome is written (Traefik's `keepAccessLog`).
    pub fn keeps(&self, status: u16, retries: u32, took: std::time::Duration) -> bool {
        self.filters
            .as_ref()
            .is_none_or(|f| f.keeps(status, retries, took))
    }

    /// Whether sessions of `protocol` (`TCP`, `UDP`) are written (`accessLog.tcpSessions`,
    /// `accessLog.udpSessions`).
    pub fn logs_sessions(&self, protocol: &str) -> bool {
        match protocol {
            "UDP" => self.udp_sessions,
            _ => self.tcp_sessions,
        }
    }

    /// Whether requests to a service of swarmgate's own (`…@internal`) are written.
    pub fn logs_internal(&self) -> bool {
        self.add_internals
    }

    /// The mode of a core field.
    pub fn field(&self, name: &str) -> FieldMode {
        self.fields
            .get(name)
            .copied()
            .or(self.field_default)
            .unwrap_or(FieldMode::Keep)
    }

    /// The mode of a header (`name` in any case).
    pub fn header(&self, name: &str) -> FieldMode {
        let mode = if self.headers.is_empty() {
            None
        } else {
            self.headers.get(&name.to_ascii_lowercase()).copied()
        };
        mode.or(self.header_default).unwrap_or(FieldMode::Drop)
    }

    /// Whether any header may be written: only then are headers copied for the log.
    pub fn wants_headers(&self) -> bool {
        self.header_default.is_some_and(|m| m != FieldMode::Drop)
            || self.headers.values().any(|m| *m != FieldMode::Drop)
    }
}
