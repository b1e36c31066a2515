//! HTTP side of the Swarm end-to-end suite: a keep-alive client, testbackend answers parsed into
//! (host, version), and a bounded load generator that records every outcome with its time.
#![allow(clippy::disallowed_types)] // std Mutex: test

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

pub type Client = HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> Client {
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build_http()
}

/// One answer: status and, for testbackend answers, who served it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub host: String,
    pub version: String,
    pub body: String,
}

/// GET `url` with a 5 s limit; `Err` on connection errors and timeouts.
pub async fn get(client: &Client, url: &str) -> Result<Answer, String> {
    let req = Request::get(url)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| format!("{e:?}"))?;
    let status = resp.status();
    let body = tokio::time::timeout(Duration::from_secs(5), resp.into_body().collect())
        .await
        .map_err(|_| "body timeout".to_string())?
        .map_err(|e| format!("body: {e:?}"))?
        .to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    let field = |k: &str| {
        body.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("")
            .to_string()
    };
    Ok(Answer {
        status,
        host: field("host="),
        version: field("version="),
        body,
    })
}

/// What a load run saw.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub ok: usize,
    pub non_2xx: usize,
    pub errors: usize,
    pub by_host: HashMap<String, usize>,
    pub by_version: HashMap<String, usize>,
    /// When each host first answered.
    pub first_seen: HashMap<String, SystemTime>,
    /// Failures: (time, description), capped.
    pub failures: Vec<(SystemTime, String)>,
    /// Version of the last answers, in order (capped to the last 200).
    pub tail: Vec<String>,
    pub elapsed: Duration,
}

impl Stats {
    fn record(&mut self, r: Result<Answer, String>) {
        let now = SystemTime::now();
        match r {
            Ok(a) if a.status.is_success() => {
                self.ok += 1;
                *self.by_host.entry(a.host.clone()).or_default() += 1;
                *self.by_version.entry(a.version.clone()).or_default() += 1;
                self.first_seen.entry(a.host).or_insert(now);
                self.tail.push(a.version);
                if self.tail.len() > 400 {
                    self.tail.drain(..200);
                }
            }
            Ok(a) => {
                self.non_2xx += 1;
                if self.failures.len() < 50 {
                    self.failures
                        .push((now, format!("{} {}", a.status, a.body.trim())));
                }
            }
            Err(e) => {
                self.errors += 1;
                if self.failures.len() < 50 {
                    self.failures.push((now, e));
                }
            }
        }
    }

    pub fn total(&self) -> usize {
        self.ok + self.non_2xx + self.errors
    }

    pub fn rate(&self) -> f64 {
        self.total() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A running load: `workers` clients each sending `per_worker_rate` requests per second to `url`.
pub struct Load {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<Stats>>,
    started: Instant,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(url: &str, workers: usize, per_worker_rate: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(Stats::default()));
        let period = Duration::from_secs(1) / per_worker_rate;
        let handles = (0..workers)
            .map(|_| {
                let (stop, stats, url) = (stop.clone(), stats.clone(), url.to_string());
                tokio::spawn(async move {
                    let client = client();
                    let mut tick = tokio::time::interval(period);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    while !stop.load(Ordering::Relaxed) {
                        tick.tick().await;
                        let r = get(&client, &url).await;
                        if let Ok(mut s) = stats.lock() {
                            s.record(r);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            stats,
            started: Instant::now(),
            handles,
        }
    }

    /// A copy of what was recorded so far.
    pub fn snapshot(&self) -> Stats {
        let mut s = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        s.elapsed = self.started.elapsed();
        s
    }

    /// Stops the workers (each finishes its request in flight) and returns the totals.
    pub async fn finish(self) -> Stats {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.await;
        }
        let mut s = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        s.elapsed = self.started.elapsed();
        s
    }
}
