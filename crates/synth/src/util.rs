//! Days, random draws, identifiers.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// "No date": an open end, or a person still alive.
pub(crate) const OPEN: i32 = i32::MAX;
/// "No row": an empty reference.
pub(crate) const NONE: u32 = u32::MAX;
/// Days in an average year.
pub(crate) const YEAR: f64 = 365.25;

/// Days since 1970-01-01 of a calendar day (proleptic Gregorian).
pub(crate) const fn day(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Calendar day of a day number.
pub(crate) const fn civil(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The year of a day number.
pub(crate) const fn year_of(d: i32) -> i32 {
    civil(d).0
}

/// Start of the procurement data window.
pub(crate) const T_START: i32 = day(2012, 1, 1);
/// End of the data window: the bundle's "today".
pub(crate) const T_END: i32 = day(2024, 12, 31);

/// Appends `YYYY-MM-DD` (nothing for [`OPEN`]).
pub(crate) fn push_date(out: &mut Vec<u8>, d: i32) {
    if d == OPEN {
        return;
    }
    let (y, m, dd) = civil(d);
    let y = y.clamp(0, 9999) as u32;
    out.extend_from_slice(&[
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
        b'0' + (m / 10) as u8,
        b'0' + (m % 10) as u8,
        b'-',
        b'0' + (dd / 10) as u8,
        b'0' + (dd % 10) as u8,
    ]);
}

/// A seeded random stream. Every phase of the generator draws from its own stream, so that
/// the same options always give the same bytes.
pub(crate) struct Rng(Xoshiro256PlusPlus);

impl Rng {
    /// The stream `stream` of seed `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let s =
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng(Xoshiro256PlusPlus::seed_from_u64(s))
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.0.random_range(0..n)
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub(crate) fn int(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        self.0.random_range(lo..=hi)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// An element of a non-empty slice.
    pub(crate) fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.below(s.len())]
    }

    /// Fisher-Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, s: &mut [T]) {
        for i in (1..s.len()).rev() {
            let j = self.below(i + 1);
            s.swap(i, j);
        }
    }

    /// An amount in cents, log-normal around `exp(mu)` yuan.
    pub(crate) fn lognormal_cents(&mut self, mu: f64, sigma: f64) -> i64 {
        ((mu + sigma * self.normal()).exp() * 100.0).round() as i64
    }

    /// An amount in cents, uniform in yuan.
    pub(crate) fn cents(&mut self, lo: f64, hi: f64) -> i64 {
        (self.uniform(lo, hi) * 100.0).round() as i64
    }
}

/// Draws indices with given weights (cumulative table, binary search).
pub(crate) struct Weighted {
    cum: Vec<f64>,
}

impl Weighted {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Weighted {
        let mut t = 0.0;
        let cum = weights
            .into_iter()
            .map(|w| {
                t += w.max(0.0);
                t
            })
            .collect();
        Weighted { cum }
    }

    /// Zipf-like weights `1 / (rank + 1)^s` for `n` items.
    pub(crate) fn zipf(n: usize, s: f64) -> Weighted {
        Weighted::new((1..=n).map(|r| 1.0 / (r as f64).powf(s)))
    }

    pub(crate) fn sample(&self, r: &mut Rng) -> usize {
        let total = self.cum.last().copied().unwrap_or(0.0);
        let x = r.unit() * total;
        self.cum
            .partition_point(|&c| c <= x)
            .min(self.cum.len().saturating_sub(1))
    }
}

/// Weighted choice from a `(value, weight)` table.
pub(crate) fn choose_w<T: Copy>(r: &mut Rng, table: &[(T, f64)]) -> T {
    let total: f64 = table.iter().map(|x| x.1).sum();
    let mut x = r.unit() * total;
    for &(v, w) in table {
        if x < w {
            return v;
        }
        x -= w;
    }
    table[table.len() - 1].0
}

const ID_WEIGHTS: [u64; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The 18 characters of a resident ID from its 17-digit body (GB 11643 check character).
pub(crate) fn resident_id(body: u64) -> [u8; 18] {
    let mut out = [0u8; 18];
    let mut b = body;
    for i in (0..17).rev() {
        out[i] = b'0' + (b % 10) as u8;
        b /= 10;
    }
    let sum: u64 = out[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u64::from(c - b'0') * w)
        .sum();
    out[17] = ID_CHECK[(sum % 11) as usize];
    out
}

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code: `91` (registered by market regulation, enterprise), the
/// region code, the 9-character organisation code (8 digits and its GB 11714 check
/// character) and the GB 32100 check character.
pub(crate) fn credit_code(region: u32, org: u32) -> String {
    let mut b = Vec::with_capacity(18);
    b.extend_from_slice(b"91");
    b.extend_from_slice(format!("{:06}{:08}", region % 1_000_000, org % 100_000_000).as_bytes());
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = b[8..16]
        .iter()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    b.push(match 11 - s % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    });
    let t: u32 = b
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(c, w)| {
            let v = USCC_ALPHABET.iter().position(|a| a == c).unwrap_or(0) as u32;
            v * w
        })
        .sum();
    b.push(USCC_ALPHABET[((31 - t % 31) % 31) as usize]);
    String::from_utf8_lossy(&b).into_owned()
}

/// Width of zero-padded ids for `n` entities (at least `min` digits).
pub(crate) fn width(n: usize, min: usize) -> usize {
    let mut w = 1;
    let mut x = n.saturating_sub(1);
    while x >= 10 {
        x /= 10;
        w += 1;
    }
    w.max(min)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use qinglian_model::{CreditCode, Date, ResidentId};

    #[test]
    fn days_match_the_model() {
        for d in (day(1880, 1, 1)..day(2040, 12, 31)).step_by(7) {
            let (y, m, dd) = civil(d);
            assert_eq!(Date::from_ymd(y, m, dd), Some(Date(d)));
            assert_eq!(day(y, m, dd), d);
            let mut s = Vec::new();
            push_date(&mut s, d);
            assert_eq!(String::from_utf8(s).unwrap(), Date(d).to_string());
        }
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(T_END - T_START, 4748);
    }

    #[test]
    fn identifiers_validate() {
        let id = resident_id(33010619850312123);
        let s = std::str::from_utf8(&id).unwrap();
        let r = ResidentId::parse(s).unwrap();
        assert_eq!(r.birth_date(), Date::from_ymd(1985, 3, 12).unwrap());
        assert_eq!(
            s.chars().last(),
            Some(qinglian_model::ident::resident_check_char(&s[..17]))
        );
        for org in [10000000, 12345678, 99999999, 55555555] {
            let c = credit_code(330106, org);
            CreditCode::parse(&c).unwrap();
        }
        assert_eq!(width(1, 7), 7);
        assert_eq!(width(100_000_000, 7), 8);
    }
}
