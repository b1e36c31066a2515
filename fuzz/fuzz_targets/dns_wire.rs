//! DNS answers read by DNS-01 (`tls::acme::dns::wire`): any bytes from a nameserver parse or are
//! refused, never panic, and a TSIG record found in them is checked against a key without panic
//! (a forged one never verifies under a key it was not made with).
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::tls::acme::dns::wire::{parse, verify, TsigAlgorithm, TsigKey};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse(data) else { return };
    if message.tsig.is_some() {
        let key = TsigKey {
            name: "fuzz-key".into(),
            algorithm: TsigAlgorithm::HmacSha256,
            secret: vec![0x5a; 32],
        };
        let _ = verify(&message, &key, &[0u8; 32], 1_700_000_000);
    }
});
