//! Configuration of the middlewares that decide who the client is: `basicAuth`, `digestAuth`,
//! `forwardAuth` (with swarmgate's answer cache) and `passTLSClientCert`. Pure serde data.

use serde::{Deserialize, Serialize};

/// `basicAuth`: HTTP Basic authentication against htpasswd users.
pub type BasicAuthConfig = UsersAuthConfig;

/// `digestAuth`: HTTP Digest authentication against htdigest users.
pub type DigestAuthConfig = UsersAuthConfig;

/// The options `basicAuth` and `digestAuth` share (the same five in Traefik). One type, so the
/// unknown-option errors list the same names for both; serde `flatten` would have lost them
/// (it does not combine with `deny_unknown_fields`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersAuthConfig {
    /// `basicAuth`: htpasswd lines `user:hash`. `digestAuth`: htdigest lines
    /// `user:realm:md5(user:realm:password)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Path of an htpasswd (`basicAuth`) or htdigest (`digestAuth`) file. `basicAuth`: its users
    /// take precedence over `users`; `digestAuth`: `users` lines override its lines.
    #[serde(default)]
    pub users_file: String,
    /// Default `traefik`.
    #[serde(default)]
    pub realm: String,
    #[serde(default)]
    pub remove_header: bool,
    /// Request header that receives the authenticated user name.
    #[serde(default)]
    pub header_field: String,
}

/// `forwardAuth` (Traefik v3): asks an authentication server about each request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardAuthConfig {
    /// URL of the authentication server (`http://` or `https://`), path and query included.
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ForwardAuthTlsConfig>,
    /// Unset, `true` and `false` are three behaviours in Traefik (see `middleware::forward_auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_forward_header: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_response_headers_regex: String,
    /// Request headers sent to the authentication server; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_request_headers: Vec<String>,
    /// Cookie names copied from the authentication server's answer to the response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_auth_cookies_to_response: Vec<String>,
    /// The authentication server's response header naming the user (access log `ClientUsername`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header_field: String,
    #[serde(default)]
    pub forward_body: bool,
    /// Bytes of request body sent with `forwardBody`; unset or -1 = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<i64>,
    /// Bytes of the authentication server's answer read; unset or -1 = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_body_size: Option<i64>,
    #[serde(default)]
    pub preserve_location_header: bool,
    #[serde(default)]
    pub preserve_request_method: bool,
    /// Where a 401 from the authentication server redirects (302).
    #[serde(default, rename = "authSigninURL", alias = "authSigninUrl")]
    pub auth_signin_url: String,
    /// swarmgate extension: cache of the authentication server's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_response_cache: Option<AuthResponseCacheConfig>,
}

/// `forwardAuth.tls`: how swarmgate connects to an `https` authentication server. Each of `ca`,
/// `cert` and `key` is a file path or the PEM text itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardAuthTlsConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Deprecated in Traefik and without effect on a client; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_optional: Option<bool>,
}

/// `forwardAuth.authResponseCache` (swarmgate extension, not in Traefik): keeps the
/// authentication server's answers for `ttl`, keyed by the values of `keyHeaders` (and, unless
/// `keyIncludesPath: false`, the method, host, path and query), so a busy route does not ask the
/// server about every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthResponseCacheConfig {
    /// Request headers whose values make the key (`Cookie`, `Authorization`); required. A request
    /// that has none of them is never answered from the cache.
    #[serde(default)]
    pub key_headers: Vec<String>,
    /// How long an answer is kept; required, > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<crate::config::duration::Duration>,
    /// Answers kept at most; default 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_entries: Option<i64>,
    /// Also keep non-2xx answers (denials, login redirects); default false.
    #[serde(default)]
    pub cache_denials: bool,
    /// Method, host, path and query are part of the key; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_includes_path: Option<bool>,
}

/// `passTLSClientCert`: the client certificate of a mutual-TLS connection passed to the
/// upstream (`X-Forwarded-Tls-Client-Cert`, `X-Forwarded-Tls-Client-Cert-Info`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassTlsClientCertConfig {
    /// The certificates, base64 DER (PEM without armour and line breaks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pem: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<TlsClientCertInfoConfig>,
}

/// `passTLSClientCert.info`: which certificate fields go into the info header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertInfoConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_after: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_before: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sans: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<TlsClientCertSubjectConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<TlsClientCertIssuerConfig>,
}

/// `passTLSClientCert.info.subject`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertSubjectConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub country: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub province: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locality: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organization: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organizational_unit: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common_name: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub domain_component: bool,
}

/// `passTLSClientCert.info.issuer` (Traefik has no `organizationalUnit` here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsClientCertIssuerConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub country: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub province: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locality: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organization: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common_name: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub domain_component: bool,
}
