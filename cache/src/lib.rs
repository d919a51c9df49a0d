//! A user-level, content-addressed store of guest artifacts: the std facade, the guest
//! twins of build-dependencies and precompiled wasm modules; and of build-script runs,
//! which the stand-in's run cache keys and restores (`wasm_build_standin::run_cache`).
//!
//! Each target directory keeps its own copies (cargo's `clean` removes them), but making
//! them is fixed work that a fresh target directory (CI, `cargo clean`, a new worktree)
//! would otherwise redo on every build script's critical path. This store lets the second
//! target directory copy what the first one compiled.
//!
//! What it is not: it decides nothing about *what* an entry's key must cover. Callers
//! build a [`Key`] from every input that determines the bytes; the store only promises
//! that what [`ArtifactCache::fetch`] hands back is byte for byte what
//! [`ArtifactCache::store`] was given under that key, or nothing.
//!
//! Entries are written atomically (a temporary file renamed into place), so parallel
//! cargo processes never see half an entry; each carries the SHA-256 of its payload,
//! checked on every fetch, so a truncated or corrupted entry is a miss (and is removed),
//! never an artifact.
//!
//! Entries are machine code the build loads, so a fetch trusts an entry only when every
//! directory from the root down to it, and the entry itself, is the user's and writable
//! by nobody else (see [`ArtifactCache::fetch`]); anything else is refused as a miss and
//! noted in the log, so the build that set the log says so once, with the fix.

#![allow(
    clippy::disallowed_methods,
    reason = "the store's location and log are the tool's own variables (CARGO_WASM_BUILD_CACHE, XDG_CACHE_HOME, HOME)"
)]

mod candidates;
mod relocate;
pub use relocate::relocate;

use std::ffi::CString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use wasm_build_contract::vars::{CACHE_ENV, CACHE_LOG_ENV};

/// The default bound on the store's size: a 170-package graph fills about 30 MiB, so this
/// keeps dozens of projects and toolchains.
pub const DEFAULT_LIMIT: u64 = 2 << 30;

/// The first bytes of every entry; the version changes with the entry format.
const MAGIC: &str = "cargo-wasm-build-cache 1";

/// Where the store remembers how it looked after its last trim (see
/// [`ArtifactCache::trim_if_changed`]).
const TRIMMED: &str = ".trimmed";

/// The file holding the running totals of run hits and misses, in the directory of
/// [`Kind::Run`] (hidden: it is no entry).
const RUN_TOTALS: &str = "runs/.totals";

/// The running totals of runs fetched from, and not found in, the shared (REAPI) cache.
const REMOTE_TOTALS: &str = "runs/.remote-totals";

/// Temporary files older than this are leftovers of a killed process.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// What an entry holds. Each kind has its own directory, so `cache --stats` can say
/// where the space goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The std facade compiled for one rustc.
    Facade,
    /// A build-dependency compiled for wasm32-wasip1.
    Twin,
    /// A build script's module compiled by Cranelift for one wasmtime engine.
    Module,
    /// A build script's run: what it printed and the files it left in `OUT_DIR`, stored
    /// by the stand-in's run cache (its key manifests, results and file contents).
    Run,
    /// A build's resolved policy, with the files it was resolved from, so a no-change
    /// rebuild skips `cargo metadata`.
    Policy,
    /// A downloaded library compiled natively: rustc's outputs (rlib, rmeta, dep-info)
    /// and diagnostics, stored by the wrapper's library cache.
    Library,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 6] = [
        Kind::Facade,
        Kind::Twin,
        Kind::Module,
        Kind::Run,
        Kind::Library,
        Kind::Policy,
    ];

    fn dir_name(self) -> &'static str {
        match self {
            Kind::Facade => "facade",
            Kind::Twin => "twins",
            Kind::Module => "modules",
            Kind::Run => "runs",
            Kind::Policy => "policies",
            Kind::Library => "libraries",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Facade => "std facades",
            Kind::Twin => "build-dependencies (wasm)",
            Kind::Module => "compiled modules",
            Kind::Run => "build-script runs",
            Kind::Policy => "resolved build policies",
            Kind::Library => "libraries (native)",
        }
    }
}

/// The name of an entry: a digest of everything that determines its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// Starts a key. `domain` separates kinds of keys, so two callers hashing the same
    /// parts for different artifacts never collide.
    pub fn builder(domain: &str) -> KeyBuilder {
        let mut builder = KeyBuilder(Sha256::new());
        builder.add(domain.as_bytes());
        builder
    }

    /// The key as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collects the parts of a [`Key`]. Each part is length-prefixed, so `["ab", "c"]` and
/// `["a", "bc"]` give different keys.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// Adds one part.
    pub fn add(&mut self, part: impl AsRef<[u8]>) -> &mut Self {
        let part = part.as_ref();
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// The finished key.
    pub fn finish(self) -> Key {
        Key(hex(&self.0.finalize()))
    }
}

/// Why the store cannot be used. Each is only a loss of speed, but the user should hear
/// about it once, with what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Entries are machine code loaded into the build; anyone who can write them can run
    /// code as the user.
    #[error("{path} is writable by other users (mode {mode:o}); fix it with `chmod go-w {path}`")]
    WritableByOthers {
        /// The directory.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Someone else's directory.
    #[error("{path} belongs to another user (uid {owner}); point {CACHE_ENV} elsewhere")]
    NotOwned {
        /// The directory.
        path: String,
        /// Its owner.
        owner: u32,
    },
    /// `CACHE_ENV` named a relative path.
    #[error("{CACHE_ENV} must be an absolute directory or `off`, not `{0}`")]
    RelativePath(String),
    /// The directory could not be created or read.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// What failed.
        source: io::Error,
    },
}

/// Where the store should be, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `CARGO_WASM_BUILD_CACHE=off`.
    Off,
    /// The directory to use.
    Dir(PathBuf),
    /// No `CARGO_WASM_BUILD_CACHE`, `XDG_CACHE_HOME` or `HOME`.
    Unknown,
}

impl Location {
    /// Reads [`CACHE_ENV`], then the platform cache directory.
    pub fn from_env() -> Location {
        if let Some(value) = std::env::var_os(CACHE_ENV).filter(|value| !value.is_empty()) {
            if value == "off" {
                return Location::Off;
            }
            return Location::Dir(PathBuf::from(value));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
        match base {
            Some(base) => Location::Dir(base.join("cargo-wasm-build").join("artifacts")),
            None => Location::Unknown,
        }
    }
}

/// The store. Cloning it is cheap; every method may be called from parallel processes.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    root: PathBuf,
    /// The root as checked when opened: fetches walk down from this handle, never from
    /// the path, so a root renamed and replaced afterwards is not the one they read.
    root_dir: Arc<OwnedFd>,
    log: Option<PathBuf>,
}

