//! The hosted DNS providers against a local server of this test implementing the documented
//! endpoints each provider calls: the recorded requests (method, path, auth headers, JSON body)
//! are the API's documented shapes; the answers are the API's documented answers, including
//! its error bodies. No daemon needed.
#![allow(clippy::unwrap_used)]
#![allow(clippy::disallowed_types)] // std Mutex: the fake API records calls (test only)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use swarmgate::config::static_config::DnsChallengeConfig;
use swarmgate::tls::acme::dns::{Dns01, Env, TxtRecord};

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Value,
    /// The body as text (XML APIs).
    raw: String,
}

type Answer = Arc<dyn Fn(&Call) -> (u16, Value) + Send + Sync>;

/// A fake API: records every call, answers with `answer`.
async fn fake_api(answer: Answer) -> (SocketAddr, Arc<Mutex<Vec<Call>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = calls.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let calls = recorded.clone();
            let answer = answer.clone();
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let calls = calls.clone();
                    let answer = answer.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().to_string();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                            .collect();
                        let bytes = req.into_body().collect().await.unwrap().to_bytes();
                        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        let call = Call {
                            method,
                            path,
                            headers,
                            body,
                            raw: String::from_utf8_lossy(&bytes).into_owned(),
                        };
                        let (status, value) = answer(&call);
                        calls.lock().unwrap().push(call);
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(http_body_util::Full::new(bytes::Bytes::from(
                                    // A JSON string is sent as plain text (DuckDNS's `OK`).
                                    match value {
                                        Value::String(text) => text,
                                        other => other.to_string(),
                                    },
                                )))
                                .unwrap(),
                        )
                    }
                });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service),
            );
        }
    });
    (addr, calls)
}

fn provider(name: &str, vars: &[(&str, String)]) -> Dns01 {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let lookup = move |k: &str| map.get(k).cloned();
    let cfg = DnsChallengeConfig {
        provider: name.into(),
        ..Default::default()
    };
    Dns01::new(&cfg, &Env::new(&lookup)).unwrap()
}

fn record() -> TxtRecord {
    TxtRecord::new("*.app.example.com", "tok", "tok.thumb", "VALUE-43")
}

fn summary(calls: &Arc<Mutex<Vec<Call>>>) -> Vec<(String, String)> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.method.clone(), c.path.clone()))
        .collect()
}

fn s(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test]
async fn cloudflare_with_an_api_token() {
    let (addr, calls) = fake_api(Arc::new(|c: &Call| {
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/client/v4/zones?name=example.com") => (
                200,
                json!({"success": true, "errors": [], "result": [{"id": "zone-1", "name": "example.com"}]}),
            ),
            ("GET", _) => (200, json!({"success": true, "errors": [], "result": []})),
            ("POST", "/client/v4/zones/zone-1/dns_records") => (
                200,
                json!({"success": true, "errors": [], "result": {"id": "rec-9"}}),
            ),
            ("DELETE", "/client/v4/zones/zone-1/dns_records/rec-9") => {
                (200, json!({"success": true, "errors": [], "result": {"id": "rec-9"}}))
            }
            _ => (
                404,
                json!({"success": false, "errors": [{"code": 7003, "message": "Could not route"}]}),
            ),
        }
    }))
    .await;
    let dns = provider(
        "cloudflare",
        &[
            ("CF_DNS_API_TOKEN", "tok-abc".into()),
            ("CLOUDFLARE_BASE_URL", format!("http://{addr}/client/v4")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s("GET", "/client/v4/zones?name=app.example.com"),
            s("GET", "/client/v4/zones?name=example.com"),
            s("POST", "/client/v4/zones/zone-1/dns_records"),
            s("DELETE", "/client/v4/zones/zone-1/dns_records/rec-9"),
        ]
    );
    let calls = calls.lock().unwrap();
    assert!(calls
        .iter()
        .all(|c| c.headers["authorization"] == "Bearer tok-abc"));
    assert_eq!(
        calls[2].body,
        json!({"type": "TXT", "name": "_acme-challenge.app.example.com", "content": "VALUE-43", "ttl": 120})
    );
}

#[tokio::test]
async fn cloudflare_with_email_and_global_key_and_its_error_body() {
    let (addr, calls) = fake_api(Arc::new(|_c: &Call| {
        (
            403,
            json!({"success": false, "errors": [{"code": 9109, "message": "Invalid access token"}]}),
        )
    }))
    .await;
    let dns = provider(
        "cloudflare",
        &[
            ("CF_API_EMAIL", "ops@example.com".into()),
            ("CF_API_KEY", "global-key".into()),
            ("CLOUDFLARE_BASE_URL", format!("http://{addr}")),
        ],
    );
    let err = dns
        .provider
        .present(&record())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("403") && err.contains("Invalid access token"),
        "{err}"
    );
    let calls = calls.lock().unwrap();
    assert_eq!(calls[0].headers["x-auth-email"], "ops@example.com");
    assert_eq!(calls[0].headers["x-auth-key"], "global-key");
}

#[tokio::test]
async fn digitalocean() {
    let (addr, calls) = fake_api(Arc::new(|c: &Call| {
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/v2/domains/example.com") => {
                (200, json!({"domain": {"name": "example.com", "ttl": 1800}}))
            }
            ("POST", "/v2/domains/example.com/records") => (
                201,
                json!({"domain_record": {"id": 28448433, "type": "TXT", "name": "_acme-challenge.app"}}),
            ),
            ("DELETE", "/v2/domains/example.com/records/28448433") => (204, Value::Null),
            _ => (
                404,
                json!({"id": "not_found", "message": "The resource you requested could not be found."}),
            ),
        }
    }))
    .await;
    let dns = provider(
        "digitalocean",
        &[
            ("DO_AUTH_TOKEN", "do-token".into()),
            ("DO_API_URL", format!("http://{addr}")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s("GET", "/v2/domains/app.example.com"),
            s("GET", "/v2/domains/example.com"),
            s("POST", "/v2/domains/example.com/records"),
            s("DELETE", "/v2/domains/example.com/records/28448433"),
        ]
    );
    let calls = calls.lock().unwrap();
    assert!(calls
        .iter()
        .all(|c| c.headers["authorization"] == "Bearer do-token"));
    assert_eq!(
        calls[2].body,
        json!({"type": "TXT", "name": "_acme-challenge.app.example.com.", "data": "VALUE-43", "ttl": 30})
    );
}

