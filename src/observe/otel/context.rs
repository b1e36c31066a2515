//! W3C Trace Context: `traceparent` parsed and written, trace and span ids made.
//!
//! Pure but for the id generator (a per-thread xorshift seeded once from the OS).

use std::cell::Cell;

use http::HeaderValue;

/// A trace id (16 bytes, never all zero).
pub type TraceId = [u8; 16];
/// A span id (8 bytes, never all zero).
pub type SpanId = [u8; 8];

/// What an incoming `traceparent` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    /// The caller's span: the parent of our SERVER span.
    pub parent_id: SpanId,
    pub sampled: bool,
}

/// Parses a `traceparent` value as W3C Trace Context level 1 reads it: `None` for anything
/// malformed (uppercase hex, all-zero ids, version `ff`, a version-00 value with a tail), in
/// which case a fresh trace starts, as in Traefik.
pub fn parse_traceparent(value: &[u8]) -> Option<TraceParent> {
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let version = hex_byte(&value[0..2])?;
    if version == 0xff || (version == 0 && value.len() != 55) {
        return None;
    }
    // A later version may append fields after a dash; level 1 reads the first four.
    if value.len() > 55 && value[55] != b'-' {
        return None;
    }
    let mut trace_id = [0u8; 16];
    for (i, b) in trace_id.iter_mut().enumerate() {
        *b = hex_byte(&value[3 + 2 * i..5 + 2 * i])?;
    }
    let mut parent_id = [0u8; 8];
    for (i, b) in parent_id.iter_mut().enumerate() {
        *b = hex_byte(&value[36 + 2 * i..38 + 2 * i])?;
    }
    let flags = hex_byte(&value[53..55])?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        sampled: flags & 1 == 1,
    })
}

/// `00-<trace>-<span>-<flags>`, the header the backend receives.
pub fn format_traceparent(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> HeaderValue {
    let mut out = Vec::with_capacity(55);
    out.extend_from_slice(b"00-");
    push_hex(&mut out, trace_id);
    out.push(b'-');
    push_hex(&mut out, span_id);
    out.extend_from_slice(if sampled { b"-01" } else { b"-00" });
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Lowercase hex of `bytes` (ids in logs and tests).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    String::from_utf8(out).unwrap_or_default()
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// One byte from two lowercase hex digits (W3C forbids uppercase).
fn hex_byte(two: &[u8]) -> Option<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    Some(digit(two[0])? << 4 | digit(two[1])?)
}

// === ids ===

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let random = ring::rand::SystemRandom::new();
    if ring::rand::SecureRandom::fill(&random, &mut bytes).is_err() {
        // No OS randomness: time and thread still make ids unique enough for tracing.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    }
    u64::from_le_bytes(bytes) | 1
}

/// The next pseudo-random word (xorshift64*): ids need to be unique, not secret.
fn next() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A fresh span id (never all zero).
pub fn new_span_id() -> SpanId {
    loop {
        let id = next().to_be_bytes();
        if id != [0; 8] {
            return id;
        }
    }
}

/// A fresh trace id (never all zero).
pub fn new_trace_id() -> TraceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&new_span_id());
    id[8..].copy_from_slice(&next().to_be_bytes());
    id
}

/// Whether a trace that starts here is recorded, for a rate in 0.0..=1.0.
pub fn sample(rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    // 53 random bits as a fraction in [0, 1).
    ((next() >> 11) as f64 / (1u64 << 53) as f64) < rate
}
