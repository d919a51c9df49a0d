//! Where the shared cache is and what this machine may do with it, from the environment
//! (which cargo also fills from the `[env]` table of `.cargo/config.toml`).

#![allow(
    clippy::disallowed_methods,
    reason = "the shared cache's configuration is the tool's own variables"
)]

use std::path::PathBuf;
use std::time::Duration;

use crate::ConfigError;
use crate::signing::{SigningKey, TrustedKeys};

/// The endpoint: `grpc://host:port`, or `grpcs://host:port` for TLS. Unset: no shared
/// cache.
pub const REMOTE_CACHE_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE";
/// The REAPI instance name (empty by default).
pub const INSTANCE_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_INSTANCE";
/// A file holding a bearer token sent as `authorization: Bearer …`. The file, never the
/// token, is configured, and like every `CARGO_WASM_BUILD_*` variable its name is hidden
/// from build scripts.
pub const TOKEN_FILE_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_TOKEN_FILE";
/// `1` to write runs to the shared cache (with [`SIGNING_KEY_ENV`]); anything else reads
/// only.
pub const WRITE_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_WRITE";
/// The file of the ed25519 key that signs what this machine writes (made by
/// `cargo wasm-build cache keygen`).
pub const SIGNING_KEY_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY";
/// The public keys whose entries are trusted: `name:base64` separated by spaces or
/// commas, as `cargo wasm-build cache keygen` prints them.
pub const TRUSTED_KEYS_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS";
/// The longest one call to the server may take, in seconds (default 5); connecting gets
/// at most 2 of them.
pub const TIMEOUT_ENV: &str = "CARGO_WASM_BUILD_REMOTE_CACHE_TIMEOUT";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The shared cache's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `http://host:port` or `https://host:port`, as tonic takes it.
    #[cfg_attr(
        not(feature = "client"),
        expect(dead_code, reason = "checked without the client, used by it")
    )]
    pub(crate) uri: String,
    /// The endpoint as the user wrote it, for messages.
    pub endpoint: String,
    /// The REAPI instance name.
    pub instance: String,
    /// Where the bearer token is, if any.
    pub token_file: Option<PathBuf>,
    /// The keys whose entries are used.
    pub trusted: TrustedKeys,
    /// The key that signs what is written; `None` reads only.
    pub signing: Option<SigningKey>,
    /// The longest one call may take.
    pub timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
}

impl Config {
    /// The configuration in this process's environment; `Ok(None)` when no shared cache
    /// is configured.
    ///
    /// # Errors
    ///
    /// A malformed endpoint, trusted key list, timeout or signing key, or writing asked
    /// for without a signing key.
    pub fn from_env() -> Result<Option<Config>, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(endpoint) = var(REMOTE_CACHE_ENV) else {
            return Ok(None);
        };
        let uri = http_uri(endpoint.trim())?;
        require_client(endpoint.trim(), crate::HAS_CLIENT)?;
        let trusted = match var(TRUSTED_KEYS_ENV) {
            Some(text) => TrustedKeys::parse(&text).map_err(ConfigError::TrustedKeys)?,
            None => TrustedKeys::default(),
        };
        let write = var(WRITE_ENV).is_some_and(|value| value.trim() == "1");
        let signing = match (write, var(SIGNING_KEY_ENV)) {
            (false, _) => None,
            (true, None) => return Err(ConfigError::WriteWithoutKey),
            (true, Some(path)) => {
                Some(SigningKey::read(path.trim().as_ref()).map_err(|source| {
                    ConfigError::SigningKey {
                        path: path.clone(),
                        source,
                    }
                })?)
            }
        };
        let timeout = match var(TIMEOUT_ENV) {
            None => DEFAULT_TIMEOUT,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs < 3600.0)
                .map(Duration::from_secs_f64)
                .ok_or(ConfigError::Timeout(text))?,
        };
        Ok(Some(Config {
            uri,
            endpoint: endpoint.trim().to_string(),
            instance: var(INSTANCE_ENV).unwrap_or_default().trim().to_string(),
            token_file: var(TOKEN_FILE_ENV).map(|path| PathBuf::from(path.trim())),
            trusted,
            signing,
            connect_timeout: CONNECT_TIMEOUT.min(timeout),
            timeout,
        }))
    }

    /// `endpoint` with the default timeouts, no token, no key trusted and none to sign
    /// with: for tools (and tests) that talk to a cache directly.
    ///
    /// # Errors
    ///
    /// A malformed endpoint.
    pub fn for_endpoint(endpoint: &str) -> Result<Config, ConfigError> {
        Ok(Config {
            uri: http_uri(endpoint)?,
            endpoint: endpoint.to_string(),
            instance: String::new(),
            token_file: None,
            trusted: TrustedKeys::default(),
            signing: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
        })
    }

    /// Whether this machine writes what it runs.
    pub fn writes(&self) -> bool {
        self.signing.is_some()
    }
}

