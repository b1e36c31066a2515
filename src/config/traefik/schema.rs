//! The table of Traefik static options swarmgate knows: canonical camelCase names, value kinds and
//! whether an option is used, accepted-but-ignored, or mapped onto another field.
//!
//! Pure data built once. Every name that is kept must exist in `StaticConfig` (checked by a unit
//! test that deserializes a sample built from this table). Options absent from the table are
//! "unsupported" by construction.

use std::sync::OnceLock;

/// The kind of a leaf value, used to convert strings from arguments/environment and to check files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    Int,
    /// A number (`tracing.sampleRate`).
    Float,
    Duration,
    StrList,
    FloatList,
    /// One of these lowercase words (any case accepted, stored lowercase).
    Enum(&'static [&'static str]),
}

/// A node of the option tree.
#[derive(Debug)]
pub(crate) enum Node {
    Leaf(Kind),
    /// Known fields; a section may also be written `true` ("present with defaults").
    Struct(Vec<Field>),
    /// User-named children (entrypoint names, resolver names), all of the same shape.
    Map(Box<Node>),
    /// A list of structured elements (`domains[0].main`).
    List(Box<Node>),
}

/// What swarmgate does with an option it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Parsed and used.
    Used,
    /// Parsed and used; the section is invalid without it.
    Required,
    /// Parsed and kept in `StaticConfig`, but without effect; reported as ignored.
    Ignored(&'static str),
    /// Type-checked, then dropped (no `StaticConfig` field); reported as ignored.
    Dropped(&'static str),
    /// Stored under another (camelCase) name of `StaticConfig`.
    MapsTo(&'static str),
}

#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub node: Node,
    pub status: Status,
}

impl Node {
    /// The field of a struct node whose name matches `key` case-insensitively.
    pub(crate) fn field(&self, key: &str) -> Option<&Field> {
        match self {
            Node::Struct(fields) => fields.iter().find(|f| f.name.eq_ignore_ascii_case(key)),
            _ => None,
        }
    }
}

/// The status of the option at `path` (`<name>`/`[n]` or any name for maps and lists), or
/// `None` when the schema does not know it. Below a leaf (a list, a section kept as a value)
/// the leaf's status counts; a section's own status is `Used` unless it says otherwise.
pub(crate) fn status_at(path: &[String]) -> Option<Status> {
    let mut node = schema();
    let mut status = Status::Used;
    for seg in path {
        match node {
            Node::Struct(_) => {
                let field = node.field(seg)?;
                // A field mapped onto another name is applied through it.
                status = match (status, field.status) {
                    (Status::Ignored(w) | Status::Dropped(w), _) => Status::Ignored(w),
                    (_, s) => s,
                };
                node = &field.node;
            }
            Node::Map(child) | Node::List(child) => node = child,
            Node::Leaf(_) => return Some(status),
        }
    }
    Some(status)
}

fn f(name: &'static str, node: Node) -> Field {
    Field {
        name,
        node,
        status: Status::Used,
    }
}

fn with(name: &'static str, node: Node, status: Status) -> Field {
    Field { name, node, status }
}

fn leaf(kind: Kind) -> Node {
    Node::Leaf(kind)
}

fn st(fields: Vec<Field>) -> Node {
    Node::Struct(fields)
}

/// The fields `metrics.statsD` and `metrics.datadog` share (Traefik's `types.Statsd` and
/// `types.Datadog` spell the same six).
fn statsd_fields() -> Vec<Field> {
    use Kind::{Bool, Duration, Str};
    vec![
        f("address", leaf(Str)),
        f("pushInterval", leaf(Duration)),
        f("addEntryPointsLabels", leaf(Bool)),
        f("addRoutersLabels", leaf(Bool)),
        f("addServicesLabels", leaf(Bool)),
        f("prefix", leaf(Str)),
    ]
}

/// `tracing.otlp` and `metrics.otlp`: the two exporters Traefik's `types.OTLP` shares (`http`,
/// `grpc`), then `extra`.
fn otlp_fields(extra: Vec<Field>) -> Vec<Field> {
    use Kind::{Bool, Str};
    let headers = || f("headers", Node::Map(Box::new(leaf(Str))));
    // Traefik's `types.ClientTLS`.
    let tls = || {
        f(
            "tls",
            st(vec![
                f("ca", leaf(Str)),
                f("cert", leaf(Str)),
                f("key", leaf(Str)),
                f("insecureSkipVerify", leaf(Bool)),
            ]),
        )
    };
    let mut fields = vec![
        f("http", st(vec![f("endpoint", leaf(Str)), headers(), tls()])),
        f(
            "grpc",
            st(vec![
                f("endpoint", leaf(Str)),
                f("insecure", leaf(Bool)),
                headers(),
                tls(),
            ]),
        ),
    ];
    fields.extend(extra);
    fields
}

const FORMATS: &[&str] = &["common", "json"];
const FIELD_MODES: &[&str] = &["keep", "drop", "redact"];
const RULE_SYNTAXES: &[&str] = &["v2", "v3"];
const TRACE_VERBOSITIES: &[&str] = &["minimal", "detailed"];
const NO_EFFECT: &str = "no effect in swarmgate";
const NOT_APPLIED: &str = "parsed, not applied";
const NO_ROTATION: &str = "swarmgate does not rotate log files; use logrotate";

/// The root of the Traefik static option tree.
pub(crate) fn schema() -> &'static Node {
    static SCHEMA: OnceLock<Node> = OnceLock::new();
    SCHEMA.get_or_init(build)
}

