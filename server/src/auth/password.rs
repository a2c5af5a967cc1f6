//! Passwords: the account rules ([`check_credentials`]) and argon2id hashing (default
//! parameters: 19 MiB, 2 passes) into a buffer the hash gate keeps
//! ([`super::throttle::HashGate`]), with a dummy hash for constant-work failures.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Decimal, Ident, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::error::AuthError;
use crate::storage::StoreError;

/// Fewest characters (Unicode code points) of a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters (Unicode code points) of a password: at most 4 KiB of UTF-8, which
/// fits `api::MAX_CREDENTIALS_BYTES` even escaped.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks the account rules; returns the normalised (lower-case) name.
pub fn check_credentials(name: &str, password: &str) -> Result<String, AuthError> {
    let name = name.trim().to_lowercase();
    let ok_name = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok_name {
        return Err(AuthError::InvalidAccount(
            "a username is 3 to 64 characters of a-z, 0-9, '.', '_' or '-'".into(),
        ));
    }
    // Characters (code points), as the API document's `minLength`/`maxLength` count them.
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::InvalidAccount(format!(
            "a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a longer one"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::InvalidAccount(format!(
            "a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a shorter one"
        )));
    }
    Ok(name)
}

/// Argon2 of `password` with the given algorithm, version, parameters and salt, computed
/// in `memory` (a buffer the [`super::throttle::HashGate`] keeps per running hash and reuses, so hashing
/// allocates nothing and its memory is exactly the gate's size times 19 MiB).
fn argon2(
    password: &[u8],
    algorithm: Ident<'_>,
    version: Option<Decimal>,
    params: Params,
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let n = params.block_count();
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon = Argon2::new(
        Algorithm::try_from(algorithm)?,
        version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default(),
        params,
    );
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf)?;
    let mut larger;
    let blocks: &mut [Block] = if n <= Params::DEFAULT_M_COST as usize {
        if memory.len() < n {
            memory.resize(n, Block::default());
        }
        &mut memory[..n]
    } else {
        // A hash stored with more memory than the default: not from this server, but
        // still checked, with a buffer of its own.
        larger = vec![Block::default(); n];
        &mut larger
    };
    Output::init_with(len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut *blocks)?)
    })
}

/// A new argon2id hash (default parameters: 19 MiB, 2 passes) in PHC string form.
pub(super) fn hash_password(password: &str, memory: &mut Vec<Block>) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let version = Some(Version::V0x13.into());
    let mut phc = || -> password_hash::Result<String> {
        let hash = argon2(
            password.as_bytes(),
            Algorithm::Argon2id.ident(),
            version,
            params.clone(),
            salt.as_salt(),
            memory,
        )?;
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version,
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(hash),
        }
        .to_string())
    };
    phc().map_err(|e| AuthError::Store(StoreError::Internal(e.to_string())))
}

/// Whether `password` matches the PHC string `hash` (compared in constant time).
pub(super) fn verify_password(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected), Ok(params)) = (phc.salt, phc.hash, Params::try_from(&phc))
    else {
        return false;
    };
    argon2(
        password.as_bytes(),
        phc.algorithm,
        phc.version,
        params,
        salt,
        memory,
    )
    .is_ok_and(|out| out == expected)
}

/// An argon2id hash of a random password, for constant-work failures.
pub(super) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yw6pQ0cJ8oV0m3sQm1iZ2dVq1b3Yk2x8m0N6q9cWmA0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_rules() {
        assert_eq!(
            check_credentials(" Alice ", "correct horse").unwrap(),
            "alice"
        );
        assert!(check_credentials("al", "correct horse").is_err());
        assert!(check_credentials("bad name", "correct horse").is_err());
        assert!(check_credentials("alice", "short").is_err());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let memory = &mut Vec::new();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash_password("correct horse battery", memory).unwrap();
        let parsed = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, parsed.algorithm);
        assert_eq!(dummy.params, parsed.params, "same memory and passes");
        assert!(!verify_password(
            "correct horse battery",
            DUMMY_HASH,
            memory
        ));
        assert!(verify_password("correct horse battery", &real, memory));
        assert!(!verify_password("correct horse batterY", &real, memory));
    }

    #[test]
    fn hashes_of_the_argon2_crate_still_verify() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let memory = &mut Vec::new();
        assert!(verify_password("correct horse battery", &stored, memory));
        assert!(!verify_password("wrong horse battery", &stored, memory));
        let ours = hash_password("correct horse battery", memory).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
    }
}
