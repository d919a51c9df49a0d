//! What a build script's `cfg`s say about the machine it runs on.
//!
//! A build script is a host program: `cfg(target_os = "linux")`, `cfg(unix)` or
//! `is_x86_feature_detected!("adx")` in it describe the machine that builds, and its
//! author tested them there. Compiled for wasm32-wasip1 they would describe wasm, and a
//! script could quietly choose other compiler flags or skip a step. rustc cannot take a
//! built-in cfg away, so a script's own crate is compiled with three additions:
//! - the host's values of the names that name the platform ([`PLATFORM_NAMES`]) as
//!   `--cfg`, so `#[cfg(target_arch = "x86_64")]` holds on an x86-64 host;
//! - every target-describing value of the host under `__cwb_host_<name>`, which the
//!   facade's `cfg!` answers from, and the host CPU's features, which its
//!   `is_x86_feature_detected!` answers from (`shim/facade/host_cfg.rs`);
//! - nothing for build-dependencies: they are libraries compiled as wasm, and their
//!   `cfg!` must agree with their `#[cfg]`s, which rustc keeps wasm's.
//!
//! What remains wrong is what rustc cannot change: wasm's own values stay set beside the
//! host's, and names that describe the generated code (pointer width, target features,
//! atomics, the panic strategy) are wasm's. A script whose `#[cfg]` attributes ask about
//! those is found by [`HostCfgs::misanswered`] and refused, never built differently.

#![allow(
    clippy::disallowed_methods,
    reason = "the host's cfgs come from the user's rustc"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use thiserror::Error;

use crate::cfg::Cfg;
use crate::cfg_scan::CfgUse;
use crate::guest_target::GUEST_TARGET;
use crate::invocation::{Arg, Invocation};

/// Names whose host values are given to a script's `#[cfg]` attributes: they name the
/// platform the script runs on, and say nothing about the code compiled for it.
pub const PLATFORM_NAMES: &[&str] = &[
    "target_arch",
    "target_os",
    "target_family",
    "target_env",
    "target_vendor",
    "target_abi",
    "unix",
    "windows",
];

/// Names that describe the code compiled for a target rather than the platform it runs
/// on: a script's `cfg!` of them is answered for the host, its attributes stay wasm's.
const CODE_NAMES: &[&str] = &[
    "target_pointer_width",
    "target_endian",
    "target_feature",
    "target_has_atomic",
    "target_has_atomic_load_store",
    "target_has_atomic_equal_alignment",
    "panic",
    "relocation_model",
    "target_thread_local",
];

/// Names the facade's `cfg!` answers from the host's values (`__cwb_host_<name>`): the
/// platform's and the code's. The list in `shim/facade/host_cfg.rs` must name the same.
/// Profile settings (`debug_assertions`, `overflow_checks`) are the same on both sides
/// and stay core's.
fn cfg_macro_names() -> impl Iterator<Item = &'static str> {
    PLATFORM_NAMES.iter().chain(CODE_NAMES).copied()
}

/// Names that take no value (`unix`, not `target_os = "linux"`).
const BARE_NAMES: &[&str] = &["unix", "windows", "target_thread_local"];

/// The cfg that marks a build script's own crate; also the prefix of the host's values.
const SCRIPT_MARK: &str = "__cwb_host";

/// The cfg holding each host CPU feature, for `is_x86_feature_detected!`.
const CPU_FEATURE: &str = "__cwb_host_cpu_feature";

/// `-C` options of a native compile that change what `--print cfg` says.
const CFG_CODEGEN: &[&str] = &["target-feature", "target-cpu", "panic", "relocation-model"];

/// The cfgs rustc sets for one target, as `--print cfg` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CfgSet(BTreeSet<Cfg>);

impl CfgSet {
    /// Parses `--print cfg` output: `unix`, `target_os="linux"`, one per line.
    pub fn parse(text: &str) -> CfgSet {
        let cfgs = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| match line.split_once('=') {
                Some((name, value)) => Cfg {
                    name: name.to_string(),
                    value: Some(value.trim_matches('"').to_string()),
                },
                None => Cfg {
                    name: line.to_string(),
                    value: None,
                },
            })
            .collect();
        CfgSet(cfgs)
    }

    /// Whether the target sets `cfg`.
    pub fn contains(&self, cfg: &Cfg) -> bool {
        self.0.contains(cfg)
    }

    fn iter(&self) -> impl Iterator<Item = &Cfg> {
        self.0.iter()
    }
}

