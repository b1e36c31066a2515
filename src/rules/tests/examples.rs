//! Matching tests: operator precedence and Traefik's documented rule examples.

use super::matching::{check, req};

#[test]
fn precedence() {
    // a || b && c  ==  a || (b && c)
    let rule = "Host(`a`) || Host(`b`) && Path(`/c`)";
    check(
        rule,
        &[
            (req("a", "/x"), true),
            (req("b", "/x"), false),
            (req("b", "/c"), true),
        ],
    );
    // (a || b) && c
    check(
        "(Host(`a`) || Host(`b`)) && Path(`/c`)",
        &[
            (req("a", "/x"), false),
            (req("a", "/c"), true),
            (req("b", "/c"), true),
        ],
    );
    // !a && b  ==  (!a) && b
    check(
        "!Host(`a`) && Path(`/c`)",
        &[
            (req("a", "/c"), false),
            (req("b", "/c"), true),
            (req("b", "/x"), false),
        ],
    );
    // !(a && b)
    check(
        "!(Host(`a`) && Path(`/c`))",
        &[
            (req("a", "/c"), false),
            (req("a", "/x"), true),
            (req("b", "/c"), true),
        ],
    );
    // a && b || c  ==  (a && b) || c
    check(
        "Host(`a`) && Path(`/x`) || Path(`/c`)",
        &[
            (req("b", "/c"), true),
            (req("a", "/x"), true),
            (req("a", "/y"), false),
        ],
    );
    check(
        "!!Host(`a`)",
        &[(req("a", "/"), true), (req("b", "/"), false)],
    );
    check(
        "((Host(`a`) || (Host(`b`))) && !(Path(`/x`) || Path(`/y`)))",
        &[
            (req("a", "/z"), true),
            (req("b", "/x"), false),
            (req("b", "/y"), false),
            (req("c", "/z"), false),
        ],
    );
}

#[test]
fn documented_examples() {
    check(
        "Host(`example.com`) && PathPrefix(`/api`)",
        &[
            (req("example.com", "/api/x"), true),
            (req("example.com", "/web"), false),
            (req("other.com", "/api"), false),
        ],
    );
    check(
        "Host(`example.com`) || (Host(`example.org`) && Path(`/traefik`))",
        &[
            (req("example.com", "/"), true),
            (req("example.org", "/traefik"), true),
            (req("example.org", "/"), false),
        ],
    );
    check(
        "Host(`example.com`) && !Path(`/traefik`)",
        &[
            (req("example.com", "/"), true),
            (req("example.com", "/traefik"), false),
        ],
    );
    check(
        "HostRegexp(`^.+\\.example\\.com$`)",
        &[
            (req("a.example.com", "/"), true),
            (req("example.com", "/"), false),
        ],
    );
    check(
        "PathRegexp(`^/products/(shoes|socks)/[0-9]+$`)",
        &[
            (req("h", "/products/shoes/123"), true),
            (req("h", "/products/hats/123"), false),
        ],
    );
    check(
        "Method(`GET`) || Method(`POST`)",
        &[
            (req("h", "/"), true),
            (req("h", "/").method("POST"), true),
            (req("h", "/").method("PUT"), false),
        ],
    );
    check(
        "ClientIP(`10.76.105.11`)",
        &[(req("h", "/").ip("10.76.105.11"), true)],
    );
    check(
        "ClientIP(`::1`) || ClientIP(`192.168.0.0/16`)",
        &[(req("h", "/").ip("192.168.3.4"), true)],
    );
    check(
        "Header(`Content-Type`, `application/yaml`)",
        &[(
            req("h", "/").header("content-type", "application/yaml"),
            true,
        )],
    );
    check(
        "HeaderRegexp(`Content-Type`, `^application/(json|yaml)$`)",
        &[(
            req("h", "/").header("content-type", "application/json"),
            true,
        )],
    );
    check(
        "QueryRegexp(`mobile`, `^(true|yes)$`)",
        &[
            (req("h", "/").query("mobile=yes"), true),
            (req("h", "/").query("mobile=no"), false),
        ],
    );
    check(
        "host(`example.com`) && PATHPREFIX(`/a`)",
        &[(req("example.com", "/a"), true)],
    );
    check(
        "Host(\"example.com\") && PathPrefix(\"/a\")",
        &[
            (req("example.com", "/a"), true),
            (req("example.com", "/b"), false),
        ],
    );
}
