//! The user's shared cache of guest artifacts around a build, and `cargo wasm-build cache`.

#![allow(
    clippy::disallowed_methods,
    reason = "the CLI reads the tool's own settings"
)]

use std::io::Write as _;
use std::process::Command;

use anyhow::{Context as _, Result};
use wasm_build_cache::{ArtifactCache, CacheError, DEFAULT_LIMIT, Location, RemoteUsage, Usage};
use wasm_build_contract::vars::{CACHE_ENV, CACHE_LOG_ENV, CACHE_SIZE_ENV, RUN_CACHE_ENV};
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::cache::CacheWarning;
use wasm_build_permissions_schema::ByteSize;

use crate::summary::Output;

/// `cargo wasm-build cache`: what the shared cache holds, or emptying it.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// Show where the cache is and what it holds (the default)
    #[arg(long)]
    stats: bool,
    /// Remove every entry
    #[arg(long, conflicts_with = "stats")]
    clear: bool,
    #[command(subcommand)]
    action: Option<CacheAction>,
}

/// What `cargo wasm-build cache` can do besides showing and clearing.
#[derive(Debug, clap::Subcommand)]
enum CacheAction {
    /// Show what the last run of a crate's build script was keyed on, and what differs
    /// from the run last stored for it (why it was not restored)
    Explain {
        /// The package name
        #[arg(value_name = "CRATE")]
        package: String,
    },
    /// Make an ed25519 key pair that signs what a CI writes to the shared cache: the
    /// secret key goes to FILE, the public key to FILE.pub and stdout
    Keygen {
        /// The key's name, as readers will list it (`ci.example.com-1`)
        name: String,
        /// Where to write the secret key (created, never overwritten)
        #[arg(long, short = 'o', value_name = "FILE")]
        output: std::path::PathBuf,
    },
}

/// Runs `cargo wasm-build cache`.
pub fn run(args: &CacheArgs) -> Result<i32> {
    if let Some(CacheAction::Keygen { name, output }) = &args.action {
        return keygen(name, output);
    }
    let cache = match ArtifactCache::from_env() {
        Ok(Some(cache)) => cache,
        Ok(None) => {
            println!("{}", unused_reason(&Location::from_env()));
            return Ok(0);
        }
        Err(err) => return Err(err).context("cannot use the shared build cache"),
    };
    let mut out = std::io::stdout().lock();
    if let Some(CacheAction::Explain { package }) = &args.action {
        match wasm_build_standin::run_cache::explain(&cache, package) {
            Some(text) => write!(out, "{text}")?,
            None => writeln!(
                out,
                "No run of the build script of `{}` is known to the run cache in {} (build \
                 first; {RUN_CACHE_ENV}=off turns it off)",
                wasm_build_display::escape::terminal(package),
                cache.root().display()
            )?,
        }
        return Ok(0);
    }
    if args.clear {
        let removed = cache
            .clear()
            .with_context(|| format!("failed to clear {}", cache.root().display()))?;
        writeln!(
            out,
            "Removed {} ({}) from {}",
            counted(removed.entries, "entry", "entries"),
            human_size(removed.bytes),
            cache.root().display()
        )?;
        return Ok(0);
    }
    let limit = limit()?;
    writeln!(out, "Shared build cache: {}", cache.root().display())?;
    let stats = cache.stats();
    for kind in &stats {
        writeln!(
            out,
            "  {:<28} {:>5} {:<7} {:>10}",
            kind.kind.label(),
            kind.entries,
            if kind.entries == 1 {
                "entry"
            } else {
                "entries"
            },
            human_size(kind.bytes)
        )?;
    }
    let (hits, misses) = cache.run_totals();
    writeln!(
        out,
        "  {:<28} {hits} restored, {misses} missed (since the cache was made or cleared){}",
        "build-script run cache",
        if run_cache_off() {
            format!("; off ({RUN_CACHE_ENV}=off)")
        } else {
            String::new()
        }
    )?;
    let (fetched, not_found) = cache.remote_totals();
    if (fetched, not_found) != (0, 0) {
        writeln!(
            out,
            "  {:<28} {fetched} fetched, {not_found} not found (since the cache was made or cleared)",
            "shared (REAPI) run cache",
        )?;
    }
    let total: u64 = stats.iter().map(|kind| kind.bytes).sum();
    let entries: u64 = stats.iter().map(|kind| kind.entries).sum();
    let shared: u64 = stats.iter().map(|kind| kind.shared_bytes).sum();
    writeln!(
        out,
        "  {:<28} {:>5} entries {:>10}, trimmed to {} after each build ({CACHE_SIZE_ENV})",
        "total",
        entries,
        human_size(total),
        human_size(limit)
    )?;
    if shared > 0 {
        writeln!(
            out,
            "  {:<28} {:>19} are the same files as in target directories, not counted against the bound",
            "of which",
            human_size(shared)
        )?;
    }
    Ok(0)
}

