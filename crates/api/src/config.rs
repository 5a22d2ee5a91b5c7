//! Server configuration (`qinglian serve --config FILE`, TOML; every field optional).

use serde::Deserialize;

/// Limits and settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Largest page a client may ask for.
    pub max_page: usize,
    /// Default page size.
    pub default_page: usize,
    /// Longest path a client may ask for.
    pub max_hops: u32,
    /// Largest neighbourhood radius for exports.
    pub max_export_hops: u32,
    /// Most nodes in an export.
    pub max_export_nodes: usize,
    /// Most bidders in a pre-award screening.
    pub max_bidders: usize,
    /// Requests per second per token (sustained).
    pub rate_per_second: f64,
    /// Burst allowance per token.
    pub rate_burst: f64,
    /// Requests served at once; beyond, new ones are shed with 503.
    pub max_concurrent: usize,
    /// Time budget of one request, milliseconds (checked inside searches).
    pub request_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 64 * 1024,
            max_page: 500,
            default_page: 50,
            max_hops: 6,
            max_export_hops: 3,
            max_export_nodes: 20_000,
            max_bidders: 200,
            rate_per_second: 50.0,
            rate_burst: 100.0,
            max_concurrent: 16,
            request_timeout_ms: 10_000,
        }
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
