//! Binding the entrypoints `app::start` opens: TCP (HTTP/1, HTTP/2, TLS, TCP routers), the QUIC side
//! of a TLS entrypoint with `http3`, and UDP entrypoints; and the per-entrypoint options they are
//! bound with (forwarded headers, timeouts, limits, PROXY protocol). Moved out of `app.rs` as is.

use super::*;

/// Configures and binds one entrypoint; an error is the issue that names it.
pub(super) async fn bind_entrypoint(
    cfg: &Arc<StaticConfig>,
    tls: &Arc<crate::tls::Tls>,
    table: &Arc<ArcSwap<RoutingTable>>,
    observer: &Arc<Observer>,
    index: usize,
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
) -> Result<EntryPoint, ConfigIssue> {
    let issue = |key: &str, message: String| {
        ConfigIssue::new(crate::config::Element::EntryPoint, name, message).with_key(key)
    };
    if let Some(found) = static_entrypoint_issue(name, ep) {
        return Err(found);
    }
    let forwarded = forwarded_policy(ep.forwarded_headers.as_ref()).map_err(|e| {
        issue(
            "forwardedHeaders.trustedIPs",
            format!("{e:#}; entrypoint not started"),
        )
    })?;
    let edge = crate::proxy::EdgeHooks::for_entrypoint(
        cfg,
        name,
        tls.has_acme().then_some(&tls.challenges),
    )
    .map_err(|e| issue("http.redirections", format!("{e}; entrypoint not started")))?;
    let proxy = Proxy::new(Arc::clone(table), index, name, forwarded)
        .with_observer(Arc::clone(observer))
        .with_edge(edge)
        .with_path_policy(path_policy(ep));
    let bound = EntryPoint::bind(&ep.address, Arc::new(proxy), entrypoint_options(ep))
        .await
        .map_err(|e| {
            issue(
                "address",
                format!(
                    "cannot listen on {:?}: {e}; entrypoint not started",
                    ep.address
                ),
            )
        })?;
    Ok(bound.with_tls(tls.acceptor(index)))
}

/// `http3`: binds the QUIC listener on the UDP side of the entrypoint's address (`addr`, where
/// its TCP listener is bound) and has the entrypoint announce it (`Alt-Svc`, with
/// `advertisedPort` when set). Without `http3`, nothing; when the UDP port cannot be bound, the
/// issue, and the entrypoint serves TCP without announcing HTTP/3.
pub(super) fn bind_http3(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
    bound: EntryPoint,
    addr: std::net::SocketAddr,
    tls: crate::tls::Acceptor,
) -> (
    EntryPoint,
    Result<Option<crate::proxy::h3::H3EntryPoint>, ConfigIssue>,
) {
    let Some(http3) = &ep.http3 else {
        return (bound, Ok(None));
    };
    let options = crate::proxy::h3::H3Options::from_entrypoint(bound.options());
    let proxy = Arc::clone(bound.proxy());
    match crate::proxy::h3::H3EntryPoint::bind(addr, proxy, tls, options, bound.gate()) {
        Ok(h3) => {
            let port = http3
                .advertised_port
                .filter(|p| *p > 0)
                .or_else(|| h3.local_addr().ok().map(|a| a.port()))
                .unwrap_or(addr.port());
            tracing::info!(entrypoint = %name, address = %addr, advertised = port, "listening (HTTP/3, UDP)");
            (bound.with_alt_svc(port), Ok(Some(h3)))
        }
        Err(e) => {
            let issue = ConfigIssue::new(
                crate::config::Element::EntryPoint,
                name,
                format!("http3: cannot listen on UDP {addr}: {e}; HTTP/3 not served"),
            )
            .with_key("http3");
            (bound, Err(issue))
        }
    }
}

/// The UDP routing of `merged` for the static configuration's `/udp` entrypoints.
pub(super) fn compile_udp(
    cfg: &StaticConfig,
    merged: &DynamicConfig,
    previous: &crate::proxy::udp::UdpTable,
) -> (crate::proxy::udp::UdpTable, Vec<ConfigIssue>) {
    let all: Vec<String> = cfg.entry_points.keys().cloned().collect();
    let udp: Vec<String> = cfg
        .entry_points
        .iter()
        .filter(|(_, ep)| ep.is_udp())
        .map(|(name, _)| name.clone())
        .collect();
    crate::proxy::udp::compile(merged, &udp, &all, previous)
}

