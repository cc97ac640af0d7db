//! Verification of password digests imported from other systems.
//!
//! Clerk's create-user and update-user operations accept a `password_digest` together with a
//! `password_hasher` naming the algorithm that produced it, so that users can be moved over without
//! their plaintext passwords. [`check_format`] validates a digest's shape when it is imported, so that
//! a malformed one is refused with a clear message, and [`verify`] checks a password against it at
//! sign-in (after which the caller re-hashes the password with the native scheme).
//!
//! The digest layouts are those of Clerk's create-user reference; each [`ImportedHasher`] variant
//! documents its own. Every primitive comes from a maintained crate (`argon2`, `bcrypt`, `scrypt`,
//! `pbkdf2`, `sha1`, `sha2`, `md-5`, `aes`, `ctr`): this module only parses layouts and chains those
//! primitives. Secrets are compared in constant time, and cost parameters are bounded so that an
//! imported digest cannot make a sign-in allocate or compute without limit.
//!
//! `awscognito` is not supported: its "digest" only names a user pool, and checking a password means
//! calling that pool over the network at sign-in.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use argon2::password_hash::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ctr::cipher::{KeyIvInit, StreamCipher};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::{Choice, ConstantTimeEq};

/// Longest digest accepted, in bytes.
const MAX_DIGEST_LEN: usize = 4096;
/// Longest password verified, in bytes; a longer one never matches.
const MAX_PASSWORD_LEN: usize = 4096;
/// Most iterations accepted for iterated hashes (PBKDF2 and the legacy Symfony hasher).
const MAX_ITERATIONS: u32 = 10_000_000;
/// Shortest derived key accepted for PBKDF2 and scrypt digests, in bytes.
const MIN_KEY_LEN: usize = 16;
/// Longest derived key (or Firebase signer key) accepted, in bytes.
const MAX_KEY_LEN: usize = 256;
/// Most memory an scrypt or Argon2 digest may ask for, in bytes.
const MAX_MEMORY: u64 = 1 << 30;
/// Most memory passes an scrypt digest may ask for in total (memory times parallelism), in bytes.
const MAX_SCRYPT_WORK: u64 = 1 << 32;
/// Most Argon2 passes accepted.
const MAX_ARGON2_PASSES: u32 = 64;
/// Most Argon2 lanes or scrypt parallel blocks accepted.
const MAX_PARALLELISM: u32 = 64;
/// Bounds of the phpass iteration-count exponent, as the phpass framework itself enforces them.
const PHPASS_LOG2_RANGE: std::ops::RangeInclusive<u32> = 7..=30;
/// The alphabet of phpass's own base64-like encoding.
const PHPASS_ITOA64: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Standard base64 with optional padding, as export tools write it either way.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// AES-256 in counter mode with a 128-bit big-endian counter, as Firebase's scrypt variant uses it.
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Why a digest was refused, for [`DigestFormatError`].
type Reason = Cow<'static, str>;

/// An algorithm that produced an imported `password_digest`, named as in Clerk's `password_hasher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportedHasher {
    /// `argon2i`: a PHC string, `$argon2i$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`.
    Argon2i,
    /// `argon2id`: a PHC string, `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`.
    Argon2id,
    /// `bcrypt`: `$<version>$<cost>$<salt and hash>`, versions `2a`, `2b`, `2x` and `2y`.
    Bcrypt,
    /// `bcrypt_peppered`: a bcrypt hash of the password followed by a pepper, then `$<pepper>`.
    BcryptPeppered,
    /// `bcrypt_sha256_django`: `bcrypt_sha256$` then a bcrypt hash of the hex SHA-256 of the password.
    BcryptSha256Django,
    /// `ldap_ssha`: `{SSHA}` then the base64 of SHA-1(password + salt) followed by the salt.
    LdapSsha,
    /// `md5`: the hex MD5 of the password (insecure).
    Md5,
    /// `md5_phpass`: a portable phpass hash, `$P$` or `$H$` then 31 characters.
    Md5Phpass,
    /// `md5_salted`: `<salt>$<hex MD5>` of the salt and password concatenated, in either order (insecure).
    Md5Salted,
    /// `pbkdf2_sha1`: `pbkdf2_sha1$<iterations>$<salt>$<hex hash>[$<key length>]`, a hex salt being
    /// decoded (and also tried as raw text).
    Pbkdf2Sha1,
    /// `pbkdf2_sha256`: `pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>`.
    Pbkdf2Sha256,
    /// `pbkdf2_sha256_django`: Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.
    Pbkdf2Sha256Django,
    /// `pbkdf2_sha512`: `pbkdf2_sha512$<iterations>$<salt>$<hex hash>`.
    Pbkdf2Sha512,
    /// `pbkdf2_sha512_hex`: `pbkdf2_sha512_hex$<iterations>$<hex salt>$<hex hash>`.
    Pbkdf2Sha512Hex,
    /// `phpass`: a portable phpass hash, `$P$` or `$H$` then 31 characters.
    Phpass,
    /// `scrypt_firebase`: Firebase's scrypt variant,
    /// `<hash>$<salt>$<signer key>$<salt separator>$<rounds>$<memory cost>`.
    ScryptFirebase,
    /// `scrypt_werkzeug`: Werkzeug's `scrypt:<N>:<r>:<p>$<salt>$<hash>`, optionally led by `$`.
    ScryptWerkzeug,
    /// `sha256`: the hex SHA-256 of the password (insecure).
    Sha256,
    /// `sha256_salted`: `<salt>$<hex SHA-256>` of the salt and password concatenated, in either order
    /// (insecure).
    Sha256Salted,
    /// `sha512_symfony`: Symfony's legacy message-digest hasher, `sha512_symfony$<iterations>$<salt>$<hash>`.
    Sha512Symfony,
}

impl ImportedHasher {
    /// Every supported hasher.
    pub const ALL: [Self; 20] = [
        Self::Argon2i,
        Self::Argon2id,
        Self::Bcrypt,
        Self::BcryptPeppered,
        Self::BcryptSha256Django,
        Self::LdapSsha,
        Self::Md5,
        Self::Md5Phpass,
        Self::Md5Salted,
        Self::Pbkdf2Sha1,
        Self::Pbkdf2Sha256,
        Self::Pbkdf2Sha256Django,
        Self::Pbkdf2Sha512,
        Self::Pbkdf2Sha512Hex,
        Self::Phpass,
        Self::ScryptFirebase,
        Self::ScryptWerkzeug,
        Self::Sha256,
        Self::Sha256Salted,
        Self::Sha512Symfony,
    ];

