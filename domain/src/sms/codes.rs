//! The rules of a one-time code, as pure functions: six digits from a CSPRNG, stored as an
//! HMAC-SHA256 bound to the phone and the purpose, compared in constant time.

use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

/// What a code is for: a LOGIN code cannot reset a password, nor the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    Login,
    ResetPassword,
}

impl SmsPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "LOGIN",
            Self::ResetPassword => "RESET_PASSWORD",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "LOGIN" => Some(Self::Login),
            "RESET_PASSWORD" => Some(Self::ResetPassword),
            _ => None,
        }
    }
}

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// A fresh code: six decimal digits, uniformly drawn from the thread's CSPRNG (ChaCha, seeded and
/// reseeded from the operating system).
pub fn generate_code() -> String {
    let number: u32 = rand::rng().random_range(0..1_000_000);
    format!("{number:06}")
}

/// Whether `code` has the shape of a code (a malformed one is refused without spending a try).
pub fn well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())
}

type HmacSha256 = Hmac<Sha256>;

/// The key codes are hashed with: derived from the server secret, so a copy of the database
/// alone cannot test the million candidates of a code.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl CodeKey {
    pub fn derive(server_secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(server_secret).expect("HMAC takes any key length");
        mac.update(b"feihong sms one-time code v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, phone: &str, purpose: SmsPurpose, code: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in [phone, purpose.as_str(), code] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// What is stored for a code: the hex HMAC of phone, purpose and code.
    pub fn hash(&self, phone: &str, purpose: SmsPurpose, code: &str) -> String {
        let digest = self.mac(phone, purpose, code).finalize().into_bytes();
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `code` is the one `stored` was made from, compared in constant time.
    pub fn matches(&self, phone: &str, purpose: SmsPurpose, code: &str, stored: &str) -> bool {
        let Some(expected) = from_hex(stored) else {
            return false;
        };
        self.mac(phone, purpose, code)
            .verify_slice(&expected)
            .is_ok()
    }
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let code = generate_code();
            assert!(well_formed(&code), "{code}");
        }
        assert!(!well_formed("12345") && !well_formed("1234567") && !well_formed("12345a"));
        assert!(!well_formed("１２３４５６"));
    }

    #[test]
    fn a_code_matches_only_its_phone_and_purpose() {
        let key = CodeKey::derive(b"server secret of at least some length");
        let stored = key.hash("13800000000", SmsPurpose::Login, "123456");
        assert_eq!(stored.len(), 64);
        assert!(key.matches("13800000000", SmsPurpose::Login, "123456", &stored));
        assert!(!key.matches("13800000000", SmsPurpose::Login, "123457", &stored));
        assert!(!key.matches("13800000001", SmsPurpose::Login, "123456", &stored));
        assert!(!key.matches("13800000000", SmsPurpose::ResetPassword, "123456", &stored));
        assert!(!key.matches("13800000000", SmsPurpose::Login, "123456", "zz"));
        let other = CodeKey::derive(b"another server secret");
        assert!(!other.matches("13800000000", SmsPurpose::Login, "123456", &stored));
    }

    #[test]
    fn purposes_round_trip() {
        for purpose in [SmsPurpose::Login, SmsPurpose::ResetPassword] {
            assert_eq!(SmsPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(SmsPurpose::parse("OTHER"), None);
    }
}
