//! Parsing tests: errors with exact columns, name spellings, `required_hosts`, `host_names`,
//! default priority.

use crate::rules::Rule;

#[test]
fn errors_carry_exact_column() {
    // (rule, column, fragment of the message)
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "empty rule"),
        ("   ", 1, "empty rule"),
        (
            "Hots(`a`)",
            1,
            "unknown matcher `Hots`; known matchers: ClientIP, Header",
        ),
        ("Host(`a`) && Foo(`b`)", 14, "unknown matcher `Foo`"),
        ("HostSNI(`a`)", 1, "TCP router matcher"),
        ("Headers(`X`, `v`)", 1, "Traefik v3 calls it `Header`"),
        ("HeadersRegexp(`X`, `v`)", 1, "calls it `HeaderRegexp`"),
        ("HostHeader(`a`)", 1, "calls it `Host`"),
        ("pathPrefix(`/a`)", 1, "did you mean `PathPrefix`?"),
        (
            "Query(`mobile=true`)",
            7,
            "in v3 write Query(`mobile`, `true`)",
        ),
        ("Host(`a`, `b`)", 11, "Host(`a`) || Host(`b`)"),
        ("Host(`a`, `b`)", 11, "takes exactly one value, got 2"),
        (
            "PathPrefix(`/a`, `/b`, `/c`)",
            18,
            "PathPrefix(`/a`) || PathPrefix(`/b`) || PathPrefix(`/c`)",
        ),
        ("Host()", 6, "takes exactly one value, got 0"),
        // Empty arguments, refused as the real Traefik 3.7.15 refuses them ("empty args").
        ("Host(``)", 6, "empty argument for matcher `Host`"),
        ("Method(``)", 8, "empty argument for matcher `Method`"),
        ("Query(``, `v`)", 7, "empty argument for matcher `Query`"),
        ("Query(`q`, ``)", 12, "empty argument for matcher `Query`"),
        (
            "PathPrefix(\"\")",
            12,
            "empty argument for matcher `PathPrefix`",
        ),
        ("Header(`X`)", 11, "takes exactly two values, got 1"),
        ("Header(`X`, `a`, `b`)", 18, "exactly two values, got 3"),
        ("Query()", 7, "one or two values"),
        ("Query(`a`, `b`, `c`)", 17, "one or two values"),
        ("Host(`a", 6, "unterminated string"),
        ("Host(\"a) && Path(`/`)", 6, "unterminated string"),
        ("(Host(`a`)", 1, "'(' is never closed"),
        ("Host(`a`)) && Path(`/`)", 10, "')' has no matching '('"),
        ("Host(`a`", 5, "'(' is never closed"),
        ("Host(`a`) && (Path(`/`) || Path(`/b`)", 14, "never closed"),
        ("()", 2, "found ')'"),
        ("Host(`a`) &&", 13, "found the end of the rule"),
        (
            "Host(`a`) && || Path(`/`)",
            14,
            "expected a matcher, found '||'",
        ),
        (
            "Host(`a`) Path(`/`)",
            11,
            "unexpected `Path` after a complete expression",
        ),
        ("Host(`a`) `b`", 11, "unexpected a string"),
        ("Host", 5, "expected '(' after `Host`"),
        ("Host `a`", 6, "expected '(' after `Host`"),
        ("Host(a)", 6, "expected a string"),
        ("Host(`a` `b`)", 10, "expected ',' or ')'"),
        (
            "HostRegexp(`(`)",
            12,
            "invalid regular expression in HostRegexp",
        ),
        ("PathRegexp(`[a-`)", 12, "invalid regular expression"),
        (
            "HostRegexp(`{sub:([a-z]+}.a.com`)",
            12,
            "v2 `{name:regexp}` syntax",
        ),
        (
            "HeaderRegexp(`X`, `a(`)",
            19,
            "invalid regular expression in HeaderRegexp",
        ),
        ("QueryRegexp(`k`, `*`)", 18, "invalid regular expression"),
        ("ClientIP(`10.0.0.0/33`)", 10, "invalid CIDR"),
        ("ClientIP(`10.0.0.300`)", 10, "invalid IP address"),
        ("ClientIP(`not-an-ip`)", 10, "invalid IP address"),
        ("Path(`api`)", 6, "does not start with a '/'"),
        ("PathPrefix(`api`)", 12, "does not start with a '/'"),
        ("Host(`exämple.com`)", 6, "non-ASCII"),
        ("Header(`Bad Name`, `v`)", 8, "invalid header name"),
        ("Host('a')", 6, "single quotes"),
        ("Host(`a`) & Path(`/`)", 11, "'&&'"),
        ("Path(`/`) && !", 15, "end of the rule"),
    ];
    for (rule, column, fragment) in cases {
        let e = Rule::parse(rule).unwrap_err();
        assert_eq!(e.column, *column, "rule {rule:?}: {e}");
        assert!(
            e.message.contains(fragment),
            "rule {rule:?}: message {:?} lacks {fragment:?}",
            e.message
        );
        assert!(e.to_string().starts_with(&format!("column {column}: ")));
    }
}

