//! Body framing for the request guard (pure): a small scanner follows a request body
//! (`Content-Length` countdown or chunked syntax) to find where the next head starts. The head
//! checks and the IO wrapper are in `framing.rs`.

/// Where the connection is in its byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// At a request boundary: the next bytes are a head to check.
    Head,
    /// `n` body bytes left (`Content-Length`).
    Body(u64),
    Chunked(Chunk),
    /// Not followed any more (HTTP/2, upgrade, oversized or malformed head).
    Passthrough,
    /// A refused head was replaced; after the synthetic request nothing more is read.
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// In a chunk-size line; `digits` hex digits seen, then extensions until LF.
    Size { size: u64, digits: u8, in_ext: bool },
    /// `n` data bytes left in the current chunk.
    Data(u64),
    /// After chunk data: CR LF expected (`seen` of them read).
    DataEnd { seen: u8 },
    /// In the trailer section; `line` bytes on the current line (CR not counted).
    Trailer { line: usize },
}

/// Follows a body through `bytes`: how many of them belong to it, and the state after them.
/// Stops at the end of the body (state `Head`), so the caller can check the next head.
pub(super) fn scan_body(state: State, bytes: &[u8]) -> (usize, State) {
    match state {
        State::Body(left) => {
            let take = u64::try_from(bytes.len()).unwrap_or(u64::MAX).min(left);
            let used = usize::try_from(take).unwrap_or(bytes.len());
            let left = left - take;
            (
                used,
                if left == 0 {
                    State::Head
                } else {
                    State::Body(left)
                },
            )
        }
        State::Chunked(chunk) => scan_chunked(chunk, bytes),
        other => (0, other),
    }
}

pub(super) fn scan_chunked(mut chunk: Chunk, bytes: &[u8]) -> (usize, State) {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        chunk = match chunk {
            Chunk::Size {
                size,
                digits,
                in_ext,
            } => {
                if b == b'\n' {
                    if digits == 0 {
                        return (bytes.len(), State::Passthrough); // hyper refuses it
                    }
                    if size == 0 {
                        Chunk::Trailer { line: 0 }
                    } else {
                        Chunk::Data(size)
                    }
                } else if !in_ext && (b as char).is_ascii_hexdigit() {
                    let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                    if digits >= 15 {
                        return (bytes.len(), State::Passthrough); // hyper refuses it
                    }
                    Chunk::Size {
                        size: size * 16 + digit,
                        digits: digits + 1,
                        in_ext,
                    }
                } else {
                    Chunk::Size {
                        size,
                        digits,
                        in_ext: true,
                    }
                }
            }
            Chunk::Data(left) => {
                let avail = u64::try_from(bytes.len() - i).unwrap_or(u64::MAX);
                let take = avail.min(left);
                i += usize::try_from(take).unwrap_or(0);
                let left = left - take;
                chunk = if left == 0 {
                    Chunk::DataEnd { seen: 0 }
                } else {
                    Chunk::Data(left)
                };
                continue;
            }
            Chunk::DataEnd { seen } => match (seen, b) {
                (0, b'\r') => Chunk::DataEnd { seen: 1 },
                (_, b'\n') => Chunk::Size {
                    size: 0,
                    digits: 0,
                    in_ext: false,
                },
                _ => return (bytes.len(), State::Passthrough), // hyper refuses it
            },
            Chunk::Trailer { line } => {
                if b == b'\n' {
                    if line == 0 {
                        return (i + 1, State::Head);
                    }
                    Chunk::Trailer { line: 0 }
                } else if b == b'\r' {
                    Chunk::Trailer { line }
                } else {
                    Chunk::Trailer { line: line + 1 }
                }
            }
        };
        i += 1;
    }
    (bytes.len(), State::Chunked(chunk))
}