/// What the store did during one build, from its log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Artifacts copied from the store instead of compiled.
    pub reused: u64,
    /// Artifacts compiled and stored for the next target directory.
    pub stored: u64,
    /// Why entries were refused, each distinct reason once, in the order first met: a
    /// directory or entry others could change (see [`Untrusted`]).
    pub refused: Vec<String>,
    /// Stored runs that matched but were not used (a file missing or not matching its
    /// digest), each distinct sentence once.
    pub run_problems: Vec<String>,
    /// Build-script runs restored from the store instead of run.
    pub run_hits: u64,
    /// Build-script runs the store could have served but had no entry for.
    pub run_misses: u64,
    /// Native compiles of downloaded libraries restored from the store.
    pub library_hits: u64,
    /// Native compiles of downloaded libraries the store had no entry for.
    pub library_misses: u64,
}

impl Usage {
    /// Reads a log written under [`CACHE_LOG_ENV`]; a missing log is no usage.
    pub fn read(log: &Path) -> Usage {
        let text = fs::read_to_string(log).unwrap_or_default();
        let mut usage = Usage::default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("reused" | "stored", "runs" | "policies" | "libraries")) => {}
                Some(("library", "hit")) => usage.library_hits += 1,
                Some(("library", "miss")) => usage.library_misses += 1,
                Some(("reused", _)) => usage.reused += 1,
                Some(("stored", _)) => usage.stored += 1,
                Some(("run", "hit")) => usage.run_hits += 1,
                Some(("unused", why)) if !usage.run_problems.iter().any(|seen| seen == why) => {
                    usage.run_problems.push(why.to_string());
                }
                Some(("run", "miss")) => usage.run_misses += 1,
                Some(("refused", why)) if !usage.refused.iter().any(|seen| seen == why) => {
                    usage.refused.push(why.to_string());
                }
                _ => {}
            }
        }
        usage
    }
}

/// Why a fetch did not trust what it found on the way to an entry: a directory or the
/// entry itself that belongs to another user or that others may write (they could put
/// their own machine code there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Untrusted {
    /// Group or others may write it.
    #[error(
        "{path} is writable by other users (mode {mode:o}), so its entries are not used; fix it with `chmod go-w {path}`"
    )]
    WritableByOthers {
        /// The directory or entry.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Another user owns it.
    #[error(
        "{path} belongs to another user (uid {owner}), so its entries are not used; fix it with `chown {user} {path}` or remove it"
    )]
    NotOwned {
        /// The directory or entry.
        path: String,
        /// Its owner.
        owner: u32,
        /// The user running the build.
        user: u32,
    },
    /// A link, a device or anything else that is not a plain file or directory where one
    /// was expected.
    #[error("{path} is not a plain {expected}, so its entries are not used; remove it")]
    NotPlain {
        /// What was found there.
        path: String,
        /// `directory` or `file`.
        expected: &'static str,
    },
}

/// What one kind of entry occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindStats {
    /// The kind.
    pub kind: Kind,
    /// How many entries.
    pub entries: u64,
    /// Their size on disk.
    pub bytes: u64,
    /// How much of it is shared with files of target directories (entries that are still
    /// hard links to the file they were stored from): no space of its own, and not
    /// counted against the bound.
    pub shared_bytes: u64,
}

/// What trimming or clearing removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Entries removed.
    pub entries: u64,
    /// Bytes freed.
    pub bytes: u64,
}

impl ArtifactCache {
    /// The store the environment names, or `None` when it is off or there is no cache
    /// directory.
    ///
    /// # Errors
    ///
    /// Fails when the directory cannot be created or is not safely the user's own.
    pub fn from_env() -> Result<Option<Self>, CacheError> {
        let cache = match Location::from_env() {
            Location::Dir(dir) => Self::open(&dir)?,
            Location::Off | Location::Unknown => return Ok(None),
        };
        Ok(Some(cache.with_log(
            std::env::var_os(CACHE_LOG_ENV).map(PathBuf::from),
        )))
    }

    /// Appends what this store does to `log` (see [`CACHE_LOG_ENV`]).
    #[must_use]
    pub fn with_log(mut self, log: Option<PathBuf>) -> Self {
        self.log = log;
        self
    }