#[test]
fn nesting_is_limited() {
    let deep = format!("{}Host(`a`){}", "(".repeat(100), ")".repeat(100));
    let e = Rule::parse(&deep).unwrap_err();
    assert_eq!(e.column, 65);
    assert!(e.message.contains("deeper than 64"));
    let nots = format!("{}Host(`a`)", "!".repeat(1000));
    assert!(Rule::parse(&nots).is_err());
    let fine = format!("{}Host(`a`){}", "(".repeat(10), ")".repeat(10));
    assert!(Rule::parse(&fine).is_ok());
    // Long flat chains are fine: they do not nest.
    let chain = vec!["Path(`/a`)"; 2000].join(" || ");
    assert!(Rule::parse(&chain).is_ok());
}

#[test]
fn accepted_syntax() {
    let ok = [
        "Host(`a`)",
        "host(`a`)",
        "HOST(`a`)",
        "pathprefix(`/a`)",
        "PATHPREFIX(`/a`)",
        "Pathprefix(`/a`)",
        "clientip(`::1`)",
        "Host(\"a\")",
        "Host( `a` )",
        "  Host(`a`)  ",
        "Host(`a`)\n&& Path(`/`)",
        "Host(`a`,)",
        "Header(`X`, `v`,)",
        "Query(`a`)",
        "Query(`a`, `b`)",
        "QueryRegexp(`a`)",
        "(((Host(`a`))))",
        "!(!(Host(`a`)))",
        "Method(`get`)",
        "Host(`*.example.com`)",
    ];
    for rule in ok {
        let parsed = Rule::parse(rule).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        assert_eq!(parsed.source(), rule);
    }
    // Mixed-case spellings other than Traefik's four are unknown.
    assert!(Rule::parse("pathPrefix(`/a`)").is_err());
    assert!(Rule::parse("hOST(`a`)").is_err());
}

