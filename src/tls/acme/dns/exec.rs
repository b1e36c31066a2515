//! `exec`: lego's protocol for scripting any DNS. `EXEC_PATH present|cleanup <fqdn> <value>`,
//! or with `EXEC_MODE=RAW` `EXEC_PATH present|cleanup <domain> <token> <keyAuth>`; a non-zero
//! exit is a failure (its output is in the error). Variables: `EXEC_PATH` (required),
//! `EXEC_MODE`, `EXEC_PROPAGATION_TIMEOUT` (60), `EXEC_POLLING_INTERVAL` (2). The program is
//! killed when it outlives the propagation timeout.

use std::time::Duration;

use super::{BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord};

const NAME: &str = "exec";

pub struct Exec {
    path: String,
    raw: bool,
    timing: Timing,
}

impl Exec {
    pub fn from_env(env: &Env<'_>) -> Result<Exec, SetupError> {
        let [path] = env.require(NAME, ["EXEC_PATH"])?;
        let raw = match env.get(NAME, "EXEC_MODE")? {
            None => false,
            Some(m) if m.eq_ignore_ascii_case("RAW") => true,
            Some(m) => {
                return Err(SetupError::Invalid {
                    provider: NAME,
                    var: "EXEC_MODE".into(),
                    value: m,
                    reason: "the only mode is RAW".into(),
                })
            }
        };
        Ok(Exec {
            path,
            raw,
            timing: env.timing(
                NAME,
                "EXEC",
                Duration::from_secs(60),
                Duration::from_secs(2),
            )?,
        })
    }

    async fn run(&self, action: &str, record: &TxtRecord) -> Result<(), ProviderError> {
        let failed = |message: String| ProviderError::Failed {
            provider: NAME,
            message,
        };
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.arg(action)
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        if self.raw {
            cmd.args([&record.domain, &record.token, &record.key_auth]);
        } else {
            cmd.args([&record.fqdn, &record.value]);
        }
        let output = tokio::time::timeout(self.timing.propagation_timeout, cmd.output())
            .await
            .map_err(|_| {
                failed(format!(
                    "{} {action} did not finish within {:?}",
                    self.path, self.timing.propagation_timeout
                ))
            })?
            .map_err(|e| failed(format!("cannot run {}: {e}", self.path)))?;
        if !output.status.success() {
            return Err(failed(format!(
                "{} {action} {} exited with {}: {}{}",
                self.path,
                record.fqdn,
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }
}

impl DnsProvider for Exec {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.run("present", record))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.run("cleanup", record))
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
