//! HTTP/1 framing guard: whatever a client sends, in whatever pieces, the server reads either the
//! client's bytes unchanged, or an unchanged prefix of them followed by the refusal request — and
//! the same thing however the bytes were split or read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmgate::proxy::framing::{in_memory, Refusal};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let cut = usize::from(data[0]) % data.len();
    let read_size = 1 + usize::from(data[1]) * 16;
    let input = &data[2..];
    let cut = cut.min(input.len());
    let one = in_memory::run(&[input], 8192);
    let two = in_memory::run(&[&input[..cut], &input[cut..]], read_size);
    assert_eq!(one.refused, two.refused, "refusal depends on how the bytes arrived");
    assert_eq!(one.bytes, two.bytes, "output depends on how the bytes arrived");
    let (whole, refused) = (one.bytes, one.refused);
    if refused {
        let ok = [
            Refusal::ContentLengthAndTransferEncoding,
            Refusal::DuplicateContentLength,
        ]
        .into_iter()
        .any(|r| {
            let tail = in_memory::replacement(r);
            whole.ends_with(&tail) && input.starts_with(&whole[..whole.len() - tail.len()])
        });
        assert!(ok, "refused output is not a prefix of the input plus the refusal");
    } else {
        assert_eq!(whole, input, "bytes changed without a refusal");
    }
});
