//! `compress`: compresses response bodies with gzip, brotli or zstd, chosen by the request's
//! `Accept-Encoding` (Traefik v3 semantics).
//!
//! The choice is made on the request head ([`plan`], before the request is forwarded) and applied
//! to the response ([`Plan::apply`]). A response is compressed unless: the request is `HEAD` or
//! has an excluded `Content-Type` (`application/grpc` always is); the response is 1xx, 204, 206
//! or 304, already has a `Content-Encoding`, carries `Cache-Control: no-transform`, has an
//! excluded (or not included) media type, or a body smaller than `minResponseBodyBytes`.
//!
//! A body of unknown length (no `Content-Length`) is read until `minResponseBodyBytes` arrive,
//! the body ends, or the upstream pauses with some data read (its "flush", as Traefik decides on
//! a flush): only the first case compresses, so a slow stream is never held back. The compressed
//! body streams: every upstream frame is compressed and flushed as it comes (see [`body`]).
//!
//! Differences from Traefik: no MIME sniffing of responses without `Content-Type` (they count as
//! a type that is not in any list); `*` never selects an encoding the client refused with `q=0`;
//! `Cache-Control: no-transform` is honoured.

mod body;

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body::Body;

pub use body::CompressedBody;

use super::config::CompressConfig;
use super::error::MiddlewareError;
use super::Middleware;
use crate::body::ProxyBody;

const M: &str = "compress";

/// Traefik's `defaultMinSize`.
pub const DEFAULT_MIN_BYTES: u64 = 1024;

/// A content coding this proxy can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Brotli,
    Zstd,
}

impl Encoding {
    /// Traefik v3's default `encodings`, in priority order.
    pub const DEFAULT: [Encoding; 3] = [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd];

    /// The `Content-Encoding` token (and the config name).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    fn parse(name: &str) -> Option<Encoding> {
        let name = name.trim();
        Encoding::DEFAULT
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }
}

/// Which response media types are compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Types {
    /// All but these (always holds `application/grpc`).
    Except(Vec<String>),
    /// Only these.
    Only(Vec<String>),
}

/// Compiled `compress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compress {
    /// Media types (lowercase, no parameters) whose requests are never answered compressed.
    request_excludes: Vec<String>,
    types: Types,
    min_bytes: u64,
    /// Priority order: on equal `q`, the earlier wins.
    encodings: Vec<Encoding>,
    default_encoding: Option<Encoding>,
}

const GRPC: &str = "application/grpc";

/// A configured media type: `type/subtype`, parameters dropped, compared lowercase.
fn parse_media_type(option: &'static str, value: &str) -> Result<String, MiddlewareError> {
    let media = media_type(value);
    let valid = media.split_once('/').is_some_and(|(t, s)| {
        let token = |x: &str| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-*".contains(&b))
        };
        token(t) && token(s)
    });
    if !valid {
        return Err(MiddlewareError::invalid(
            M,
            option,
            value,
            "is not a media type (type/subtype)",
        ));
    }
    Ok(media.to_ascii_lowercase())
}

/// The media type of a `Content-Type` value: before any `;`, trimmed.
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or("").trim()
}

fn contains_media(list: &[String], media: &str) -> bool {
    list.iter().any(|m| m.eq_ignore_ascii_case(media))
}

impl Compress {
    pub fn compile(cfg: &CompressConfig) -> Result<Self, MiddlewareError> {
        if !cfg.excluded_content_types.is_empty() && !cfg.included_content_types.is_empty() {
            return Err(MiddlewareError::invalid(
                M,
                "includedContentTypes",
                cfg.included_content_types.join(","),
                "excludedContentTypes and includedContentTypes are mutually exclusive",
            ));
        }
        let mut excludes = vec![GRPC.to_string()];
        for v in &cfg.excluded_content_types {
            excludes.push(parse_media_type("excludedContentTypes", v)?);
        }
        let mut includes = Vec::new();
        for v in &cfg.included_content_types {
            includes.push(parse_media_type("includedContentTypes", v)?);
        }
        let encodings = match &cfg.encodings {
            None => Encoding::DEFAULT.to_vec(),
            Some(names) => {
                let mut out = Vec::new();
                for name in names {
                    let e = Encoding::parse(name).ok_or_else(|| {
                        MiddlewareError::invalid(
                            M,
                            "encodings",
                            name,
                            "is not a supported encoding (gzip, br, zstd)",
                        )
                    })?;
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
                if out.is_empty() {
                    return Err(MiddlewareError::invalid(
                        M,
                        "encodings",
                        "",
                        "at least one encoding must be specified",
                    ));
                }
                out
            }
        };
        let default_encoding = match cfg.default_encoding.trim() {
            "" => None,
            name => match Encoding::parse(name) {
                Some(e) if encodings.contains(&e) => Some(e),
                _ => {
                    return Err(MiddlewareError::invalid(
                        M,
                        "defaultEncoding",
                        name,
                        "must be one of the supported encodings",
                    ))
                }
            },
        };
        let types = if includes.is_empty() {
            Types::Except(excludes.clone())
        } else {
            Types::Only(includes)
        };
        Ok(Compress {
            request_excludes: excludes,
            types,
            min_bytes: u64::try_from(cfg.min_response_body_bytes)
                .ok()
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_MIN_BYTES),
            encodings,
            default_encoding,
        })
    }

