//! Rate limits, and the count of what they refused.
//!
//! Three GCRA limiters from the `governor` crate (well kept, lock-free, what `tower_governor`
//! is built on): per token for authenticated callers, per client address for anonymous callers
//! and callers whose token was refused, and one for all anonymous callers together, so that a
//! flood from many addresses is bounded too.
//!
//! A refused request is not written to the audit trail one by one: a flood would fill the disk
//! with refusals. Each refusal is counted per client address and token, and the counts are
//! written as one `rate_limited` record per address and token every `flood_summary_secs`
//! (and when the table of counts is full), so every request still leaves a trace.

use crate::audit::Entry;
use crate::Config;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// Most distinct (address, token) pairs counted between two summaries; beyond, refusals are
/// counted under the address "*".
const MAX_COUNTED: usize = 10_000;

/// Most keys a limiter tracks; beyond, unknown anonymous addresses share the global limit only.
const MAX_KEYS: usize = 100_000;

/// Refusals counted since the last summary: (count, first ms, last ms).
type Counts = HashMap<(String, String), (u64, u64, u64)>;

/// The limiters and the refusal counts.
#[derive(Debug)]
pub struct Limits {
    per_token: DefaultKeyedRateLimiter<String>,
    per_addr: DefaultKeyedRateLimiter<IpAddr>,
    anonymous: DefaultDirectRateLimiter,
    refused: Mutex<Counts>,
}

fn quota(per_second: f64, burst: f64) -> Quota {
    let period = Duration::from_secs_f64(1.0 / per_second.clamp(1e-3, 1e6));
    let burst = NonZeroU32::new(burst.clamp(1.0, 1e6) as u32).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Limits {
    /// Limiters for a configuration.
    pub fn new(c: &Config) -> Limits {
        Limits {
            per_token: RateLimiter::keyed(quota(c.rate_per_second, c.rate_burst)),
            per_addr: RateLimiter::keyed(quota(c.anon_rate_per_second, c.anon_rate_burst)),
            anonymous: RateLimiter::direct(quota(
                c.anon_global_per_second,
                c.anon_global_per_second.max(1.0) * 2.0,
            )),
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an authenticated request may go on.
    pub fn token_allows(&self, token_id: &str) -> bool {
        self.per_token.check_key(&token_id.to_owned()).is_ok()
    }

    /// Whether an anonymous (or refused-token) request from `addr` may go on: within both its
    /// address's limit and the limit of all anonymous callers together.
    pub fn anonymous_allows(&self, addr: IpAddr) -> bool {
        let per_addr = if self.per_addr.len() >= MAX_KEYS {
            true
        } else {
            self.per_addr.check_key(&addr).is_ok()
        };
        per_addr && self.anonymous.check().is_ok()
    }

    /// Counts a refusal; returns true when the table is full and should be written now.
    pub fn count_refusal(&self, addr: &str, token_id: &str, now_ms: u64) -> bool {
        let Ok(mut m) = self.refused.lock() else {
            return false;
        };
        let key =
            if m.len() >= MAX_COUNTED && !m.contains_key(&(addr.to_owned(), token_id.to_owned())) {
                ("*".to_owned(), String::new())
            } else {
                (addr.to_owned(), token_id.to_owned())
            };
        let c = m.entry(key).or_insert((0, now_ms, now_ms));
        c.0 += 1;
        c.2 = now_ms;
        m.len() >= MAX_COUNTED
    }

    /// The summary records of the refusals counted so far (and forgets them); also lets the
    /// limiters drop keys that are back to full allowance, so memory stays bounded.
    pub fn drain_summaries(&self) -> Vec<Entry> {
        self.per_token.retain_recent();
        self.per_addr.retain_recent();
        self.per_token.shrink_to_fit();
        self.per_addr.shrink_to_fit();
        let counts = match self.refused.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(_) => return Vec::new(),
        };
        let mut out: Vec<Entry> = counts
            .into_iter()
            .map(|((addr, token), (n, first, last))| Entry {
                ts: last,
                client: addr,
                token_id: token,
                method: "*".into(),
                route: "rate_limited".into(),
                status: 429,
                result: serde_json::json!({"refused": n, "first_ms": first, "last_ms": last}),
                ..Entry::default()
            })
            .collect();
        out.sort_by(|a, b| (&a.client, &a.token_id).cmp(&(&b.client, &b.token_id)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_are_limited_per_address_and_together() {
        let c = Config {
            anon_rate_per_second: 1.0,
            anon_rate_burst: 3.0,
            anon_global_per_second: 4.0,
            ..Config::default()
        };
        let l = Limits::new(&c);
        let a: IpAddr = [127, 0, 0, 1].into();
        let ok = (0..10).filter(|_| l.anonymous_allows(a)).count();
        assert_eq!(ok, 3, "the burst, then refused");
        // Other addresses get their own allowance until the global limit (burst 8) is spent.
        let others = (2..40u8)
            .filter(|i| l.anonymous_allows([127, 0, 0, *i].into()))
            .count();
        assert_eq!(others, 5, "8 in all");
    }

    #[test]
    fn refusals_are_summarised_not_lost() {
        let l = Limits::new(&Config::default());
        for i in 0..5 {
            l.count_refusal("127.0.0.1", "", 1000 + i);
        }
        l.count_refusal("127.0.0.2", "abc", 2000);
        let s = l.drain_summaries();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].result["refused"], 5);
        assert_eq!(s[0].result["first_ms"], 1000);
        assert_eq!(s[1].token_id, "abc");
        assert!(l.drain_summaries().is_empty(), "counted once");
    }
}