    /// Clerk's name for the hasher, as sent in `password_hasher`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Argon2i => "argon2i",
            Self::Argon2id => "argon2id",
            Self::Bcrypt => "bcrypt",
            Self::BcryptPeppered => "bcrypt_peppered",
            Self::BcryptSha256Django => "bcrypt_sha256_django",
            Self::LdapSsha => "ldap_ssha",
            Self::Md5 => "md5",
            Self::Md5Phpass => "md5_phpass",
            Self::Md5Salted => "md5_salted",
            Self::Pbkdf2Sha1 => "pbkdf2_sha1",
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
            Self::Pbkdf2Sha256Django => "pbkdf2_sha256_django",
            Self::Pbkdf2Sha512 => "pbkdf2_sha512",
            Self::Pbkdf2Sha512Hex => "pbkdf2_sha512_hex",
            Self::Phpass => "phpass",
            Self::ScryptFirebase => "scrypt_firebase",
            Self::ScryptWerkzeug => "scrypt_werkzeug",
            Self::Sha256 => "sha256",
            Self::Sha256Salted => "sha256_salted",
            Self::Sha512Symfony => "sha512_symfony",
        }
    }

    /// The digest layout this hasher expects, as shown in error messages.
    pub fn layout(&self) -> &'static str {
        match self {
            Self::Argon2i => {
                "`$argon2i$v=19$m=<memory>,t=<iterations>,p=<parallelism>$<salt>$<hash>`"
            }
            Self::Argon2id => {
                "`$argon2id$v=19$m=<memory>,t=<iterations>,p=<parallelism>$<salt>$<hash>`"
            }
            Self::Bcrypt => "`$<algorithm version>$<cost>$<salt & hash>`",
            Self::BcryptPeppered => "`$<algorithm version>$<cost>$<salt & hash>$<pepper>`",
            Self::BcryptSha256Django => "`bcrypt_sha256$$<algorithm version>$<cost>$<salt & hash>`",
            Self::LdapSsha => "`{SSHA}<base64 of SHA-1 digest and salt>`",
            Self::Md5 => "a 32-character hex string",
            Self::Md5Phpass | Self::Phpass => "`$P$<rounds><salt><encoded-checksum>`",
            Self::Md5Salted => "`<salt>$<32-character hex hash>`",
            Self::Pbkdf2Sha1 => {
                "`pbkdf2_sha1$<iterations>$<salt>$<hash-as-hex-string>` or \
                 `pbkdf2_sha1$<iterations>$<salt-as-hex-string>$<hash-as-hex-string>$<key-length>`"
            }
            Self::Pbkdf2Sha256 => "`pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>`",
            Self::Pbkdf2Sha256Django => "`pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`",
            Self::Pbkdf2Sha512 => "`pbkdf2_sha512$<iterations>$<salt>$<hex hash>`",
            Self::Pbkdf2Sha512Hex => "`pbkdf2_sha512_hex$<iterations>$<hex salt>$<hex hash>`",
            Self::ScryptFirebase => {
                "`<hash>$<salt>$<signer key>$<salt separator>$<rounds>$<memory cost>`"
            }
            Self::ScryptWerkzeug => {
                "`$<algorithm args>$<salt>$<hash>`, e.g. `scrypt:32768:8:1$<salt>$<hash>`"
            }
            Self::Sha256 => "a 64-character hex string",
            Self::Sha256Salted => "`<salt>$<64-character hex hash>`",
            Self::Sha512Symfony => "`sha512_symfony$<iterations>$<salt>$<base64 hash>`",
        }
    }
}

impl fmt::Display for ImportedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImportedHasher {
    type Err = UnsupportedHasher;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|hasher| hasher.as_str() == name)
            .ok_or_else(|| UnsupportedHasher {
                name: name.to_owned(),
            })
    }
}

/// A `password_hasher` value that names no hasher this server can verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a supported password_hasher")]
pub struct UnsupportedHasher {
    name: String,
}

impl UnsupportedHasher {
    /// The name that was given.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A `password_digest` whose shape does not match its `password_hasher`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password_digest is not a valid {hasher} digest: {reason}; expected {}", .hasher.layout())]
pub struct DigestFormatError {
    hasher: ImportedHasher,
    reason: String,
}

impl DigestFormatError {
    /// The hasher the digest was checked against.
    pub fn hasher(&self) -> ImportedHasher {
        self.hasher
    }

    /// What is wrong with the digest, without the expected layout.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Checks that `digest` has the layout `hasher` expects and that its parameters are within bounds.
///
/// Run this when a digest is imported; a digest that passes can be given to [`verify`].
pub fn check_format(hasher: ImportedHasher, digest: &str) -> Result<(), DigestFormatError> {
    parse(hasher, digest)
        .map(|_| ())
        .map_err(|reason| DigestFormatError {
            hasher,
            reason: reason.into_owned(),
        })
}

/// Whether `password` matches `digest` under `hasher`.
///
/// A malformed digest, or a password longer than 4096 bytes, never matches. Never panics.
pub fn verify(hasher: ImportedHasher, digest: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    parse(hasher, digest).is_ok_and(|parsed| parsed.matches(password.as_bytes()))
}

/// A digest split into what verification needs.
enum Parsed<'a> {
    Argon2(PasswordHash<'a>),
    Bcrypt {
        hash: &'a str,
        pepper: &'a str,
        sha256_hex_first: bool,
    },
    Pbkdf2 {
        prf: Prf,
        iterations: u32,
        salts: Vec<Vec<u8>>,
        expected: Vec<u8>,
    },
    Phpass {
        log2_count: u32,
        salt: &'a [u8],
        checksum: &'a [u8],
    },
    Firebase {
        log_n: u8,
        rounds: u32,
        salt: Vec<u8>,
        separator: Vec<u8>,
        signer_key: Vec<u8>,
        expected: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: &'a [u8],
        expected: Vec<u8>,
    },
    Plain {
        algorithm: Plain,
        expected: Vec<u8>,
    },
    Salted {
        algorithm: Plain,
        salt: &'a [u8],
        expected: Vec<u8>,
    },
    LdapSsha {
        expected: Vec<u8>,
        salt: Vec<u8>,
    },
    Symfony {
        iterations: u32,
        salt: &'a str,
        expected: Vec<u8>,
    },
}

/// The pseudo-random function of a PBKDF2 digest.
#[derive(Clone, Copy)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

/// The single-pass hash of an unsalted or simply salted digest.
#[derive(Clone, Copy)]
enum Plain {
    Md5,
    Sha256,
}

impl Plain {
    fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 => 64,
        }
    }

    fn hash(self, first: &[u8], second: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => Md5::new()
                .chain_update(first)
                .chain_update(second)
                .finalize()
                .to_vec(),
            Self::Sha256 => Sha256::new()
                .chain_update(first)
                .chain_update(second)
                .finalize()
                .to_vec(),
        }
    }
}

fn parse(hasher: ImportedHasher, digest: &str) -> Result<Parsed<'_>, Reason> {
    if digest.is_empty() {
        return Err("it is empty".into());
    }
    if digest.len() > MAX_DIGEST_LEN {
        return Err(format!("it is longer than {MAX_DIGEST_LEN} bytes").into());
    }
    match hasher {
        ImportedHasher::Argon2i => parse_argon2(digest, argon2::Algorithm::Argon2i),
        ImportedHasher::Argon2id => parse_argon2(digest, argon2::Algorithm::Argon2id),
        ImportedHasher::Bcrypt => Ok(Parsed::Bcrypt {
            hash: parse_bcrypt(digest)?,
            pepper: "",
            sha256_hex_first: false,
        }),
        ImportedHasher::BcryptPeppered => {
            let (hash, rest) = digest
                .split_at_checked(BCRYPT_LEN)
                .ok_or("it is too short to hold a bcrypt hash and a pepper")?;
            let pepper = rest
                .strip_prefix('$')
                .ok_or("the bcrypt hash is not followed by `$<pepper>`")?;
            Ok(Parsed::Bcrypt {
                hash: parse_bcrypt(hash)?,
                pepper,
                sha256_hex_first: false,
            })
        }
        ImportedHasher::BcryptSha256Django => {
            let hash = digest
                .strip_prefix("bcrypt_sha256$")
                .ok_or("it does not start with `bcrypt_sha256$`")?;
            Ok(Parsed::Bcrypt {
                hash: parse_bcrypt(hash)?,
                pepper: "",
                sha256_hex_first: true,
            })
        }
        ImportedHasher::LdapSsha => parse_ldap_ssha(digest),
        ImportedHasher::Md5 => parse_plain(digest, Plain::Md5),
        ImportedHasher::Sha256 => parse_plain(digest, Plain::Sha256),
        ImportedHasher::Md5Salted => parse_salted(digest, Plain::Md5),
        ImportedHasher::Sha256Salted => parse_salted(digest, Plain::Sha256),
        ImportedHasher::Md5Phpass | ImportedHasher::Phpass => parse_phpass(digest),
        ImportedHasher::Pbkdf2Sha1 => parse_pbkdf2_sha1(digest),
        ImportedHasher::Pbkdf2Sha256 => {
            let [iterations, salt, hash] = pbkdf2_fields(digest, "pbkdf2_sha256$")?;
            Ok(Parsed::Pbkdf2 {
                prf: Prf::Sha256,
                iterations: parse_iterations(iterations)?,
                salts: vec![non_empty(decode_base64(salt, "salt")?, "salt")?],
                expected: key_len(decode_base64(hash, "hash")?)?,
            })
        }
        ImportedHasher::Pbkdf2Sha256Django => {
            let [iterations, salt, hash] = pbkdf2_fields(digest, "pbkdf2_sha256$")?;
            Ok(Parsed::Pbkdf2 {
                prf: Prf::Sha256,
                iterations: parse_iterations(iterations)?,
                salts: vec![non_empty(salt.as_bytes().to_vec(), "salt")?],
                expected: key_len(decode_base64(hash, "hash")?)?,
            })
        }
        ImportedHasher::Pbkdf2Sha512 => {
            let [iterations, salt, hash] = pbkdf2_fields(digest, "pbkdf2_sha512$")?;
            Ok(Parsed::Pbkdf2 {
                prf: Prf::Sha512,
                iterations: parse_iterations(iterations)?,
                salts: vec![non_empty(salt.as_bytes().to_vec(), "salt")?],
                expected: key_len(decode_hex(hash, "hash")?)?,
            })
        }
        ImportedHasher::Pbkdf2Sha512Hex => {
            let [iterations, salt, hash] = pbkdf2_fields(digest, "pbkdf2_sha512_hex$")?;
            Ok(Parsed::Pbkdf2 {
                prf: Prf::Sha512,
                iterations: parse_iterations(iterations)?,
                salts: vec![non_empty(decode_hex(salt, "salt")?, "salt")?],
                expected: key_len(decode_hex(hash, "hash")?)?,
            })
        }
        ImportedHasher::ScryptFirebase => parse_firebase(digest),
        ImportedHasher::ScryptWerkzeug => parse_werkzeug(digest),
        ImportedHasher::Sha512Symfony => parse_symfony(digest),
    }
}

