//! htpasswd hashes for `basicAuth`: bcrypt (`$2y$`, `$2a$`, `$2b$`, `$2x$`), Apache `$apr1$` and
//! `$1$` MD5-crypt, and `{SHA}` (base64 SHA-1), as Traefik accepts. Pure; comparisons of digests
//! are constant-time.

use base64::Engine;
use md5::{Digest, Md5};
use sha1::Sha1;

/// One parsed password hash.
#[derive(Debug, Clone)]
pub(crate) enum Hash {
    Bcrypt(String),
    /// MD5-crypt with its magic (`$apr1$` or `$1$`), salt and encoded digest.
    Md5Crypt {
        magic: &'static str,
        salt: String,
        encoded: String,
    },
    Sha1([u8; 20]),
    /// A hash of an unknown or malformed format: never matches (Traefik's behaviour).
    Never,
}

impl Hash {
    /// Parses a hash; `None` for an unknown or malformed format.
    pub(crate) fn parse(s: &str) -> Option<Hash> {
        if ["$2y$", "$2a$", "$2b$", "$2x$"]
            .iter()
            .any(|p| s.starts_with(p))
        {
            // Validate the shape now so a bad line fails at compile time.
            if !bcrypt_shape_ok(s) {
                return None;
            }
            return Some(Hash::Bcrypt(s.to_owned()));
        }
        if let Some(b64) = s.strip_prefix("{SHA}") {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            return Some(Hash::Sha1(bytes.try_into().ok()?));
        }
        for magic in ["$apr1$", "$1$"] {
            if let Some(rest) = s.strip_prefix(magic) {
                let (salt, encoded) = rest.split_once('$')?;
                if salt.len() > 8 || encoded.len() != 22 {
                    return None;
                }
                return Some(Hash::Md5Crypt {
                    magic,
                    salt: salt.to_owned(),
                    encoded: encoded.to_owned(),
                });
            }
        }
        None
    }

    /// Whether `password` matches. bcrypt is deliberately slow (milliseconds per check).
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            Hash::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
            Hash::Never => false,
            Hash::Sha1(digest) => {
                let got: [u8; 20] = Sha1::digest(password).into();
                ct_eq(&got, digest)
            }
            Hash::Md5Crypt {
                magic,
                salt,
                encoded,
            } => ct_eq(
                md5_crypt(password, salt.as_bytes(), magic.as_bytes()).as_bytes(),
                encoded.as_bytes(),
            ),
        }
    }
}

/// Checks the bcrypt `$2?$cost$<53 chars>` shape (the crate parses only when verifying).
fn bcrypt_shape_ok(s: &str) -> bool {
    let mut parts = s.split('$');
    let (Some(""), Some(_variant), Some(cost), Some(rest), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    cost.len() == 2 && cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c)) && rest.len() == 53
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Poul-Henning Kamp's MD5-crypt (`$1$`), with Apache's `$apr1$` magic when asked: returns the
/// 22-character encoded digest.
pub(crate) fn md5_crypt(password: &[u8], salt: &[u8], magic: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let alt = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic)
        .chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin: [u8; 16] = ctx.finalize().into();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize().into();
    }
    let mut out = String::with_capacity(22);
    let mut to64 = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(char::from(ITOA64[(v & 0x3f) as usize]));
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(
            (u32::from(fin[a]) << 16) | (u32::from(fin[b]) << 8) | u32::from(fin[c]),
            4,
        );
    }
    to64(u32::from(fin[11]), 2);
    out
}
