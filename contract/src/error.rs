//! Why a file one of the tool's processes wrote cannot be used by another.

use std::io;
use std::path::PathBuf;

use crate::Code;

/// A policy file or stand-in manifest that cannot be read, written or trusted. Each
/// message says what the user can do about it; callers match on the kind (a stale
/// manifest is rebuilt, an unreadable one is an I/O problem) instead of on the text.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The policy file the CLI named cannot be read.
    #[error("failed to read the sandbox policy {}", path.display())]
    ReadPolicy {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The policy file does not parse.
    #[error("the sandbox policy {} is corrupt", path.display())]
    CorruptPolicy {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A package's grant digest file (see
    /// [`PolicyFile::grant_digest_file`](crate::PolicyFile::grant_digest_file)) cannot
    /// be read or written.
    #[error("failed to write the grant digest {}", path.display())]
    GrantDigest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A stand-in manifest exists but cannot be read.
    #[error("failed to read {}", path.display())]
    ReadManifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A stand-in manifest cannot be written.
    #[error("failed to write {}", path.display())]
    WriteManifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A stand-in manifest cannot be encoded.
    #[error("failed to encode stand-in manifest")]
    EncodeManifest(#[source] serde_json::Error),
    /// A stand-in manifest does not parse.
    #[error("{} is corrupt; run `cargo clean` and build again", path.display())]
    CorruptManifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A stand-in manifest in a format this version does not read.
    #[error(
        "{} was written by another version of cargo-wasm-build; run `cargo clean` and build again",
        path.display()
    )]
    OtherVersion {
        /// The file.
        path: PathBuf,
    },
    /// A stand-in whose script was compiled against another std facade.
    #[error(
        "{} belongs to a build script compiled by another version of cargo-wasm-build, \
         whose std facade differs; `cargo wasm-build` compiles such scripts again, \
         or run `cargo clean` and build again",
        path.display()
    )]
    OtherFacade {
        /// The file.
        path: PathBuf,
    },
}

impl ContractError {
    /// The diagnostic code of the kinds a user acts on: a stand-in manifest that is stale
    /// or corrupt ([`Code::W404`], `cargo clean`). The others are I/O failures of the tool.
    pub fn code(&self) -> Option<Code> {
        match self {
            ContractError::CorruptManifest { .. }
            | ContractError::OtherVersion { .. }
            | ContractError::OtherFacade { .. } => Some(Code::W404),
            _ => None,
        }
    }
}
