//! `contentType`: Content-Type detection for responses that have none, as Traefik's `contentType`.
//!
//! Traefik's entrypoints stop Go from guessing a `Content-Type` (a response without one goes
//! without one, as swarmgate does everywhere); the `contentType` middleware turns Go's guess back
//! on for its routers: a response that has no `Content-Type` and no (non-empty)
//! `Content-Encoding`, whose status allows a body and whose body is not empty gets the type Go's
//! `http.DetectContentType` (WHATWG mime sniffing) finds in the first bytes of the body (the
//! first data frame, at most 512 bytes looked at: Go looks at its first write). `autoDetect:
//! false` makes the middleware do nothing; setting `autoDetect` at all is deprecated in Traefik
//! (a warning notice).
//!
//! Pure but for [`sniff`], which awaits the first body frame before the head goes out.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body::Body;

use super::basic_auth::Notice;
use super::compress::CompressedBody;
use super::config::ContentTypeConfig;
use super::Middleware;
use crate::body::ProxyBody;

/// Compiled `contentType`.
#[derive(Debug)]
pub struct ContentType {
    /// False for `autoDetect: false` (the middleware does nothing).
    detect: bool,
    notices: Vec<Notice>,
}

impl ContentType {
    pub fn compile(cfg: &ContentTypeConfig) -> Self {
        let notices = match cfg.auto_detect {
            None => Vec::new(),
            Some(_) => vec![Notice {
                message: "contentType: option `autoDetect` is deprecated (Traefik v3): the \
                          middleware only turns Content-Type detection on; remove the option"
                    .to_owned(),
                error: false,
            }],
        };
        ContentType {
            detect: cfg.auto_detect != Some(false),
            notices,
        }
    }

    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }
}

/// Go's `bodyAllowedForStatus`.
fn body_allowed(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Gives a response without `Content-Type` the detected one when one of `middlewares` is a
/// detecting `contentType`; otherwise returns it as it is. Reads at most up to the first
/// non-empty data frame, which is sent first.
pub async fn sniff(
    middlewares: &[Arc<Middleware>],
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let wanted = middlewares
        .iter()
        .any(|m| matches!(&**m, Middleware::ContentType(c) if c.detect));
    let h = resp.headers();
    let encoded = h
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.is_empty());
    if !wanted
        || h.contains_key(header::CONTENT_TYPE)
        || encoded
        || !body_allowed(resp.status())
        || resp.body().is_end_stream()
    {
        return resp;
    }
    let (mut head, mut body) = resp.into_parts();
    loop {
        let frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Response::from_parts(head, ProxyBody::empty()),
            Some(Err(_)) => {
                let mut resp = Response::new(ProxyBody::full(Bytes::from_static(b"Bad Gateway")));
                *resp.status_mut() = StatusCode::BAD_GATEWAY;
                return resp;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => {
                    head.headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(detect(&data)),
                    );
                    let rest = CompressedBody::identity(data, Some(body), None);
                    return Response::from_parts(head, rest.into());
                }
                Err(frame) => {
                    let trailers = frame.into_trailers().ok();
                    let rest = CompressedBody::identity(Bytes::new(), None, trailers);
                    return Response::from_parts(head, rest.into());
                }
            },
        }
    }
}

