//! Swarm provider (in progress).
