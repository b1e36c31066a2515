//! The edge under abuse: slowloris, connection floods, request smuggling shapes, oversized heads,
//! spoofed forwarding headers, path traversal, idle keep-alive and HTTP/2 rapid reset.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `request`, then reads until the server closes (or `limit` passes).
/// Returns what was read and whether the connection was closed by the server.
async fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_until_close(&mut stream, limit).await
}

async fn read_until_close(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

async fn one_backend_gateway(extra_static: &str) -> (Backend, Gateway) {
    let be = backend("be").await;
    let gw = gateway_with(
        &route_yaml("PathPrefix(`/`)", &[be.url()], ""),
        extra_static,
    )
    .await;
    (be, gw)
}

#[tokio::test]
async fn slowloris_is_cut_at_the_header_timeout_while_others_are_served() {
    let (be, gw) =
        one_backend_gateway("[entryPoints.web.transport]\nheaderReadTimeout = \"1s\"\n").await;
    let addr = gw.addr;
    let slow = tokio::spawn(async move {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // One header line every 200 ms: the head never completes.
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream
                .write_all(format!("X-Trickle-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        let (text, closed) = read_until_close(&mut stream, Duration::from_secs(5)).await;
        (started.elapsed(), text, closed)
    });
    // Meanwhile a normal client is served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = get(&client(), &gw.url("/normal"), None).await;
    assert_eq!(reply.status, 200);
    let (elapsed, text, closed) = slow.await.unwrap();
    assert!(closed, "the trickling client was not cut: {text:?}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2500),
        "cut after {elapsed:?}"
    );
    assert!(!text.contains("200 OK"), "{text:?}");
    assert_eq!(be.hits(), 1, "only the normal request reached the backend");
}

#[tokio::test]
async fn idle_connections_do_not_block_new_ones_up_to_the_limit_and_the_limit_refuses_cleanly() {
    let (be, gw) = one_backend_gateway("[entryPoints.web.transport]\nmaxConnections = 200\n").await;
    let mut idle = Vec::new();
    for _ in 0..199 {
        idle.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    // The 200th connection is served (the gateway may need a moment to account the idle ones).
    let (text, _) = exchange(
        gw.addr,
        b"GET /under-limit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    idle.push(TcpStream::connect(gw.addr).await.unwrap());
    // Now 200 are open: the next is refused quickly with a 503, not left hanging.
    let started = Instant::now();
    let (text, closed) = exchange(
        gw.addr,
        b"GET /over-limit HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
    assert!(closed, "refused connection left open");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(be.hits(), 1);
    // Closing idle ones frees slots.
    idle.truncate(150);
    assert!(
        eventually(Duration::from_secs(5), || async {
            let (text, _) = exchange(
                gw.addr,
                b"GET /freed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                Duration::from_secs(2),
            )
            .await;
            text.starts_with("HTTP/1.1 200")
        })
        .await
    );
}

#[tokio::test]
async fn a_thousand_idle_connections_do_not_block_a_new_one() {
    let (_be, gw) = one_backend_gateway("").await;
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    let started = Instant::now();
    let reply = get(&client(), &gw.url("/"), None).await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(idle);
}

/// Each shape must get 400, the connection closed, and nothing forwarded.
#[tokio::test]
async fn smuggling_shapes_get_400_and_never_reach_the_backend() {
    let (be, gw) = one_backend_gateway("").await;
    let shapes: &[(&str, &str)] = &[
        ("obfuscated TE value", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("space before colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("chunked not last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("TE then CL with non-final chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello"),
        ("conflicting CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        ("duplicate identical CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
        ("CL then TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("TE then CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!"),
        ("negative CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello"),
        ("signed CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello"),
        ("hex CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello"),
        ("TE on HTTP/1.0", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n"),
        ("control byte in name", "GET / HTTP/1.1\r\nHost: x\r\nX-\x01A: b\r\n\r\n"),
        ("NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n"),
        ("space in name", "GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n"),
        ("bad escape", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];
    for (name, request) in shapes {
        let (text, closed) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert!(text.starts_with("HTTP/1.1 400"), "{name}: {text:?}");
        if !name.contains("escape") {
            assert!(closed, "{name}: connection left open");
        }
        assert_eq!(be.hits(), 0, "{name}: reached the backend");
    }
}

/// An encoded slash is forwarded as Traefik 3.7 forwards it by default, and is no separator: the
/// `..` between two `%2F` is not a dot segment, so nothing is traversed.
#[tokio::test]
async fn an_encoded_slash_is_forwarded_without_traversal() {
    let (be, gw) = one_backend_gateway("").await;
    let request = "GET /a%2f..%2Fadmin HTTP/1.1\r\nHost: x\r\n\r\n";
    let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().uri, "/a%2F..%2Fadmin");
}

/// Both `Content-Length` and `Transfer-Encoding: chunked`, with a second request hidden behind
/// the chunked body: refused with 400 before anything is parsed (src/proxy/framing.rs), the
/// connection closed, and the backend sees neither request.
#[tokio::test]
async fn content_length_with_chunked_cannot_smuggle_a_second_request() {
    let (be, gw) = one_backend_gateway("").await;
    let request = "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let (text, closed) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text:?}");
    assert!(closed, "connection kept open after an ambiguous request");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(be.hits(), 0, "{:?}", be.seen.lock().unwrap());
}

/// A good request pipelined before a smuggling shape is still answered, in order; then 400.
#[tokio::test]
async fn a_good_pipelined_request_is_answered_before_the_refusal() {
    let (be, gw) = one_backend_gateway("").await;
    let request = "GET /good HTTP/1.1\r\nHost: x\r\n\r\nPOST /bad HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
    let (text, closed) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(closed);
    let first = text.find("HTTP/1.1 200").expect("good request unanswered");
    let second = text.find("HTTP/1.1 400").expect("bad request not refused");
    assert!(first < second, "{text:?}");
    assert_eq!(be.hits(), 1);
    assert_eq!(be.last_seen().uri, "/good");
}

#[tokio::test]
async fn a_64_kib_header_gets_431() {
    let (be, gw) = one_backend_gateway("").await;
    let big = "a".repeat(64 * 1024);
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let (text, closed) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    assert!(closed);
    assert_eq!(be.hits(), 0);
    // A configured smaller limit applies too.
    let (be, gw) =
        one_backend_gateway("[entryPoints.web.transport]\nmaxHeaderBytes = 16384\n").await;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20_000)
    );
    let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    assert_eq!(be.hits(), 0);
}

#[tokio::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_replaced() {
    let (be, gw) = one_backend_gateway("").await;
    let request = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-Ip: 6.6.6.6\r\nConnection: close\r\n\r\n";
    let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    let seen = be.last_seen();
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-real-ip"], "127.0.0.1");
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_peer_is_extended() {
    let (be, gw) = one_backend_gateway(
        "[entryPoints.web.forwardedHeaders]\ntrustedIPs = [\"127.0.0.1/32\"]\n",
    )
    .await;
    let request =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n";
    let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(
        be.last_seen().headers["x-forwarded-for"],
        "203.0.113.7, 127.0.0.1"
    );
}

#[tokio::test]
async fn dot_segments_cannot_reach_a_router_the_clean_path_does_not_match() {
    let public = backend("public").await;
    let admin = backend("admin").await;
    let yaml = format!(
        "http:\n  routers:\n    public:\n      rule: \"PathPrefix(`/public`)\"\n      service: public\n    admin:\n      rule: \"PathPrefix(`/admin`)\"\n      service: admin\n  services:\n    public:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n    admin:\n      loadBalancer:\n        servers:\n          - url: \"{}\"\n",
        public.url(),
        admin.url()
    );
    let gw = gateway(&yaml).await;
    let cases = [
        ("/public/../admin/x", "admin", "/admin/x"),
        ("/public/%2e%2e/admin/y", "admin", "/admin/y"),
        ("/public/./a//b", "public", "/public/a/b"),
        ("/admin/%7Euser", "admin", "/admin/~user"),
    ];
    for (path, want_backend, want_path) in cases {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{path}: {text:?}");
        assert!(
            text.contains(&format!("{want_backend}\n")),
            "{path}: {text:?}"
        );
        let be = if want_backend == "admin" {
            &admin
        } else {
            &public
        };
        assert_eq!(be.last_seen().uri, want_path, "{path}");
    }
    // Traversal above the root stays at the root: no router matches `/etc/passwd`.
    let (text, _) = exchange(
        gw.addr,
        b"GET /public/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 404"), "{text:?}");
}

#[tokio::test]
async fn absolute_form_routes_by_its_authority_and_is_sent_upstream_in_origin_form() {
    let be = backend("be").await;
    let gw = gateway(&route_yaml("Host(`app.test`)", &[be.url()], "")).await;
    let request =
        "GET http://app.test/x?y=1 HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n";
    let (text, _) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().uri, "/x?y=1");
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let (_be, gw) = one_backend_gateway(
        "[entryPoints.web.transport.respondingTimeouts]\nidleTimeout = \"1s\"\n",
    )
    .await;
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    let (_, closed) = read_until_close(&mut stream, Duration::from_secs(4)).await;
    assert!(closed, "idle connection kept open");
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_secs(3),
        "{idle:?}"
    );

    // HTTP/2 (prior knowledge) too.
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut h2, conn) = h2::client::handshake(stream).await.unwrap();
    let conn = tokio::spawn(conn);
    let req = http::Request::get(gw.url("/")).body(()).unwrap();
    let (resp, _) = h2.send_request(req, true).unwrap();
    assert_eq!(resp.await.unwrap().status(), 200);
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(4), conn).await;
    assert!(ended.is_ok(), "idle h2 connection kept open");
    assert!(started.elapsed() >= Duration::from_millis(800));
}

/// HEADERS + RST_STREAM bursts (CVE-2023-44487): the connection is closed with GOAWAY
/// (ENHANCE_YOUR_CALM) or the work is bounded; the backend never sees the burst.
#[tokio::test]
async fn h2_rapid_reset_burst_is_bounded() {
    let (be, gw) = one_backend_gateway("").await;
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut h2, conn) = h2::client::Builder::new()
        .max_concurrent_reset_streams(100_000)
        .handshake::<_, bytes::Bytes>(stream)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let mut sent = 0;
    for _ in 0..5_000 {
        let Ok(ready) = h2.clone().ready().await else {
            break;
        };
        h2 = ready;
        let req = http::Request::post(gw.url("/burst")).body(()).unwrap();
        let Ok((_resp, mut body)) = h2.send_request(req, false) else {
            break;
        };
        body.send_reset(h2::Reason::CANCEL);
        sent += 1;
    }
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    let hits = be.hits();
    match ended {
        Ok(result) => {
            let error = result.unwrap().unwrap_err();
            // The server sends GOAWAY(ENHANCE_YOUR_CALM) and closes; a client still writing may
            // see the broken pipe before it reads the GOAWAY.
            assert!(
                error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) || error.is_io(),
                "{error:?}"
            );
            eprintln!("rapid reset: sent {sent} streams, backend saw {hits}, ended with {error:?}");
        }
        Err(_) => panic!("rapid reset burst of {sent} streams did not close the connection"),
    }
    assert!(
        sent < 5_000 || hits < 100,
        "sent {sent}, backend saw {hits}"
    );
    // The gateway still serves others.
    assert_eq!(get(&client(), &gw.url("/after"), None).await.status, 200);
}

#[tokio::test]
async fn proxy_protocol_from_a_trusted_peer_sets_the_client_address() {
    let (be, gw) =
        one_backend_gateway("[entryPoints.web.proxyProtocol]\ntrustedIPs = [\"127.0.0.1/32\"]\n")
            .await;
    let get_close = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // v1
    let request = [
        b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\n".as_slice(),
        get_close,
    ]
    .concat();
    let (text, _) = exchange(gw.addr, &request, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().headers["x-forwarded-for"], "203.0.113.7");
    // v2 (TCP over IPv4)
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    v2.extend_from_slice(&[198, 51, 100, 9, 127, 0, 0, 1, 0xc3, 0x50, 0, 80]);
    v2.extend_from_slice(get_close);
    let (text, _) = exchange(gw.addr, &v2, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().headers["x-forwarded-for"], "198.51.100.9");
    // The header is optional from a trusted peer.
    let (text, _) = exchange(gw.addr, get_close, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().headers["x-forwarded-for"], "127.0.0.1");
    // A malformed header closes the connection without an answer.
    let (text, closed) = exchange(
        gw.addr,
        b"PROXY TCP4 not-an-ip 127.0.0.1 1 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(closed && text.is_empty(), "{text:?}");
    assert_eq!(be.hits(), 3);
}

#[tokio::test]
async fn proxy_protocol_from_an_untrusted_peer_is_ignored() {
    let (be, gw) =
        one_backend_gateway("[entryPoints.web.proxyProtocol]\ntrustedIPs = [\"10.0.0.0/8\"]\n")
            .await;
    let request = b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (text, _) = exchange(gw.addr, request, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert_eq!(be.last_seen().headers["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn h2_max_concurrent_streams_is_advertised() {
    let (_be, gw) =
        one_backend_gateway("[entryPoints.web.http2]\nmaxConcurrentStreams = 7\n").await;
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (h2, conn) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(conn);
    let mut h2 = h2.ready().await.unwrap();
    let req = http::Request::get(gw.url("/")).body(()).unwrap();
    let (resp, _) = h2.send_request(req, true).unwrap();
    assert_eq!(resp.await.unwrap().status(), 200);
    assert_eq!(h2.current_max_send_streams(), 7);
}

/// `respondingTimeouts.writeTimeout`: a response not written within it after the request head
/// (here a backend that takes 2 s) gets its connection closed; a quick request is served.
#[tokio::test]
async fn write_timeout_cuts_a_response_that_takes_too_long() {
    let (be, gw) = one_backend_gateway(
        "[entryPoints.web.transport.respondingTimeouts]\nwriteTimeout = \"1s\"\n",
    )
    .await;
    let (text, closed) = exchange(
        gw.addr,
        b"GET /quick HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(closed);
    let started = Instant::now();
    let (text, closed) = exchange(
        gw.addr,
        b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    let took = started.elapsed();
    assert!(closed, "connection left open");
    assert!(text.is_empty(), "a response came through: {text:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1900),
        "cut after {took:?}"
    );
    assert_eq!(be.hits(), 2);
}

/// An `Upgrade` request the server does not switch must not leave the connection open with the
/// framing guard off: the response closes it, so a smuggling shape cannot follow on it.
#[tokio::test]
async fn a_refused_upgrade_does_not_switch_the_guard_off() {
    let (be, gw) = one_backend_gateway("").await;
    let request = "GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\n\r\nPOST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let (text, closed) = exchange(gw.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(closed, "connection left open after a refused upgrade");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(be.hits(), 1);
    assert_eq!(be.last_seen().uri, "/plain");
}