    /// The encoding for a request with these `Accept-Encoding` values (`None` when the request
    /// has no such header), or `None` for identity. Highest `q` wins; on a tie `*` first, then
    /// the `encodings` order, identity last. `*` means `defaultEncoding` (else the first
    /// encoding) unless the client refused it with `q=0`.
    pub fn negotiate<'v>(
        &self,
        accept: Option<impl IntoIterator<Item = &'v str>>,
    ) -> Option<Encoding> {
        let Some(values) = accept else {
            return self.default_encoding;
        };
        #[derive(Clone, Copy)]
        enum Choice {
            Any,
            Identity,
            Coding(Encoding),
        }
        let rank = |c: Choice| -> isize {
            match c {
                Choice::Any => -1,
                Choice::Coding(e) => self
                    .encodings
                    .iter()
                    .position(|x| *x == e)
                    .map_or(isize::MAX, |i| i as isize),
                Choice::Identity => self.encodings.len() as isize,
            }
        };
        let mut refused: Vec<Encoding> = Vec::new();
        let mut best: Option<(f32, isize, Choice)> = None;
        for element in values.into_iter().flat_map(|v| v.split(',')) {
            let mut parts = element.split(';');
            let name = parts.next().unwrap_or("").trim();
            if name.is_empty() {
                continue;
            }
            let mut q = Some(1.0f32);
            for param in parts {
                let param = param.trim();
                if let Some(v) = param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                {
                    q = v
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q));
                }
            }
            let Some(q) = q else { continue };
            let choice = if name == "*" {
                Choice::Any
            } else if name.eq_ignore_ascii_case("identity") {
                Choice::Identity
            } else {
                match Encoding::parse(name) {
                    Some(e) if self.encodings.contains(&e) => Choice::Coding(e),
                    _ => continue,
                }
            };
            if q <= 0.0 {
                if let Choice::Coding(e) = choice {
                    refused.push(e);
                }
                continue;
            }
            let r = rank(choice);
            if best.is_none_or(|(bq, br, _)| q > bq || (q == bq && r < br)) {
                best = Some((q, r, choice));
            }
        }
        match best?.2 {
            Choice::Identity => None,
            Choice::Coding(e) if refused.contains(&e) => None,
            Choice::Coding(e) => Some(e),
            Choice::Any => self
                .default_encoding
                .into_iter()
                .chain(self.encodings.iter().copied())
                .find(|e| !refused.contains(e)),
        }
    }

    /// Whether a request with this head may get a compressed answer, and in which encoding.
    fn choose(&self, req: &http::request::Parts) -> Option<Encoding> {
        if req.method == Method::HEAD {
            return None;
        }
        if let Some(ct) = req.headers.get(header::CONTENT_TYPE) {
            let media = ct.to_str().map(media_type).unwrap_or("");
            if contains_media(&self.request_excludes, media) {
                return None;
            }
        }
        let accept = &req.headers.get_all(header::ACCEPT_ENCODING);
        let present = accept.iter().next().is_some();
        self.negotiate(present.then(|| accept.iter().map(|v| v.to_str().unwrap_or(""))))
    }

    /// Whether a response with this media type (`None`: no `Content-Type`) may be compressed.
    pub fn compresses_type(&self, media: Option<&str>) -> bool {
        match (&self.types, media) {
            (Types::Except(list), Some(m)) => !contains_media(list, m),
            (Types::Except(_), None) => true,
            (Types::Only(list), Some(m)) => contains_media(list, m),
            (Types::Only(_), None) => false,
        }
    }

    /// Whether this response head allows compression at all (size aside).
    fn eligible(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        if status.is_informational()
            || matches!(
                status,
                StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
            )
        {
            return false;
        }
        if headers.contains_key(header::CONTENT_ENCODING)
            || headers.contains_key(header::CONTENT_RANGE)
        {
            return false;
        }
        if has_token(headers, header::CACHE_CONTROL, "no-transform") {
            return false;
        }
        let media = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().map(media_type).unwrap_or(""))
            .filter(|m| !m.is_empty());
        self.compresses_type(media)
    }
}