/// Whether the run cache is turned off in this environment.
fn run_cache_off() -> bool {
    std::env::var_os(RUN_CACHE_ENV).is_some_and(|value| value == "off")
}

/// `bytes` in the largest binary unit that keeps it at or above 1, to one decimal.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn unused_reason(location: &Location) -> String {
    match location {
        Location::Off => format!("The shared build cache is off ({CACHE_ENV}=off)."),
        _ => format!("No shared build cache: set {CACHE_ENV} to a directory, or HOME."),
    }
}

/// The bound from [`CACHE_SIZE_ENV`], or the default.
fn limit() -> Result<u64> {
    let Some(text) = std::env::var_os(CACHE_SIZE_ENV) else {
        return Ok(DEFAULT_LIMIT);
    };
    let text = text.to_string_lossy();
    let size: Option<ByteSize> = text.trim().parse().ok();
    size.map(ByteSize::bytes).with_context(|| {
        format!("{CACHE_SIZE_ENV} must be a size such as `2GiB` or `500MiB`, not `{text}`")
    })
}

/// The shared cache for one build: handed to the wrapper processes through the
/// environment, trimmed after the build.
pub struct BuildCache {
    cache: Option<ArtifactCache>,
    log: Option<tempfile::NamedTempFile>,
}

impl BuildCache {
    /// Tells `cargo` (and every wrapper it starts) where the user's store (`opened`) is.
    /// A store that cannot be used is said once, and the build goes on without it.
    pub fn prepare(
        opened: Result<Option<ArtifactCache>, CacheError>,
        cargo: &mut Command,
        output: &Output,
    ) -> Self {
        let cache = match opened {
            Ok(cache) => cache,
            Err(err) => {
                let why = err.to_string();
                warn(CacheWarning::Unusable { why: &why }, output);
                None
            }
        };
        let Some(cache) = cache else {
            cargo.env(CACHE_ENV, "off");
            return BuildCache {
                cache: None,
                log: None,
            };
        };
        let log = tempfile::Builder::new()
            .prefix("cargo-wasm-build-cache-")
            .tempfile()
            .ok();
        cargo.env(CACHE_ENV, cache.root());
        match &log {
            Some(log) => cargo.env(CACHE_LOG_ENV, log.path()),
            None => cargo.env_remove(CACHE_LOG_ENV),
        };
        BuildCache {
            cache: Some(cache),
            log,
        }
    }

