//! Pending ACME HTTP-01 challenges (token → key authorization), shared by every entrypoint and
//! answered by `proxy::edge` before any routing. Lock-free: both maps sit behind `ArcSwap`.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Pending HTTP-01 challenges: token → key authorization. Shared by every entrypoint. Holds
/// this replica's own orders and, with the Swarm store, every replica's (`set_shared`).
#[derive(Debug, Default)]
pub struct HttpChallenges {
    tokens: ArcSwap<HashMap<String, String>>,
    shared: ArcSwap<HashMap<String, String>>,
}

impl HttpChallenges {
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.tokens.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.insert(token.to_string(), key_authorization.to_string());
            map
        });
    }

    pub fn remove(&self, token: &str) {
        self.tokens.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.remove(token);
            map
        });
    }

    /// Replaces the tokens read from the shared (Swarm) store.
    pub fn set_shared(&self, tokens: HashMap<String, String>) {
        self.shared.store(Arc::new(tokens));
    }

    /// The answer for a request path, when it is a pending challenge.
    pub fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(CHALLENGE_PREFIX)?;
        if let Some(answer) = self.tokens.load().get(token) {
            return Some(answer.clone());
        }
        self.shared.load().get(token).cloned()
    }
}
