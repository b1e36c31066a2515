//! TEMPORARY stub of the balancer (replaced by the balance branch).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::dynamic::{HealthCheckConfig, StickyCookieConfig};

#[derive(Debug, Default)]
pub struct EndpointState {
    down: AtomicBool,
}
impl EndpointState {
    pub fn is_available(&self, _now: Instant) -> bool {
        !self.down.load(Ordering::Relaxed)
    }
    pub fn report_failure(&self, _now: Instant) {
        self.down.store(true, Ordering::Relaxed)
    }
    pub fn report_success(&self) {}
    pub fn start_request(&self) -> InflightGuard {
        InflightGuard
    }
}
pub struct InflightGuard;

#[derive(Default)]
pub struct EndpointRegistry {
    map: Mutex<std::collections::HashMap<(String, String), Arc<EndpointState>>>,
}
impl EndpointRegistry {
    pub fn get_or_create(&self, service: &str, url: &str) -> Arc<EndpointState> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.entry((service.into(), url.into())).or_default().clone()
    }
}

#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    pub weight: u32,
    pub draining: bool,
    pub state: Arc<EndpointState>,
}
impl Endpoint {
    pub fn new(url: String, weight: u32, draining: bool, state: Arc<EndpointState>) -> Self {
        Endpoint {
            url,
            weight,
            draining,
            state,
        }
    }
}

#[derive(Debug)]
pub struct StickyCookie;
impl StickyCookie {
    pub fn new(_c: &StickyCookieConfig) -> Self {
        StickyCookie
    }
}

#[derive(Debug)]
pub struct Balancer {
    eps: Vec<Endpoint>,
    cur: AtomicUsize,
}
impl Balancer {
    pub fn new(eps: Vec<Endpoint>, _s: Option<StickyCookie>) -> Self {
        Balancer {
            eps,
            cur: AtomicUsize::new(0),
        }
    }
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.eps
    }
    pub fn pick(&self, now: Instant, exclude: &[usize]) -> Option<usize> {
        for _ in 0..self.eps.len() {
            let i = self.cur.fetch_add(1, Ordering::Relaxed) % self.eps.len();
            let e = &self.eps[i];
            if !e.draining && e.state.is_available(now) && !exclude.contains(&i) {
                return Some(i);
            }
        }
        None
    }
}

pub struct HealthTarget {
    pub service: String,
    pub url: String,
    pub config: HealthCheckConfig,
    pub state: Arc<EndpointState>,
}
impl std::fmt::Debug for HealthTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}
#[derive(Default)]
pub struct HealthChecker;
impl HealthChecker {
    pub fn new() -> Self {
        HealthChecker
    }
    pub fn sync(&mut self, _t: Vec<HealthTarget>) {}
}
