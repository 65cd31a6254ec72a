//! Input values that are parsed once, at the edge, into types that cannot hold a bad value.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::{Error, Result};
use crate::text::Text;

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
            Err(Error::invalid(field, "must-be-mainland-mobile-number-11"))
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

/// What an erased account (`deleteMyAccount`) is called wherever its name was shown: its
/// display name, and the holder of its certificates (which still verify).
pub const ERASED_NAME: &str = "已注销";

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

    /// Length 8–128 characters, no control characters, not the account's own phone number and
    /// not one of the most common passwords; no composition rules (NIST SP 800-63B).
    pub fn parse(raw: &str, phone: &Phone, field: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Error::invalid(field, "must-be-at-least-8-characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(Error::invalid(field, "must-be-at-most-128-characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must-not-contain-control-characters"));
        }
        if is_phone_number(raw, phone) {
            return Err(Error::invalid(field, "must-not-be-phone-number-choose"));
        }
        if COMMON_PASSWORDS.contains(raw.to_lowercase().as_str()) {
            return Err(Error::invalid(field, "one-of-most-common-passwords-choose"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether `raw` spells `phone`: its digits (full-width ones too) once separators are dropped,
/// with or without the country code (`86`, `+86`, `0086`).
fn is_phone_number(raw: &str, phone: &Phone) -> bool {
    let mut digits = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            ' ' | '-' | '+' | '.' | '(' | ')' | '\u{3000}' | '－' | '＋' => {}
            _ => return false,
        }
    }
    let national = ["0086", "86"]
        .iter()
        .filter_map(|prefix| digits.strip_prefix(prefix))
        .find(|rest| rest.len() == 11)
        .unwrap_or(&digits);
    national == phone.as_str()
}

/// Characters that reorder the text around them: bidirectional embeddings, overrides, isolates
/// and marks. U+202E before `gnp.exe` makes it read as `exe.png`.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Characters that show nothing by themselves: spaces, zero-width characters and joiners, fillers
/// (Hangul), variation selectors, tags and other format characters.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// Refuses text that would mislead a reader: bidirectional controls anywhere, or (when not empty)
/// nothing visible at all. Shared by display names and every free-text field (`deps::text`).
pub(crate) fn check_readable(text: &str, field: &str) -> Result<()> {
    if text.chars().any(is_bidi_control) {
        return Err(Error::invalid(
            field,
            "must-not-contain-bidirectional-control-characters",
        ));
    }
    if !text.is_empty() && text.chars().all(is_invisible) {
        return Err(Error::invalid(field, "must-contain-visible-characters"));
    }
    Ok(())
}

/// What a volunteer is called in the apps: 1–40 characters after trimming, no control or
/// bidirectional control characters, and something visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(Error::invalid(field, "must-not-be-empty"));
        }
        if chars > Self::MAX_CHARS {
            return Err(Error::invalid(
                field,
                Text::new("must-be-at-most-n-characters").arg("max", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must-not-contain-control-characters"));
        }
        check_readable(trimmed, field)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` taken literally inside a `LIKE` pattern whose escape character is `\` (PostgreSQL's
/// default; SQLite needs `ESCAPE '\'`): `%`, `_` and `\` escaped.
pub fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
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
            let error = Phone::parse(raw, "phone").unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { ref field, .. } if field == "phone"),
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

    fn phone() -> Phone {
        Phone::parse("13812345678", "phone").unwrap()
    }

    #[test]
    fn passwords_are_checked_for_length_in_characters_not_bytes() {
        assert!(Password::parse("短密码短密码短", &phone(), "p").is_err());
        assert!(Password::parse("足够长的中文密码句子", &phone(), "p").is_ok());
        assert!(Password::parse(&"x".repeat(129), &phone(), "p").is_err());
        assert!(Password::parse(&"xy".repeat(64), &phone(), "p").is_ok());
    }

    #[test]
    fn the_phone_number_however_written_is_not_a_password() {
        for raw in [
            "13812345678",
            "+8613812345678",
            "8613812345678",
            "008613812345678",
            "+86 138 1234 5678",
            "138-1234-5678",
            "(+86) 138.1234.5678",
            "１３８１２３４５６７８",
        ] {
            let error = Password::parse(raw, &phone(), "password").unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { ref field, ref message } if field == "password" && message.render(crate::text::Locale::En).contains("phone")),
                "{raw}: {error}"
            );
        }
        // Another number, or the number inside a longer password, is not the phone.
        assert!(Password::parse("13812345679", &phone(), "p").is_ok());
        assert!(Password::parse("my 13812345678 walk", &phone(), "p").is_ok());
    }

    #[test]
    fn passwords_with_control_characters_are_refused() {
        for raw in [
            "patrol\u{0}at-dusk",
            "patrol\tat-dusk",
            "patrol\nat-dusk",
            "\u{1b}[31mpatrol-dusk",
            "patrol\u{7f}at-dusk",
            "patrol\u{85}at-dusk",
        ] {
            let error = Password::parse(raw, &phone(), "p").unwrap_err();
            assert!(error.to_string().contains("control"), "{raw:?}: {error}");
        }
        assert!(
            Password::parse("\u{7}\u{7}\u{7}\u{7}\u{7}\u{7}\u{7}\u{7}", &phone(), "p").is_err()
        );
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
                Password::parse(raw, &phone(), "p").is_err(),
                "{raw} should be refused"
            );
        }
        assert!(Password::parse("correct horse battery staple", &phone(), "p").is_ok());
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

    #[test]
    fn display_names_with_bidirectional_controls_are_refused() {
        for raw in [
            "admin\u{202E}gnp.exe",
            "\u{202A}黄飞鸿",
            "黄\u{202B}飞鸿",
            "黄飞鸿\u{202C}",
            "\u{202D}x",
            "a\u{2066}b\u{2069}",
            "a\u{2067}b",
            "a\u{2068}b",
            "a\u{200E}b",
            "a\u{200F}b",
            "a\u{061C}b",
        ] {
            let error = DisplayName::parse(raw, "displayName").unwrap_err();
            assert!(
                error.to_string().contains("bidirectional"),
                "{raw:?}: {error}"
            );
        }
    }

    #[test]
    fn display_names_of_only_invisible_characters_are_refused() {
        for raw in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{180E}",
            "\u{3000}\u{200B}\u{3000}",
            "\u{FE0F}",
            "\u{E0041}\u{E0042}",
            "\u{00AD}",
            "\u{2800}",
        ] {
            let error = DisplayName::parse(raw, "displayName").unwrap_err();
            assert!(
                matches!(error, Error::InvalidInput { ref field, .. } if field == "displayName"),
                "{raw:?}: {error}"
            );
        }
        // Joiners and selectors inside visible text are ordinary (emoji sequences use them).
        for raw in [
            "黄飞鸿",
            "👨\u{200D}👩\u{200D}👧",
            "❤\u{FE0F} 巡逻",
            "Ana María",
            "محمد",
        ] {
            assert!(DisplayName::parse(raw, "displayName").is_ok(), "{raw:?}");
        }
    }
}
