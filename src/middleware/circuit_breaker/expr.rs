//! The circuit breaker's expression language (Traefik / vulcand `predicate`):
//! `NetworkErrorRatio()`, `ResponseCodeRatio(from, to, dividendFrom, dividendTo)` and
//! `LatencyAtQuantileMS(q)` compared with a number (`>`, `<`, `>=`, `<=`, `==`, `!=`), combined
//! with `&&`, `||` and parentheses (`&&` binds tighter). Parsed once at compile time; errors carry
//! a 1-based column.

use crate::middleware::predicate::{err, lex, Tok};
pub use crate::middleware::predicate::{Cmp, ExprError};

/// A metric the expression reads from the sliding window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Share of requests answered 502/504 by the proxy itself.
    NetworkErrorRatio,
    /// Responses with a code in `[from, to)` divided by those in `[of_from, of_to)`; indices into
    /// the window's list of code ranges.
    ResponseCodeRatio { num: usize, den: usize },
    /// Latency in milliseconds at this quantile (0–100).
    LatencyAtQuantileMs(f64),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Compare(Metric, Cmp, f64),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// What the expression needs measured: the status code ranges `[from, to)` named by
/// `ResponseCodeRatio` (deduplicated, indexed by [`Metric::ResponseCodeRatio`]) and whether a
/// latency quantile is asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    pub code_ranges: Vec<(u16, u16)>,
    pub latency: bool,
}

/// The values an expression is evaluated against.
pub trait Values {
    fn network_error_ratio(&self) -> f64;
    /// Count of responses in code range `index` of [`Needs::code_ranges`].
    fn codes_in(&self, index: usize) -> u64;
    fn latency_ms_at(&self, quantile: f64) -> f64;
}

impl Expr {
    pub fn eval(&self, v: &impl Values) -> bool {
        match self {
            Expr::And(a, b) => a.eval(v) && b.eval(v),
            Expr::Or(a, b) => a.eval(v) || b.eval(v),
            Expr::Compare(metric, cmp, limit) => {
                let value = match *metric {
                    Metric::NetworkErrorRatio => v.network_error_ratio(),
                    Metric::ResponseCodeRatio { num, den } => {
                        let den = v.codes_in(den);
                        if den == 0 {
                            0.0
                        } else {
                            v.codes_in(num) as f64 / den as f64
                        }
                    }
                    Metric::LatencyAtQuantileMs(q) => v.latency_ms_at(q),
                };
                cmp.holds(value, *limit)
            }
        }
    }
}

/// Parses `src`, collecting what it needs measured.
pub fn parse(src: &str) -> Result<(Expr, Needs), ExprError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: src.chars().count() + 1,
        needs: Needs::default(),
    };
    let expr = p.or()?;
    if let Some((tok, col)) = p.tokens.get(p.pos) {
        return Err(err(*col, format!("unexpected {tok} after the expression")));
    }
    Ok((expr, p.needs))
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    /// Column just past the input (for "unexpected end").
    end: usize,
    needs: Needs,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, c)| *c)
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

    fn expect(&mut self, tok: Tok, wanted: &str) -> Result<(), ExprError> {
        let (got, col) = self.next(wanted)?;
        if got == tok {
            Ok(())
        } else {
            Err(err(col, format!("expected {wanted}, found {got}")))
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.primary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok(inner);
        }
        let metric = self.metric()?;
        let (tok, col) = self.next("a comparison (>, <, >=, <=, ==, !=)")?;
        let Tok::Cmp(cmp) = tok else {
            return Err(err(
                col,
                format!("expected a comparison (>, <, >=, <=, ==, !=), found {tok}"),
            ));
        };
        let limit = self.number()?;
        Ok(Expr::Compare(metric, cmp, limit))
    }

    fn number(&mut self) -> Result<f64, ExprError> {
        match self.next("a number")? {
            (Tok::Num { value, .. }, _) => Ok(value),
            (tok, col) => Err(err(col, format!("expected a number, found {tok}"))),
        }
    }

    fn metric(&mut self) -> Result<Metric, ExprError> {
        let (tok, col) = self.next("a function")?;
        let Tok::Ident(name) = tok else {
            return Err(err(col, format!("expected a function, found {tok}")));
        };
        self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        let mut arg_cols = Vec::new();
        if self.peek() != Some(&Tok::RParen) {
            loop {
                arg_cols.push(self.column());
                args.push(self.number()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "`,` or `)`")?;
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(
                    col,
                    format!("{name} takes {n} argument(s), got {}", args.len()),
                ))
            }
        };
        match name.as_str() {
            "NetworkErrorRatio" => {
                arity(0)?;
                Ok(Metric::NetworkErrorRatio)
            }
            "LatencyAtQuantileMS" => {
                arity(1)?;
                let q = args[0];
                if !(0.0..=100.0).contains(&q) {
                    return Err(err(arg_cols[0], "quantile must be within 0 and 100"));
                }
                self.needs.latency = true;
                Ok(Metric::LatencyAtQuantileMs(q))
            }
            "ResponseCodeRatio" => {
                arity(4)?;
                let mut codes = [0u16; 4];
                for (i, a) in args.iter().enumerate() {
                    if a.fract() != 0.0 || !(0.0..=1000.0).contains(a) {
                        return Err(err(arg_cols[i], "status codes are integers within 0-1000"));
                    }
                    codes[i] = *a as u16;
                }
                if codes[0] >= codes[1] || codes[2] >= codes[3] {
                    return Err(err(col, "ResponseCodeRatio ranges must be `from < to`"));
                }
                let num = self.range((codes[0], codes[1]));
                let den = self.range((codes[2], codes[3]));
                Ok(Metric::ResponseCodeRatio { num, den })
            }
            _ => Err(err(
                col,
                format!(
                    "unknown function {name:?} (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS)"
                ),
            )),
        }
    }

    fn range(&mut self, r: (u16, u16)) -> usize {
        match self.needs.code_ranges.iter().position(|x| *x == r) {
            Some(i) => i,
            None => {
                self.needs.code_ranges.push(r);
                self.needs.code_ranges.len() - 1
            }
        }
    }
}
