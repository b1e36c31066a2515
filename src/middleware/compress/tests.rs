use std::io::Read;
use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::middleware::tests::{compile, req};

fn compress(cfg: serde_json::Value) -> Compress {
    match compile(json!({ "compress": cfg })).unwrap() {
        Middleware::Compress(c) => c,
        other => panic!("unexpected {other:?}"),
    }
}

fn error(cfg: serde_json::Value) -> String {
    compile(json!({ "compress": cfg })).unwrap_err().to_string()
}

fn pick(c: &Compress, accept: Option<&str>) -> Option<&'static str> {
    c.negotiate(accept.map(|a| [a])).map(Encoding::name)
}

#[test]
fn negotiation_follows_q_values_then_priority() {
    let c = compress(json!({}));
    let cases: &[(Option<&str>, Option<&str>)] = &[
        // No header and no defaultEncoding: identity (Traefik, for compatibility).
        (None, None),
        (Some(""), None),
        (Some("gzip"), Some("gzip")),
        (Some("br"), Some("br")),
        (Some("zstd"), Some("zstd")),
        // Equal weights: the `encodings` order (gzip, br, zstd), not the header's.
        (Some("zstd, br, gzip"), Some("gzip")),
        (Some("br;q=1.0, zstd;q=1.0"), Some("br")),
        (Some("br;q=0.8, gzip;q=1.0, *;q=0.1"), Some("gzip")),
        (Some("gzip;q=0.5, br;q=0.9"), Some("br")),
        (Some("gzip, br;q=0.9"), Some("gzip")),
        (Some("GZIP; Q=0.5"), Some("gzip")),
        // Unknown codings are ignored.
        (Some("compress, rar"), None),
        (Some("compress;q=1.0, gzip;q=0.5"), Some("gzip")),
        // `*` means the first encoding.
        (Some("*"), Some("gzip")),
        // q=0 refuses: also through `*`.
        (Some("gzip;q=0, *"), Some("br")),
        (Some("br;q=0, gzip;q=0, zstd;q=0"), None),
        (Some("compress;q=1.0, *;q=0"), None),
        (Some("gzip, *;q=0"), Some("gzip")),
        // identity wins only with a strictly higher weight.
        (Some("br;q=0.8, identity;q=1.0"), None),
        (Some("br;q=0.8, identity;q=0.8"), Some("br")),
        (Some("compress;q=1.0, gzip, identity;q=0"), Some("gzip")),
        (Some("identity"), None),
        // A malformed weight drops the entry.
        (Some("br;q=abc, zstd"), Some("zstd")),
        (Some("br;q=2"), None),
    ];
    for (accept, want) in cases {
        assert_eq!(pick(&c, *accept), *want, "Accept-Encoding {accept:?}");
    }
}

