//! The one wasmtime configuration every build script runs under.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result};
use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine};

/// How often the epoch ticks. The CPU-time limit is checked at this granularity, so a
/// runaway script overshoots its limit by at most one tick.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A wasmtime [`Engine`] configured for build scripts.
///
/// Epoch interruption is on (CPU-time limits); everything else is wasmtime's default for
/// the minimal feature set we build it with. There is one engine per process: the
/// wrapper uses it to precompile modules, the stand-in to run one.
#[derive(Clone)]
pub struct SandboxEngine {
    engine: Engine,
}

impl SandboxEngine {
    /// The process's engine, created on first use together with the epoch ticker thread
    /// that enforces CPU-time limits.
    ///
    /// # Errors
    ///
    /// Fails when wasmtime cannot be configured for this host (an unsupported CPU) or the
    /// ticker thread cannot be started; without it a looping script could not be stopped.
    pub fn get() -> Result<Self> {
        static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
        let engine = ENGINE.get_or_init(|| create().map_err(|err| format!("{err:#}")));
        match engine {
            Ok(engine) => Ok(SandboxEngine {
                engine: engine.clone(),
            }),
            Err(message) => Err(anyhow::anyhow!("{message}")),
        }
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A string that changes whenever a module precompiled by this engine could no longer
    /// be loaded by it: the wasmtime version and every setting that affects code.
    pub fn compatibility_key(&self) -> String {
        let mut hasher = Sha256Hasher(Sha256::new());
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let digest = hasher.0.finalize();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("wasmtime{}-{hex}", wasmtime_version())
    }
}

fn wasmtime_version() -> &'static str {
    // Keep in step with the `=` requirement in the workspace manifest.
    "48.0.8"
}

fn create() -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // As deep as the shadow stack the guests are linked with (see `STACK_BYTES`); the
    // guest runs on a native thread with room for it (`Sandbox::run`).
    // Calls are synchronous, so no fiber is ever allocated, but wasmtime wants the
    // async stack to be the larger one.
    config.async_stack_size(wasm_build_shim::STACK_BYTES + (1 << 20));
    config.max_wasm_stack(wasm_build_shim::STACK_BYTES);
    let engine = Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("failed to configure wasmtime for this machine")?;
    // The ticker lives as long as the process: the engine is shared, and the deadline of
    // each store counts ticks from the moment it is set.
    let ticking = engine.clone();
    std::thread::Builder::new()
        .name("wasm-build-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                ticking.increment_epoch();
            }
        })
        .context("failed to start the thread that enforces build-script time limits")?;
    Ok(engine)
}

/// Feeds what wasmtime hashes into SHA-256: the key names modules on disk and must mean
/// the same to every later build of the tool, which std's `DefaultHasher` (free to change
/// between releases) does not promise.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }
}
