//! Echo backends: each answers every request with a JSON document naming itself and showing the
//! method, the raw request target (path + query exactly as received), every header in wire
//! order and the body length, plus the fixed status and response headers its case file gives
//! it (to test middlewares that act on response headers).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use std::io::Write;

use super::wire;

/// What an echo backend answers besides the echo itself.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// A fixed body instead of the echo JSON.
    pub body: Option<String>,
    /// No `Content-Type` header.
    pub no_content_type: bool,
}

pub struct Echo {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    /// Starts a backend called `id` on 127.0.0.1:0.
    pub fn start(id: &str, answer: Answer) -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an echo backend");
        let addr = listener.local_addr().expect("echo backend address");
        let stop = Arc::new(AtomicBool::new(false));
        let (id, flag) = (id.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (id, answer) = (id.clone(), answer.clone());
                std::thread::spawn(move || serve(stream, &id, &answer));
            }
        });
        Echo {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves requests on one connection (keep-alive) until the peer closes or stalls for 5 s.
fn serve(mut stream: TcpStream, id: &str, answer: &Answer) {
    loop {
        let req = match wire::read_request(&mut stream, Duration::from_secs(5)) {
            Ok(Some(req)) => req,
            Ok(None) | Err(_) => return,
        };
        let echo = serde_json::json!({
            "backend": id,
            "method": req.method,
            "target": req.target,
            "headers": req.headers,
            "body_len": req.body.len(),
        })
        .to_string();
        let body = answer.body.clone().unwrap_or(echo);
        let status = if answer.status == 0 {
            200
        } else {
            answer.status
        };
        let content_type = if answer.no_content_type {
            ""
        } else {
            "Content-Type: application/json\r\n"
        };
        let mut head = format!(
            "HTTP/1.1 {status} Echo\r\n{content_type}Content-Length: {}\r\n",
            body.len()
        );
        for (name, value) in &answer.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// What the echo body says, if the response came from an echo backend.
#[derive(Debug, Clone)]
pub struct Seen {
    pub backend: String,
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
}

impl Seen {
    pub fn parse(body: &[u8]) -> Option<Seen> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let headers = v
            .get("headers")?
            .as_array()?
            .iter()
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some((
                    pair.first()?.as_str()?.to_string(),
                    pair.get(1)?.as_str()?.to_string(),
                ))
            })
            .collect();
        Some(Seen {
            backend: v.get("backend")?.as_str()?.to_string(),
            method: v.get("method")?.as_str()?.to_string(),
            target: v.get("target")?.as_str()?.to_string(),
            headers,
            body_len: v.get("body_len")?.as_u64()?,
        })
    }

    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}
