//! The legal name as written on the resident ID card.

use crate::error::{Error, Result};
use crate::values::check_readable;

pub const LENGTH: &str = "real-name-length";
pub const LETTERS: &str = "real-name-letters";

/// The middle dot between the parts of a transliterated name (`阿依古丽·买买提`).
const MIDDLE_DOT: char = '\u{00B7}';

/// A real name: 2–30 characters after trimming, either Chinese characters with middle dots
/// between parts, or Latin letters with single spaces between words. Bidirectional controls
/// and invisible text are refused by the same rules as display names (`values::check_readable`).
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct RealName(String);

impl std::fmt::Debug for RealName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RealName(***)")
    }
}

impl RealName {
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let trimmed = raw.trim();
        check_readable(trimmed, field)?;
        let chars = trimmed.chars().count();
        if !(2..=30).contains(&chars) {
            return Err(Error::invalid(field, LENGTH));
        }
        if !(is_chinese_name(trimmed) || is_latin_name(trimmed)) {
            return Err(Error::invalid(field, LETTERS));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Han characters, with single middle dots between them (never first, last or doubled).
fn is_chinese_name(name: &str) -> bool {
    name.split(MIDDLE_DOT)
        .all(|part| !part.is_empty() && part.chars().all(is_han))
}

/// Latin letters, with single spaces between words.
fn is_latin_name(name: &str) -> bool {
    name.split(' ')
        .all(|word| !word.is_empty() && word.chars().all(is_latin_letter))
}

fn is_han(c: char) -> bool {
    matches!(
        c,
        '\u{4E00}'..='\u{9FFF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{20000}'..='\u{2A6DF}'
            | '\u{2A700}'..='\u{2EBEF}'
            | '\u{30000}'..='\u{3134F}'
            | '\u{F900}'..='\u{FAFF}'
    )
}

/// ASCII letters and the accented letters of Latin-1 and Latin Extended-A/B.
fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c, '\u{00C0}'..='\u{024F}') && c != '\u{00D7}' && c != '\u{00F7}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        match RealName::parse(raw, "name") {
            Err(Error::InvalidInput { message, .. }) => message.key,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn chinese_latin_and_dotted_names_are_accepted() {
        for name in [
            "黄飞鸿",
            "欧阳",
            "阿依古丽·买买提",
            "Wong Fei Hung",
            "José Müller",
            "Li",
        ] {
            assert_eq!(RealName::parse(name, "name").unwrap().as_str(), name);
        }
        assert_eq!(
            RealName::parse("  黄飞鸿 ", "name").unwrap().as_str(),
            "黄飞鸿"
        );
    }

    #[test]
    fn names_are_two_to_thirty_characters() {
        assert_eq!(message("黄"), LENGTH);
        assert_eq!(message(&"黄".repeat(31)), LENGTH);
        assert!(RealName::parse(&"黄".repeat(30), "name").is_ok());
    }

    #[test]
    fn digits_symbols_mixed_scripts_and_stray_dots_are_refused() {
        for name in [
            "黄飞鸿1",
            "黄 飞鸿",
            "Wong黄",
            "·黄飞",
            "黄飞·",
            "黄··飞",
            "Wong  Fei",
            "<b>x</b>",
            "Wong.Fei",
        ] {
            assert_eq!(message(name), LETTERS, "{name}");
        }
    }

    #[test]
    fn bidirectional_controls_are_refused() {
        assert!(message("黄\u{202E}飞鸿").contains("bidirectional"));
    }

    #[test]
    fn the_name_never_shows_in_debug_output() {
        let name = RealName::parse("黄飞鸿", "name").unwrap();
        assert_eq!(format!("{name:?}"), "RealName(***)");
    }
}
