//! Static certificates from `tls.certificates` and `tls.stores.default.defaultCertificate`:
//! read, parsed, and re-read whenever their contents change (polled). A file that stops
//! parsing keeps its last good certificate in service (and is reported once per change).

use std::collections::HashMap;

use crate::config::dynamic::{CertificateConfig, TlsConfig};

use super::certs::{self, Loaded};

#[derive(Default)]
struct Entry {
    cert_bytes: Vec<u8>,
    key_bytes: Vec<u8>,
    loaded: Option<Loaded>,
    /// A read error was already reported (cleared by the next successful read).
    reported: bool,
}

/// The last read of every configured certificate file pair.
#[derive(Default)]
pub struct FileCerts {
    entries: HashMap<(String, String), Entry>,
    /// Pointers of the last published set, to publish only on change.
    published: Vec<Option<usize>>,
}

impl FileCerts {
    /// Re-reads every configured pair; returns `(certificates, configured default)` when
    /// anything changed since the last call.
    pub fn refresh(&mut self, cfg: &TlsConfig) -> Option<(Vec<Loaded>, Option<Loaded>)> {
        let in_default =
            |c: &CertificateConfig| c.stores.is_empty() || c.stores.iter().any(|s| s == "default");
        let files: Vec<Loaded> = cfg
            .certificates
            .iter()
            .filter(|c| in_default(c))
            .filter_map(|c| self.read(c))
            .collect();
        let default = cfg
            .stores
            .get("default")
            .and_then(|s| s.default_certificate.as_ref())
            .and_then(|c| self.read(c));
        let used: std::collections::HashSet<(String, String)> = cfg
            .certificates
            .iter()
            .chain(
                cfg.stores
                    .values()
                    .filter_map(|s| s.default_certificate.as_ref()),
            )
            .map(|c| (c.cert_file.clone(), c.key_file.clone()))
            .collect();
        self.entries.retain(|k, _| used.contains(k));
        let fingerprint: Vec<Option<usize>> = files
            .iter()
            .map(|l| Some(std::sync::Arc::as_ptr(&l.key) as usize))
            .chain(std::iter::once(
                default
                    .as_ref()
                    .map(|l| std::sync::Arc::as_ptr(&l.key) as usize),
            ))
            .collect();
        if fingerprint == self.published {
            return None;
        }
        self.published = fingerprint;
        Some((files, default))
    }

    fn read(&mut self, c: &CertificateConfig) -> Option<Loaded> {
        let key = (c.cert_file.clone(), c.key_file.clone());
        let entry = self.entries.entry(key).or_default();
        let cert_bytes = std::fs::read(&c.cert_file);
        let key_bytes = std::fs::read(&c.key_file);
        let (cert_bytes, key_bytes) = match (cert_bytes, key_bytes) {
            (Ok(c), Ok(k)) => (c, k),
            (Err(error), _) | (_, Err(error)) => {
                if !entry.reported {
                    tracing::warn!(cert = %c.cert_file, key = %c.key_file, %error, "cannot read TLS certificate");
                    entry.reported = true;
                }
                return entry.loaded.clone();
            }
        };
        entry.reported = false;
        if cert_bytes == entry.cert_bytes && key_bytes == entry.key_bytes {
            return entry.loaded.clone();
        }
        match certs::parse_pair(&cert_bytes, &key_bytes, &c.cert_file) {
            Ok(loaded) => {
                tracing::info!(cert = %c.cert_file, names = ?loaded.names, "TLS certificate loaded");
                entry.loaded = Some(loaded);
            }
            Err(error) => {
                tracing::warn!(cert = %c.cert_file, %error, "TLS certificate unusable; keeping the previous one if any");
            }
        }
        entry.cert_bytes = cert_bytes;
        entry.key_bytes = key_bytes;
        entry.loaded.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dynamic::TlsStoreConfig;

    fn write_cert(dir: &std::path::Path, stem: &str, names: &[&str]) -> CertificateConfig {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_file = dir.join(format!("{stem}.crt"));
        let key_file = dir.join(format!("{stem}.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        CertificateConfig {
            cert_file: cert_file.display().to_string(),
            key_file: key_file.display().to_string(),
            stores: Vec::new(),
        }
    }

    #[test]
    fn publishes_on_change_only_and_keeps_the_last_good_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_cert(dir.path(), "a", &["a.test"]);
        let d = write_cert(dir.path(), "d", &["default.test"]);
        let mut cfg = TlsConfig {
            certificates: vec![a.clone()],
            ..TlsConfig::default()
        };
        cfg.stores.insert(
            "default".into(),
            TlsStoreConfig {
                default_certificate: Some(d),
            },
        );
        let mut files = FileCerts::default();
        let (certs, default) = files.refresh(&cfg).unwrap();
        assert_eq!(certs[0].names, vec!["a.test"]);
        assert_eq!(default.unwrap().names, vec!["default.test"]);
        assert!(
            files.refresh(&cfg).is_none(),
            "unchanged files publish nothing"
        );

        write_cert(dir.path(), "a", &["a2.test"]);
        let (certs, _) = files.refresh(&cfg).unwrap();
        assert_eq!(certs[0].names, vec!["a2.test"]);

        std::fs::write(&a.cert_file, "garbage").unwrap();
        assert!(
            files.refresh(&cfg).is_none(),
            "a broken file keeps the last good one"
        );

        cfg.certificates.clear();
        let (certs, _) = files.refresh(&cfg).unwrap();
        assert!(certs.is_empty());
    }
}
