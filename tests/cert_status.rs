//! Certificate status in the admin API: the TLS store's certificates and their expiry.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;

#[tokio::test]
async fn api_lists_the_served_certificates() {
    let yaml = "http:\n  routers:\n    api:\n      rule: \"PathPrefix(`/api`)\"\n      service: api@internal\n";
    let gw = gateway_with(yaml, "\n[api]\n").await;
    let c = client();
    let reply = get(&c, &gw.url("/api/tls/certificates"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let default = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "default")
        .expect("the generated default certificate is listed");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(default["notAfter"].as_i64().unwrap() > now, "{default}");
    assert!(!default["names"].as_array().unwrap().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn certificate_expiry_is_a_metric() {
    let yaml = "http:\n  routers:\n    metrics:\n      rule: \"Path(`/metrics`)\"\n      service: prometheus@internal\n";
    let gw = gateway_with(yaml, "\n[metrics.prometheus]\nentryPoint = \"web\"\n").await;
    let reply = get(&client(), &gw.url("/metrics"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let line = reply
        .body
        .lines()
        .find(|l| l.starts_with("traefik_tls_certs_not_after{"))
        .unwrap_or_else(|| panic!("no certificate metric in:\n{}", reply.body));
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value > 1.0e9, "{line}");
    // As Traefik: the serial in decimal, the subject CN, the DNS SANs.
    let serial = line
        .split("serial=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no serial label in {line}"));
    assert!(
        !serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit()),
        "serial not decimal: {line}"
    );
    assert!(line.contains("cn=\"SWARMGATE DEFAULT CERT\""), "{line}");
    gw.stop().await;
}