#[tokio::test]
async fn hetzner() {
    let (addr, calls) = fake_api(Arc::new(|c: &Call| {
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/api/v1/zones?name=example.com") => (
                200,
                json!({"zones": [{"id": "z-77", "name": "example.com"}], "meta": {}}),
            ),
            ("GET", _) => (
                404,
                json!({"zones": [], "error": {"message": "zone not found", "code": 404}}),
            ),
            ("POST", "/api/v1/records") => (200, json!({"record": {"id": "r-5", "type": "TXT"}})),
            ("DELETE", "/api/v1/records/r-5") => (200, Value::Null),
            _ => (404, json!({"error": {"message": "not found", "code": 404}})),
        }
    }))
    .await;
    let dns = provider(
        "hetzner",
        &[
            ("HETZNER_API_KEY", "hz-key".into()),
            ("HETZNER_API_URL", format!("http://{addr}")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s("GET", "/api/v1/zones?name=app.example.com"),
            s("GET", "/api/v1/zones?name=example.com"),
            s("POST", "/api/v1/records"),
            s("DELETE", "/api/v1/records/r-5"),
        ]
    );
    let calls = calls.lock().unwrap();
    assert!(calls
        .iter()
        .all(|c| c.headers["auth-api-token"] == "hz-key"));
    assert_eq!(
        calls[2].body,
        json!({"name": "_acme-challenge.app", "ttl": 120, "type": "TXT", "value": "VALUE-43", "zone_id": "z-77"})
    );
}

#[tokio::test]
async fn duckdns() {
    let (addr, calls) = fake_api(Arc::new(|c: &Call| {
        if c.path.contains("token=duck-token") && c.path.contains("domains=myhome") {
            (200, json!("OK"))
        } else {
            (200, json!("KO"))
        }
    }))
    .await;
    let dns = provider(
        "duckdns",
        &[
            ("DUCKDNS_TOKEN", "duck-token".into()),
            ("DUCKDNS_API_URL", format!("http://{addr}")),
        ],
    );
    let r = TxtRecord::new("*.myhome.duckdns.org", "t", "t.k", "VALUE-43");
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s(
                "GET",
                "/update?domains=myhome&token=duck-token&txt=VALUE-43"
            ),
            s(
                "GET",
                "/update?domains=myhome&token=duck-token&txt=&clear=true"
            ),
        ]
    );
    // `KO` (a wrong token) is an error that does not show the token.
    let wrong = provider(
        "duckdns",
        &[
            ("DUCKDNS_TOKEN", "bad-token".into()),
            ("DUCKDNS_API_URL", format!("http://{addr}")),
        ],
    );
    let err = wrong.provider.present(&r).await.unwrap_err().to_string();
    assert!(err.contains("KO") && !err.contains("bad-token"), "{err}");
    let other = TxtRecord::new("example.com", "t", "t.k", "v");
    assert!(dns.provider.present(&other).await.is_err());
}

