//! Password hashing: argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), stored as
//! PHC strings. Hashing is CPU-heavy by design, so it runs on the blocking pool and at most
//! `max_concurrent` hashes run at once: a login storm queues here instead of starving requests.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::values::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the phone is unknown so that an
    /// unknown phone costs the same time as a wrong password.
    decoy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants that Params::new accepts; a failure here is a programming error.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| Error::internal(format!("argon2: {error}")))
}

fn verify_blocking(password: &str, phc: &str) -> Result<bool> {
    let parsed =
        PasswordHash::new(phc).map_err(|error| Error::internal(format!("stored hash: {error}")))?;
    Ok(argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Result<Self> {
        let decoy_password: String = uuid::Uuid::new_v4().to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            decoy_hash: Arc::new(hash_blocking(&decoy_password)?),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Unavailable("password hashing"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| Error::internal(format!("hashing task: {error}")))?
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await
    }

    /// Verifies against the stored hash, or against the decoy when there is none.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let known = stored.is_some();
        let phc = stored.unwrap_or(&self.decoy_hash).to_owned();
        let password = password.to_owned();
        let matches = self.run(move || verify_blocking(&password, &phc)).await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_and_no_other() {
        let hasher = PasswordHasher::new(2).unwrap();
        let phone = crate::values::Phone::parse("13812345678", "phone").unwrap();
        let password = Password::parse("a long enough secret", &phone, "p").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("a long enough secret", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("another secret here", Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(1).unwrap();
        assert!(!hasher.verify("whatever it is", None).await.unwrap());
    }
}
