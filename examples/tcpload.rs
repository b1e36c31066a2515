//! TCP echo backend and load generator for `bench/tcp_compare.py` (issue 22's TCP benchmark),
//! built in release with swarmgate so the load generator is compiled code, not a script.
//!
//!   tcpload echo ADDR                      echo server on ADDR until killed
//!   tcpload stream ADDR CONNS SECONDS      bulk transfer: each of CONNS connections writes and
//!                                          reads at once for SECONDS; prints MB/s echoed back
//!   tcpload rate ADDR CONNS SECONDS        connections/s: CONNS workers each loop over connect,
//!                                          send 16 bytes, read them back, close
//!
//! One thread (a current-thread runtime) per process, so `taskset` pins all of it. `stream` and
//! `rate` print one JSON object on stdout. Every run ends at its deadline: a read, write or
//! connect still pending then is dropped, and each connect has its own 5 s limit. Traffic goes
//! only to ADDR (the benchmark uses 127.0.0.1).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout_at;

/// Read and write size for bulk transfer and the echo server.
const CHUNK: usize = 256 * 1024;
/// The message of one `rate` connection.
const PING: &[u8; 16] = b"swarmgate-ping!\n";

fn usage() -> ! {
    eprintln!("usage: tcpload echo ADDR | tcpload stream|rate ADDR CONNS SECONDS");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(addr)) = (args.first(), args.get(1)) else {
        usage()
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        usage()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tcpload: runtime: {e}");
            std::process::exit(1);
        }
    };
    if mode == "echo" {
        if let Err(e) = runtime.block_on(echo(addr)) {
            eprintln!("tcpload: echo on {addr}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let (Some(Ok(conns)), Some(Ok(seconds))) = (
        args.get(2).map(|a| a.parse::<usize>()),
        args.get(3).map(|a| a.parse::<f64>()),
    ) else {
        usage()
    };
    if conns == 0 || !(seconds > 0.0 && seconds < 3600.0) {
        usage();
    }
    let duration = Duration::from_secs_f64(seconds);
    let line = match mode.as_str() {
        "stream" => runtime.block_on(stream(addr, conns, duration)),
        "rate" => runtime.block_on(rate(addr, conns, duration)),
        _ => usage(),
    };
    println!("{line}");
}

async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            // Out of descriptors or a reset before accept: try again shortly.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = conn.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
}

/// Bulk transfer: bytes written and bytes echoed back per connection until the deadline.
async fn stream(addr: SocketAddr, conns: usize, duration: Duration) -> String {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        tasks.push(tokio::spawn(async move {
            let Ok(Ok(conn)) = timeout_at(deadline, TcpStream::connect(addr)).await else {
                return (0u64, 0u64, 1u64);
            };
            let _ = conn.set_nodelay(true);
            let (mut r, mut w) = conn.into_split();
            let writer = async {
                let data = vec![0x5au8; CHUNK];
                let mut sent = 0u64;
                while let Ok(Ok(n)) = timeout_at(deadline, w.write(&data)).await {
                    if n == 0 {
                        break;
                    }
                    sent += n as u64;
                }
                sent
            };
            let reader = async {
                let mut buf = vec![0u8; CHUNK];
                let mut got = 0u64;
                let mut wrong = 0u64;
                while let Ok(Ok(n)) = timeout_at(deadline, r.read(&mut buf)).await {
                    if n == 0 {
                        break;
                    }
                    // What comes back must be what was sent (one byte value): checking costs a
                    // pass over the buffer, cheap next to the copy through the kernel.
                    if buf[..n].iter().any(|&b| b != 0x5a) {
                        wrong += 1;
                    }
                    got += n as u64;
                }
                (got, wrong)
            };
            let (sent, (got, wrong)) = tokio::join!(writer, reader);
            // An early end (the proxy closed) is an error, as is a wrong byte.
            let early = tokio::time::Instant::now() + Duration::from_millis(50) < deadline;
            (sent, got, wrong + u64::from(early))
        }));
    }
    let (mut sent, mut got, mut errors) = (0u64, 0u64, 0u64);
    for task in tasks {
        match task.await {
            Ok((s, g, e)) => {
                sent += s;
                got += g;
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    format!(
        "{{\"conns\": {conns}, \"seconds\": {elapsed:.3}, \"bytes_sent\": {sent}, \"bytes_echoed\": {got}, \"errors\": {errors}, \"mb_s\": {:.2}}}",
        got as f64 / elapsed / 1e6
    )
}

/// Connections per second: connect, send PING, read it back, close, again, until the deadline.
async fn rate(addr: SocketAddr, conns: usize, duration: Duration) -> String {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        tasks.push(tokio::spawn(async move {
            let mut latencies_us: Vec<u32> = Vec::new();
            let mut errors = 0u64;
            while tokio::time::Instant::now() < deadline {
                let begun = Instant::now();
                let limit = deadline.min(tokio::time::Instant::now() + Duration::from_secs(5));
                let one = async {
                    let mut conn = TcpStream::connect(addr).await?;
                    let _ = conn.set_nodelay(true);
                    conn.write_all(PING).await?;
                    let mut back = [0u8; 16];
                    conn.read_exact(&mut back).await?;
                    if &back != PING {
                        return Err(std::io::Error::other("wrong echo"));
                    }
                    Ok::<_, std::io::Error>(())
                };
                match timeout_at(limit, one).await {
                    Ok(Ok(())) => latencies_us
                        .push(begun.elapsed().as_micros().min(u128::from(u32::MAX)) as u32),
                    // Cut by the end of the run: neither a success nor an error.
                    Err(_) if tokio::time::Instant::now() >= deadline => break,
                    _ => {
                        errors += 1;
                        // A refused or failed connect: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            (latencies_us, errors)
        }));
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0u64;
    for task in tasks {
        match task.await {
            Ok((l, e)) => {
                latencies.extend(l);
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(0.001);
    latencies.sort_unstable();
    let pct = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[idx]) / 1000.0
    };
    format!(
        "{{\"conns\": {conns}, \"seconds\": {elapsed:.3}, \"connections\": {}, \"errors\": {errors}, \"conns_s\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    )
}
