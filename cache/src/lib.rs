//! A user-level, content-addressed store of guest artifacts: the std facade, the guest
//! twins of build-dependencies and precompiled wasm modules.
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

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use wasm_build_contract::vars::{CACHE_ENV, CACHE_LOG_ENV};

/// The default bound on the store's size: a 170-package graph fills about 30 MiB, so this
/// keeps dozens of projects and toolchains.
pub const DEFAULT_LIMIT: u64 = 2 << 30;

/// The first bytes of every entry; the version changes with the entry format.
const MAGIC: &str = "cargo-wasm-build-cache 1";

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
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 3] = [Kind::Facade, Kind::Twin, Kind::Module];

    fn dir_name(self) -> &'static str {
        match self {
            Kind::Facade => "facade",
            Kind::Twin => "twins",
            Kind::Module => "modules",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Facade => "std facades",
            Kind::Twin => "build-dependencies (wasm)",
            Kind::Module => "compiled modules",
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
    log: Option<PathBuf>,
}

/// What the store did during one build, from its log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Artifacts copied from the store instead of compiled.
    pub reused: u64,
    /// Artifacts compiled and stored for the next target directory.
    pub stored: u64,
}

impl Usage {
    /// Reads a log written under [`CACHE_LOG_ENV`]; a missing log is no usage.
    pub fn read(log: &Path) -> Usage {
        let text = fs::read_to_string(log).unwrap_or_default();
        let mut usage = Usage::default();
        for line in text.lines() {
            match line.split_once(' ').map(|(event, _)| event) {
                Some("reused") => usage.reused += 1,
                Some("stored") => usage.stored += 1,
                _ => {}
            }
        }
        usage
    }
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
        Ok(ArtifactCache {
            root: dir.to_path_buf(),
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
    pub fn fetch(&self, kind: Kind, key: &Key, dest: &Path) -> bool {
        let entry = self.entry(kind, key);
        let Some(payload) = read_verified(&entry) else {
            return false;
        };
        if write_atomically(dest, &payload).is_err() {
            return false;
        }
        // Trimming removes the least recently used entries first.
        if let Ok(file) = File::options().append(true).open(&entry) {
            let _ = file.set_modified(SystemTime::now());
        }
        self.note("reused", kind);
        true
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
    /// Fails when the entry cannot be written.
    pub fn store_bytes(&self, kind: Kind, key: &Key, payload: &[u8]) -> io::Result<()> {
        let dir = self.root.join(kind.dir_name());
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
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
        self.note("stored", kind);
        Ok(())
    }

    /// One line in the log; a line this short is written whole even when parallel
    /// processes append to the same file.
    fn note(&self, event: &str, kind: Kind) {
        let Some(log) = &self.log else { return };
        if let Ok(mut file) = File::options().create(true).append(true).open(log) {
            let _ = file.write_all(format!("{event} {}\n", kind.dir_name()).as_bytes());
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
        for kind in Kind::ALL {
            for entry in self.entries(kind) {
                remove(&entry.path, &mut removed, entry.bytes)?;
            }
        }
        Ok(removed)
    }

    /// Removes the least recently used entries until the store holds at most `limit`
    /// bytes, and temporary files left by killed processes.
    ///
    /// # Errors
    ///
    /// Fails when an entry cannot be removed.
    pub fn trim(&self, limit: u64) -> io::Result<Removed> {
        let mut removed = Removed::default();
        let mut entries: Vec<Entry> = Kind::ALL
            .into_iter()
            .flat_map(|kind| self.entries(kind))
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

/// The payload of `entry`, or `None` when it is missing or does not match its header (a
/// corrupt entry is removed so that the next store repairs it).
fn read_verified(entry: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(entry).ok()?.read_to_end(&mut bytes).ok()?;
    let payload = verified_payload(&bytes);
    if payload.is_none() {
        let _ = fs::remove_file(entry);
    }
    payload.map(<[u8]>::to_vec)
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
    fn the_log_counts_reuses_and_stores() {
        let (dir, cache) = cache();
        let log = dir.path().join("log");
        let cache = cache.with_log(Some(log.clone()));
        cache.store_bytes(Kind::Twin, &key("a"), b"x").unwrap();
        assert!(cache.fetch(Kind::Twin, &key("a"), &dir.path().join("x")));
        assert!(cache.fetch(Kind::Twin, &key("a"), &dir.path().join("y")));
        assert!(!cache.fetch(Kind::Twin, &key("b"), &dir.path().join("z")));
        assert_eq!(
            Usage::read(&log),
            Usage {
                reused: 2,
                stored: 1
            }
        );
        assert_eq!(Usage::read(&dir.path().join("none")), Usage::default());
    }

    #[test]
    fn clearing_empties_every_kind() {
        let (_dir, cache) = cache();
        for kind in Kind::ALL {
            cache.store_bytes(kind, &key("x"), b"payload").unwrap();
        }
        let removed = cache.clear().unwrap();
        assert_eq!(removed.entries, 3);
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
