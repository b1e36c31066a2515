//! TLS for QUIC (HTTP/3): the QUIC handshakes of one entrypoint get, per server name, the same
//! `tls.options` set as its TCP handshakes (`SniPlan`, the shared certificate store, ACME
//! certificates included), as Traefik's QUIC server does with `GetConfigForClient`.
//!
//! quinn takes one crypto configuration per endpoint and rustls cannot switch its client-
//! certificate verifier per server name inside one `ServerConfig`, so `QuicTls` is quinn's
//! crypto configuration itself: each handshake's `QuicSession` computes the Initial keys (they
//! depend only on the QUIC version and the client's destination connection ID), buffers the
//! CRYPTO bytes until the ClientHello is complete, reads its server name (rustls' own parser,
//! the one the TCP side uses), chooses the options set as the TCP side would, and only then
//! starts the rustls QUIC connection with that set's configuration and replays the bytes;
//! from there every call goes to rustls. The set is taken as it is (client authentication,
//! cipher suites, curves, `sniStrict`, session tickets) with ALPN `h3` only (quic-go overrides
//! `alpnProtocols` the same way) and no 0-RTT (Traefik allows none). A set whose `maxVersion` is
//! below TLS 1.3 cannot serve QUIC: its server names are refused there, with one warning per
//! set, and their TCP responses carry no `Alt-Svc` (the entrypoint only announces HTTP/3 on
//! connections that negotiated TLS 1.3).

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use arc_swap::ArcSwap;

use quinn_proto::crypto::{
    self, ExportKeyingMaterialError, HeaderKey, KeyPair, Keys, PacketKey, UnsupportedVersion,
};
use quinn_proto::transport_parameters::TransportParameters;
use quinn_proto::{ConnectionId, Side, TransportError, TransportErrorCode};
use rustls::quic::{Connection, KeyChange, Secrets, Suite, Version};

use super::accept::{Acceptor, Chosen};
use crate::config::negotiated::Negotiated;

/// ALPN of HTTP/3 (RFC 9114).
pub const ALPN_H3: &[u8] = b"h3";

/// Largest ClientHello buffered before the options are chosen (a handshake message may claim up
/// to 2^24 bytes; real ones are a few KiB, post-quantum key shares included). Bounds what each
/// handshake in progress holds, as quinn's own 16 KiB `crypto_buffer_size` does.
const MAX_HELLO: usize = 16 * 1024;

/// TLS alerts sent as QUIC CRYPTO_ERROR codes (RFC 9001 §4.8).
const ALERT_HANDSHAKE_FAILURE: u8 = 40;
const ALERT_UNEXPECTED_MESSAGE: u8 = 10;
const ALERT_PROTOCOL_VERSION: u8 = 70;

/// What a QUIC connection's handshake settled, as `quinn::Connection::handshake_data` gives it.
#[derive(Debug, Clone)]
pub struct QuicHandshake {
    /// The negotiated ALPN protocol (`h3`).
    pub protocol: Option<Vec<u8>>,
    /// The server name the client sent.
    pub server_name: Option<String>,
    /// `table::tls_options::key` of the options set the handshake used (what routes compare).
    pub key: u32,
    /// The TLS version and cipher suite (`*_requests_tls_total` labels); `None` until chosen.
    pub negotiated: Option<Negotiated>,
}

/// The QUIC crypto configuration of one entrypoint (see the module documentation).
pub struct QuicTls {
    acceptor: Acceptor,
    /// TLS_AES_128_GCM_SHA256, which protects Initial packets whatever the options allow.
    initial: Suite,
    /// Options sets already warned about (`maxVersion` below TLS 1.3), by key.
    warned: ArcSwap<HashSet<u32>>,
    /// quinn's rustls configuration (one that refuses every handshake), for Retry tags.
    retry: quinn_proto::crypto::rustls::QuicServerConfig,
}