    /// The store in `dir`, created (mode 0700) when missing.
    ///
    /// # Errors
    ///
    /// Fails when `dir` is relative, cannot be created, belongs to another user or can be
    /// written by other users (directly, or by replacing it through its parent): entries
    /// hold machine code, so whoever can write them can run code in the build.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        if dir.is_relative() {
            return Err(CacheError::RelativePath(dir.display().to_string()));
        }
        let io_error = |source| CacheError::Io {
            path: dir.display().to_string(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error)?;
        check_private(dir)?;
        if let Some(parent) = dir.parent() {
            check_not_replaceable(parent)?;
        }
        // The root itself may be reached through links the user set up; what is below
        // it is opened without following any.
        let root_dir = open_at(None, dir, libc::O_DIRECTORY).map_err(io_error)?;
        Ok(ArtifactCache {
            root: dir.to_path_buf(),
            root_dir: Arc::new(root_dir),
            log: None,
        })
    }

    /// The directory holding the entries.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Copies the entry `key` of `kind` to `dest` (atomically: a temporary file beside
    /// it, renamed) and returns whether there was one. A missing, truncated or corrupt
    /// entry is a miss; a corrupt one is also removed. A hit counts as a use for
    /// [`ArtifactCache::trim`].
    ///
    /// Every fetch checks the root, the kind's directory and the entry, on handles opened
    /// one below the other without following links (three `fstat`s): each must be the
    /// user's and writable by nobody else, or the entry is a miss and the reason is noted
    /// in the log ([`Usage::refused`]), never served.
    pub fn fetch(&self, kind: Kind, key: &Key, dest: &Path) -> bool {
        let Some(file) = self.open_checked(kind, key) else {
            return false;
        };
        let Some(payload) = read_verified(file, &self.entry(kind, key)) else {
            return false;
        };
        if write_atomically(dest, &payload.bytes).is_err() {
            return false;
        }
        // Trimming removes the least recently used entries first.
        let _ = payload.file.set_modified(SystemTime::now());
        self.note("reused", kind.dir_name());
        true
    }

    /// The entry `key` of `kind` as bytes, checked as [`ArtifactCache::fetch`] checks it
    /// (ownership and permissions on the way, the payload's digest), or `None`.
    pub fn fetch_bytes(&self, kind: Kind, key: &Key) -> Option<Vec<u8>> {
        let file = self.open_checked(kind, key)?;
        let payload = read_verified(file, &self.entry(kind, key))?;
        let _ = payload.file.set_modified(SystemTime::now());
        self.note("reused", kind.dir_name());
        Some(payload.bytes)
    }

    /// Notes in the log that a build script's run was restored (`hit`) or had to run
    /// although it could have been stored (`miss`), for [`Usage::run_hits`].
    pub fn note_run(&self, hit: bool) {
        self.note("run", if hit { "hit" } else { "miss" });
    }

    /// Notes in the log that a downloaded library's native compile was restored (`hit`)
    /// or compiled and stored (`miss`), for [`Usage::library_hits`].
    pub fn note_library(&self, hit: bool) {
        self.note("library", if hit { "hit" } else { "miss" });
    }

    /// Stores the file at `src` under its own SHA-256 (which it returns) as an entry of
    /// `kind`, content stored once however many entries name it. The entry is the file's
    /// bytes, unframed, so it can be a hard link to `src` (no copy of a library of tens of
    /// megabytes) when `src` is on the store's file system and writable by nobody else;
    /// else a copy. [`ArtifactCache::fetch_content`] hashes what it serves, so an entry
    /// changed since through the other link is a miss, never served.
    ///
    /// # Errors
    ///
    /// Fails when `src` cannot be read or the entry cannot be written, or when the kind's
    /// directory is not to be trusted.
    pub fn store_content(&self, kind: Kind, src: &Path) -> io::Result<String> {
        let digest = file_digest(src)?;
        let key = content_key(&digest);
        let entry = self.entry(kind, &key);
        let dir = self.trusted_dir_to_store(kind)?;
        // Opened as a fetch opens it: a fifo or link in its place is replaced below, never
        // opened (a blocking open of a fifo would hang the build).
        if let Ok(Some(file)) = self.open_trusted(kind, &key) {
            touch_unshared(&file);
            return Ok(digest);
        }
        let private =
            fs::symlink_metadata(src).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o022 == 0);
        let linked = private && {
            let temp = dir.join(format!(".tmp-link-{}-{digest}", std::process::id()));
            let _ = fs::remove_file(&temp);
            fs::hard_link(src, &temp).is_ok() && fs::rename(&temp, &entry).is_ok()
        };
        if !linked {
            let mut temp = tempfile::Builder::new().prefix(".tmp").tempfile_in(&dir)?;
            io::copy(&mut File::open(src)?, &mut temp)?;
            temp.persist(&entry).map_err(|err| err.error)?;
        }
        self.note("stored", kind.dir_name());
        Ok(digest)
    }

    /// Copies the content stored under `digest` by [`ArtifactCache::store_content`] to
    /// `dest` (atomically), checked on the way as [`ArtifactCache::fetch`] checks an entry
    /// and then against `digest` itself; returns whether it did. Content that does not
    /// hash to its name is removed.
    pub fn fetch_content(&self, kind: Kind, digest: &str, dest: &Path) -> bool {
        let key = content_key(digest);
        let Some(mut file) = self.open_checked(kind, &key) else {
            return false;
        };
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() {
            return false;
        }
        if content_digest(&bytes) != digest {
            let _ = fs::remove_file(self.entry(kind, &key));
            return false;
        }
        if write_atomically(dest, &bytes).is_err() {
            return false;
        }
        touch_unshared(&file);
        self.note("reused", kind.dir_name());
        true
    }

    /// Notes in the log why a stored run that matched was not used, for
    /// [`Usage::run_problems`].
    pub fn note_problem(&self, why: &str) {
        self.note("unused", why);
    }

    /// Adds one build's run hits and misses to the store's running totals (see
    /// [`ArtifactCache::run_totals`]); losing an update to a parallel build costs only
    /// the accuracy of a statistic.
    ///
    /// # Errors
    ///
    /// Fails when the totals cannot be written.
    pub fn add_run_totals(&self, usage: &Usage) -> io::Result<()> {
        if (usage.run_hits, usage.run_misses) == (0, 0) {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.root.join(Kind::Run.dir_name()))?;
        let (hits, misses) = self.run_totals();
        let text = format!("{} {}\n", hits + usage.run_hits, misses + usage.run_misses);
        write_atomically(&self.root.join(RUN_TOTALS), text.as_bytes())
    }

    /// Build-script runs restored and missed since the store was created or cleared.
    pub fn run_totals(&self) -> (u64, u64) {
        let text = fs::read_to_string(self.root.join(RUN_TOTALS)).unwrap_or_default();
        let mut numbers = text
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    }

    /// The directory of `kind`, opened below the root once both are checked; `Ok(None)`
    /// when it does not exist.
    fn kind_dir(&self, kind: Kind) -> Result<Option<OwnedFd>, Untrusted> {
        check_handle(&self.root_dir, &self.root, true)?;
        let name = Path::new(kind.dir_name());
        let path = self.root.join(name);
        let flags = libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let Ok(dir) = open_at(Some(&self.root_dir), name, flags) else {
            return not_there(&self.root_dir, name, &path);
        };
        check_handle(&dir, &path, true)?;
        Ok(Some(dir))
    }

    /// The entry `key` of `kind`, opened for reading once every step down to it is
    /// checked; `Ok(None)` when it (or its directory) does not exist or cannot be opened.
    ///
    /// # Errors
    ///
    /// Says which directory or entry is not to be trusted, and the fix.
    fn open_trusted(&self, kind: Kind, key: &Key) -> Result<Option<File>, Untrusted> {
        let Some(kind_dir) = self.kind_dir(kind)? else {
            return Ok(None);
        };
        let entry_path = self.root.join(kind.dir_name()).join(key.as_str());
        // Non-blocking, so a fifo put in the entry's place cannot hang the build.
        let entry_flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
        let Ok(entry) = open_at(Some(&kind_dir), Path::new(key.as_str()), entry_flags) else {
            return not_there(&kind_dir, Path::new(key.as_str()), &entry_path);
        };
        check_handle(&entry, &entry_path, false)?;
        Ok(Some(File::from(entry)))
    }

    /// Stores the file at `src` as the entry `key` of `kind`, replacing any entry there.
    ///
    /// # Errors
    ///
    /// Fails when `src` cannot be read or the entry cannot be written.
    pub fn store(&self, kind: Kind, key: &Key, src: &Path) -> io::Result<()> {
        let payload = fs::read(src)?;
        self.store_bytes(kind, key, &payload)
    }

    /// Stores `payload` as the entry `key` of `kind`, replacing any entry there.
    ///
    /// # Errors
    ///
    /// Fails when the entry cannot be written, or when its directory is not to be trusted
    /// (fetches would refuse it anyway; the reason is noted as for a fetch).
    pub fn store_bytes(&self, kind: Kind, key: &Key, payload: &[u8]) -> io::Result<()> {
        let dir = self.trusted_dir_to_store(kind)?;
        let header = format!(
            "{MAGIC} {} {}\n",
            hex(&Sha256::digest(payload)),
            payload.len()
        );
        let mut temp = tempfile::Builder::new().prefix(".tmp").tempfile_in(&dir)?;
        temp.write_all(header.as_bytes())?;
        temp.write_all(payload)?;
        temp.flush()?;
        temp.persist(self.entry(kind, key))
            .map_err(|err| err.error)?;
        self.note("stored", kind.dir_name());
        Ok(())
    }

    /// The directory of `kind`'s entries, made if missing, once it is checked as a fetch
    /// checks it: storing into a directory others could change is refused (and noted),
    /// so a planted entry is not overwritten behind the user's back.
    fn trusted_dir_to_store(&self, kind: Kind) -> io::Result<PathBuf> {
        let dir = self.root.join(kind.dir_name());
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        if let Err(untrusted) = self.kind_dir(kind) {
            self.note("refused", &untrusted.to_string());
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, untrusted));
        }
        Ok(dir)
    }

    /// The entry `key` of `kind` opened for reading once every step down to it checked
    /// out (see [`ArtifactCache::fetch`]); `None` when there is none or it was refused
    /// (the reason noted).
    fn open_checked(&self, kind: Kind, key: &Key) -> Option<File> {
        match self.open_trusted(kind, key) {
            Ok(file) => file,
            Err(untrusted) => {
                self.note("refused", &untrusted.to_string());
                None
            }
        }
    }

    /// One line in the log; a line this short is written whole even when parallel
    /// processes append to the same file. Line breaks in `what` (a path) are flattened so
    /// that one note stays one line.
    fn note(&self, event: &str, what: &str) {
        let Some(log) = &self.log else { return };
        let what = what.replace(['\n', '\r'], " ");
        if let Ok(mut file) = File::options().create(true).append(true).open(log) {
            let _ = file.write_all(format!("{event} {what}\n").as_bytes());
        }
    }

    /// How many entries of each kind there are and what they occupy.
    pub fn stats(&self) -> Vec<KindStats> {
        Kind::ALL
            .into_iter()
            .map(|kind| {
                let entries = self.entries(kind);
                KindStats {
                    kind,
                    entries: entries.len() as u64,
                    bytes: entries.iter().map(|entry| entry.bytes).sum(),
                    shared_bytes: entries
                        .iter()
                        .filter(|entry| entry.shared)
                        .map(|entry| entry.bytes)
                        .sum(),
                }
            })
            .collect()
    }

    /// Removes every entry.
    ///
    /// # Errors
    ///
    /// Fails when an entry cannot be removed.
    pub fn clear(&self) -> io::Result<Removed> {
        let mut removed = Removed::default();
        let _ = fs::remove_file(self.root.join(RUN_TOTALS));
        let _ = fs::remove_file(self.root.join(REMOTE_TOTALS));
        for kind in Kind::ALL {
            for entry in self.entries(kind) {
                remove(&entry.path, &mut removed, entry.bytes)?;
            }
        }
        Ok(removed)
    }

    /// [`ArtifactCache::trim`], unless neither the bound nor any directory of the store
    /// changed since the last trim: nothing was added or removed, so the store is as far
    /// under the bound as the last trim left it. A no-change build then costs a `stat`
    /// per kind of entry instead of one per entry.
    ///
    /// # Errors
    ///
    /// As [`ArtifactCache::trim`].
    pub fn trim_if_changed(&self, limit: u64) -> io::Result<Removed> {
        let marker = self.root.join(TRIMMED);
        if fs::read_to_string(&marker).is_ok_and(|last| last == self.trim_stamp(limit)) {
            return Ok(Removed::default());
        }
        let removed = self.trim(limit)?;
        // Best effort: without it, the next build trims again.
        let _ = write_atomically(&marker, self.trim_stamp(limit).as_bytes());
        Ok(removed)
    }

    /// The bound and each entry directory's modification time (a file renamed into a
    /// directory or removed from it changes it; reading or touching an entry does not).
    fn trim_stamp(&self, limit: u64) -> String {
        let mut stamp = format!("limit {limit}\n");
        for kind in Kind::ALL {
            let modified = fs::metadata(self.root.join(kind.dir_name()))
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok());
            stamp.push_str(&format!("{} {modified:?}\n", kind.dir_name()));
        }
        stamp
    }

    /// Removes the least recently used entries until the store holds at most `limit`
    /// bytes, and temporary files left by killed processes.
    ///
    /// # Errors
    ///
    /// Fails when an entry cannot be removed.
    pub fn trim(&self, limit: u64) -> io::Result<Removed> {
        let mut removed = Removed::default();
        // An entry still linked to a target directory's file takes no space of its own:
        // removing it would free nothing until that file goes.
        let mut entries: Vec<Entry> = Kind::ALL
            .into_iter()
            .flat_map(|kind| self.entries(kind))
            .filter(|entry| !entry.shared)
            .collect();
        self.remove_stale_temps(&mut removed)?;
        let mut total: u64 = entries.iter().map(|entry| entry.bytes).sum();
        if total <= limit {
            return Ok(removed);
        }
        entries.sort_by_key(|entry| entry.used);
        for entry in entries {
            if total <= limit {
                break;
            }
            remove(&entry.path, &mut removed, entry.bytes)?;
            total = total.saturating_sub(entry.bytes);
        }
        Ok(removed)
    }

    fn entry(&self, kind: Kind, key: &Key) -> PathBuf {
        self.root.join(kind.dir_name()).join(key.as_str())
    }

    fn entries(&self, kind: Kind) -> Vec<Entry> {
        let Ok(dir) = fs::read_dir(self.root.join(kind.dir_name())) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter(|item| !item.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|item| {
                let meta = item.metadata().ok()?;
                meta.is_file().then(|| Entry {
                    path: item.path(),
                    bytes: meta.len(),
                    used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    shared: meta.nlink() > 1,
                })
            })
            .collect()
    }

    fn remove_stale_temps(&self, removed: &mut Removed) -> io::Result<()> {
        for kind in Kind::ALL {
            let Ok(dir) = fs::read_dir(self.root.join(kind.dir_name())) else {
                continue;
            };
            for item in dir.filter_map(Result::ok) {
                let Ok(meta) = item.metadata() else { continue };
                let stale = meta
                    .modified()
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age > STALE_TEMP);
                if item.file_name().to_string_lossy().starts_with(".tmp") && stale {
                    remove(&item.path(), removed, meta.len())?;
                }
            }
        }
        Ok(())
    }
}

