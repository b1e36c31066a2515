//! The ACME storage file, in Traefik's `acme.json` shape: `{ "<resolver>": { "Account": …,
//! "Certificates": [ { "domain": { "main", "sans" }, "certificate": base64(PEM chain),
//! "key": base64(PEM key), "Store": "default" } ] } }`, so a Traefik file's certificates are
//! reused as they are. (The account is instant-acme's credentials; a Traefik account is
//! replaced by a new one.)
//!
//! Rules: refuse a group/world-readable file (as Traefik); write atomically (temp file in the
//! same directory, mode 0600, fsync, rename); a file that does not parse is reported, copied to
//! `<file>.bak`, and not written over until a certificate has been obtained to replace it.
#![allow(clippy::disallowed_types)] // std Mutex: ACME storage: config plane (orders, renewals)

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::dynamic::TlsDomain;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("ACME storage {path}: permissions {mode:o} are too open; it holds private keys, use chmod 600")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("ACME storage {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ACME storage {path}: cannot serialize: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResolverData {
    #[serde(rename = "Account", default, skip_serializing_if = "Option::is_none")]
    pub account: Option<serde_json::Value>,
    #[serde(rename = "Certificates", default)]
    pub certificates: Vec<StoredCert>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCert {
    pub domain: TlsDomain,
    /// Base64 of the PEM chain.
    pub certificate: String,
    /// Base64 of the PEM private key.
    pub key: String,
    #[serde(rename = "Store", default = "default_store")]
    pub store: String,
}

fn default_store() -> String {
    "default".to_string()
}

impl StoredCert {
    pub fn new(domain: TlsDomain, chain_pem: &str, key_pem: &str) -> StoredCert {
        let b64 = base64::engine::general_purpose::STANDARD;
        StoredCert {
            domain,
            certificate: b64.encode(chain_pem),
            key: b64.encode(key_pem),
            store: default_store(),
        }
    }

    /// The PEM chain and key, when the base64 decodes.
    pub fn pem(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let b64 = base64::engine::general_purpose::STANDARD;
        Some((
            b64.decode(&self.certificate).ok()?,
            b64.decode(&self.key).ok()?,
        ))
    }
}

/// One storage file, shared by the resolvers that name it.
#[derive(Debug)]
pub struct Storage {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    data: BTreeMap<String, ResolverData>,
    /// The file on disk did not parse: only a new certificate may replace it.
    corrupted: bool,
}

impl Storage {
    /// Reads the file (absent or empty: no data). Fails on open permissions or I/O errors;
    /// a corrupted file is reported, backed up, and treated as empty.
    pub fn open(path: &Path) -> Result<Storage, StorageError> {
        let io = |source| StorageError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut state = State {
            data: BTreeMap::new(),
            corrupted: false,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(StorageError::Permissions {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
                let bytes = std::fs::read(path).map_err(io)?;
                if !bytes.iter().all(u8::is_ascii_whitespace) {
                    match serde_json::from_slice(&bytes) {
                        Ok(data) => state.data = data,
                        Err(error) => {
                            let backup = backup_path(path);
                            std::fs::write(&backup, &bytes).map_err(io)?;
                            std::fs::set_permissions(
                                &backup,
                                std::fs::Permissions::from_mode(0o600),
                            )
                            .map_err(io)?;
                            tracing::error!(
                                storage = %path.display(),
                                backup = %backup.display(),
                                %error,
                                "ACME storage is corrupted; kept a backup, will not overwrite it until a new certificate is obtained"
                            );
                            state.corrupted = true;
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        Ok(Storage {
            path: path.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_corrupted(&self) -> bool {
        self.lock().corrupted
    }

    /// A copy of one resolver's data.
    pub fn resolver(&self, name: &str) -> ResolverData {
        self.lock().data.get(name).cloned().unwrap_or_default()
    }

    /// Stores the account credentials; written now unless the file on disk is corrupted.
    pub fn set_account(
        &self,
        resolver: &str,
        account: serde_json::Value,
    ) -> Result<(), StorageError> {
        let mut state = self.lock();
        state.data.entry(resolver.to_string()).or_default().account = Some(account);
        if state.corrupted {
            return Ok(());
        }
        write_atomic(&self.path, &state.data)
    }

    /// Stores a certificate (replacing the one with the same main domain) and writes the file.
    pub fn put_certificate(&self, resolver: &str, cert: StoredCert) -> Result<(), StorageError> {
        let mut state = self.lock();
        let entry = state.data.entry(resolver.to_string()).or_default();
        entry
            .certificates
            .retain(|c| c.domain.main != cert.domain.main);
        entry.certificates.push(cert);
        write_atomic(&self.path, &state.data)?;
        state.corrupted = false;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".bak");
    PathBuf::from(name)
}

fn write_atomic(path: &Path, data: &BTreeMap<String, ResolverData>) -> Result<(), StorageError> {
    let io = |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(data).map_err(|source| StorageError::Serialize {
        path: path.to_path_buf(),
        source,
    })?;
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(main: &str) -> TlsDomain {
        TlsDomain {
            main: main.to_string(),
            sans: Vec::new(),
        }
    }

    #[test]
    fn round_trip_is_atomic_private_and_traefik_shaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.json");
        let storage = Storage::open(&path).unwrap();
        storage
            .put_certificate("le", StoredCert::new(domain("a.test"), "CERT", "KEY"))
            .unwrap();
        storage
            .put_certificate("le", StoredCert::new(domain("a.test"), "CERT2", "KEY2"))
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw["le"]["Certificates"][0]["domain"]["main"], "a.test");
        assert_eq!(raw["le"]["Certificates"][0]["Store"], "default");
        let reopened = Storage::open(&path).unwrap().resolver("le");
        assert_eq!(reopened.certificates.len(), 1);
        let (cert, key) = reopened.certificates[0].pem().unwrap();
        assert_eq!(
            (cert.as_slice(), key.as_slice()),
            (&b"CERT2"[..], &b"KEY2"[..])
        );
    }

    #[test]
    fn open_permissions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Storage::open(&path).unwrap_err().to_string();
        assert!(err.contains("644") && err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn corrupted_file_is_backed_up_and_kept_until_a_certificate_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.json");
        std::fs::write(&path, "{ not json").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let storage = Storage::open(&path).unwrap();
        assert!(storage.is_corrupted());
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "{ not json"
        );
        storage
            .set_account("le", serde_json::json!({"id": 1}))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
        storage
            .put_certificate("le", StoredCert::new(domain("a.test"), "C", "K"))
            .unwrap();
        assert!(!storage.is_corrupted());
        let reopened = Storage::open(&path).unwrap().resolver("le");
        assert_eq!(reopened.account, Some(serde_json::json!({"id": 1})));
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "{ not json"
        );
    }
}