impl QuicTls {
    /// The crypto configuration of `acceptor`'s entrypoint; the options are read per handshake.
    pub fn new(acceptor: Acceptor) -> Result<QuicTls, String> {
        let initial = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
            .tls13()
            .and_then(|suite| suite.quic_suite())
            .ok_or("the crypto provider has no TLS_AES_128_GCM_SHA256 for QUIC")?;
        let retry = refusing().map_err(|e| e.to_string()).and_then(|config| {
            quinn_proto::crypto::rustls::QuicServerConfig::try_from(config)
                .map_err(|e| e.to_string())
        })?;
        Ok(QuicTls {
            acceptor,
            initial,
            warned: ArcSwap::from_pointee(HashSet::new()),
            retry,
        })
    }
}

impl crypto::ServerConfig for QuicTls {
    fn initial_keys(
        &self,
        version: u32,
        dst_cid: &ConnectionId,
    ) -> Result<Keys, UnsupportedVersion> {
        let version = interpret_version(version).ok_or(UnsupportedVersion)?;
        Ok(initial_keys(&self.initial, version, dst_cid))
    }

    /// quinn's own (called only for a version `initial_keys` accepted).
    fn retry_tag(&self, version: u32, orig_dst_cid: &ConnectionId, packet: &[u8]) -> [u8; 16] {
        self.retry.retry_tag(version, orig_dst_cid, packet)
    }

    fn start_session(
        self: Arc<Self>,
        version: u32,
        params: &TransportParameters,
    ) -> Box<dyn crypto::Session> {
        let mut encoded = Vec::new();
        params.write(&mut encoded);
        Box::new(QuicSession {
            // quinn calls this only for a version `initial_keys` accepted.
            version: interpret_version(version).unwrap_or(Version::V1),
            initial: self.initial,
            state: State::Hello {
                params: encoded,
                buffered: Vec::new(),
                config: self,
            },
            got_handshake_data: false,
            next_secrets: None,
        })
    }
}

/// One QUIC handshake: first the ClientHello being gathered, then rustls.
struct QuicSession {
    version: Version,
    initial: Suite,
    state: State,
    got_handshake_data: bool,
    next_secrets: Option<Secrets>,
}

enum State {
    Hello {
        params: Vec<u8>,
        buffered: Vec<u8>,
        config: Arc<QuicTls>,
    },
    Tls {
        connection: Box<Connection>,
        key: u32,
    },
    /// Refused or failed; every later call fails too.
    Failed,
}

impl QuicSession {
    /// Gathers CRYPTO bytes until the ClientHello is complete, then starts rustls with the
    /// options its server name selects and hands it every byte.
    fn gather(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let State::Hello {
            params,
            buffered,
            config,
        } = &mut self.state
        else {
            return Ok(());
        };
        buffered.extend_from_slice(bytes);
        // Bytes past the ClientHello (none from a conforming client) go to rustls with it.
        let sni = match hello_server_name(buffered) {
            Hello::Incomplete => return Ok(()),
            Hello::Refused(code, reason) => return Err(alert(code, &reason)),
            Hello::Complete { server_name, .. } => server_name,
        };
        let Some(chosen) = config.acceptor.choose(sni.as_deref()) else {
            tracing::debug!(
                ?sni,
                "QUIC handshake refused: no usable TLS options for this server name"
            );
            return Err(alert(
                ALERT_HANDSHAKE_FAILURE,
                "no TLS options for this server name",
            ));
        };
        let connection = match start(&chosen, self.version, std::mem::take(params)) {
            Ok(connection) => connection,
            Err(error) => {
                config.warn_once(chosen.key, sni.as_deref(), &error);
                return Err(alert(ALERT_PROTOCOL_VERSION, &error.to_string()));
            }
        };
        let hello = std::mem::take(buffered);
        self.state = State::Tls {
            connection: Box::new(connection),
            key: chosen.key,
        };
        self.read_tls(&hello)
    }

    fn read_tls(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let State::Tls { connection, .. } = &mut self.state else {
            return Ok(());
        };
        connection
            .read_hs(bytes)
            .map_err(|e| match connection.alert() {
                Some(alert) => TransportError {
                    code: TransportErrorCode::crypto(alert.into()),
                    frame: None,
                    reason: e.to_string(),
                },
                None => TransportError {
                    code: TransportErrorCode::PROTOCOL_VIOLATION,
                    frame: None,
                    reason: format!("TLS error: {e}"),
                },
            })
    }