#[tokio::test]
async fn gandi_v5_adds_to_and_removes_from_the_rrset() {
    let state = Arc::new(Mutex::new(vec!["\"other\"".to_string()]));
    let st = state.clone();
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        let rrset = "/v5/livedns/domains/example.com/records/_acme-challenge.app/TXT";
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/v5/livedns/domains/example.com") => (200, json!({"fqdn": "example.com"})),
            ("GET", p) if p == rrset => (
                200,
                json!({"rrset_name": "_acme-challenge.app", "rrset_type": "TXT", "rrset_ttl": 300, "rrset_values": st.lock().unwrap().clone()}),
            ),
            ("PUT", p) if p == rrset => {
                *st.lock().unwrap() = c.body["rrset_values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                (201, json!({"message": "DNS Record Created"}))
            }
            _ => (404, json!({"code": 404, "message": "Unknown domain", "object": "LiveDNSError"})),
        }
    }))
    .await;
    let dns = provider(
        "gandiv5",
        &[
            ("GANDIV5_PERSONAL_ACCESS_TOKEN", "pat".into()),
            ("GANDIV5_API_URL", format!("http://{addr}/v5/livedns")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    assert_eq!(*state.lock().unwrap(), vec!["other", "VALUE-43"]);
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(*state.lock().unwrap(), vec!["other"]);
    let calls = calls.lock().unwrap();
    assert!(calls
        .iter()
        .all(|c| c.headers["authorization"] == "Bearer pat"));
    let put = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(
        put.body,
        json!({"rrset_ttl": 300, "rrset_values": ["other", "VALUE-43"]})
    );
}

#[tokio::test]
async fn godaddy_rewrites_the_txt_list_and_deletes_it_when_empty() {
    let state: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let st = state.clone();
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        let path = "/v1/domains/example.com/records/TXT/_acme-challenge.app";
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/v1/domains/example.com") => (200, json!({"domain": "example.com"})),
            ("GET", p) if p == path => (
                200,
                Value::Array(
                    st.lock()
                        .unwrap()
                        .iter()
                        .map(|v| json!({"data": v, "name": "_acme-challenge.app", "ttl": 600, "type": "TXT"}))
                        .collect(),
                ),
            ),
            ("PUT", p) if p == path => {
                *st.lock().unwrap() = c.body
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["data"].as_str().unwrap().to_string())
                    .collect();
                (200, Value::Null)
            }
            ("DELETE", p) if p == path => {
                st.lock().unwrap().clear();
                (204, Value::Null)
            }
            _ => (404, json!({"code": "NOT_FOUND", "message": "The domain was not found"})),
        }
    }))
    .await;
    let dns = provider(
        "godaddy",
        &[
            ("GODADDY_API_KEY", "key".into()),
            ("GODADDY_API_SECRET", "secret".into()),
            ("GODADDY_API_URL", format!("http://{addr}")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    assert_eq!(*state.lock().unwrap(), vec!["VALUE-43"]);
    dns.provider.cleanup(&r).await.unwrap();
    assert!(state.lock().unwrap().is_empty());
    let calls = calls.lock().unwrap();
    assert!(calls
        .iter()
        .all(|c| c.headers["authorization"] == "sso-key key:secret"));
    assert!(calls.iter().any(|c| c.method == "DELETE"));
    let put = calls.iter().find(|c| c.method == "PUT").unwrap();
    assert_eq!(put.body, json!([{"data": "VALUE-43", "ttl": 600}]));
}

#[tokio::test]
async fn porkbun() {
    let (addr, calls) = fake_api(Arc::new(|c: &Call| {
        if c.body["apikey"] != "pk" || c.body["secretapikey"] != "sk" {
            return (
                400,
                json!({"status": "ERROR", "message": "Invalid API key. (002)"}),
            );
        }
        match c.path.as_str() {
            "/api/json/v3/dns/retrieve/example.com" => {
                (200, json!({"status": "SUCCESS", "records": []}))
            }
            "/api/json/v3/dns/create/example.com" => {
                (200, json!({"status": "SUCCESS", "id": 106926659}))
            }
            "/api/json/v3/dns/delete/example.com/106926659" => (200, json!({"status": "SUCCESS"})),
            _ => (
                400,
                json!({"status": "ERROR", "message": "Invalid domain."}),
            ),
        }
    }))
    .await;
    let dns = provider(
        "porkbun",
        &[
            ("PORKBUN_API_KEY", "pk".into()),
            ("PORKBUN_SECRET_API_KEY", "sk".into()),
            ("PORKBUN_API_URL", format!("http://{addr}/api/json/v3")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s("POST", "/api/json/v3/dns/retrieve/app.example.com"),
            s("POST", "/api/json/v3/dns/retrieve/example.com"),
            s("POST", "/api/json/v3/dns/create/example.com"),
            s("POST", "/api/json/v3/dns/delete/example.com/106926659"),
        ]
    );
    let create = calls.lock().unwrap()[2].body.clone();
    assert_eq!(
        create,
        json!({"apikey": "pk", "secretapikey": "sk", "name": "_acme-challenge.app", "type": "TXT", "content": "VALUE-43", "ttl": "300"})
    );
    let wrong = provider(
        "porkbun",
        &[
            ("PORKBUN_API_KEY", "pk".into()),
            ("PORKBUN_SECRET_API_KEY", "nope".into()),
            ("PORKBUN_API_URL", format!("http://{addr}/api/json/v3")),
        ],
    );
    let err = wrong.provider.present(&r).await.unwrap_err().to_string();
    assert!(err.contains("Invalid API key"), "{err}");
}

#[tokio::test]
async fn route53_signs_requests_and_upserts_then_deletes_the_txt_set() {
    let state: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let st = state.clone();
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        let xml = |s: String| Value::String(s);
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/2013-04-01/hostedzonesbyname?dnsname=app.example.com&maxitems=1") => (200, xml(
                "<ListHostedZonesByNameResponse><HostedZones><HostedZone><Id>/hostedzone/ZOTHER</Id><Name>example.com.</Name></HostedZone></HostedZones></ListHostedZonesByNameResponse>".into(),
            )),
            ("GET", "/2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=1") => (200, xml(
                "<ListHostedZonesByNameResponse><HostedZones><HostedZone><Id>/hostedzone/Z123</Id><Name>example.com.</Name></HostedZone></HostedZones></ListHostedZonesByNameResponse>".into(),
            )),
            ("GET", p) if p.starts_with("/2013-04-01/hostedzone/Z123/rrset?") => {
                let values: String = st.lock().unwrap().iter().map(|v| format!("<ResourceRecord><Value>\"{v}\"</Value></ResourceRecord>")).collect();
                let set = if values.is_empty() { String::new() } else {
                    format!("<ResourceRecordSet><Name>_acme-challenge.app.example.com.</Name><Type>TXT</Type><TTL>10</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet>")
                };
                (200, xml(format!("<ListResourceRecordSetsResponse><ResourceRecordSets>{set}</ResourceRecordSets></ListResourceRecordSetsResponse>")))
            }
            ("POST", "/2013-04-01/hostedzone/Z123/rrset") => {
                let body = c.raw.clone();
                let values: Vec<String> = body.split("<Value>\"").skip(1).map(|v| v.split('"').next().unwrap().to_string()).collect();
                if body.contains("<Action>UPSERT</Action>") { *st.lock().unwrap() = values; } else { st.lock().unwrap().clear(); }
                (200, xml("<ChangeResourceRecordSetsResponse><ChangeInfo><Id>/change/C9</Id><Status>PENDING</Status></ChangeInfo></ChangeResourceRecordSetsResponse>".into()))
            }
            ("GET", "/2013-04-01/change/C9") => (200, xml("<GetChangeResponse><ChangeInfo><Id>/change/C9</Id><Status>INSYNC</Status></ChangeInfo></GetChangeResponse>".into())),
            _ => (400, xml("<ErrorResponse><Error><Code>InvalidInput</Code><Message>bad request</Message></Error></ErrorResponse>".into())),
        }
    }))
    .await;
    let dns = provider(
        "route53",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", "secret".into()),
            ("AWS_ROUTE53_API_URL", format!("http://{addr}")),
        ],
    );
    let r = record();
    dns.provider.present(&r).await.unwrap();
    assert_eq!(*state.lock().unwrap(), vec!["VALUE-43"]);
    dns.provider.cleanup(&r).await.unwrap();
    assert!(state.lock().unwrap().is_empty());
    let calls = calls.lock().unwrap();
    let actions: Vec<&str> = calls
        .iter()
        .filter(|c| c.method == "POST")
        .map(|c| {
            if c.raw.contains("UPSERT") {
                "UPSERT"
            } else {
                "DELETE"
            }
        })
        .collect();
    assert_eq!(actions, ["UPSERT", "DELETE"]);
    for c in calls.iter() {
        let auth = &c.headers["authorization"];
        let date = &c.headers["x-amz-date"];
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=",
                &date[..8]
            )),
            "{auth}"
        );
        assert_eq!(auth.rsplit('=').next().unwrap().len(), 64);
    }
    let upsert = calls.iter().find(|c| c.method == "POST").unwrap();
    assert!(
        upsert
            .raw
            .contains("<Name>_acme-challenge.app.example.com.</Name><Type>TXT</Type><TTL>10</TTL>"),
        "{}",
        upsert.raw
    );
}

