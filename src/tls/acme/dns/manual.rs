//! `manual`: prints the record to create (as lego does) and waits for Enter on standard input,
//! at most `MANUAL_TIMEOUT` seconds (swarmgate's, default 600; a closed standard input does not
//! wait); the propagation check then confirms the record before the CA is asked to validate.
//! Cleanup prints the record to remove. `MANUAL_PROPAGATION_TIMEOUT` (600) and
//! `MANUAL_POLLING_INTERVAL` (5) bound that check.

use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;

use super::{BoxFuture, DnsProvider, Env, ProviderError, SetupError, Timing, TxtRecord};

const NAME: &str = "manual";

pub struct Manual {
    wait: Duration,
    timing: Timing,
}

impl Manual {
    pub fn from_env(env: &Env<'_>) -> Result<Manual, SetupError> {
        Ok(Manual {
            wait: env.seconds(NAME, "MANUAL_TIMEOUT", Duration::from_secs(600))?,
            timing: env.timing(
                NAME,
                "MANUAL",
                Duration::from_secs(600),
                Duration::from_secs(5),
            )?,
        })
    }

    async fn present(&self, record: &TxtRecord) -> Result<(), ProviderError> {
        println!(
            "swarmgate: Please create the following TXT record:\n{} 120 IN TXT \"{}\"\nswarmgate: Press 'Enter' when you are done (waiting at most {:?})",
            record.fqdn, record.value, self.wait
        );
        let read = async {
            let mut line = String::new();
            let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
            stdin.read_line(&mut line).await
        };
        match tokio::time::timeout(self.wait, read).await {
            Ok(Ok(0)) => {
                tracing::info!(fqdn = %record.fqdn, "standard input is closed; checking propagation")
            }
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(fqdn = %record.fqdn, "no Enter within MANUAL_TIMEOUT; checking propagation")
            }
        }
        Ok(())
    }
}

impl DnsProvider for Manual {
    fn present<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(self.present(record))
    }

    fn cleanup<'a>(&'a self, record: &'a TxtRecord) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            println!(
                "swarmgate: You can now remove this TXT record:\n{} 120 IN TXT \"{}\"",
                record.fqdn, record.value
            );
            Ok(())
        })
    }

    fn timing(&self) -> Timing {
        self.timing
    }
}