#[test]
fn negotiation_with_configured_encodings_and_default() {
    let c = compress(json!({"encodings": ["zstd", "br"], "defaultEncoding": "br"}));
    assert_eq!(pick(&c, Some("gzip")), None, "gzip is not offered");
    assert_eq!(pick(&c, Some("gzip, br, zstd")), Some("zstd"));
    assert_eq!(pick(&c, Some("*")), Some("br"), "`*` means defaultEncoding");
    assert_eq!(pick(&c, None), Some("br"), "no header: defaultEncoding");
    assert_eq!(pick(&c, Some("br;q=0, *")), Some("zstd"));
    // defaultEncoding does not break ties between listed encodings.
    assert_eq!(pick(&c, Some("br, zstd")), Some("zstd"));

    let headers = |v: &[&str]| {
        let mut parts = req("GET", "/", &[]);
        for value in v {
            parts.headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        parts
    };
    let c = compress(json!({}));
    // Several header lines read as one list.
    assert_eq!(
        c.choose(&headers(&["br;q=0.5", "zstd"])),
        Some(Encoding::Zstd)
    );
    let mut head = headers(&["gzip"]);
    head.method = Method::HEAD;
    assert_eq!(c.choose(&head), None, "HEAD is never compressed");
    let mut grpc = headers(&["gzip"]);
    grpc.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    assert_eq!(c.choose(&grpc), None, "gRPC requests are not compressed");
}

#[test]
fn content_type_lists() {
    let c = compress(json!({}));
    assert!(c.compresses_type(Some("text/html")));
    assert!(c.compresses_type(None));
    assert!(!c.compresses_type(Some("application/grpc")));

    let c = compress(json!({"excludedContentTypes": [" Text/Event-Stream ", "image/png; q=1"]}));
    assert!(!c.compresses_type(Some("text/event-stream")));
    assert!(!c.compresses_type(Some("TEXT/EVENT-STREAM")));
    assert!(!c.compresses_type(Some("image/png")));
    assert!(!c.compresses_type(Some("application/grpc")));
    assert!(c.compresses_type(Some("text/plain")));

    let c = compress(json!({"includedContentTypes": ["application/json", "text/html"]}));
    assert!(c.compresses_type(Some("application/json")));
    assert!(c.compresses_type(Some("Text/HTML")));
    assert!(!c.compresses_type(Some("text/plain")));
    assert!(!c.compresses_type(None));

    // The whole response head: parameters of Content-Type are ignored.
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    assert!(c.eligible(StatusCode::OK, &h));
    for status in [101, 204, 206, 304] {
        let status = StatusCode::from_u16(status).unwrap();
        assert!(!c.eligible(status, &h), "{status}");
    }
    let mut encoded = h.clone();
    encoded.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    assert!(!c.eligible(StatusCode::OK, &encoded));
    let mut no_transform = h.clone();
    no_transform.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, No-Transform"),
    );
    assert!(!c.eligible(StatusCode::OK, &no_transform));
}

#[test]
fn bad_configs_name_the_option() {
    let both = error(json!({
        "excludedContentTypes": ["text/event-stream"],
        "includedContentTypes": ["text/html"],
    }));
    assert!(both.contains("includedContentTypes"), "{both}");
    assert!(both.contains("mutually exclusive"), "{both}");

    let unknown = error(json!({"encodings": ["gzip", "deflate"]}));
    assert!(unknown.contains("`encodings`"), "{unknown}");
    assert!(unknown.contains("deflate"), "{unknown}");

    let empty = error(json!({"encodings": []}));
    assert!(empty.contains("at least one encoding"), "{empty}");

    let default = error(json!({"encodings": ["gzip"], "defaultEncoding": "br"}));
    assert!(default.contains("`defaultEncoding`"), "{default}");

    let media = error(json!({"excludedContentTypes": ["textplain"]}));
    assert!(media.contains("`excludedContentTypes`"), "{media}");

    let typo = serde_json::from_value::<crate::middleware::MiddlewareConfig>(
        json!({"compress": {"minResponseBodyByte": 1}}),
    )
    .unwrap_err()
    .to_string();
    assert!(typo.contains("minResponseBodyByte"), "{typo}");
}

#[test]
fn defaults() {
    let c = compress(json!({}));
    assert_eq!(c.min_bytes, DEFAULT_MIN_BYTES);
    assert_eq!(c.encodings, Encoding::DEFAULT);
    assert_eq!(c.default_encoding, None);
    assert_eq!(compress(json!({"minResponseBodyBytes": 0})).min_bytes, 1024);
    assert_eq!(compress(json!({"minResponseBodyBytes": 10})).min_bytes, 10);
}

fn decode(encoding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(data).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

fn big_text() -> String {
    (0..400)
        .map(|i| format!("line {i} of a compressible text\n"))
        .collect()
}

fn response(headers: &[(&str, &str)], body: ProxyBody) -> Response<ProxyBody> {
    let mut resp = Response::new(body);
    for (k, v) in headers {
        resp.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    resp
}

fn chain(cfg: serde_json::Value) -> Vec<Arc<Middleware>> {
    vec![Arc::new(compile(json!({ "compress": cfg })).unwrap())]
}

fn planned<'a>(mws: &'a [Arc<Middleware>], accept: &str) -> Plan<'a> {
    plan(mws, &req("GET", "/", &[("accept-encoding", accept)])).unwrap()
}

