//! Reading what a connection opens with, without consuming it: the TLS ClientHello's server name
//! and ALPN protocols (parsed from peeked bytes, so a passthrough backend or the HTTPS path still
//! gets every byte), and Postgres' SSLRequest. Pure parsing apart from [`peek_hello`].

use std::time::Duration;

use tokio::net::TcpStream;

/// What the first bytes of a connection say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// Not a TLS handshake (or nothing arrived in time and the caller decides).
    Plain,
    /// A TLS ClientHello: its server name (lowercased, no trailing dot; empty when absent) and
    /// the protocols offered in ALPN.
    Tls {
        server_name: String,
        alpn: Vec<String>,
    },
    /// Postgres' SSLRequest (8 bytes), which asks the server to start TLS.
    Postgres,
}

/// Postgres' SSLRequest: length 8, code 80877103.
pub const POSTGRES_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Largest ClientHello read (several records of at most 16 KiB each).
const MAX_HELLO: usize = 32 * 1024;

/// What a parse of a prefix found.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Done(Opening),
    /// More bytes are needed.
    Incomplete,
    /// A TLS record that is not a well-formed ClientHello: treated as TLS without a name, so the
    /// HTTPS path answers (and fails) the handshake as it would have.
    Malformed,
}

/// Parses the opening of a connection from `buf` (all bytes peeked so far).
pub fn parse(buf: &[u8], postgres: bool) -> Parsed {
    let Some(&first) = buf.first() else {
        return Parsed::Incomplete;
    };
    if postgres && first == 0 {
        let n = buf.len().min(8);
        if buf[..n] == POSTGRES_SSL_REQUEST[..n] {
            return match n {
                8 => Parsed::Done(Opening::Postgres),
                _ => Parsed::Incomplete,
            };
        }
        return Parsed::Done(Opening::Plain);
    }
    if first != 0x16 {
        return Parsed::Done(Opening::Plain);
    }
    // Gather the handshake bytes of consecutive handshake records.
    let mut handshake = Vec::new();
    let mut at = 0;
    loop {
        let Some(header) = buf.get(at..at + 5) else {
            return Parsed::Incomplete;
        };
        if header[0] != 0x16 {
            return Parsed::Malformed;
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(body) = buf.get(at + 5..at + 5 + len) else {
            return Parsed::Incomplete;
        };
        handshake.extend_from_slice(body);
        at += 5 + len;
        if handshake.len() >= 4 {
            if handshake[0] != 1 {
                return Parsed::Malformed;
            }
            let need = 4
                + (usize::from(handshake[1]) << 16
                    | usize::from(handshake[2]) << 8
                    | usize::from(handshake[3]));
            if handshake.len() >= need {
                return match client_hello(&handshake[4..need]) {
                    Some(opening) => Parsed::Done(opening),
                    None => Parsed::Malformed,
                };
            }
        }
        if at >= MAX_HELLO {
            return Parsed::Malformed;
        }
    }
}

/// A cursor over a ClientHello body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

fn client_hello(body: &[u8]) -> Option<Opening> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // version, random
    r.vec8()?; // session id
    r.vec16()?; // cipher suites
    r.vec8()?; // compression methods
    let mut server_name = String::new();
    let mut alpn = Vec::new();
    if !r.0.is_empty() {
        let mut exts = Reader(r.vec16()?);
        while !exts.0.is_empty() {
            let kind = exts.u16()?;
            let mut data = Reader(exts.vec16()?);
            match kind {
                0 => {
                    let mut list = Reader(data.vec16()?);
                    while !list.0.is_empty() {
                        let name_type = list.u8()?;
                        let name = list.vec16()?;
                        if name_type == 0 {
                            let name = std::str::from_utf8(name).ok()?;
                            server_name = name.trim_end_matches('.').to_ascii_lowercase();
                        }
                    }
                }
                16 => {
                    let mut list = Reader(data.vec16()?);
                    while !list.0.is_empty() {
                        let proto = list.vec8()?;
                        alpn.push(String::from_utf8_lossy(proto).into_owned());
                    }
                }
                _ => {}
            }
        }
    }
    Some(Opening::Tls { server_name, alpn })
}

/// Peeks until the opening can be told (`Plain` after `timeout` or when the peer closes first).
/// `postgres`: whether an SSLRequest is looked for. Nothing is consumed.
pub async fn peek_hello(stream: &TcpStream, timeout: Duration, postgres: bool) -> Opening {
    let mut buf = vec![0u8; MAX_HELLO + 5];
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let mut seen = 0;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return Opening::Plain,
        };
        match parse(&buf[..n], postgres) {
            Parsed::Done(opening) => return opening,
            Parsed::Malformed => {
                return Opening::Tls {
                    server_name: String::new(),
                    alpn: Vec::new(),
                }
            }
            Parsed::Incomplete if n == buf.len() => return Opening::Plain,
            Parsed::Incomplete => {
                // Peeking returns at once while bytes wait: pause before looking again.
                if n == seen {
                    pause = (pause * 2).min(Duration::from_millis(20));
                } else {
                    pause = Duration::from_millis(1);
                }
                seen = n;
                if tokio::time::Instant::now() + pause > deadline {
                    return Opening::Plain;
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests;
