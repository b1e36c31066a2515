//! The small Go-template subset Traefik's `defaultRule` uses: text with `{{ … }}` actions made of
//! `.Name`, `.Labels`, string literals, parentheses, pipelines (`|`) and the functions `normalize`,
//! `index`, `lower`, `upper`, `trimPrefix`, `trimSuffix`, `replace`.
//!
//! `normalize` is Traefik's: runs of characters that are neither letters nor digits become one `-`.
//! Pure; anything else is a `TemplateError`.

use std::collections::BTreeMap;

/// A default-rule template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("default rule template {template:?}: {reason}")]
pub struct TemplateError {
    pub template: String,
    pub reason: String,
}

/// What a template sees: `.Name` (the normalized service name, as Traefik) and `.Labels`.
pub struct TemplateModel<'a> {
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// Traefik's `provider.Normalize`.
pub fn normalize(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Renders `template` against `model`.
pub fn render(template: &str, model: &TemplateModel<'_>) -> Result<String, TemplateError> {
    let fail = |reason: String| TemplateError {
        template: template.to_string(),
        reason,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| fail("unclosed action".into()))?;
        let action = after[..close].trim_start_matches('-').trim_end_matches('-');
        let tokens = tokenize(action).map_err(fail)?;
        let mut pos = 0;
        let value = pipeline(&tokens, &mut pos, model).map_err(fail)?;
        if pos != tokens.len() {
            return Err(fail(format!("unexpected {:?}", tokens[pos])));
        }
        match value {
            Val::Str(s) => out.push_str(&s),
            Val::Labels => return Err(fail("cannot print .Labels".into())),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Str(String),
    Ident(String),
    Open,
    Close,
    Pipe,
}

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Labels,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '|' => {
                chars.next();
                toks.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Pipe,
                });
            }
            '"' | '`' => {
                chars.next();
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => lit.extend(chars.next()),
                        Some(other) => lit.push(other),
                    }
                }
                toks.push(Tok::Str(lit));
            }
            _ => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if w.is_whitespace() || "()|\"`".contains(w) {
                        break;
                    }
                    word.push(w);
                    chars.next();
                }
                toks.push(match word.strip_prefix('.') {
                    Some(field) => Tok::Field(field.to_string()),
                    None => Tok::Ident(word),
                });
            }
        }
    }
    Ok(toks)
}

fn pipeline(toks: &[Tok], pos: &mut usize, m: &TemplateModel<'_>) -> Result<Val, String> {
    let mut value = command(toks, pos, m, None)?;
    while toks.get(*pos) == Some(&Tok::Pipe) {
        *pos += 1;
        value = command(toks, pos, m, Some(value))?;
    }
    Ok(value)
}

fn command(
    toks: &[Tok],
    pos: &mut usize,
    m: &TemplateModel<'_>,
    piped: Option<Val>,
) -> Result<Val, String> {
    match toks.get(*pos) {
        Some(Tok::Ident(func)) => {
            *pos += 1;
            let mut args = Vec::new();
            while let Some(tok) = toks.get(*pos) {
                if matches!(tok, Tok::Pipe | Tok::Close) {
                    break;
                }
                args.push(operand(toks, pos, m)?);
            }
            args.extend(piped);
            call(func, args, m)
        }
        Some(_) if piped.is_none() => operand(toks, pos, m),
        Some(tok) => Err(format!("cannot pipe into {tok:?}")),
        None => Err("empty command".into()),
    }
}

fn operand(toks: &[Tok], pos: &mut usize, m: &TemplateModel<'_>) -> Result<Val, String> {
    let tok = toks.get(*pos).ok_or("missing operand")?;
    *pos += 1;
    match tok {
        Tok::Str(s) => Ok(Val::Str(s.clone())),
        Tok::Field(f) if f == "Name" => Ok(Val::Str(m.name.to_string())),
        Tok::Field(f) if f == "Labels" => Ok(Val::Labels),
        Tok::Field(f) => Err(format!("unknown field .{f}")),
        Tok::Open => {
            let v = pipeline(toks, pos, m)?;
            if toks.get(*pos) != Some(&Tok::Close) {
                return Err("missing )".into());
            }
            *pos += 1;
            Ok(v)
        }
        Tok::Ident(f) => call(f, Vec::new(), m),
        other => Err(format!("unexpected {other:?}")),
    }
}

fn call(func: &str, args: Vec<Val>, m: &TemplateModel<'_>) -> Result<Val, String> {
    let strs = |n: usize| -> Result<Vec<String>, String> {
        if args.len() != n {
            return Err(format!("{func} takes {n} arguments, got {}", args.len()));
        }
        args.iter()
            .map(|a| match a {
                Val::Str(s) => Ok(s.clone()),
                Val::Labels => Err(format!("{func}: .Labels is not a string")),
            })
            .collect()
    };
    let s = match func {
        "normalize" => normalize(&strs(1)?[0]),
        "lower" => strs(1)?[0].to_lowercase(),
        "upper" => strs(1)?[0].to_uppercase(),
        "trimPrefix" => {
            let a = strs(2)?;
            a[1].strip_prefix(a[0].as_str())
                .unwrap_or(&a[1])
                .to_string()
        }
        "trimSuffix" => {
            let a = strs(2)?;
            a[1].strip_suffix(a[0].as_str())
                .unwrap_or(&a[1])
                .to_string()
        }
        "replace" => {
            let a = strs(3)?;
            a[2].replace(a[0].as_str(), &a[1])
        }
        "index" => match args.as_slice() {
            // Go's `index` of a missing map key is the zero value.
            [Val::Labels, Val::Str(key)] => m.labels.get(key).cloned().unwrap_or_default(),
            _ => return Err("index takes .Labels and a key".into()),
        },
        other => return Err(format!("unknown function {other:?}")),
    };
    Ok(Val::Str(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_like_traefik() {
        for (input, want) in [
            ("mystack_api", "mystack-api"),
            ("my.stack__web-1", "my-stack-web-1"),
            ("_x_", "x"),
            ("Ünï_cødé", "Ünï-cødé"),
        ] {
            assert_eq!(normalize(input), want, "{input}");
        }
    }

    #[test]
    fn renders_the_supported_subset() {
        let labels = BTreeMap::from([("domain".to_string(), "example.org".to_string())]);
        let m = TemplateModel {
            name: "mystack-api",
            labels: &labels,
        };
        let cases = [
            ("Host(`{{ normalize .Name }}`)", "Host(`mystack-api`)"),
            ("Host(`{{ .Name }}.local`)", "Host(`mystack-api.local`)"),
            (
                "Host(`{{ .Name }}.{{ index .Labels \"domain\" }}`)",
                "Host(`mystack-api.example.org`)",
            ),
            ("Host(`{{ .Name | upper }}`)", "Host(`MYSTACK-API`)"),
            ("Host(`{{ trimPrefix \"mystack-\" .Name }}`)", "Host(`api`)"),
            (
                "Host(`{{ normalize (index .Labels \"domain\") }}`)",
                "Host(`example-org`)",
            ),
            ("PathPrefix(`/`)", "PathPrefix(`/`)"),
        ];
        for (tpl, want) in cases {
            assert_eq!(render(tpl, &m).unwrap(), want, "{tpl}");
        }
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        let labels = BTreeMap::new();
        let m = TemplateModel {
            name: "a",
            labels: &labels,
        };
        for tpl in [
            "{{ .Nope }}",
            "{{ frob .Name }}",
            "{{ .Name",
            "{{ .Labels }}",
            "{{ (.Name }}",
        ] {
            assert!(render(tpl, &m).is_err(), "{tpl}");
        }
    }
}
