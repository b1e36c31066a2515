//! Connections to redis and their pool: dial (TCP or TLS, `AUTH`, `SELECT`), one command at a
//! time bounded by the read/write timeouts, at most `poolSize` idle connections kept and at most
//! `maxActiveConns` open.

#![allow(clippy::disallowed_types)] // std Mutex: the idle redis connection pool, taken once per rate-limited request (the wait for redis dominates)

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::resp::{encode, protocol, read_reply, Reply};

/// Connection settings, checked at compile time.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) endpoint: String,
    pub(super) host: String,
    pub(super) tls: Option<Arc<rustls::ClientConfig>>,
    pub(super) username: String,
    pub(super) password: String,
    pub(super) db: i64,
    pub(super) pool_size: usize,
    pub(super) read_timeout: Option<Duration>,
    pub(super) write_timeout: Option<Duration>,
    pub(super) dial_timeout: Duration,
}

pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

pub(super) struct Conn {
    io: BufReader<Box<dyn Stream>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conn")
    }
}

pub(super) async fn bounded<T>(
    limit: Option<Duration>,
    what: &str,
    fut: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        None => fut.await,
        Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| {
            io::Error::new(io::ErrorKind::TimedOut, format!("redis {what} timed out"))
        })?,
    }
}

impl Conn {
    pub(super) async fn command(&mut self, s: &Settings, args: &[&[u8]]) -> io::Result<Reply> {
        let bytes = encode(args);
        bounded(s.write_timeout, "write", async {
            self.io.get_mut().write_all(&bytes).await?;
            self.io.get_mut().flush().await
        })
        .await?;
        bounded(s.read_timeout, "read", read_reply(&mut self.io)).await
    }

    pub(super) async fn dial(s: &Settings) -> io::Result<Conn> {
        let tcp = TcpStream::connect(&s.endpoint).await?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match &s.tls {
            None => Box::new(tcp),
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|_| protocol("endpoint host is not a valid TLS server name"))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(cfg))
                    .connect(name, tcp)
                    .await?;
                Box::new(tls)
            }
        };
        let mut conn = Conn {
            io: BufReader::new(stream),
        };
        if !s.password.is_empty() {
            let reply = if s.username.is_empty() {
                conn.command(s, &[b"AUTH", s.password.as_bytes()]).await?
            } else {
                conn.command(s, &[b"AUTH", s.username.as_bytes(), s.password.as_bytes()])
                    .await?
            };
            if let Reply::Error(e) = reply {
                return Err(io::Error::other(format!("redis AUTH: {e}")));
            }
        }
        if s.db != 0 {
            let db = s.db.to_string();
            if let Reply::Error(e) = conn.command(s, &[b"SELECT", db.as_bytes()]).await? {
                return Err(io::Error::other(format!("redis SELECT {db}: {e}")));
            }
        }
        Ok(conn)
    }
}

/// The connections of one middleware.
#[derive(Debug)]
pub(super) struct Pool {
    pub(super) settings: Settings,
    pub(super) idle: Mutex<Vec<Conn>>,
    pub(super) active: Option<Arc<Semaphore>>,
}

impl Pool {
    pub(super) async fn take(&self) -> io::Result<(Conn, Option<OwnedSemaphorePermit>)> {
        let permit = match &self.active {
            None => None,
            Some(sem) => Some(
                Arc::clone(sem)
                    .acquire_owned()
                    .await
                    .map_err(|_| io::Error::other("redis pool closed"))?,
            ),
        };
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                bounded(
                    Some(self.settings.dial_timeout),
                    "dial",
                    Conn::dial(&self.settings),
                )
                .await?
            }
        };
        Ok((conn, permit))
    }

    pub(super) fn give_back(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.settings.pool_size {
            idle.push(conn);
        }
    }
}
