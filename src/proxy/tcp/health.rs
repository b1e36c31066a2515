//! Active health checks of TCP servers (`loadBalancer.healthCheck`, Traefik 3.4+): every
//! `interval` (default 30s; `unhealthyInterval` while down) each server is dialled (on `port`
//! when set) within `timeout` (default 5s); with `send`, those bytes are written, and with
//! `expect`, the answer must start with those bytes. A failing server leaves the rotation until a
//! probe passes. One task per server, holding only a weak reference: it ends when a reload
//! replaces its service.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::balance::TcpService;
use super::table::TcpTable;
use crate::config::tcp::TcpHealthCheckConfig;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the probes of every service of `table` that has a `healthCheck`.
pub fn spawn_checks(table: &TcpTable) {
    for service in &table.services {
        let TcpService::Servers(balancer) = &**service else {
            continue;
        };
        if balancer.health.is_none() {
            continue;
        }
        for index in 0..balancer.servers.len() {
            tokio::spawn(probe_loop(Arc::downgrade(service), index));
        }
    }
}

async fn probe_loop(service: Weak<TcpService>, index: usize) {
    loop {
        let (address, hc) = {
            let Some(service) = service.upgrade() else {
                return;
            };
            let TcpService::Servers(b) = &*service else {
                return;
            };
            let (Some(server), Some(hc)) = (b.servers.get(index), b.health.clone()) else {
                return;
            };
            (server.address.clone(), hc)
        };
        let ok = probe(&address, &hc).await;
        let Some(service) = service.upgrade() else {
            return;
        };
        let TcpService::Servers(b) = &*service else {
            return;
        };
        let Some(server) = b.servers.get(index) else {
            return;
        };
        if server.healthy.swap(ok, Ordering::Relaxed) != ok {
            tracing::info!(service = %b.name, endpoint = %address, healthy = ok, "TCP health check");
        }
        drop(service);
        let every = match ok {
            true => hc.interval.map_or(DEFAULT_INTERVAL, |d| d.0),
            false => hc
                .unhealthy_interval
                .or(hc.interval)
                .map_or(DEFAULT_INTERVAL, |d| d.0),
        };
        tokio::time::sleep(every.max(Duration::from_millis(10))).await;
    }
}

/// One probe: dial (on `port` when set), then `send` / `expect`.
pub async fn probe(address: &str, hc: &TcpHealthCheckConfig) -> bool {
    let target = match hc.port {
        Some(port) => match address.rsplit_once(':') {
            Some((host, _)) => format!("{host}:{port}"),
            None => return false,
        },
        None => address.to_string(),
    };
    let timeout = hc.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
    let check = async {
        let mut stream = TcpStream::connect(target.as_str()).await.ok()?;
        if let Some(send) = &hc.send {
            stream.write_all(send.as_bytes()).await.ok()?;
        }
        if let Some(expect) = &hc.expect {
            let mut got = vec![0u8; expect.len()];
            stream.read_exact(&mut got).await.ok()?;
            if got != expect.as_bytes() {
                return None;
            }
        }
        Some(())
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(())))
}

#[cfg(test)]
mod tests;
