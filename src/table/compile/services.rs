//! The services half of `compile()`: each `http.services` entry built once, by name, into the
//! compiled kinds of `balance/service.rs` (load balancers with their endpoints from the
//! reload-surviving registries, `weighted`, `highestRandomWeight`, `failover`, `mirroring`), and
//! the active health-check targets they carry.

use std::sync::Arc;

use super::{written_name, Resolved, State};
use crate::balance::{Balancer, Endpoint, EndpointState, HealthTarget, StickyCookie};
use crate::config::dynamic::{
    FailoverConfig, LoadBalancerConfig, MirroringConfig, ServiceConfig, WeightedConfig,
};
use crate::config::DynamicConfig;
use crate::table::{
    FailoverService, InternalService, LoadBalancedService, Mirror, MirroringService, Service,
    WeightedService,
};
use crate::upstream::Target;

pub(super) fn collect_health(
    cfg: &DynamicConfig,
    name: &str,
    service: &Service,
    out: &mut Vec<HealthTarget>,
) {
    let Service::LoadBalancer(lb) = service else {
        return;
    };
    let Some(check) = cfg
        .http
        .services
        .get(name)
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.health_check.as_ref())
    else {
        return;
    };
    for endpoint in lb.balancer.endpoints() {
        out.push(HealthTarget {
            service: name.to_string(),
            url: endpoint.url.clone(),
            config: check.clone(),
            state: Arc::clone(&endpoint.state),
        });
    }
}