impl Parsed<'_> {
    /// Whether `password` matches, comparing secrets in constant time.
    fn matches(&self, password: &[u8]) -> bool {
        match self {
            Self::Argon2(hash) => Argon2::default().verify_password(password, hash).is_ok(),
            Self::Bcrypt {
                hash,
                pepper,
                sha256_hex_first,
            } => {
                // The bcrypt crate compares the recomputed hash in constant time.
                let input = if *sha256_hex_first {
                    hex::encode(Sha256::digest(password)).into_bytes()
                } else {
                    [password, pepper.as_bytes()].concat()
                };
                bcrypt::verify(input, hash).unwrap_or(false)
            }
            Self::Pbkdf2 {
                prf,
                iterations,
                salts,
                expected,
            } => {
                let mut matched = Choice::from(0);
                let mut derived = vec![0u8; expected.len()];
                for salt in salts {
                    match prf {
                        Prf::Sha1 => {
                            pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, *iterations, &mut derived)
                        }
                        Prf::Sha256 => {
                            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut derived)
                        }
                        Prf::Sha512 => {
                            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut derived)
                        }
                    }
                    matched |= derived.ct_eq(expected);
                }
                matched.into()
            }
            Self::Phpass {
                log2_count,
                salt,
                checksum,
            } => {
                let mut hash = Md5::new()
                    .chain_update(salt)
                    .chain_update(password)
                    .finalize();
                for _ in 0..1u64.checked_shl(*log2_count).unwrap_or(0) {
                    hash = Md5::new()
                        .chain_update(hash)
                        .chain_update(password)
                        .finalize();
                }
                phpass_encode(&hash).ct_eq(checksum).into()
            }
            Self::Firebase {
                log_n,
                rounds,
                salt,
                separator,
                signer_key,
                expected,
            } => firebase_matches(
                password,
                *log_n,
                *rounds,
                &[salt.as_slice(), separator].concat(),
                signer_key,
            )
            .is_some_and(|derived| derived.ct_eq(expected).into()),
            Self::Scrypt {
                log_n,
                r,
                p,
                salt,
                expected,
            } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p, SCRYPT_PARAMS_LEN) else {
                    return false;
                };
                let mut derived = vec![0u8; expected.len()];
                scrypt::scrypt(password, salt, &params, &mut derived).is_ok()
                    && bool::from(derived.ct_eq(expected))
            }
            Self::Plain {
                algorithm,
                expected,
            } => algorithm.hash(password, b"").ct_eq(expected).into(),
            Self::Salted {
                algorithm,
                salt,
                expected,
            } => {
                // Clerk's layout does not say which side of the password the salt goes; accept either.
                let before = algorithm.hash(salt, password).ct_eq(expected);
                let after = algorithm.hash(password, salt).ct_eq(expected);
                (before | after).into()
            }
            Self::LdapSsha { expected, salt } => Sha1::new()
                .chain_update(password)
                .chain_update(salt)
                .finalize()
                .as_slice()
                .ct_eq(expected)
                .into(),
            Self::Symfony {
                iterations,
                salt,
                expected,
            } => {
                // The legacy hasher merges as `password{salt}`, or the bare password when the salt is empty.
                let merged = if salt.is_empty() {
                    password.to_vec()
                } else {
                    [password, b"{", salt.as_bytes(), b"}"].concat()
                };
                let mut hash = Sha512::digest(&merged);
                for _ in 1..*iterations {
                    hash = Sha512::new()
                        .chain_update(hash)
                        .chain_update(&merged)
                        .finalize();
                }
                hash.as_slice().ct_eq(expected).into()
            }
        }
    }
}

/// Output length handed to `scrypt::Params`; the real output length is that of the buffer filled.
const SCRYPT_PARAMS_LEN: usize = 32;
/// Length of a `$2b$NN$` bcrypt hash.
const BCRYPT_LEN: usize = 60;

fn parse_argon2(digest: &str, algorithm: argon2::Algorithm) -> Result<Parsed<'_>, Reason> {
    let hash =
        PasswordHash::new(digest).map_err(|error| format!("it is not a PHC string ({error})"))?;
    if hash.algorithm != algorithm.ident() {
        return Err(format!("it names `{}`, not `{}`", hash.algorithm, algorithm.ident()).into());
    }
    if let Some(version) = hash.version {
        argon2::Version::try_from(version)
            .map_err(|_| format!("version {version} is neither 16 nor 19"))?;
    }
    let Some(salt) = hash.salt else {
        return Err("it has no salt".into());
    };
    let mut salt_bytes = [0u8; 64];
    let salt_len = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|_| "its salt is not valid base64")?
        .len();
    if salt_len < argon2::MIN_SALT_LEN {
        return Err(format!("its salt is shorter than {} bytes", argon2::MIN_SALT_LEN).into());
    }
    if hash.hash.is_none() {
        return Err("it has no hash".into());
    }
    let params = argon2::Params::try_from(&hash)
        .map_err(|error| format!("its parameters are invalid ({error})"))?;
    if u64::from(params.m_cost()) * 1024 > MAX_MEMORY {
        return Err(format!(
            "it asks for {} KiB of memory, more than {} KiB",
            params.m_cost(),
            MAX_MEMORY / 1024
        )
        .into());
    }
    if params.t_cost() > MAX_ARGON2_PASSES {
        return Err(format!(
            "it asks for {} iterations, more than {MAX_ARGON2_PASSES}",
            params.t_cost()
        )
        .into());
    }
    if params.p_cost() > MAX_PARALLELISM {
        return Err(format!(
            "it asks for parallelism {}, more than {MAX_PARALLELISM}",
            params.p_cost()
        )
        .into());
    }
    Ok(Parsed::Argon2(hash))
}

