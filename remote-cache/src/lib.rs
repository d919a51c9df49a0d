//! The shared cache of build-script runs over the Remote Execution API v2 (REAPI): the
//! action cache and CAS that BuildBuddy, Buildbarn, bazel-remote, NativeLink, EngFlow and
//! BuildGrid serve.
//!
//! This crate knows REAPI and signatures, not build scripts: the stand-in
//! (`wasm_build_standin::run_cache`) maps a run onto an `Action` and its result onto an
//! `ActionResult`. What it promises:
//!
//! - **Every blob is checked.** [`RemoteCache::download`] hands back only blobs whose
//!   SHA-256 and size are the digest asked for.
//! - **Entries are signed.** A writer signs (action digest, result digest) with its
//!   ed25519 [`SigningKey`] ([`signed_message`] is what is signed); a reader accepts only
//!   signatures that verify under one of its [`TrustedKeys`], Nix's model.
//! - **It never blocks a build for long.** Connecting and each call have a timeout
//!   ([`Config`]); every failure is an error the caller turns into a warning.
//!
//! **The client is the `client` feature**, off by default: tonic, hyper, h2 and tokio
//! add about a minute of CPU to every install of the tool, and most users have no
//! shared cache. Without it the configuration is still read and keys are still made
//! (`cache keygen`), so a configured cache in a build without the client is said, never
//! ignored. TLS (`grpcs://`) is the `tls` feature on top (rustls with ring and the
//! system's roots): it adds a C and assembly build, and caches are mostly reached on a
//! private network or through a local proxy.

#[cfg(feature = "client")]
mod client;
mod config;
mod signing;

#[cfg(feature = "client")]
pub use bazel_remote_apis::build::bazel::remote::execution::v2 as proto;
#[cfg(feature = "client")]
pub use client::{RemoteCache, digest_of};
pub use config::{
    Config, INSTANCE_ENV, REMOTE_CACHE_ENV, SIGNING_KEY_ENV, TIMEOUT_ENV, TOKEN_FILE_ENV,
    TRUSTED_KEYS_ENV, WRITE_ENV,
};
#[cfg(feature = "client")]
pub use prost::Message;
#[cfg(feature = "client")]
pub use signing::signed_message;
pub use signing::{SigningKey, TrustedKeys};

/// Whether this build has the REAPI client (the `client` feature): without it a
/// configured shared cache is reported unusable, with how to install a build that has it.
pub const HAS_CLIENT: bool = cfg!(feature = "client");

/// The configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not `grpc://host:port` (or `grpcs://`).
    #[error("{REMOTE_CACHE_ENV} must be `grpc://host:port` (or `grpcs://host:port`), not `{0}`")]
    Endpoint(String),
    /// A shared cache is configured in a build without the client.
    #[error(
        "`{0}` is configured, but this build of cargo-wasm-build has no shared-cache client: install it with `cargo install --locked --features remote-cache cargo-wasm-build` (or `--features remote-cache` on your install command), or unset {REMOTE_CACHE_ENV}"
    )]
    NoClient(String),
    /// `grpcs://` in a build without TLS.
    #[error(
        "`{0}` needs TLS, which this build of cargo-wasm-build lacks: install it with `--features tls`, or reach the cache over `grpc://` (a local proxy)"
    )]
    NoTls(String),
    /// A trusted key is malformed.
    #[error("{TRUSTED_KEYS_ENV}: {0}")]
    TrustedKeys(KeyError),
    /// The signing key cannot be read.
    #[error("{SIGNING_KEY_ENV} `{path}`: {source}")]
    SigningKey {
        /// The file.
        path: String,
        /// Why.
        source: KeyError,
    },
    /// Writing asked for without a key to sign with.
    #[error(
        "{WRITE_ENV}=1 needs {SIGNING_KEY_ENV} (a key made by `cargo wasm-build cache keygen`): nothing is written unsigned"
    )]
    WriteWithoutKey,
    /// The timeout is not a number of seconds.
    #[error("{TIMEOUT_ENV} must be a number of seconds, not `{0}`")]
    Timeout(String),
}

/// A key or token file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// It cannot be read.
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    /// It does not hold what it should.
    #[error("{0}")]
    Malformed(String),
}

/// Why a stored signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Not `name:base64` of 64 bytes.
    #[error("its signature is malformed")]
    Malformed,
    /// Made by a key not trusted here.
    #[error("it is signed by `{0}`, which is not among the trusted keys ({TRUSTED_KEYS_ENV})")]
    Untrusted(String),
    /// Does not verify under the trusted key of that name.
    #[error("its signature does not verify under the trusted key `{0}` (forged or altered)")]
    Invalid(String),
}

/// A call to the server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The server cannot be reached, or did not answer in time.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The server refused the credentials.
    #[error("access denied: {0}")]
    Denied(String),
    /// The server refused the call.
    #[error("refused: {0}")]
    Refused(String),
    /// A blob the entry names is not in the CAS.
    #[error("a blob it names is missing from the CAS")]
    Missing,
    /// A blob does not match its digest.
    #[error("a blob does not match its digest")]
    Corrupt,
    /// The token file cannot be used.
    #[error("the token file `{path}`: {source}")]
    Token {
        /// The file.
        path: String,
        /// Why.
        source: KeyError,
    },
}