/// A configured cache in a build without the client is an error, so that it is said
/// (once per build) rather than quietly never asked.
fn require_client(endpoint: &str, has_client: bool) -> Result<(), ConfigError> {
    if has_client {
        Ok(())
    } else {
        Err(ConfigError::NoClient(endpoint.to_string()))
    }
}

/// `grpc://h:p` as `http://h:p`, `grpcs://h:p` as `https://h:p` (only with the `tls`
/// feature).
fn http_uri(endpoint: &str) -> Result<String, ConfigError> {
    let malformed = || ConfigError::Endpoint(endpoint.to_string());
    let (scheme, rest) = endpoint.split_once("://").ok_or_else(malformed)?;
    let valid_rest = !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && rest.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port != 0)
        });
    if !valid_rest {
        return Err(malformed());
    }
    match scheme {
        "grpc" => Ok(format!("http://{rest}")),
        "grpcs" if cfg!(feature = "tls") => Ok(format!("https://{rest}")),
        "grpcs" => Err(ConfigError::NoTls(endpoint.to_string())),
        _ => Err(malformed()),
    }
}

/// Reads a bearer token file: its first line, trimmed.
#[cfg(feature = "client")]
pub(crate) fn read_token(path: &std::path::Path) -> Result<String, crate::KeyError> {
    use crate::KeyError;
    let text = std::fs::read_to_string(path).map_err(KeyError::Read)?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyError::Malformed(
            "the token file's first line is empty or not printable ASCII".into(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "client")]
    fn a_token_is_the_first_line_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  abc.DEF-123  \nsecond line\n").unwrap();
        assert_eq!(read_token(&path).unwrap(), "abc.DEF-123");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_token(&path).is_err());
        std::fs::write(&path, "a b\n").unwrap();
        assert!(read_token(&path).is_err(), "not a header value");
        assert!(read_token(&dir.path().join("none")).is_err());
    }

    #[test]
    fn a_build_without_the_client_refuses_a_configured_cache_and_says_how_to_get_one() {
        assert!(require_client("grpc://h:1", true).is_ok());
        let err = require_client("grpc://h:1", false).unwrap_err().to_string();
        assert!(err.contains("`grpc://h:1`"), "{err}");
        assert!(
            err.contains("cargo install --locked --features remote-cache cargo-wasm-build"),
            "{err}"
        );
    }

    #[test]
    fn endpoints_map_to_uris() {
        assert_eq!(
            http_uri("grpc://127.0.0.1:9092").unwrap(),
            "http://127.0.0.1:9092"
        );
        assert_eq!(
            http_uri("grpc://cache.example:443").unwrap(),
            "http://cache.example:443"
        );
        for bad in [
            "127.0.0.1:9092",
            "http://h:1",
            "grpc://h",
            "grpc://h:0",
            "grpc://h:1/x",
            "grpc://:1",
            "grpc://u@h:1",
        ] {
            assert!(http_uri(bad).is_err(), "{bad}");
        }
    }
}