/// Checks a `$2b$NN$<22 salt><31 hash>` bcrypt hash and returns it.
fn parse_bcrypt(hash: &str) -> Result<&str, Reason> {
    if hash.len() != BCRYPT_LEN || !hash.is_ascii() {
        return Err(format!("a bcrypt hash is {BCRYPT_LEN} ASCII characters long").into());
    }
    let Some(["", version, cost, body]) = split_exact::<4>(hash) else {
        return Err("the bcrypt hash is not `$<version>$<cost>$<salt & hash>`".into());
    };
    if !matches!(version, "2a" | "2b" | "2x" | "2y") {
        return Err("the bcrypt version is not one of 2a, 2b, 2x and 2y".into());
    }
    match parse_decimal(cost) {
        Some(4..=31) if cost.len() == 2 => {}
        _ => return Err("the bcrypt cost is not a two-digit number from 04 to 31".into()),
    }
    let (salt, checksum) = body
        .split_at_checked(22)
        .ok_or("the bcrypt salt and hash are not 53 characters")?;
    let salt_ok = bcrypt::BASE_64
        .decode(salt)
        .is_ok_and(|bytes| bytes.len() == 16);
    let checksum_ok = bcrypt::BASE_64
        .decode(checksum)
        .is_ok_and(|bytes| bytes.len() == 23);
    if !(salt_ok && checksum_ok) {
        return Err("the bcrypt salt and hash are not 53 characters of bcrypt's base64".into());
    }
    Ok(hash)
}

fn parse_ldap_ssha(digest: &str) -> Result<Parsed<'_>, Reason> {
    let encoded = digest
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("{SSHA}"))
        .and_then(|_| digest.get(6..))
        .ok_or("it does not start with `{SSHA}`")?;
    let decoded = decode_base64(encoded, "value after `{SSHA}`")?;
    match decoded.split_at_checked(20) {
        Some((expected, salt)) if !salt.is_empty() => Ok(Parsed::LdapSsha {
            expected: expected.to_vec(),
            salt: salt.to_vec(),
        }),
        _ => Err("it does not hold a 20-byte SHA-1 digest followed by a salt".into()),
    }
}

fn parse_plain(digest: &str, algorithm: Plain) -> Result<Parsed<'_>, Reason> {
    Ok(Parsed::Plain {
        algorithm,
        expected: decode_hex_of_len(digest, algorithm.hex_len())?,
    })
}

fn parse_salted(digest: &str, algorithm: Plain) -> Result<Parsed<'_>, Reason> {
    let (salt, hash) = digest
        .rsplit_once('$')
        .ok_or("it has no `$` between salt and hash")?;
    Ok(Parsed::Salted {
        algorithm,
        salt: salt.as_bytes(),
        expected: decode_hex_of_len(hash, algorithm.hex_len())?,
    })
}

fn parse_phpass(digest: &str) -> Result<Parsed<'_>, Reason> {
    let rest = digest
        .strip_prefix("$P$")
        .or_else(|| digest.strip_prefix("$H$"))
        .ok_or("it does not start with `$P$` or `$H$`")?
        .as_bytes();
    if rest.len() != 31 || !rest.iter().all(|byte| PHPASS_ITOA64.contains(byte)) {
        return Err("the prefix is not followed by 31 characters from [./0-9A-Za-z]".into());
    }
    let Some((count, rest)) = rest.split_first() else {
        return Err("it has no rounds character".into());
    };
    let log2_count = PHPASS_ITOA64
        .iter()
        .position(|byte| byte == count)
        .and_then(|position| u32::try_from(position).ok())
        .filter(|log2| PHPASS_LOG2_RANGE.contains(log2))
        .ok_or("its rounds character is outside the range phpass allows (2^7 to 2^30 rounds)")?;
    let (salt, checksum) = rest
        .split_at_checked(8)
        .ok_or("it has no 8-character salt")?;
    Ok(Parsed::Phpass {
        log2_count,
        salt,
        checksum,
    })
}

fn parse_pbkdf2_sha1(digest: &str) -> Result<Parsed<'_>, Reason> {
    let rest = digest
        .strip_prefix("pbkdf2_sha1$")
        .ok_or("it does not start with `pbkdf2_sha1$`")?;
    let fields: Vec<&str> = rest.split('$').collect();
    let (iterations, salt, hash, key_length) = match fields.as_slice() {
        [iterations, salt, hash] => (*iterations, *salt, *hash, None),
        [iterations, salt, hash, key_length] => (*iterations, *salt, *hash, Some(*key_length)),
        _ => return Err("it does not have 4 or 5 `$`-separated parts".into()),
    };
    let expected = key_len(decode_hex(hash, "hash")?)?;
    if let Some(key_length) = key_length {
        if parse_decimal(key_length).and_then(|len| usize::try_from(len).ok())
            != Some(expected.len())
        {
            return Err("the key length does not match the length of the hash".into());
        }
    }
    if salt.is_empty() {
        return Err("the salt is empty".into());
    }
    // Clerk decodes a salt that is valid hex and otherwise uses its raw bytes; a hex-looking salt the
    // source used as text is tried too.
    let mut salts = Vec::with_capacity(2);
    if let Ok(decoded) = hex::decode(salt) {
        salts.push(decoded);
    }
    salts.push(salt.as_bytes().to_vec());
    Ok(Parsed::Pbkdf2 {
        prf: Prf::Sha1,
        iterations: parse_iterations(iterations)?,
        salts,
        expected,
    })
}

fn parse_firebase(digest: &str) -> Result<Parsed<'_>, Reason> {
    let [hash, salt, signer_key, separator, rounds, memory_cost] =
        split_exact::<6>(digest).ok_or("it does not have 6 `$`-separated parts")?;
    let expected = decode_base64(hash, "hash")?;
    let salt = decode_base64(salt, "salt")?;
    let signer_key = decode_base64(signer_key, "signer key")?;
    let separator = decode_base64(separator, "salt separator")?;
    if signer_key.is_empty() || signer_key.len() > MAX_KEY_LEN {
        return Err(format!("the signer key is not 1 to {MAX_KEY_LEN} bytes").into());
    }
    if expected.len() != signer_key.len() {
        return Err("the hash and the signer key differ in length".into());
    }
    let rounds = parse_decimal(rounds).ok_or("the rounds are not a number")?;
    let log_n = parse_decimal(memory_cost)
        .and_then(|cost| u8::try_from(cost).ok())
        .ok_or("the memory cost is not a number from 1 to 255")?;
    // Firebase runs scrypt with N = 2^(memory cost), r = rounds and p = 1.
    check_scrypt_cost(log_n, rounds, 1)?;
    Ok(Parsed::Firebase {
        log_n,
        rounds,
        salt,
        separator,
        signer_key,
        expected,
    })
}

/// Firebase's scrypt variant: scrypt derives an AES-256 key, which encrypts the signer key in CTR mode
/// with a zero IV; the ciphertext is the stored hash.
fn firebase_matches(
    password: &[u8],
    log_n: u8,
    rounds: u32,
    salt: &[u8],
    signer_key: &[u8],
) -> Option<Vec<u8>> {
    let params = scrypt::Params::new(log_n, rounds, 1, SCRYPT_PARAMS_LEN).ok()?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).ok()?;
    let mut cipher = Aes256Ctr::new_from_slices(&key, &[0u8; 16]).ok()?;
    let mut block = signer_key.to_vec();
    cipher.try_apply_keystream(&mut block).ok()?;
    Some(block)
}

fn parse_werkzeug(digest: &str) -> Result<Parsed<'_>, Reason> {
    let body = digest.strip_prefix('$').unwrap_or(digest);
    let [method, salt, hash] =
        split_exact::<3>(body).ok_or("it does not have 3 `$`-separated parts")?;
    let (n, r, p) = match method.strip_prefix("scrypt") {
        // Werkzeug's defaults when the method carries no arguments.
        Some("") => (1 << 15, 8, 1),
        Some(args) => {
            let numbers = args
                .strip_prefix(':')
                .and_then(|args| split_numbers::<3>(args, ':'))
                .ok_or("the method is not `scrypt:<N>:<r>:<p>`")?;
            let [n, r, p] = numbers;
            (n, r, p)
        }
        None => return Err("the method is not scrypt".into()),
    };
    if n < 2 || !n.is_power_of_two() {
        return Err("scrypt's N is not a power of two".into());
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| "scrypt's N is too large")?;
    check_scrypt_cost(log_n, r, p)?;
    if salt.is_empty() {
        return Err("the salt is empty".into());
    }
    // Werkzeug writes the hash in hex; Clerk's reference calls it base64. Accept both.
    let expected = if hash.len() % 2 == 0 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        decode_hex(hash, "hash")?
    } else {
        decode_base64(hash, "hash")?
    };
    Ok(Parsed::Scrypt {
        log_n,
        r,
        p,
        salt: salt.as_bytes(),
        expected: key_len(expected)?,
    })
}

