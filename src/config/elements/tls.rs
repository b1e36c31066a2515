//! The `tls` section of a dynamic document, entry by entry: certificates, options, stores.

use serde_json::Value;

use super::{de, did_you_mean, kind, Element, Reader, TLS};
use crate::config::dynamic::{CertificateConfig, TlsOptionsConfig, TlsStoreConfig};

impl Reader<'_> {
    pub(super) fn tls(&mut self, value: Value) {
        for (key, value) in self.named(&["tls"], value) {
            match key.as_str() {
                "certificates" => {
                    let list = match value {
                        Value::Array(list) => list,
                        Value::Null => Vec::new(),
                        other => {
                            let message = format!("expected a list, found {}", kind(&other));
                            self.issue(
                                Element::Tls,
                                "certificates",
                                &["tls", "certificates"],
                                message,
                            );
                            continue;
                        }
                    };
                    for (i, cert) in list.into_iter().enumerate() {
                        match de::<CertificateConfig>(cert) {
                            Ok(c) => self.out.config.tls.certificates.push(c),
                            Err((_, message)) => self.issue(
                                Element::Tls,
                                &format!("certificates[{i}]"),
                                &["tls", "certificates"],
                                format!("{message}; certificate not loaded"),
                            ),
                        }
                    }
                }
                "stores" => {
                    for (name, v) in self.named(&["tls", "stores"], value) {
                        match de::<TlsStoreConfig>(v) {
                            Ok(store) => {
                                self.out.config.tls.stores.insert(name, store);
                            }
                            Err((_, message)) => {
                                self.issue(Element::Tls, &name, &["tls", "stores", &name], message)
                            }
                        }
                    }
                }
                "options" => {
                    for (name, v) in self.named(&["tls", "options"], value) {
                        match de::<TlsOptionsConfig>(v) {
                            Ok(options) => {
                                self.out.config.tls.options.insert(name, options);
                            }
                            Err((_, message)) => {
                                let message = format!("{message}; TLS options not used");
                                self.issue(
                                    Element::Tls,
                                    &name,
                                    &["tls", "options", &name],
                                    message,
                                );
                                self.out
                                    .config
                                    .invalid
                                    .tls_options
                                    .insert(name, "cannot be read".to_string());
                            }
                        }
                    }
                }
                other => {
                    let hint = did_you_mean(other, TLS);
                    self.issue(
                        Element::Tls,
                        other,
                        &["tls", other],
                        format!("unknown section `tls.{other}`{hint}: not read"),
                    );
                }
            }
        }
    }
}