/// Binds one `/udp` entrypoint; an error is the issue that names it.
pub(super) async fn bind_udp_entrypoint(
    name: &str,
    ep: &crate::config::static_config::EntryPointConfig,
    table: &Arc<ArcSwap<crate::proxy::udp::UdpTable>>,
) -> Result<crate::proxy::udp::UdpEntryPoint, ConfigIssue> {
    if let Some(found) = static_entrypoint_issue(name, ep) {
        return Err(found);
    }
    let options = crate::proxy::udp::UdpOptions {
        timeout: ep
            .udp_timeout()
            .unwrap_or(crate::config::static_config::DEFAULT_UDP_TIMEOUT),
        // `transport.maxConnections` (a swarmgate extension) caps sessions on a UDP entrypoint.
        max_sessions: ep
            .transport
            .as_ref()
            .and_then(|t| t.max_connections)
            .filter(|n| *n > 0)
            .unwrap_or(crate::proxy::udp::DEFAULT_MAX_SESSIONS),
        grace: ep
            .transport
            .as_ref()
            .and_then(|t| t.life_cycle.as_ref())
            .and_then(|l| l.grace_time_out)
            .map_or(crate::proxy::udp::DEFAULT_GRACE, |g| g.0),
    };
    crate::proxy::udp::UdpEntryPoint::bind(&ep.address, name, Arc::clone(table), options)
        .await
        .map_err(|e| {
            ConfigIssue::new(
                crate::config::Element::EntryPoint,
                name,
                format!(
                    "cannot listen on {:?}: {e}; entrypoint not started",
                    ep.address
                ),
            )
            .with_key("address")
        })
}

pub(super) fn forwarded_policy(
    cfg: Option<&crate::config::static_config::ForwardedHeadersConfig>,
) -> anyhow::Result<ForwardedPolicy> {
    let Some(cfg) = cfg else {
        return Ok(ForwardedPolicy::default());
    };
    let trusted = cfg
        .trusted_ips
        .iter()
        .map(|r| {
            r.net()
                .with_context(|| format!("invalid IP or CIDR {:?}", r.as_str()))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ForwardedPolicy {
        insecure: cfg.insecure,
        trusted,
    })
}

pub(super) fn entrypoint_options(
    ep: &crate::config::static_config::EntryPointConfig,
) -> EntryPointOptions {
    let mut options = EntryPointOptions {
        reuse_port: ep.reuse_port,
        ..EntryPointOptions::default()
    };
    if let Some(transport) = &ep.transport {
        if let Some(t) = transport.header_read_timeout {
            options.header_read_timeout = t.0;
        } else if let Some(t) = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.read_timeout)
        {
            if !t.0.is_zero() {
                options.header_read_timeout = t.0;
            }
        }
        if let Some(life) = &transport.life_cycle {
            if let Some(grace) = life.grace_time_out {
                options.grace = grace.0;
            }
            if let Some(accept) = life.request_accept_grace_timeout {
                options.accept_grace = accept.0;
            }
        }
        if let Some(max) = transport.max_header_bytes {
            options.max_header_bytes = max;
        }
        if let Some(idle) = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.idle_timeout)
        {
            options.idle_timeout = Some(idle.0); // 0 disables, as in Traefik
        }
        options.write_timeout = transport
            .responding_timeouts
            .as_ref()
            .and_then(|r| r.write_timeout)
            .map(|t| t.0)
            .filter(|t| !t.is_zero());
        options.max_connections = transport.max_connections;
    }
    options.proxy_protocol = ep
        .proxy_protocol
        .as_ref()
        .map(|cfg| Arc::new(crate::proxy::proxy_protocol::ProxyProtocolPolicy::from_config(cfg)));
    if let Some(streams) = ep.http2.as_ref().and_then(|h| h.max_concurrent_streams) {
        options.h2_max_concurrent_streams = streams;
    }
    options
}
