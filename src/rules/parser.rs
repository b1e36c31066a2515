//! Recursive-descent parser: tokens → [`Expr`], with precedence `!` > `&&` > `||` and parentheses.
//!
//! Grammar (Go expression syntax, as Traefik parses rules with Go's parser):
//! ```text
//! or      := and ( "||" and )*
//! and     := unary ( "&&" unary )*
//! unary   := "!" unary | primary
//! primary := "(" or ")" | NAME "(" [ STRING ( "," STRING )* [ "," ] ] ")"
//! ```
//! Every error carries the 1-based column where the problem starts. Nesting of parentheses and `!`
//! is limited to [`MAX_DEPTH`] so that a hostile label cannot overflow the stack.

use super::ast::{Arg, Call, Expr, MatcherKind};
use super::lexer::{tokenize, Token, TokenKind};
use super::{ParseError, Syntax};

/// Deepest nesting of parentheses and `!` accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses a whole rule.
pub(crate) fn parse(source: &str, syntax: Syntax) -> Result<Expr, ParseError> {
    let tokens = tokenize(source)?;
    if tokens.is_empty() {
        return Err(ParseError {
            column: 1,
            message: "empty rule".to_owned(),
        });
    }
    let end_column = source.chars().count() + 1;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end_column,
        depth: 0,
        syntax,
    };
    let expr = parser.or()?;
    if let Some(token) = parser.peek() {
        let message = match token.kind {
            TokenKind::RParen => "unbalanced parentheses: ')' has no matching '('".to_owned(),
            ref other => format!("unexpected {} after a complete expression; expected '&&', '||' or the end of the rule", other.describe()),
        };
        return Err(ParseError {
            column: token.column,
            message,
        });
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end_column: usize,
    depth: usize,
    syntax: Syntax,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek().is_some_and(|t| &t.kind == kind)
    }

    fn error(column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column,
            message: message.into(),
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut operands = vec![self.and()?];
        while self.at(&TokenKind::Or) {
            self.pos += 1;
            operands.push(self.and()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::Or(operands)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut operands = vec![self.unary()?];
        while self.at(&TokenKind::And) {
            self.pos += 1;
            operands.push(self.unary()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Expr::And(operands)
        })
    }

    fn enter(&mut self, column: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Self::error(
                column,
                format!("rule nests parentheses and '!' deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.next() else {
            return Err(Self::error(
                self.end_column,
                "expected a matcher, found the end of the rule",
            ));
        };
        match token.kind {
            TokenKind::Not => {
                self.enter(token.column)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.enter(token.column)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => Ok(inner),
                    Some(other) => Err(Self::error(
                        other.column,
                        format!(
                            "expected '&&', '||' or ')', found {}",
                            other.kind.describe()
                        ),
                    )),
                    None => Err(Self::error(
                        token.column,
                        "unbalanced parentheses: this '(' is never closed",
                    )),
                }
            }
            TokenKind::Ident(name) => self.call(&name, token.column),
            TokenKind::RParen => Err(Self::error(
                token.column,
                "unbalanced parentheses: expected a matcher, found ')'",
            )),
            other => Err(Self::error(
                token.column,
                format!("expected a matcher, found {}", other.describe()),
            )),
        }
    }

    fn call(&mut self, name: &str, column: usize) -> Result<Expr, ParseError> {
        let kind = MatcherKind::resolve(name, self.syntax).ok_or_else(|| {
            let (hint, known) = match self.syntax {
                Syntax::V3 => (MatcherKind::hint(name), MatcherKind::known_list()),
                Syntax::V2 => (MatcherKind::hint_v2(name), MatcherKind::known_list_v2()),
            };
            let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
            Self::error(
                column,
                format!("unknown matcher `{name}`{hint}; known matchers: {known}"),
            )
        })?;
        let open = match self.next() {
            Some(Token {
                kind: TokenKind::LParen,
                column,
            }) => column,
            Some(other) => {
                return Err(Self::error(
                    other.column,
                    format!(
                        "expected '(' after `{name}`, found {}",
                        other.kind.describe()
                    ),
                ))
            }
            None => {
                return Err(Self::error(
                    self.end_column,
                    format!("expected '(' after `{name}`, found the end of the rule"),
                ))
            }
        };
        let mut args = Vec::new();
        loop {
            let Some(token) = self.next() else {
                return Err(Self::error(
                    open,
                    "unbalanced parentheses: this '(' is never closed",
                ));
            };
            match token.kind {
                TokenKind::RParen => {
                    return Ok(Expr::Call(Call {
                        kind,
                        column,
                        args,
                        close_column: token.column,
                    }))
                }
                TokenKind::Str(value) => {
                    if value.is_empty() {
                        // Traefik's checkRule: "empty args for matcher <name>".
                        return Err(Self::error(
                            token.column,
                            format!("empty argument for matcher `{name}`"),
                        ));
                    }
                    args.push(Arg {
                        value,
                        column: token.column,
                    });
                    match self.next() {
                        Some(Token {
                            kind: TokenKind::Comma,
                            ..
                        }) => {}
                        Some(Token {
                            kind: TokenKind::RParen,
                            column: close,
                        }) => {
                            return Ok(Expr::Call(Call {
                                kind,
                                column,
                                args,
                                close_column: close,
                            }))
                        }
                        Some(other) => {
                            return Err(Self::error(
                                other.column,
                                format!("expected ',' or ')' in the arguments of `{name}`, found {}", other.kind.describe()),
                            ))
                        }
                        None => {
                            return Err(Self::error(
                                open,
                                "unbalanced parentheses: this '(' is never closed",
                            ))
                        }
                    }
                }
                other => {
                    return Err(Self::error(
                        token.column,
                        format!(
                            "expected a string in backticks or double quotes as argument of `{name}`, found {}",
                            other.describe()
                        ),
                    ))
                }
            }
        }
    }
}
