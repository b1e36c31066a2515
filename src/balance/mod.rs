//! Load balancing: endpoints, smooth weighted round robin, health.
