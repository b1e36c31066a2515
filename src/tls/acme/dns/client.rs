//! Talking DNS to a server: one message over UDP (TCP when the answer is truncated), bounded by
//! a timeout; the zone of a name (SOA lookups walking up the labels); a name's addresses.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::wire::{self, Message, RData, WireError};

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("DNS server {server}: {source}")]
    Io {
        server: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("DNS server {server} did not answer within {timeout:?}")]
    Timeout {
        server: SocketAddr,
        timeout: Duration,
    },
    #[error("no zone (SOA) found for {0} through {1}")]
    NoZone(String, String),
    #[error("cannot resolve DNS server {0:?}")]
    Server(String),
}

/// A random-enough message id (not security: TSIG protects updates).
fn new_id() -> u16 {
    let mut b = [0u8; 2];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        return 0x5a5a;
    }
    u16::from_be_bytes(b)
}

/// `host[:port]` → socket address (port 53 by default); IPv6 as `[::1]:53` or bare.
pub fn server_addr(s: &str) -> Result<SocketAddr, DnsError> {
    let s = s.trim();
    let s = s.strip_prefix("udp://").unwrap_or(s);
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    let with_port = if s.contains(':') {
        s.to_string()
    } else {
        format!("{s}:53")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| DnsError::Server(s.to_string()))
}

/// Sends `message` (whose id is `id`) and returns the parsed answer.
pub async fn exchange(
    server: SocketAddr,
    message: &[u8],
    timeout: Duration,
) -> Result<Message, DnsError> {
    let io = |source| DnsError::Io { server, source };
    let id = u16::from_be_bytes([message[0], message[1]]);
    let udp = async {
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0"
                .parse()
                .map_err(|_| DnsError::Server("0.0.0.0".into()))?
        } else {
            "[::]:0"
                .parse()
                .map_err(|_| DnsError::Server("::".into()))?
        };
        let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
        socket.connect(server).await.map_err(io)?;
        socket.send(message).await.map_err(io)?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = socket.recv(&mut buf).await.map_err(io)?;
            // Answers to something else (a late one) are skipped.
            if let Ok(msg) = wire::parse(&buf[..n]) {
                if msg.id == id {
                    return Ok::<Message, DnsError>(msg);
                }
            }
        }
    };
    let msg = tokio::time::timeout(timeout, udp)
        .await
        .map_err(|_| DnsError::Timeout { server, timeout })??;
    if !msg.truncated {
        return Ok(msg);
    }
    let tcp = async {
        let mut stream = tokio::net::TcpStream::connect(server).await.map_err(io)?;
        let len = u16::try_from(message.len()).map_err(|_| WireError::Malformed("too long"))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(message);
        stream.write_all(&framed).await.map_err(io)?;
        let len = stream.read_u16().await.map_err(io)?;
        let mut buf = vec![0u8; usize::from(len)];
        stream.read_exact(&mut buf).await.map_err(io)?;
        Ok::<Message, DnsError>(wire::parse(&buf)?)
    };
    tokio::time::timeout(timeout, tcp)
        .await
        .map_err(|_| DnsError::Timeout { server, timeout })?
}

/// Asks `servers` in turn for `name`/`qtype`; the first answer wins.
pub async fn ask(
    servers: &[SocketAddr],
    name: &str,
    qtype: u16,
    recursive: bool,
    timeout: Duration,
) -> Result<Message, DnsError> {
    let mut last = DnsError::Server("no DNS server given".into());
    for server in servers {
        let q = wire::query(new_id(), name, qtype, recursive)?;
        match exchange(*server, &q, timeout).await {
            Ok(msg) => return Ok(msg),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The zone holding `fqdn`: the owner of the first SOA found walking up its labels.
pub async fn find_zone(
    servers: &[SocketAddr],
    fqdn: &str,
    timeout: Duration,
) -> Result<String, DnsError> {
    let name = fqdn.trim_end_matches('.').to_ascii_lowercase();
    let mut candidate = name.as_str();
    loop {
        let msg = ask(servers, candidate, wire::TYPE_SOA, true, timeout).await?;
        if msg.rcode == 0 || msg.rcode == 3 {
            let soa = msg
                .answers
                .iter()
                .chain(&msg.authority)
                .find(|r| r.rtype == wire::TYPE_SOA);
            if let Some(soa) = soa {
                return Ok(soa.name.clone());
            }
        }
        match candidate.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => candidate = parent,
            _ => break,
        }
    }
    Err(DnsError::NoZone(name, display(servers)))
}

/// The TXT values of `fqdn` at `server` (non-recursive when asking an authoritative server).
pub async fn txt_values(
    server: SocketAddr,
    fqdn: &str,
    recursive: bool,
    timeout: Duration,
) -> Result<Vec<String>, DnsError> {
    let msg = ask(&[server], fqdn, wire::TYPE_TXT, recursive, timeout).await?;
    Ok(msg
        .answers
        .into_iter()
        .filter_map(|r| match r.data {
            RData::Txt(t) => Some(t),
            _ => None,
        })
        .collect())
}

/// The authoritative servers of `zone` (NS records, each resolved to its addresses, port 53).
pub async fn nameservers(
    servers: &[SocketAddr],
    zone: &str,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, DnsError> {
    let msg = ask(servers, zone, wire::TYPE_NS, true, timeout).await?;
    let mut out = Vec::new();
    for record in msg.answers {
        let RData::Name(host) = record.data else {
            continue;
        };
        for qtype in [wire::TYPE_A, wire::TYPE_AAAA] {
            if let Ok(found) = ask(servers, &host, qtype, true, timeout).await {
                out.extend(found.answers.iter().filter_map(|r| match r.data {
                    RData::Addr(ip) => Some(SocketAddr::new(ip, 53)),
                    _ => None,
                }));
            }
        }
    }
    if out.is_empty() {
        return Err(DnsError::Server(format!("no address for the NS of {zone}")));
    }
    Ok(out)
}

/// The nameservers of `/etc/resolv.conf`.
pub fn system_resolvers() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|s| server_addr(s).ok())
        .collect()
}

pub fn display(servers: &[SocketAddr]) -> String {
    servers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