/// How a signature matches.
enum Sig {
    /// The data starts with these bytes.
    Exact(&'static [u8]),
    /// `data[i] & mask[i] == pattern[i]`, optionally after leading whitespace.
    Masked {
        mask: &'static [u8],
        pattern: &'static [u8],
        skip_ws: bool,
    },
    /// An HTML tag (case-insensitive letters), after whitespace, then a space or `>`.
    Html(&'static [u8]),
    Mp4,
    Text,
}

const HTML: &str = "text/html; charset=utf-8";
const RIFF_MASK: &[u8] = b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF";
/// Embedded OpenType: 34 bytes of anything, then `LP`.
const EOT_MASK: &[u8] =
    b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xFF\xFF";
const EOT_PATTERN: &[u8] =
    b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0LP";

/// Go's `sniffSignatures`, in its order (first match wins).
const SIGNATURES: &[(Sig, &str)] = &[
    (Sig::Html(b"<!DOCTYPE HTML"), HTML),
    (Sig::Html(b"<HTML"), HTML),
    (Sig::Html(b"<HEAD"), HTML),
    (Sig::Html(b"<SCRIPT"), HTML),
    (Sig::Html(b"<IFRAME"), HTML),
    (Sig::Html(b"<H1"), HTML),
    (Sig::Html(b"<DIV"), HTML),
    (Sig::Html(b"<FONT"), HTML),
    (Sig::Html(b"<TABLE"), HTML),
    (Sig::Html(b"<A"), HTML),
    (Sig::Html(b"<STYLE"), HTML),
    (Sig::Html(b"<TITLE"), HTML),
    (Sig::Html(b"<B"), HTML),
    (Sig::Html(b"<BODY"), HTML),
    (Sig::Html(b"<BR"), HTML),
    (Sig::Html(b"<P"), HTML),
    (Sig::Html(b"<!--"), HTML),
    (
        Sig::Masked {
            mask: b"\xFF\xFF\xFF\xFF\xFF",
            pattern: b"<?xml",
            skip_ws: true,
        },
        "text/xml; charset=utf-8",
    ),
    (Sig::Exact(b"%PDF-"), "application/pdf"),
    (Sig::Exact(b"%!PS-Adobe-"), "application/postscript"),
    (
        Sig::Masked {
            mask: b"\xFF\xFF\x00\x00",
            pattern: b"\xFE\xFF\x00\x00",
            skip_ws: false,
        },
        "text/plain; charset=utf-16be",
    ),
    (
        Sig::Masked {
            mask: b"\xFF\xFF\x00\x00",
            pattern: b"\xFF\xFE\x00\x00",
            skip_ws: false,
        },
        "text/plain; charset=utf-16le",
    ),
    (
        Sig::Masked {
            mask: b"\xFF\xFF\xFF\x00",
            pattern: b"\xEF\xBB\xBF\x00",
            skip_ws: false,
        },
        "text/plain; charset=utf-8",
    ),
    (Sig::Exact(b"\x00\x00\x01\x00"), "image/x-icon"),
    (Sig::Exact(b"\x00\x00\x02\x00"), "image/x-icon"),
    (Sig::Exact(b"BM"), "image/bmp"),
    (Sig::Exact(b"GIF87a"), "image/gif"),
    (Sig::Exact(b"GIF89a"), "image/gif"),
    (
        Sig::Masked {
            mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
            pattern: b"RIFF\x00\x00\x00\x00WEBPVP",
            skip_ws: false,
        },
        "image/webp",
    ),
    (Sig::Exact(b"\x89PNG\x0D\x0A\x1A\x0A"), "image/png"),
    (Sig::Exact(b"\xFF\xD8\xFF"), "image/jpeg"),
    (
        Sig::Masked {
            mask: RIFF_MASK,
            pattern: b"FORM\x00\x00\x00\x00AIFF",
            skip_ws: false,
        },
        "audio/aiff",
    ),
    (Sig::Exact(b"ID3"), "audio/mpeg"),
    (Sig::Exact(b"OggS\x00"), "application/ogg"),
    (Sig::Exact(b"MThd\x00\x00\x00\x06"), "audio/midi"),
    (
        Sig::Masked {
            mask: RIFF_MASK,
            pattern: b"RIFF\x00\x00\x00\x00AVI ",
            skip_ws: false,
        },
        "video/avi",
    ),
    (
        Sig::Masked {
            mask: RIFF_MASK,
            pattern: b"RIFF\x00\x00\x00\x00WAVE",
            skip_ws: false,
        },
        "audio/wave",
    ),
    (Sig::Mp4, "video/mp4"),
    (Sig::Exact(b"\x1A\x45\xDF\xA3"), "video/webm"),
    (
        Sig::Masked {
            mask: EOT_MASK,
            pattern: EOT_PATTERN,
            skip_ws: false,
        },
        "application/vnd.ms-fontobject",
    ),
    (Sig::Exact(b"\x00\x01\x00\x00"), "font/ttf"),
    (Sig::Exact(b"OTTO"), "font/otf"),
    (Sig::Exact(b"ttcf"), "font/collection"),
    (Sig::Exact(b"wOFF"), "font/woff"),
    (Sig::Exact(b"wOF2"), "font/woff2"),
    (Sig::Exact(b"\x1F\x8B\x08"), "application/x-gzip"),
    (Sig::Exact(b"PK\x03\x04"), "application/zip"),
    (
        Sig::Exact(b"Rar!\x1A\x07\x00"),
        "application/x-rar-compressed",
    ),
    (
        Sig::Exact(b"Rar!\x1A\x07\x01\x00"),
        "application/x-rar-compressed",
    ),
    (Sig::Exact(b"\x00asm"), "application/wasm"),
    (Sig::Text, "text/plain; charset=utf-8"),
];

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

impl Sig {
    fn matches(&self, data: &[u8], first_non_ws: usize) -> bool {
        match self {
            Sig::Exact(sig) => data.starts_with(sig),
            Sig::Masked {
                mask,
                pattern,
                skip_ws,
            } => {
                let data = if *skip_ws {
                    &data[first_non_ws..]
                } else {
                    data
                };
                data.len() >= mask.len()
                    && mask
                        .iter()
                        .zip(pattern.iter())
                        .zip(data)
                        .all(|((m, p), d)| d & m == *p)
            }
            Sig::Html(tag) => {
                let data = &data[first_non_ws..];
                if data.len() < tag.len() + 1 {
                    return false;
                }
                let same = tag.iter().zip(data).all(|(&t, &d)| {
                    let d = if t.is_ascii_uppercase() { d & 0xDF } else { d };
                    t == d
                });
                same && matches!(data[tag.len()], b' ' | b'>')
            }
            Sig::Mp4 => mp4(data),
            Sig::Text => !data[first_non_ws..].iter().any(|&b| {
                b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
            }),
        }
    }
}

/// WHATWG's mp4 signature: an `ftyp` box naming an `mp4` brand.
fn mp4(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if !size.is_multiple_of(4) || data.len() < size || &data[4..8] != b"ftyp" {
        return false;
    }
    (8..size)
        .step_by(4)
        .filter(|&st| st != 12)
        .any(|st| data.get(st..st + 3) == Some(b"mp4".as_slice()))
}

/// Go's `http.DetectContentType`: the type of `data` by its first 512 bytes, or
/// `application/octet-stream`.
pub fn detect(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(512)];
    let first_non_ws = data.iter().position(|&b| !is_ws(b)).unwrap_or(data.len());
    SIGNATURES
        .iter()
        .find(|(sig, _)| sig.matches(data, first_non_ws))
        .map_or("application/octet-stream", |(_, ct)| ct)
}
