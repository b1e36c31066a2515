//! Middleware configuration in Traefik v3's shape: `middlewares.<name>.<type>.<option>`.
//!
//! `MiddlewareConfig` is externally tagged, so `{ stripPrefix: { prefixes: [...] } }` reads as
//! `MiddlewareConfig::StripPrefix(..)`. Pure serde data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MiddlewareConfig {
    StripPrefix(StripPrefixConfig),
    StripPrefixRegex(StripPrefixRegexConfig),
    AddPrefix(AddPrefixConfig),
    ReplacePath(ReplacePathConfig),
    ReplacePathRegex(ReplacePathRegexConfig),
    RedirectScheme(RedirectSchemeConfig),
    RedirectRegex(RedirectRegexConfig),
    Headers(HeadersConfig),
    Chain(ChainConfig),
}

impl MiddlewareConfig {
    /// Traefik's name for the middleware type (`stripPrefix`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            MiddlewareConfig::StripPrefix(_) => "stripPrefix",
            MiddlewareConfig::StripPrefixRegex(_) => "stripPrefixRegex",
            MiddlewareConfig::AddPrefix(_) => "addPrefix",
            MiddlewareConfig::ReplacePath(_) => "replacePath",
            MiddlewareConfig::ReplacePathRegex(_) => "replacePathRegex",
            MiddlewareConfig::RedirectScheme(_) => "redirectScheme",
            MiddlewareConfig::RedirectRegex(_) => "redirectRegex",
            MiddlewareConfig::Headers(_) => "headers",
            MiddlewareConfig::Chain(_) => "chain",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefixConfig {
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Deprecated in Traefik v3 but still accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_slash: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefixRegexConfig {
    #[serde(default)]
    pub regex: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPrefixConfig {
    pub prefix: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePathConfig {
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePathRegexConfig {
    pub regex: String,
    pub replacement: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectSchemeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectRegexConfig {
    pub regex: String,
    pub replacement: String,
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeadersConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,
    // Security and CORS options (issue 7) are added here in Traefik's names.
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainConfig {
    #[serde(default)]
    pub middlewares: Vec<String>,
}
