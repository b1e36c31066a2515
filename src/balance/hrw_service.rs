//! Traefik 3.7's `highestRandomWeight` service kind: each client IP sticks to one child service,
//! the one with the highest `weight / -ln(FNV-1a-64(client IP + child name) / 2^64)` (Traefik's
//! `hrw` balancer, the same score as `loadBalancer.strategy: hrw` over servers, here over the
//! children's names as written), so a client lands on the same child behind swarmgate as behind
//! Traefik. With `healthCheck: {}` children that are down are skipped and the service reports
//! itself down when all are.

use std::net::IpAddr;
use std::sync::Arc;

use super::service::Service;
use crate::balance::strategy::{hrw_key, hrw_score};

/// A compiled `highestRandomWeight` service.
#[derive(Debug)]
pub struct HrwService {
    pub name: String,
    /// Children with a positive weight, in the order written.
    pub children: Box<[Arc<Service>]>,
    /// The child's name as written (what is hashed) and its weight, by child index.
    keys: Box<[(String, u32)]>,
    pub health_check: bool,
}

impl HrwService {
    /// `children`: (name as written, weight > 0, service).
    pub fn new(name: &str, children: Vec<(String, i64, Arc<Service>)>, health_check: bool) -> Self {
        let mut keys = Vec::with_capacity(children.len());
        let mut services = Vec::with_capacity(children.len());
        for (child, weight, service) in children {
            keys.push((child, u32::try_from(weight).unwrap_or(u32::MAX)));
            services.push(service);
        }
        HrwService {
            name: name.to_string(),
            children: services.into_boxed_slice(),
            keys: keys.into_boxed_slice(),
            health_check,
        }
    }

    /// The child for a client (`None`: no client address, hashed as an empty key); `None` when no
    /// child is left (none with a positive weight, or all down with `healthCheck`).
    pub fn pick(&self, client: Option<IpAddr>) -> Option<&Service> {
        self.pick_index(client)
            .and_then(|i| self.children.get(i).map(|c| &**c))
    }

    fn pick_index(&self, client: Option<IpAddr>) -> Option<usize> {
        let key = client.map(hrw_key).unwrap_or_default();
        let mut best: Option<(usize, f64)> = None;
        for (i, (name, weight)) in self.keys.iter().enumerate() {
            if self.health_check && !self.children.get(i).is_some_and(|c| c.is_up()) {
                continue;
            }
            let score = hrw_score(&key, name, *weight);
            // Traefik keeps the first strictly higher score.
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(children: &[(&str, i64)]) -> HrwService {
        let children = children
            .iter()
            .map(|(n, w)| {
                (
                    (*n).to_string(),
                    *w,
                    Arc::new(Service::Closed((*n).to_string())),
                )
            })
            .collect();
        HrwService::new("hrw", children, false)
    }

    /// The pick is Traefik's: the highest score by the same formula, stable per client.
    #[test]
    fn the_child_with_the_highest_score_for_the_client_ip() {
        let hrw = service(&[("a", 1), ("b", 1), ("c", 1)]);
        for ip in ["10.0.0.1", "10.0.0.2", "192.168.1.7", "::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let picked = hrw.pick_index(Some(ip)).unwrap();
            let key = hrw_key(ip);
            let best = ["a", "b", "c"]
                .iter()
                .enumerate()
                .max_by(|x, y| hrw_score(&key, x.1, 1).total_cmp(&hrw_score(&key, y.1, 1)))
                .unwrap()
                .0;
            assert_eq!(picked, best, "{ip}");
            assert_eq!(hrw.pick_index(Some(ip)), Some(picked), "stable for {ip}");
        }
    }

    /// Over many clients the share follows the weights (Traefik's hrw_test checks 3:1 the same way).
    #[test]
    fn weights_share_the_clients() {
        let hrw = service(&[("first", 3), ("second", 1)]);
        let mut counts = [0u32; 2];
        for i in 0..4000u32 {
            let ip = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
            counts[hrw.pick_index(Some(ip)).unwrap()] += 1;
        }
        let share = f64::from(counts[0]) / 4000.0;
        assert!((0.70..0.80).contains(&share), "{counts:?}");
    }

    #[test]
    fn no_child_no_pick() {
        assert!(service(&[])
            .pick(Some(IpAddr::from([1, 2, 3, 4])))
            .is_none());
    }
}
