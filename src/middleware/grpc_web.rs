//! `grpcWeb`: gRPC-Web to gRPC translation, as Traefik's `grpcWeb` (its fork of improbable-eng's
//! grpcweb wrapper with rs/cors 1.7 in front).
//!
//! Requests: a `POST` whose `Content-Type` starts with `application/grpc-web` (or an `OPTIONS`
//! whose `Access-Control-Request-Headers` names `x-grpc-web`) is handled; anything else passes
//! untouched. A CORS preflight (with `Access-Control-Request-Method`) is answered 200 at once:
//! `Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers` and, when the
//! `Origin` is allowed (`allowOrigins`: `*` or the exact origin) and the method is `GET`, `POST`
//! or `HEAD`, `Access-Control-Allow-Origin: <origin>`, `-Allow-Methods`, `-Allow-Headers` (the
//! requested ones, canonical case), `-Allow-Credentials: true`, `-Max-Age: 600`. Other handled
//! requests get `Vary: Origin` (+ `Access-Control-Allow-Origin`/`-Credentials` for an allowed
//! origin) and are translated: the first `application/grpc-web-text` or `application/grpc-web` in
//! the `Content-Type` becomes `application/grpc`, `Content-Length` goes (the body is streamed),
//! and a `-text` body is base64-decoded on the way.
//!
//! Responses of translated requests: `application/grpc` in `Content-Type` becomes the request's
//! gRPC-Web type, `Trailer` and `Content-Length` go, `Access-Control-Expose-Headers` lists the
//! response's header names plus `grpc-status, grpc-message`; the body is passed on and the
//! upstream's trailers follow it as a gRPC-Web trailer frame (`0x80`, 4-byte length,
//! `name: value\r\n` lines, lowercase names in order); for `-text` every frame is base64
//! (padded per frame, as gRPC-Web allows).
//!
//! Deliberate difference: Go keeps an upstream `Content-Length` and then cuts the body (and the
//! trailer frame) at that length; swarmgate drops it. The backend should be gRPC over HTTP/2
//! (`h2c://` or `https://` servers), as in Traefik.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use super::config::GrpcWebConfig;
use super::Flow;
use crate::body::{BoxError, ProxyBody};

const GRPC_WEB: &str = "application/grpc-web";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC: &str = "application/grpc";
/// gRPC-Web text bodies: standard base64 with padding.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Compiled `grpcWeb`.
#[derive(Debug)]
pub struct GrpcWeb {
    origins: Vec<String>,
}

/// A request this middleware translated: how to translate its response back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translated {
    text: bool,
}

