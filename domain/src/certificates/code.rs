//! Certificate codes: `FH-` and 17 Crockford base32 characters: 80 random bits (16 characters),
//! so they cannot be guessed or enumerated, and a Luhn mod 32 check character, so a mistyped
//! code is refused without a lookup.

use rand::RngCore as _;

const CODE_PREFIX: &str = "FH-";
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 80 random bits in 5-bit characters.
const RANDOM_CHARS: usize = 16;

/// Luhn mod 32 over character values: catches every single wrong character and every swap of
/// two neighbours except `0`↔`Z`.
fn check_value(values: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, value) in values.iter().rev().enumerate() {
        let addend = u32::from(*value) * if i % 2 == 0 { 2 } else { 1 };
        sum += addend / 32 + addend % 32;
    }
    ((32 - sum % 32) % 32) as u8
}

fn encode(values: &[u8]) -> String {
    values
        .iter()
        .map(|value| char::from(ALPHABET[usize::from(*value & 31)]))
        .collect()
}

/// A fresh code from 80 random bits.
pub(super) fn new_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let bits = bytes
        .iter()
        .fold(0u128, |bits, byte| (bits << 8) | u128::from(*byte));
    let mut values: Vec<u8> = (0..RANDOM_CHARS)
        .rev()
        .map(|group| ((bits >> (group * 5)) & 31) as u8)
        .collect();
    values.push(check_value(&values));
    format!("{CODE_PREFIX}{}", encode(&values))
}

/// The canonical form of a typed code, or None when it cannot be one of ours.
pub fn normalize_code(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let body = compact.strip_prefix("FH")?;
    let values = body
        .chars()
        .map(|c| match c {
            'O' => Some(0),
            'I' | 'L' => Some(1),
            _ => ALPHABET
                .iter()
                .position(|a| char::from(*a) == c)
                .map(|value| value as u8),
        })
        .collect::<Option<Vec<u8>>>()?;
    let (data, check) = values.split_at_checked(RANDOM_CHARS)?;
    if check.len() != 1 || check_value(data) != check[0] {
        return None;
    }
    Some(format!("{CODE_PREFIX}{}", encode(&values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_read_back_in_any_typed_form() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_PREFIX.len() + RANDOM_CHARS + 1);
            assert_eq!(normalize_code(&code).as_deref(), Some(code.as_str()));
            let typed = format!(
                " {} ",
                code.to_lowercase().replace('0', "o").replace('1', "l")
            );
            assert_eq!(normalize_code(&typed).as_deref(), Some(code.as_str()));
        }
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn a_mistyped_character_or_swapped_neighbours_are_refused() {
        for _ in 0..100 {
            let chars: Vec<char> = new_code().chars().collect();
            mistypes_are_refused(&chars);
        }
    }

    fn mistypes_are_refused(chars: &[char]) {
        for i in CODE_PREFIX.len()..chars.len() {
            for replacement in ALPHABET.iter().map(|a| char::from(*a)) {
                if replacement != chars[i] {
                    let mut typo = chars.to_vec();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(normalize_code(&typo), None, "{typo}");
                }
            }
            let pair = [chars[i], chars.get(i + 1).copied().unwrap_or(chars[i])];
            if pair[0] != pair[1] && pair != ['0', 'Z'] && pair != ['Z', '0'] {
                let mut swapped = chars.to_vec();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                assert_eq!(normalize_code(&swapped), None, "{swapped}");
            }
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let code = new_code();
        for malformed in [
            "",
            "FH-",
            "FH-0000",
            "XX-0000000000000000",
            "FH-000000000000000U0",
        ] {
            assert_eq!(normalize_code(malformed), None, "{malformed}");
        }
        assert_eq!(normalize_code(&format!("{code}0")), None, "too long");
    }
}