    fn connection(&self) -> Option<&Connection> {
        match &self.state {
            State::Tls { connection, .. } => Some(connection),
            _ => None,
        }
    }
}

impl QuicTls {
    /// One warning per options set that cannot serve QUIC; the next handshakes are debug.
    fn warn_once(&self, key: u32, sni: Option<&str>, error: &rustls::Error) {
        // No lock on the handshake path: a set swapped whole (rare: once per such set).
        let first = !self.warned.load().contains(&key);
        if first {
            self.warned.rcu(|warned| {
                let mut warned = HashSet::clone(warned);
                warned.insert(key);
                warned
            });
        }
        if first {
            tracing::warn!(
                entrypoint = self.acceptor.entrypoint(),
                ?sni,
                %error,
                "HTTP/3: this server name's TLS options cannot serve QUIC (maxVersion below TLS 1.3: QUIC is TLS 1.3 only); its QUIC handshakes are refused, its clients stay on TCP"
            );
        } else {
            tracing::debug!(?sni, %error, "QUIC handshake refused: TLS options without TLS 1.3");
        }
    }
}

/// The rustls QUIC connection for `chosen`: its configuration with ALPN `h3` and no 0-RTT.
fn start(chosen: &Chosen, version: Version, params: Vec<u8>) -> Result<Connection, rustls::Error> {
    let mut config = (*chosen.config).clone();
    config.alpn_protocols = vec![ALPN_H3.to_vec()];
    // 0-RTT data could be replayed; Traefik does not allow it either.
    config.max_early_data_size = 0;
    let server = rustls::quic::ServerConnection::new(Arc::new(config), version, params)?;
    Ok(Connection::Server(server))
}

/// What the CRYPTO bytes gathered so far say (`hello_server_name`).
#[doc(hidden)]
#[derive(Debug, PartialEq, Eq)]
pub enum Hello {
    /// More bytes are needed.
    Incomplete,
    /// The handshake is refused with this TLS alert and reason.
    Refused(u8, String),
    /// A complete ClientHello of `length` bytes naming `server_name`.
    Complete {
        server_name: Option<String>,
        length: usize,
    },
}

/// Reads the CRYPTO bytes a client sent so far as a ClientHello handshake message: incomplete, refused
/// (not a ClientHello, over 16 KiB, unparsable) or complete with its server name. Bytes from any
/// client reach it, so it is a fuzz target (`fuzz/fuzz_targets/quic_hello.rs`).
#[doc(hidden)]
pub fn hello_server_name(buffered: &[u8]) -> Hello {
    let Some(first) = buffered.first() else {
        return Hello::Incomplete;
    };
    if *first != 1 {
        return Hello::Refused(
            ALERT_UNEXPECTED_MESSAGE,
            "QUIC handshake did not start with a ClientHello".into(),
        );
    }
    let [_, a, b, c, ..] = *buffered else {
        return Hello::Incomplete;
    };
    let length = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if length + 4 > MAX_HELLO {
        return Hello::Refused(
            ALERT_HANDSHAKE_FAILURE,
            "QUIC ClientHello larger than 16 KiB".into(),
        );
    }
    let Some(hello) = buffered.get(..length + 4) else {
        return Hello::Incomplete;
    };
    match server_name(hello) {
        Ok(server_name) => Hello::Complete {
            server_name,
            length: length + 4,
        },
        Err(e) => Hello::Refused(
            ALERT_HANDSHAKE_FAILURE,
            format!("QUIC ClientHello refused: {e}"),
        ),
    }
}

/// The server name of a complete ClientHello handshake message (rustls' parser, as the TCP
/// side's `LazyConfigAcceptor`: `None` without one or for an IP address).
fn server_name(hello: &[u8]) -> Result<Option<String>, rustls::Error> {
    // QUIC carries handshake messages without TLS records; rustls' acceptor reads records.
    let mut records = Vec::with_capacity(hello.len() + 5 * (hello.len() / 16384 + 1));
    for fragment in hello.chunks(16384) {
        records.extend_from_slice(&[0x16, 0x03, 0x01]);
        records.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        records.extend_from_slice(fragment);
    }
    let mut acceptor = rustls::server::Acceptor::default();
    let mut rest = records.as_slice();
    while !rest.is_empty() {
        acceptor
            .read_tls(&mut rest)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                return Ok(accepted.client_hello().server_name().map(str::to_owned))
            }
            Ok(None) => {}
            Err((error, _)) => return Err(error),
        }
    }
    Err(rustls::Error::General("incomplete ClientHello".into()))
}

