//! The typed parameters of the native rules (`native = "…"` in a rule file, configured by its
//! `[params]` table). They live here, beside the rule files' parser, because two executors
//! read them: the engine's Rust implementation and the SQL compiler's twin; one parse means
//! one meaning of every parameter and default.

/// `split_contracts`' parameters.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitParams {
    /// Longest span of one run of contracts, days.
    pub window_days: u32,
    /// The procurement threshold each contract stays under.
    pub threshold: f64,
    /// Fewest contracts in a run.
    pub min_contracts: u32,
    /// Red when the run's total exceeds this many thresholds.
    pub red_multiple: f64,
}

impl Default for SplitParams {
    fn default() -> Self {
        SplitParams {
            window_days: 90,
            threshold: 1_000_000.0,
            min_contracts: 3,
            red_multiple: 2.0,
        }
    }
}

impl SplitParams {
    /// Reads the `[params]` table: an unknown (misspelt) key, a value of the wrong type or out
    /// of range is an error naming it, never a silent default.
    pub fn from_table(t: &toml::Table) -> Result<SplitParams, String> {
        let p: SplitParams = toml::Value::Table(t.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("[params]: {}", e.message()))?;
        if !(p.threshold > 0.0 && p.red_multiple >= 1.0 && p.min_contracts >= 2) {
            return Err(
                "[params]: threshold must be positive, red_multiple at least 1, min_contracts at least 2"
                    .into(),
            );
        }
        Ok(p)
    }
}
