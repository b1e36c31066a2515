//! Choosing and loading the static configuration: swarmgate's own file (`--config F`, TOML or
//! YAML by extension, Traefik's shape) or Traefik's sources (`config::traefik`), or nothing
//! (the binary then uses its embedded default).
//!
//! Reads only the files it is given or that Traefik would read; does not apply the config.

use std::path::{Path, PathBuf};

use super::traefik::{self, collect, LoadOptions, Loaded, Source, StaticConfigError};
use super::StaticConfig;

/// Reads a native swarmgate configuration file (`swarmgate.toml`, or `.yml`/`.yaml`). Unknown
/// keys and wrong values are errors carrying the file and the line/column.
/// Every problem is reported at once ([`StaticConfigError::Several`]).
pub fn load_native(path: &Path) -> Result<StaticConfig, StaticConfigError> {
    let (config, problems) = load_native_collecting(path)?;
    match problems.is_empty() {
        true => Ok(config),
        false => Err(collect::several(problems)),
    }
}

/// [`load_native`] that goes on past bad keys: the configuration without them, and one error
/// per bad key (file, line, key, nearest valid name). A syntax error is an `Err`.
pub fn load_native_collecting(
    path: &Path,
) -> Result<(StaticConfig, Vec<StaticConfigError>), StaticConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| StaticConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    collect::parse_native(path, &text)
}

/// Parses native configuration text as if read from `path` (the extension picks TOML or YAML).
pub fn parse_native(path: &Path, text: &str) -> Result<StaticConfig, StaticConfigError> {
    let (config, problems) = collect::parse_native(path, text)?;
    match problems.is_empty() {
        true => Ok(config),
        false => Err(collect::several(problems)),
    }
}

/// Removes swarmgate's `--config F` / `--config=F` from `args`; returns the path and the rest
/// (the Traefik arguments). `--configFile` (Traefik's) is left in place.
pub fn split_config_flag(
    args: &[String],
) -> Result<(Option<PathBuf>, Vec<String>), StaticConfigError> {
    let mut path = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if let Some(p) = arg.strip_prefix("--config=") {
            path = Some(PathBuf::from(p));
        } else if arg == "--config" {
            let p = it.next().ok_or_else(|| StaticConfigError::BadArgument {
                arg: arg.clone(),
                message: "expects a file path".into(),
            })?;
            path = Some(PathBuf::from(p));
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((path, rest))
}

/// Picks the static configuration: `native` (from `--config`) if given — read as swarmgate's
/// own file, relative to `cwd`, with `LEGO_CA_CERTIFICATES` applied; otherwise Traefik's
/// sources (`traefik_args`, `env`, files around `cwd`); `Ok(None)` when none of them exists.
pub fn load_static(
    native: Option<&Path>,
    traefik_args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    options: LoadOptions,
) -> Result<Option<Loaded>, StaticConfigError> {
    if let Some(path) = native {
        let path = cwd.join(path);
        let mut config = load_native(&path)?;
        traefik::apply_lego_ca_certificates(&mut config, env);
        return Ok(Some(Loaded {
            config,
            source: Source::Native(path),
            unsupported: Vec::new(),
            ignored: Vec::new(),
            deprecated: Vec::new(),
        }));
    }
    let loaded = traefik::load_traefik(traefik_args, env, cwd, options)?;
    Ok((loaded.source != Source::Default).then_some(loaded))
}

/// [`load_static`] for `check`: goes on past the problems of the options, returning them with
/// the configuration read from everything else, so that the dynamic configuration is checked in
/// the same pass. `Err` only when nothing can be read (an unreadable file, a syntax error).
pub fn load_static_collecting(
    native: Option<&Path>,
    traefik_args: &[String],
    env: &[(String, String)],
    cwd: &Path,
    options: LoadOptions,
) -> Result<Option<(Loaded, Vec<StaticConfigError>)>, StaticConfigError> {
    if let Some(path) = native {
        let path = cwd.join(path);
        let (mut config, problems) = load_native_collecting(&path)?;
        traefik::apply_lego_ca_certificates(&mut config, env);
        let loaded = Loaded {
            config,
            source: Source::Native(path),
            unsupported: Vec::new(),
            ignored: Vec::new(),
            deprecated: Vec::new(),
        };
        return Ok(Some((loaded, problems)));
    }
    let (loaded, problems) = traefik::load_traefik_collecting(traefik_args, env, cwd, options)?;
    Ok((loaded.source != Source::Default).then_some((loaded, problems)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn native_toml_errors_name_file_line_and_column() {
        let text = "[entryPoints.web]\naddress = \":80\"\nbogus = 1\n";
        let err = parse_native(Path::new("swarmgate.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("swarmgate.toml:3:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn native_yaml_errors_name_file_and_line() {
        let text = "entryPoints:\n  web:\n    address: [1]\n";
        let err = parse_native(Path::new("sg.yml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("sg.yml:3:"), "{msg}");
    }

    #[test]
    fn native_file_parses() {
        let text = "[entryPoints.web]\naddress = \":80\"\n[providers.swarm]\nnetwork = \"proxy\"\n";
        let cfg = parse_native(Path::new("swarmgate.toml"), text).unwrap();
        assert_eq!(cfg.entry_points["web"].address, ":80");
        assert_eq!(
            cfg.providers.swarm.unwrap().network.as_deref(),
            Some("proxy")
        );
    }

    #[test]
    fn splits_config_flag() {
        let (p, rest) =
            split_config_flag(&strings(&["--config", "a.toml", "--api.insecure"])).unwrap();
        assert_eq!(p, Some(PathBuf::from("a.toml")));
        assert_eq!(rest, strings(&["--api.insecure"]));
        let (p, rest) = split_config_flag(&strings(&["--config=b.yml", "--configFile=x"])).unwrap();
        assert_eq!(p, Some(PathBuf::from("b.yml")));
        assert_eq!(rest, strings(&["--configFile=x"]));
        assert!(split_config_flag(&strings(&["--config"])).is_err());
    }

    #[test]
    fn picks_native_then_traefik_then_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sg.toml"),
            "[entryPoints.a]\naddress = \":1\"\n",
        )
        .unwrap();
        let got = load_static(
            Some(Path::new("sg.toml")),
            &[],
            &[],
            dir.path(),
            LoadOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.source, Source::Native(dir.path().join("sg.toml")));
        let args = strings(&["--entrypoints.b.address=:2"]);
        let got = load_static(None, &args, &[], dir.path(), LoadOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(got.source, Source::Args);
        let none = load_static(None, &[], &[], dir.path(), LoadOptions::default()).unwrap();
        assert!(none.is_none());
    }
}
