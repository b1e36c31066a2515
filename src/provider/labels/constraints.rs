//! Traefik's provider `constraints` expressions over a service's labels:
//! ``Label(`key`, `value`)`` (exact), ``LabelRegex(`key`, `re`)`` (Go `regexp.MatchString`:
//! unanchored), combined with `!`, `&&`, `||` and parentheses. A service that does not match is not
//! exposed. Pure.

use std::collections::BTreeMap;

/// A constraints expression that does not parse (or a regex that does not compile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("constraints {expr:?}: {reason}")]
pub struct ConstraintError {
    pub expr: String,
    pub reason: String,
}

#[derive(Debug)]
enum Expr {
    Label(String, String),
    LabelRegex(String, regex::Regex),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Whether `labels` satisfy `expr` (an empty expression matches everything).
pub fn matches(expr: &str, labels: &BTreeMap<String, String>) -> Result<bool, ConstraintError> {
    if expr.trim().is_empty() {
        return Ok(true);
    }
    let fail = |reason: String| ConstraintError {
        expr: expr.to_string(),
        reason,
    };
    let mut p = Parser { s: expr, pos: 0 };
    let tree = p.or().map_err(fail)?;
    p.skip_ws();
    if p.pos != expr.len() {
        return Err(fail(format!("unexpected input at byte {}", p.pos)));
    }
    Ok(eval(&tree, labels))
}

fn eval(e: &Expr, labels: &BTreeMap<String, String>) -> bool {
    match e {
        Expr::Label(k, v) => labels.get(k) == Some(v),
        Expr::LabelRegex(k, re) => re.is_match(labels.get(k).map_or("", String::as_str)),
        Expr::Not(x) => !eval(x, labels),
        Expr::And(a, b) => eval(a, labels) && eval(b, labels),
        Expr::Or(a, b) => eval(a, labels) || eval(b, labels),
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err("missing )".into());
            }
            return Ok(e);
        }
        self.skip_ws();
        let name_len = self
            .rest()
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(self.rest().len());
        let name = self.rest()[..name_len].to_string();
        self.pos += name_len;
        if !self.eat("(") {
            return Err(format!(
                "expected Label(...) or LabelRegex(...), found {name:?}"
            ));
        }
        let key = self.string()?;
        if !self.eat(",") {
            return Err(format!("{name}: expected two arguments"));
        }
        let value = self.string()?;
        if !self.eat(")") {
            return Err(format!("{name}: missing )"));
        }
        match name.as_str() {
            "Label" => Ok(Expr::Label(key, value)),
            "LabelRegex" => regex::Regex::new(&value)
                .map(|re| Expr::LabelRegex(key, re))
                .map_err(|e| format!("LabelRegex: {e}")),
            other => Err(format!("unknown matcher {other:?}")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_ws();
        let quote = self.rest().chars().next().ok_or("expected a string")?;
        if quote != '`' && quote != '"' {
            return Err("expected a `quoted` or \"quoted\" string".into());
        }
        let body = &self.rest()[1..];
        let end = body.find(quote).ok_or("unterminated string")?;
        let out = body[..end].to_string();
        self.pos += end + 2;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_traefik_expressions() {
        let labels: BTreeMap<String, String> = [
            ("a.b", "foo"),
            ("env", "prod"),
            ("com.docker.stack.namespace", "web"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cases = [
            ("", true),
            ("Label(`a.b`, `foo`)", true),
            ("Label(`a.b`, `bar`)", false),
            ("Label(\"env\", \"prod\")", true),
            ("!Label(`a.b`, `foo`)", false),
            ("Label(`a.b`, `foo`) && Label(`env`, `dev`)", false),
            ("Label(`a.b`, `foo`) && !Label(`env`, `dev`)", true),
            ("Label(`env`, `dev`) || Label(`env`, `prod`)", true),
            ("LabelRegex(`com.docker.stack.namespace`, `^w.b$`)", true),
            ("LabelRegex(`env`, `ro`)", true),
            ("LabelRegex(`missing`, `.+`)", false),
            (
                "(Label(`env`, `dev`) || Label(`env`, `prod`)) && Label(`a.b`, `foo`)",
                true,
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(matches(expr, &labels).unwrap(), want, "{expr}");
        }
    }

    #[test]
    fn rejects_malformed_expressions() {
        let labels = BTreeMap::new();
        for expr in [
            "Label(`a`)",
            "Tag(`a`, `b`)",
            "Label(`a`, `b`",
            "Label(`a`, `b`) &&",
            "LabelRegex(`a`, `(`)",
            "Label(a, b)",
        ] {
            assert!(matches(expr, &labels).is_err(), "{expr}");
        }
    }
}
