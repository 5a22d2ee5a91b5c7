//! Chinese identifiers: resident identity numbers (GB 11643-1999) and unified social
//! credit codes (GB 32100-2015).
//!
//! Identity resolution merges rows that share a *valid* identifier, so a typo must never be
//! able to merge two people: every check the standards define is applied, and a value that
//! fails one is reported, never "repaired".

use crate::date::Date;
use crate::normalize::fold_width;

/// Why an identifier was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// Neither 15 nor 18 characters (resident ID), or not 18 (credit code).
    #[error("has {found} characters, expected {expected}")]
    Length {
        /// Characters found.
        found: usize,
        /// What the standard allows.
        expected: &'static str,
    },
    /// A character outside the standard's alphabet.
    #[error("character {ch:?} at position {pos} is not allowed there")]
    Char {
        /// The offending character.
        ch: char,
        /// 1-based position in the identifier.
        pos: usize,
    },
    /// The first two digits are not a province-level region code.
    #[error("region code {0} is not a province-level code")]
    Region(String),
    /// The embedded birth date is not a real day, or lies in the future.
    #[error("embedded birth date {0} is not a real past day")]
    BirthDate(String),
    /// The check character does not match.
    #[error("check character is {found}, the standard gives {expected}")]
    Check {
        /// Check character in the value.
        found: char,
        /// Check character computed from the body.
        expected: char,
    },
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";
/// Province-level codes: mainland provinces, Taiwan (71), Hong Kong (81), Macau (82),
/// Taiwan residence permits (83) and foreigners' permanent residence cards (91).
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91,
];

/// A valid resident identity number, always in its 18-character form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    value: String,
    birth: Date,
}

impl ResidentId {
    /// Validates a resident identity number.
    ///
    /// Accepts the 18-character form (17 digits and a check character, `X` in either case)
    /// and the 15-digit form issued before 1999, which is converted (century 19, check
    /// character computed). Full-width digits are folded first.
    pub fn parse(raw: &str) -> Result<ResidentId, IdentError> {
        let raw = raw.trim();
        if raw.len() == 18 && raw.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
            return Self::parse_18(raw.as_bytes());
        }
        let s: String = fold_width(raw).to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        let body: String = match chars.len() {
            18 => {
                check_digits(&chars[..17])?;
                if !(chars[17].is_ascii_digit() || chars[17] == 'X') {
                    return Err(IdentError::Char {
                        ch: chars[17],
                        pos: 18,
                    });
                }
                chars[..17].iter().collect()
            }
            15 => {
                check_digits(&chars)?;
                let mut b: String = chars[..6].iter().collect();
                b.push_str("19");
                b.extend(&chars[6..]);
                b
            }
            n => {
                return Err(IdentError::Length {
                    found: n,
                    expected: "18 (or 15 for the legacy form)",
                })
            }
        };
        let province: u32 = body[..2].parse().unwrap_or(0);
        if !PROVINCES.contains(&province) {
            return Err(IdentError::Region(body[..6].to_owned()));
        }
        let birth = parse_ymd(&body[6..14]).filter(|d| d.0 <= Date::today().0 && d.ymd().0 >= 1800);
        let Some(birth) = birth else {
            return Err(IdentError::BirthDate(body[6..14].to_owned()));
        };
        let expected = resident_check_char(&body);
        if chars.len() == 18 && chars[17] != expected {
            return Err(IdentError::Check {
                found: chars[17],
                expected,
            });
        }
        let mut value = body;
        value.push(expected);
        Ok(ResidentId { value, birth })
    }

    /// The common case without allocation: 17 ASCII digits and a check character.
    fn parse_18(b: &[u8]) -> Result<ResidentId, IdentError> {
        let last = char::from(b[17].to_ascii_uppercase());
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(IdentError::Char {
                ch: char::from(b[17]),
                pos: 18,
            });
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'))
        };
        if !PROVINCES.contains(&num(0..2)) {
            return Err(IdentError::Region(
                String::from_utf8_lossy(&b[..6]).into_owned(),
            ));
        }
        let birth = Date::from_ymd(num(6..10) as i32, num(10..12), num(12..14))
            .filter(|d| d.0 <= Date::today().0 && d.ymd().0 >= 1800)
            .ok_or_else(|| {
                IdentError::BirthDate(String::from_utf8_lossy(&b[6..14]).into_owned())
            })?;
        let sum: u32 = b[..17]
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        let expected = char::from(ID_CHECK[(sum % 11) as usize]);
        if last != expected {
            return Err(IdentError::Check {
                found: last,
                expected,
            });
        }
        let mut value = String::with_capacity(18);
        value.push_str(std::str::from_utf8(&b[..17]).unwrap_or_default());
        value.push(expected);
        Ok(ResidentId { value, birth })
    }

    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The birth date embedded in the number.
    pub fn birth_date(&self) -> Date {
        self.birth
    }

    /// Whether the sequence number marks a man (odd) or a woman (even).
    pub fn is_male(&self) -> bool {
        self.value.as_bytes()[16] % 2 == 1
    }
}