struct Entry {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
    /// Another link to its file exists (see [`ArtifactCache::store_content`]).
    shared: bool,
}

fn remove(path: &Path, removed: &mut Removed, bytes: u64) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            removed.entries += 1;
            removed.bytes += bytes;
            Ok(())
        }
        // A parallel build trimmed it first.
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// An entry's payload, with the file it was read from.
struct Payload {
    file: File,
    bytes: Vec<u8>,
}

/// The key content is stored under by [`ArtifactCache::store_content`].
fn content_key(digest: &str) -> Key {
    let mut key = Key::builder("content");
    key.add(digest);
    key.finish()
}

/// The payload of the entry open as `file` (found at `entry`), or `None` when it cannot
/// be read or does not match its header (a corrupt entry is removed so that the next
/// store repairs it).
fn read_verified(mut file: File, entry: &Path) -> Option<Payload> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let Some(payload) = verified_payload(&bytes) else {
        let _ = fs::remove_file(entry);
        return None;
    };
    let bytes = payload.to_vec();
    Some(Payload { file, bytes })
}

/// Opens `name` relative to `dir` (or `name` as a path when there is no `dir`),
/// read-only, close-on-exec, with `flags` added.
fn open_at(dir: Option<&OwnedFd>, name: &Path, flags: i32) -> io::Result<OwnedFd> {
    let name = CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let dir = dir.map_or(libc::AT_FDCWD, |dir| dir.as_raw_fd());
    // SAFETY: `name` is a NUL-terminated string that outlives the call, and `dir` is
    // either AT_FDCWD or a descriptor borrowed for the call.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC | flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Why `name` in `dir` could not be opened: a miss when nothing is there, a refusal
/// when something that is no plain directory or file is (a link, a fifo).
fn not_there<T>(dir: &OwnedFd, name: &Path, path: &Path) -> Result<Option<T>, Untrusted> {
    let Ok(name) = CString::new(name.as_os_str().as_bytes()) else {
        return Ok(None);
    };
    // SAFETY: an all-zero `stat` is a valid value for the kernel to overwrite.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated, `stat` is a valid out-pointer, `dir` is open.
    let found = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut stat,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } == 0;
    let plain = matches!(stat.st_mode & libc::S_IFMT, libc::S_IFDIR | libc::S_IFREG);
    if found && !plain {
        return Err(Untrusted::NotPlain {
            path: path.display().to_string(),
            expected: "directory or file",
        });
    }
    Ok(None)
}