#[tokio::test]
async fn encodes_and_sets_headers() {
    let mws = chain(json!({}));
    let text = big_text();
    for encoding in ["gzip", "br", "zstd"] {
        let len = text.len().to_string();
        let resp = response(
            &[
                ("content-type", "text/plain"),
                ("content-length", &len),
                ("accept-ranges", "bytes"),
                ("vary", "Origin"),
            ],
            ProxyBody::full(text.clone()),
        );
        let out = planned(&mws, encoding).apply(resp).await;
        let h = out.headers();
        assert_eq!(h["content-encoding"], encoding);
        assert!(!h.contains_key("content-length"));
        assert!(!h.contains_key("accept-ranges"));
        let vary: Vec<_> = h.get_all("vary").iter().collect();
        assert_eq!(vary, ["Origin", "Accept-Encoding"]);
        let bytes = out.into_body().collect().await.unwrap().to_bytes();
        assert!(
            bytes.len() < text.len() / 2,
            "{encoding}: {} bytes",
            bytes.len()
        );
        assert_eq!(decode(encoding, &bytes), text.as_bytes(), "{encoding}");
    }
}

#[tokio::test]
async fn small_or_encoded_bodies_pass_unchanged() {
    let mws = chain(json!({}));
    let small = response(
        &[("content-type", "text/plain"), ("content-length", "5")],
        ProxyBody::full("small"),
    );
    let out = planned(&mws, "gzip").apply(small).await;
    assert!(!out.headers().contains_key("content-encoding"));
    assert_eq!(out.headers()["content-length"], "5");

    // Unknown length, ends below the minimum: sent with its length.
    let unknown = response(&[("content-type", "text/plain")], ProxyBody::full("small"));
    let out = planned(&mws, "gzip").apply(unknown).await;
    assert!(!out.headers().contains_key("content-encoding"));
    assert_eq!(out.headers()["content-length"], "5");
    assert_eq!(out.into_body().collect().await.unwrap().to_bytes(), "small");

    // Unknown length above the minimum: compressed.
    let text = big_text();
    let big = response(
        &[("content-type", "text/plain")],
        ProxyBody::full(text.clone()),
    );
    let out = planned(&mws, "br").apply(big).await;
    assert_eq!(out.headers()["content-encoding"], "br");
    let bytes = out.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(decode("br", &bytes), text.as_bytes());

    let gz = response(
        &[("content-type", "text/plain"), ("content-encoding", "gzip")],
        ProxyBody::full(text.clone()),
    );
    let out = planned(&mws, "br").apply(gz).await;
    assert_eq!(out.headers()["content-encoding"], "gzip");
    assert_eq!(out.into_body().collect().await.unwrap().to_bytes(), text);
}

#[tokio::test]
async fn every_frame_is_flushed() {
    for encoding in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
        let mut body = CompressedBody::encoded(encoding, Bytes::new(), ProxyBody::empty());
        let mut sent = Vec::new();
        let mut got = Vec::new();
        for chunk in ["first chunk\n", "second chunk\n", "third\n"] {
            // As if the upstream had just sent this frame.
            body.prefix = Some(Bytes::from(chunk));
            sent.extend_from_slice(chunk.as_bytes());
            let out = body.frame().await.unwrap().unwrap().into_data().unwrap();
            got.extend_from_slice(&out);
            assert_eq!(
                partial(encoding, &got),
                sent,
                "{encoding:?} after {chunk:?}"
            );
        }
        while let Some(frame) = body.frame().await {
            got.extend_from_slice(&frame.unwrap().into_data().unwrap());
        }
        assert!(body.is_end_stream());
        assert_eq!(decode(encoding.name(), &got), sent);
    }
}

/// What an unfinished stream decodes to so far.
fn partial(encoding: Encoding, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = match encoding {
        Encoding::Gzip => flate2::read::GzDecoder::new(data).read_to_end(&mut out),
        Encoding::Brotli => brotli::Decompressor::new(data, 4096).read_to_end(&mut out),
        Encoding::Zstd => zstd::stream::read::Decoder::new(data)
            .unwrap()
            .read_to_end(&mut out),
    };
    out
}