/// Whether a comma-separated header has this token (case-insensitive; parameters ignored).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|t| {
                let t = t.split(['=', ';']).next().unwrap_or("").trim();
                t.eq_ignore_ascii_case(token)
            })
        })
    })
}

/// A decision taken on the request: compress the response with `encoding` if it qualifies.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    compress: &'a Compress,
    pub encoding: Encoding,
}

/// The plan of the first `compress` middleware among those the response passes through, or
/// `None` (no such middleware, or the request does not get a compressed answer). Call it before
/// the request head is handed to the upstream.
pub fn plan<'a>(
    middlewares: &'a [Arc<Middleware>],
    req: &http::request::Parts,
) -> Option<Plan<'a>> {
    let compress = middlewares.iter().find_map(|m| match &**m {
        Middleware::Compress(c) => Some(c),
        _ => None,
    })?;
    let encoding = compress.choose(req)?;
    Some(Plan { compress, encoding })
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How reading the first bytes of a body of unknown length ended.
enum Prefix {
    /// At least `min` bytes arrived: compress.
    Enough,
    /// The body ended (maybe with trailers) below `min`.
    Ended(Option<HeaderMap>),
    /// The upstream paused with data read: send as it is, without waiting.
    Paused,
    Failed,
}

impl Plan<'_> {
    /// Compresses the response when it qualifies; otherwise returns it unchanged (a body of
    /// unknown length may have been partly read, and is then re-emitted first).
    pub async fn apply(self, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        if !self.compress.eligible(resp.status(), resp.headers()) || resp.body().is_end_stream() {
            return resp;
        }
        let min = self.compress.min_bytes;
        match declared_length(resp.headers()) {
            Some(n) if n < min => return resp,
            Some(_) => return self.encode(resp, Bytes::new()),
            None => {}
        }
        let (mut head, mut body) = resp.into_parts();
        let mut buf = BytesMut::new();
        let outcome = poll_fn(|cx| loop {
            match Pin::new(&mut body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        buf.extend_from_slice(&data);
                        if buf.len() as u64 >= min {
                            return Poll::Ready(Prefix::Enough);
                        }
                    }
                    Err(frame) => return Poll::Ready(Prefix::Ended(frame.into_trailers().ok())),
                },
                Poll::Ready(Some(Err(_))) => return Poll::Ready(Prefix::Failed),
                Poll::Ready(None) => return Poll::Ready(Prefix::Ended(None)),
                Poll::Pending if buf.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Prefix::Paused),
            }
        })
        .await;
        let prefix = buf.freeze();
        match outcome {
            Prefix::Enough => self.encode(Response::from_parts(head, body), prefix),
            Prefix::Ended(None) => {
                head.headers.remove(header::TRANSFER_ENCODING);
                head.headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(prefix.len()));
                Response::from_parts(head, ProxyBody::full(prefix))
            }
            Prefix::Ended(trailers) => Response::from_parts(
                head,
                CompressedBody::identity(prefix, None, trailers).into(),
            ),
            Prefix::Paused => Response::from_parts(
                head,
                CompressedBody::identity(prefix, Some(body), None).into(),
            ),
            Prefix::Failed => {
                let mut resp = Response::new(ProxyBody::full(Bytes::from_static(b"Bad Gateway")));
                *resp.status_mut() = StatusCode::BAD_GATEWAY;
                resp
            }
        }
    }

    /// Switches the response to a compressed stream: `prefix` (already read) then the body.
    fn encode(self, resp: Response<ProxyBody>, prefix: Bytes) -> Response<ProxyBody> {
        let (mut head, body) = resp.into_parts();
        let h = &mut head.headers;
        h.remove(header::CONTENT_LENGTH);
        h.remove(header::ACCEPT_RANGES);
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(self.encoding.name()),
        );
        if !has_token(h, header::VARY, "accept-encoding") && !has_token(h, header::VARY, "*") {
            h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        let body = CompressedBody::encoded(self.encoding, prefix, body);
        Response::from_parts(head, body.into())
    }
}

#[cfg(test)]
mod tests;
