//! Personal data at rest: AES-256-GCM with a fresh random 96-bit nonce per value, and an
//! HMAC-SHA256 blind index that finds equal ID numbers without decrypting any.
//!
//! Two keys are derived from the one data key (HMAC-SHA256 of the data key over a label), so
//! the index key is not the encryption key. Each sealed value is bound (associated data) to
//! its volunteer and its column: a value copied into another row or column does not open.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::ids::VolunteerId;

type HmacSha256 = Hmac<Sha256>;

/// Sealed values start with the format version, so the format (or key) can change later.
const VERSION: &str = "v1:";
const NONCE_BYTES: usize = 12;
pub const KEY_BYTES: usize = 32;

/// Which column a sealed value belongs to (part of its associated data).
#[derive(Debug, Clone, Copy)]
pub enum Column {
    Name,
    IdNumber,
}

impl Column {
    fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::IdNumber => "id_number",
        }
    }
}

/// Encrypts, decrypts and blind-indexes personal data with keys derived from the data key.
#[derive(Clone)]
pub struct DataCipher {
    aead: Aes256Gcm,
    index_key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher(***)")
    }
}

impl DataCipher {
    /// The data key: exactly 32 random bytes (`FEIHONG_DATA_KEY`, base64).
    pub fn new(data_key: &[u8]) -> Result<Self> {
        if data_key.len() != KEY_BYTES {
            return Err(Error::internal("the data key must be 32 bytes"));
        }
        let encryption_key = derive(data_key, b"feihong data encryption v1");
        Ok(Self {
            aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(encryption_key)),
            index_key: derive(data_key, b"feihong id number blind index v1"),
        })
    }

    /// `v1:` and base64 of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, volunteer: VolunteerId, column: Column, plaintext: &str) -> Result<String> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let aad = associated_data(volunteer, column);
        let sealed = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("encryption failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", STANDARD.encode(bytes)))
    }

    /// The plaintext of a value sealed for this volunteer and column. A wrong key, a tampered
    /// or moved value is an internal error that names nothing of the value.
    pub fn open(&self, volunteer: VolunteerId, column: Column, stored: &str) -> Result<String> {
        let unreadable = || Error::internal(format!("a sealed {} does not open", column.label()));
        let bytes = stored
            .strip_prefix(VERSION)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .filter(|bytes| bytes.len() > NONCE_BYTES)
            .ok_or_else(unreadable)?;
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| unreadable())?;
        let aad = associated_data(volunteer, column);
        let plain = self
            .aead
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| unreadable())?;
        String::from_utf8(plain).map_err(|_| unreadable())
    }

    /// Hex HMAC-SHA256 of the normalised ID number under the index key: equal numbers give
    /// equal indexes, and the index reveals nothing without the key.
    pub fn blind_index(&self, normalised: &str) -> String {
        let digest = derive(&self.index_key, normalised.as_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// A new data key: base64 of 32 random bytes (what `FEIHONG_DATA_KEY` holds).
pub fn generate_key() -> String {
    let bytes: [u8; KEY_BYTES] = rand::random();
    STANDARD.encode(bytes)
}

fn derive(key: &[u8], message: &[u8]) -> [u8; KEY_BYTES] {
    #[allow(clippy::expect_used)]
    let mut mac =
        <HmacSha256 as hmac::Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn associated_data(volunteer: VolunteerId, column: Column) -> String {
    format!(
        "feihong/volunteer_real_names/{}/{}",
        volunteer.0,
        column.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> DataCipher {
        DataCipher::new(&[byte; KEY_BYTES]).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_row_and_column_only() {
        let cipher = cipher(7);
        let sealed = cipher.seal(VolunteerId(1), Column::Name, "黄飞鸿").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("黄飞鸿"));
        assert_eq!(
            cipher.open(VolunteerId(1), Column::Name, &sealed).unwrap(),
            "黄飞鸿"
        );
        assert!(cipher.open(VolunteerId(2), Column::Name, &sealed).is_err());
        assert!(
            cipher
                .open(VolunteerId(1), Column::IdNumber, &sealed)
                .is_err()
        );
    }

    #[test]
    fn every_sealing_uses_a_fresh_nonce() {
        let cipher = cipher(7);
        let a = cipher.seal(VolunteerId(1), Column::Name, "黄飞鸿").unwrap();
        let b = cipher.seal(VolunteerId(1), Column::Name, "黄飞鸿").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn another_key_or_a_tampered_value_does_not_open() {
        let sealed = cipher(7)
            .seal(VolunteerId(1), Column::Name, "黄飞鸿")
            .unwrap();
        assert!(
            cipher(8)
                .open(VolunteerId(1), Column::Name, &sealed)
                .is_err()
        );
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1:{}", STANDARD.encode(bytes));
        assert!(
            cipher(7)
                .open(VolunteerId(1), Column::Name, &tampered)
                .is_err()
        );
        assert!(cipher(7).open(VolunteerId(1), Column::Name, "v1:").is_err());
    }

    #[test]
    fn blind_indexes_are_stable_keyed_and_not_the_number() {
        let index = cipher(7).blind_index("11010519491231002X");
        assert_eq!(index, cipher(7).blind_index("11010519491231002X"));
        assert_ne!(index, cipher(8).blind_index("11010519491231002X"));
        assert_ne!(index, cipher(7).blind_index("440604199003071236"));
        assert_eq!(index.len(), 64);
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        assert!(DataCipher::new(&[0; 31]).is_err());
        assert!(DataCipher::new(&[0; 33]).is_err());
    }
}
