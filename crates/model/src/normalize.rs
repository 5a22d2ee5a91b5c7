//! Normalisation of names, phones and addresses, so that the same value written two ways
//! (full-width digits from a Chinese input method, spaces, a `+86` prefix) compares equal.
//!
//! Normalisation only removes formatting: it never merges two values that differ in content.
//! And a value that says "no value" — `N/A`, `无`, `不详`, a phone of zeros — is no value: two
//! entities are never tied by one ([`PLACEHOLDERS`], [`phone`], [`address`]).

use unicode_normalization::UnicodeNormalization;

/// Folds full-width ASCII (U+FF01..U+FF5E) and the ideographic space to their ASCII forms.
pub fn fold_width(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// A display name: NFKC, trimmed, inner runs of white space collapsed to one space.
pub fn name(s: &str) -> String {
    let s = s.trim();
    // Fast path: most names are already normal (CJK ideographs are NFKC-stable).
    let single_spaces = !s.contains("  ") && !s.chars().any(|c| c.is_whitespace() && c != ' ');
    if single_spaces
        && unicode_normalization::is_nfkc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return s.to_owned();
    }
    let n: String = s.nfkc().collect();
    n.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What registers write where they have no value, compared after [`address`]'s normalisation
/// and in lower case: never a tie between two entities. One list, here; docs/format.md repeats
/// it. (A cell of punctuation only, or a phone of one repeated digit, is a placeholder too.)
pub const PLACEHOLDERS: &[&str] = &[
    "n/a",
    "na",
    "n.a.",
    "none",
    "null",
    "nil",
    "unknown",
    "tbd",
    "无",
    "没有",
    "不详",
    "暂无",
    "未知",
    "空",
    "待定",
    "待补充",
    "无地址",
    "地址不详",
    "无电话",
    "电话不详",
    "未填写",
    "未提供",
    "0",
];

/// Whether a normalised value is a placeholder: on the list, or without a letter, digit or
/// ideograph.
pub fn is_placeholder(normalised: &str) -> bool {
    let lower = normalised.to_lowercase();
    PLACEHOLDERS.contains(&lower.as_str()) || !lower.chars().any(char::is_alphanumeric)
}

/// Which values a listed placeholder stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PlaceholderField {
    /// A phone number (compared as [`phone`] compares).
    Phone,
    /// An address (compared as [`address`] compares).
    Address,
    /// Either.
    Any,
}

impl PlaceholderField {
    /// Reads `field` of `placeholders.csv`: `phone`, `address`, or empty for both.
    pub fn parse(s: &str) -> Option<PlaceholderField> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "any" => Some(PlaceholderField::Any),
            "phone" => Some(PlaceholderField::Phone),
            "address" => Some(PlaceholderField::Address),
            _ => None,
        }
    }

    /// The word `placeholders.csv` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceholderField::Phone => "phone",
            PlaceholderField::Address => "address",
            PlaceholderField::Any => "",
        }
    }
}

/// Placeholders beyond [`PLACEHOLDERS`]: the values a database's loads declared no value
/// (`placeholders.csv`: an agent's switchboard every client company gives, a registry's
/// "see annex" text), kept in their compared forms. The list is data, not code, so that an
/// office extends it without a release and every snapshot — as of any load — uses the list
/// that load knew.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placeholders {
    phones: std::collections::HashSet<String>,
    addresses: std::collections::HashSet<String>,
}

impl Placeholders {
    /// Adds a listed value for `field`. Returns false when the value compares as nothing
    /// (already a placeholder, or empty), so that a caller can say so.
    pub fn add(&mut self, value: &str, field: PlaceholderField) -> bool {
        let mut added = false;
        if field != PlaceholderField::Address {
            for part in phone_parts(value) {
                added |= self.phones.insert(part);
            }
        }
        if field != PlaceholderField::Phone {
            let a = address_form(value).to_lowercase();
            if !is_placeholder(&a) {
                added |= self.addresses.insert(a);
            }
        }
        added
    }

