//! `buffering.retryExpression`: when the buffering middleware sends a request again (Traefik's
//! oxy `buffer` retry predicate). After each attempt the expression is evaluated on that
//! attempt's outcome; true → the buffered request is sent again.
//!
//! Functions: `IsNetworkError()` (the answer was 502 or 504, whether the proxy made it because
//! the server could not be reached or the server sent it), `Attempts()` (attempts made so far, 1
//! after the first), `ResponseCode()` (the answer's status), `RequestMethod()` (compared with a
//! string). Integers compare with `==`, `!=`, `<`, `<=`, `>`, `>=`; the method with `==`, `!=`;
//! conditions combine with `&&`, `||` and parentheses (Go precedence). As in oxy, a comparison has
//! the function on the left and a literal on the right, and `!` is not an operator.

use http::Method;

use crate::middleware::predicate::{err, lex, Cmp, ExprError, Tok};

/// An integer the expression reads from the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntFn {
    Attempts,
    ResponseCode,
}

/// A parsed retry expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryExpr {
    IsNetworkError,
    Int(IntFn, Cmp, i64),
    /// `RequestMethod() == "…"` (`equal`) or `!=`.
    Method {
        equal: bool,
        method: String,
    },
    And(Box<RetryExpr>, Box<RetryExpr>),
    Or(Box<RetryExpr>, Box<RetryExpr>),
}

/// What one attempt ended with.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// Attempts made so far (1 after the first).
    pub attempts: u32,
    /// The answer's status (the proxy's own 502/504 when the server could not be reached).
    pub code: u16,
    pub method: &'a Method,
}

impl RetryExpr {
    /// True when the request should be sent again.
    pub fn eval(&self, o: &Outcome<'_>) -> bool {
        match self {
            RetryExpr::IsNetworkError => o.code == 502 || o.code == 504,
            RetryExpr::Int(f, cmp, limit) => {
                let value = match f {
                    IntFn::Attempts => i64::from(o.attempts),
                    IntFn::ResponseCode => i64::from(o.code),
                };
                cmp.holds(value, *limit)
            }
            RetryExpr::Method { equal, method } => (o.method.as_str() == method) == *equal,
            RetryExpr::And(a, b) => a.eval(o) && b.eval(o),
            RetryExpr::Or(a, b) => a.eval(o) || b.eval(o),
        }
    }
}

/// Parses a retry expression; an error names the column.
pub fn parse(src: &str) -> Result<RetryExpr, ExprError> {
    let mut p = Parser {
        tokens: lex(src)?,
        pos: 0,
        end: src.chars().count() + 1,
    };
    let (value, col) = p.or()?;
    if let Some((tok, col)) = p.tokens.get(p.pos) {
        return Err(err(*col, format!("unexpected {tok} after the expression")));
    }
    condition(value, col, "the expression")
}

/// A value while parsing, before it is known to be a condition.
enum Value {
    Cond(RetryExpr),
    Int(IntFn),
    Method,
    IntLit(i64),
    OtherNum(f64),
    Str(String),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Cond(_) => "a condition".into(),
            Value::Int(IntFn::Attempts) => "Attempts()".into(),
            Value::Int(IntFn::ResponseCode) => "ResponseCode()".into(),
            Value::Method => "RequestMethod()".into(),
            Value::IntLit(n) => format!("the number {n}"),
            Value::OtherNum(n) => format!("the number {n}"),
            Value::Str(s) => format!("the string {s:?}"),
        }
    }
}

