//! Admin: what swarmgate answers about itself, off the path of proxied traffic.
//!
//! - `api`: the admin API (Traefik's `api`, `/api/...`) and the dashboard page (`dashboard/`),
//!   answered for `api@internal` and `dashboard@internal`;
//! - `internal`: the `internal` provider, the routers Traefik creates itself for `api.insecure`,
//!   `ping` and `metrics.prometheus`.
//!
//! Admin reads everything (configuration, routing table, issues) and is read by nothing but the
//! wiring (`app.rs`). The request path reaches the API through `observe::AdminApi`, which
//! [`api::ApiState`] implements, so `observe/` and `proxy/` never name `admin/`. The Prometheus
//! text (`observe::metrics::render`) stays beside the counters it reads.

pub mod api;
pub mod internal;

use http::Response;

use crate::body::ProxyBody;
use crate::config::DynamicConfig;
use crate::observe::AdminApi;

impl AdminApi for api::ApiState {
    fn respond(&self, req: &http::request::Parts, tls: bool) -> Response<ProxyBody> {
        api::ApiState::respond(self, req, tls)
    }

    fn respond_json(&self, value: serde_json::Value) -> Response<ProxyBody> {
        api::ApiState::respond_json(self, value)
    }

    fn set_config(&self, merged: &DynamicConfig) {
        api::ApiState::set_config(self, merged)
    }

    fn watch_traffic(&self, live: std::sync::Arc<crate::observe::series::live::Live>) {
        api::ApiState::watch_traffic(self, live)
    }
}
