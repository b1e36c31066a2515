//! A Docker-socket relay the outage test can cut: swarmgate (in its container) reads Docker through
//! it, so an API outage is simulated without stopping dockerd (the swarm keeps running).

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::harness::DOCKER_SOCK;

/// A relay from `<dir>/docker.sock` to dockerd's socket that can be cut (every connection closed,
/// new ones refused) and restored: a Docker API outage as swarmgate sees it, without touching
/// dockerd itself (other tests and the swarm keep working).
pub struct Relay {
    cut: watch::Sender<bool>,
}

impl Relay {
    pub fn start(dir: &std::path::Path) -> Relay {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("docker.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *cut_rx.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = cut_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = UnixStream::connect(DOCKER_SOCK).await else {
                        return;
                    };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Relay { cut }
    }

    pub fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}
