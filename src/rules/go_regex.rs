//! Go regexp syntax the `regex` crate reads otherwise: a `{` that does not start a repetition.
//!
//! Go's RE2 parser takes a `{` that is not followed by a well-formed `n}`, `n,}` or `n,m}` as a
//! literal brace; the `regex` crate refuses it. Traefik v2 rules wrote `{name:regexp}` groups, and
//! Traefik 3.7 compiles such a rule as a plain regexp in which those braces are literal (so
//! ``PathRegexp(`^/{path:css}$`)`` matches the path `/{path:css}`). [`literal_braces`] escapes
//! exactly the braces Go would read as literals, so the crate compiles the same language.

use std::borrow::Cow;

/// `pattern` with every `{` that Go reads as a literal escaped; borrowed when there is none.
pub(crate) fn literal_braces(pattern: &str) -> Cow<'_, str> {
    let bytes = pattern.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // An escape: the next character is taken as is, and `\p{..}`, `\x{..}` keep their
            // braces.
            b'\\' => {
                i += 2;
                if matches!(bytes.get(i - 1), Some(b'p' | b'P' | b'x'))
                    && bytes.get(i) == Some(&b'{')
                {
                    while i < bytes.len() && bytes[i] != b'}' {
                        i += 1;
                    }
                }
                continue;
            }
            b'{' if !is_repeat(&bytes[i + 1..]) => {
                let out = out.get_or_insert_with(|| String::with_capacity(pattern.len() + 8));
                out.push_str(&pattern[copied..i]);
                out.push_str("\\{");
                copied = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(pattern),
        Some(mut out) => {
            out.push_str(&pattern[copied..]);
            Cow::Owned(out)
        }
    }
}

/// Whether `rest` (what follows a `{`) is Go's `n}`, `n,}` or `n,m}`, numbers without leading
/// zeros.
fn is_repeat(rest: &[u8]) -> bool {
    let Some(after) = number(rest) else {
        return false;
    };
    match after.first() {
        Some(b'}') => true,
        Some(b',') => match after.get(1) {
            Some(b'}') => true,
            _ => number(&after[1..]).is_some_and(|a| a.first() == Some(&b'}')),
        },
        _ => false,
    }
}

/// The bytes after a decimal number at the start of `s` (Go refuses a leading zero).
fn number(s: &[u8]) -> Option<&[u8]> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && s[0] == b'0') {
        return None;
    }
    Some(&s[digits..])
}

/// Whether the pattern has a Traefik v2 `{name:regexp}` group (a name, then `:`).
pub(crate) fn has_v2_group(pattern: &str) -> bool {
    pattern.match_indices('{').any(|(i, _)| {
        let rest = &pattern[i + 1..];
        let name = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        name > 0 && rest.as_bytes().get(name) == Some(&b':')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_braces_go_reads_as_literals_are_escaped() {
        let cases = [
            ("^/{path:css}$", r"^/\{path:css}$"),
            ("http{secure:s}", r"http\{secure:s}"),
            ("{value:traefik}", r"\{value:traefik}"),
            ("a{2}b{2,}c{2,3}", "a{2}b{2,}c{2,3}"),
            ("a{,3}", r"a\{,3}"),
            ("a{02}", r"a\{02}"),
            ("a{2", r"a\{2"),
            ("a{2,x}", r"a\{2,x}"),
            (r"\{x\}", r"\{x\}"),
            (r"\p{Greek}{x}", r"\p{Greek}\{x}"),
            (r"\x{41}{1}", r"\x{41}{1}"),
            ("[{]", r"[\{]"),
            ("plain", "plain"),
            ("trailing\\", "trailing\\"),
        ];
        for (pattern, want) in cases {
            assert_eq!(literal_braces(pattern), want, "{pattern}");
            // What Go accepts, the crate now accepts too.
            if !pattern.ends_with('\\') {
                assert!(
                    regex::Regex::new(&literal_braces(pattern)).is_ok(),
                    "{pattern}"
                );
            }
        }
        assert!(matches!(literal_braces("^/api$"), Cow::Borrowed(_)));
    }

    #[test]
    fn v2_groups_are_recognised() {
        assert!(has_v2_group("^/{path:css}$"));
        assert!(has_v2_group("{sub:[a-z]+}.example.com"));
        assert!(!has_v2_group("a{2,3}"));
        assert!(!has_v2_group("{:x}"));
        assert!(!has_v2_group("plain"));
    }
}
