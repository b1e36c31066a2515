//! Raw HTTP/1.1 over TCP, both directions: the client writes a request byte for byte (so odd
//! targets such as `/a/../b`, `%2F` or a backslash reach the proxy unchanged) and reads one
//! response; the echo backend reads one request. Every read is bounded by a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Largest head either side accepts (Traefik's default is 1 MiB; cases stay far below).
const MAX_HEAD: usize = 64 * 1024;
/// Largest body either side reads.
const MAX_BODY: usize = 1024 * 1024;

/// One parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names as received, values in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// All values of `name` (case-insensitive), in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One parsed HTTP request (what the echo backend saw).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Sends `request` to `addr` and reads one response (skipping interim 1xx answers). An error
/// (refused, reset, closed without answer, timeout) is a string describing it: the differential
/// compares it like any other answer.
pub fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect failed: {}", e.kind()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request)
        .map_err(|e| format!("write failed: {}", e.kind()))?;
    let head_only = request.starts_with(b"HEAD ");
    let mut buf = Vec::new();
    loop {
        let (status, headers, head_len) = loop {
            if let Some(parsed) = parse_response_head(&buf)? {
                break parsed;
            }
            if !read_more(&mut stream, &mut buf, deadline)? {
                return Err(if buf.is_empty() {
                    "connection closed without a response".to_string()
                } else {
                    "connection closed inside the response head".to_string()
                });
            }
        };
        buf.drain(..head_len);
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let no_body = head_only || status == 204 || status == 304 || status == 101;
        let body = if no_body {
            Vec::new()
        } else {
            read_body(&mut stream, &mut buf, &headers, deadline, true)?
        };
        return Ok(Response {
            status,
            headers,
            body,
        });
    }
}

/// Reads one request from `stream` (head and body). `None` when the peer closed before sending
/// anything.
pub fn read_request(stream: &mut TcpStream, timeout: Duration) -> Result<Option<Request>, String> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    let (method, target, headers, head_len) = loop {
        if let Some(parsed) = parse_request_head(&buf)? {
            break parsed;
        }
        if !read_more(stream, &mut buf, deadline)? {
            if buf.is_empty() {
                return Ok(None);
            }
            return Err("connection closed inside the request head".to_string());
        }
    };
    buf.drain(..head_len);
    let body = read_body(stream, &mut buf, &headers, deadline, false)?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

/// Reads more bytes into `buf`; `false` on a clean end of stream.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Result<bool, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("timed out".to_string());
    }
    stream
        .set_read_timeout(Some(left))
        .map_err(|e| e.to_string())?;
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) => Ok(false),
        Ok(n) => {
            if buf.len() + n > MAX_HEAD + MAX_BODY {
                return Err("message too large".to_string());
            }
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Err("timed out".to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            Err("connection reset".to_string())
        }
        Err(e) => Err(format!("read failed: {}", e.kind())),
    }
}

type ResponseHead = (u16, Vec<(String, String)>, usize);
type RequestHead = (String, String, Vec<(String, String)>, usize);

fn parse_response_head(buf: &[u8]) -> Result<Option<ResponseHead>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let status = resp.code.unwrap_or(0);
            Ok(Some((status, header_pairs(resp.headers), len)))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            Err("response head too large".to_string())
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("malformed response: {e}")),
    }
}

fn parse_request_head(buf: &[u8]) -> Result<Option<RequestHead>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => Ok(Some((
            req.method.unwrap_or("").to_string(),
            req.path.unwrap_or("").to_string(),
            header_pairs(req.headers),
            len,
        ))),
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            Err("request head too large".to_string())
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("malformed request: {e}")),
    }
}

fn header_pairs(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads a body framed by `Transfer-Encoding: chunked` or `Content-Length`; without either, a
/// response body runs to the end of the stream and a request has none.
fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    headers: &[(String, String)],
    deadline: Instant,
    is_response: bool,
) -> Result<Vec<u8>, String> {
    let chunked = header(headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            if let Some(body) = decode_chunked(buf)? {
                return Ok(body);
            }
            if !read_more(stream, buf, deadline)? {
                return Err("connection closed inside a chunked body".to_string());
            }
        }
    }
    if let Some(len) = header(headers, "content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        if len > MAX_BODY {
            return Err("body too large".to_string());
        }
        while buf.len() < len {
            if !read_more(stream, buf, deadline)? {
                return Err("connection closed inside the body".to_string());
            }
        }
        return Ok(buf[..len].to_vec());
    }
    if !is_response {
        return Ok(Vec::new());
    }
    while read_more(stream, buf, deadline)? {}
    Ok(std::mem::take(buf))
}

/// The decoded body once `buf` holds a complete chunked body (trailers skipped).
fn decode_chunked(buf: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(line_end) = find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&buf[pos..pos + line_end]).into_owned();
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        pos += line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let Some(end) = find(&buf[pos..], b"\r\n") else {
                    return Ok(None);
                };
                pos += end + 2;
                if end == 0 {
                    return Ok(Some(body));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::decode_chunked;

    #[test]
    fn chunked_bodies_decode_once_complete() {
        assert_eq!(
            decode_chunked(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            Some(b"abcde".to_vec())
        );
        assert_eq!(decode_chunked(b"3\r\nabc\r\n").unwrap(), None);
        assert!(decode_chunked(b"zz\r\n").is_err());
    }
}