fn condition(value: Value, col: usize, what: &str) -> Result<RetryExpr, ExprError> {
    match value {
        Value::Cond(e) => Ok(e),
        other => Err(err(
            col,
            format!(
                "{what} must be a condition (IsNetworkError() or a comparison), not {}",
                other.describe()
            ),
        )),
    }
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self, wanted: &str) -> Result<(Tok, usize), ExprError> {
        match self.tokens.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => Err(err(self.end, format!("expected {wanted}, found the end"))),
        }
    }

    fn or(&mut self) -> Result<(Value, usize), ExprError> {
        let (mut left, col) = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let a = condition(left, col, "each side of `||`")?;
            let (right, rcol) = self.and()?;
            let b = condition(right, rcol, "each side of `||`")?;
            left = Value::Cond(RetryExpr::Or(Box::new(a), Box::new(b)));
        }
        Ok((left, col))
    }

    fn and(&mut self) -> Result<(Value, usize), ExprError> {
        let (mut left, col) = self.compare()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let a = condition(left, col, "each side of `&&`")?;
            let (right, rcol) = self.compare()?;
            let b = condition(right, rcol, "each side of `&&`")?;
            left = Value::Cond(RetryExpr::And(Box::new(a), Box::new(b)));
        }
        Ok((left, col))
    }

    fn compare(&mut self) -> Result<(Value, usize), ExprError> {
        let (mut left, col) = self.primary()?;
        while let Some(&Tok::Cmp(cmp)) = self.peek() {
            let op_col = self.tokens[self.pos].1;
            self.pos += 1;
            let (right, rcol) = self.primary()?;
            left = Value::Cond(match (left, right) {
                (Value::Int(f), Value::IntLit(n)) => RetryExpr::Int(f, cmp, n),
                (Value::Int(f), other) => {
                    return Err(err(
                        rcol,
                        format!(
                            "{} is compared with an integer literal, not {}",
                            Value::Int(f).describe(),
                            other.describe()
                        ),
                    ))
                }
                (Value::Method, Value::Str(method)) => match cmp {
                    Cmp::Eq => RetryExpr::Method {
                        equal: true,
                        method,
                    },
                    Cmp::Ne => RetryExpr::Method {
                        equal: false,
                        method,
                    },
                    _ => {
                        return Err(err(
                            op_col,
                            "RequestMethod() is compared with `==` or `!=` only",
                        ))
                    }
                },
                (Value::Method, other) => {
                    return Err(err(
                        rcol,
                        format!(
                            "RequestMethod() is compared with a string, not {}",
                            other.describe()
                        ),
                    ))
                }
                (other, _) => {
                    return Err(err(
                        col,
                        format!(
                            "the left side of a comparison must be Attempts(), ResponseCode() or RequestMethod(), not {}",
                            other.describe()
                        ),
                    ))
                }
            });
        }
        Ok((left, col))
    }

    fn primary(&mut self) -> Result<(Value, usize), ExprError> {
        let (tok, col) = self.next("a function, a number or `(`")?;
        let value = match tok {
            Tok::LParen => {
                let (inner, _) = self.or()?;
                match self.next("`)`")? {
                    (Tok::RParen, _) => inner,
                    (tok, c) => return Err(err(c, format!("expected `)`, found {tok}"))),
                }
            }
            Tok::Not => return Err(err(col, "`!` is not supported (as in Traefik)")),
            Tok::Num { int: Some(n), .. } => Value::IntLit(n),
            Tok::Num { value, .. } => Value::OtherNum(value),
            Tok::Str(s) => Value::Str(s),
            Tok::Ident(name) => self.call(&name, col)?,
            tok => {
                return Err(err(
                    col,
                    format!("expected a function, a number or `(`, found {tok}"),
                ))
            }
        };
        Ok((value, col))
    }

    fn call(&mut self, name: &str, col: usize) -> Result<Value, ExprError> {
        let value = match name {
            "IsNetworkError" => Value::Cond(RetryExpr::IsNetworkError),
            "Attempts" => Value::Int(IntFn::Attempts),
            "ResponseCode" => Value::Int(IntFn::ResponseCode),
            "RequestMethod" => Value::Method,
            _ => {
                return Err(err(
                    col,
                    format!(
                        "unknown function {name:?} (IsNetworkError, Attempts, ResponseCode, RequestMethod)"
                    ),
                ))
            }
        };
        match self.next("`(`")? {
            (Tok::LParen, _) => {}
            (tok, c) => return Err(err(c, format!("expected `(` after {name}, found {tok}"))),
        }
        match self.next("`)`")? {
            (Tok::RParen, _) => Ok(value),
            (_, c) => Err(err(c, format!("{name}() takes no arguments"))),
        }
    }
}
