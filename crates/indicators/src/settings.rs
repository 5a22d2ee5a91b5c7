//! The settings file: INI in Cardinal's layout, so that one file configures both tools.
//!
//! An indicator runs when its section is present, even empty (`[R028]`). Unknown sections and
//! keys are errors (a misspelt `treshold` must not silently fall back to the default). Values
//! convert as Cardinal's configuration library converts them: `true|on|yes` and
//! `false|off|no` are 1 and 0 for numbers, otherwise the number as written. A section name with
//! a dot is a path: `[R003.procurement_method_details]` holds per-method thresholds.

use std::collections::{BTreeMap, BTreeSet};

/// A settings file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The INI text does not parse.
    #[error("settings: {0}")]
    Syntax(String),
    /// A section or key that no indicator has.
    #[error("settings: unknown {0}")]
    Unknown(String),
    /// A value of the wrong type.
    #[error("settings: [{section}] {key} = {value:?}: expected {expected}")]
    Value {
        /// The section.
        section: String,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// R003: short submission period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R003 {
    /// Fewest days (default 15).
    pub threshold: Option<i64>,
    /// Only these procurement methods (empty: all).
    pub procurement_methods: BTreeSet<String>,
    /// Threshold per procurement method details.
    pub procurement_method_details: BTreeMap<String, i64>,
}

/// R025: excessive unsuccessful bids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R025 {
    /// Percentile of bid counts above which a tenderer is considered (default 75).
    pub percentile: Option<u64>,
    /// Lower fence on the win ratio (default: from the quartiles).
    pub threshold: Option<f64>,
}

/// R038: excessive disqualified bids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R038 {
    /// Upper fence (default: from the quartiles).
    pub threshold: Option<f64>,
    /// Fewest submitted bids of a tenderer (default 2).
    pub minimum_submitted_bids: Option<u64>,
    /// Fewest submitted bids of a buyer or procuring entity (default 2; Cardinal counts bids
    /// here, whatever the name says).
    pub minimum_contracting_processes: Option<u64>,
}

/// R048: heterogeneous supplier.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct R048 {
    /// Characters of the classification code compared (default 2).
    pub digits: Option<u64>,
    /// Upper fence (default: from the quartiles).
    pub threshold: Option<u64>,
    /// Fewest contracting processes of a supplier (default 20).
    pub minimum_contracting_processes: Option<u64>,
}

/// Every setting; an indicator's field is `Some` when its section is present.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The one currency compared (default: the first seen).
    pub currency: Option<String>,
    /// Procurement method details where prices are not compared.
    pub no_price_comparison_procurement_methods: BTreeSet<String>,
    /// Procurement method details where prices are compared (overrides the list above).
    pub price_comparison_procurement_methods: BTreeSet<String>,
    /// Procurement method details whose releases are left out altogether.
    pub excluded_procurement_method_details: BTreeSet<String>,
    /// R003.
    pub r003: Option<R003>,
    /// R018: the procurement methods (default open and selective).
    pub r018: Option<Option<BTreeSet<String>>>,
    /// R024: the lower fence.
    pub r024: Option<Option<f64>>,
    /// R025.
    pub r025: Option<R025>,
    /// R028.
    pub r028: bool,
    /// R030.
    pub r030: bool,
    /// R035: fewest other disqualified tenderers (default 1).
    pub r035: Option<Option<u64>>,
    /// R036.
    pub r036: bool,
    /// R038.
    pub r038: Option<R038>,
    /// R044.
    pub r044: bool,
    /// R048.
    pub r048: Option<R048>,
    /// R058: the upper fence.
    pub r058: Option<Option<f64>>,
}

/// A `|`-separated list, as Cardinal splits it (a trailing `|` adds nothing).
pub fn pipe_set(s: &str) -> BTreeSet<String> {
    s.split_terminator('|').map(str::to_owned).collect()
}

struct Field<'a> {
    section: &'a str,
    key: &'a str,
    value: &'a str,
}

impl Field<'_> {
    fn bad(&self, expected: &'static str) -> SettingsError {
        SettingsError::Value {
            section: self.section.to_owned(),
            key: self.key.to_owned(),
            value: self.value.to_owned(),
            expected,
        }
    }

    fn word(&self) -> Option<i64> {
        match self.value.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Some(1),
            "false" | "off" | "no" => Some(0),
            _ => None,
        }
    }

    fn int(&self) -> Result<i64, SettingsError> {
        self.word()
            .map_or_else(|| self.value.parse().ok(), Some)
            .ok_or_else(|| self.bad("an integer"))
    }

    fn uint(&self) -> Result<u64, SettingsError> {
        self.word()
            .map_or_else(|| self.value.parse().ok(), |w| Some(w as u64))
            .ok_or_else(|| self.bad("a whole number"))
    }

    fn float(&self) -> Result<f64, SettingsError> {
        self.word()
            .map_or_else(|| self.value.parse().ok(), |w| Some(w as f64))
            .ok_or_else(|| self.bad("a number"))
    }

    fn boolean(&self) -> Result<bool, SettingsError> {
        match self.value.to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => Ok(true),
            "0" | "false" | "off" | "no" => Ok(false),
            _ => Err(self.bad("true or false")),
        }
    }
}

fn unknown(section: &str, key: &str) -> SettingsError {
    if section.is_empty() {
        SettingsError::Unknown(format!("key {key}"))
    } else {
        SettingsError::Unknown(format!("key {key} in [{section}]"))
    }
}