/// OVH checks each call's signature: `$1$` + hex SHA-1 of
/// `secret+consumer+METHOD+full URL+body+timestamp`, the timestamp within OVH's window of its
/// own clock (here 1000 s ahead of ours, so a client that does not ask `/auth/time` fails).
#[tokio::test]
async fn ovh_signs_every_call_with_the_servers_clock() {
    use sha1::Digest as _;
    let skew = 1000;
    let server_now = move || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + skew
    };
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        if (c.method.as_str(), c.path.as_str()) == ("GET", "/1.0/auth/time") {
            return (200, json!(server_now()));
        }
        let h = |k: &str| c.headers.get(k).cloned().unwrap_or_default();
        let ts: i64 = h("x-ovh-timestamp").parse().unwrap_or(0);
        let url = format!("http://{}{}", h("host"), c.path);
        let expected = sha1::Sha1::digest(format!(
            "ovh-secret+ovh-consumer+{}+{url}+{}+{ts}",
            c.method, c.raw
        ));
        let expected: String = expected.iter().map(|b| format!("{b:02x}")).collect();
        if h("x-ovh-application") != "ovh-app"
            || h("x-ovh-consumer") != "ovh-consumer"
            || (ts - server_now()).abs() > 5
            || h("x-ovh-signature") != format!("$1${expected}")
        {
            return (
                400,
                json!({"errorCode": "INVALID_SIGNATURE", "httpCode": "400 Bad Request", "message": "Invalid signature"}),
            );
        }
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", "/1.0/domain/zone/example.com") => {
                (200, json!({"name": "example.com", "hasDnsAnycast": false}))
            }
            ("GET", _) => (
                404,
                json!({"class": "Client::NotFound", "message": "This service does not exist"}),
            ),
            ("POST", "/1.0/domain/zone/example.com/record") => (
                200,
                json!({"id": 5088, "fieldType": "TXT", "subDomain": "_acme-challenge.app", "target": "VALUE-43", "ttl": 120, "zone": "example.com"}),
            ),
            ("POST", "/1.0/domain/zone/example.com/refresh") => (200, Value::Null),
            ("DELETE", "/1.0/domain/zone/example.com/record/5088") => (200, Value::Null),
            _ => (
                404,
                json!({"class": "Client::NotFound", "message": "Got an invalid (or empty) URL"}),
            ),
        }
    }))
    .await;
    let vars = |secret: &str| {
        vec![
            ("OVH_ENDPOINT", format!("http://{addr}/1.0")),
            ("OVH_APPLICATION_KEY", "ovh-app".into()),
            ("OVH_APPLICATION_SECRET", secret.to_string()),
            ("OVH_CONSUMER_KEY", "ovh-consumer".into()),
        ]
    };
    let dns = provider("ovh", &vars("ovh-secret"));
    let r = record();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(
        summary(&calls),
        vec![
            s("GET", "/1.0/auth/time"),
            s("GET", "/1.0/domain/zone/app.example.com"),
            s("GET", "/1.0/domain/zone/example.com"),
            s("POST", "/1.0/domain/zone/example.com/record"),
            s("POST", "/1.0/domain/zone/example.com/refresh"),
            s("DELETE", "/1.0/domain/zone/example.com/record/5088"),
            s("POST", "/1.0/domain/zone/example.com/refresh"),
        ]
    );
    assert_eq!(
        calls.lock().unwrap()[3].body,
        json!({"fieldType": "TXT", "subDomain": "_acme-challenge.app", "target": "VALUE-43", "ttl": 120})
    );

    // A wrong secret: OVH's error body is in the error.
    let wrong = provider("ovh", &vars("not-the-secret"));
    let error = wrong.provider.present(&r).await.unwrap_err().to_string();
    assert!(error.contains("INVALID_SIGNATURE"), "{error}");
}

#[test]
fn ovh_needs_its_four_variables_and_a_known_endpoint() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let cfg = DnsChallengeConfig {
        provider: "ovh".into(),
        ..Default::default()
    };
    let only_endpoint = lookup(&[("OVH_ENDPOINT", "ovh-eu")]);
    let error = Dns01::new(&cfg, &Env::new(&only_endpoint))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY"),
        "{error}"
    );
    let bad_endpoint = lookup(&[
        ("OVH_ENDPOINT", "ovh-moon"),
        ("OVH_APPLICATION_KEY", "a"),
        ("OVH_APPLICATION_SECRET", "b"),
        ("OVH_CONSUMER_KEY", "c"),
    ]);
    let error = Dns01::new(&cfg, &Env::new(&bad_endpoint))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("ovh-moon") && error.contains("ovh-eu"),
        "{error}"
    );
    let oauth = lookup(&[("OVH_ENDPOINT", "ovh-eu"), ("OVH_CLIENT_ID", "id")]);
    let error = Dns01::new(&cfg, &Env::new(&oauth))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("OAuth2"), "{error}");
}