fn alert(code: u8, reason: &str) -> TransportError {
    TransportError {
        code: TransportErrorCode::crypto(code),
        frame: None,
        reason: reason.to_string(),
    }
}

impl crypto::Session for QuicSession {
    fn initial_keys(&self, dst_cid: &ConnectionId, _side: Side) -> Keys {
        initial_keys(&self.initial, self.version, dst_cid)
    }

    fn handshake_data(&self) -> Option<Box<dyn Any>> {
        if !self.got_handshake_data {
            return None;
        }
        let State::Tls { connection, key } = &self.state else {
            return None;
        };
        let Connection::Server(server) = connection.as_ref() else {
            return None;
        };
        let negotiated = server
            .protocol_version()
            .zip(server.negotiated_cipher_suite())
            .and_then(|(version, suite)| Negotiated::from_parts(version, suite.suite()));
        Some(Box::new(QuicHandshake {
            protocol: server.alpn_protocol().map(<[u8]>::to_vec),
            server_name: server.server_name().map(str::to_owned),
            key: *key,
            negotiated,
        }))
    }

    /// As quinn's own rustls session: a `Vec<CertificateDer<'static>>`, leaf first.
    fn peer_identity(&self) -> Option<Box<dyn Any>> {
        let certs = self.connection()?.peer_certificates()?;
        let owned: Vec<rustls::pki_types::CertificateDer<'static>> =
            certs.iter().map(|c| c.clone().into_owned()).collect();
        Some(Box::new(owned))
    }

    fn early_crypto(&self) -> Option<(Box<dyn HeaderKey>, Box<dyn PacketKey>)> {
        let keys = self.connection()?.zero_rtt_keys()?;
        Some((Box::new(keys.header), Box::new(keys.packet)))
    }

    fn early_data_accepted(&self) -> Option<bool> {
        None
    }

    fn is_handshaking(&self) -> bool {
        self.connection().is_none_or(|c| c.is_handshaking())
    }

