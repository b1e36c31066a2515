//! The DNS wire format, as much as DNS-01 needs: queries (SOA, NS, A, AAAA, TXT), RFC 2136
//! UPDATE messages (add / delete one TXT record) and their TSIG signature (RFC 8945), and a
//! parser of answers that never panics on a malformed message (it returns `WireError`).
//!
//! Written here rather than taken from hickory-proto: the part used is a few hundred lines,
//! and the crate (with its resolver) would add a large dependency tree to every build for it.
//! Pure: no I/O, no clock (the TSIG time is passed in).

use ring::hmac;

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
const TYPE_TSIG: u16 = 250;
const CLASS_IN: u16 = 1;
const CLASS_NONE: u16 = 254;
const CLASS_ANY: u16 = 255;
const OPCODE_UPDATE: u16 = 5;
/// TSIG's allowed clock difference, seconds (RFC 8945 recommends 300).
const FUDGE: u16 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("DNS name {0:?} is not valid (empty label or a label over 63 bytes)")]
    Name(String),
    #[error("malformed DNS message: {0}")]
    Malformed(&'static str),
}

/// A TSIG algorithm (RFC 8945 names; lego's `RFC2136_TSIG_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigAlgorithm {
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlgorithm {
    pub const NAMES: &'static str =
        "hmac-md5.sig-alg.reg.int., hmac-sha1., hmac-sha256., hmac-sha384., hmac-sha512.";

    /// Reads `hmac-sha256.` / `hmac-sha256` / `HMAC-SHA256` (and `hmac-md5`).
    pub fn parse(name: &str) -> Option<TsigAlgorithm> {
        let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
        Some(match n.as_str() {
            "hmac-md5" | "hmac-md5.sig-alg.reg.int" => TsigAlgorithm::HmacMd5,
            "hmac-sha1" => TsigAlgorithm::HmacSha1,
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            _ => return None,
        })
    }

    fn wire_name(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacMd5 => "hmac-md5.sig-alg.reg.int",
            TsigAlgorithm::HmacSha1 => "hmac-sha1",
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn mac(self, secret: &[u8], data: &[u8]) -> Vec<u8> {
        let ring_alg = match self {
            TsigAlgorithm::HmacMd5 => return hmac_md5(secret, data),
            TsigAlgorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TsigAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
            TsigAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
            TsigAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        };
        hmac::sign(&hmac::Key::new(ring_alg, secret), data)
            .as_ref()
            .to_vec()
    }
}

/// HMAC (RFC 2104) over MD5, which ring does not offer.
fn hmac_md5(secret: &[u8], data: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut key = [0u8; 64];
    if secret.len() > 64 {
        key[..16].copy_from_slice(&Md5::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let mut inner = Md5::new();
    inner.update(pad(0x36));
    inner.update(data);
    let mut outer = Md5::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// A TSIG key: its name, algorithm and secret (already base64-decoded).
#[derive(Debug, Clone)]
pub struct TsigKey {
    pub name: String,
    pub algorithm: TsigAlgorithm,
    pub secret: Vec<u8>,
}

/// Appends `name` uncompressed, lowercase (the canonical form TSIG signs).
fn put_name(out: &mut Vec<u8>, name: &str) -> Result<(), WireError> {
    let trimmed = name.trim_end_matches('.');
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(WireError::Name(name.to_string()));
            }
            out.push(label.len() as u8);
            out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    out.push(0);
    Ok(())
}

fn header(out: &mut Vec<u8>, id: u16, flags: u16, counts: [u16; 4]) {
    out.extend(id.to_be_bytes());
    out.extend(flags.to_be_bytes());
    for c in counts {
        out.extend(c.to_be_bytes());
    }
}

/// A query for `name`/`qtype`, recursion desired when `recursive`.
pub fn query(id: u16, name: &str, qtype: u16, recursive: bool) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(64);
    header(
        &mut out,
        id,
        if recursive { 0x0100 } else { 0 },
        [1, 0, 0, 0],
    );
    put_name(&mut out, name)?;
    out.extend(qtype.to_be_bytes());
    out.extend(CLASS_IN.to_be_bytes());
    Ok(out)
}

/// TXT RDATA: the value as character-strings of at most 255 bytes.
fn txt_rdata(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 1);
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        out.push(0);
    }
    for chunk in bytes.chunks(255) {
        out.push(chunk.len() as u8);
        out.extend(chunk);
    }
    out
}