fn check_scrypt_cost(log_n: u8, r: u32, p: u32) -> Result<(), Reason> {
    if log_n == 0 || r == 0 || p == 0 {
        return Err("scrypt's N, r and p must all be at least 1 (N at least 2)".into());
    }
    if p > MAX_PARALLELISM {
        return Err(format!("scrypt's p is more than {MAX_PARALLELISM}").into());
    }
    let memory = 1u64
        .checked_shl(u32::from(log_n))
        .and_then(|n| n.checked_mul(128))
        .and_then(|bytes| bytes.checked_mul(u64::from(r)));
    let work = memory.and_then(|bytes| bytes.checked_mul(u64::from(p)));
    match (memory, work) {
        (Some(memory), Some(work)) if memory <= MAX_MEMORY && work <= MAX_SCRYPT_WORK => {}
        _ => {
            return Err(format!(
                "its scrypt parameters ask for more than {MAX_MEMORY} bytes of memory"
            )
            .into())
        }
    }
    scrypt::Params::new(log_n, r, p, SCRYPT_PARAMS_LEN)
        .map_err(|_| "its scrypt parameters are invalid")?;
    Ok(())
}

fn parse_symfony(digest: &str) -> Result<Parsed<'_>, Reason> {
    let rest = digest
        .strip_prefix("sha512_symfony$")
        .ok_or("it does not start with `sha512_symfony$`")?;
    let (iterations, rest) = rest.split_once('$').ok_or("it has no salt and hash")?;
    let (salt, hash) = rest
        .rsplit_once('$')
        .ok_or("it has no `$` between salt and hash")?;
    if salt.contains(['{', '}']) {
        return Err("the salt contains `{` or `}`".into());
    }
    // The legacy hasher writes base64 by default and hex when so configured.
    let expected = if hash.len() == 128 {
        decode_hex(hash, "hash")?
    } else {
        decode_base64(hash, "hash")?
    };
    if expected.len() != 64 {
        return Err("the hash is not a 64-byte SHA-512 digest".into());
    }
    Ok(Parsed::Symfony {
        iterations: parse_iterations(iterations)?,
        salt,
        expected,
    })
}

/// Phpass's base64-like encoding of a 16-byte MD5 digest: 22 characters, three bytes at a time taken
/// little-endian and written six bits at a time from the lowest.
fn phpass_encode(digest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(22);
    for chunk in digest.chunks(3) {
        let mut value = chunk.iter().enumerate().fold(0u32, |value, (index, byte)| {
            value | u32::from(*byte) << (8 * index)
        });
        for _ in 0..=chunk.len() {
            out.extend(PHPASS_ITOA64.get((value & 0x3f) as usize));
            value >>= 6;
        }
    }
    out
}

/// Splits `digest` after `prefix` into iterations, salt and hash.
fn pbkdf2_fields<'a>(digest: &'a str, prefix: &'static str) -> Result<[&'a str; 3], Reason> {
    let rest = digest
        .strip_prefix(prefix)
        .ok_or_else(|| format!("it does not start with `{prefix}`"))?;
    split_exact::<3>(rest).ok_or_else(|| "it does not have 4 `$`-separated parts".into())
}

