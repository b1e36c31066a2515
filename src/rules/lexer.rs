//! Lexer for rule source text: turns a rule into tokens, each with its 1-based column.
//!
//! Owns string-literal decoding (Go's backtick raw strings and double-quoted interpreted strings with
//! Go's escapes). It knows nothing about matchers or precedence; that is the parser's job.
//! Columns count Unicode scalar values (characters), starting at 1. Whitespace is Go's: space, tab,
//! newline and carriage return (a non-breaking space pasted into a label is reported, not skipped).

use super::ParseError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A matcher name such as `Host`.
    Ident(String),
    /// A decoded string literal.
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
}

impl TokenKind {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            TokenKind::Ident(name) => format!("`{name}`"),
            TokenKind::Str(_) => "a string".to_owned(),
            TokenKind::LParen => "'('".to_owned(),
            TokenKind::RParen => "')'".to_owned(),
            TokenKind::Comma => "','".to_owned(),
            TokenKind::And => "'&&'".to_owned(),
            TokenKind::Or => "'||'".to_owned(),
            TokenKind::Not => "'!'".to_owned(),
        }
    }
}

/// A token and the 1-based column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) column: usize,
}

fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

/// Splits `source` into tokens. Whitespace (including newlines) separates tokens and is otherwise ignored.
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let kind = match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            '!' => TokenKind::Not,
            '&' if next == Some('&') => {
                i += 1;
                TokenKind::And
            }
            '|' if next == Some('|') => {
                i += 1;
                TokenKind::Or
            }
            '&' => return Err(err(column, "unexpected '&'; the AND operator is '&&'")),
            '|' => return Err(err(column, "unexpected '|'; the OR operator is '||'")),
            '`' => {
                let (value, end) = raw_string(&chars, i)?;
                i = end;
                tokens.push(Token {
                    kind: TokenKind::Str(value),
                    column,
                });
                continue;
            }
            '"' => {
                let (value, end) = quoted_string(&chars, i)?;
                i = end;
                tokens.push(Token {
                    kind: TokenKind::Str(value),
                    column,
                });
                continue;
            }
            '\'' => {
                return Err(err(
                    column,
                    "single quotes are not accepted; put values in backticks (`value`) or double quotes (\"value\")",
                ))
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token {
                    kind: TokenKind::Ident(chars[start..i].iter().collect()),
                    column,
                });
                continue;
            }
            other => return Err(err(column, format!("unexpected character {other:?}"))),
        };
        tokens.push(Token { kind, column });
        i += 1;
    }
    Ok(tokens)
}

/// Reads a Go raw string starting at the backtick at `start`; returns the value and the index after
/// the closing backtick. As in Go, carriage returns inside are dropped.
fn raw_string(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '`' => return Ok((value, i + 1)),
            '\r' => {}
            c => value.push(c),
        }
        i += 1;
    }
    Err(err(start + 1, "unterminated string: missing closing '`'"))
}

/// Reads a Go interpreted string starting at the `"` at `start`; returns the value and the index
/// after the closing quote.
fn quoted_string(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => {
                let value = String::from_utf8(bytes).map_err(|_| {
                    err(
                        start + 1,
                        "string is not valid UTF-8 after decoding escapes",
                    )
                })?;
                return Ok((value, i + 1));
            }
            '\n' => break,
            '\\' => {
                i = escape(chars, i, &mut bytes)?;
                continue;
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        i += 1;
    }
    Err(err(start + 1, "unterminated string: missing closing '\"'"))
}