/// Checks the open `handle` (found at `path`): a directory (`dir`) or a regular file, the
/// user's own, writable by nobody else.
fn check_handle(handle: &OwnedFd, path: &Path, dir: bool) -> Result<(), Untrusted> {
    let shown = || path.display().to_string();
    // SAFETY: an all-zero `stat` is a valid value for the kernel to overwrite.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `handle` is open and `stat` is a valid out-pointer.
    if unsafe { libc::fstat(handle.as_raw_fd(), &mut stat) } != 0 {
        return Err(Untrusted::NotPlain {
            path: shown(),
            expected: if dir { "directory" } else { "file" },
        });
    }
    let kind = stat.st_mode & libc::S_IFMT;
    let expected = if dir { libc::S_IFDIR } else { libc::S_IFREG };
    if kind != expected {
        return Err(Untrusted::NotPlain {
            path: shown(),
            expected: if dir { "directory" } else { "file" },
        });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    if stat.st_uid != user {
        return Err(Untrusted::NotOwned {
            path: shown(),
            owner: stat.st_uid,
            user,
        });
    }
    let mode = stat.st_mode;
    if mode & 0o022 != 0 {
        return Err(Untrusted::WritableByOthers {
            path: shown(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    let newline = bytes.iter().position(|&byte| byte == b'\n')?;
    let header = std::str::from_utf8(&bytes[..newline]).ok()?;
    let payload = &bytes[newline + 1..];
    let rest = header.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    let (digest, len) = rest.split_once(' ')?;
    let fits =
        len.parse::<usize>().ok()? == payload.len() && digest == hex(&Sha256::digest(payload));
    fits.then_some(payload)
}

/// Marks content as used for [`ArtifactCache::trim`], unless it is still a hard link to
/// the file it was stored from: that file's modification time is cargo's to compare (a
/// dependency newer than its dependents is rebuilt), so the entry keeps its store time.
fn touch_unshared(file: &File) {
    if file.metadata().is_ok_and(|meta| meta.nlink() == 1) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// The SHA-256 of `bytes`, in hex: how the store, its keys' inputs and its entries name
/// contents.
pub fn content_digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a file's contents, in hex, read in pieces (libraries run to tens of
/// megabytes).
///
/// # Errors
///
/// Fails when the file cannot be opened or read.
pub fn file_digest(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn write_atomically(dest: &Path, payload: &[u8]) -> io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temp = tempfile::Builder::new().prefix(".fetch").tempfile_in(dir)?;
    temp.write_all(payload)?;
    temp.flush()?;
    temp.persist(dest).map_err(|err| err.error)?;
    Ok(())
}

fn check_private(dir: &Path) -> Result<(), CacheError> {
    let meta = fs::metadata(dir).map_err(|source| CacheError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Err(CacheError::NotOwned {
            path: dir.display().to_string(),
            owner: meta.uid(),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(CacheError::WritableByOthers {
            path: dir.display().to_string(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// Whether others could rename `dir`'s child away and put their own in its place: they
/// can when `dir` is writable by them without the sticky bit (`/tmp` has it).
fn check_not_replaceable(dir: &Path) -> Result<(), CacheError> {
    let Ok(meta) = fs::metadata(dir) else {
        return Ok(());
    };
    const STICKY: u32 = 0o1000;
    if meta.mode() & 0o022 != 0 && meta.mode() & STICKY == 0 {
        return Err(CacheError::WritableByOthers {
            path: dir.display().to_string(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What one build did with the shared (REAPI) cache, read from the same log as
/// [`Usage`]; kept apart from it so the local store's accounting stays its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteUsage {
    /// Runs fetched from the shared cache.
    pub hits: u64,
    /// Runs looked up there and not found.
    pub misses: u64,
    /// Runs written there.
    pub written: u64,
    /// Why entries found there were not used (unsigned, untrusted, altered), each
    /// distinct sentence once.
    pub problems: Vec<String>,
    /// Why the shared cache could not be used at all (unreachable, misconfigured), each
    /// distinct sentence once.
    pub unusable: Vec<String>,
}

impl RemoteUsage {
    /// Reads the remote lines of a log written under [`CACHE_LOG_ENV`].
    pub fn read(log: &Path) -> RemoteUsage {
        let text = fs::read_to_string(log).unwrap_or_default();
        let mut usage = RemoteUsage::default();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("remote", "hit")) => usage.hits += 1,
                Some(("remote", "miss")) => usage.misses += 1,
                Some(("remote", "written")) => usage.written += 1,
                Some(("remote-unused", why)) if !usage.problems.iter().any(|s| s == why) => {
                    usage.problems.push(why.to_string());
                }
                Some(("remote-unusable", why)) if !usage.unusable.iter().any(|s| s == why) => {
                    usage.unusable.push(why.to_string());
                }
                _ => {}
            }
        }
        usage
    }
}

impl ArtifactCache {
    /// Notes a lookup in the shared cache: `hit`, `miss` or `written`, for
    /// [`RemoteUsage`].
    pub fn note_remote(&self, event: &str) {
        self.note("remote", event);
    }

    /// Notes why an entry of the shared cache was not used.
    pub fn note_remote_problem(&self, why: &str) {
        self.note("remote-unused", why);
    }

    /// Notes why the shared cache cannot be used in this build (the stand-ins after
    /// this one do not try it again: see [`ArtifactCache::remote_unusable`]).
    pub fn note_remote_unusable(&self, why: &str) {
        self.note("remote-unusable", why);
    }

    /// Whether a stand-in of this build already found the shared cache unusable.
    pub fn remote_unusable(&self) -> bool {
        self.log
            .as_ref()
            .is_some_and(|log| !RemoteUsage::read(log).unusable.is_empty())
    }

    /// Adds one build's shared-cache hits and misses to the store's running totals.
    ///
    /// # Errors
    ///
    /// Fails when the totals cannot be written.
    pub fn add_remote_totals(&self, usage: &RemoteUsage) -> io::Result<()> {
        if (usage.hits, usage.misses) == (0, 0) {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.root.join(Kind::Run.dir_name()))?;
        let (hits, misses) = self.remote_totals();
        let text = format!("{} {}\n", hits + usage.hits, misses + usage.misses);
        write_atomically(&self.root.join(REMOTE_TOTALS), text.as_bytes())
    }

    /// Runs fetched from and not found in the shared cache since the store was created
    /// or cleared.
    pub fn remote_totals(&self) -> (u64, u64) {
        let text = fs::read_to_string(self.root.join(REMOTE_TOTALS)).unwrap_or_default();
        let mut numbers = text
            .split_whitespace()
            .map(|n| n.parse::<u64>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn key(text: &str) -> Key {
        let mut builder = Key::builder("test");
        builder.add(text);
        builder.finish()
    }

    fn cache() -> (tempfile::TempDir, ArtifactCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(&dir.path().join("artifacts")).unwrap();
        (dir, cache)
    }

    #[test]
    fn stored_entries_come_back_byte_for_byte() {
        let (dir, cache) = cache();
        cache
            .store_bytes(Kind::Twin, &key("a"), b"rlib bytes")
            .unwrap();
        let dest = dir.path().join("out/liba.rlib");
        assert!(cache.fetch(Kind::Twin, &key("a"), &dest));
        assert_eq!(fs::read(&dest).unwrap(), b"rlib bytes");
        assert!(!cache.fetch(Kind::Twin, &key("b"), &dest), "another key");
        assert!(!cache.fetch(Kind::Module, &key("a"), &dest), "another kind");
    }

    #[test]
    fn key_parts_are_delimited() {
        let mut one = Key::builder("d");
        one.add("ab").add("c");
        let mut two = Key::builder("d");
        two.add("a").add("bc");
        assert_ne!(one.finish(), two.finish());
        let mut other_domain = Key::builder("e");
        other_domain.add("ab").add("c");
        let mut same = Key::builder("d");
        same.add("ab").add("c");
        assert_ne!(other_domain.finish(), same.finish());
    }

    #[test]
    fn corrupt_and_truncated_entries_are_misses_and_removed() {
        let (dir, cache) = cache();
        let dest = dir.path().join("dest");
        for damage in [
            |bytes: &mut Vec<u8>| {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
            },
            |bytes: &mut Vec<u8>| bytes.truncate(bytes.len() - 3),
            |bytes: &mut Vec<u8>| bytes.clear(),
            |bytes: &mut Vec<u8>| bytes.splice(0..5, *b"\x7fELF\x02").for_each(drop),
        ] {
            cache
                .store_bytes(Kind::Module, &key("m"), b"machine code")
                .unwrap();
            let entry = cache.entry(Kind::Module, &key("m"));
            let mut bytes = fs::read(&entry).unwrap();
            damage(&mut bytes);
            fs::write(&entry, &bytes).unwrap();
            assert!(!cache.fetch(Kind::Module, &key("m"), &dest));
            assert!(!dest.exists(), "nothing was handed out");
            assert!(!entry.exists(), "the corrupt entry is gone");
        }
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ArtifactCache::open(&shared).unwrap_err();
        assert!(matches!(err, CacheError::WritableByOthers { .. }), "{err}");
        assert!(err.to_string().contains("chmod go-w"), "{err}");

        // Its child could be renamed away and replaced.
        let err = ArtifactCache::open(&shared.join("artifacts")).unwrap_err();
        assert!(matches!(err, CacheError::WritableByOthers { .. }), "{err}");

        // The sticky bit (as on /tmp) prevents that.
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let cache = ArtifactCache::open(&shared.join("artifacts")).unwrap();
        let mode = fs::metadata(cache.root()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "created private");
    }

    /// A directory or entry someone else could change is never served, is said once in
    /// the log with its fix, and serves again once fixed.
    #[test]
    fn entries_under_a_directory_others_can_write_are_refused_until_fixed() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        cache
            .store_bytes(Kind::Module, &key("m"), b"machine code")
            .unwrap();
        let dest = dir.path().join("dest");
        let modules = cache.root().join("modules");
        let entry = cache.entry(Kind::Module, &key("m"));
        let mode = |path: &Path, mode: u32| {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
        };
        for (path, loose, tight) in [
            (modules.as_path(), 0o777, 0o700),
            (modules.as_path(), 0o770, 0o700),
            (entry.as_path(), 0o666, 0o600),
            (cache.root(), 0o707, 0o700),
        ] {
            mode(path, loose);
            assert!(!cache.fetch(Kind::Module, &key("m"), &dest), "{path:?}");
            assert!(!dest.exists(), "nothing was handed out");
            assert!(entry.exists(), "the entry is left for the user to judge");
            mode(path, tight);
            assert!(cache.fetch(Kind::Module, &key("m"), &dest), "{path:?}");
            fs::remove_file(&dest).unwrap();
        }
        let usage = Usage::read(&log);
        assert_eq!(usage.reused, 4);
        let shown = |path: &Path| path.display().to_string();
        assert_eq!(
            usage.refused,
            [
                format!(
                    "{} is writable by other users (mode 777), so its entries are not used; fix it with `chmod go-w {}`",
                    shown(&modules),
                    shown(&modules)
                ),
                format!(
                    "{} is writable by other users (mode 770), so its entries are not used; fix it with `chmod go-w {}`",
                    shown(&modules),
                    shown(&modules)
                ),
                format!(
                    "{} is writable by other users (mode 666), so its entries are not used; fix it with `chmod go-w {}`",
                    shown(&entry),
                    shown(&entry)
                ),
                format!(
                    "{} is writable by other users (mode 707), so its entries are not used; fix it with `chmod go-w {}`",
                    shown(cache.root()),
                    shown(cache.root())
                ),
            ]
        );
    }

    /// Links on the way are not followed: a kind's directory or an entry replaced by a
    /// link to someone else's file is refused, not read through.
    #[test]
    fn links_on_the_way_to_an_entry_are_refused() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        let elsewhere = tempfile::tempdir().unwrap();
        let planted = ArtifactCache::open(elsewhere.path()).unwrap();
        planted
            .store_bytes(Kind::Twin, &key("t"), b"planted")
            .unwrap();
        planted
            .store_bytes(Kind::Module, &key("m"), b"planted")
            .unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("twins"), cache.root().join("twins"))
            .unwrap();
        fs::create_dir(cache.root().join("modules")).unwrap();
        std::os::unix::fs::symlink(
            planted.entry(Kind::Module, &key("m")),
            cache.entry(Kind::Module, &key("m")),
        )
        .unwrap();
        let dest = dir.path().join("dest");
        assert!(!cache.fetch(Kind::Twin, &key("t"), &dest));
        assert!(!cache.fetch(Kind::Module, &key("m"), &dest));
        assert!(!dest.exists());
        let refused = Usage::read(&log).refused;
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(
            refused.iter().all(|why| why.contains("is not a plain")),
            "{refused:?}"
        );
    }

    /// A directory on the way that another user owns is refused, with the `chown` that
    /// fixes it. Only root can hand a directory to someone else, so only root runs this.
    #[test]
    fn a_directory_another_user_owns_is_refused() {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        cache.store_bytes(Kind::Twin, &key("t"), b"rlib").unwrap();
        let twins = cache.root().join("twins");
        std::os::unix::fs::chown(&twins, Some(4242), None).unwrap();
        let dest = dir.path().join("dest");
        assert!(!cache.fetch(Kind::Twin, &key("t"), &dest));
        assert_eq!(
            Usage::read(&log).refused,
            [format!(
                "{} belongs to another user (uid 4242), so its entries are not used; fix it with `chown 0 {}` or remove it",
                twins.display(),
                twins.display()
            )]
        );
        std::os::unix::fs::chown(&twins, Some(0), None).unwrap();
        assert!(cache.fetch(Kind::Twin, &key("t"), &dest));
    }

    /// Nothing at all is a plain miss, with nothing to say.
    #[test]
    fn a_missing_entry_or_directory_is_a_quiet_miss() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        assert!(!cache.fetch(Kind::Facade, &key("f"), &dir.path().join("dest")));
        cache.store_bytes(Kind::Facade, &key("g"), b"x").unwrap();
        assert!(!cache.fetch(Kind::Facade, &key("f"), &dir.path().join("dest")));
        assert_eq!(Usage::read(&log).refused, Vec::<String>::new());
    }

    #[test]
    fn relative_directories_are_refused() {
        let err = ArtifactCache::open(Path::new("cache")).unwrap_err();
        assert!(matches!(err, CacheError::RelativePath(_)), "{err}");
    }

    #[test]
    fn trimming_removes_the_least_recently_used_first() {
        let (dir, cache) = cache();
        let old = SystemTime::now() - Duration::from_secs(600);
        for (name, age) in [("a", 3), ("b", 1), ("c", 2)] {
            cache
                .store_bytes(Kind::Twin, &key(name), &[0; 100])
                .unwrap();
            let file = File::options()
                .append(true)
                .open(cache.entry(Kind::Twin, &key(name)))
                .unwrap();
            file.set_modified(old - Duration::from_secs(age * 60))
                .unwrap();
        }
        // Using `a` makes it the most recent.
        assert!(cache.fetch(Kind::Twin, &key("a"), &dir.path().join("x")));
        let entry_size = fs::metadata(cache.entry(Kind::Twin, &key("a")))
            .unwrap()
            .len();
        let removed = cache.trim(entry_size * 2).unwrap();
        assert_eq!(removed.entries, 1);
        assert!(!cache.entry(Kind::Twin, &key("c")).exists(), "oldest went");
        assert!(cache.entry(Kind::Twin, &key("a")).exists());
        assert!(cache.entry(Kind::Twin, &key("b")).exists());
        let stats = cache.stats();
        assert_eq!(stats[1].entries, 2);
        assert_eq!(stats[1].bytes, entry_size * 2);
    }

    #[test]
    fn an_unchanged_store_is_not_scanned_and_a_changed_one_or_bound_is() {
        let (_dir, cache) = cache();
        for name in ["a", "b"] {
            cache
                .store_bytes(Kind::Twin, &key(name), &[0; 100])
                .unwrap();
        }
        let entry_size = fs::metadata(cache.entry(Kind::Twin, &key("a")))
            .unwrap()
            .len();
        assert_eq!(cache.trim_if_changed(entry_size * 3).unwrap().entries, 0);
        // Grown in place (no directory changes): not seen, so not scanned.
        File::options()
            .append(true)
            .open(cache.entry(Kind::Twin, &key("a")))
            .unwrap()
            .write_all(&[0; 200])
            .unwrap();
        assert_eq!(cache.trim_if_changed(entry_size * 3).unwrap().entries, 0);
        assert!(cache.entry(Kind::Twin, &key("a")).exists());
        // A lower bound is looked at: one entry over it now.
        let bound = entry_size * 2 + 199;
        assert_eq!(cache.trim_if_changed(bound).unwrap().entries, 1);
        // So is a new entry.
        cache
            .store_bytes(Kind::Module, &key("c"), &[0; 100])
            .unwrap();
        assert_eq!(cache.trim_if_changed(bound).unwrap().entries, 1);
        assert_eq!(cache.trim_if_changed(bound).unwrap().entries, 0);
    }

    /// Content is a hard link to the file it was stored from when that is private, a
    /// copy when others may write the file; either way it is served only while it hashes
    /// to its name: changed through the other link, it is a miss and is removed.
    #[test]
    fn content_is_linked_when_private_and_served_only_under_its_own_digest() {
        use std::os::unix::fs::PermissionsExt as _;
        let (dir, cache) = cache();
        let rlib = dir.path().join("libx.rlib");
        fs::write(&rlib, b"the real rlib").unwrap();
        fs::set_permissions(&rlib, fs::Permissions::from_mode(0o644)).unwrap();
        let digest = cache.store_content(Kind::Library, &rlib).unwrap();
        let entry = cache.entry(Kind::Library, &content_key(&digest));
        assert_eq!(
            fs::metadata(&entry).unwrap().ino(),
            fs::metadata(&rlib).unwrap().ino()
        );
        let stored_at = fs::metadata(&rlib).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let dest = dir.path().join("out.rlib");
        assert!(cache.fetch_content(Kind::Library, &digest, &dest));
        assert_eq!(cache.store_content(Kind::Library, &rlib).unwrap(), digest);
        assert_eq!(
            fs::metadata(&rlib).unwrap().modified().unwrap(),
            stored_at,
            "using the entry leaves the linked file's time to cargo"
        );
        assert_eq!(fs::read(&dest).unwrap(), b"the real rlib");
        assert_ne!(
            fs::metadata(&dest).unwrap().ino(),
            fs::metadata(&entry).unwrap().ino()
        );

        fs::write(&rlib, b"rewritten in place").unwrap();
        let other = dir.path().join("forged.rlib");
        assert!(!cache.fetch_content(Kind::Library, &digest, &other));
        assert!(!other.exists());
        assert!(
            !entry.exists(),
            "content that does not hash to its name is removed"
        );
        assert!(!cache.fetch_content(Kind::Library, &"0".repeat(64), &other));

        // Linked content costs no space of its own: trimming keeps it, however old, and
        // takes it once the target directory's file is gone.
        let linked = dir.path().join("liblinked.rlib");
        fs::write(&linked, vec![7; 1000]).unwrap();
        fs::set_permissions(&linked, fs::Permissions::from_mode(0o644)).unwrap();
        let linked_digest = cache.store_content(Kind::Library, &linked).unwrap();
        let linked_entry = cache.entry(Kind::Library, &content_key(&linked_digest));
        let stats = cache.stats();
        let libraries = stats
            .iter()
            .find(|kind| kind.kind == Kind::Library)
            .unwrap();
        assert_eq!(libraries.shared_bytes, 1000);
        cache.trim(0).unwrap();
        assert!(linked_entry.exists());
        fs::remove_file(&linked).unwrap();
        cache.trim(0).unwrap();
        assert!(!linked_entry.exists());

        // Something planted in an entry's place (a fifo) is replaced, never opened.
        let planted = dir.path().join("libplanted.rlib");
        fs::write(&planted, b"planted").unwrap();
        let planted_digest = hex(&Sha256::digest(b"planted"));
        let planted_entry = cache.entry(Kind::Library, &content_key(&planted_digest));
        let fifo = std::ffi::CString::new(planted_entry.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(
            cache.store_content(Kind::Library, &planted).unwrap(),
            planted_digest
        );
        assert!(fs::metadata(&planted_entry).unwrap().is_file());

        let shared = dir.path().join("libshared.rlib");
        fs::write(&shared, b"group-writable").unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o664)).unwrap();
        let digest = cache.store_content(Kind::Library, &shared).unwrap();
        let entry = cache.entry(Kind::Library, &content_key(&digest));
        assert_ne!(
            fs::metadata(&entry).unwrap().ino(),
            fs::metadata(&shared).unwrap().ino()
        );
        assert!(cache.fetch_content(Kind::Library, &digest, &dest));
    }

    #[test]
    fn the_log_counts_reuses_and_stores() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        cache.store_bytes(Kind::Twin, &key("a"), b"x").unwrap();
        assert!(cache.fetch(Kind::Twin, &key("a"), &dir.path().join("x")));
        assert!(cache.fetch(Kind::Twin, &key("a"), &dir.path().join("y")));
        assert!(!cache.fetch(Kind::Twin, &key("b"), &dir.path().join("z")));
        // Libraries are counted apart: their content entries are no guest artifacts.
        let rlib = dir.path().join("lib.rlib");
        fs::write(&rlib, b"rlib").unwrap();
        let digest = cache.store_content(Kind::Library, &rlib).unwrap();
        assert!(cache.fetch_content(Kind::Library, &digest, &dir.path().join("l")));
        cache.note_library(true);
        cache.note_library(false);
        assert_eq!(
            Usage::read(&log),
            Usage {
                reused: 2,
                stored: 1,
                refused: Vec::new(),
                run_problems: Vec::new(),
                run_hits: 0,
                run_misses: 0,
                library_hits: 1,
                library_misses: 1,
            }
        );
        assert_eq!(Usage::read(&dir.path().join("none")), Usage::default());
    }

    /// Run hits and misses are counted apart from artifacts, and add up across builds
    /// until the store is cleared.
    #[test]
    fn run_hits_and_misses_add_up_across_builds() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        cache.store_bytes(Kind::Run, &key("r"), b"result").unwrap();
        assert_eq!(cache.fetch_bytes(Kind::Run, &key("r")).unwrap(), b"result");
        assert_eq!(cache.fetch_bytes(Kind::Run, &key("s")), None);
        cache.note_run(true);
        cache.note_run(false);
        cache.note_run(false);
        let usage = Usage::read(&log);
        assert_eq!((usage.reused, usage.stored), (0, 0), "{usage:?}");
        assert_eq!((usage.run_hits, usage.run_misses), (1, 2));
        cache.add_run_totals(&usage).unwrap();
        cache.add_run_totals(&usage).unwrap();
        assert_eq!(cache.run_totals(), (2, 4));
        cache.clear().unwrap();
        assert_eq!(cache.run_totals(), (0, 0));
    }

    /// Shared-cache lookups are counted apart, each problem said once, and a build that
    /// found the shared cache unusable says so to its later stand-ins.
    #[test]
    fn remote_lookups_are_counted_apart() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        assert!(!cache.remote_unusable());
        cache.note_remote("hit");
        cache.note_remote("miss");
        cache.note_remote("miss");
        cache.note_remote_problem("a\nb");
        cache.note_remote_problem("a b");
        cache.note_remote_unusable("down");
        let usage = RemoteUsage::read(&log);
        assert_eq!((usage.hits, usage.misses), (1, 2));
        assert_eq!(usage.problems, ["a b"]);
        assert!(cache.remote_unusable());
        assert_eq!(Usage::read(&log).run_hits, 0, "not local hits");
        cache.add_remote_totals(&usage).unwrap();
        assert_eq!(cache.remote_totals(), (1, 2));
        cache.clear().unwrap();
        assert_eq!(cache.remote_totals(), (0, 0));
    }

    #[test]
    fn clearing_empties_every_kind() {
        let (_dir, cache) = cache();
        for kind in Kind::ALL {
            cache.store_bytes(kind, &key("x"), b"payload").unwrap();
        }
        let removed = cache.clear().unwrap();
        assert_eq!(removed.entries, Kind::ALL.len() as u64);
        assert!(cache.stats().iter().all(|kind| kind.entries == 0));
    }

    #[test]
    fn parallel_stores_and_fetches_never_see_half_an_entry() {
        let (dir, cache) = cache();
        let payload: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let cache = &cache;
                let payload = &payload;
                let dest = dir.path().join(format!("dest{worker}"));
                scope.spawn(move || {
                    for _ in 0..20 {
                        cache
                            .store_bytes(Kind::Module, &key("big"), payload)
                            .unwrap();
                        if cache.fetch(Kind::Module, &key("big"), &dest) {
                            assert!(fs::read(&dest).unwrap() == *payload);
                        }
                    }
                });
            }
        });
    }
}
