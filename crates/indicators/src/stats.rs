//! The statistics Cardinal's fences use: quantiles by Hyndman and Fan's method 8 (the one
//! statrs implements), fences with a fused multiply-add, and fractions that add numerators and
//! denominators separately.

/// The `tau` quantile (0 ≤ tau ≤ 1) of `data`, Hyndman–Fan type 8; NaN for no data.
pub fn quantile(data: &[f64], tau: f64) -> f64 {
    let n = data.len();
    if n == 0 || !(0.0..=1.0).contains(&tau) {
        return f64::NAN;
    }
    let h = (n as f64 + 1.0 / 3.0) * tau + 1.0 / 3.0;
    let hf = h.trunc() as i64;
    if hf <= 0 || tau == 0.0 {
        return data
            .iter()
            .copied()
            .fold(data[0], |a, x| if x < a || x.is_nan() { x } else { a });
    }
    if hf >= n as i64 || near_one(tau) {
        return data
            .iter()
            .copied()
            .fold(data[0], |a, x| if x > a || x.is_nan() { x } else { a });
    }
    let mut s = data.to_vec();
    s.sort_by(f64::total_cmp);
    let (a, b) = (s[hf as usize - 1], s[hf as usize]);
    a + (h - hf as f64) * (b - a)
}

/// `tau` equal to 1 within the tolerance statrs uses (machine epsilon, or 4 units in the last
/// place).
fn near_one(tau: f64) -> bool {
    let ulps = (tau.to_bits() as i64 - 1f64.to_bits() as i64).abs();
    (tau - 1.0).abs() <= f64::EPSILON || ulps <= 4
}

/// First and third quartiles.
pub fn quartiles(data: &[f64]) -> (f64, f64) {
    (quantile(data, 0.25), quantile(data, 0.75))
}

/// `q1 - 1.5 (q3 - q1)`, rounded once.
pub fn lower_fence(q1: f64, q3: f64) -> f64 {
    (q3 - q1).mul_add(-1.5, q1)
}

/// `q3 + 1.5 (q3 - q1)`, rounded once.
pub fn upper_fence(q1: f64, q3: f64) -> f64 {
    (q3 - q1).mul_add(1.5, q3)
}

/// A count of successes over a count of trials.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fraction {
    /// Successes.
    pub num: u64,
    /// Trials.
    pub den: u64,
}

impl Fraction {
    /// Adds `num` successes of `den` trials.
    pub fn add(&mut self, num: u64, den: u64) {
        self.num += num;
        self.den += den;
    }

    /// The ratio.
    pub fn value(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}
