//! Protocol upgrades (WebSocket and friends): detect the request, and once the upstream answers
//! `101 Switching Protocols`, splice the two upgraded connections together.

use http::header::{self, HeaderMap, HeaderValue};
use http::Version;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// The `Upgrade` protocol when this HTTP/1.1 request asks for one (`Connection: upgrade`).
pub fn requested(version: &Version, headers: &HeaderMap) -> Option<HeaderValue> {
    if *version != Version::HTTP_11 {
        return None;
    }
    let wants = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if wants {
        headers.get(header::UPGRADE).cloned()
    } else {
        None
    }
}

/// Copies bytes both ways between the client's and the upstream's upgraded connections until
/// either side closes.
pub fn tunnel(client: OnUpgrade, upstream: OnUpgrade) {
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            tracing::debug!(%error, "upgraded connection ended with error");
        }
    });
}