/// What an UPDATE does with one TXT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add the record with this TTL.
    Add(u32),
    /// Delete exactly this record (class NONE).
    Delete,
}

/// An RFC 2136 UPDATE of `zone` adding or deleting the TXT record `fqdn` = `value`.
pub fn update(
    id: u16,
    zone: &str,
    fqdn: &str,
    value: &str,
    change: Change,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(128);
    header(&mut out, id, OPCODE_UPDATE << 11, [1, 0, 1, 0]);
    put_name(&mut out, zone)?;
    out.extend(TYPE_SOA.to_be_bytes());
    out.extend(CLASS_IN.to_be_bytes());
    put_name(&mut out, fqdn)?;
    out.extend(TYPE_TXT.to_be_bytes());
    let (class, ttl) = match change {
        Change::Add(ttl) => (CLASS_IN, ttl),
        Change::Delete => (CLASS_NONE, 0),
    };
    out.extend(class.to_be_bytes());
    out.extend(ttl.to_be_bytes());
    let rdata = txt_rdata(value);
    out.extend((rdata.len() as u16).to_be_bytes());
    out.extend(rdata);
    Ok(out)
}

/// Signs `message` with `key` at `now` (seconds since the epoch): appends the TSIG record and
/// counts it in ARCOUNT. Returns the MAC (to check the answer's signature).
pub fn sign(message: &mut Vec<u8>, key: &TsigKey, now: u64) -> Result<Vec<u8>, WireError> {
    sign_after(message, key, now, None)
}

/// [`sign`] for an answer to a request whose MAC was `request_mac` (RFC 8945 §4.3.3): what a
/// server does, so tests can play one.
pub fn sign_answer(
    message: &mut Vec<u8>,
    key: &TsigKey,
    now: u64,
    request_mac: &[u8],
) -> Result<Vec<u8>, WireError> {
    sign_after(message, key, now, Some(request_mac))
}

fn sign_after(
    message: &mut Vec<u8>,
    key: &TsigKey,
    now: u64,
    request_mac: Option<&[u8]>,
) -> Result<Vec<u8>, WireError> {
    if message.len() < 12 {
        return Err(WireError::Malformed("message shorter than its header"));
    }
    let id = [message[0], message[1]];
    let time = now.to_be_bytes();
    let time48 = &time[2..8];
    let variables = TsigVariables {
        key: &key.name,
        algorithm: key.algorithm.wire_name(),
        time48,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    let mac = key
        .algorithm
        .mac(&key.secret, &mac_input(request_mac, message, &variables)?);

    let mut rdata = Vec::with_capacity(64 + mac.len());
    put_name(&mut rdata, key.algorithm.wire_name())?;
    rdata.extend(time48);
    rdata.extend(FUDGE.to_be_bytes());
    rdata.extend((mac.len() as u16).to_be_bytes());
    rdata.extend(&mac);
    rdata.extend(id);
    rdata.extend(0u16.to_be_bytes());
    rdata.extend(0u16.to_be_bytes());
    put_name(message, &key.name)?;
    message.extend(TYPE_TSIG.to_be_bytes());
    message.extend(CLASS_ANY.to_be_bytes());
    message.extend(0u32.to_be_bytes());
    message.extend((rdata.len() as u16).to_be_bytes());
    message.extend(rdata);
    let arcount = u16::from_be_bytes([message[10], message[11]]).wrapping_add(1);
    message[10..12].copy_from_slice(&arcount.to_be_bytes());
    Ok(mac)
}

/// The TSIG variables a MAC covers after the message (RFC 8945 §4.3.3).
struct TsigVariables<'a> {
    key: &'a str,
    algorithm: &'a str,
    time48: &'a [u8],
    fudge: u16,
    error: u16,
    other: &'a [u8],
}

