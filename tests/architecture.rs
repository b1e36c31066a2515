//! The house rule, checked: a module imports only modules below it; the ground floor imports
//! nothing of the crate above it.
//!
//! Reads every file under `src/` (the library; `main.rs` is the binary on top and names the
//! library as `swarmgate::`), collects the `crate::…` paths it names (in `use` lines, grouped
//! `use crate::{a, b::c}` and inline paths; comments and string literals are skipped), and maps
//! each path to its room with `ROOMS` (longest prefix wins). Then:
//! - an import from a room to a room on a higher floor is an upward import; only the ones in
//!   `ALLOWED_UPWARD` (at most three, each with its reason) may exist;
//! - the rooms with their imports must form no circle (the same floor included).
//!
//! Compatibility re-exports are not imports: a `pub use crate::…;` right after `#[doc(hidden)]`
//! keeps an old public path working for a release (`proxy::body`, `middleware::config`, …) and is
//! skipped. `super::` paths stay inside a room and are not looked at.
//!
//! Run: `cargo test --test architecture -- --nocapture` (prints the floors and every import
//! between rooms).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, bottom first. A room may import rooms on its own floor or below (no circle).
const FLOORS: &[(&str, &[&str])] = &[
    ("ground", &["error", "body", "shutdown"]),
    ("language", &["rules"]),
    ("configuration", &["config"]),
    ("series", &["observe::series"]),
    ("connection", &["proxy::conn"]),
    ("discovery", &["provider"]),
    ("upstream", &["upstream"]),
    ("balancing", &["balance"]),
    ("middlewares", &["middleware"]),
    ("table", &["table"]),
    ("certificates", &["tls"]),
    ("hooks", &["observe"]),
    ("request path", &["proxy"]),
    ("admin", &["admin"]),
    ("wiring", &["app", "stack", "healthcheck"]),
];

/// Upward imports that remain, each with its reason (the issue allows at most three): (from room,
/// to room, file). An allowed upward import is left out of the circle check (it is the circle);
/// every other import must form none.
const ALLOWED_UPWARD: &[(&str, &str, &str)] = &[
    // Test only: the Traefik label examples must build middlewares that compile.
    (
        "provider",
        "middleware",
        "src/provider/labels/tests/examples.rs",
    ),
];

fn main_rooms() -> Vec<(&'static str, usize)> {
    let mut rooms = Vec::new();
    for (floor, (_, names)) in FLOORS.iter().enumerate() {
        for name in names.iter() {
            rooms.push((*name, floor));
        }
    }
    rooms
}

/// The room a module path (`["proxy", "body", "ProxyBody"]`) belongs to: longest prefix in FLOORS.
fn room_of(path: &[String]) -> Option<&'static str> {
    let mut best: Option<(&'static str, usize)> = None;
    for (name, _) in main_rooms() {
        let parts: Vec<&str> = name.split("::").collect();
        if parts.len() <= path.len()
            && parts.iter().zip(path).all(|(a, b)| *a == b.as_str())
            && best.is_none_or(|(_, n)| parts.len() > n)
        {
            best = Some((name, parts.len()));
        }
    }
    best.map(|(name, _)| name)
}

fn floor_of(room: &str) -> usize {
    main_rooms()
        .into_iter()
        .find(|(name, _)| *name == room)
        .map(|(_, floor)| floor)
        .unwrap_or(usize::MAX)
}

