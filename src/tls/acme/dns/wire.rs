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
    if message.len() < 12 {
        return Err(WireError::Malformed("message shorter than its header"));
    }
    let id = [message[0], message[1]];
    let time = now.to_be_bytes();
    let time48 = &time[2..8];
    let mut signed = message.clone();
    put_name(&mut signed, &key.name)?;
    signed.extend(CLASS_ANY.to_be_bytes());
    signed.extend(0u32.to_be_bytes());
    put_name(&mut signed, key.algorithm.wire_name())?;
    signed.extend(time48);
    signed.extend(FUDGE.to_be_bytes());
    signed.extend(0u16.to_be_bytes()); // error
    signed.extend(0u16.to_be_bytes()); // other len
    let mac = key.algorithm.mac(&key.secret, &signed);

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

/// A parsed answer: its id, response code, the TSIG error when a TSIG record came back, and
/// the answer and authority sections.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub id: u16,
    pub truncated: bool,
    pub rcode: u16,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub tsig_error: Option<u16>,
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

    fn record(&mut self) -> Result<(Record, Option<u16>), WireError> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let _class = self.u16()?;
        self.take(4)?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        let rdata = self.take(len)?;
        let mut tsig_error = None;
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
                let mut inner = Reader {
                    buf: self.buf,
                    pos: start,
                };
                inner.name()?;
                inner.take(8)?;
                let mac_len = usize::from(inner.u16()?);
                inner.take(mac_len + 2)?;
                tsig_error = Some(inner.u16()?);
                RData::Other
            }
            _ => RData::Other,
        };
        Ok((Record { name, rtype, data }, tsig_error))
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
        let Ok((_, tsig)) = r.record() else { break };
        if tsig.is_some() {
            msg.tsig_error = tsig;
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