/// What a TSIG MAC is computed over: the request's MAC (answers only), the message without its
/// TSIG record, then the TSIG variables, names in canonical (lowercase, uncompressed) form.
fn mac_input(
    request_mac: Option<&[u8]>,
    message: &[u8],
    v: &TsigVariables<'_>,
) -> Result<Vec<u8>, WireError> {
    let mut data = Vec::with_capacity(message.len() + 128);
    if let Some(prior) = request_mac {
        let len = u16::try_from(prior.len()).map_err(|_| WireError::Malformed("MAC too long"))?;
        data.extend(len.to_be_bytes());
        data.extend(prior);
    }
    data.extend(message);
    put_name(&mut data, v.key)?;
    data.extend(CLASS_ANY.to_be_bytes());
    data.extend(0u32.to_be_bytes());
    put_name(&mut data, v.algorithm)?;
    data.extend(v.time48);
    data.extend(v.fudge.to_be_bytes());
    data.extend(v.error.to_be_bytes());
    let other_len =
        u16::try_from(v.other.len()).map_err(|_| WireError::Malformed("TSIG other data"))?;
    data.extend(other_len.to_be_bytes());
    data.extend(v.other);
    Ok(data)
}

/// The TSIG record of an answer, with the bytes its MAC covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tsig {
    /// Key and algorithm names, lowercase, without the final dot.
    pub key: String,
    pub algorithm: String,
    pub time: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    pub error: u16,
    pub other: Vec<u8>,
    /// The message before the TSIG record, with the original id and ARCOUNT less this record.
    signed: Vec<u8>,
}

/// Why an answer's TSIG signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsigCheck {
    #[error("the answer is not signed")]
    Unsigned,
    #[error("the answer is signed with key {0:?}, not ours")]
    OtherKey(String),
    #[error("the answer is signed with {0}, not the key's algorithm")]
    OtherAlgorithm(String),
    #[error("the answer's MAC does not verify (BADSIG)")]
    BadMac,
    #[error(
        "the answer was signed at {signed}, {skew} s from our clock (fudge {fudge} s; BADTIME)"
    )]
    BadTime { signed: u64, skew: u64, fudge: u16 },
}

/// Checks that `answer` is signed by `key` in reply to the request whose MAC was `request_mac`,
/// at a time within the answer's fudge of `now` (RFC 8945 §5.3).
pub fn verify(
    answer: &Message,
    key: &TsigKey,
    request_mac: &[u8],
    now: u64,
) -> Result<(), TsigCheck> {
    let tsig = answer.tsig.as_ref().ok_or(TsigCheck::Unsigned)?;
    let ours = key.name.trim_end_matches('.').to_ascii_lowercase();
    if tsig.key != ours {
        return Err(TsigCheck::OtherKey(tsig.key.clone()));
    }
    if TsigAlgorithm::parse(&tsig.algorithm) != Some(key.algorithm) {
        return Err(TsigCheck::OtherAlgorithm(tsig.algorithm.clone()));
    }
    let time = tsig.time.to_be_bytes();
    let variables = TsigVariables {
        key: &tsig.key,
        algorithm: key.algorithm.wire_name(),
        time48: &time[2..8],
        fudge: tsig.fudge,
        error: tsig.error,
        other: &tsig.other,
    };
    let input =
        mac_input(Some(request_mac), &tsig.signed, &variables).map_err(|_| TsigCheck::BadMac)?;
    let expected = key.algorithm.mac(&key.secret, &input);
    // Compared in constant time; a truncated MAC (RFC 8945 §5.2.2.1) is not accepted.
    let same = expected.len() == tsig.mac.len()
        && expected
            .iter()
            .zip(&tsig.mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(TsigCheck::BadMac);
    }
    let skew = now.abs_diff(tsig.time);
    if skew > u64::from(tsig.fudge) {
        return Err(TsigCheck::BadTime {
            signed: tsig.time,
            skew,
            fudge: tsig.fudge,
        });
    }
    Ok(())
}

/// One resource record of an answer; names are lowercase, without the final dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub data: RData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// A name (NS, CNAME, the SOA's primary server).
    Name(String),
    Addr(std::net::IpAddr),
    /// TXT character-strings joined.
    Txt(String),
    Other,
}