impl Settings {
    /// Parses a settings file's text.
    pub fn parse(text: &str) -> Result<Settings, SettingsError> {
        let ini =
            ini::Ini::load_from_str(text).map_err(|e| SettingsError::Syntax(e.to_string()))?;
        let mut s = Settings::default();
        for (section, props) in ini.iter() {
            let section = section.unwrap_or("");
            s.enable(section)?;
            for (key, value) in props.iter() {
                s.set(&Field {
                    section,
                    key,
                    value,
                })?;
            }
        }
        Ok(s)
    }

    /// Turns on the indicator a section names (an empty section runs it with defaults).
    fn enable(&mut self, section: &str) -> Result<(), SettingsError> {
        let head = section.split('.').next().unwrap_or("");
        match head {
            "" | "output" | "exclusions" => {}
            "codelists" | "defaults" | "redactions" | "corrections" | "modifications" => {}
            "R003" => drop(self.r003.get_or_insert_with(R003::default)),
            "R018" => drop(self.r018.get_or_insert(None)),
            "R024" => drop(self.r024.get_or_insert(None)),
            "R025" => drop(self.r025.get_or_insert_with(R025::default)),
            "R028" => self.r028 = true,
            "R030" => self.r030 = true,
            "R035" => drop(self.r035.get_or_insert(None)),
            "R036" => self.r036 = true,
            "R038" => drop(self.r038.get_or_insert_with(R038::default)),
            "R044" => self.r044 = true,
            "R048" => drop(self.r048.get_or_insert_with(R048::default)),
            "R058" => drop(self.r058.get_or_insert(None)),
            _ => return Err(SettingsError::Unknown(format!("section [{section}]"))),
        }
        if section.contains('.')
            && section != "R003.procurement_method_details"
            && head != "codelists"
        {
            return Err(SettingsError::Unknown(format!("section [{section}]")));
        }
        Ok(())
    }

    fn set(&mut self, f: &Field<'_>) -> Result<(), SettingsError> {
        match (f.section, f.key) {
            ("", "currency") => self.currency = Some(f.value.to_owned()),
            ("", "no_price_comparison_procurement_methods") => {
                self.no_price_comparison_procurement_methods = pipe_set(f.value);
            }
            ("", "price_comparison_procurement_methods") => {
                self.price_comparison_procurement_methods = pipe_set(f.value);
            }
            ("exclusions", "procurement_method_details") => {
                self.excluded_procurement_method_details = pipe_set(f.value);
            }
            ("output", "info_currency_mismatches") => drop(f.boolean()?),
            ("codelists" | "defaults" | "redactions" | "corrections" | "modifications", _) => {}
            (s, _) if s.starts_with("codelists.") => {}
            ("R003.procurement_method_details", key) => {
                if let Some(r) = self.r003.as_mut() {
                    r.procurement_method_details
                        .insert(key.to_owned(), f.int()?);
                }
            }
            _ => self.set_indicator(f)?,
        }
        Ok(())
    }

    fn set_indicator(&mut self, f: &Field<'_>) -> Result<(), SettingsError> {
        match (f.section, f.key) {
            ("R003", "threshold") => self.r003_mut().threshold = Some(f.int()?),
            ("R003", "procurement_methods") => {
                self.r003_mut().procurement_methods = pipe_set(f.value);
            }
            ("R018", "procurement_methods") => self.r018 = Some(Some(pipe_set(f.value))),
            ("R024", "threshold") => self.r024 = Some(Some(f.float()?)),
            ("R025", "percentile") => self.r025_mut().percentile = Some(f.uint()?),
            ("R025", "threshold") => self.r025_mut().threshold = Some(f.float()?),
            ("R035", "threshold") => self.r035 = Some(Some(f.uint()?)),
            ("R038", "threshold") => self.r038_mut().threshold = Some(f.float()?),
            ("R038", "minimum_submitted_bids") => {
                self.r038_mut().minimum_submitted_bids = Some(f.uint()?);
            }
            ("R038", "minimum_contracting_processes") => {
                self.r038_mut().minimum_contracting_processes = Some(f.uint()?);
            }
            ("R048", "digits") => self.r048_mut().digits = Some(f.uint()?),
            ("R048", "threshold") => self.r048_mut().threshold = Some(f.uint()?),
            ("R048", "minimum_contracting_processes") => {
                self.r048_mut().minimum_contracting_processes = Some(f.uint()?);
            }
            ("R058", "threshold") => self.r058 = Some(Some(f.float()?)),
            (section, key) => return Err(unknown(section, key)),
        }
        Ok(())
    }

    fn r003_mut(&mut self) -> &mut R003 {
        self.r003.get_or_insert_with(R003::default)
    }

    fn r025_mut(&mut self) -> &mut R025 {
        self.r025.get_or_insert_with(R025::default)
    }

    fn r038_mut(&mut self) -> &mut R038 {
        self.r038.get_or_insert_with(R038::default)
    }

    fn r048_mut(&mut self) -> &mut R048 {
        self.r048.get_or_insert_with(R048::default)
    }

    /// Every indicator with its defaults (for `--all`), keeping what `self` configures.
    pub fn with_all(mut self) -> Settings {
        self.r003.get_or_insert_with(R003::default);
        self.r018.get_or_insert(None);
        self.r024.get_or_insert(None);
        self.r025.get_or_insert_with(R025::default);
        self.r028 = true;
        self.r030 = true;
        self.r035.get_or_insert(None);
        self.r036 = true;
        self.r038.get_or_insert_with(R038::default);
        self.r044 = true;
        self.r048.get_or_insert_with(R048::default);
        self.r058.get_or_insert(None);
        self
    }
}
