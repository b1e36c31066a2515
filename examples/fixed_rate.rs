//! Fixed-rate HTTP/1.1 latency probe for `bench/compare.sh` (what `wrk2` or `oha -q
//! --latency-correction` do), built with swarmgate so the comparison needs no extra install.
//!
//!   cargo run --release --example fixed_rate -- URL RATE CONNS SECONDS
//!
//! A dispatcher thread wakes at each request's intended send time (`std::thread::sleep`, so
//! sub-millisecond spacing is kept) and hands the intended instant to the connections in turn;
//! each keep-alive connection sends its requests in order. Latency is measured from the
//! *intended* send time to the end of the response body, so a stalled server is charged for the
//! requests that queued behind the stall (no coordinated omission). Prints one JSON object:
//! `{"requests", "ok", "non2xx", "errors", "rps", "p50_ms", "p99_ms", "p999_ms"}`.
//! Traffic goes only where URL points (the comparison uses 127.0.0.1).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

struct Outcome {
    latencies_us: Vec<u64>,
    ok: u64,
    non2xx: u64,
    errors: u64,
}

fn usage() -> ! {
    eprintln!("usage: fixed_rate URL RATE CONNS SECONDS   (URL: http://host:port/path)");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        usage();
    }
    let Ok(uri) = args[0].parse::<http::Uri>() else {
        usage()
    };
    let (Ok(rate), Ok(conns), Ok(seconds)) = (
        args[1].parse::<f64>(),
        args[2].parse::<usize>(),
        args[3].parse::<f64>(),
    ) else {
        usage()
    };
    if rate <= 0.0 || conns == 0 || seconds <= 0.0 {
        usage();
    }
    let Some(authority) = uri.authority().cloned() else {
        usage()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fixed_rate: runtime: {e}");
            std::process::exit(1);
        }
    };
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());

    let mut senders = Vec::with_capacity(conns);
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (tx, rx) = mpsc::unbounded_channel::<Instant>();
        senders.push(tx);
        tasks.push(runtime.spawn(connection(authority.to_string(), path.clone(), rx)));
    }
    // The dispatcher: request i is due at start + i / rate.
    let total = (rate * seconds) as u64;
    let dispatcher = std::thread::spawn(move || {
        let start = Instant::now() + Duration::from_millis(100);
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if senders[(i as usize) % senders.len()].send(due).is_err() {
                break;
            }
        }
        // Dropping the senders ends each connection task once its queue is drained.
    });
    let started = Instant::now();
    let outcomes: Vec<Outcome> = runtime.block_on(async {
        let mut all = Vec::new();
        for task in tasks {
            if let Ok(outcome) = task.await {
                all.push(outcome);
            }
        }
        all
    });
    // The schedule starts 100 ms after `started` (connections open meanwhile).
    let elapsed = (started.elapsed().as_secs_f64() - 0.1).max(0.001);
    let _ = dispatcher.join();

    let mut latencies: Vec<u64> = outcomes
        .iter()
        .flat_map(|o| o.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[idx] as f64 / 1000.0
    };
    let ok: u64 = outcomes.iter().map(|o| o.ok).sum();
    let non2xx: u64 = outcomes.iter().map(|o| o.non2xx).sum();
    let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
    println!(
        "{{\"requests\": {}, \"ok\": {ok}, \"non2xx\": {non2xx}, \"errors\": {errors}, \"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"p999_ms\": {:.3}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
    );
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(authority: &str) -> Option<Sender> {
    let stream = TcpStream::connect(authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// One keep-alive connection: sends each request when the dispatcher says it is due.
async fn connection(
    authority: String,
    path: String,
    mut due: mpsc::UnboundedReceiver<Instant>,
) -> Outcome {
    let mut out = Outcome {
        latencies_us: Vec::new(),
        ok: 0,
        non2xx: 0,
        errors: 0,
    };
    let mut sender = connect(&authority).await;
    while let Some(intended) = due.recv().await {
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            sender = connect(&authority).await;
        }
        let Some(s) = sender.as_mut() else {
            out.errors += 1;
            continue;
        };
        let req = match http::Request::get(path.as_str())
            .header(http::header::HOST, authority.as_str())
            .body(Empty::<Bytes>::new())
        {
            Ok(req) => req,
            Err(_) => {
                out.errors += 1;
                continue;
            }
        };
        let answered = async {
            if s.ready().await.is_err() {
                return None;
            }
            let resp = s.send_request(req).await.ok()?;
            let status = resp.status();
            resp.into_body().collect().await.ok()?;
            Some(status)
        }
        .await;
        match answered {
            Some(status) => {
                out.latencies_us
                    .push(intended.elapsed().as_micros().min(u64::MAX as u128) as u64);
                if status.is_success() {
                    out.ok += 1;
                } else {
                    out.non2xx += 1;
                }
            }
            None => {
                out.errors += 1;
                sender = None;
            }
        }
    }
    out
}
