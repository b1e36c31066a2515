//! PROXY protocol v1 (text) and v2 (binary) on an entrypoint (`proxyProtocol.trustedIPs`,
//! `proxyProtocol.insecure`), read before any HTTP or TLS byte.
//!
//! As in Traefik (go-proxyproto with its USE/IGNORE policy): from a trusted peer the header is
//! optional and, when present, its source address becomes the client address; from an untrusted
//! peer a header is consumed and ignored (the TCP peer stays the client address). A malformed
//! header closes the connection.
//!
//! Only peeks and reads exactly the header's bytes, so what follows is left to the HTTP (or TLS)
//! layer untouched. Must not buffer past the header.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 header, CRLF included.
const V1_MAX: usize = 107;
/// Largest v2 header we accept (address block plus TLVs).
const V2_MAX: usize = 16 + 1024;

/// Who may announce a client address.
#[derive(Debug, Clone, Default)]
pub struct ProxyProtocolPolicy {
    pub insecure: bool,
    pub trusted: Vec<ipnet::IpNet>,
}

impl ProxyProtocolPolicy {
    /// From the static configuration (ranges parsed when it was read); invalid entries are
    /// skipped with a warning.
    pub fn from_config(cfg: &crate::config::static_config::ProxyProtocolConfig) -> Self {
        let trusted = cfg
            .trusted_ips
            .iter()
            .filter_map(|range| {
                let net = range.net();
                if net.is_none() {
                    tracing::warn!(entry = %range, "proxyProtocol.trustedIPs: not an IP or CIDR; ignored");
                }
                net
            })
            .collect();
        ProxyProtocolPolicy {
            insecure: cfg.insecure,
            trusted,
        }
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.insecure || self.trusted.iter().any(|net| net.contains(&ip))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyProtocolError {
    #[error("malformed PROXY protocol v1 header")]
    MalformedV1,
    #[error("malformed PROXY protocol v2 header")]
    MalformedV2,
    #[error("PROXY protocol header longer than {max} bytes")]
    TooLong { max: usize },
    #[error("connection closed while reading the PROXY protocol header")]
    Closed,
    #[error("PROXY protocol header not received in time")]
    Timeout,
}

/// What the first bytes of a connection say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a PROXY header (plain HTTP or TLS follows).
    Absent,
    /// More bytes are needed to decide.
    Incomplete,
    /// A header of `len` bytes; `source` is the announced client (`None` for LOCAL/UNKNOWN).
    Header {
        len: usize,
        source: Option<SocketAddr>,
    },
}

/// Parses the start of a connection. Pure; never reads past `buf`.
pub fn parse(buf: &[u8]) -> Result<Parsed, ProxyProtocolError> {
    const V1_PREFIX: &[u8] = b"PROXY ";
    if buf.len() < V1_PREFIX.len() && V1_PREFIX.starts_with(buf)
        || buf.len() < V2_SIGNATURE.len() && V2_SIGNATURE.starts_with(buf)
    {
        return Ok(Parsed::Incomplete);
    }
    if buf.starts_with(V1_PREFIX) {
        return parse_v1(buf);
    }
    if buf.starts_with(V2_SIGNATURE) {
        return parse_v2(buf);
    }
    Ok(Parsed::Absent)
}

fn parse_v1(buf: &[u8]) -> Result<Parsed, ProxyProtocolError> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(ProxyProtocolError::TooLong { max: V1_MAX })
        } else {
            Ok(Parsed::Incomplete)
        };
    };
    let len = end + 2;
    if len > V1_MAX {
        return Err(ProxyProtocolError::TooLong { max: V1_MAX });
    }
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ProxyProtocolError::MalformedV1)?;
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => None,
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let src: IpAddr = src.parse().map_err(|_| ProxyProtocolError::MalformedV1)?;
            let _: IpAddr = dst.parse().map_err(|_| ProxyProtocolError::MalformedV1)?;
            if (*proto == "TCP4") != src.is_ipv4() {
                return Err(ProxyProtocolError::MalformedV1);
            }
            let port: u16 = sport.parse().map_err(|_| ProxyProtocolError::MalformedV1)?;
            let _: u16 = dport.parse().map_err(|_| ProxyProtocolError::MalformedV1)?;
            Some(SocketAddr::new(src, port))
        }
        _ => return Err(ProxyProtocolError::MalformedV1),
    };
    Ok(Parsed::Header { len, source })
}

fn parse_v2(buf: &[u8]) -> Result<Parsed, ProxyProtocolError> {
    let Some(head) = buf.get(..16) else {
        return Ok(Parsed::Incomplete);
    };
    let (ver_cmd, family) = (head[12], head[13]);
    let body_len = usize::from(u16::from_be_bytes([head[14], head[15]]));
    let len = 16 + body_len;
    if len > V2_MAX {
        return Err(ProxyProtocolError::TooLong { max: V2_MAX });
    }
    if ver_cmd >> 4 != 2 || ver_cmd & 0x0f > 1 {
        return Err(ProxyProtocolError::MalformedV2);
    }
    let Some(body) = buf.get(16..len) else {
        return Ok(Parsed::Incomplete);
    };
    if ver_cmd & 0x0f == 0 {
        return Ok(Parsed::Header { len, source: None }); // LOCAL: health checks of the balancer
    }
    let source = match family >> 4 {
        1 if body.len() >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([body[8], body[9]]),
            ))
        }
        2 if body.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            let port = u16::from_be_bytes([body[32], body[33]]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        1 | 2 => return Err(ProxyProtocolError::MalformedV2),
        _ => None, // AF_UNSPEC / AF_UNIX: keep the TCP peer
    };
    Ok(Parsed::Header { len, source })
}

/// Reads a PROXY header if the connection starts with one and returns the client address to use:
/// the announced source when `peer` is trusted, else `peer`. Waits at most `limit` for the header.
pub async fn accept(
    stream: &mut TcpStream,
    peer: SocketAddr,
    policy: &ProxyProtocolPolicy,
    limit: Duration,
) -> Result<SocketAddr, ProxyProtocolError> {
    let header = tokio::time::timeout(limit, peek_header(stream))
        .await
        .map_err(|_| ProxyProtocolError::Timeout)??;
    let Some((len, source)) = header else {
        return Ok(peer);
    };
    let mut consumed = vec![0u8; len];
    stream
        .read_exact(&mut consumed)
        .await
        .map_err(|_| ProxyProtocolError::Closed)?;
    match source {
        Some(source) if policy.trusts(peer.ip()) => Ok(source),
        _ => Ok(peer),
    }
}

async fn peek_header(
    stream: &TcpStream,
) -> Result<Option<(usize, Option<SocketAddr>)>, ProxyProtocolError> {
    let mut buf = vec![0u8; V2_MAX];
    let mut last = 0;
    loop {
        let n = stream
            .peek(&mut buf)
            .await
            .map_err(|_| ProxyProtocolError::Closed)?;
        if n == 0 {
            return Err(ProxyProtocolError::Closed);
        }
        match parse(&buf[..n])? {
            Parsed::Absent => return Ok(None),
            Parsed::Header { len, source } => return Ok(Some((len, source))),
            Parsed::Incomplete if n == last => {
                // Nothing new arrived yet: peek returns at once on readable data, so wait a bit.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Parsed::Incomplete => last = n,
        }
    }
}

#[cfg(test)]
mod tests;