/// Why the host's cfgs could not be learned.
#[derive(Debug, Error)]
pub enum HostCfgError {
    /// rustc could not be started.
    #[error("failed to run {rustc} --print cfg: {source}")]
    Spawn {
        /// The rustc.
        rustc: String,
        /// Why.
        source: std::io::Error,
    },
    /// rustc refused.
    #[error("`{rustc} --print cfg{target}` failed: {stderr}")]
    Failed {
        /// The rustc.
        rustc: String,
        /// ` --target <guest>`, or nothing for the host.
        target: String,
        /// What it said.
        stderr: String,
    },
}

/// The host's cfgs beside the guest's, for one build script.
#[derive(Debug, Clone)]
pub struct HostCfgs {
    host: CfgSet,
    guest: CfgSet,
    cpu_features: Vec<&'static str>,
}

/// A `#[cfg]` attribute of a build script that the sandbox answers differently from the
/// host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misanswered {
    /// Where it is written.
    pub at: CfgUse,
    /// The part of its predicate that differs.
    pub cfg: Cfg,
    /// What the host says of that part.
    pub host: bool,
}

impl HostCfgs {
    /// Asks `rustc` for the host's cfgs (with the native compile's options that change
    /// them, such as `-C target-cpu=native`) and the guest's.
    ///
    /// # Errors
    ///
    /// Fails when rustc cannot be run or refuses.
    pub fn probe(rustc: &Path, native: &Invocation) -> Result<HostCfgs, HostCfgError> {
        Self::probe_memoised(rustc, native, None)
    }

    /// [`HostCfgs::probe`], with rustc's answers kept in `memo` (a directory of the
    /// target directory, and the key of the rustc: see [`crate::facade::Facade::key`]),
    /// so that the build's other build scripts do not ask again: two rustc runs each
    /// otherwise.
    ///
    /// # Errors
    ///
    /// As [`HostCfgs::probe`].
    pub fn probe_memoised(
        rustc: &Path,
        native: &Invocation,
        memo: Option<(&Path, &str)>,
    ) -> Result<HostCfgs, HostCfgError> {
        let codegen: Vec<String> = native
            .args
            .iter()
            .filter_map(|arg| match arg {
                Arg::Opt(opt, value) if opt == "-C" => {
                    let key = value.split_once('=').map_or(value.as_str(), |(key, _)| key);
                    CFG_CODEGEN.contains(&key).then(|| format!("-C{value}"))
                }
                _ => None,
            })
            .collect();
        Ok(HostCfgs {
            host: memoised_print_cfg(rustc, &codegen, None, memo)?,
            guest: memoised_print_cfg(rustc, &[], Some(GUEST_TARGET), memo)?,
            cpu_features: cpu_features(),
        })
    }

    /// From known sets, for tests and for callers that already asked rustc.
    pub fn new(host: CfgSet, guest: CfgSet, cpu_features: Vec<&'static str>) -> Self {
        HostCfgs {
            host,
            guest,
            cpu_features,
        }
    }

    /// The arguments that make a build script's own crate see the host, with the tool's
    /// cfg names declared to rustc's cfg checking.
    pub fn script_args(&self) -> Vec<String> {
        let mut args = vec![
            "-A".to_string(),
            "explicit_builtin_cfgs_in_flags".to_string(),
        ];
        let mut cfg = |value: String| args.extend(["--cfg".to_string(), value]);
        for host in self.platform_additions() {
            cfg(host.to_arg());
        }
        cfg(SCRIPT_MARK.to_string());
        for host in self
            .host
            .iter()
            .filter(|cfg| cfg_macro_names().any(|name| name == cfg.name))
        {
            cfg(host.renamed(&host_name(&host.name)));
        }
        for feature in &self.cpu_features {
            cfg(format!("{CPU_FEATURE}=\"{feature}\""));
        }
        args.extend(check_cfg_args());
        args
    }

    /// Attributes in `uses` whose predicate asks about a cfg the script's crate answers
    /// differently from the host: a wasm value that stays set (`target_os = "wasi"`), or a
    /// name that describes the generated code (`target_pointer_width = "64"`).
    pub fn misanswered(&self, uses: &[CfgUse]) -> Vec<Misanswered> {
        let mut found = Vec::new();
        for at in uses {
            for cfg in &at.cfgs {
                let host = self.host.contains(cfg);
                if host != self.script_sees(cfg) {
                    found.push(Misanswered {
                        at: at.clone(),
                        cfg: cfg.clone(),
                        host,
                    });
                }
            }
        }
        found
    }