#[test]
fn default_priority_is_source_length() {
    let cases: &[(&str, i64)] = &[
        ("Host(`a`)", 9),
        ("Host(`example.com`) && PathPrefix(`/api`)", 41),
        ("  Host(`a`)  ", 13),
        ("Path(`/é`)", 11),
        ("PathPrefix(`/`)", 15),
    ];
    for (rule, want) in cases {
        assert_eq!(
            Rule::parse(rule).unwrap().default_priority(),
            *want,
            "rule {rule:?}"
        );
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn required_hosts() {
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("Host(`a`)", Some(&["a"])),
        ("Host(`A.com`)", Some(&["a.com"])),
        ("Host(`a.com.`)", Some(&["a.com"])),
        ("Host(`a.com..`)", Some(&["a.com"])),
        ("Host(`*`)", None),
        ("Host(`*`) && Host(`a`)", Some(&["a"])),
        ("Host(`a`) && PathPrefix(`/x`)", Some(&["a"])),
        ("PathPrefix(`/x`) && Host(`a`)", Some(&["a"])),
        ("Host(`a`) || Host(`b`)", Some(&["a", "b"])),
        ("Host(`b`) || Host(`a`) || Host(`b`)", Some(&["a", "b"])),
        ("Host(`a`) || PathPrefix(`/`)", None),
        ("!Host(`a`)", None),
        ("!Host(`a`) && Path(`/`)", None),
        ("HostRegexp(`a`)", None),
        ("HostRegexp(`a`) && Path(`/`)", None),
        ("Host(`*.a.com`)", None),
        ("Host(`*.a.com`) || Host(`b`)", None),
        ("Host(`*.a.com`) && Host(`x.a.com`)", Some(&["x.a.com"])),
        ("PathPrefix(`/`)", None),
        (
            "(Host(`a`) || Host(`b`)) && (Host(`b`) || Host(`c`))",
            Some(&["b"]),
        ),
        ("Host(`a`) && Host(`b`)", Some(&[])),
        (
            "(Host(`a`) && Path(`/x`)) || (Host(`b`) && Method(`GET`))",
            Some(&["a", "b"]),
        ),
        ("(Host(`a`) || Path(`/x`)) && Host(`c`)", Some(&["c"])),
        ("HostRegexp(`x`) || Host(`a`)", None),
        ("!(!Host(`a`))", None),
    ];
    for (rule, want) in cases {
        let got = Rule::parse(rule).unwrap().required_hosts();
        assert_eq!(got, want.map(strings), "rule {rule:?}");
    }
}

#[test]
fn host_names() {
    let cases: &[(&str, &[&str])] = &[
        ("Host(`a`)", &["a"]),
        (
            "Host(`B.com`) || Host(`a.com`) || Host(`b.com`)",
            &["a.com", "b.com"],
        ),
        ("Host(`a`) || PathPrefix(`/`)", &["a"]),
        ("!Host(`a`)", &[]),
        ("!Host(`a`) && Host(`b`)", &["b"]),
        ("!(Host(`a`) || !Host(`b`))", &["b"]),
        ("HostRegexp(`a`)", &[]),
        ("Path(`/`)", &[]),
        ("Host(`a.com.`)", &["a.com"]),
        ("Host(`*.a.com`) && Path(`/`)", &["*.a.com"]),
        ("Host(`*`) || Host(`a`)", &["a"]),
    ];
    for (rule, want) in cases {
        assert_eq!(
            Rule::parse(rule).unwrap().host_names(),
            strings(want),
            "rule {rule:?}"
        );
    }
}

#[test]
fn equality_and_display_follow_source() {
    let a = Rule::parse("Host(`a`)").unwrap();
    assert_eq!(a, Rule::parse("Host(`a`)").unwrap());
    assert_ne!(a, Rule::parse("Host(`a`) ").unwrap());
    assert_eq!(a.to_string(), "Host(`a`)");
}

#[test]
fn error_messages_read_well() {
    let cases: &[(&str, &str)] = &[
        (
            "Host(`a`, `b`)",
            "column 11: Host takes exactly one value, got 2; write Host(`domain`) (Traefik v3 takes one value per matcher: \
             instead of the v2 form Host(`a`, `b`) write Host(`a`) || Host(`b`); or keep the v2 rule with the router's \
             ruleSyntax v2 or core.defaultRuleSyntax v2)",
        ),
        ("Path(`/a`) &&", "column 14: expected a matcher, found the end of the rule"),
        ("ClientIP(`10.0.0.0/33`)", "column 10: invalid CIDR \"10.0.0.0/33\" in ClientIP"),
    ];
    for (rule, want) in cases {
        assert_eq!(
            Rule::parse(rule).unwrap_err().to_string(),
            *want,
            "rule {rule:?}"
        );
    }
}

#[test]
fn cheap_operands_are_evaluated_first() {
    use crate::rules::matcher::Node;
    let rule = Rule::parse(
        "PathRegexp(`^/a`) && Header(`X`, `1`) && Host(`a`) || HostRegexp(`x`) || Path(`/`)",
    )
    .unwrap();
    let Node::Any(any) = &rule.root else {
        panic!("expected ||, got {:?}", rule.root)
    };
    let costs: Vec<u8> = any.iter().map(Node::cost).collect();
    assert_eq!(costs, vec![0, 2, 2]);
    let Node::All(all) = &any[1] else {
        panic!("expected && second, got {:?}", any[1])
    };
    let costs: Vec<u8> = all.iter().map(Node::cost).collect();
    assert_eq!(costs, vec![0, 1, 2]);
}

/// Traefik 3.7 compiles a v2 `{name:regexp}` group as a plain regexp whose braces are literal
/// (Go's RE2 reads a `{` that starts no repetition as a literal): so does swarmgate, with a
/// warning naming the column.
#[test]
fn v2_named_groups_compile_as_literal_braces_with_a_warning() {
    use crate::rules::RequestView;
    let headers = http::HeaderMap::new();
    let view = |path| RequestView {
        host: "localhost",
        path,
        query: None,
        method: &http::Method::GET,
        headers: &headers,
        client_ip: std::net::Ipv4Addr::LOCALHOST.into(),
    };
    let rule = Rule::parse("PathRegexp(`^/{path:css}$`)").unwrap();
    assert!(rule.matches(&view("/{path:css}")));
    assert!(!rule.matches(&view("/css")));
    assert_eq!(rule.warnings().len(), 1);
    assert!(rule.warnings()[0]
        .starts_with("column 12: PathRegexp(`^/{path:css}$`) uses the Traefik v2"));
    for source in [
        "HostRegexp(`{sub:[a-z]+}.a.com`)",
        "Host(`a`) && HeaderRegexp(`X-Proto`, `http{secure:s}`)",
        "!QueryRegexp(`q`, `{value:traefik}`)",
    ] {
        let rule = Rule::parse(source).unwrap();
        assert_eq!(rule.warnings().len(), 1, "{source}");
    }
    // Repetitions are repetitions, and a plain rule has no warning.
    let rule = Rule::parse("PathRegexp(`^/a{2}$`)").unwrap();
    assert!(rule.matches(&view("/aa")) && rule.warnings().is_empty());
}
