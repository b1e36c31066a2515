//! TLS accept path: full handshakes over loopback TCP through `tls::detect` (ClientHello read
//! first, options chosen by SNI from a plan of 1 000 hosts, then the handshake with that
//! `ServerConfig`), against the path it replaced (one fixed `ServerConfig` through
//! `TlsAcceptor`). Both use the same certificate store and client; the difference is the cost
//! of choosing the options per SNI.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, Criterion};
use rustls::pki_types::ServerName;
use swarmgate::tls::options::builtin_default;
use swarmgate::tls::{certs, detect, Accepted, Acceptor, CertStore, Chosen, EntrySni, SniPlan};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn store() -> Arc<CertStore> {
    let default = certs::self_signed(&["default.invalid".into()], "bench").unwrap();
    let store = CertStore::new(default);
    let hosted = certs::self_signed(&["app.example.com".into()], "bench").unwrap();
    store.set_files(vec![hosted], None);
    Arc::new(store)
}

fn client() -> TlsConnector {
    #[derive(Debug)]
    struct Any(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for Any {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Any(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One handshake and one byte each way.
async fn handshake(connector: &TlsConnector, addr: std::net::SocketAddr) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("app.example.com").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"x").await.unwrap();
    let mut byte = [0u8; 1];
    tls.read_exact(&mut byte).await.unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = store();
    let config = builtin_default(&store).unwrap();
    let connector = client();

    // The replaced path: one fixed configuration.
    let fixed = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(Arc::clone(&config));
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut first = [0u8; 1];
                    let _ = tcp.peek(&mut first).await;
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut byte = [0u8; 1];
                        if tls.read_exact(&mut byte).await.is_ok() {
                            let _ = tls.write_all(&byte).await;
                        }
                    }
                });
            }
        });
        addr
    });

    // The per-SNI path, through `tls::detect`, with 1 000 hosts in the plan.
    let per_sni = rt.block_on(async {
        let key = 1;
        let chosen = Chosen {
            config: Arc::clone(&config),
            key,
        };
        let mut hosts: HashMap<String, Option<Chosen>> = (0..1000)
            .map(|i| (format!("h{i}.example.com"), Some(chosen.clone())))
            .collect();
        hosts.insert("app.example.com".into(), Some(chosen.clone()));
        let plan = SniPlan {
            entrypoints: vec![EntrySni {
                hosts,
                default: Some(chosen.clone()),
            }],
            fallback: Some(chosen),
        };
        let acceptor = Acceptor::new(Arc::new(ArcSwap::from_pointee(plan)), 0);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Accepted::Tls(mut tls, _) =
                        detect(tcp, Some(&acceptor), Duration::from_secs(5)).await
                    {
                        let mut byte = [0u8; 1];
                        if tls.read_exact(&mut byte).await.is_ok() {
                            let _ = tls.write_all(&byte).await;
                        }
                    }
                });
            }
        });
        addr
    });

    let mut group = c.benchmark_group("tls_handshake");
    group.bench_function("fixed_config", |b| {
        b.to_async(&rt).iter(|| handshake(&connector, fixed))
    });
    group.bench_function("per_sni_options", |b| {
        b.to_async(&rt).iter(|| handshake(&connector, per_sni))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