/// Azure: a client-credentials token from the tenant's authority (form body as Entra ID reads
/// it), then Resource Manager calls with that bearer token and `api-version`; the TXT set is
/// read, written with our value next to one already there, and written back without it.
#[tokio::test]
async fn azuredns_gets_a_token_and_rewrites_the_txt_set() {
    const ZONES: &str =
        "/subscriptions/sub-1/resourceGroups/rg-dns/providers/Microsoft.Network/dnsZones";
    let set = Arc::new(Mutex::new(vec!["other-value".to_string()]));
    let state = set.clone();
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        if c.path == "/tenant-9/oauth2/v2.0/token" {
            let form: HashMap<String, String> = c
                .raw
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let ok = c.method == "POST"
                && c.headers.get("content-type").map(String::as_str)
                    == Some("application/x-www-form-urlencoded")
                && form.get("grant_type").map(String::as_str) == Some("client_credentials")
                && form.get("client_id").map(String::as_str) == Some("app-id")
                && form.get("client_secret").map(String::as_str) == Some("s%2Bcr%26t%3D")
                && form.get("scope").map(String::as_str)
                    == Some("https%3A%2F%2Fmanagement.azure.com%2F.default")
                && form.len() == 4;
            return if ok {
                (200, json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "tok-1"}))
            } else {
                (401, json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}))
            };
        }
        if c.headers.get("authorization").map(String::as_str) != Some("Bearer tok-1") {
            return (401, json!({"error": {"code": "AuthenticationFailed", "message": "no token"}}));
        }
        let Some(path) = c.path.strip_suffix("?api-version=2018-05-01") else {
            return (400, json!({"error": {"code": "MissingApiVersionParameter"}}));
        };
        let txt = format!("{ZONES}/example.com/TXT/_acme-challenge.app");
        let mut values = state.lock().unwrap();
        match (c.method.as_str(), path) {
            ("GET", p) if p == format!("{ZONES}/example.com") => (200, json!({"name": "example.com"})),
            ("GET", p) if p == txt => {
                let records: Vec<Value> = values.iter().map(|v| json!({"value": [v]})).collect();
                (200, json!({"properties": {"TTL": 60, "TXTRecords": records}}))
            }
            ("PUT", p) if p == txt => {
                *values = c.body["properties"]["TXTRecords"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["value"][0].as_str().unwrap().to_string())
                    .collect();
                (200, c.body.clone())
            }
            ("DELETE", p) if p == txt => {
                values.clear();
                (200, Value::Null)
            }
            _ => (404, json!({"error": {"code": "ResourceNotFound", "message": "not found"}})),
        }
    }))
    .await;
    let vars = |secret: &str| {
        vec![
            ("AZURE_CLIENT_ID", "app-id".to_string()),
            ("AZURE_CLIENT_SECRET", secret.to_string()),
            ("AZURE_TENANT_ID", "tenant-9".into()),
            ("AZURE_SUBSCRIPTION_ID", "sub-1".into()),
            ("AZURE_RESOURCE_GROUP", "rg-dns".into()),
            ("AZURE_AUTHORITY_HOST", format!("http://{addr}")),
            ("AZURE_API_URL", format!("http://{addr}")),
        ]
    };
    let dns = provider("azuredns", &vars("s+cr&t="));
    let r = record();
    dns.provider.present(&r).await.unwrap();
    assert_eq!(*set.lock().unwrap(), vec!["other-value", "VALUE-43"]);
    dns.provider.cleanup(&r).await.unwrap();
    assert_eq!(*set.lock().unwrap(), vec!["other-value"]);
    let paths: Vec<(String, String)> = summary(&calls)
        .into_iter()
        .map(|(m, p)| {
            (
                m,
                p.replace(ZONES, "Z").replace("?api-version=2018-05-01", ""),
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            s("POST", "/tenant-9/oauth2/v2.0/token"),
            s("GET", "Z/app.example.com"),
            s("GET", "Z/example.com"),
            s("GET", "Z/example.com/TXT/_acme-challenge.app"),
            s("PUT", "Z/example.com/TXT/_acme-challenge.app"),
            s("GET", "Z/app.example.com"),
            s("GET", "Z/example.com"),
            s("GET", "Z/example.com/TXT/_acme-challenge.app"),
            s("PUT", "Z/example.com/TXT/_acme-challenge.app"),
        ],
        "one token for every call"
    );
    assert_eq!(calls.lock().unwrap()[4].body["properties"]["TTL"], 60);

    // Ours the only value: the set is deleted, not left empty.
    set.lock().unwrap().clear();
    dns.provider.present(&r).await.unwrap();
    dns.provider.cleanup(&r).await.unwrap();
    assert!(set.lock().unwrap().is_empty());
    assert_eq!(calls.lock().unwrap().last().unwrap().method, "DELETE");

    // A wrong secret: Entra ID's answer is in the error.
    let wrong = provider("azuredns", &vars("nope"));
    let error = wrong.provider.present(&r).await.unwrap_err().to_string();
    assert!(error.contains("AADSTS7000215"), "{error}");
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    };
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Namecheap's host list as its API keeps it: (name, type, address, mxpref, ttl).
type Hosts = Vec<(String, String, String, String, String)>;