/// Decodes the escape sequence whose backslash is at `at`, appending its bytes; returns the index after it.
fn escape(chars: &[char], at: usize, out: &mut Vec<u8>) -> Result<usize, ParseError> {
    let column = at + 1;
    let Some(&c) = chars.get(at + 1) else {
        return Err(err(column, "unterminated escape sequence"));
    };
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' => Some(b'\\'),
        '"' => Some(b'"'),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Ok(at + 2);
    }
    let digits = |count: usize, radix: u32| -> Result<u32, ParseError> {
        let mut value: u32 = 0;
        for k in 0..count {
            let d = chars
                .get(at + 2 + k)
                .and_then(|ch| ch.to_digit(radix))
                .ok_or_else(|| {
                    err(
                        column,
                        format!("invalid escape sequence: expected {count} digits"),
                    )
                })?;
            value = value * radix + d;
        }
        Ok(value)
    };
    match c {
        'x' => {
            let v = digits(2, 16)?;
            out.push(v as u8);
            Ok(at + 4)
        }
        '0'..='7' => {
            let mut value: u32 = 0;
            for k in 0..3 {
                let d = chars
                    .get(at + 1 + k)
                    .and_then(|ch| ch.to_digit(8))
                    .ok_or_else(|| err(column, "invalid octal escape: expected 3 octal digits"))?;
                value = value * 8 + d;
            }
            let byte = u8::try_from(value).map_err(|_| err(column, "octal escape value > 255"))?;
            out.push(byte);
            Ok(at + 4)
        }
        'u' | 'U' => {
            let count = if c == 'u' { 4 } else { 8 };
            let v = digits(count, 16)?;
            let ch = char::from_u32(v)
                .ok_or_else(|| err(column, "escape sequence is not a valid Unicode code point"))?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            Ok(at + 2 + count)
        }
        other => Err(err(column, format!("unknown escape sequence \\{other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(source: &str) -> Vec<String> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t.kind {
                TokenKind::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn string_literals_decode_like_go() {
        let cases: &[(&str, &str)] = &[
            ("`a.com`", "a.com"),
            ("`a\\nb`", "a\\nb"),
            ("`a\r\nb`", "a\nb"),
            ("\"a.com\"", "a.com"),
            ("\"a\\\"b\"", "a\"b"),
            ("\"a\\\\b\"", "a\\b"),
            ("\"\\t\\n\\r\"", "\t\n\r"),
            ("\"\\x41\\102\"", "AB"),
            ("\"\\u00e9\\U0001F600\"", "é😀"),
            ("\"^/api/\\\\d+$\"", "^/api/\\d+$"),
            ("``", ""),
            ("\"\"", ""),
        ];
        for (source, want) in cases {
            assert_eq!(strings(source), vec![want.to_string()], "source {source:?}");
        }
    }

    #[test]
    fn lexer_errors_carry_column() {
        let cases: &[(&str, usize, &str)] = &[
            ("Host(`a)", 6, "unterminated string"),
            ("Host(\"a)", 6, "unterminated string"),
            ("Host(\"a\nb\")", 6, "unterminated string"),
            ("Host('a')", 6, "single quotes"),
            ("Host(`a`) & Path(`/`)", 11, "'&&'"),
            ("Host(`a`) | Path(`/`)", 11, "'||'"),
            ("Host(\"a\\qb\")", 8, "unknown escape"),
            ("Host(\"\\x4\")", 7, "2 digits"),
            ("Host(\"\\777\")", 7, "> 255"),
            ("Host(\"\\xff\")", 6, "UTF-8"),
            ("Host(`a`) == 1", 11, "unexpected character '='"),
            ("  é", 3, "unexpected character"),
            (
                "Host(`a`)\u{a0}&& Path(`/`)",
                10,
                "unexpected character '\\u{a0}'",
            ),
        ];
        for (source, column, fragment) in cases {
            let e = tokenize(source).unwrap_err();
            assert_eq!(e.column, *column, "source {source:?}: {e}");
            assert!(e.message.contains(fragment), "source {source:?}: {e}");
        }
    }

    #[test]
    fn tokens_have_columns() {
        let tokens = tokenize("!Host(`a`) && (X || Y)").unwrap();
        let cols: Vec<usize> = tokens.iter().map(|t| t.column).collect();
        assert_eq!(cols, vec![1, 2, 6, 7, 10, 12, 15, 16, 18, 21, 22]);
        assert_eq!(tokens[0].kind, TokenKind::Not);
        assert_eq!(tokens[5].kind, TokenKind::And);
        assert_eq!(tokens[8].kind, TokenKind::Or);
    }
}