/// The GB 11643 check character of a 17-digit body.
pub fn resident_check_char(body17: &str) -> char {
    let sum: u32 = body17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    char::from(ID_CHECK[(sum % 11) as usize])
}

fn check_digits(chars: &[char]) -> Result<(), IdentError> {
    match chars.iter().position(|c| !c.is_ascii_digit()) {
        Some(i) => Err(IdentError::Char {
            ch: chars[i],
            pos: i + 1,
        }),
        None => Ok(()),
    }
}

fn parse_ymd(s: &str) -> Option<Date> {
    let y = s.get(0..4)?.parse().ok()?;
    let m = s.get(4..6)?.parse().ok()?;
    let d = s.get(6..8)?.parse().ok()?;
    Date::from_ymd(y, m, d)
}

/// The GB 32100 alphabet: digits and capital letters without I, O, S, V, Z.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid unified social credit code (统一社会信用代码).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Validates a credit code: 18 characters of the GB 32100 alphabet, a six-digit region
    /// code in positions 3-8, and the check character.
    ///
    /// The first two positions (registration authority, organisation category) are not
    /// restricted beyond the alphabet: authorities such as `A` (military), `N` (agriculture)
    /// and `Y` (others) issue valid codes that a digit-only check would wrongly reject.
    pub fn parse(raw: &str) -> Result<CreditCode, IdentError> {
        let s: String = fold_width(raw.trim()).to_ascii_uppercase();
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 18 {
            return Err(IdentError::Length {
                found: chars.len(),
                expected: "18",
            });
        }
        let mut values = [0u32; 18];
        for (i, &c) in chars.iter().enumerate() {
            let v = u8::try_from(c)
                .ok()
                .and_then(|b| USCC_ALPHABET.iter().position(|&a| a == b));
            match v {
                Some(v) if !(2..8).contains(&i) || c.is_ascii_digit() => values[i] = v as u32,
                _ => return Err(IdentError::Char { ch: c, pos: i + 1 }),
            }
        }
        let sum: u32 = values[..17]
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(v, w)| v * w)
            .sum();
        let expected = char::from(USCC_ALPHABET[((31 - sum % 31) % 31) as usize]);
        if chars[17] != expected {
            return Err(IdentError::Check {
                found: chars[17],
                expected,
            });
        }
        Ok(CreditCode(s))
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a value is shaped like a Chinese resident ID (15 or 18 characters of digits, the
/// last possibly `X`) or could be a mistyped one (14 to 19 such characters). Values that are
/// not are foreign identifiers (a Russian INN, "TIN: 1831…") and are kept as properties
/// instead of being checked against GB 11643.
pub fn looks_like_resident_id(raw: &str) -> bool {
    let s = fold_width(raw.trim());
    let n = s.chars().count();
    (14..=19).contains(&n)
        && s.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i + 1 == n && matches!(c, 'x' | 'X')))
}

