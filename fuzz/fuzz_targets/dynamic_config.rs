//! Dynamic-configuration parser: any TOML or YAML text parses or yields an issue, never a panic.
//! Input: first byte even → TOML, odd → YAML; the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::provider::file::{parse, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if selector % 2 == 0 {
        Format::Toml
    } else {
        Format::Yaml
    };
    let _ = parse(text, format, "fuzz");
});
