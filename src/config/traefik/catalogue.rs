//! Every static option of Traefik 3.7 (`traefik_options.txt`, taken from `traefik --help`), to
//! tell an option swarmgate does not implement (a warning, or a refusal when ignoring it would
//! weaken protection) from a word that is no Traefik option at all (an error with the nearest
//! known option as a suggestion).
//!
//! Pure data built once, plus the matching and the edit-distance suggestion.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const OPTIONS: &str = include_str!("traefik_options.txt");

/// A node of Traefik's option tree, keyed by lowercase segment; `<name>` and `[n]` match any
/// user-chosen name or list index.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// Traefik's spelling of this segment.
    pub spelling: String,
    pub children: BTreeMap<String, Entry>,
}

const ANY_NAME: &str = "<name>";
const ANY_INDEX: &str = "[n]";

fn build() -> Entry {
    let mut root = Entry::default();
    for line in OPTIONS.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut node = &mut root;
        for seg in segments(line) {
            node = node
                .children
                .entry(seg.to_ascii_lowercase())
                .or_insert_with(|| Entry {
                    spelling: seg.to_string(),
                    children: BTreeMap::new(),
                });
        }
    }
    root
}

/// `a.b[n].c` → `a`, `b`, `[n]`, `c`.
fn segments(option: &str) -> impl Iterator<Item = &str> {
    option.split('.').flat_map(|part| match part.find('[') {
        Some(i) if i > 0 => vec![&part[..i], &part[i..]],
        _ => vec![part],
    })
}

/// The root of Traefik's option tree.
pub(crate) fn catalogue() -> &'static Entry {
    static CATALOGUE: OnceLock<Entry> = OnceLock::new();
    CATALOGUE.get_or_init(build)
}

fn is_index(seg: &str) -> bool {
    seg.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .is_some_and(|n| n == "n" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
        || (!seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
}

impl Entry {
    fn child(&self, seg: &str) -> Option<&Entry> {
        let lower = seg.to_ascii_lowercase();
        self.children
            .get(&lower)
            .or_else(|| {
                if is_index(seg) {
                    self.children.get(ANY_INDEX)
                } else {
                    None
                }
            })
            .or_else(|| self.children.get(ANY_NAME))
    }

    fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }
}

/// What the catalogue says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// Not a Traefik option.
    No,
    /// An option (or anything below one: a list written as an array, a map value).
    Option,
    /// A section that has options below it.
    Section,
}

/// Looks `path` (raw segments, any case) up in Traefik's option tree.
pub(crate) fn lookup(path: &[String]) -> Known {
    let mut node = catalogue();
    for seg in path {
        if node.is_leaf() {
            return Known::Option;
        }
        match node.child(seg) {
            Some(next) => node = next,
            None => return Known::No,
        }
    }
    if node.is_leaf() {
        Known::Option
    } else {
        Known::Section
    }
}