/// Splits on `$` into exactly `N` parts.
fn split_exact<const N: usize>(value: &str) -> Option<[&str; N]> {
    let mut parts = value.split('$');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// Splits on `separator` into exactly `N` decimal numbers.
fn split_numbers<const N: usize>(value: &str, separator: char) -> Option<[u32; N]> {
    let mut parts = value.split(separator);
    let mut out = [0; N];
    for slot in &mut out {
        *slot = parse_decimal(parts.next()?)?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses ASCII digits only (no sign, no spaces) into a `u32`.
fn parse_decimal(value: &str) -> Option<u32> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn parse_iterations(value: &str) -> Result<u32, Reason> {
    match parse_decimal(value) {
        Some(count @ 1..=MAX_ITERATIONS) => Ok(count),
        Some(_) => Err(format!("the iteration count is not between 1 and {MAX_ITERATIONS}").into()),
        None => Err("the iteration count is not a number".into()),
    }
}

fn decode_base64(value: &str, what: &'static str) -> Result<Vec<u8>, Reason> {
    BASE64
        .decode(value)
        .map_err(|_| format!("the {what} is not valid base64").into())
}

fn decode_hex(value: &str, what: &'static str) -> Result<Vec<u8>, Reason> {
    hex::decode(value).map_err(|_| format!("the {what} is not valid hex").into())
}

fn decode_hex_of_len(value: &str, len: usize) -> Result<Vec<u8>, Reason> {
    if value.len() != len {
        return Err(format!("the hash is not {len} hex characters").into());
    }
    decode_hex(value, "hash")
}

fn non_empty(bytes: Vec<u8>, what: &'static str) -> Result<Vec<u8>, Reason> {
    if bytes.is_empty() {
        return Err(format!("the {what} is empty").into());
    }
    Ok(bytes)
}

/// Checks that a derived key has a plausible length.
fn key_len(bytes: Vec<u8>) -> Result<Vec<u8>, Reason> {
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
        return Err(format!("the hash is not {MIN_KEY_LEN} to {MAX_KEY_LEN} bytes long").into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "correct horse battery staple";
    const PW2: &str = "pässwörd-ünïcode-✓";

    /// Known-good digests, each made by a reference implementation of its scheme (none by this module):
    /// Python's `bcrypt`, `argon2-cffi`, `passlib`, `hashlib`, Django's and Werkzeug's own hashers,
    /// `cryptography` for AES-CTR, and the packaged Symfony `MessageDigestPasswordHasher` under PHP.
    const VECTORS: &[(ImportedHasher, &str, &str)] = &[
        // bcrypt: `bcrypt.hashpw`; the `2y` digest is a `2b` one under its identical alias.
        (ImportedHasher::Bcrypt, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6", PW),
        (ImportedHasher::Bcrypt, "$2a$05$JJkAgwEjxV4ruvN1fYn0JObdHxOaCQ055fYtZakzRKDuqyx6f0GnG", PW2),
        (ImportedHasher::Bcrypt, "$2y$04$sdepAUPXHUpiknzoedHV3uQGwRN1FyqZRj6ebYgyb95KyUhMaWN8a", PW),
        // bcrypt of password + pepper, then `$pepper`.
        (
            ImportedHasher::BcryptPeppered,
            "$2b$04$RpNZXVMUy0xVGsdc0Lgpeun5pw.faSsWJBbrpP6nd.HZHaZGT9sI.$s3cr3t-pepper",
            PW,
        ),
        // Django's `BCryptSHA256PasswordHasher` at cost 4.
        (
            ImportedHasher::BcryptSha256Django,
            "bcrypt_sha256$$2b$04$0TUpOwm6k2W3RTZWf6dkbOYlTIbccG1DPFuV39.b/rysL/5ahKiC2",
            PW,
        ),
        (
            ImportedHasher::BcryptSha256Django,
            "bcrypt_sha256$$2b$04$FuazpNMNaK3td5PAPGluT.ZBrZnvRE9miNQXAUx4oeXSW.ZygbyK.",
            PW2,
        ),
        // argon2-cffi.
        (
            ImportedHasher::Argon2i,
            "$argon2i$v=19$m=64,t=1,p=1$xTyi04H96bHJKkdRR2gNUA$CbABsYq5yXaEV/OXFvmA/JoX7BVi0ybF99sr09Hy/ZE",
            PW,
        ),
        (
            ImportedHasher::Argon2i,
            "$argon2i$v=19$m=128,t=2,p=2$EMgH7e27GL/933L2HmSgmQ$t8dtEqIb5tI/xL/13ocQgDGQma+r4W3YO9WOpuyfrTg",
            PW2,
        ),
        (
            ImportedHasher::Argon2id,
            "$argon2id$v=19$m=64,t=1,p=1$2LQHfTtHECYIp+eQIKjpiw$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo",
            PW,
        ),
        (
            ImportedHasher::Argon2id,
            "$argon2id$v=19$m=128,t=2,p=2$A6ueDjqAnl+54vFris0VZQ$fr//pdJs+onAJzRIc9Vu5Iq7ork8VN1mWpXiODML6hs",
            PW2,
        ),
        // `hashlib.pbkdf2_hmac` with base64 salt and hash.
        (
            ImportedHasher::Pbkdf2Sha256,
            "pbkdf2_sha256$1000$GCFUrRYXwdFsODb9B1VMeA==$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI=",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha256,
            "pbkdf2_sha256$1500$5pqWNZ6tRNWylrwj$9wyZX3BZ7iX+xUkTk5C/wCkVFUjMNrAYMMhCSoBr8f4=",
            PW2,
        ),
        // Django's `PBKDF2PasswordHasher`.
        (
            ImportedHasher::Pbkdf2Sha256Django,
            "pbkdf2_sha256$1000$kL7OfOSWYcQJJVfKhJ7LW5$yAGDR63ERSMw5xN4ViCgRYjxWJkzTUri1THC72TCsfI=",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha256Django,
            "pbkdf2_sha256$1200$K0xRcQIvINH20601iiGWau$c5xRwRFGCAsLwkLO4FrgqrWBVbqsP+q+HfB/1Uv6LgI=",
            PW2,
        ),
        // `hashlib.pbkdf2_hmac`: raw salt with 20- and 32-byte keys, hex salt with a key length, and a
        // hex-looking salt used as text.
        (
            ImportedHasher::Pbkdf2Sha1,
            "pbkdf2_sha1$1000$rawSaltValue$4af864ccecbd2e90d5f525b26ff9f7d624e7cbd9",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha1,
            "pbkdf2_sha1$1000$rawSaltValue$4af864ccecbd2e90d5f525b26ff9f7d624e7cbd9e33132eca37568017966929b",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha1,
            "pbkdf2_sha1$1000$1c7b9a0a946686286d751dd4d98da82b$7fb0efc3de8b276cbe9a3a579438fbb7ecd4fc9a0eb500007e87520d1e467066$32",
            PW2,
        ),
        (
            ImportedHasher::Pbkdf2Sha1,
            "pbkdf2_sha1$1000$deadbeef$ed27404e24dde153e9bb1c410274aae740dff2dc68ba657a2f6c895a12070ca0",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha512,
            "pbkdf2_sha512$1000$someSalt$da6f749582bed5179c993c535a64e56e504effe750405783616d8d5f50bce89f9af9674c206d2780c2ea8ce7d5552e5b8a9a28299ef0620f7d9fd68727d8c36b",
            PW,
        ),
        (
            ImportedHasher::Pbkdf2Sha512Hex,
            "pbkdf2_sha512_hex$1000$4bc6f88f72589bf213b0642f72e794d0$a31f9a0068427949286a0939b8b2beebc5c275dd0621b831464588046749326fdf02a95b243ee1cb07a3b8e66fab7252c002b996746f92740c552bea94864b3d",
            PW,
        ),
        // passlib's `phpass`, with both identifiers.
        (ImportedHasher::Phpass, "$P$68YPvOe8etLx.ElzgxBrAvGxR7NKX00", PW),
        (ImportedHasher::Phpass, "$H$8z0uoqxnXEk6UJVJakNwdQn5m52HrN.", PW2),
        (ImportedHasher::Md5Phpass, "$P$6ycnc5Sn.sggthjZqAAEY6ctPsn.hm.", PW),
        (ImportedHasher::Md5Phpass, "$H$8mz8lHdSiEf/Q0Ii.TGc3twKrzPCiL.", PW2),
        // Firebase's published scrypt example (rounds 8, memory cost 14), then a low-cost one made with
        // `hashlib.scrypt` and AES-256-CTR from `cryptography`.
        (
            ImportedHasher::ScryptFirebase,
            "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$42xEC+ixf3L2lw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$Bw==$8$14",
            "user1password",
        ),
        (
            ImportedHasher::ScryptFirebase,
            "OM4hE1H0NsyJn3Zq2Rwgv30x+mn5Hn0GnVBhQOgjuOHQOJ8LR48YCRavFl/lhr2e4SEk0UryQajxai+O6AtQRw==$nkA6QR0/DRd1vwy7$yiect/t6QmFtDLY6+VPL5Fh0XmgVO44i2Xa4HQZSlOEysWdQ860nLzHHNomO8h7z71oHwwsi68g0q0KVCSQ7ug==$Bw==$2$8",
            PW2,
        ),
        // Werkzeug's `generate_password_hash`, then Clerk's documented form (leading `$`, base64 hash)
        // made with `hashlib.scrypt`.
        (
            ImportedHasher::ScryptWerkzeug,
            "scrypt:1024:8:1$GTbDNKhRzpAhLmyd$92d33abd80e35e3583afba0a52d318f436f85f75753a217655dd0d96d325e1abfca0b15c0d329f8fb0ae264209a747828a31fe7a3223d24945e18d49d4d257fd",
            PW,
        ),
        (
            ImportedHasher::ScryptWerkzeug,
            "scrypt:2048:4:2$t4QYt51g$90a55bf3242974b2433994524eb4449ee2c3f87e5590f4216db1405c72c86966c90cba70592a95ce52e1a3cb9620beb3129c7daf2901cb6d9a9d6fef77b638f9",
            PW2,
        ),
        (
            ImportedHasher::ScryptWerkzeug,
            "$scrypt:1024:8:1$clerkSalt$GTlxsXfgt7foUAjVgwLpEkttYPVscMfScjQgYL9cAW0yBqoa4sROfUOTvfNsibqx3ZGbVSqqZ1PpP8qaeSXfkA==",
            PW,
        ),
        // `hashlib`; upper-case hex is accepted too.
        (ImportedHasher::Sha256, "c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a", PW),
        (ImportedHasher::Sha256, "9F532DEC77F04C216765D5DAFA1E672174EC48D619A13DD6725A84797BDCE37A", PW2),
        (ImportedHasher::Md5, "9cc2ae8a1ba7a93da39b46fc1019c481", PW),
        (ImportedHasher::Md5, "52055ec49013639eee95b2c153b8c6cb", PW2),
        // `hashlib` over salt + password, then password + salt.
        (
            ImportedHasher::Sha256Salted,
            "NaCl$c7124467796ef676c7899dc49bbe06dc4b13e11f3f3b89fb82b9a7dd384bd562",
            PW,
        ),
        (
            ImportedHasher::Sha256Salted,
            "NaCl$cf0434ef87dab9ffbe1dd480271da270223d2fc5abcfe9f4b2c2fd50271c6c2a",
            PW,
        ),
        (ImportedHasher::Md5Salted, "NaCl$e1bc0bb1dc7906017e25f64330178c2f", PW),
        (ImportedHasher::Md5Salted, "NaCl$e44ddb7639bad95cbb9338a0657c8a78", PW),
        // passlib's `ldap_salted_sha1`, with 4- and 16-byte salts.
        (ImportedHasher::LdapSsha, "{SSHA}MHVw/eNbhqZFlT+dUx5lyBf5Zd0/xxhj", PW),
        (ImportedHasher::LdapSsha, "{SSHA}BvQCCD3y8llX5Kxy43sZN1Ge84iIEaI0JoRwrlVqrXXOOYcQ", PW2),
        // Symfony's `MessageDigestPasswordHasher('sha512', true, <iterations>)`, the last with no salt.
        (
            ImportedHasher::Sha512Symfony,
            "sha512_symfony$5000$symfonySalt$WYckBJfzkpFuTsKRbnlNHtPP4CRwSwN4qVs3iDIWXuBEQFt97kH3cgeXfuODemBXLfnG6d6sn7HVKgfc79qcig==",
            PW,
        ),
        (
            ImportedHasher::Sha512Symfony,
            "sha512_symfony$1$s2$0PtYq0GDje5qheiFcJVz6u+wgNW5rWW6FlBF3Vb/Fdg5Ydpqy4w9QqWLUtS5KHdNZP22i77row5CvXWcsk0BQQ==",
            PW2,
        ),
        (
            ImportedHasher::Sha512Symfony,
            "sha512_symfony$3$$oN5zea9FICfRMa0r8yBT29vb9bb11XN6+fuIYvs2WYzdWaaDyXdXbw1SBzG4xm+lYOiv0ST8o3d+CY7EL3MN5A==",
            PW,
        ),
    ];

    /// Digests that must be refused at import.
    const MALFORMED: &[(ImportedHasher, &str)] = &[
        (ImportedHasher::Bcrypt, ""),
        (ImportedHasher::Bcrypt, "$2b$04$9JiNjjYPCm3YN0RYIXDxb"),
        (ImportedHasher::Bcrypt, "$2c$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::Bcrypt, "$2b$03$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::Bcrypt, "$2b$32$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::Bcrypt, "$2b$04$9JiNjjYPCm3YN0RYIXDxb!mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::Bcrypt, "x2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::Bcrypt, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6$"),
        (ImportedHasher::Bcrypt, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslHé"),
        (ImportedHasher::BcryptPeppered, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::BcryptPeppered, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6xpepper"),
        (ImportedHasher::BcryptSha256Django, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::BcryptSha256Django, "bcrypt_sha256$$2b$04$short"),
        (
            ImportedHasher::Argon2i,
            "$argon2id$v=19$m=64,t=1,p=1$2LQHfTtHECYIp+eQIKjpiw$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo",
        ),
        (ImportedHasher::Argon2id, "$argon2id$v=19$m=64,t=1,p=1$2LQHfTtHECYIp+eQIKjpiw"),
        (
            ImportedHasher::Argon2id,
            "$argon2id$v=19$m=2097152,t=1,p=1$2LQHfTtHECYIp+eQIKjpiw$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo",
        ),
        (
            ImportedHasher::Argon2id,
            "$argon2id$v=18$m=64,t=1,p=1$2LQHfTtHECYIp+eQIKjpiw$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo",
        ),
        (
            ImportedHasher::Argon2id,
            "$argon2id$v=19$m=64,t=1000,p=1$2LQHfTtHECYIp+eQIKjpiw$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo",
        ),
        (ImportedHasher::Argon2id, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$kzO/dVwJnVyupvPoIVO+l8vj4yyQJS2aXiEggVPanzo"),
        (ImportedHasher::Argon2id, "argon2id"),
        (ImportedHasher::Md5, "9cc2ae8a1ba7a93da39b46fc1019c48"),
        (ImportedHasher::Md5, "9cc2ae8a1ba7a93da39b46fc1019c48g"),
        (ImportedHasher::Md5, "c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a"),
        (ImportedHasher::Md5Salted, "9cc2ae8a1ba7a93da39b46fc1019c481"),
        (ImportedHasher::Md5Salted, "NaCl$c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a"),
        (ImportedHasher::Sha256, "c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8"),
        (ImportedHasher::Sha256, "z4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a"),
        (ImportedHasher::Sha256Salted, "NaCl$9cc2ae8a1ba7a93da39b46fc1019c481"),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha512$1000$c2FsdHNhbHQ=$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$0$c2FsdHNhbHQ=$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$1e3$c2FsdHNhbHQ=$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$+1000$c2FsdHNhbHQ=$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (
            ImportedHasher::Pbkdf2Sha256,
            "pbkdf2_sha256$4294967295$c2FsdHNhbHQ=$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI=",
        ),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$1000$!!!$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$1000$c2FsdHNhbHQ=$AAAA"),
        (ImportedHasher::Pbkdf2Sha256, "pbkdf2_sha256$1000$c2FsdHNhbHQ="),
        (ImportedHasher::Pbkdf2Sha256Django, "pbkdf2_sha256$1000$salt$not base64"),
        (ImportedHasher::Pbkdf2Sha256Django, "pbkdf2_sha256$1000$$mxJWnJZDYVAmUymaXHy+RZ+T9h8QAHKJds+fbB/BUQI="),
        (ImportedHasher::Pbkdf2Sha1, "pbkdf2_sha1$1000$salt$4af864ccecbd2e90d5f525b26ff9f7d624e7cbzz"),
        (ImportedHasher::Pbkdf2Sha1, "pbkdf2_sha1$1000$salt$4af864ccecbd2e90d5f525b26ff9f7d624e7cbd9$32"),
        (ImportedHasher::Pbkdf2Sha1, "pbkdf2_sha1$1000$salt$4af864ccecbd2e90d5f525b26ff9f7d624e7cbd9$20$x"),
        (ImportedHasher::Pbkdf2Sha512, "pbkdf2_sha512_hex$1000$00$da6f749582bed5179c993c535a64e56e"),
        (ImportedHasher::Pbkdf2Sha512, "pbkdf2_sha512$1000$someSalt$not-hex"),
        (ImportedHasher::Pbkdf2Sha512Hex, "pbkdf2_sha512_hex$1000$someSalt$da6f749582bed5179c993c535a64e56e"),
        (ImportedHasher::Phpass, "$P$68YPvOe8etLx.ElzgxBrAvGxR7NKX0"),
        (ImportedHasher::Phpass, "$Q$68YPvOe8etLx.ElzgxBrAvGxR7NKX00"),
        (ImportedHasher::Phpass, "$P$48YPvOe8etLx.ElzgxBrAvGxR7NKX00"),
        (ImportedHasher::Phpass, "$P$z8YPvOe8etLx.ElzgxBrAvGxR7NKX00"),
        (ImportedHasher::Phpass, "$P$68YPvOe8etLx!ElzgxBrAvGxR7NKX00"),
        (ImportedHasher::Md5Phpass, "$2b$04$9JiNjjYPCm3YN0RYIXDxb.mCpg94EV9tKz1S9lNze.OGN0JbCslH6"),
        (ImportedHasher::ScryptFirebase, "aGFzaA==$c2FsdA==$c2lnbmVy$Bw==$8"),
        (ImportedHasher::ScryptFirebase, "c2lnbmVy$c2FsdA==$c2lnbmVy$Bw==$x$14"),
        (ImportedHasher::ScryptFirebase, "c2lnbmVy$c2FsdA==$c2lnbmVy$Bw==$8$40"),
        (ImportedHasher::ScryptFirebase, "aGFzaA==$c2FsdA==$c2lnbmVy$Bw==$8$14"),
        (ImportedHasher::ScryptFirebase, "!!!!$c2FsdA==$c2lnbmVy$Bw==$8$14"),
        (ImportedHasher::ScryptFirebase, "c2lnbmVy$c2FsdA==$c2lnbmVy$Bw==$0$14"),
        (ImportedHasher::ScryptWerkzeug, "pbkdf2:sha256:600000$salt$00112233445566778899aabbccddeeff"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1000:8:1$salt$00112233445566778899aabbccddeeff"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1073741824:8:1$salt$00112233445566778899aabbccddeeff"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1024:8$salt$00112233445566778899aabbccddeeff"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1024:8:1$00112233445566778899aabbccddeeff"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1024:8:1$salt$not valid"),
        (ImportedHasher::ScryptWerkzeug, "scrypt:1024:8:1$$00112233445566778899aabbccddeeff"),
        (ImportedHasher::LdapSsha, "{SHA}MHVw/eNbhqZFlT+dUx5lyBf5Zd0="),
        (ImportedHasher::LdapSsha, "{SSHA}MHVw/eNbhqZFlT+dUx5lyBf5Zd0="),
        (ImportedHasher::LdapSsha, "{SSHA}not base64!"),
        (ImportedHasher::Sha512Symfony, "sha512_symfony$0$salt$WYckBJfzkpFuTsKRbnlNHtPP4CRwSwN4qVs3iDIWXuBEQFt97kH3cgeXfuODemBXLfnG6d6sn7HVKgfc79qcig=="),
        (ImportedHasher::Sha512Symfony, "sha512_symfony$5000$salt$c2hvcnQ="),
        (ImportedHasher::Sha512Symfony, "sha512_symfony$5000$sa{l}t$WYckBJfzkpFuTsKRbnlNHtPP4CRwSwN4qVs3iDIWXuBEQFt97kH3cgeXfuODemBXLfnG6d6sn7HVKgfc79qcig=="),
        (ImportedHasher::Sha512Symfony, "5000$salt$WYckBJfzkpFuTsKRbnlNHtPP4CRwSwN4qVs3iDIWXuBEQFt97kH3cgeXfuODemBXLfnG6d6sn7HVKgfc79qcig=="),
    ];

    #[test]
    fn every_vector_passes_the_format_check_and_verifies() {
        for (hasher, digest, password) in VECTORS {
            assert_eq!(check_format(*hasher, digest), Ok(()), "{hasher}: {digest}");
            assert!(verify(*hasher, digest, password), "{hasher}: {digest}");
        }
    }

    #[test]
    fn wrong_passwords_do_not_verify() {
        for (hasher, digest, password) in VECTORS {
            for wrong in [
                "",
                "wrong password",
                &format!("{password}x"),
                &password.to_uppercase(),
            ] {
                assert!(
                    !verify(*hasher, digest, wrong),
                    "{hasher}: {digest} with {wrong:?}"
                );
            }
        }
    }

    #[test]
    fn every_hasher_has_a_vector() {
        for hasher in ImportedHasher::ALL {
            assert!(
                VECTORS.iter().any(|(h, _, _)| *h == hasher),
                "no vector for {hasher}"
            );
        }
    }

    #[test]
    fn a_digest_only_verifies_under_its_own_hasher() {
        for (hasher, digest, password) in VECTORS {
            for other in ImportedHasher::ALL {
                let same_scheme = matches!(
                    (hasher, other),
                    (ImportedHasher::Phpass, ImportedHasher::Md5Phpass)
                        | (ImportedHasher::Md5Phpass, ImportedHasher::Phpass)
                );
                if other != *hasher && !same_scheme {
                    assert!(
                        !verify(other, digest, password),
                        "{digest} verified as {other}"
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_digests_are_refused() {
        for (hasher, digest) in MALFORMED {
            let error = check_format(*hasher, digest).expect_err(digest);
            assert_eq!(error.hasher(), *hasher);
            assert!(!verify(*hasher, digest, PW), "{hasher}: {digest}");
        }
    }

    #[test]
    fn the_error_message_names_the_hasher_the_problem_and_the_layout() {
        let error = check_format(
            ImportedHasher::Pbkdf2Sha256,
            "pbkdf2_sha256$0$c2FsdA==$AAAA",
        )
        .expect_err("invalid");
        assert_eq!(
            error.reason(),
            "the iteration count is not between 1 and 10000000"
        );
        assert_eq!(
            error.to_string(),
            "password_digest is not a valid pbkdf2_sha256 digest: the iteration count is not between 1 and \
             10000000; expected `pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>`"
        );
        let error = check_format(ImportedHasher::Md5, "").expect_err("empty");
        assert_eq!(error.reason(), "it is empty");
    }

    #[test]
    fn oversized_inputs_are_refused_without_work() {
        let long = "a".repeat(MAX_DIGEST_LEN + 1);
        for hasher in ImportedHasher::ALL {
            assert!(check_format(hasher, &long).is_err());
            assert!(!verify(hasher, &long, PW));
        }
        let (hasher, digest, _) = VECTORS[0];
        assert!(!verify(hasher, digest, &"p".repeat(MAX_PASSWORD_LEN + 1)));
    }

    #[test]
    fn mangled_digests_never_panic() {
        // Every prefix, and every single-character substitution, of every vector with its iteration
        // count cut down (and without the costly Firebase example) so that the many verifications stay fast.
        let replacements = ['$', 'A', '0', 'é', '\0', '{', ':'];
        let cheap = VECTORS
            .iter()
            .filter(|(_, digest, _)| !digest.ends_with("$8$14"))
            .map(|(hasher, digest, password)| {
                let digest = ["$1000$", "$1200$", "$1500$", "$5000$"]
                    .iter()
                    .fold(digest.to_string(), |digest, count| {
                        digest.replacen(count, "$2$", 1)
                    });
                (*hasher, digest, *password)
            });
        for (hasher, digest, password) in cheap {
            for (index, _) in digest.char_indices() {
                let prefix = &digest[..index];
                let _ = check_format(hasher, prefix);
                let _ = verify(hasher, prefix, password);
                for replacement in replacements {
                    let mut mangled = digest.clone();
                    mangled.replace_range(index..index + 1, replacement.encode_utf8(&mut [0; 4]));
                    if check_format(hasher, &mangled).is_ok() {
                        let _ = verify(hasher, &mangled, password);
                    }
                }
            }
        }
    }

    #[test]
    fn clerk_reference_examples_pass_the_format_check() {
        let examples = [
            (
                ImportedHasher::Argon2i,
                "$argon2i$v=19$m=4096,t=3,p=1$4t6CL3P7YiHBtwESXawI8Hm20zJj4cs7/4/G3c187e0$m7RQFczcKr5bIR0IIxbpO2P0tyrLjf3eUW3M3QSwnLc",
            ),
            (
                ImportedHasher::Argon2id,
                "$argon2id$v=19$m=64,t=4,p=8$Z2liZXJyaXNo$iGXEpMBTDYQ8G/71tF0qGjxRHEmR3gpGULcE93zUJVU",
            ),
            (ImportedHasher::Md5, "5f4dcc3b5aa765d61d8327deb882cf99"),
            (ImportedHasher::Sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ];
        for (hasher, digest) in examples {
            assert_eq!(check_format(hasher, digest), Ok(()), "{digest}");
        }
        // The unsalted examples are the digests of "password" and "test".
        assert!(verify(
            ImportedHasher::Md5,
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "password"
        ));
        assert!(verify(
            ImportedHasher::Sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "test"
        ));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for hasher in ImportedHasher::ALL {
            assert_eq!(hasher.as_str().parse::<ImportedHasher>(), Ok(hasher));
            assert_eq!(hasher.to_string(), hasher.as_str());
        }
        for name in [
            "awscognito",
            "hmac_sha256_utf16_b64",
            "BCRYPT",
            "bcrypt ",
            "",
            "argon2",
        ] {
            let error = name.parse::<ImportedHasher>().expect_err(name);
            assert_eq!(error.name(), name);
        }
        assert_eq!(
            "awscognito"
                .parse::<ImportedHasher>()
                .map_err(|error| error.to_string()),
            Err("`awscognito` is not a supported password_hasher".to_owned())
        );
    }

    #[test]
    fn phpass_encoding_matches_the_framework_alphabet() {
        assert_eq!(
            phpass_encode(&[0u8; 16]),
            b"......................".to_vec()
        );
        assert_eq!(
            phpass_encode(&[0xffu8; 16]),
            b"zzzzzzzzzzzzzzzzzzzzz1".to_vec()
        );
    }
}
