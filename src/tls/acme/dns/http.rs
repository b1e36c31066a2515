//! A small HTTP/1.1 client for the providers with an HTTP API: one request per connection,
//! `http://` or `https://` (webpki roots), bounded by a timeout, the answer body capped at 1 MiB.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};

const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL {0:?}")]
    Url(String),
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
    #[error("{url}: no answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
}

pub struct Answer {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client configuration trusting the web's roots (webpki) and `extra` (DER).
pub fn tls_config_with(
    extra: &[rustls::pki_types::CertificateDer<'static>],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra {
        let _ = roots.add(cert.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    Arc::new(config)
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| tls_config_with(&[])))
}

/// Sends `method url` with `headers` and `body`; any status is an `Answer`.
pub async fn request(
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Answer, HttpError> {
    request_with(tls_config(), method, url, headers, body, timeout).await
}

/// `request` with the TLS client configuration `tls` (a CA's own roots).
pub async fn request_with(
    tls: Arc<rustls::ClientConfig>,
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Answer, HttpError> {
    tokio::time::timeout(timeout, send(tls, method, url, headers, body))
        .await
        .map_err(|_| HttpError::Timeout {
            url: url.to_string(),
            timeout,
        })?
}

async fn send(
    tls_config: Arc<rustls::ClientConfig>,
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Answer, HttpError> {
    let failed = |message: String| HttpError::Failed {
        url: url.to_string(),
        message,
    };
    let uri: http::Uri = url.parse().map_err(|_| HttpError::Url(url.to_string()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(HttpError::Url(url.to_string())),
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpError::Url(url.to_string()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, "swarmgate-acme-dns");
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    let req = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed(e.to_string()))?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| failed(format!("connect: {e}")))?;
    let response = if https {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| HttpError::Url(url.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config)
            .connect(name, tcp)
            .await
            .map_err(|e| failed(format!("TLS: {e}")))?;
        exchange(hyper_util::rt::TokioIo::new(tls), req).await
    } else {
        exchange(hyper_util::rt::TokioIo::new(tcp), req).await
    }
    .map_err(failed)?;
    Ok(response)
}

async fn exchange<T>(io: T, req: http::Request<Full<Bytes>>) -> Result<Answer, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A JSON API call: `body` sent as JSON when given; the answer's status and JSON (`Null` when
/// the body is empty or not JSON).
pub async fn json(
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<(http::StatusCode, serde_json::Value), HttpError> {
    let mut all: Vec<(&str, String)> = headers.to_vec();
    all.push(("accept", "application/json".into()));
    let bytes = match body {
        Some(b) => {
            all.push(("content-type", "application/json".into()));
            b.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    let answer = request(method, url, &all, bytes, timeout).await?;
    let value = serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
    Ok((answer.status, value))
}

/// `json`, with any answer but 2xx an error carrying the status and body, for the providers.
pub async fn call(
    provider: &'static str,
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<serde_json::Value, super::ProviderError> {
    let failed = |message: String| super::ProviderError::Failed { provider, message };
    let (status, value) = json(method, url, headers, body, timeout)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        return Err(failed(format!("{url} answered {status}: {value}")));
    }
    Ok(value)
}

/// An `application/x-www-form-urlencoded` value (RFC 3986 unreserved bytes kept, the rest `%XX`).
pub fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `k1=v1&k2=v2`, each part `form_value`-encoded.
pub fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_value(k), form_value(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An OAuth 2 bearer token (Azure AD client credentials, Google's service-account JWT bearer),
/// kept until a minute before the `expires_in` its token endpoint gave (300 s when it gave none).
#[derive(Default)]
pub struct TokenCache(tokio::sync::Mutex<Option<(String, std::time::Instant)>>);

impl TokenCache {
    /// The cached token while fresh, else a new one: `body()` (the form, built only then) POSTed
    /// to `url`; an answer but 2xx with an `access_token` is an error naming `url`, the status and
    /// the body, made by `error`.
    pub async fn get<E>(
        &self,
        url: &str,
        timeout: Duration,
        body: impl FnOnce() -> Result<String, E>,
        error: impl Fn(String) -> E,
    ) -> Result<String, E> {
        let mut cached = self.0.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if std::time::Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let headers = [
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("accept", "application/json".to_string()),
        ];
        let answer = request(
            ::http::Method::POST,
            url,
            &headers,
            body()?.into_bytes(),
            timeout,
        )
        .await
        .map_err(|e| error(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
        let token = match (answer.status.is_success(), value["access_token"].as_str()) {
            (true, Some(token)) => token.to_string(),
            _ => {
                return Err(error(format!(
                    "{url} answered {}: {}",
                    answer.status,
                    answer.text()
                )))
            }
        };
        let lifetime = value["expires_in"].as_u64().unwrap_or(300);
        let until = std::time::Instant::now() + Duration::from_secs(lifetime.saturating_sub(60));
        *cached = Some((token.clone(), until));
        Ok(token)
    }
}