    fn read_handshake(&mut self, buf: &[u8]) -> Result<bool, TransportError> {
        let result = match self.state {
            State::Hello { .. } => self.gather(buf),
            State::Tls { .. } => self.read_tls(buf),
            State::Failed => Err(alert(ALERT_HANDSHAKE_FAILURE, "handshake already failed")),
        };
        if result.is_err() {
            self.state = State::Failed;
        }
        result?;
        let Some(connection) = self.connection() else {
            return Ok(false);
        };
        if !self.got_handshake_data {
            // As quinn's session: rustls gives no explicit signal that the ClientHello was
            // processed; a server name, a protocol or the end of the handshake says so.
            let server_name =
                matches!(connection, Connection::Server(s) if s.server_name().is_some());
            if connection.alpn_protocol().is_some() || server_name || !connection.is_handshaking() {
                self.got_handshake_data = true;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn transport_parameters(&self) -> Result<Option<TransportParameters>, TransportError> {
        let Some(buf) = self
            .connection()
            .and_then(|c| c.quic_transport_parameters())
        else {
            return Ok(None);
        };
        TransportParameters::read(Side::Server, &mut std::io::Cursor::new(buf))
            .map(Some)
            .map_err(Into::into)
    }

    fn write_handshake(&mut self, buf: &mut Vec<u8>) -> Option<Keys> {
        let State::Tls { connection, .. } = &mut self.state else {
            return None;
        };
        let keys = match connection.write_hs(buf)? {
            KeyChange::Handshake { keys } => keys,
            KeyChange::OneRtt { keys, next } => {
                self.next_secrets = Some(next);
                keys
            }
        };
        Some(Keys {
            header: KeyPair {
                local: Box::new(keys.local.header),
                remote: Box::new(keys.remote.header),
            },
            packet: KeyPair {
                local: Box::new(keys.local.packet),
                remote: Box::new(keys.remote.packet),
            },
        })
    }

    fn next_1rtt_keys(&mut self) -> Option<KeyPair<Box<dyn PacketKey>>> {
        let keys = self.next_secrets.as_mut()?.next_packet_keys();
        Some(KeyPair {
            local: Box::new(keys.local),
            remote: Box::new(keys.remote),
        })
    }

    /// Only clients receive Retry packets.
    fn is_valid_retry(&self, _: &ConnectionId, _: &[u8], _: &[u8]) -> bool {
        false
    }

    fn export_keying_material(
        &self,
        output: &mut [u8],
        label: &[u8],
        context: &[u8],
    ) -> Result<(), ExportKeyingMaterialError> {
        self.connection()
            .ok_or(ExportKeyingMaterialError)?
            .export_keying_material(output, label, Some(context))
            .map(|_| ())
            .map_err(|_| ExportKeyingMaterialError)
    }
}

/// The QUIC versions rustls serves (as quinn's own rustls session reads them).
fn interpret_version(version: u32) -> Option<Version> {
    match version {
        0xff00_001d..=0xff00_0020 => Some(Version::V1Draft),
        0x0000_0001 | 0xff00_0021..=0xff00_0022 => Some(Version::V1),
        _ => None,
    }
}

fn initial_keys(suite: &Suite, version: Version, dst_cid: &ConnectionId) -> Keys {
    let keys = suite.keys(dst_cid, rustls::Side::Server, version);
    Keys {
        header: KeyPair {
            local: Box::new(keys.local.header),
            remote: Box::new(keys.remote.header),
        },
        packet: KeyPair {
            local: Box::new(keys.local.packet),
            remote: Box::new(keys.remote.packet),
        },
    }
}

/// A rustls configuration that refuses every handshake (no certificate for anyone).
fn refusing() -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Refuse));
    config.alpn_protocols = vec![ALPN_H3.to_vec()];
    Ok(Arc::new(config))
}

#[derive(Debug)]
struct Refuse;

impl rustls::server::ResolvesServerCert for Refuse {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dynamic::TlsOptionsConfig;
    use crate::tls::accept::SniPlan;
    use crate::tls::certs::self_signed;
    use crate::tls::options;
    use crate::tls::store::CertStore;
    use quinn_proto::crypto::ServerConfig as _;

    fn store() -> Arc<CertStore> {
        Arc::new(CertStore::new(
            self_signed(&["a.test".to_string()], "test").unwrap(),
        ))
    }

    /// A QUIC crypto configuration whose every server name gets `config` (key 7), or none.
    fn quic(config: Option<Arc<rustls::ServerConfig>>) -> Arc<QuicTls> {
        let plan = SniPlan {
            entrypoints: Vec::new(),
            fallback: config.map(|config| Chosen { config, key: 7 }),
        };
        let acceptor = Acceptor::new(Arc::new(arc_swap::ArcSwap::from_pointee(plan)), 0);
        Arc::new(QuicTls::new(acceptor).unwrap())
    }

    fn session(quic: &Arc<QuicTls>) -> Box<dyn crypto::Session> {
        let params = TransportParameters::read(Side::Server, &mut &[][..]).unwrap();
        assert!(quic.initial_keys(1, &ConnectionId::new(&[1; 8])).is_ok());
        Arc::clone(quic).start_session(1, &params)
    }

