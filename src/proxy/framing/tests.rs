use super::*;

use super::in_memory::{run, Outcome};

/// Everything the HTTP server would read through the guard, reading `read_size` bytes at a time.
fn through(chunks: Vec<Vec<u8>>, read_size: usize) -> Vec<u8> {
    let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
    run(&chunks, read_size).bytes
}

/// `stream` through `Framing` split in two at every offset, and one byte at a time.
fn all_splits(stream: &[u8], read_size: usize) -> Vec<Vec<u8>> {
    let mut outputs = Vec::new();
    for cut in 0..=stream.len() {
        outputs.push(through(
            vec![stream[..cut].to_vec(), stream[cut..].to_vec()],
            read_size,
        ));
    }
    outputs.push(through(
        stream.iter().map(|b| vec![*b]).collect(),
        read_size,
    ));
    outputs
}

const GOOD: &[&str] = &[
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhe\r\nl\r\n10\r\nGET /x HTTP/1.1\n\r\n0\r\nTrailer: t\r\n\r\n",
    "PUT /d HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
    "GET /e HTTP/1.1\r\nHost: x\r\n\r\n",
];

#[test]
fn good_pipelined_requests_pass_unchanged_however_they_are_split() {
    let stream: Vec<u8> = GOOD.concat().into_bytes();
    for read_size in [1, 7, 64, 8192] {
        for (i, out) in all_splits(&stream, read_size).into_iter().enumerate() {
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&stream),
                "split {i}, reads of {read_size}"
            );
        }
        // Followed to the end, not given up on.
        let Outcome {
            followed, refused, ..
        } = run(&[&stream], read_size);
        assert!(followed && !refused);
    }
}

fn refused_after(prefix: &str, bad: &str, refusal: Refusal) {
    let stream = format!("{prefix}{bad}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes();
    let mut expected = prefix.as_bytes().to_vec();
    expected.extend_from_slice(&synthetic(refusal));
    for read_size in [3, 8192] {
        for (i, out) in all_splits(&stream, read_size).into_iter().enumerate() {
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected),
                "split {i}, reads of {read_size}"
            );
        }
    }
}

#[test]
fn content_length_with_transfer_encoding_is_replaced_by_a_refusal() {
    let prefix = GOOD[..3].concat();
    refused_after(
        &prefix,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        Refusal::ContentLengthAndTransferEncoding,
    );
    refused_after(
        "",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        Refusal::ContentLengthAndTransferEncoding,
    );
}

#[test]
fn duplicate_content_length_is_refused_even_when_equal() {
    refused_after(
        GOOD[1],
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        Refusal::DuplicateContentLength,
    );
}

#[test]
fn the_synthetic_request_carries_its_refusal() {
    for refusal in [
        Refusal::ContentLengthAndTransferEncoding,
        Refusal::DuplicateContentLength,
    ] {
        let bytes = synthetic(refusal);
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Request::new(&mut headers);
        assert!(parsed.parse(&bytes).unwrap().is_complete());
        let mut req = http::Request::builder()
            .method(parsed.method.unwrap())
            .uri(parsed.path.unwrap());
        for h in parsed.headers.iter() {
            req = req.header(h.name, h.value);
        }
        let req = req.body(()).unwrap();
        assert_eq!(rejected(&req), Some(refusal));
    }
    let normal = http::Request::post("/").body(()).unwrap();
    assert_eq!(rejected(&normal), None);
}

#[test]
fn http2_preface_and_upgrades_pass_through_untouched() {
    let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00".to_vec();
    for out in all_splits(&h2, 64) {
        assert_eq!(out, h2);
    }
    let upgrade =
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\
                   POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            .as_bytes()
            .to_vec();
    for out in all_splits(&upgrade, 64) {
        assert_eq!(out, upgrade);
    }
}

#[test]
fn heads_are_classified() {
    let pass = |head: &str| match check_head(head.as_bytes()) {
        Verdict::Pass { next, .. } => next,
        other => panic!("{head:?}: {other:?}"),
    };
    assert_eq!(pass("GET / HTTP/1.1\r\n\r\n"), State::Head);
    assert_eq!(
        pass("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
        State::Body(12)
    );
    assert_eq!(
        pass("POST / HTTP/1.1\r\nContent-Length: +12\r\n\r\n"),
        State::Passthrough
    );
    assert_eq!(
        pass("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
        State::Passthrough
    );
    assert_eq!(pass("CONNECT a:443 HTTP/1.1\r\n\r\n"), State::Passthrough);
    assert_eq!(
        check_head(b"GET / HTTP/1.1\r\nHost: x\r\n"),
        Verdict::Partial
    );
    assert_eq!(
        check_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n"),
        Verdict::Refuse(Refusal::ContentLengthAndTransferEncoding)
    );
}

#[test]
fn chunked_scanner_finds_the_end_byte_by_byte() {
    let body = b"3\r\nabc\r\n0\r\n\r\nNEXT";
    let mut state = State::Chunked(Chunk::Size {
        size: 0,
        digits: 0,
        in_ext: false,
    });
    let mut consumed = 0;
    for b in body.iter() {
        if state == State::Head {
            break;
        }
        let (used, next) = scan_body(state, std::slice::from_ref(b));
        consumed += used;
        state = next;
    }
    assert_eq!(state, State::Head);
    assert_eq!(consumed, body.len() - 4);
}
