use super::*;

#[test]
fn bind_key_files_as_tsig_keygen_writes_them() {
    let text = "key \"acme-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n";
    assert_eq!(
        key_file(text),
        Some((
            "acme-key".to_string(),
            "hmac-sha256".to_string(),
            "c2VjcmV0".to_string()
        ))
    );
    assert_eq!(key_file("key \"k\" { algorithm hmac-sha1; };"), None);
    assert_eq!(key_file("garbage"), None);
    assert_eq!(key_file(""), None);
}

#[test]
fn the_key_file_gives_name_algorithm_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.key");
    let out = std::process::Command::new("tsig-keygen")
        .args(["-a", "hmac-sha512", "file-key"])
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap(),
        // Without bind9-utils: the same shape by hand.
        _ => "key \"file-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0\";\n};\n".into(),
    };
    std::fs::write(&path, text).unwrap();
    let vars = [
        ("RFC2136_NAMESERVER", "127.0.0.1:5353".to_string()),
        ("RFC2136_TSIG_FILE", path.display().to_string()),
    ];
    let lookup = move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let p = Rfc2136::from_env(&Env::new(&lookup)).unwrap();
    let key = p.key.unwrap();
    assert_eq!(key.name, "file-key");
    assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
    assert!(!key.secret.is_empty());
}