/// A parsed answer: its id, response code, the TSIG error when a TSIG record came back (and
/// the record, to [`verify`]), and the answer and authority sections.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub id: u16,
    pub truncated: bool,
    pub rcode: u16,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub tsig_error: Option<u16>,
    pub tsig: Option<Tsig>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(WireError::Malformed("truncated"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A possibly compressed name; pointers followed at most 64 times.
    fn name(&mut self) -> Result<String, WireError> {
        let mut labels: Vec<String> = Vec::new();
        let mut pos = self.pos;
        let mut jumped = false;
        for _ in 0..128 {
            let len = *self
                .buf
                .get(pos)
                .ok_or(WireError::Malformed("name past the end"))?;
            match len {
                0 => {
                    if !jumped {
                        self.pos = pos + 1;
                    }
                    return Ok(labels.join("."));
                }
                l if l & 0xc0 == 0xc0 => {
                    let low = *self
                        .buf
                        .get(pos + 1)
                        .ok_or(WireError::Malformed("pointer past the end"))?;
                    if !jumped {
                        self.pos = pos + 2;
                    }
                    jumped = true;
                    pos = (usize::from(l & 0x3f) << 8) | usize::from(low);
                }
                l if l & 0xc0 == 0 => {
                    let start = pos + 1;
                    let end = start + usize::from(l);
                    let label = self
                        .buf
                        .get(start..end)
                        .ok_or(WireError::Malformed("label past the end"))?;
                    labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                    pos = end;
                }
                _ => return Err(WireError::Malformed("unknown label type")),
            }
        }
        Err(WireError::Malformed("name compression loop"))
    }

    fn record(&mut self) -> Result<(Record, Option<Tsig>), WireError> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let _class = self.u16()?;
        self.take(4)?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        let rdata = self.take(len)?;
        let mut tsig = None;
        let data = match rtype {
            TYPE_NS | TYPE_CNAME | TYPE_SOA => {
                let mut inner = Reader {
                    buf: self.buf,
                    pos: start,
                };
                RData::Name(inner.name()?)
            }
            TYPE_A if len == 4 => {
                RData::Addr(std::net::Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).into())
            }
            TYPE_AAAA if len == 16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                RData::Addr(std::net::Ipv6Addr::from(b).into())
            }
            TYPE_TXT => {
                let mut text = Vec::new();
                let mut i = 0;
                while i < rdata.len() {
                    let l = usize::from(rdata[i]);
                    let part = rdata
                        .get(i + 1..i + 1 + l)
                        .ok_or(WireError::Malformed("TXT string past its record"))?;
                    text.extend_from_slice(part);
                    i += 1 + l;
                }
                RData::Txt(String::from_utf8_lossy(&text).into_owned())
            }
            TYPE_TSIG => {
                // Read within the record's own data: a length past it is malformed.
                let mut inner = Reader {
                    buf: &self.buf[..start + len],
                    pos: start,
                };
                let algorithm = inner.name()?;
                let t = inner.take(6)?;
                let time = t.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                let fudge = inner.u16()?;
                let mac_len = usize::from(inner.u16()?);
                let mac = inner.take(mac_len)?.to_vec();
                let original_id = inner.u16()?;
                let error = inner.u16()?;
                let other_len = usize::from(inner.u16()?);
                let other = inner.take(other_len)?.to_vec();
                tsig = Some(Tsig {
                    key: name.clone(),
                    algorithm,
                    time,
                    fudge,
                    mac,
                    original_id,
                    error,
                    other,
                    signed: Vec::new(),
                });
                RData::Other
            }
            _ => RData::Other,
        };
        Ok((Record { name, rtype, data }, tsig))
    }
}

/// Parses an answer.
pub fn parse(buf: &[u8]) -> Result<Message, WireError> {
    let mut r = Reader { buf, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qd = r.u16()?;
    let an = r.u16()?;
    let ns = r.u16()?;
    let ar = r.u16()?;
    let mut msg = Message {
        id,
        truncated: flags & 0x0200 != 0,
        rcode: flags & 0x000f,
        ..Message::default()
    };
    for _ in 0..qd {
        r.name()?;
        r.take(4)?;
    }
    for _ in 0..an {
        msg.answers.push(r.record()?.0);
    }
    for _ in 0..ns {
        msg.authority.push(r.record()?.0);
    }
    for _ in 0..ar {
        let start = r.pos;
        let Ok((_, tsig)) = r.record() else { break };
        if let Some(mut tsig) = tsig {
            // The signed bytes: the message as it was before the signer added this record.
            let mut signed = buf[..start].to_vec();
            signed[0..2].copy_from_slice(&tsig.original_id.to_be_bytes());
            signed[10..12].copy_from_slice(&ar.saturating_sub(1).to_be_bytes());
            tsig.signed = signed;
            msg.tsig_error = Some(tsig.error);
            msg.tsig = Some(tsig);
        }
    }
    Ok(msg)
}

/// The name of a response code, for errors.
pub fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        _ => "error",
    }
}

#[cfg(test)]
mod tests;