    /// The first CRYPTO bytes a QUIC client sends: its ClientHello.
    fn client_hello(sni: &str) -> Vec<u8> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_H3.to_vec()];
        let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let mut client =
            rustls::quic::ClientConnection::new(Arc::new(config), Version::V1, name, vec![])
                .unwrap();
        let mut hello = Vec::new();
        assert!(client.write_hs(&mut hello).is_none());
        assert_eq!(hello[0], 1);
        hello
    }

    #[test]
    fn hello_server_name_waits_for_the_whole_hello_and_refuses_what_is_not_one() {
        let hello = client_hello("App.Test");
        for cut in [0, 1, 3, 4, hello.len() - 1] {
            assert_eq!(hello_server_name(&hello[..cut]), Hello::Incomplete, "{cut}");
        }
        assert_eq!(
            hello_server_name(&hello),
            Hello::Complete {
                server_name: Some("app.test".into()),
                length: hello.len()
            }
        );
        assert!(matches!(
            hello_server_name(&[2, 0, 0, 1]),
            Hello::Refused(ALERT_UNEXPECTED_MESSAGE, _)
        ));
        assert!(matches!(
            hello_server_name(&[1, 0, 0x40, 0]),
            Hello::Refused(ALERT_HANDSHAKE_FAILURE, _)
        ));
        let mut garbage = vec![1, 0, 0, 8];
        garbage.extend_from_slice(&[0xff; 8]);
        assert!(matches!(
            hello_server_name(&garbage),
            Hello::Refused(ALERT_HANDSHAKE_FAILURE, _)
        ));
    }

    #[test]
    fn a_client_hello_in_pieces_starts_the_chosen_options_handshake() {
        let quic = quic(Some(options::builtin_default(&store()).unwrap()));
        let mut session = session(&quic);
        let hello = client_hello("a.test");
        let mut ready = Vec::new();
        for piece in hello.chunks(7) {
            ready.push(session.read_handshake(piece).unwrap());
            if ready.len() * 7 < hello.len() {
                assert!(session.handshake_data().is_none());
                let mut out = Vec::new();
                assert!(session.write_handshake(&mut out).is_none());
                assert!(
                    out.is_empty(),
                    "answered before the ClientHello was complete"
                );
            }
        }
        assert_eq!(ready.iter().filter(|r| **r).count(), 1);
        assert_eq!(ready.last(), Some(&true));
        // rustls answers (ServerHello) and moves to the handshake keys.
        let mut out = Vec::new();
        assert!(session.write_handshake(&mut out).is_some());
        assert_eq!(out.first(), Some(&2), "a ServerHello");
        let data = session.handshake_data().unwrap();
        let data = data.downcast::<QuicHandshake>().unwrap();
        assert_eq!(data.key, 7);
        assert_eq!(data.server_name.as_deref(), Some("a.test"));
        assert_eq!(data.protocol.as_deref(), Some(ALPN_H3));
        assert_eq!(data.negotiated.map(|n| n.version()), Some("1.3"));
        assert!(session.transport_parameters().unwrap().is_some());
    }

    #[test]
    fn refused_names_tls12_options_and_garbage_fail_the_handshake() {
        let crypto_error = |r: Result<bool, TransportError>| r.unwrap_err().code;
        // No options for the name: refused.
        let mut refused = session(&quic(None));
        assert_eq!(
            crypto_error(refused.read_handshake(&client_hello("a.test"))),
            TransportErrorCode::crypto(ALERT_HANDSHAKE_FAILURE)
        );
        assert!(refused.read_handshake(&[1]).is_err(), "failed stays failed");
        // Options that stop at TLS 1.2: QUIC cannot use them.
        let cfg: TlsOptionsConfig = serde_yaml::from_str("maxVersion: VersionTLS12").unwrap();
        let tls12 = options::build(&cfg, &[], &store()).unwrap().config;
        let mut session12 = session(&quic(Some(tls12)));
        assert_eq!(
            crypto_error(session12.read_handshake(&client_hello("a.test"))),
            TransportErrorCode::crypto(ALERT_PROTOCOL_VERSION)
        );
        // Not a ClientHello; a ClientHello announced larger than the bound.
        let quic = quic(Some(options::builtin_default(&store()).unwrap()));
        assert_eq!(
            crypto_error(session(&quic).read_handshake(&[2, 0, 0, 1, 0])),
            TransportErrorCode::crypto(ALERT_UNEXPECTED_MESSAGE)
        );
        assert!(session(&quic)
            .read_handshake(&[1, 0xff, 0xff, 0xff])
            .is_err());
        // A complete message that does not parse as a ClientHello.
        assert!(session(&quic)
            .read_handshake(&[1, 0, 0, 4, 3, 3, 0, 0])
            .is_err());
    }
}
