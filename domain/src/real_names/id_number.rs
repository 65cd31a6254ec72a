//! The 18-character resident identity number (GB 11643-1999): a six-digit area code, the birth
//! date as `YYYYMMDD`, a three-digit sequence and an ISO 7064 MOD 11-2 check character.

use chrono::NaiveDate;

use crate::error::{Error, Result};

/// Weights of the first 17 digits (2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum mod 11.
const CHECK_CHARACTERS: &[u8; 11] = b"10X98765432";
/// Province-level codes in use: the first two digits of every area code.
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];
/// The earliest birth year accepted.
const EARLIEST_BIRTH: (i32, u32, u32) = (1900, 1, 1);

pub const SHAPE: &str = "id-number-shape";
pub const CHECK: &str = "id-number-check-character";
pub const BIRTH_DATE: &str = "id-number-birth-date";
pub const AREA: &str = "id-number-area-code";

/// A well-formed resident ID number, normalised (upper-case `X`). Its `Debug` shows only the
/// masked form, so it never reaches a log whole.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl IdNumber {
    /// Checks shape, check character, area prefix and birth date (1900-01-01 ..= `today`).
    /// Error messages never repeat the number.
    pub fn parse(raw: &str, field: &str, today: NaiveDate) -> Result<Self> {
        let normalised = raw.trim().to_ascii_uppercase();
        let bytes = normalised.as_bytes();
        let shaped = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if !shaped {
            return Err(Error::invalid(field, SHAPE));
        }
        if check_character(&bytes[..17]) != bytes[17] {
            return Err(Error::invalid(field, CHECK));
        }
        if !PROVINCES.contains(&digits(&bytes[0..2])) {
            return Err(Error::invalid(field, AREA));
        }
        let birth = birth_date(&bytes[6..14]).ok_or_else(|| Error::invalid(field, BIRTH_DATE))?;
        let earliest =
            NaiveDate::from_ymd_opt(EARLIEST_BIRTH.0, EARLIEST_BIRTH.1, EARLIEST_BIRTH.2);
        if earliest.is_none_or(|earliest| birth < earliest) || birth > today {
            return Err(Error::invalid(field, BIRTH_DATE));
        }
        Ok(Self(normalised))
    }

    /// The whole number, for encryption and the blind index only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `4406**********123X`: the first four and last four characters.
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
}

/// The first four and last four characters of an 18-character number, the rest starred.
pub fn mask_id_number(number: &str) -> String {
    if number.len() == 18 && number.is_ascii() {
        format!("{}{}{}", &number[..4], "*".repeat(10), &number[14..])
    } else {
        "*".repeat(18)
    }
}

/// The check character of the first 17 digits (ASCII), by the GB 11643 weights.
fn check_character(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK_CHARACTERS[(sum % 11) as usize]
}

fn digits(ascii: &[u8]) -> u32 {
    ascii
        .iter()
        .fold(0, |n, digit| n * 10 + u32::from(digit - b'0'))
}

/// `YYYYMMDD` as a calendar date, if there is such a day (chrono checks month lengths and leap
/// years).
fn birth_date(ascii: &[u8]) -> Option<NaiveDate> {
    let year = i32::try_from(digits(&ascii[0..4])).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&ascii[4..6]), digits(&ascii[6..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    /// Completes 17 digits with their check character.
    fn with_check(first17: &str) -> String {
        let check = check_character(first17.as_bytes());
        format!("{first17}{}", check as char)
    }

    fn message(raw: &str) -> String {
        match IdNumber::parse(raw, "idNumber", today()) {
            Err(Error::InvalidInput { message, .. }) => message.key,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_standards_example_number_is_accepted() {
        // The worked example of GB 11643-1999 (Beijing, born 1949-12-31).
        let id = IdNumber::parse("11010519491231002X", "idNumber", today()).unwrap();
        assert_eq!(id.expose(), "11010519491231002X");
    }

    #[test]
    fn a_lower_case_x_is_normalised() {
        let id = IdNumber::parse(" 11010519491231002x ", "idNumber", today()).unwrap();
        assert_eq!(id.expose(), "11010519491231002X");
    }

    #[test]
    fn check_characters_follow_the_weights() {
        assert_eq!(with_check("44060419900307123"), "440604199003071236");
        assert_eq!(check_character(b"11010519491231002"), b'X');
        // Remainder 0 → '1', remainder 1 → '0' (the map "10X98765432").
        assert_eq!(CHECK_CHARACTERS[0], b'1');
        assert_eq!(CHECK_CHARACTERS[1], b'0');
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert_eq!(message("110105194912310021"), CHECK);
        assert_eq!(message("440604199003071235"), CHECK);
    }

    #[test]
    fn numbers_of_the_wrong_shape_are_refused() {
        for raw in [
            "",
            "11010519491231002",
            "11010519491231002XX",
            "1101051949123100X2",
            "11010519491231002Y",
            "１１０１０５１９４９１２３１００２X",
        ] {
            assert_eq!(message(raw), SHAPE, "{raw}");
        }
    }

    #[test]
    fn impossible_and_future_birth_dates_are_refused() {
        for first17 in [
            "44060419900230123", // 30 February
            "44060419891301123", // month 13
            "44060420230229123", // not a leap year
            "44060418991231123", // before 1900
            "44060420261201123", // tomorrow
        ] {
            assert_eq!(message(&with_check(first17)), BIRTH_DATE, "{first17}");
        }
        assert!(IdNumber::parse(&with_check("44060420240229123"), "idNumber", today()).is_ok());
        assert!(IdNumber::parse(&with_check("44060420261130123"), "idNumber", today()).is_ok());
        assert!(IdNumber::parse(&with_check("44060419000101123"), "idNumber", today()).is_ok());
    }

    #[test]
    fn unknown_province_codes_are_refused() {
        for prefix in [
            "00", "10", "16", "20", "24", "30", "38", "47", "55", "60", "66", "72", "84", "99",
        ] {
            assert_eq!(
                message(&with_check(&format!("{prefix}060419900307123"))),
                AREA,
                "{prefix}"
            );
        }
        for prefix in ["11", "15", "23", "37", "46", "54", "65", "71", "81", "83"] {
            assert!(
                IdNumber::parse(
                    &with_check(&format!("{prefix}060419900307123")),
                    "idNumber",
                    today()
                )
                .is_ok(),
                "{prefix}"
            );
        }
    }

    #[test]
    fn the_number_is_masked_to_its_first_and_last_four() {
        let id = IdNumber::parse(&with_check("44060419900307123"), "idNumber", today()).unwrap();
        assert_eq!(id.masked(), "4406**********1236");
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(4406**********1236)");
    }

    #[test]
    fn error_messages_never_repeat_the_number() {
        let raw = with_check("44060419900230123");
        assert!(!message(&raw).contains("4406"));
    }
}