    /// Values listed (phones and addresses, in their compared forms).
    pub fn len(&self) -> usize {
        self.phones.len() + self.addresses.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where an extension starts in a phone cell (`0571-88001234转801`, `… ext. 12`, `… x12`,
/// `…#12`, `…分机12`): a switchboard's extensions are one line.
fn without_extension(p: &str) -> &str {
    let lower = p.to_lowercase();
    let cut = ["转", "分机", "ext", "x", "#"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(p.len());
    p.get(..cut).unwrap_or(p)
}

/// Whether the digits of a phone are no number: fewer than five, or one digit repeated
/// (`0000000`, `8888888`), or counting up (`1234567`).
fn placeholder_digits(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() < 5 || b.iter().all(|&c| c == b[0]) || b.windows(2).all(|w| w[1] == w[0] + 1)
}

/// A phone number for comparison: digits only, without an international `+86`/`0086`
/// prefix or an extension. Several numbers in one cell (`;` or `,` separated) are kept apart by
/// `;`. A placeholder (`0`, `0000000`, `N/A`, `无`) is dropped. Returns `None` when nothing is
/// left.
pub fn phone(s: &str) -> Option<String> {
    phone_with(s, &Placeholders::default())
}

/// [`phone`], also dropping the numbers `extra` lists.
pub fn phone_with(s: &str, extra: &Placeholders) -> Option<String> {
    let parts: Vec<String> = phone_parts(s)
        .filter(|p| !extra.phones.contains(p))
        .collect();
    (!parts.is_empty()).then(|| parts.join(";"))
}

/// The numbers of a phone cell in their compared form, placeholders of the built-in rules
/// dropped.
fn phone_parts(s: &str) -> impl Iterator<Item = String> {
    let folded = fold_width(s);
    let parts: Vec<String> = folded
        .split([';', ',', '/', '，', '；'])
        .filter_map(|p| {
            let p = without_extension(p.trim());
            let digits: String = p.chars().filter(char::is_ascii_digit).collect();
            let local = if p.starts_with("+86") || p.starts_with("0086") {
                digits
                    .strip_prefix("0086")
                    .or_else(|| digits.strip_prefix("86"))
                    .unwrap_or(&digits)
                    .to_owned()
            } else {
                digits
            };
            (!placeholder_digits(&local)).then_some(local)
        })
        .collect();
    parts.into_iter()
}

/// An address for comparison: NFKC (full-width forms folded), all white space removed; `None`
/// for a placeholder ([`PLACEHOLDERS`]).
pub fn address(s: &str) -> Option<String> {
    address_with(s, &Placeholders::default())
}

/// [`address`], also dropping the addresses `extra` lists (compared in lower case).
pub fn address_with(s: &str, extra: &Placeholders) -> Option<String> {
    let a = address_form(s);
    let listed = !extra.addresses.is_empty() && extra.addresses.contains(&a.to_lowercase());
    (!is_placeholder(&a) && !listed).then_some(a)
}

/// NFKC, white space removed.
fn address_form(s: &str) -> String {
    s.nfkc().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_lose_formatting_only() {
        assert_eq!(phone("0571-38888888").as_deref(), Some("057138888888"));
        assert_eq!(phone("+86 138 0013 8000").as_deref(), Some("13800138000"));
        assert_eq!(phone("００８６13800138000").as_deref(), Some("13800138000"));
        assert_eq!(
            phone("+7 (3412) 43-05-05; +7 (951) 210-81-28").as_deref(),
            Some("73412430505;79512108128")
        );
        assert_eq!(phone(" - "), None);
        assert_ne!(phone("0571-38888888"), phone("0571-38888889"));
        assert_eq!(
            phone("0571-88001234转801"),
            phone("0571 8800 1234 ext. 802")
        );
        assert_eq!(phone("(0571)88001234 x12").as_deref(), Some("057188001234"));
    }

    #[test]
    fn listed_values_tie_nothing_and_nothing_else() {
        let mut x = Placeholders::default();
        assert!(x.add("400-800-1234 转 5", PlaceholderField::Phone));
        assert!(x.add(" 见附件 ", PlaceholderField::Any));
        assert!(
            !x.add("N/A", PlaceholderField::Address),
            "already a placeholder"
        );
        assert_eq!(phone_with("4008001234", &x), None);
        assert_eq!(phone_with("+86 400 800 1234", &x), None);
        assert_eq!(
            phone_with("4008001234; 0571-38888888", &x).as_deref(),
            Some("057138888888")
        );
        assert_eq!(phone_with("4008001235", &x).as_deref(), Some("4008001235"));
        assert_eq!(address_with("见 附件", &x), None);
        assert_eq!(
            address_with("杭州市见附件路1号", &x).as_deref(),
            Some("杭州市见附件路1号")
        );
        assert_eq!(
            address_with("4008001234", &x).as_deref(),
            Some("4008001234")
        );
        assert_eq!(phone("4008001234").as_deref(), Some("4008001234"));
    }

    #[test]
    fn placeholders_tie_nothing() {
        for p in [
            "0",
            "0000000",
            "00000000000",
            "8888888",
            "1234567",
            "N/A",
            "无",
            "-",
            "+86 0",
        ] {
            assert_eq!(phone(p), None, "{p}");
        }
        assert_eq!(phone("0;13800138000").as_deref(), Some("13800138000"));
        for a in [
            "N/A", "n/a", "无", "不详", "暂无", "-", "--", "/", "０", " 未知 ", "NULL",
        ] {
            assert_eq!(address(a), None, "{a}");
        }
        assert!(address("某市高新区创业大道88号").is_some());
        // A real number is not a placeholder because its local part repeats.
        assert!(phone("0571-88888888").is_some());
    }

    #[test]
    fn addresses_and_names() {
        assert_eq!(
            address("浙江省 杭州市　西湖区１号"),
            Some("浙江省杭州市西湖区1号".to_owned())
        );
        assert_eq!(name("  张  伟 "), "张 伟");
        assert_eq!(fold_width("１１０１０５"), "110105");
    }
}
