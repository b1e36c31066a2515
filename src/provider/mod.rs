//! Providers: each produces a `DynamicConfig` and publishes it on its own `watch` channel; no provider
//! knows another. The app merges the latest snapshot of every provider (`config::merge`), compiles and swaps.
//!
//! A provider that cannot read its source (file unparsable, Docker unreachable) publishes nothing new,
//! so the last good configuration stays in force.

pub mod file;
pub mod labels;
pub mod swarm;

use crate::config::{ConfigIssue, DynamicConfig};

/// What one provider currently says. `issues` are problems the provider found in its source
/// (bad labels, unparsable file); elements with issues are already left out of `config`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSnapshot {
    pub config: DynamicConfig,
    pub issues: Vec<ConfigIssue>,
}

/// Where a provider publishes its snapshots.
pub type SnapshotTx = tokio::sync::watch::Sender<ProviderSnapshot>;
pub type SnapshotRx = tokio::sync::watch::Receiver<ProviderSnapshot>;