impl GrpcWeb {
    pub fn compile(cfg: &GrpcWebConfig) -> Self {
        GrpcWeb {
            origins: cfg.allow_origins.clone(),
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    /// Handles the request head and body: a preflight answer, a translated request (its
    /// [`Translated`] returned through `translated`), or nothing.
    pub fn on_request(
        &self,
        req: &mut http::request::Parts,
        body: &mut ProxyBody,
        translated: &mut Option<(Translated, HeaderMap)>,
    ) -> Flow {
        let h = &req.headers;
        let content_type = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_web = req.method == Method::POST && content_type.starts_with(GRPC_WEB);
        let acrh = h
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_cors = req.method == Method::OPTIONS && acrh.contains("x-grpc-web");
        if !is_web && !is_cors {
            return Flow::Continue;
        }
        let origin = h
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if req.method == Method::OPTIONS && h.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            return Flow::Respond(self.preflight(h, &origin));
        }
        // rs/cors' actual-request headers, set before the wrapped handler writes.
        let mut cors = HeaderMap::new();
        cors.append(header::VARY, HeaderValue::from_static("Origin"));
        if !origin.is_empty() && self.origin_allowed(&origin) {
            if let Ok(v) = HeaderValue::from_str(&origin) {
                cors.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                cors.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
        }
        let text = content_type.starts_with(GRPC_WEB_TEXT);
        let from = if text { GRPC_WEB_TEXT } else { GRPC_WEB };
        let new_type = content_type.replacen(from, GRPC, 1);
        // An OPTIONS without a grpc-web type keeps its (absent) Content-Type.
        if let Ok(v) = HeaderValue::from_str(&new_type) {
            if !new_type.is_empty() {
                req.headers.insert(header::CONTENT_TYPE, v);
            }
        }
        req.headers.remove(header::CONTENT_LENGTH);
        if text {
            let inner = std::mem::take(body);
            *body = GrpcWebBody::decode(inner).into();
        }
        *translated = Some((Translated { text }, cors));
        Flow::Continue
    }

    /// rs/cors 1.7's preflight answer.
    fn preflight(&self, h: &HeaderMap, origin: &str) -> Response<Bytes> {
        let mut resp = Response::new(Bytes::new());
        let out = resp.headers_mut();
        for v in [
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
        ] {
            out.append(header::VARY, HeaderValue::from_static(v));
        }
        let method = h
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_uppercase();
        let method_ok = ["GET", "POST", "HEAD", "OPTIONS"].contains(&method.as_str());
        if origin.is_empty() || !self.origin_allowed(origin) || !method_ok {
            return resp;
        }
        let requested: Vec<String> = h
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(canonical)
            .collect();
        let mut set = |name: HeaderName, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                out.insert(name, v);
            }
        };
        set(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        set(header::ACCESS_CONTROL_ALLOW_METHODS, &method);
        if !requested.is_empty() {
            set(header::ACCESS_CONTROL_ALLOW_HEADERS, &requested.join(", "));
        }
        set(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        set(header::ACCESS_CONTROL_MAX_AGE, "600");
        *resp.status_mut() = StatusCode::OK;
        resp
    }
}

/// Go's `http.CanonicalHeaderKey` for a token: `x-grpc-web` → `X-Grpc-Web`.
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// Translates the response of a translated request back to gRPC-Web.
pub fn respond(
    translated: Translated,
    cors: HeaderMap,
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let (mut head, body) = resp.into_parts();
    let h = &mut head.headers;
    let web = if translated.text {
        GRPC_WEB_TEXT
    } else {
        GRPC_WEB
    };
    let types: Vec<HeaderValue> = h
        .get_all(header::CONTENT_TYPE)
        .iter()
        .map(|v| match v.to_str() {
            Ok(s) => HeaderValue::from_str(&s.replacen(GRPC, web, 1)).unwrap_or_else(|_| v.clone()),
            Err(_) => v.clone(),
        })
        .collect();
    h.remove(header::CONTENT_TYPE);
    for v in types {
        h.append(header::CONTENT_TYPE, v);
    }
    h.remove(header::TRAILER);
    h.remove(header::CONTENT_LENGTH);
    for (name, value) in &cors {
        h.append(name.clone(), value.clone());
    }
    let mut names: Vec<String> = Vec::new();
    for name in h.keys() {
        let name = canonical(name.as_str());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.extend(["grpc-status".to_owned(), "grpc-message".to_owned()]);
    if let Ok(v) = HeaderValue::from_str(&names.join(", ")) {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
    let body = GrpcWebBody::encode(body, translated.text);
    Response::from_parts(head, body.into())
}

/// The gRPC-Web trailer frame for `trailers`: lowercase names, sorted, `name: value\r\n`.
pub fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    let mut lines: Vec<(String, String)> = trailers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes())
                .replace(['\r', '\n'], " ")
                .trim()
                .to_owned();
            (k.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = BytesMut::new();
    for (k, v) in lines {
        block.put_slice(k.as_bytes());
        block.put_slice(b": ");
        block.put_slice(v.as_bytes());
        block.put_slice(b"\r\n");
    }
    let mut frame = BytesMut::with_capacity(5 + block.len());
    frame.put_u8(0x80);
    frame.put_u32(u32::try_from(block.len()).unwrap_or(u32::MAX));
    frame.put_slice(&block);
    frame.freeze()
}

/// Body of a translated exchange: a `-text` request body decoded from base64, or a response
/// body with its trailers appended as a frame (base64-encoded per frame in text mode).
pub struct GrpcWebBody {
    inner: Option<ProxyBody>,
    kind: Kind,
    /// Decode: base64 characters not yet a multiple of 4.
    carry: BytesMut,
    /// Encode: the trailer frame is still to be sent.
    pending: Option<Bytes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Decode,
    Encode { text: bool },
}

impl GrpcWebBody {
    fn decode(inner: ProxyBody) -> Self {
        GrpcWebBody {
            inner: Some(inner),
            kind: Kind::Decode,
            carry: BytesMut::new(),
            pending: None,
        }
    }

    fn encode(inner: ProxyBody, text: bool) -> Self {
        GrpcWebBody {
            inner: Some(inner),
            kind: Kind::Encode { text },
            carry: BytesMut::new(),
            pending: None,
        }
    }

    fn out(&self, data: Bytes) -> Bytes {
        match self.kind {
            Kind::Encode { text: true } => Bytes::from(B64.encode(&data)),
            _ => data,
        }
    }

    /// Decodes the complete 4-character groups of `carry` + `data` (ignoring whitespace).
    fn decode_chunk(&mut self, data: &[u8], last: bool) -> Result<Bytes, BoxError> {
        self.carry
            .extend(data.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        let n = if last {
            self.carry.len()
        } else {
            self.carry.len() / 4 * 4
        };
        let chunk = self.carry.split_to(n);
        // Padded groups may repeat (several padded parts): decode group by group after `=`.
        let mut out = Vec::with_capacity(chunk.len() / 4 * 3);
        for part in chunk.split_inclusive(|&b| b == b'=') {
            if part.is_empty() || part.iter().all(|&b| b == b'=') {
                continue;
            }
            let mut piece = part.to_vec();
            while piece.len() % 4 != 0 {
                piece.push(b'=');
            }
            out.extend(
                B64.decode(&piece)
                    .map_err(|e| -> BoxError { Box::new(e) })?,
            );
        }
        Ok(Bytes::from(out))
    }
}

impl std::fmt::Debug for GrpcWebBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcWebBody")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl From<GrpcWebBody> for ProxyBody {
    fn from(body: GrpcWebBody) -> Self {
        ProxyBody::GrpcWeb {
            body: Box::new(body),
        }
    }
}

impl Body for GrpcWebBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.pending.take() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.inner = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => match this.kind {
                        Kind::Decode => match this.decode_chunk(&data, false) {
                            Ok(d) if d.is_empty() => continue,
                            Ok(d) => return Poll::Ready(Some(Ok(Frame::data(d)))),
                            Err(e) => {
                                this.inner = None;
                                return Poll::Ready(Some(Err(e)));
                            }
                        },
                        Kind::Encode { .. } if data.is_empty() => continue,
                        Kind::Encode { .. } => {
                            return Poll::Ready(Some(Ok(Frame::data(this.out(data)))))
                        }
                    },
                    Err(frame) => {
                        let trailers = frame.into_trailers().unwrap_or_default();
                        this.inner = None;
                        match this.kind {
                            // Request trailers (rare) are dropped, as Go's decoder drops them.
                            Kind::Decode => {}
                            Kind::Encode { .. } => {
                                this.pending = Some(this.out(trailer_frame(&trailers)));
                            }
                        }
                    }
                },
                Poll::Ready(None) => {
                    this.inner = None;
                    match this.kind {
                        Kind::Decode => match this.decode_chunk(&[], true) {
                            Ok(d) if d.is_empty() => {}
                            Ok(d) => this.pending = Some(d),
                            Err(e) => return Poll::Ready(Some(Err(e))),
                        },
                        Kind::Encode { .. } => {
                            this.pending = Some(this.out(trailer_frame(&HeaderMap::new())));
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none() && self.pending.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_frames_are_lowercase_sorted_and_length_prefixed() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_static("0"));
        t.insert("Grpc-Message", HeaderValue::from_static("OK"));
        t.append("x-b", HeaderValue::from_static("1"));
        t.append("x-b", HeaderValue::from_static("2"));
        let f = trailer_frame(&t);
        let block: &[u8] = b"grpc-message: OK\r\ngrpc-status: 0\r\nx-b: 1\r\nx-b: 2\r\n";
        assert_eq!(f[0], 0x80);
        assert_eq!(
            u32::from_be_bytes([f[1], f[2], f[3], f[4]]) as usize,
            block.len()
        );
        assert_eq!(&f[5..], block);
        assert_eq!(&trailer_frame(&HeaderMap::new())[..], b"\x80\0\0\0\0");
    }

    #[test]
    fn canonical_names_as_go() {
        assert_eq!(canonical("x-grpc-web"), "X-Grpc-Web");
        assert_eq!(canonical("CONTENT-TYPE"), "Content-Type");
    }

    /// Base64 split anywhere across frames, and several padded parts, decode to the bytes.
    #[test]
    fn text_bodies_decode_across_frames_and_padded_parts() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let msg = b"\x00\x00\x00\x00\x05hello world, gRPC-Web";
        let one = b64.encode(msg);
        let two = format!("{}{}", b64.encode(&msg[..7]), b64.encode(&msg[7..]));
        for text in [one, two] {
            for split in 0..text.len() {
                let mut body = GrpcWebBody::decode(ProxyBody::empty());
                let mut out = Vec::new();
                out.extend(body.decode_chunk(&text.as_bytes()[..split], false).unwrap());
                out.extend(body.decode_chunk(&text.as_bytes()[split..], false).unwrap());
                out.extend(body.decode_chunk(&[], true).unwrap());
                assert_eq!(out, msg, "{text} split at {split}");
            }
        }
        let mut body = GrpcWebBody::decode(ProxyBody::empty());
        assert!(body.decode_chunk(b"!!!!", false).is_err());
    }
}
