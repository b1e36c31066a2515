//! The QUIC ClientHello gathering (`tls::quic::hello_server_name`), fed the CRYPTO bytes of any
//! client: it never panics, never accepts more than 16 KiB, and a decision taken on a prefix
//! (refused, or complete with a server name) stands when more bytes arrive, since the handshake
//! acts on the first decision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::tls::quic::{hello_server_name, Hello};

fuzz_target!(|data: &[u8]| {
    let whole = hello_server_name(data);
    if let Hello::Complete { length, .. } = &whole {
        assert!(*length <= 16 * 1024 && *length <= data.len());
    }
    for cut in [1, 4, 5, data.len() / 2, data.len().saturating_sub(1)] {
        let Some(prefix) = data.get(..cut) else {
            continue;
        };
        let early = hello_server_name(prefix);
        if early != Hello::Incomplete {
            assert_eq!(early, whole, "decided on {cut} bytes, changed with {}", data.len());
        }
    }
});
