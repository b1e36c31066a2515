//! The TCP ClientHello / Postgres SSLRequest peek (`proxy::tcp::hello::parse`), fed untrusted
//! bytes from any client: it never panics, a server name comes out lowercased without a trailing
//! dot, and an answer given on a prefix stands when more bytes arrive (the peek decides on the
//! bytes seen so far, so a later byte must not change a decision already taken).
//! The first input byte chooses whether an SSLRequest is looked for (bit 0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::proxy::tcp::hello::{parse, Opening, Parsed};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let postgres = flags & 1 == 1;
    let whole = parse(bytes, postgres);
    if let Parsed::Done(Opening::Tls { server_name, .. }) = &whole {
        assert!(!server_name.ends_with('.'), "trailing dot in {server_name:?}");
        assert_eq!(*server_name, server_name.to_ascii_lowercase());
    }
    for cut in [1, 5, 9, bytes.len() / 2, bytes.len().saturating_sub(1)] {
        let Some(prefix) = bytes.get(..cut) else {
            continue;
        };
        let early = parse(prefix, postgres);
        if early != Parsed::Incomplete {
            assert_eq!(early, whole, "decided on {cut} bytes, changed with {}", bytes.len());
        }
    }
});
