//! `ipAllowList`: only clients whose IP (by `ipStrategy`) is in `sourceRange` pass; the others get
//! 403 Forbidden (or `rejectStatusCode`). An empty or invalid range list is a compile error.
//! Never allocates on an allowed request.

use http::StatusCode;
use ipnet::IpNet;

use super::config::IpAllowListConfig;
use super::error::MiddlewareError;
use super::ip_strategy::{range, IpStrategy};
use super::response::respond;
use super::{Flow, RequestContext};

const M: &str = "ipAllowList";

/// Compiled `ipAllowList`.
#[derive(Debug)]
pub struct IpAllowList {
    ranges: Vec<IpNet>,
    strategy: IpStrategy,
    reject: StatusCode,
}

impl IpAllowList {
    pub fn compile(cfg: &IpAllowListConfig) -> Result<Self, MiddlewareError> {
        if cfg.source_range.is_empty() {
            return Err(MiddlewareError::Missing {
                middleware: M,
                option: "sourceRange",
            });
        }
        let ranges = cfg
            .source_range
            .iter()
            .map(|entry| range(M, "sourceRange", entry))
            .collect::<Result<_, _>>()?;
        // As Traefik (Go's `http.StatusText`): 0 means the default, any other code must be a
        // known status. 1xx are refused too: they cannot end an exchange (Traefik's client sees
        // a 200 for `rejectStatusCode: 100`).
        let reject = match cfg.reject_status_code {
            None | Some(0) => StatusCode::FORBIDDEN,
            Some(code) => StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.as_u16() >= 200 && s.canonical_reason().is_some())
                .ok_or_else(|| {
                    MiddlewareError::invalid(
                        M,
                        "rejectStatusCode",
                        code,
                        "not a known HTTP status from 200 to 599",
                    )
                })?,
        };
        Ok(IpAllowList {
            ranges,
            strategy: IpStrategy::compile(cfg.ip_strategy.as_ref(), M)?,
            reject,
        })
    }

    pub(crate) fn on_request(
        &self,
        req: &mut http::request::Parts,
        ctx: &RequestContext<'_>,
    ) -> Flow {
        let allowed = self
            .strategy
            .client_ip(&req.headers, ctx)
            .is_some_and(|ip| self.ranges.iter().any(|n| n.contains(&ip)));
        if allowed {
            Flow::Continue
        } else {
            Flow::Respond(respond(self.reject, []))
        }
    }
}