/// The module path of a file under `src/`: `src/proxy/service.rs` → `["proxy", "service"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Drops compatibility re-exports: `#[doc(hidden)]` followed by `pub use crate::…;`.
fn drop_compat_reexports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[doc(hidden)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("pub use crate::"))
        {
            for next in lines.by_ref() {
                if next.contains(';') {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Replaces comments, string and char literals by spaces so only code is searched.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            // raw string r"…", r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // a char literal ('a', '\n', '\''), else a lifetime
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A path `a::b::c` starting at `s[i]`; returns its segments and where it ends.
fn path_at(s: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    loop {
        let start = i;
        while i < s.len() && is_ident(s[i]) {
            i += 1;
        }
        if i == start {
            break;
        }
        segments.push(s[start..i].iter().collect());
        if s.get(i) == Some(&':')
            && s.get(i + 1) == Some(&':')
            && s.get(i + 2).is_some_and(|c| is_ident(*c))
        {
            i += 2;
        } else {
            break;
        }
    }
    (segments, i)
}

/// Every `crate::…` path in the code, grouped imports expanded to their first segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let s: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let needle: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + needle.len() <= s.len() {
        if s[i..i + needle.len()] == needle[..] && (i == 0 || !is_ident(s[i - 1])) {
            let j = i + needle.len();
            if s.get(j) == Some(&'{') {
                // use crate::{a::b, c::{d, e}}: each top-level item's path
                let mut depth = 0;
                let mut k = j;
                let mut item_start = j + 1;
                while k < s.len() {
                    match s[k] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => {
                            push_item(&s, item_start, &mut out);
                            item_start = k + 1;
                        }
                        _ => {}
                    }
                    k += 1;
                }
                push_item(&s, item_start, &mut out);
                i = k;
            } else {
                let (path, end) = path_at(&s, j);
                if !path.is_empty() {
                    out.push(path);
                }
                i = end;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn push_item(s: &[char], mut start: usize, out: &mut Vec<Vec<String>>) {
    while start < s.len() && s[start].is_whitespace() {
        start += 1;
    }
    let (path, _) = path_at(s, start);
    if !path.is_empty() {
        out.push(path);
    }
}

struct Imports {
    /// (from room, to room) → the files and paths that make that import.
    edges: BTreeMap<(&'static str, &'static str), BTreeSet<String>>,
    /// Files whose module or imported path has no room in FLOORS.
    unplaced: BTreeSet<String>,
}

fn read_imports() -> Imports {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut imports = Imports {
        edges: BTreeMap::new(),
        unplaced: BTreeSet::new(),
    };
    for file in files {
        let module = module_of(&src, &file);
        let shown = file
            .strip_prefix(&src)
            .unwrap_or(&file)
            .display()
            .to_string();
        if module.is_empty() || module == ["lib"] || module == ["main"] {
            continue; // lib.rs declares the rooms; main.rs is the binary on top
        }
        let Some(from) = room_of(&module) else {
            imports.unplaced.insert(format!(
                "src/{shown} (no room for module {})",
                module.join("::")
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let code = code_only(&drop_compat_reexports(&text));
        for path in crate_paths(&code) {
            let Some(to) = room_of(&path) else {
                imports
                    .unplaced
                    .insert(format!("src/{shown}: crate::{}", path.join("::")));
                continue;
            };
            if to != from {
                imports
                    .edges
                    .entry((from, to))
                    .or_default()
                    .insert(format!("src/{shown}: crate::{}", path.join("::")));
            }
        }
    }
    imports
}

/// Circles among the rooms (strongly connected components with more than one room).
fn circles(
    edges: &BTreeMap<(&'static str, &'static str), BTreeSet<String>>,
) -> Vec<Vec<&'static str>> {
    let rooms: BTreeSet<&str> = edges.keys().flat_map(|(a, b)| [*a, *b]).collect();
    let reach = |from: &str| -> BTreeSet<&'static str> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(room) = todo.pop() {
            for (a, b) in edges.keys() {
                if *a == room && seen.insert(*b) {
                    todo.push(b.to_string());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for room in &rooms {
        if done.contains(room) {
            continue;
        }
        let from_room = reach(room);
        let circle: Vec<&'static str> = rooms
            .iter()
            .copied()
            .filter(|other| from_room.contains(other) && reach(other).contains(room))
            .collect();
        for r in &circle {
            done.insert(*r);
        }
        if circle.len() > 1 || (circle.len() == 1 && from_room.contains(room)) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn a_module_imports_only_modules_below_it() {
    let imports = read_imports();
    println!("floors, bottom first:");
    for (i, (floor, rooms)) in FLOORS.iter().enumerate() {
        println!("  {i:2} {floor:14} {}", rooms.join(", "));
    }
    println!("imports between rooms:");
    let mut upward = Vec::new();
    for ((from, to), sites) in &imports.edges {
        let up = floor_of(to) > floor_of(from);
        println!(
            "  {from} -> {to} ({} place{}){}",
            sites.len(),
            if sites.len() == 1 { "" } else { "s" },
            if up { "  UPWARD" } else { "" }
        );
        if up {
            for site in sites {
                println!("      {site}");
                upward.push((*from, *to, site.clone()));
            }
        }
    }
    let mut without_allowed = imports.edges.clone();
    without_allowed.retain(|(from, to), sites| {
        !sites.iter().all(|site| {
            ALLOWED_UPWARD
                .iter()
                .any(|(f, t, file)| f == from && t == to && site.starts_with(file))
        })
    });
    let circles = circles(&without_allowed);
    println!(
        "circles: {}",
        if circles.is_empty() {
            "none".to_string()
        } else {
            format!("{circles:?}")
        }
    );
    println!(
        "upward imports: {} (allowed: {})",
        upward.len(),
        ALLOWED_UPWARD.len()
    );

    assert!(
        imports.unplaced.is_empty(),
        "modules or paths with no room in FLOORS: {:#?}",
        imports.unplaced
    );
    assert!(
        ALLOWED_UPWARD.len() <= 3,
        "at most three upward imports may be allowed"
    );
    let unexpected: Vec<_> = upward
        .iter()
        .filter(|(from, to, site)| {
            !ALLOWED_UPWARD
                .iter()
                .any(|(f, t, file)| f == from && t == to && site.starts_with(file))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "upward imports (a module imports only modules below it): {unexpected:#?}"
    );
    assert!(
        circles.is_empty(),
        "import circles between rooms: {circles:?}"
    );
}

#[test]
fn the_reader_sees_every_kind_of_import() {
    let code = code_only(
        "use crate::a::B;\nuse crate::{c::D, e::{F, G}, h};\nlet x = crate::i::j(\"crate::k::l\"); // crate::m\n/* crate::n */ let c = 'x';",
    );
    let found: Vec<String> = crate_paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(found, ["a::B", "c::D", "e", "h", "i::j"]);
    let compat =
        drop_compat_reexports("#[doc(hidden)]\npub use crate::body;\nuse crate::error::X;\n");
    assert_eq!(crate_paths(&code_only(&compat)).len(), 1);
    assert_eq!(
        room_of(&["observe".into(), "series".into(), "RouteSlot".into()]),
        Some("observe::series")
    );
    assert_eq!(
        room_of(&["observe".into(), "metrics".into()]),
        Some("observe")
    );
}