    /// The attributes in `uses` (a build-dependency's, compiled with wasm's cfgs and its
    /// own `--cfg`s, `crate_cfgs`) that select code only the sandbox compiles: their
    /// predicate holds for wasm and not for the host. Such code (a wasm fallback that
    /// returns "not implemented") may make a script fail in the sandbox that works
    /// natively.
    pub fn sandbox_only(&self, uses: &[CfgUse], crate_cfgs: &CfgSet) -> Vec<CfgUse> {
        let guest = |cfg: &Cfg| self.guest.contains(cfg) || crate_cfgs.contains(cfg);
        let host = |cfg: &Cfg| self.host.contains(cfg) || crate_cfgs.contains(cfg);
        uses.iter()
            .filter(|at| {
                at.expr
                    .as_ref()
                    .is_some_and(|expr| expr.holds(&guest) && !expr.holds(&host))
            })
            .cloned()
            .collect()
    }

    /// Whether a `#[cfg]` in the script's crate holds for `cfg`.
    fn script_sees(&self, cfg: &Cfg) -> bool {
        self.guest.contains(cfg) || self.platform_additions().any(|added| added == cfg)
    }

    /// The host's platform cfgs that the guest lacks.
    fn platform_additions(&self) -> impl Iterator<Item = &Cfg> {
        self.host
            .iter()
            .filter(|cfg| PLATFORM_NAMES.contains(&cfg.name.as_str()) && !self.guest.contains(cfg))
    }
}

/// Where the host's value of `name` is passed: `__cwb_host_target_os`.
fn host_name(name: &str) -> String {
    format!("{SCRIPT_MARK}_{name}")
}

/// Declares the tool's cfg names to rustc's cfg checking.
fn check_cfg_args() -> Vec<String> {
    let bare: Vec<String> = std::iter::once(SCRIPT_MARK.to_string())
        .chain(BARE_NAMES.iter().map(|name| host_name(name)))
        .collect();
    let valued: Vec<String> = cfg_macro_names()
        .filter(|name| !BARE_NAMES.contains(name))
        .map(host_name)
        .chain(std::iter::once(CPU_FEATURE.to_string()))
        .collect();
    vec![
        "--check-cfg".to_string(),
        format!("cfg({})", bare.join(",")),
        "--check-cfg".to_string(),
        format!("cfg({}, values(any()))", valued.join(",")),
    ]
}

/// [`print_cfg`], answered from `memo` when this rustc (by its key) was asked the same
/// before in this target directory. A memo that cannot be read or written costs a probe.
fn memoised_print_cfg(
    rustc: &Path,
    codegen: &[String],
    target: Option<&str>,
    memo: Option<(&Path, &str)>,
) -> Result<CfgSet, HostCfgError> {
    let Some((dir, rustc_key)) = memo else {
        return Ok(CfgSet::parse(&print_cfg(rustc, codegen, target)?));
    };
    let mut key = wasm_build_cache::Key::builder("print-cfg");
    key.add(rustc_key).add(rustc.as_os_str().as_encoded_bytes());
    key.add(target.unwrap_or(""));
    for arg in codegen {
        key.add(arg);
    }
    let file = dir.join(key.finish().as_str());
    if let Ok(text) = std::fs::read_to_string(&file) {
        return Ok(CfgSet::parse(&text));
    }
    let text = print_cfg(rustc, codegen, target)?;
    if std::fs::create_dir_all(dir).is_ok()
        && let Ok(mut temp) = tempfile::NamedTempFile::new_in(dir)
        && std::io::Write::write_all(&mut temp, text.as_bytes()).is_ok()
    {
        let _ = temp.persist(&file);
    }
    Ok(CfgSet::parse(&text))
}

