//! PROXY protocol v1/v2 header parser: any connection start parses, asks for more, or is refused;
//! a header never claims more bytes than its limit or (when complete) than were given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::proxy::proxy_protocol::{parse, Parsed};

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Header { len, .. }) = parse(data) {
        assert!(len <= data.len(), "header length {len} beyond the {} bytes given", data.len());
    }
});
