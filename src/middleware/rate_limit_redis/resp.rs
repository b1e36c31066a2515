//! The RESP2 wire format as far as the token bucket needs it: commands encoded as arrays of bulk
//! strings, replies read with bounded sizes (a hostile or broken server cannot make us allocate
//! more than `MAX_BULK` per string, `MAX_ARRAY` elements per array).

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};

/// Largest bulk string or array accepted from redis (the script answers three short strings).
pub(super) const MAX_BULK: usize = 64 * 1024;
pub(super) const MAX_ARRAY: usize = 64;

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

pub(super) fn protocol(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("redis protocol: {what}"),
    )
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub(super) async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R) -> io::Result<String> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_BULK as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "redis closed the connection",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(protocol("line without CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| protocol("line is not UTF-8"))
}

pub(super) fn length(s: &str, max: usize) -> io::Result<Option<usize>> {
    let n: i64 = s.parse().map_err(|_| protocol("bad length"))?;
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(protocol("negative length")),
        n => {
            let n = usize::try_from(n).map_err(|_| protocol("length too large"))?;
            if n > max {
                return Err(protocol("reply too large"));
            }
            Ok(Some(n))
        }
    }
}

/// Reads one reply (arrays nest at most a few levels in practice; bounded by `MAX_ARRAY`).
pub async fn read_reply<R: AsyncBufReadExt + Unpin + Send>(r: &mut R) -> io::Result<Reply> {
    read_nested(r, 0).await
}

pub(super) fn read_nested<'a, R: AsyncBufReadExt + Unpin + Send>(
    r: &'a mut R,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        if depth > 4 {
            return Err(protocol("replies nested too deep"));
        }
        let line = read_line(r).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        Ok(match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().map_err(|_| protocol("bad integer"))?),
            "$" => match length(rest, MAX_BULK)? {
                None => Reply::Bulk(None),
                Some(n) => {
                    let mut buf = vec![0; n + 2];
                    r.read_exact(&mut buf).await?;
                    if !buf.ends_with(b"\r\n") {
                        return Err(protocol("bulk string without CRLF"));
                    }
                    buf.truncate(n);
                    Reply::Bulk(Some(buf))
                }
            },
            "*" => match length(rest, MAX_ARRAY)? {
                None => Reply::Array(None),
                Some(n) => {
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(read_nested(r, depth + 1).await?);
                    }
                    Reply::Array(Some(items))
                }
            },
            _ => return Err(protocol("unknown reply type")),
        })
    })
}
