//! Calendar dates as day numbers, and validity intervals.
//!
//! Every date in a bundle is parsed once, at ingestion, into a [`Date`]: the number of days
//! since 1970-01-01. Rules compare dates millions of times per second, so a date is a plain
//! `i32` and an interval is two of them; "unknown" start and "still open" end are the
//! extreme values, which makes `start <= d && d <= end` correct without special cases.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// A calendar day, stored as days since 1970-01-01 (negative before).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not shaped `YYYY-MM-DD`.
    #[error("expected a date as YYYY-MM-DD, found {0:?}")]
    Shape(String),
    /// The shape is right but no such day exists (2023-02-30).
    #[error("{0:?} is not a real calendar day")]
    NoSuchDay(String),
}

impl Date {
    /// Parses `YYYY-MM-DD` strictly: four-digit year, two-digit month and day, a real day.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b.get(r)?.iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(DateError::Shape(s.to_owned()));
        }
        let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
            return Err(DateError::Shape(s.to_owned()));
        };
        Date::from_ymd(y as i32, m, d).ok_or_else(|| DateError::NoSuchDay(s.to_owned()))
    }

    /// The date of a year, month (1-12) and day, if it exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
        let date = time::Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
        Some(Date(date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY))
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        match time::Date::from_julian_day(self.0 + UNIX_EPOCH_JULIAN_DAY) {
            Ok(d) => (d.year(), u32::from(u8::from(d.month())), u32::from(d.day())),
            // Only reachable for day numbers far outside any bundle (beyond year ±9999).
            Err(_) => (if self.0 < 0 { -9999 } else { 9999 }, 1, 1),
        }
    }

    /// This date plus a number of days.
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days))
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date(i32::try_from(secs / 86_400).unwrap_or(i32::MAX))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s)
    }
}

/// The days on which an edge holds: `start..=end`, both inclusive.
///
/// An unknown start is the smallest day and an open end the largest, so that a position
/// with no end date holds on every later day, as SCHEMA.md says.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// First day on which the edge holds ([`Interval::OPEN_START`] when unknown).
    pub start: i32,
    /// Last day on which the edge holds ([`Interval::OPEN_END`] when still open).
    pub end: i32,
}

impl Interval {
    /// Sentinel for an unknown start.
    pub const OPEN_START: i32 = i32::MIN;
    /// Sentinel for a still-open end.
    pub const OPEN_END: i32 = i32::MAX;
    /// Holds on every day.
    pub const ALWAYS: Interval = Interval {
        start: Self::OPEN_START,
        end: Self::OPEN_END,
    };

    /// An interval from optional dates.
    pub fn new(start: Option<Date>, end: Option<Date>) -> Interval {
        Interval {
            start: start.map_or(Self::OPEN_START, |d| d.0),
            end: end.map_or(Self::OPEN_END, |d| d.0),
        }
    }

    /// Whether the edge holds on day `d`.
    #[inline]
    pub fn contains(self, d: i32) -> bool {
        self.start <= d && d <= self.end
    }

    /// The known start date.
    pub fn start_date(self) -> Option<Date> {
        (self.start != Self::OPEN_START).then_some(Date(self.start))
    }

    /// The known end date.
    pub fn end_date(self) -> Option<Date> {
        (self.end != Self::OPEN_END).then_some(Date(self.end))
    }

    /// An interval that holds on no day (end before start) never matches a temporal predicate.
    pub fn is_empty(self) -> bool {
        self.start > self.end
    }
}

impl fmt::Display for Interval {
    /// `2015-03-01..2020-12-31`, `2015-03-01..open`, `..2020-12-31`, or `always`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Interval::ALWAYS {
            return f.write_str("always");
        }
        if let Some(d) = self.start_date() {
            write!(f, "{d}")?;
        }
        f.write_str("..")?;
        match self.end_date() {
            Some(d) => write!(f, "{d}"),
            None => f.write_str("open"),
        }
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "1880-01-01",
            "2024-12-31",
            "1949-12-31",
        ] {
            assert_eq!(Date::parse(s).map(|d| d.to_string()).as_deref(), Ok(s));
        }
        assert_eq!(Date::parse("1970-01-02"), Ok(Date(1)));
        assert_eq!(Date::parse("1969-12-31"), Ok(Date(-1)));
    }

    #[test]
    fn rejects_malformed_and_impossible_days() {
        assert!(matches!(
            Date::parse("2023-02-30"),
            Err(DateError::NoSuchDay(_))
        ));
        assert!(matches!(
            Date::parse("1900-02-29"),
            Err(DateError::NoSuchDay(_))
        ));
        for s in [
            "2023/01/01",
            "2023-1-01",
            "20230101",
            "",
            "2023-01-01T00:00",
            "２０２３-01-01",
            "abcd-ef-gh",
        ] {
            assert!(matches!(Date::parse(s), Err(DateError::Shape(_))), "{s}");
        }
    }

    #[test]
    fn open_intervals_contain_every_day_on_their_open_side() {
        let d = Date::parse("2020-06-01").map(|d| d.0).unwrap_or_default();
        assert!(Interval::new(None, None).contains(d));
        assert!(Interval::new(Some(Date(d)), None).contains(d));
        assert!(!Interval::new(Some(Date(d + 1)), None).contains(d));
        assert!(Interval::new(None, Some(Date(d))).contains(d));
        assert!(!Interval::new(None, Some(Date(d - 1))).contains(d));
        assert!(Interval::new(Some(Date(5)), Some(Date(4))).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn day_numbers_round_trip_through_text(n in -700_000i32..700_000) {
            let d = Date(n);
            proptest::prop_assert_eq!(Date::parse(&d.to_string()), Ok(d));
        }
    }
}