fn namecheap_hosts_xml(hosts: &Hosts) -> String {
    let rows: String = hosts
        .iter()
        .enumerate()
        .map(|(i, (n, t, a, m, ttl))| {
            format!(
                r#"<host HostId="{}" Name="{n}" Type="{t}" Address="{}" MXPref="{m}" TTL="{ttl}" IsActive="true" IsDDNSEnabled="false" />"#,
                i + 1,
                a.replace('&', "&amp;").replace('"', "&quot;")
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response"><Errors /><Warnings /><RequestedCommand>namecheap.domains.dns.gethosts</RequestedCommand><CommandResponse Type="namecheap.domains.dns.getHosts"><DomainDNSGetHostsResult Domain="example.com" EmailType="MX" IsUsingOurDNS="true">{rows}</DomainDNSGetHostsResult></CommandResponse><Server>PHX01APIEXT03</Server><GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0.046</ExecutionTime></ApiResponse>"#
    )
}

fn namecheap_error_xml(number: u32, text: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response"><Errors><Error Number="{number}">{text}</Error></Errors><Warnings /><RequestedCommand /><Server>PHX01SBAPI01</Server><GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0</ExecutionTime></ApiResponse>"#
    )
}

/// A fake of Namecheap's `getHosts` / `setHosts` holding the domains of `zones` (sld, tld):
/// every call must carry the account, the whitelisted client IP and the command; setHosts
/// replaces the whole list and, as Namecheap does, drops MX records unless `EmailType=MX`.
async fn namecheap_fake(
    zones: Arc<Mutex<HashMap<(String, String), Hosts>>>,
) -> (SocketAddr, Arc<Mutex<Vec<Call>>>) {
    fake_api(Arc::new(move |c: &Call| {
        let xml = |x: String| (200, Value::String(x));
        let text = match c.method.as_str() {
            "GET" => c.path.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default(),
            _ => {
                assert_eq!(
                    c.headers.get("content-type").map(String::as_str),
                    Some("application/x-www-form-urlencoded")
                );
                c.raw.clone()
            }
        };
        if !c.path.starts_with("/xml.response") {
            return (404, Value::String("not found".into()));
        }
        let p: HashMap<String, String> = form_pairs(&text).into_iter().collect();
        let get = |k: &str| p.get(k).cloned().unwrap_or_default();
        if get("ApiUser") != "nc-user" || get("UserName") != "nc-user" || get("ApiKey") != "nc-key" {
            return xml(namecheap_error_xml(1011102, "API Key is invalid or API access has not been enabled"));
        }
        if get("ClientIp") != "203.0.113.7" {
            return xml(namecheap_error_xml(1011150, "Invalid request IP: 203.0.113.7"));
        }
        let key = (get("SLD"), get("TLD"));
        let mut zones = zones.lock().unwrap();
        let Some(hosts) = zones.get_mut(&key) else {
            return xml(namecheap_error_xml(2019166, "Domain not found"));
        };
        match (c.method.as_str(), get("Command").as_str()) {
            ("GET", "namecheap.domains.dns.getHosts") => xml(namecheap_hosts_xml(hosts)),
            ("POST", "namecheap.domains.dns.setHosts") => {
                let mut list = Hosts::new();
                for n in 1.. {
                    let Some(name) = p.get(&format!("HostName{n}")) else {
                        break;
                    };
                    let f = |k: &str| p.get(&format!("{k}{n}")).cloned().unwrap_or_default();
                    list.push((name.clone(), f("RecordType"), f("Address"), f("MXPref"), f("TTL")));
                }
                if get("EmailType") != "MX" {
                    list.retain(|h| h.1 != "MX");
                }
                *hosts = list;
                xml(r#"<?xml version="1.0" encoding="utf-8"?><ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response"><Errors /><Warnings /><RequestedCommand>namecheap.domains.dns.sethosts</RequestedCommand><CommandResponse Type="namecheap.domains.dns.setHosts"><DomainDNSSetHostsResult Domain="example.com" IsSuccess="true"><Warnings /></DomainDNSSetHostsResult></CommandResponse></ApiResponse>"#.to_string())
            }
            _ => xml(namecheap_error_xml(1010101, "Parameter Command is missing")),
        }
    }))
    .await
}

fn h(n: &str, t: &str, a: &str, m: &str, ttl: &str) -> (String, String, String, String, String) {
    (n.into(), t.into(), a.into(), m.into(), ttl.into())
}

#[tokio::test]
async fn namecheap_rewrites_the_host_list_and_keeps_every_other_record() {
    let users = vec![
        h("@", "A", "192.0.2.10", "10", "1800"),
        h("www", "CNAME", "example.com.", "10", "1800"),
        h("@", "MX", "mail.example.com.", "20", "1800"),
        h(
            "@",
            "TXT",
            "v=spf1 include:_spf.example.net ~all",
            "10",
            "1800",
        ),
    ];
    let zones = Arc::new(Mutex::new(HashMap::from([
        (("example".to_string(), "com".to_string()), users.clone()),
        (("example".to_string(), "co.uk".to_string()), users.clone()),
    ])));
    let (addr, calls) = namecheap_fake(zones.clone()).await;
    let vars = |key: &str| {
        vec![
            ("NAMECHEAP_API_USER", "nc-user".to_string()),
            ("NAMECHEAP_API_KEY", key.to_string()),
            ("NAMECHEAP_CLIENT_IP", "203.0.113.7".to_string()),
            ("NAMECHEAP_API_URL", format!("http://{addr}/xml.response")),
        ]
    };
    let dns = provider("namecheap", &vars("nc-key"));
    assert_eq!(dns.provider.timing().propagation_timeout.as_secs(), 3600);
    assert_eq!(dns.provider.timing().polling_interval.as_secs(), 15);
    let wildcard = record();
    let apex = TxtRecord::new("app.example.com", "tok2", "tok2.thumb", "VALUE-APEX");
    let com = ("example".to_string(), "com".to_string());
    dns.provider.present(&wildcard).await.unwrap();
    dns.provider.present(&apex).await.unwrap();
    let mut expected = users.clone();
    expected.push(h("_acme-challenge.app", "TXT", "VALUE-43", "10", "120"));
    expected.push(h("_acme-challenge.app", "TXT", "VALUE-APEX", "10", "120"));
    assert_eq!(
        zones.lock().unwrap()[&com],
        expected,
        "A, CNAME, MX, SPF kept"
    );

    // Cleanup removes our value only: the apex's record of the same name stays.
    dns.provider.cleanup(&wildcard).await.unwrap();
    expected.remove(4);
    assert_eq!(zones.lock().unwrap()[&com], expected);
    dns.provider.cleanup(&apex).await.unwrap();
    assert_eq!(
        zones.lock().unwrap()[&com],
        users,
        "back to the user's records"
    );
    // A second cleanup finds nothing to remove and writes nothing.
    let before = calls.lock().unwrap().len();
    dns.provider.cleanup(&apex).await.unwrap();
    assert_eq!(calls.lock().unwrap().len(), before + 1);
    assert_eq!(calls.lock().unwrap()[before].method, "GET");

    let commands: Vec<(String, String)> = calls.lock().unwrap()[..4]
        .iter()
        .map(|c| {
            let text = if c.method == "GET" {
                c.path.split_once('?').unwrap().1.to_string()
            } else {
                c.raw.clone()
            };
            let p: HashMap<String, String> = form_pairs(&text).into_iter().collect();
            (
                c.method.clone(),
                format!("{} {}.{}", p["Command"], p["SLD"], p["TLD"]),
            )
        })
        .collect();
    assert_eq!(
        commands,
        vec![
            s("GET", "namecheap.domains.dns.getHosts example.com"),
            s("POST", "namecheap.domains.dns.setHosts example.com"),
            s("GET", "namecheap.domains.dns.getHosts example.com"),
            s("POST", "namecheap.domains.dns.setHosts example.com"),
        ],
        "the registered domain is the shortest candidate: one getHosts"
    );

    // example.co.uk: `co`.`uk` is not the account's (2019166), the next candidate is.
    let uk = TxtRecord::new("*.shop.example.co.uk", "t", "t.k", "VALUE-UK");
    dns.provider.present(&uk).await.unwrap();
    let key = ("example".to_string(), "co.uk".to_string());
    assert_eq!(zones.lock().unwrap()[&key].len(), users.len() + 1);
    assert_eq!(
        zones.lock().unwrap()[&key].last().unwrap().0,
        "_acme-challenge.shop"
    );
    dns.provider.cleanup(&uk).await.unwrap();
    assert_eq!(zones.lock().unwrap()[&key], users);

    // A wrong key: Namecheap's description and number are in the error, nothing written.
    let wrong = provider("namecheap", &vars("nope"));
    let error = wrong
        .provider
        .present(&wildcard)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("API Key is invalid") && error.contains("1011102"),
        "{error}"
    );
    assert_eq!(zones.lock().unwrap()[&com], users);
}

#[test]
fn namecheap_needs_the_client_ip_and_names_it() {
    let lookup = |k: &str| match k {
        "NAMECHEAP_API_USER" => Some("u".to_string()),
        "NAMECHEAP_API_KEY" => Some("k".to_string()),
        _ => None,
    };
    let cfg = DnsChallengeConfig {
        provider: "namecheap".into(),
        ..Default::default()
    };
    let error = Dns01::new(&cfg, &Env::new(&lookup))
        .unwrap_err()
        .to_string();
    assert!(error.contains("NAMECHEAP_CLIENT_IP"), "{error}");
    assert!(!error.contains("NAMECHEAP_API_KEY"), "{error}");
    let bad = |k: &str| match k {
        "NAMECHEAP_API_USER" | "NAMECHEAP_API_KEY" => Some("x".to_string()),
        "NAMECHEAP_CLIENT_IP" => Some("my-host".to_string()),
        _ => None,
    };
    let error = Dns01::new(&cfg, &Env::new(&bad)).unwrap_err().to_string();
    assert!(
        error.contains("NAMECHEAP_CLIENT_IP") && error.contains("my-host"),
        "{error}"
    );
}

/// A service account key file (Google's JSON layout) for a fresh RSA key whose token endpoint is
/// `token_uri`; the public key (PKCS#1 DER) is returned to verify the JWTs.
fn gcloud_key(token_uri: &str) -> (String, Vec<u8>) {
    use base64::Engine as _;
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let public = key
        .to_public_key()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let file = json!({
        "type": "service_account",
        "project_id": "proj-7",
        "private_key_id": "kid-1",
        "private_key": pem,
        "client_email": "acme@proj-7.iam.gserviceaccount.com",
        "client_id": "1234",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    });
    (file.to_string(), public)
}

/// Checks a JWT bearer grant as Google's token endpoint does: the form, the RS256 signature with
/// the account's public key, and the claims. `Err` is the OAuth error to answer.
fn gcloud_check_grant(c: &Call, public: &[u8], token_uri: &str) -> Result<(), &'static str> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let form: HashMap<String, String> = form_pairs(&c.raw).into_iter().collect();
    if c.method != "POST"
        || c.headers.get("content-type").map(String::as_str)
            != Some("application/x-www-form-urlencoded")
        || form.get("grant_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return Err("unsupported_grant_type");
    }
    let jwt = form.get("assertion").ok_or("invalid_request")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("invalid_grant");
    }
    let signature = b64.decode(parts[2]).map_err(|_| "invalid_grant")?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| "invalid_grant")?;
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iat = claims["iat"].as_u64().unwrap_or(0);
    let ok = header["alg"] == "RS256"
        && header["kid"] == "kid-1"
        && claims["iss"] == "acme@proj-7.iam.gserviceaccount.com"
        && claims["scope"] == "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
        && claims["aud"] == token_uri
        && iat.abs_diff(now) < 60
        && claims["exp"].as_u64() == Some(iat + 3600);
    if ok {
        Ok(())
    } else {
        Err("invalid_grant")
    }
}

