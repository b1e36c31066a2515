//! TCP middlewares: `ipAllowList` (a connection from elsewhere is closed at once) and
//! `inFlightConn` (at most `amount` open connections per client IP; more are closed).
#![allow(clippy::disallowed_types)] // std Mutex: inFlightConn's per-IP counts, touched once when a connection opens and once when it ends, never per byte

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

use crate::config::tcp::TcpMiddlewareConfig;

pub enum TcpMiddleware {
    AllowList(Vec<IpNet>),
    InFlight {
        amount: u32,
        open: Arc<Mutex<HashMap<IpAddr, u32>>>,
    },
}

/// A connection a middleware turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("client IP not in ipAllowList.sourceRange")]
    NotAllowed,
    #[error("inFlightConn: too many connections from this client IP")]
    TooMany,
}

/// Held while a connection counted by `inFlightConn` is open.
pub struct InFlightGuard {
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
    ip: IpAddr,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl TcpMiddleware {
    pub fn build(cfg: &TcpMiddlewareConfig) -> Result<TcpMiddleware, String> {
        crate::config::tcp::check_middleware(cfg)?;
        Ok(match cfg {
            TcpMiddlewareConfig::IpAllowList(l) | TcpMiddlewareConfig::IpWhiteList(l) => {
                TcpMiddleware::AllowList(
                    l.source_range
                        .iter()
                        .filter_map(|r| crate::config::net::parse_net(r))
                        .collect(),
                )
            }
            TcpMiddlewareConfig::InFlightConn(c) => TcpMiddleware::InFlight {
                amount: u32::try_from(c.amount).unwrap_or(u32::MAX),
                open: Arc::default(),
            },
        })
    }

    /// `Err`: the connection is refused. `Ok(Some(guard))`: counted until the guard drops.
    pub fn admit(&self, client: IpAddr) -> Result<Option<InFlightGuard>, Refused> {
        let ip = canonical(client);
        match self {
            TcpMiddleware::AllowList(nets) => match nets.iter().any(|n| n.contains(&ip)) {
                true => Ok(None),
                false => Err(Refused::NotAllowed),
            },
            TcpMiddleware::InFlight { amount, open } => {
                let Ok(mut counts) = open.lock() else {
                    return Err(Refused::TooMany);
                };
                let n = counts.entry(ip).or_insert(0);
                if *n >= *amount {
                    return Err(Refused::TooMany);
                }
                *n += 1;
                Ok(Some(InFlightGuard {
                    open: Arc::clone(open),
                    ip,
                }))
            }
        }
    }
}
