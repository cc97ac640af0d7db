//! argon2 with memory kept per thread.
//!
//! argon2id at Tessera's parameters works through 19 MiB per hash. Allocated
//! anew each time, that memory comes back from the allocator as fresh pages on
//! a busy server (a page fault per 4 KiB, and the pages zeroed), which cost a
//! fifth of every hash on the hashing threads. [`ReusedMemory`] runs the same
//! argon2 (same crate, same parameters, same PHC strings) over a buffer each
//! thread keeps for the next hash. Buffers are kept only up to the pool's own
//! parameters: a stored hash with a larger memory cost gets a buffer of its own.

use std::cell::RefCell;

use argon2::password_hash::{
    Decimal, Ident, Output, ParamsString, PasswordHash, PasswordHasher, Salt,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 (any variant and version named in a PHC string) whose working memory
/// is reused across hashes on each thread, up to the size `params` needs.
#[derive(Debug, Clone)]
pub struct ReusedMemory {
    /// The parameters of new hashes.
    pub params: Params,
}

/// Runs `f` over `count` memory blocks: this thread's kept buffer when `count`
/// is at most `keep`, a buffer of its own otherwise.
fn with_blocks<T>(count: usize, keep: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    if count > keep {
        let mut own = vec![Block::default(); count];
        return f(&mut own);
    }
    MEMORY.with(|cell| {
        let mut kept = cell.borrow_mut();
        if kept.len() < count {
            kept.resize(count, Block::default());
        }
        f(&mut kept[..count])
    })
}

impl PasswordHasher for ReusedMemory {
    type Params = Params;

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = salt.into();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(output_len, |out| {
            with_blocks(params.block_count(), self.params.block_count(), |memory| {
                argon2.hash_password_into_with_memory(password, salt_bytes, out, memory)
            })
            .map_err(Into::into)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }

    /// A new hash with this hasher's own parameters.
    fn hash_password<'a>(
        &self,
        password: &[u8],
        salt: impl Into<Salt<'a>>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        self.hash_password_customized(password, None, None, self.params.clone(), salt)
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordVerifier, SaltString};

    use super::*;

    fn params(m_cost: u32) -> Params {
        Params::new(m_cost, 2, 1, None).unwrap()
    }

    #[test]
    fn same_strings_as_the_allocating_hasher_both_ways() {
        let ours = ReusedMemory {
            params: params(1024),
        };
        let stock = Argon2::new(Algorithm::Argon2id, Version::V0x13, params(1024));
        let salt = SaltString::generate(&mut OsRng);
        let a = ours.hash_password(b"pw one", &salt).unwrap().to_string();
        let b = stock.hash_password(b"pw one", &salt).unwrap().to_string();
        assert_eq!(a, b);
        // Each verifies the other's hashes, and refuses a wrong password.
        let theirs = stock
            .hash_password(b"pw two", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let parsed = PasswordHash::new(&theirs).unwrap();
        assert!(ours.verify_password(b"pw two", &parsed).is_ok());
        assert!(ours.verify_password(b"pw three", &parsed).is_err());
        assert!(stock
            .verify_password(b"pw one", &PasswordHash::new(&a).unwrap())
            .is_ok());
    }

    #[test]
    fn other_variants_and_larger_costs_than_kept() {
        let ours = ReusedMemory {
            params: params(256),
        };
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id] {
            let stock = Argon2::new(algorithm, Version::V0x10, params(2048));
            let hash = stock
                .hash_password(b"legacy", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string();
            let parsed = PasswordHash::new(&hash).unwrap();
            assert!(ours.verify_password(b"legacy", &parsed).is_ok(), "{hash}");
            assert!(ours.verify_password(b"Legacy", &parsed).is_err());
        }
        // The thread's kept buffer never grew past the pool's own parameters.
        MEMORY.with(|cell| assert!(cell.borrow().len() <= 256));
    }
}
