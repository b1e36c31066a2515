//! Receivers of the Go-kit push exporters: DogStatsD datagrams on a UDP socket (parsed into
//! name, value, type, sample rate, tags) and a stand-in InfluxDB v2 that records each write
//! (URI, headers, line-protocol body parsed into points) and answers 204.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};

/// One StatsD/DogStatsD line.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub name: String,
    pub value: f64,
    /// `c`, `g`, `ms`, `h`.
    pub kind: String,
    pub rate: Option<String>,
    /// In the order sent.
    pub tags: Vec<(String, String)>,
}

/// Parses `name:value|type[|@rate][|#k:v,...]`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let (name, rest) = line.split_once(':')?;
    let mut parts = rest.split('|');
    let value = parts.next()?.parse().ok()?;
    let kind = parts.next()?.to_string();
    let mut stat = Stat {
        name: name.to_string(),
        value,
        kind,
        rate: None,
        tags: Vec::new(),
    };
    for part in parts {
        if let Some(rate) = part.strip_prefix('@') {
            stat.rate = Some(rate.to_string());
        } else if let Some(tags) = part.strip_prefix('#') {
            for tag in tags.split(',') {
                let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
                stat.tags.push((k.to_string(), v.to_string()));
            }
        }
    }
    Some(stat)
}

/// Datagrams read from `socket` for `window`; each datagram's text kept as received.
pub async fn datagrams(socket: &tokio::net::UdpSocket, window: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let until = tokio::time::Instant::now() + window;
    while let Ok(Ok((n, _))) = tokio::time::timeout(
        until.saturating_duration_since(tokio::time::Instant::now()),
        socket.recv_from(&mut buf),
    )
    .await
    {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// One write request.
#[derive(Debug, Clone)]
pub struct Write {
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// One line-protocol point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub measurement: String,
    pub tags: BTreeMap<String, String>,
    pub fields: BTreeMap<String, String>,
    pub timestamp: String,
}

/// Splits `s` at each unescaped `sep`, unescaping.
fn split(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.last_mut().unwrap().push('\\');
                out.last_mut().unwrap().push(next);
            }
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().unwrap().push(c);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses one line (`measurement,tag=v field=v ts`).
pub fn parse_point(line: &str) -> Option<Point> {
    let parts = split(line, ' ');
    let [series, fields, timestamp] = parts.as_slice() else {
        return None;
    };
    let mut series = split(series, ',').into_iter();
    let measurement = unescape(&series.next()?);
    let pair = |kv: String| {
        let mut it = split(&kv, '=').into_iter();
        let k = unescape(&it.next().unwrap_or_default());
        let v = unescape(&it.collect::<Vec<_>>().join("="));
        (k, v)
    };
    Some(Point {
        measurement,
        tags: series.map(pair).collect(),
        fields: split(fields, ',').into_iter().map(pair).collect(),
        timestamp: timestamp.clone(),
    })
}

/// A stand-in InfluxDB v2 on 127.0.0.1.
pub struct Influx {
    pub addr: SocketAddr,
    writes: Arc<Mutex<Vec<Write>>>,
}

impl Influx {
    pub async fn start() -> Influx {
        let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
        let kept = Arc::clone(&writes);
        let addr = super::serve_fn(move |req: http::Request<hyper::body::Incoming>| {
            let kept = Arc::clone(&kept);
            async move {
                let uri = req.uri().to_string();
                let headers = req.headers().clone();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                kept.lock().unwrap().push(Write {
                    uri,
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                Response::builder()
                    .status(StatusCode::NO_CONTENT)
                    .body(Full::new(Bytes::new()))
                    .unwrap()
            }
        })
        .await;
        Influx { addr, writes }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn writes(&self) -> Vec<Write> {
        self.writes.lock().unwrap().clone()
    }

    /// Every point of every write so far.
    pub fn points(&self) -> Vec<Point> {
        self.writes()
            .iter()
            .flat_map(|w| w.body.lines().filter_map(parse_point).collect::<Vec<_>>())
            .collect()
    }

    /// Waits (at most `secs`) until a point satisfies `pred`.
    pub async fn wait(&self, secs: u64, pred: impl Fn(&Point) -> bool) -> bool {
        let until = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < until {
            if self.points().iter().any(&pred) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}
