//! A small client of the Chrome DevTools protocol, enough to drive the dashboard as a user does:
//! one headless Chromium, one page, commands over one WebSocket (a flattened session). Clicks are
//! mouse events at the element's centre, typing is `Input.insertText` into the focused box, back
//! is the browser's own history. Every wait is bounded; a failed wait panics with the page.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one protocol command may take.
const COMMAND: Duration = Duration::from_secs(30);

pub struct Browser {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts headless Chromium (1400×1100) with a blank page and attaches to that page.
    pub async fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "--window-size=1400,1100",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium did not start (apt-get install chromium)");
        // Chromium writes the port it chose and the browser's WebSocket path into the profile.
        let active = profile.path().join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&active) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.to_string(), path.to_string());
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromium wrote no DevToolsActivePort within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect to the DevTools WebSocket");
        let mut browser = Browser {
            ws,
            session: String::new(),
            next_id: 0,
            _child: child,
            _profile: profile,
        };
        let target = browser
            .command(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = browser
            .command(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.send("Page.enable", json!({})).await;
        browser.send("Runtime.enable", json!({})).await;
        browser
            .send(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 1400, "height": 1100, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await;
        browser
    }

    /// One command to the page; its result.
    pub async fn send(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.command(Some(&session), method, params).await
    }

    /// One command (to the page's session, or to the browser); waits for its answer, skipping
    /// the events that come in between.
    async fn command(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let answer = async {
            self.ws.send(Message::text(msg.to_string())).await.unwrap();
            loop {
                let frame = self
                    .ws
                    .next()
                    .await
                    .expect("the DevTools connection closed")
                    .unwrap();
                let Message::Text(text) = frame else {
                    continue;
                };
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                if v["id"].as_u64() == Some(id) {
                    return v;
                }
            }
        };
        let v = tokio::time::timeout(COMMAND, answer)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within {COMMAND:?}"));
        assert!(v.get("error").is_none(), "{method} failed: {}", v["error"]);
        v["result"].clone()
    }

    /// Loads `url` in the page.
    pub async fn goto(&mut self, url: &str) {
        let r = self.send("Page.navigate", json!({"url": url})).await;
        assert!(r.get("errorText").is_none(), "navigate {url}: {r}");
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .send(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits (up to 15 s) until `expression` is truthy and returns its value; panics with `what`
    /// and the page's text otherwise.
    pub async fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let v = self.eval(expression).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if tokio::time::Instant::now() >= deadline {
                let page = self
                    .eval("location.hash + '\\n' + document.body.innerText")
                    .await;
                panic!("waited 15 s for {what} ({expression}); the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the first element matching `selector` as a mouse does: scrolled into view, pressed
    /// and released at its centre.
    pub async fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let at = self
            .wait_for(
                &format!("{selector} to click"),
                &format!(
                    "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
                     e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                     return r.width > 0 && r.height > 0 ? [r.x + r.width / 2, r.y + r.height / 2] : null; }})()"
                ),
            )
            .await;
        let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.send(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Clicks into the box `selector` and types `text` (an `input` event, as a keyboard's).
    pub async fn type_into(&mut self, selector: &str, text: &str) {
        self.click(selector).await;
        self.send("Input.insertText", json!({"text": text})).await;
    }

    /// The browser's back button: the previous entry of the page's history.
    pub async fn back(&mut self) {
        let history = self.send("Page.getNavigationHistory", json!({})).await;
        let current = history["currentIndex"].as_u64().unwrap();
        assert!(current > 0, "no history to go back to: {history}");
        let entry = &history["entries"][usize::try_from(current - 1).unwrap()];
        self.send(
            "Page.navigateToHistoryEntry",
            json!({"entryId": entry["id"]}),
        )
        .await;
    }

    /// `location.hash` now.
    pub async fn hash(&mut self) -> String {
        self.eval("location.hash")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves the page as a PNG at `path` and checks it is a real picture.
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .send("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "screenshot too small"
        );
        std::fs::write(path, png).unwrap();
        println!("screenshot: {}", path.display());
    }
}
