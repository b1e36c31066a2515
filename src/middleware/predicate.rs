//! The tokens of vulcand's `predicate` language, which Traefik's `circuitBreaker.expression`
//! and `buffering.retryExpression` are written in (a subset of Go expressions): function
//! calls, numbers, strings, comparisons, `&&`, `||`, `!` and parentheses. Each language builds
//! its own typed expression from these tokens ([`super::circuit_breaker::expr`],
//! [`super::buffering::retry_expr`]). Errors carry a 1-based column.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Ne,
}

impl Cmp {
    /// Compares `value` (the function's) with `limit` (the literal's).
    pub fn holds<T: PartialOrd>(self, value: T, limit: T) -> bool {
        match self {
            Cmp::Gt => value > limit,
            Cmp::Lt => value < limit,
            Cmp::Ge => value >= limit,
            Cmp::Le => value <= limit,
            Cmp::Eq => value == limit,
            Cmp::Ne => value != limit,
        }
    }
}

/// A parse error at a 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

pub fn err(column: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        column,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A number; `int` when written as decimal digits only (Go's INT literal that `Atoi` reads).
    Num {
        value: f64,
        int: Option<i64>,
    },
    /// A Go string literal, `"…"` or `` `…` ``, unquoted.
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    Cmp(Cmp),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Num { value, .. } => write!(f, "number {value}"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::Comma => f.write_str("`,`"),
            Tok::And => f.write_str("`&&`"),
            Tok::Or => f.write_str("`||`"),
            Tok::Not => f.write_str("`!`"),
            Tok::Cmp(_) => f.write_str("a comparison"),
        }
    }
}

/// Splits `src` into tokens with their 1-based columns.
pub fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let next = chars.get(i + 1).copied();
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '&' if next == Some('&') => (Tok::And, 2),
            '|' if next == Some('|') => (Tok::Or, 2),
            '>' if next == Some('=') => (Tok::Cmp(Cmp::Ge), 2),
            '<' if next == Some('=') => (Tok::Cmp(Cmp::Le), 2),
            '=' if next == Some('=') => (Tok::Cmp(Cmp::Eq), 2),
            '!' if next == Some('=') => (Tok::Cmp(Cmp::Ne), 2),
            '!' => (Tok::Not, 1),
            '>' => (Tok::Cmp(Cmp::Gt), 1),
            '<' => (Tok::Cmp(Cmp::Lt), 1),
            '"' | '`' => string(&chars[i..], col)?,
            c if c.is_ascii_digit() || c == '.' || c == '-' => {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == '.')
                    .count()
                    + 1;
                let text: String = chars[i..i + len].iter().collect();
                let value = text
                    .parse::<f64>()
                    .map_err(|_| err(col, format!("invalid number {text:?}")))?;
                let int = if text.bytes().all(|b| b.is_ascii_digit()) {
                    Some(
                        text.parse::<i64>()
                            .map_err(|_| err(col, format!("integer {text} is out of range")))?,
                    )
                } else {
                    None
                };
                (Tok::Num { value, int }, len)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                (Tok::Ident(chars[i..i + len].iter().collect()), len)
            }
            c => return Err(err(col, format!("unexpected character {c:?}"))),
        };
        out.push((tok, col));
        i += len;
    }
    Ok(out)
}

/// A string literal at the start of `chars`: raw between backquotes, or between double quotes
/// with `\"` and `\\` escapes (other escapes are refused rather than guessed).
fn string(chars: &[char], col: usize) -> Result<(Tok, usize), ExprError> {
    let quote = chars[0];
    let mut text = String::new();
    let mut i = 1;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c == quote => return Ok((Tok::Str(text), i + 1)),
            '\\' if quote == '"' => match chars.get(i + 1) {
                Some(&e @ ('"' | '\\')) => {
                    text.push(e);
                    i += 2;
                    continue;
                }
                _ => return Err(err(col + i, "unsupported escape in a string")),
            },
            '\n' if quote == '"' => break,
            c => text.push(c),
        }
        i += 1;
    }
    Err(err(col, "string not terminated"))
}
