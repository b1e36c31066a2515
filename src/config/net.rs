//! IP networks as configuration names them (`trustedIPs`, `sourceRange`, `excludedIPs`): a CIDR or
//! a bare address, parsed once when the configuration is read ([`IpRange`]), so nothing parses a
//! range again when a table compiles, an entrypoint starts or a connection arrives. Pure.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `10.0.0.0/8` or a bare address (a /32 or /128).
pub fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// One entry of a configured IP range list, parsed when the configuration is read.
///
/// An entry that is no IP or CIDR is kept as written ([`IpRange::net`] is `None`), so the element
/// using it refuses it naming the text and the option, as before the ranges were parsed early: a
/// bad `sourceRange` disables its middleware, a bad `forwardedHeaders.trustedIPs` its entrypoint,
/// not the whole document. Serialized as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRange {
    text: String,
    net: Option<IpNet>,
}

impl IpRange {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let net = parse_net(&text);
        IpRange { text, net }
    }

    /// The range; `None` when the text is no IP or CIDR.
    pub fn net(&self) -> Option<IpNet> {
        self.net
    }

    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<&str> for IpRange {
    fn from(text: &str) -> Self {
        IpRange::new(text)
    }
}

impl From<String> for IpRange {
    fn from(text: String) -> Self {
        IpRange::new(text)
    }
}

/// An entry equals the text it was written as.
impl PartialEq<String> for IpRange {
    fn eq(&self, other: &String) -> bool {
        self.text == *other
    }
}

impl PartialEq<&str> for IpRange {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for IpRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for IpRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(IpRange::new)
    }
}

#[cfg(test)]
mod tests;
