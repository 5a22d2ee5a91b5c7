//! Normalisation of names, phones and addresses, so that the same value written two ways
//! (full-width digits from a Chinese input method, spaces, a `+86` prefix) compares equal.
//!
//! Normalisation only removes formatting: it never merges two values that differ in content.

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

/// A phone number for comparison: digits only, without an international `+86`/`0086`
/// prefix. Several numbers in one cell (`;` or `,` separated) are kept apart by `;`.
/// Returns `None` when nothing is left.
pub fn phone(s: &str) -> Option<String> {
    let parts: Vec<String> = fold_width(s)
        .split([';', ',', '/', '，', '；'])
        .filter_map(|p| {
            let p = p.trim();
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
            (!local.is_empty()).then_some(local)
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(";"))
}

/// An address for comparison: NFKC, all white space removed.
pub fn address(s: &str) -> Option<String> {
    let a: String = s.nfkc().filter(|c| !c.is_whitespace()).collect();
    (!a.is_empty()).then_some(a)
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
