//! `swarmgate healthcheck`, as Traefik's: a `HEAD /ping` to the entrypoint the static
//! configuration gives ping (`traefik` by default), five seconds at most; healthy on 200.
//! Traefik's messages: `OK: http://:8080/ping`, `Bad healthcheck status: 503 Service
//! Unavailable`, `Error calling healthcheck: …`.
//!
//! Blocking std I/O only: it runs as a process of its own (a container's `HEALTHCHECK`).

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use crate::config::StaticConfig;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Why the check failed, printed as Traefik prints it.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("Error calling healthcheck: {0}")]
    Call(String),
    #[error("Bad healthcheck status: {0}")]
    Status(String),
}

/// Calls the ping endpoint; `Ok` carries the URL that answered 200 (`http://:8080/ping`).
pub fn healthcheck(cfg: &StaticConfig) -> Result<String, HealthError> {
    let call = |m: String| HealthError::Call(m);
    let ping = cfg
        .ping
        .as_ref()
        .ok_or_else(|| call("please enable `ping` to use health check".into()))?;
    let name = ping.entry_point.as_deref().unwrap_or("traefik");
    let ep = cfg
        .entry_points
        .get(name)
        .ok_or_else(|| call(format!("ping: missing {name} entry point")))?;
    // Traefik's `GetAddress`: the address without its `/tcp` suffix.
    let address = ep.address.split('/').next().unwrap_or_default();
    let url = format!("http://{address}/ping");
    let target = dial_address(address);
    let addr = target
        .to_socket_addrs()
        .map_err(|e| call(format!("Head {url:?}: {e}")))?
        .next()
        .ok_or_else(|| call(format!("Head {url:?}: no address")))?;
    let status = head(addr, address).map_err(|e| call(format!("Head {url:?}: {e}")))?;
    if status.starts_with("200") {
        Ok(url)
    } else {
        Err(HealthError::Status(status))
    }
}

/// Where to connect for a listen address: an empty or unspecified host is this machine.
fn dial_address(address: &str) -> String {
    match address.rsplit_once(':') {
        Some(("" | "0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        Some(_) => address.to_string(),
        None => format!("{address}:80"),
    }
}

/// Sends `HEAD /ping` and returns the status line's code and reason (`200 OK`).
fn head(addr: std::net::SocketAddr, host: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let host = if host.starts_with(':') {
        format!("localhost{host}")
    } else {
        host.to_string()
    };
    write!(
        stream,
        "HEAD /ping HTTP/1.1\r\nHost: {host}\r\nUser-Agent: swarmgate-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    match line.split_once(' ') {
        Some((version, status)) if version.starts_with("HTTP/") => Ok(status.trim().to_string()),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP answer: {line:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_hosts_dial_this_machine() {
        assert_eq!(dial_address(":8080"), "127.0.0.1:8080");
        assert_eq!(dial_address("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(dial_address("[::]:8080"), "[::1]:8080");
        assert_eq!(dial_address("10.0.0.1:81"), "10.0.0.1:81");
    }

    #[test]
    fn without_ping_it_says_so() {
        let err = healthcheck(&StaticConfig::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error calling healthcheck: please enable `ping` to use health check"
        );
    }
}