    /// Says once which entries were refused, trims the cache to its bound and, with `-v`,
    /// says what it saved.
    pub fn finish(&self, output: &Output) {
        let Some(cache) = &self.cache else { return };
        let usage = self
            .log
            .as_ref()
            .map(|log| Usage::read(log.path()))
            .unwrap_or_default();
        for why in &usage.refused {
            warn(CacheWarning::NotTrusted { why }, output);
        }
        for why in &usage.run_problems {
            warn(CacheWarning::RunNotUsed { why }, output);
        }
        let _ = cache.add_run_totals(&usage);
        let remote = self
            .log
            .as_ref()
            .map(|log| RemoteUsage::read(log.path()))
            .unwrap_or_default();
        report_remote(&remote, output);
        let _ = cache.add_remote_totals(&remote);
        let limit = match limit() {
            Ok(limit) => limit,
            Err(err) => {
                let why = format!("{err:#}");
                let default = human_size(DEFAULT_LIMIT);
                warn(
                    CacheWarning::BadBound {
                        why: &why,
                        default: &default,
                    },
                    output,
                );
                DEFAULT_LIMIT
            }
        };
        if let Err(err) = cache.trim_if_changed(limit) {
            let root = cache.root().display().to_string();
            let why = err.to_string();
            warn(
                CacheWarning::NotTrimmed {
                    root: &root,
                    why: &why,
                },
                output,
            );
        }
        if output.is_verbose() && (usage.reused, usage.stored) != (0, 0) {
            let _ = writeln!(
                std::io::stderr(),
                "Shared build cache: reused {}, compiled and stored {} ({})",
                counted(usage.reused, "guest artifact", "guest artifacts"),
                usage.stored,
                cache.root().display()
            );
        }
        if output.is_verbose() && (usage.library_hits, usage.library_misses) != (0, 0) {
            let _ = writeln!(
                std::io::stderr(),
                "Library cache: restored {} downloaded libraries, compiled and stored {} ({})",
                usage.library_hits,
                usage.library_misses,
                cache.root().display()
            );
        }
        if output.is_verbose() && (usage.run_hits, usage.run_misses) != (0, 0) {
            let _ = writeln!(
                std::io::stderr(),
                "Run cache: restored {} build-script runs, ran {} that it could have stored ({})",
                usage.run_hits,
                usage.run_misses,
                cache.root().display()
            );
        }
    }
}

/// Says `warning` on stderr, coloured as the build's output is.
fn warn(warning: CacheWarning, output: &Output) {
    let _ = writeln!(std::io::stderr(), "{}", warning.render(output.painter()));
}

/// Says once why the shared cache was not used, each entry it refused, and with `-v`
/// what it served.
fn report_remote(remote: &RemoteUsage, output: &Output) {
    if let Some(why) = remote.unusable.first() {
        warn(CacheWarning::RemoteUnused { why }, output);
    }
    for why in &remote.problems {
        warn(CacheWarning::RemoteEntryRefused { why }, output);
    }
    if output.is_verbose() && (remote.hits, remote.misses, remote.written) != (0, 0, 0) {
        let _ = writeln!(
            std::io::stderr(),
            "Shared cache: fetched {} build-script runs, {} not found, wrote {}",
            remote.hits,
            remote.misses,
            remote.written
        );
    }
}

/// `cargo wasm-build cache keygen NAME -o FILE`: a new signing key in FILE (mode 0600,
/// never overwriting), its public key in FILE.pub and on stdout.
fn keygen(name: &str, output: &std::path::Path) -> Result<i32> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let key =
        wasm_build_remote_cache::SigningKey::generate(name).context("cannot make a signing key")?;
    let public = output.with_file_name(format!(
        "{}.pub",
        output
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(output)
        .with_context(|| {
            format!(
                "cannot create {} (it is never overwritten)",
                output.display()
            )
        })?;
    writeln!(file, "{}", key.secret_text())
        .with_context(|| format!("cannot write {}", output.display()))?;
    std::fs::write(&public, format!("{}\n", key.public_text()))
        .with_context(|| format!("cannot write {}", public.display()))?;
    println!("{}", key.public_text());
    eprintln!(
        "Wrote the secret key to {} (give it to the CI that writes, as \
         CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY) and the public key above to {} (list it \
         in CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS where builds read)",
        output.display(),
        public.display()
    );
    Ok(0)
}

/// `count` and the noun that goes with it: `1 entry`, `2 entries`.
fn counted<N: Into<u64> + Copy>(count: N, one: &str, many: &str) -> String {
    let noun = if count.into() == 1 { one } else { many };
    format!("{} {noun}", count.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(counted(1u64, "entry", "entries"), "1 entry");
        assert_eq!(counted(0u64, "entry", "entries"), "0 entries");
        assert_eq!(
            counted(2u32, "guest artifact", "guest artifacts"),
            "2 guest artifacts"
        );
    }

    #[test]
    fn sizes_read_like_cargo_s() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(540_791), "528.1 KiB");
        assert_eq!(human_size(7_970_075), "7.6 MiB");
        assert_eq!(human_size(DEFAULT_LIMIT), "2.0 GiB");
    }
}
