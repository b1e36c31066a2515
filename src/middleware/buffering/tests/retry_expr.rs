//! The retry predicate: oxy's functions and operators, Go precedence, errors with columns.

use http::Method;

use crate::middleware::buffering::retry_expr::{parse, Outcome};

fn eval(src: &str, attempts: u32, code: u16, method: &Method) -> bool {
    parse(src).unwrap().eval(&Outcome {
        attempts,
        code,
        method,
    })
}

#[test]
fn evaluates_as_oxy() {
    let get = Method::GET;
    let post = Method::POST;
    // (expression, attempts so far, status, method, retry?)
    let cases: &[(&str, u32, u16, &Method, bool)] = &[
        ("IsNetworkError()", 1, 502, &get, true),
        ("IsNetworkError()", 1, 504, &get, true),
        ("IsNetworkError()", 1, 503, &get, false),
        ("IsNetworkError()", 1, 200, &get, false),
        ("IsNetworkError() && Attempts() <= 2", 2, 502, &get, true),
        ("IsNetworkError() && Attempts() <= 2", 3, 502, &get, false),
        ("IsNetworkError() && Attempts() < 2", 2, 502, &get, false),
        ("Attempts() > 1", 1, 502, &get, false),
        ("Attempts() >= 1", 1, 200, &get, true),
        ("Attempts() != 3", 3, 200, &get, false),
        ("ResponseCode() == 503", 1, 503, &get, true),
        ("ResponseCode() == 503", 1, 502, &get, false),
        (
            "ResponseCode() >= 500 && ResponseCode() != 501",
            1,
            501,
            &get,
            false,
        ),
        // `&&` binds tighter than `||`.
        (
            "ResponseCode() == 503 || IsNetworkError() && Attempts() < 2",
            5,
            503,
            &get,
            true,
        ),
        (
            "ResponseCode() == 503 || IsNetworkError() && Attempts() < 2",
            5,
            502,
            &get,
            false,
        ),
        (
            "(ResponseCode() == 503 || IsNetworkError()) && Attempts() < 2",
            5,
            503,
            &get,
            false,
        ),
        ("(Attempts()) < 2", 1, 200, &get, true),
        (
            r#"RequestMethod() == "GET" && IsNetworkError()"#,
            1,
            502,
            &get,
            true,
        ),
        (
            r#"RequestMethod() == "GET" && IsNetworkError()"#,
            1,
            502,
            &post,
            false,
        ),
        ("RequestMethod() != `POST`", 1, 200, &post, false),
    ];
    for &(src, attempts, code, method, want) in cases {
        assert_eq!(
            eval(src, attempts, code, method),
            want,
            "{src} after attempt {attempts} answered {code}"
        );
    }
}

#[test]
fn refuses_what_oxy_refuses_with_a_column() {
    // (expression, column, part of the message)
    let cases = [
        ("", 1, "found the end"),
        ("Attempts()", 1, "must be a condition"),
        ("IsNetworkError", 15, "expected `(`"),
        ("IsNetworkError(1)", 16, "takes no arguments"),
        ("IsRetryable()", 1, "unknown function"),
        // oxy defines no NOT operator.
        ("!IsNetworkError()", 1, "`!` is not supported"),
        (
            "IsNetworkError() && !(Attempts() > 2)",
            21,
            "`!` is not supported",
        ),
        // A literal on the right, of the function's type.
        ("2 >= Attempts()", 1, "left side of a comparison"),
        ("Attempts() <= 2.0", 15, "integer literal"),
        ("Attempts() <= -1", 15, "integer literal"),
        (r#"Attempts() <= "2""#, 15, "integer literal"),
        ("Attempts() <= ResponseCode()", 15, "integer literal"),
        ("RequestMethod() < \"GET\"", 17, "`==` or `!=`"),
        ("RequestMethod() == 1", 20, "compared with a string"),
        ("IsNetworkError() == 1", 1, "left side of a comparison"),
        ("Attempts() < 2 < 3", 1, "left side of a comparison"),
        ("Attempts() && IsNetworkError()", 1, "each side of `&&`"),
        ("IsNetworkError() || 3", 21, "each side of `||`"),
        ("IsNetworkError() &&", 20, "found the end"),
        ("(IsNetworkError()", 18, "found the end"),
        ("IsNetworkError() Attempts()", 18, "after the expression"),
        (
            "IsNetworkError() & Attempts() < 2",
            18,
            "unexpected character",
        ),
        ("RequestMethod() == \"GET", 20, "not terminated"),
    ];
    for (src, column, text) in cases {
        let e = parse(src).unwrap_err();
        assert_eq!(e.column, column, "{src:?}: {e}");
        assert!(e.message.contains(text), "{src:?}: {e}");
    }
}
