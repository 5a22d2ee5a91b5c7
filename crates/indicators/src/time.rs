//! RFC 3339 timestamps as Cardinal's R003 reads them (chrono's parser): a calendar date, `T`,
//! `t` or a space, a time with optional fraction, and `Z` or an offset with a colon. Anything
//! else is not a timestamp and the release is not judged.

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The offset in seconds of what follows the time: `Z`, `z` or `±hh:mm` (U+2212 as minus), and
/// nothing after it.
fn offset(rest: &str) -> Option<i64> {
    if rest == "Z" || rest == "z" {
        return Some(0);
    }
    let (sign, tail) = if let Some(t) = rest.strip_prefix('+') {
        (1, t)
    } else if let Some(t) = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix('\u{2212}'))
    {
        (-1, t)
    } else {
        return None;
    };
    let b = tail.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let (h, m) = (digits(b, 0, 2)?, digits(b, 3, 2)?);
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Nanoseconds since 1970-01-01T00:00:00Z, or `None` when `s` is not an RFC 3339 timestamp.
pub fn parse(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (h, mi, mut sec) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let mut nanos: i64 = 0;
    if sec == 60 {
        sec = 59;
        nanos = 1_000_000_000;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let used = &frac[..n.min(9)];
        nanos += used.parse::<i64>().ok()? * 10i64.pow(9 - used.len() as u32);
        rest = &frac[n..];
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let off = offset(rest)?;
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - off;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// Whole days from `a` to `b`, truncated toward zero.
pub fn days_between(a: i128, b: i128) -> i128 {
    (b - a) / (86_400 * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_whole_days_truncated() {
        let a = parse("2020-01-01T18:00:00Z").expect("ts");
        let b = parse("2020-01-16T17:59:59Z").expect("ts");
        assert_eq!(days_between(a, b), 14);
        let c = parse("2020-01-16T18:00:00+00:00").expect("ts");
        assert_eq!(days_between(a, c), 15);
        assert_eq!(parse("2020-01-01"), None, "a date alone is not a timestamp");
        assert_eq!(parse("2020-01-01T00:00:00"), None, "no offset");
        assert_eq!(parse("2020-02-30T00:00:00Z"), None);
        assert_eq!(
            parse("2020-01-01T08:00:00+08:00"),
            parse("2020-01-01T00:00:00Z")
        );
    }
}