/// Root keys of Traefik's static configuration, lowercase (also those swarmgate does not
/// support): used to tell Traefik environment variables and arguments from others.
pub(crate) const TRAEFIK_ROOTS: &[&str] = &[
    "global",
    "serverstransport",
    "tcpserverstransport",
    "entrypoints",
    "providers",
    "api",
    "metrics",
    "ping",
    "log",
    "accesslog",
    "tracing",
    "hostresolver",
    "certificatesresolvers",
    "experimental",
    "core",
    "spiffe",
    "ocsp",
    "configfile",
];

fn build() -> Node {
    use Kind::*;
    let trusted = || {
        st(vec![
            f("insecure", leaf(Bool)),
            f("trustedIPs", leaf(StrList)),
        ])
    };
    let entry_point = st(vec![
        with("address", leaf(Str), Status::Required),
        f("asDefault", leaf(Bool)),
        f(
            "http",
            st(vec![
                f(
                    "redirections",
                    st(vec![f(
                        "entryPoint",
                        st(vec![
                            with("to", leaf(Str), Status::Required),
                            f("scheme", leaf(Str)),
                            f("permanent", leaf(Bool)),
                            f("priority", leaf(Int)),
                        ]),
                    )]),
                ),
                f(
                    "tls",
                    st(vec![
                        f("certResolver", leaf(Str)),
                        f(
                            "domains",
                            Node::List(Box::new(st(vec![
                                with("main", leaf(Str), Status::Required),
                                f("sans", leaf(StrList)),
                            ]))),
                        ),
                        f("options", leaf(Str)),
                    ]),
                ),
                f("middlewares", leaf(StrList)),
                f(
                    "encodedCharacters",
                    st(vec![
                        f("allowEncodedSlash", leaf(Bool)),
                        f("allowEncodedBackSlash", leaf(Bool)),
                        f("allowEncodedNullCharacter", leaf(Bool)),
                        f("allowEncodedSemicolon", leaf(Bool)),
                        f("allowEncodedPercent", leaf(Bool)),
                        f("allowEncodedQuestionMark", leaf(Bool)),
                        f("allowEncodedHash", leaf(Bool)),
                    ]),
                ),
                f("sanitizePath", leaf(Bool)),
            ]),
        ),
        f("http2", st(vec![f("maxConcurrentStreams", leaf(Int))])),
        f("http3", st(vec![f("advertisedPort", leaf(Int))])),
        f(
            "transport",
            st(vec![
                f(
                    "respondingTimeouts",
                    st(vec![
                        f("readTimeout", leaf(Duration)),
                        f("writeTimeout", leaf(Duration)),
                        f("idleTimeout", leaf(Duration)),
                        f("tcpIdleTimeout", leaf(Duration)),
                    ]),
                ),
                f(
                    "lifeCycle",
                    st(vec![
                        f("requestAcceptGraceTimeout", leaf(Duration)),
                        f("graceTimeOut", leaf(Duration)),
                    ]),
                ),
                f("maxConnections", leaf(Int)),
                f("maxHeaderBytes", leaf(Int)),
                f("headerReadTimeout", leaf(Duration)),
            ]),
        ),
        f("forwardedHeaders", trusted()),
        f("proxyProtocol", trusted()),
        f("reusePort", leaf(Bool)),
        f("udp", st(vec![f("timeout", leaf(Duration))])),
        f(
            "observability",
            st(vec![
                f("accessLogs", leaf(Bool)),
                f("metrics", leaf(Bool)),
                f("tracing", leaf(Bool)),
                f("traceVerbosity", leaf(Enum(TRACE_VERBOSITIES))),
            ]),
        ),
    ]);
    let swarm_fields = |docker: bool| {
        let mut v = vec![
            f("endpoint", leaf(Str)),
            f("exposedByDefault", leaf(Bool)),
            f("network", leaf(Str)),
            f("defaultRule", leaf(Str)),
            f("constraints", leaf(Str)),
            // Traefik polls the swarm every `refreshSeconds`; swarmgate follows Docker's events
            // and uses it as the period of its full resync (applied, see provider::swarm).
            f("refreshSeconds", leaf(Duration)),
            f("watch", leaf(Bool)),
            with(
                "useBindPortIP",
                leaf(Bool),
                Status::Ignored("not applied: servers are the tasks' addresses on the network"),
            ),
            f("allowEmptyServices", leaf(Bool)),
            with(
                "httpClientTimeout",
                leaf(Duration),
                Status::Ignored(NOT_APPLIED),
            ),
        ];
        if docker {
            v.push(f("swarmMode", leaf(Bool)));
            v.push(with(
                "swarmModeRefreshSeconds",
                leaf(Duration),
                Status::MapsTo("refreshSeconds"),
            ));
        }
        st(v)
    };
    let acme = st(vec![
        f("email", leaf(Str)),
        f("storage", leaf(Str)),
        f("caServer", leaf(Str)),
        f("keyType", leaf(Str)),
        f("profile", leaf(Str)),
        f(
            "eab",
            st(vec![f("kid", leaf(Str)), f("hmacEncoded", leaf(Str))]),
        ),
        with("preferredChain", leaf(Str), Status::Used),
        with(
            "certificatesDuration",
            leaf(Int),
            Status::MapsTo("certDuration"),
        ),
        f("certDuration", leaf(Int)),
        f(
            "httpChallenge",
            st(vec![with("entryPoint", leaf(Str), Status::Required)]),
        ),
        f("tlsChallenge", st(vec![])),
        f(
            "dnsChallenge",
            st(vec![
                f("provider", leaf(Str)),
                f("resolvers", leaf(StrList)),
                f("delayBeforeCheck", leaf(Duration)),
                f("disablePropagationCheck", leaf(Bool)),
                f(
                    "propagation",
                    st(vec![
                        f("delayBeforeChecks", leaf(Duration)),
                        f("disableChecks", leaf(Bool)),
                        f("requireAllRNS", leaf(Bool)),
                        f("disableANSChecks", leaf(Bool)),
                    ]),
                ),
            ]),
        ),
        f("caCertificates", leaf(StrList)),
        f("renewBefore", leaf(Duration)),
    ]);
    st(vec![
        f("entryPoints", Node::Map(Box::new(entry_point))),
        f(
            "providers",
            st(vec![
                f("providersThrottleDuration", leaf(Duration)),
                f(
                    "file",
                    st(vec![
                        f("filename", leaf(Str)),
                        f("directory", leaf(Str)),
                        f("watch", leaf(Bool)),
                        with(
                            "debugLogGeneratedTemplate",
                            leaf(Bool),
                            Status::Dropped(NO_EFFECT),
                        ),
                    ]),
                ),
                f("swarm", swarm_fields(false)),
                f("docker", swarm_fields(true)),
            ]),
        ),
        f(
            "certificatesResolvers",
            Node::Map(Box::new(st(vec![f("acme", acme)]))),
        ),
        f(
            "api",
            st(vec![
                f("dashboard", leaf(Bool)),
                f("insecure", leaf(Bool)),
                with("debug", leaf(Bool), Status::Ignored(NO_EFFECT)),
                with("disableDashboardAd", leaf(Bool), Status::Dropped(NO_EFFECT)),
            ]),
        ),
        f(
            "ping",
            st(vec![
                f("entryPoint", leaf(Str)),
                f("terminatingStatusCode", leaf(Int)),
                f("manualRouting", leaf(Bool)),
            ]),
        ),
        f(
            "metrics",
            st(vec![
                f(
                    "prometheus",
                    st(vec![
                        f("entryPoint", leaf(Str)),
                        f("addEntryPointsLabels", leaf(Bool)),
                        f("addRoutersLabels", leaf(Bool)),
                        f("addServicesLabels", leaf(Bool)),
                        f("buckets", leaf(FloatList)),
                        f("manualRouting", leaf(Bool)),
                    ]),
                ),
                f(
                    "otlp",
                    st(otlp_fields(vec![
                        f("addEntryPointsLabels", leaf(Bool)),
                        f("addRoutersLabels", leaf(Bool)),
                        f("addServicesLabels", leaf(Bool)),
                        f("explicitBoundaries", leaf(FloatList)),
                        f("pushInterval", leaf(Duration)),
                        f("serviceName", leaf(Str)),
                        f("resourceAttributes", Node::Map(Box::new(leaf(Str)))),
                    ])),
                ),
                f("statsD", st(statsd_fields())),
                f("datadog", st(statsd_fields())),
                f(
                    "influxDB2",
                    st(vec![
                        f("address", leaf(Str)),
                        f("token", leaf(Str)),
                        f("pushInterval", leaf(Duration)),
                        f("org", leaf(Str)),
                        f("bucket", leaf(Str)),
                        f("addEntryPointsLabels", leaf(Bool)),
                        f("addRoutersLabels", leaf(Bool)),
                        f("addServicesLabels", leaf(Bool)),
                        f("additionalLabels", Node::Map(Box::new(leaf(Str)))),
                    ]),
                ),
                f("addInternals", leaf(Bool)),
            ]),
        ),
        f(
            "accessLog",
            st(vec![
                f("filePath", leaf(Str)),
                f("format", leaf(Enum(FORMATS))),
                f("bufferingSize", leaf(Int)),
                f("addInternals", leaf(Bool)),
                f("tcpSessions", leaf(Bool)),
                f("udpSessions", leaf(Bool)),
                f(
                    "filters",
                    st(vec![
                        f("statusCodes", leaf(StrList)),
                        f("retryAttempts", leaf(Bool)),
                        f("minDuration", leaf(Duration)),
                    ]),
                ),
                f(
                    "fields",
                    st(vec![
                        f("defaultMode", leaf(Enum(FIELD_MODES))),
                        f("names", Node::Map(Box::new(leaf(Enum(FIELD_MODES))))),
                        f(
                            "headers",
                            st(vec![
                                f("defaultMode", leaf(Enum(FIELD_MODES))),
                                f("names", Node::Map(Box::new(leaf(Enum(FIELD_MODES))))),
                            ]),
                        ),
                    ]),
                ),
            ]),
        ),
        f(
            "tracing",
            st(vec![
                f("serviceName", leaf(Str)),
                f("sampleRate", leaf(Float)),
                f("resourceAttributes", Node::Map(Box::new(leaf(Str)))),
                f("globalAttributes", Node::Map(Box::new(leaf(Str)))),
                f("capturedRequestHeaders", leaf(StrList)),
                f("capturedResponseHeaders", leaf(StrList)),
                f("safeQueryParams", leaf(StrList)),
                f("addInternals", leaf(Bool)),
                f("otlp", st(otlp_fields(Vec::new()))),
            ]),
        ),
        f(
            "log",
            st(vec![
                f("level", leaf(Str)),
                f("format", leaf(Enum(FORMATS))),
                f("filePath", leaf(Str)),
                with("noColor", leaf(Bool), Status::Dropped(NO_EFFECT)),
                with("maxSize", leaf(Int), Status::Dropped(NO_ROTATION)),
                with("maxAge", leaf(Int), Status::Dropped(NO_ROTATION)),
                with("maxBackups", leaf(Int), Status::Dropped(NO_ROTATION)),
                with("compress", leaf(Bool), Status::Dropped(NO_ROTATION)),
            ]),
        ),
        f(
            "serversTransport",
            st(vec![
                f("serverName", leaf(Str)),
                f("insecureSkipVerify", leaf(Bool)),
                f("rootCAs", leaf(StrList)),
                f("maxIdleConnsPerHost", leaf(Int)),
                f(
                    "forwardingTimeouts",
                    st(vec![
                        f("dialTimeout", leaf(Duration)),
                        f("responseHeaderTimeout", leaf(Duration)),
                        f("idleConnTimeout", leaf(Duration)),
                    ]),
                ),
            ]),
        ),
        f(
            "core",
            st(vec![f("defaultRuleSyntax", leaf(Enum(RULE_SYNTAXES)))]),
        ),
        f(
            "global",
            st(vec![
                with(
                    "checkNewVersion",
                    leaf(Bool),
                    Status::Ignored("swarmgate never calls home"),
                ),
                with(
                    "sendAnonymousUsage",
                    leaf(Bool),
                    Status::Ignored("swarmgate never calls home"),
                ),
            ]),
        ),
    ])
}