/// Whether `path` is exactly an option or a section of the catalogue (nothing below a leaf).
pub(crate) fn is_exact(path: &[String]) -> bool {
    let mut node = catalogue();
    for seg in path {
        match node.child(seg) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

/// Whether `path` (raw segments, any case) is a Traefik option or a section of options.
#[cfg(test)]
pub(crate) fn is_traefik_option(path: &[String]) -> bool {
    lookup(path) != Known::No
}

/// Every option of the catalogue, in Traefik's spelling (`entryPoints.<name>.address`).
pub(crate) fn all_options() -> Vec<String> {
    fn walk(node: &Entry, prefix: &mut Vec<String>, out: &mut Vec<String>) {
        if node.is_leaf() {
            out.push(join(prefix));
        }
        for child in node.children.values() {
            prefix.push(child.spelling.clone());
            walk(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(catalogue(), &mut Vec::new(), &mut out);
    out
}

/// Joins segments with dots, list indices glued to their list (`domains[n].main`).
pub(crate) fn join(segs: &[String]) -> String {
    let mut out = String::new();
    for s in segs {
        if !out.is_empty() && !s.starts_with('[') {
            out.push('.');
        }
        out.push_str(s);
    }
    out
}

/// The known option nearest to `path` (which is not one), in Traefik's spelling with the user's
/// names kept (`providers.swarm.exposedByDefault`, `entryPoints.web.address`): the longest known
/// prefix is kept, and each unknown segment is replaced by its closest sibling when that is near
/// enough to be a typo.
pub(crate) fn suggest(path: &[String]) -> Option<String> {
    let mut node = catalogue();
    let mut out: Vec<String> = Vec::new();
    let mut changed = false;
    for seg in path {
        if node.is_leaf() && !out.is_empty() {
            break;
        }
        if let Some(next) = node.child(seg) {
            out.push(if next.spelling == ANY_NAME || next.spelling == ANY_INDEX {
                seg.clone()
            } else {
                next.spelling.clone()
            });
            node = next;
            continue;
        }
        let lower = seg.to_ascii_lowercase();
        let best = node
            .children
            .iter()
            .filter(|(k, _)| k.as_str() != ANY_NAME && k.as_str() != ANY_INDEX)
            .map(|(k, e)| (distance(&lower, k), e))
            .min_by_key(|(d, _)| *d)?;
        // A typo: at most a third of the word (at least 2 edits for short words).
        if best.0 > (lower.len() / 3).max(2) {
            return None;
        }
        out.push(best.1.spelling.clone());
        node = best.1;
        changed = true;
    }
    changed.then(|| join(&out))
}

/// Damerau–Levenshtein distance (optimal string alignment) on bytes.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Options swarmgate does not implement whose absence would weaken protection (TLS, client
/// authentication, workload identity, provider TLS, access-log redaction): such an option makes
/// `run` refuse to start instead of serving with less than the user asked for. Prefixes of
/// lowercase option paths, `*` for a user-chosen name.
const PROTECTIVE: &[(&str, &str)] = &[
    (
        "entrypoints.*.http.tls",
        "TLS settings of an entrypoint that swarmgate cannot apply",
    ),
    ("spiffe", "SPIFFE workload identity (upstream mTLS)"),
    ("serverstransport.spiffe", "SPIFFE upstream authentication"),
    (
        "serverstransport.certificates",
        "client certificates presented to upstreams",
    ),
    ("providers.swarm.tls", "TLS to the Docker API"),
    ("providers.docker.tls", "TLS to the Docker API"),
    ("providers.file.tls", "TLS settings"),
    (
        "accesslog.fields",
        "access-log field redaction (dropped or redacted fields would be written)",
    ),
    ("core.stricttlsoptions", "strict TLS options"),
];

/// Why leaving out the option at `path` set to `value` would weaken protection, if it would.
/// An access-log field set to `keep` asks for more, not less: leaving it out protects.
pub(crate) fn protective(path: &[String], value: Option<&str>) -> Option<&'static str> {
    let lower: Vec<String> = path.iter().map(|s| s.to_ascii_lowercase()).collect();
    let keep = value.is_some_and(|v| v.trim().eq_ignore_ascii_case("keep"));
    if keep && lower.first().is_some_and(|s| s == "accesslog") {
        return None;
    }
    PROTECTIVE.iter().find_map(|(prefix, why)| {
        let parts: Vec<&str> = prefix.split('.').collect();
        (parts.len() <= lower.len()
            && parts
                .iter()
                .zip(&lower)
                .all(|(p, s)| *p == "*" || *p == s.as_str()))
        .then_some(*why)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn knows_traefik_options_in_any_case_with_names_and_indices() {
        for ok in [
            "providers.swarm.exposedbydefault",
            "entryPoints.web.address",
            "accesslog.filters.statuscodes",
            "accesslog.fields.headers.names.User-Agent",
            "metrics.otlp.http.endpoint",
            "tracing",
            "entrypoints.websecure.http.tls.domains.[0].main",
            "entrypoints.websecure.http.tls.domains.0.sans.[1]",
        ] {
            assert!(is_traefik_option(&path(ok)), "{ok}");
        }
        for bad in [
            "providers.swarm.exposedbydefualt",
            "entrypoints.web.adress",
            "bogus",
            "metrics.prometheus.bogus",
        ] {
            assert!(!is_traefik_option(&path(bad)), "{bad}");
        }
    }

    #[test]
    fn suggests_the_nearest_option_keeping_user_names() {
        assert_eq!(
            suggest(&path("providers.swarm.exposedbydefualt")).as_deref(),
            Some("providers.swarm.exposedByDefault")
        );
        assert_eq!(
            suggest(&path("entrypoints.webSecure.adress")).as_deref(),
            Some("entryPoints.webSecure.address")
        );
        assert_eq!(suggest(&path("acesslog")).as_deref(), Some("accessLog"));
        assert_eq!(suggest(&path("completely.unrelated")), None);
    }

    #[test]
    fn protective_options_are_recognised() {
        assert!(protective(&path("entrypoints.web.http.tls.foo"), None).is_some());
        assert!(protective(&path("spiffe.workloadapiaddr"), None).is_some());
        assert!(protective(&path("metrics.otlp.http.endpoint"), None).is_none());
        let field = path("accesslog.fields.names.ClientUsername");
        assert!(protective(&field, Some("drop")).is_some());
        assert!(protective(&field, Some("redact")).is_some());
        assert!(protective(&field, Some("Keep")).is_none());
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(distance("exposedbydefualt", "exposedbydefault"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("", "abc"), 3);
    }
}