/// Whether a value is shaped like a credit code (16 to 20 characters of letters and digits).
pub fn looks_like_credit_code(raw: &str) -> bool {
    let s = fold_width(raw.trim());
    let n = s.chars().count();
    (16..=20).contains(&n) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_digit_and_legacy_form() {
        let id = ResidentId::parse("11010519491231002X").map(|x| x.as_str().to_owned());
        assert_eq!(id.as_deref(), Ok("11010519491231002X"));
        assert_eq!(
            ResidentId::parse("11010519491231002x")
                .map(|x| x.as_str().to_owned())
                .as_deref(),
            Ok("11010519491231002X")
        );
        assert!(matches!(
            ResidentId::parse("110105194912310021"),
            Err(IdentError::Check { expected: 'X', .. })
        ));
        // 15-digit legacy form of the same person: no check digit, two-digit year.
        let legacy = ResidentId::parse("110105491231002");
        assert_eq!(
            legacy.map(|x| x.as_str().to_owned()).as_deref(),
            Ok("11010519491231002X")
        );
    }

    #[test]
    fn resident_id_rejects_impossible_birth_dates_and_regions() {
        let mut body = String::from("33010219990230123");
        body.push(resident_check_char(&body));
        assert!(matches!(
            ResidentId::parse(&body),
            Err(IdentError::BirthDate(_))
        ));
        let mut body = String::from("99010219990101123");
        body.push(resident_check_char(&body));
        assert!(matches!(
            ResidentId::parse(&body),
            Err(IdentError::Region(_))
        ));
        let mut future = String::from("33010221990101123");
        future.push(resident_check_char(&future));
        assert!(matches!(
            ResidentId::parse(&future),
            Err(IdentError::BirthDate(_))
        ));
        assert!(matches!(
            ResidentId::parse("3301021999"),
            Err(IdentError::Length { .. })
        ));
        assert!(matches!(
            ResidentId::parse("33010219990101123A"),
            Err(IdentError::Char { pos: 18, .. })
        ));
    }

    #[test]
    fn credit_code_accepts_letter_authorities() {
        // Build valid codes for authorities A, N and Y by computing their check characters.
        for head in ["A1", "N2", "Y1", "51", "91"] {
            let body = format!("{head}330102MA2B3C4D5");
            let sum: u32 = body
                .bytes()
                .zip(USCC_WEIGHTS)
                .map(|(c, w)| USCC_ALPHABET.iter().position(|&a| a == c).unwrap_or(0) as u32 * w)
                .sum();
            let code = format!(
                "{body}{}",
                char::from(USCC_ALPHABET[((31 - sum % 31) % 31) as usize])
            );
            assert!(CreditCode::parse(&code).is_ok(), "{code}");
        }
        assert!(matches!(
            CreditCode::parse("91350100M000100Y4Z"),
            Err(IdentError::Char { ch: 'Z', pos: 18 })
        ));
        assert!(matches!(
            CreditCode::parse("91350100M000100Y4I"),
            Err(IdentError::Char { ch: 'I', .. })
        ));
        assert!(matches!(
            CreditCode::parse("913501A0M000100Y43"),
            Err(IdentError::Char { ch: 'A', pos: 7 })
        ));
    }

    #[test]
    fn shapes() {
        assert!(looks_like_resident_id("11010519491231002x"));
        assert!(looks_like_resident_id("110105491231002"));
        assert!(looks_like_resident_id("1101051949123100"));
        assert!(!looks_like_resident_id("183116181362"));
        assert!(!looks_like_resident_id("TIN: 183111242572"));
        assert!(looks_like_credit_code("91350100M000100Y43"));
        assert!(!looks_like_credit_code("UA-EDR-40133709"));
    }
}
