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
    /// Requests per second per client address without an accepted token (sustained).
    pub anon_rate_per_second: f64,
    /// Burst allowance per client address without an accepted token.
    pub anon_rate_burst: f64,
    /// Requests per second of all callers without an accepted token together.
    pub anon_global_per_second: f64,
    /// Longest request target (path and query), bytes; longer ones get 414.
    pub max_uri_bytes: usize,
    /// Longest single header value, bytes; longer ones get 431.
    pub max_header_bytes: usize,
    /// Most headers in a request; more get 431.
    pub max_headers: usize,
    /// Most bytes of all headers together; more get 431.
    pub max_header_total_bytes: usize,
    /// Longest X-Case-Id / X-Purpose, bytes; longer ones get 431.
    pub max_case_bytes: usize,
    /// Bytes of a request body kept in its audit record (the rest is cut, and marked).
    pub audit_body_bytes: usize,
    /// Time a client has to send its request headers, milliseconds.
    pub header_timeout_ms: u64,
    /// Time a client has to send its request body, milliseconds.
    pub body_timeout_ms: u64,
    /// Open connections at once; beyond, new connections are closed at once.
    pub max_connections: usize,
    /// Seconds between the audit records that count rate-limited requests.
    pub flood_summary_secs: u64,
    /// Minutes a workbench session lasts without a request.
    pub session_idle_minutes: u64,
    /// Mark the session cookie `Secure` (set when the server is reached over HTTPS through a
    /// proxy; a browser does not send a Secure cookie over plain HTTP, even to 127.0.0.1 in
    /// some versions).
    pub secure_cookie: bool,
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
            anon_rate_per_second: 2.0,
            anon_rate_burst: 20.0,
            anon_global_per_second: 50.0,
            max_uri_bytes: 4096,
            max_header_bytes: 4096,
            max_headers: 64,
            max_header_total_bytes: 16 * 1024,
            max_case_bytes: 256,
            audit_body_bytes: 4096,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_connections: 1024,
            flood_summary_secs: 10,
            session_idle_minutes: 30,
            secure_cookie: false,
        }
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, crate::Error> {
        let err =
            |e: &dyn std::fmt::Display| crate::Error::Config(format!("{}: {e}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| err(&e))?;
        toml::from_str(&text).map_err(|e| err(&e))
    }
}