/// What `rustc --print cfg` answers, as text.
fn print_cfg(
    rustc: &Path,
    codegen: &[String],
    target: Option<&str>,
) -> Result<String, HostCfgError> {
    let mut command = Command::new(rustc);
    command.args(["--print", "cfg"]).args(codegen);
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| HostCfgError::Spawn {
            rustc: rustc.display().to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(HostCfgError::Failed {
            rustc: rustc.display().to_string(),
            target: target.map(|t| format!(" --target {t}")).unwrap_or_default(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The features of the CPU this tool (and so the build script, natively) runs on, by
/// the names `is_x86_feature_detected!` takes.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn cpu_features() -> Vec<&'static str> {
    let mut found = Vec::new();
    macro_rules! detect {
        ($($feature:tt),* $(,)?) => {$(
            if std::is_x86_feature_detected!($feature) {
                found.push($feature);
            }
        )*};
    }
    detect!(
        "aes",
        "pclmulqdq",
        "rdrand",
        "rdseed",
        "tsc",
        "mmx",
        "sse",
        "sse2",
        "sse3",
        "ssse3",
        "sse4.1",
        "sse4.2",
        "sse4a",
        "sha",
        "avx",
        "avx2",
        "avx512f",
        "avx512cd",
        "avx512bw",
        "avx512dq",
        "avx512vl",
        "avx512ifma",
        "avx512vbmi",
        "avx512vpopcntdq",
        "avx512vbmi2",
        "gfni",
        "vaes",
        "vpclmulqdq",
        "avx512vnni",
        "avx512bitalg",
        "avx512bf16",
        "avx512vp2intersect",
        "avx512fp16",
        "f16c",
        "fma",
        "bmi1",
        "bmi2",
        "abm",
        "lzcnt",
        "tbm",
        "popcnt",
        "fxsr",
        "xsave",
        "xsaveopt",
        "xsaves",
        "xsavec",
        "cmpxchg16b",
        "adx",
        "rtm",
        "movbe",
        "ermsb",
    );
    found
}

/// The features of the CPU this tool runs on, by the names
/// `is_aarch64_feature_detected!` takes.
#[cfg(target_arch = "aarch64")]
fn cpu_features() -> Vec<&'static str> {
    let mut found = Vec::new();
    macro_rules! detect {
        ($($feature:tt),* $(,)?) => {$(
            if std::arch::is_aarch64_feature_detected!($feature) {
                found.push($feature);
            }
        )*};
    }
    detect!(
        "neon",
        "asimd",
        "pmull",
        "fp",
        "fp16",
        "sve",
        "crc",
        "lse",
        "lse2",
        "rdm",
        "rcpc",
        "rcpc2",
        "dotprod",
        "tme",
        "fhm",
        "dit",
        "flagm",
        "ssbs",
        "sb",
        "paca",
        "pacg",
        "dpb",
        "dpb2",
        "sve2",
        "sve2-aes",
        "sve2-sm4",
        "sve2-sha3",
        "sve2-bitperm",
        "frintts",
        "i8mm",
        "f32mm",
        "f64mm",
        "bf16",
        "rand",
        "bti",
        "mte",
        "jsconv",
        "fcma",
        "aes",
        "sha2",
        "sha3",
        "sm4",
    );
    found
}

/// Elsewhere the tool knows no detection macro; scripts asking get `false`.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu_features() -> Vec<&'static str> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfg_scan::attribute_cfgs;

    const HOST: &str = "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_env=\"gnu\"\ntarget_family=\"unix\"\ntarget_feature=\"sse2\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\ntarget_vendor=\"unknown\"\nunix\n";
    const GUEST: &str = "debug_assertions\npanic=\"abort\"\ntarget_arch=\"wasm32\"\ntarget_env=\"p1\"\ntarget_family=\"wasm\"\ntarget_feature=\"crt-static\"\ntarget_os=\"wasi\"\ntarget_pointer_width=\"32\"\ntarget_vendor=\"unknown\"\n";

    fn cfgs() -> HostCfgs {
        HostCfgs::new(
            CfgSet::parse(HOST),
            CfgSet::parse(GUEST),
            vec!["sse2", "adx"],
        )
    }

    #[test]
    fn the_script_gets_the_hosts_platform_and_its_values_for_cfg_macros() {
        let args = cfgs().script_args().join(" ");
        for expected in [
            "-A explicit_builtin_cfgs_in_flags",
            "--cfg target_arch=\"x86_64\"",
            "--cfg target_os=\"linux\"",
            "--cfg unix",
            "--cfg target_family=\"unix\"",
            "--cfg target_env=\"gnu\"",
            "--cfg __cwb_host ",
            "--cfg __cwb_host_target_pointer_width=\"64\"",
            "--cfg __cwb_host_panic=\"unwind\"",
            "--cfg __cwb_host_cpu_feature=\"adx\"",
            "--cfg __cwb_host_unix",
            "--cfg __cwb_host_target_os=\"linux\"",
            "--check-cfg cfg(__cwb_host,",
        ] {
            assert!(args.contains(expected), "{expected} missing from {args}");
        }
        // Generated code is wasm's: never claimed for attributes.
        assert!(!args.contains("--cfg target_pointer_width"), "{args}");
        assert!(!args.contains("--cfg panic"), "{args}");
        // Equal on both sides: nothing to add.
        assert!(!args.contains("--cfg target_vendor"), "{args}");
    }

    #[test]
    fn attributes_the_sandbox_cannot_answer_as_the_host_are_found() {
        let source = r#"
#[cfg(target_os = "linux")] fn a() {}
#[cfg(all(unix, not(windows), feature = "x"))] fn b() {}
#[cfg(target_pointer_width = "64")] fn c() {}
#[cfg_attr(target_os = "wasi", allow(dead_code))] fn d() {}
#[cfg(any(target_feature = "crt-static", debug_assertions))] fn e() {}
"#;
        let uses = attribute_cfgs(Path::new("build.rs"), source);
        let found: Vec<(usize, String, bool)> = cfgs()
            .misanswered(&uses)
            .into_iter()
            .map(|m| (m.at.line, m.cfg.to_string(), m.host))
            .collect();
        assert_eq!(
            found,
            [
                (4, "target_pointer_width = \"64\"".to_string(), true),
                (5, "target_os = \"wasi\"".to_string(), false),
                (6, "target_feature = \"crt-static\"".to_string(), false),
            ]
        );
    }

    /// Code a build-dependency compiles only for wasm: a predicate that holds with wasm's
    /// cfgs and the crate's own, and not with the host's. Platform code the host
    /// compiles instead (`cfg(unix)`) is not listed, nor what the crate's features
    /// decide the same way on both sides.
    #[test]
    fn code_only_the_sandbox_compiles_is_found() {
        let source = r#"
#[cfg(target_arch = "wasm32")] fn set_perms() {}
#[cfg(unix)] fn set_perms() {}
#[cfg(not(any(unix, windows)))] fn fallback() {}
#[cfg(all(target_family = "wasm", feature = "off"))] fn not_built() {}
#[cfg(all(target_os = "wasi", feature = "std"))] fn built() {}
#[cfg_attr(target_os = "wasi", path = "wasi.rs")] mod imp;
#[cfg(any(target_os = "wasi", target_os = "linux"))] fn both() {}
"#;
        let uses = attribute_cfgs(Path::new("lib.rs"), source);
        let features = CfgSet::parse("feature=\"std\"");
        let lines: Vec<usize> = cfgs()
            .sandbox_only(&uses, &features)
            .into_iter()
            .map(|at| at.line)
            .collect();
        assert_eq!(lines, [2, 4, 6, 7]);
    }

    /// The facade's `cfg!` answers from the host exactly the names given here.
    #[test]
    fn the_facade_answers_every_name_the_wrapper_gives() {
        let (_, facade) = wasm_build_shim::FACADE_SOURCES
            .iter()
            .find(|(path, _)| *path == "facade/host_cfg.rs")
            .unwrap();
        let mut answered: Vec<&str> = facade
            .lines()
            .filter_map(|line| line.trim().strip_prefix("(@pred "))
            .filter_map(|rest| rest.split([' ', ')']).next())
            .filter(|name| !matches!(*name, "not(" | "all(" | "any(" | "$($p:tt)*"))
            .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        answered.sort_unstable();
        let mut given: Vec<&str> = cfg_macro_names().collect();
        given.sort_unstable();
        assert_eq!(answered, given);
        assert!(BARE_NAMES.iter().all(|bare| given.contains(bare)));
    }

    #[test]
    fn print_cfg_output_is_parsed() {
        let set = CfgSet::parse(HOST);
        assert!(set.contains(&Cfg {
            name: "unix".into(),
            value: None
        }));
        assert!(set.contains(&Cfg {
            name: "target_os".into(),
            value: Some("linux".into())
        }));
        assert!(!set.contains(&Cfg {
            name: "windows".into(),
            value: None
        }));
    }
}
