//! Input values that are parsed once, at the edge, into types that cannot hold a bad value.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::{Error, Result};

/// A mainland-China mobile number, normalised to its 11 digits (`13812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts `13812345678`, `+86 138 1234 5678`, `+86-138-1234-5678`; `field` names the argument
    /// in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let digits = compact.strip_prefix("+86").unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid {
            Ok(Self(digits.to_owned()))
        } else {
            Err(Error::invalid(
                field,
                "must be a mainland mobile number: 11 digits starting 13–19, optionally +86",
            ))
        }
    }

    /// Trusts a value that was normalised before it was stored.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`: what others may see.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks the middle four digits of a stored phone number.
pub fn mask_phone(phone: &str) -> String {
    if phone.len() == 11 && phone.is_ascii() {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "***********".to_owned()
    }
}

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

/// A password that passed the length and common-password checks. Never logged or displayed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// Length 8–128 characters and not one of the most common passwords; no composition rules
    /// (NIST SP 800-63B).
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Error::invalid(field, "must be at least 8 characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(Error::invalid(field, "must be at most 128 characters"));
        }
        if COMMON_PASSWORDS.contains(raw.to_lowercase().as_str()) {
            return Err(Error::invalid(
                field,
                "is one of the most common passwords; choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a volunteer is called in the apps: 1–40 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if chars > 40 {
            return Err(Error::invalid(field, "must be at most 40 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised_to_eleven_digits() {
        for raw in [
            "13812345678",
            "+8613812345678",
            "+86 138 1234 5678",
            " 138-1234-5678 ",
        ] {
            assert_eq!(Phone::parse(raw, "phone").unwrap().as_str(), "13812345678");
        }
    }

    #[test]
    fn numbers_that_are_not_mainland_mobiles_are_refused() {
        for raw in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "+1 2025550123",
            "1381234567x",
            "８１３８１２３４５６７",
        ] {
            let error = Phone::parse(raw, "input.phone").unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { ref field, .. } if field == "input.phone"),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_phone_is_masked_in_the_middle() {
        assert_eq!(
            Phone::parse("13812345678", "p").unwrap().masked(),
            "138****5678"
        );
    }

    #[test]
    fn passwords_are_checked_for_length_in_characters_not_bytes() {
        assert!(Password::parse("短密码短密码短", "p").is_err());
        assert!(Password::parse("足够长的中文密码句子", "p").is_ok());
        assert!(Password::parse(&"x".repeat(129), "p").is_err());
        assert!(Password::parse(&"xy".repeat(64), "p").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for raw in [
            "password",
            "PASSWORD1",
            "12345678",
            "woaini1314",
            "19900101",
            "1qaz2wsx",
            "Qwerty123",
        ] {
            assert!(
                Password::parse(raw, "p").is_err(),
                "{raw} should be refused"
            );
        }
        assert!(Password::parse("correct horse battery staple", "p").is_ok());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  黄飞鸿 ", "n").unwrap().as_str(),
            "黄飞鸿"
        );
        assert!(DisplayName::parse("   ", "n").is_err());
        assert!(DisplayName::parse(&"名".repeat(41), "n").is_err());
        assert!(DisplayName::parse("a\u{0}b", "n").is_err());
    }
}
