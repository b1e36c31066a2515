//! Query-string matching without allocation, following Go's `url.ParseQuery` as Traefik uses it.
//!
//! The raw query is split on `&`; empty pairs and pairs containing `;` are skipped (Go rejects them);
//! each pair splits at its first `=` (no `=` means an empty value); key and value are percent-decoded
//! with `+` as space, and a pair whose key or value has a malformed `%` escape is skipped.
//!
//! Allocation strategy: exact comparisons decode on the fly, byte by byte, against the expected value.
//! Regex matching needs the decoded bytes: a value without `%` or `+` is used as is; otherwise it is
//! decoded into a 256-byte stack buffer, and only a value longer than that is decoded into a heap
//! buffer (the one allocating path, for long escaped values).

use regex::bytes::Regex;

/// Size of the stack buffer used to decode a value before regex matching.
const STACK_DECODE: usize = 256;

/// Iterates over the `(raw key, raw value)` pairs Go would keep (before decoding).
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Calls `emit` with each decoded byte of `raw`; returns false if `raw` has a malformed escape or
/// `emit` returned false.
fn decode(raw: &str, mut emit: impl FnMut(u8) -> bool) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes[i] {
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return false;
                };
                i += 2;
                hi << 4 | lo
            }
            b'+' => b' ',
            other => other,
        };
        if !emit(byte) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `raw` is well formed and decodes to exactly `expected`.
pub(crate) fn decoded_eq(raw: &str, expected: &[u8]) -> bool {
    let mut pos = 0;
    let ok = decode(raw, |b| {
        let same = expected.get(pos) == Some(&b);
        pos += 1;
        same
    });
    ok && pos == expected.len()
}

/// Whether `raw` is a well-formed encoding (every `%` followed by two hex digits).
fn well_formed(raw: &str) -> bool {
    decode(raw, |_| true)
}

/// `Query(key, value)` (and `Query(key)`, where `value` is empty): some pair has this key and value.
pub(crate) fn has_pair(query: &str, key: &[u8], value: &[u8]) -> bool {
    pairs(query).any(|(k, v)| decoded_eq(k, key) && decoded_eq(v, value))
}

/// `QueryRegexp(key, regexp)`: some value of `key` matches `re`.
pub(crate) fn has_value_matching(query: &str, key: &[u8], re: &Regex) -> bool {
    pairs(query).any(|(k, v)| decoded_eq(k, key) && value_matches(v, re))
}

/// The decoded first value of `key`, as Go's `url.Values.Get` after `url.ParseQuery` (pairs
/// whose key or value is malformed are skipped). Allocates when the value is escaped.
pub(crate) fn first_value<'q>(query: &'q str, key: &[u8]) -> Option<std::borrow::Cow<'q, [u8]>> {
    let (_, raw) = pairs(query).find(|(k, v)| decoded_eq(k, key) && well_formed(v))?;
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(std::borrow::Cow::Borrowed(raw.as_bytes()));
    }
    let mut out = Vec::with_capacity(raw.len());
    decode(raw, |b| {
        out.push(b);
        true
    });
    Some(std::borrow::Cow::Owned(out))
}

fn value_matches(raw: &str, re: &Regex) -> bool {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return re.is_match(raw.as_bytes());
    }
    if raw.len() <= STACK_DECODE {
        let mut buf = [0u8; STACK_DECODE];
        let mut len = 0;
        let ok = decode(raw, |b| {
            buf[len] = b;
            len += 1;
            true
        });
        return ok && re.is_match(&buf[..len]);
    }
    if !well_formed(raw) {
        return false;
    }
    let mut heap = Vec::with_capacity(raw.len());
    decode(raw, |b| {
        heap.push(b);
        true
    }) && re.is_match(&heap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pairs() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("a=1", "a", "1", true),
            ("a=1&b=2", "b", "2", true),
            ("a=1&b=2", "b", "1", false),
            ("a=1&a=2", "a", "2", true),
            ("a", "a", "", true),
            ("a=", "a", "", true),
            ("a=1", "a", "", false),
            ("a=x%20y", "a", "x y", true),
            ("a=x+y", "a", "x y", true),
            ("a%3Db=c", "a=b", "c", true),
            ("a=b=c", "a", "b=c", true),
            ("a=%zz", "a", "%zz", false),
            ("a=%4", "a", "%4", false),
            ("a=1;b=2", "a", "1", false),
            ("a=1&&b=2", "b", "2", true),
            ("=v", "", "v", true),
            ("A=1", "a", "1", false),
            ("a=%C3%A9", "a", "é", true),
        ];
        for (query, key, value, want) in cases {
            assert_eq!(
                has_pair(query, key.as_bytes(), value.as_bytes()),
                *want,
                "query {query:?} key {key:?} value {value:?}"
            );
        }
    }

    #[test]
    fn regex_values() {
        let re = Regex::new("^[0-9]+ x$").unwrap();
        let long_escaped = format!("n={}%20x", "1".repeat(400));
        let long_bad = format!("n={}%2", "1".repeat(400));
        let cases: &[(&str, bool)] = &[
            ("n=12+x", true),
            ("n=12%20x", true),
            ("n=12x", false),
            ("m=12+x", false),
            ("n=ab&n=3+x", true),
            ("n=12%2", false),
            (&long_escaped, true),
            (&long_bad, false),
        ];
        for (query, want) in cases {
            assert_eq!(
                has_value_matching(query, b"n", &re),
                *want,
                "query {query:?}"
            );
        }
    }
}