#[tokio::test]
async fn gcloud_signs_a_jwt_for_its_token_and_merges_the_txt_rrset() {
    const P: &str = "/dns/v1/projects/proj-7";
    const FQDN: &str = "_acme-challenge.app.example.com.";
    // The zone's TXT rrsets by name: (ttl, rrdatas).
    let rrsets = Arc::new(Mutex::new(HashMap::from([(
        FQDN.to_string(),
        (300u64, vec![json!("\"other-value\"")]),
    )])));
    let keys: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
    let pending_once = Arc::new(Mutex::new(true));
    let token_uri = Arc::new(Mutex::new(String::new()));
    let (state, known, pending, uri) = (
        rrsets.clone(),
        keys.clone(),
        pending_once.clone(),
        token_uri.clone(),
    );
    let (addr, calls) = fake_api(Arc::new(move |c: &Call| {
        if c.path == "/token" {
            let uri = uri.lock().unwrap().clone();
            let verified = known.lock().unwrap().iter().any(|k| gcloud_check_grant(c, k, &uri).is_ok());
            return if verified {
                (200, json!({"access_token": "ya29.tok", "expires_in": 3599, "token_type": "Bearer"}))
            } else {
                (400, json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}))
            };
        }
        if c.headers.get("authorization").map(String::as_str) != Some("Bearer ya29.tok") {
            return (401, json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}));
        }
        let not_found = (404, json!({"error": {"code": 404, "message": "The 'parameters.managedZone' resource named 'x' does not exist.", "errors": [{"reason": "notFound"}]}}));
        let zone = json!({"kind": "dns#managedZone", "name": "example-zone", "dnsName": "example.com.", "id": "4242", "visibility": "public"});
        let private = json!({"kind": "dns#managedZone", "name": "corp-zone", "dnsName": "corp.example.", "id": "4343", "visibility": "private"});
        let mut sets = state.lock().unwrap();
        match (c.method.as_str(), c.path.as_str()) {
            ("GET", p) if p == format!("{P}/managedZones?dnsName=example.com.") => (200, json!({"managedZones": [zone]})),
            ("GET", p) if p == format!("{P}/managedZones?dnsName=corp.example.") => (200, json!({"managedZones": [private]})),
            ("GET", p) if p.starts_with(&format!("{P}/managedZones?dnsName=")) => (200, json!({"managedZones": []})),
            ("GET", p) if p == format!("{P}/managedZones/example-zone") => (200, zone),
            ("GET", p) if p == format!("{P}/managedZones/example-zone/rrsets?name=_acme-challenge.app.example.com.&type=TXT") => {
                let list: Vec<Value> = sets.get(FQDN).map(|(ttl, d)| json!({"kind": "dns#resourceRecordSet", "name": FQDN, "type": "TXT", "ttl": ttl, "rrdatas": d})).into_iter().collect();
                (200, json!({"rrsets": list}))
            }
            ("POST", p) if p == format!("{P}/managedZones/example-zone/changes") => {
                // Cloud DNS: a deletion must match the rrset exactly, an addition must not exist.
                for d in c.body["deletions"].as_array().cloned().unwrap_or_default() {
                    let name = d["name"].as_str().unwrap().to_string();
                    let same = sets.get(&name).is_some_and(|(ttl, datas)| d["ttl"] == *ttl && d["rrdatas"] == json!(datas) && d["type"] == "TXT");
                    if !same {
                        return (412, json!({"error": {"code": 412, "message": "Precondition not met for 'entity.change.deletions[0]'", "errors": [{"reason": "conditionNotMet"}]}}));
                    }
                    sets.remove(&name);
                }
                for a in c.body["additions"].as_array().cloned().unwrap_or_default() {
                    let name = a["name"].as_str().unwrap().to_string();
                    if sets.contains_key(&name) {
                        return (409, json!({"error": {"code": 409, "message": "The resource 'entity.change.additions[0]' named '_acme-challenge.app.example.com. (TXT)' already exists", "errors": [{"reason": "alreadyExists"}]}}));
                    }
                    sets.insert(name, (a["ttl"].as_u64().unwrap(), a["rrdatas"].as_array().unwrap().clone()));
                }
                let mut first = pending.lock().unwrap();
                let status = if *first { "pending" } else { "done" };
                *first = false;
                (200, json!({"kind": "dns#change", "id": "17", "status": status, "additions": c.body["additions"], "deletions": c.body["deletions"]}))
            }
            ("GET", p) if p == format!("{P}/managedZones/example-zone/changes/17") => (200, json!({"kind": "dns#change", "id": "17", "status": "done"})),
            _ => not_found,
        }
    }))
    .await;
    *token_uri.lock().unwrap() = format!("http://{addr}/token");
    let (key_file, public) = gcloud_key(&format!("http://{addr}/token"));
    keys.lock().unwrap().push(public);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sa.json");
    std::fs::write(&path, &key_file).unwrap();
    let api = ("GCE_API_URL", format!("http://{addr}/dns/v1"));
    let dns = provider(
        "gcloud",
        &[
            ("GCE_SERVICE_ACCOUNT_FILE", path.display().to_string()),
            api.clone(),
        ],
    );
    assert_eq!(dns.provider.timing().propagation_timeout.as_secs(), 180);
    let wildcard = record();
    let apex = TxtRecord::new("app.example.com", "t2", "t2.k", "VALUE-APEX");
    let started = std::time::Instant::now();
    dns.provider.present(&wildcard).await.unwrap();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "a pending change is polled"
    );
    dns.provider.present(&apex).await.unwrap();
    assert_eq!(
        rrsets.lock().unwrap()[FQDN],
        (
            120,
            vec![
                json!("\"other-value\""),
                json!("\"VALUE-43\""),
                json!("\"VALUE-APEX\"")
            ]
        ),
        "merged with the values of the same name"
    );
    dns.provider.cleanup(&wildcard).await.unwrap();
    assert_eq!(
        rrsets.lock().unwrap()[FQDN],
        (120, vec![json!("\"other-value\""), json!("\"VALUE-APEX\"")]),
        "cleanup keeps the other values"
    );
    dns.provider.cleanup(&apex).await.unwrap();
    assert_eq!(
        rrsets.lock().unwrap()[FQDN].1,
        vec![json!("\"other-value\"")]
    );
    let paths: Vec<(String, String)> = summary(&calls)
        .into_iter()
        .map(|(m, p)| {
            (
                m,
                p.replace(P, "P")
                    .replace("?name=_acme-challenge.app.example.com.&type=TXT", "?TXT"),
            )
        })
        .collect();
    assert_eq!(
        paths[..6],
        [
            s("POST", "/token"),
            s("GET", "P/managedZones?dnsName=app.example.com."),
            s("GET", "P/managedZones?dnsName=example.com."),
            s("GET", "P/managedZones/example-zone/rrsets?TXT"),
            s("POST", "P/managedZones/example-zone/changes"),
            s("GET", "P/managedZones/example-zone/changes/17"),
        ]
    );
    assert_eq!(
        paths.iter().filter(|p| p.1 == "/token").count(),
        1,
        "the token is cached"
    );
    let last_change = calls
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c.method == "POST" && c.path.ends_with("/changes"))
        .unwrap()
        .body
        .clone();
    assert_eq!(
        last_change["deletions"][0]["rrdatas"],
        json!(["\"other-value\"", "\"VALUE-APEX\""])
    );
    assert_eq!(
        last_change["additions"][0]["rrdatas"],
        json!(["\"other-value\""])
    );

    // Ours the only value: the rrset is deleted, nothing added back.
    rrsets.lock().unwrap().clear();
    dns.provider.present(&wildcard).await.unwrap();
    dns.provider.cleanup(&wildcard).await.unwrap();
    assert!(rrsets.lock().unwrap().is_empty());

    // GCE_ZONE_ID: no zone listing; the key's JSON given in GCE_SERVICE_ACCOUNT itself.
    let before = calls.lock().unwrap().len();
    let by_id = provider(
        "gcloud",
        &[
            ("GCE_SERVICE_ACCOUNT", key_file.clone()),
            ("GCE_ZONE_ID", "example-zone".into()),
            api.clone(),
        ],
    );
    by_id.provider.present(&wildcard).await.unwrap();
    let after: Vec<(String, String)> = summary(&calls)[before..]
        .iter()
        .map(|(m, p)| (m.clone(), p.replace(P, "P")))
        .collect();
    assert_eq!(after[1], s("GET", "P/managedZones/example-zone"));
    assert!(
        !after.iter().any(|(_, p)| p.contains("dnsName")),
        "{after:?}"
    );

    // A private zone only with GCE_ALLOW_PRIVATE_ZONE.
    let corp = TxtRecord::new("corp.example", "t", "t.k", "V");
    let error = dns.provider.present(&corp).await.unwrap_err().to_string();
    assert!(
        error.contains("no public zone found for domain corp.example"),
        "{error}"
    );

    // With GCE_ALLOW_PRIVATE_ZONE the private zone is used (the fake has no rrsets there: 404).
    let private_ok = provider(
        "gcloud",
        &[
            ("GCE_SERVICE_ACCOUNT", key_file.clone()),
            ("GCE_ALLOW_PRIVATE_ZONE", "true".into()),
            api.clone(),
        ],
    );
    let error = private_ok
        .provider
        .present(&corp)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("managedZones/corp-zone/rrsets"), "{error}");

    // A key the token endpoint does not know: Google's answer is in the error.
    let (other_key, _) = gcloud_key(&format!("http://{addr}/token"));
    let stranger = provider("gcloud", &[("GCE_SERVICE_ACCOUNT", other_key), api]);
    let error = stranger
        .provider
        .present(&wildcard)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Invalid JWT Signature"), "{error}");
}

#[test]
fn gcloud_names_its_missing_or_refused_variables() {
    let cfg = DnsChallengeConfig {
        provider: "gcloud".into(),
        ..Default::default()
    };
    let none = |_: &str| None;
    let error = Dns01::new(&cfg, &Env::new(&none)).unwrap_err().to_string();
    assert!(error.contains("GCE_SERVICE_ACCOUNT"), "{error}");
    let impersonate = |k: &str| (k == "GCE_IMPERSONATE_SERVICE_ACCOUNT").then(|| "x@y".to_string());
    let error = Dns01::new(&cfg, &Env::new(&impersonate))
        .unwrap_err()
        .to_string();
    assert!(error.contains("GCE_IMPERSONATE_SERVICE_ACCOUNT"), "{error}");
    let user = |k: &str| {
        (k == "GCE_SERVICE_ACCOUNT")
            .then(|| r#"{"type": "authorized_user", "client_id": "x"}"#.to_string())
    };
    let error = Dns01::new(&cfg, &Env::new(&user)).unwrap_err().to_string();
    assert!(error.contains("authorized_user"), "{error}");
}