impl State<'_> {
    pub(super) fn service(&mut self, name: &str) -> Resolved<Service> {
        if let Some(done) = self.services.get(name) {
            return done.clone();
        }
        // Placeholder while building, so a weighted service that reaches itself is a cycle.
        self.services.insert(
            name.to_string(),
            Err("is part of a service cycle".to_string()),
        );
        let built = match (
            InternalService::by_name(name),
            self.cfg.http.services.get(name),
        ) {
            // Unless its feature is off (the internal provider lists it as invalid).
            (Some(internal), _) => match self.cfg.invalid.services.get(name) {
                Some(reason) => Err(reason.clone()),
                None => Ok(Arc::new(Service::Internal(internal))),
            },
            (None, None) => match self.cfg.invalid.services.get(name) {
                Some(reason) => Err(reason.clone()),
                None => Err("does not exist".to_string()),
            },
            (None, Some(cfg)) => self.build_service(name, cfg).map(Arc::new),
        };
        self.services.insert(name.to_string(), built.clone());
        built
    }

    fn build_service(&mut self, name: &str, cfg: &ServiceConfig) -> Result<Service, String> {
        let kinds = [
            cfg.load_balancer.is_some(),
            cfg.weighted.is_some(),
            cfg.mirroring.is_some(),
            cfg.failover.is_some(),
            cfg.highest_random_weight.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            0 => {
                return Err(
                    "a service needs a loadBalancer, weighted, mirroring, failover or \
                     highestRandomWeight"
                        .to_string(),
                )
            }
            1 => {}
            _ => return Err("a service must have exactly one kind".to_string()),
        }
        // Service middlewares are applied on a router's own service only (see `router`).
        let children: Vec<&str> = match (&cfg.weighted, &cfg.mirroring, &cfg.failover) {
            (Some(w), _, _) => w.services.iter().map(|c| c.name.as_str()).collect(),
            (_, Some(m), _) => std::iter::once(m.service.as_str())
                .chain(m.mirrors.iter().map(|c| c.name.as_str()))
                .collect(),
            (_, _, Some(f)) => vec![f.service.as_str(), f.fallback.as_str()],
            _ => cfg
                .highest_random_weight
                .iter()
                .flat_map(|h| h.services.iter().map(|c| c.name.as_str()))
                .collect(),
        };
        if let Some(child) = children.iter().find(|c| {
            self.cfg
                .http
                .services
                .get(**c)
                .is_some_and(|s| !s.middlewares.is_empty())
        }) {
            return Err(format!(
                "child service {child:?} has middlewares: Traefik 3.7 applies service middlewares \
                 inside weighted, mirroring and failover services, swarmgate does not (put them \
                 on the routers, or on the parent service)"
            ));
        }
        if let Some(lb) = &cfg.load_balancer {
            return self.load_balancer(name, lb).map(Service::LoadBalancer);
        }
        if let Some(weighted) = &cfg.weighted {
            return self.weighted(name, weighted).map(Service::Weighted);
        }
        if let Some(mirroring) = &cfg.mirroring {
            return self.mirroring(name, mirroring).map(Service::Mirroring);
        }
        if let Some(hrw) = &cfg.highest_random_weight {
            return self.hrw(name, hrw).map(Service::Hrw);
        }
        match &cfg.failover {
            Some(failover) => self.failover(name, failover).map(Service::Failover),
            None => Err("a service needs a kind".to_string()),
        }
    }

    /// Whether service `name` reports its health to a parent, as Traefik's status updaters: a
    /// load balancer with a `healthCheck`, a weighted, mirroring or failover service with
    /// `healthCheck` set; internal services never do.
    fn reports_health(&self, name: &str) -> bool {
        let Some(cfg) = self.cfg.http.services.get(name) else {
            return false;
        };
        cfg.load_balancer
            .as_ref()
            .is_some_and(|lb| lb.health_check.is_some())
            || cfg
                .weighted
                .as_ref()
                .is_some_and(|w| w.health_check.is_some())
            || cfg
                .mirroring
                .as_ref()
                .is_some_and(|m| m.health_check.is_some())
            || cfg
                .failover
                .as_ref()
                .is_some_and(|f| f.health_check.is_some())
            || cfg
                .highest_random_weight
                .as_ref()
                .is_some_and(|h| h.health_check.is_some())
    }

    /// `highestRandomWeight`: children with a positive weight (default 1); with `healthCheck`,
    /// every child must report its health (Traefik).
    fn hrw(
        &mut self,
        name: &str,
        cfg: &crate::config::dynamic::HighestRandomWeightConfig,
    ) -> Result<crate::balance::hrw_service::HrwService, String> {
        let mut children = Vec::with_capacity(cfg.services.len());
        for child in &cfg.services {
            let service = self
                .service(&child.name)
                .map_err(|e| format!("service {:?} {e}", child.name))?;
            if cfg.health_check.is_some() && !self.reports_health(&child.name) {
                return Err(format!(
                    "child service {:?} of {name:?} has no healthCheck to report its status",
                    child.name
                ));
            }
            let weight = child.weight.unwrap_or(1);
            if weight <= 0 {
                continue;
            }
            let written = written_name(&child.name, name).to_string();
            children.push((written, weight, service));
        }
        Ok(crate::balance::hrw_service::HrwService::new(
            name,
            children,
            cfg.health_check.is_some(),
        ))
    }

    /// `failover`: Traefik needs the main service to report its health (else it could never
    /// know when to fail over), and the fallback too when the failover reports its own.
    fn failover(&mut self, name: &str, cfg: &FailoverConfig) -> Result<FailoverService, String> {
        let no_health = |child: &str| {
            format!("child service {child:?} of {name:?} has no healthCheck to report its status")
        };
        let main = self
            .service(&cfg.service)
            .map_err(|e| format!("service {:?} {e}", cfg.service))?;
        // With `errors.status` the answers tell when to fall back: no health needed (Traefik).
        let on_errors = cfg.errors.as_ref().is_some_and(|e| !e.status.is_empty());
        if !on_errors && !self.reports_health(&cfg.service) {
            return Err(no_health(&cfg.service));
        }
        let fallback = self
            .service(&cfg.fallback)
            .map_err(|e| format!("fallback {:?} {e}", cfg.fallback))?;
        if cfg.health_check.is_some() && !self.reports_health(&cfg.fallback) {
            return Err(no_health(&cfg.fallback));
        }
        let errors = cfg
            .errors
            .as_ref()
            .map(crate::balance::failover_errors::FailoverErrors::compile)
            .transpose()?;
        Ok(FailoverService {
            name: name.to_string(),
            main,
            fallback,
            errors,
        })
    }

    /// `mirroring`: the main service answers, the mirrors get copies.
    fn mirroring(&mut self, name: &str, cfg: &MirroringConfig) -> Result<MirroringService, String> {
        let main = self
            .service(&cfg.service)
            .map_err(|e| format!("service {:?} {e}", cfg.service))?;
        if cfg.health_check.is_some() && !self.reports_health(&cfg.service) {
            return Err(format!(
                "service {:?} of mirroring {name:?} has no healthCheck to report its status",
                cfg.service
            ));
        }
        let mut mirrors = Vec::with_capacity(cfg.mirrors.len());
        for mirror in &cfg.mirrors {
            let percent = u64::try_from(mirror.percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| {
                    format!(
                        "mirror {:?}: percent must be between 0 and 100",
                        mirror.name
                    )
                })?;
            let service = self
                .service(&mirror.name)
                .map_err(|e| format!("mirror {:?} {e}", mirror.name))?;
            mirrors.push(Mirror {
                service,
                percent,
                count: Default::default(),
            });
        }
        Ok(MirroringService {
            name: name.to_string(),
            main,
            mirrors: mirrors.into_boxed_slice(),
            total: Default::default(),
            mirror_body: cfg.mirror_body.unwrap_or(true),
            max_body_size: cfg.max_body_size.and_then(|size| u64::try_from(size).ok()),
        })
    }

    /// `weighted`: children picked by smooth WRR (the balancer's schedule over always-up slots).
    fn weighted(&mut self, name: &str, cfg: &WeightedConfig) -> Result<WeightedService, String> {
        if cfg.services.is_empty() {
            return Err("weighted service lists no services".to_string());
        }
        let mut children = Vec::with_capacity(cfg.services.len());
        let mut slots = Vec::with_capacity(cfg.services.len());
        for child in &cfg.services {
            let service = self
                .service(&child.name)
                .map_err(|e| format!("service {:?} {e}", child.name))?;
            if cfg.health_check.is_some() && !self.reports_health(&child.name) {
                // As Traefik: with healthCheck, every child must report its health.
                return Err(format!(
                    "child service {:?} of {name:?} has no healthCheck to report its status",
                    child.name
                ));
            }
            children.push(service);
            slots.push(Endpoint {
                url: written_name(&child.name, name).to_string(),
                weight: child.weight.unwrap_or(1),
                draining: false,
                state: Arc::new(EndpointState::new()),
            });
        }
        let sticky = cfg
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| StickyCookie::new(name, cookie));
        Ok(WeightedService {
            name: name.to_string(),
            balancer: Balancer::with_cursor(slots, sticky, self.ctx.endpoints.cursor(name)),
            children: children.into_boxed_slice(),
            health_check: cfg.health_check.is_some(),
        })
    }

    fn load_balancer(
        &self,
        name: &str,
        lb: &LoadBalancerConfig,
    ) -> Result<LoadBalancedService, String> {
        if let Some(mode) = lb.health_check.as_ref().and_then(|h| h.mode.as_deref()) {
            if mode != "http" && mode != "grpc" {
                // Fail closed: a health check swarmgate cannot run never leaves a server "up".
                return Err(format!("healthCheck.mode {mode:?} is not http or grpc"));
            }
        }
        let transport_cfg = match &lb.servers_transport {
            None => self.ctx.default_transport,
            Some(t) => match self.cfg.http.servers_transports.get(t) {
                Some(found) => found,
                None if self.cfg.invalid.servers_transports.contains_key(t) => {
                    return Err(format!("serversTransport {t:?} is invalid"))
                }
                None => {
                    let names: Vec<&str> = self
                        .cfg
                        .http
                        .servers_transports
                        .keys()
                        .map(String::as_str)
                        .collect();
                    let hint = crate::config::elements::nearest(t, &names)
                        .map(|n| format!(" (did you mean {n:?}?)"))
                        .unwrap_or_default();
                    return Err(format!("serversTransport {t:?} does not exist{hint}"));
                }
            },
        };
        let transport = self
            .ctx
            .transports
            .get_or_create(transport_cfg)
            .map_err(|e| match &lb.servers_transport {
                Some(t) => format!("serversTransport {t:?}: {e}"),
                None => format!("serversTransport (static default): {e}"),
            })?;
        let mut endpoints = Vec::with_capacity(lb.servers.len());
        let mut pools = Vec::with_capacity(lb.servers.len());
        for server in &lb.servers {
            let target = Target::parse(&server.url).map_err(|e| e.to_string())?;
            let state = self.ctx.endpoints.get_or_create(name, &server.url);
            endpoints.push(Endpoint {
                url: server.url.clone(),
                weight: server.weight.unwrap_or(1),
                draining: server.draining,
                state,
            });
            pools.push(
                self.ctx
                    .pools
                    .get_or_create_for(&target, &transport, server.overlay),
            );
        }
        let sticky = lb
            .sticky
            .as_ref()
            .and_then(|s| s.cookie.as_ref())
            .map(|cookie| StickyCookie::new(name, cookie));
        let strategy = crate::balance::strategy::Strategy::parse(lb.strategy.as_deref())?;
        Ok(LoadBalancedService {
            name: name.to_string(),
            balancer: Balancer::with_cursor(endpoints, sticky, self.ctx.endpoints.cursor(name))
                .with_strategy(strategy),
            pools: pools.into_boxed_slice(),
            pass_host_header: lb.pass_host_header,
            passive: lb.passive_health_check.as_ref().map(|cfg| {
                crate::balance::passive::PassiveHealthCheck::new(
                    cfg,
                    lb.servers.len(),
                    lb.health_check.is_some(),
                )
            }),
            health_checked: lb.health_check.is_some(),
        })
    }
}
