//! Confinement of the native programs a build script is allowed to run.
//!
//! A granted program (a C compiler, a `rustc` probe) runs natively, so the wasm sandbox no
//! longer holds it. The broker therefore starts it through a small helper: the tool
//! itself, re-executed with [`CONFINE_ARG`], which confines its own process and then
//! `exec`s the program, so the program and every process it starts stay confined:
//! - a fresh user and network namespace: no network at all, not even loopback;
//! - Landlock: read and execute only system and toolchain directories, read the package
//!   and dependency sources, write only `OUT_DIR` and a private temporary directory; TCP
//!   bind/connect denied; abstract Unix sockets and signals scoped to the sandbox;
//! - seccomp: `socket(2)` fails, so Unix-domain sockets on disk (an ssh-agent) are out of
//!   reach too.
//!
//! Doing this in a fresh, single-threaded process (rather than between `fork` and `exec`
//! of the multi-threaded stand-in) keeps every step ordinary, allocating Rust code.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, anyhow, bail};
use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};
use serde::{Deserialize, Serialize};

/// The first argument that makes the tool act as the confinement helper.
pub const CONFINE_ARG: &str = "--wasm-build-confine";

/// Exit status of the helper when it could not confine or start the program (as a shell
/// reports a command it cannot execute).
pub const CONFINE_FAILED: i32 = 126;

/// What a confined program may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    /// Directories and files it may read and execute (system and toolchain).
    pub read_exec: Vec<PathBuf>,
    /// Directories and files it may read.
    pub read: Vec<PathBuf>,
    /// Directories it may read and write.
    pub write: Vec<PathBuf>,
    /// Whether it may use the network (granted per program; off by default).
    pub network: bool,
}

/// System locations every compiler needs: binaries, libraries, headers, the dynamic
/// loader's cache. Notably not `/etc` as a whole, `/home`, `/root`, `/tmp` or `/proc`.
pub const SYSTEM_READ_EXEC: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
];

/// Devices programs open routinely.
pub const SYSTEM_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

/// What build tools read about the machine (cmake and make size their jobs from it):
/// processor and memory facts, and the process's own `/proc` entry (the helper `exec`s
/// the program, which keeps its pid). Never other processes' entries, whose environments
/// hold secrets.
pub const SYSTEM_FACTS: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/self",
    "/sys/devices/system/cpu",
];

/// The Landlock ABI version of the running kernel, or `None` without Landlock.
pub fn landlock_abi() -> Option<i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the documented way to query the ABI: null attributes, size 0, version flag.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    (version > 0).then_some(version as i32)
}

impl Confinement {
    /// A command that runs `program args` confined by `self`: the helper (this very
    /// executable) with the confinement as its argument.
    ///
    /// # Errors
    ///
    /// Fails when the tool's own path cannot be determined.
    pub fn command(&self, program: &std::path::Path, args: &[String]) -> Result<Command> {
        let helper = std::env::current_exe().context("failed to locate cargo-wasm-build itself")?;
        let mut command = Command::new(helper);
        command
            .arg(CONFINE_ARG)
            .arg(serde_json::to_string(self).context("failed to encode a confinement")?)
            .arg(program)
            .args(args);
        Ok(command)
    }
}

/// The helper's `main`: `args` are what follows [`CONFINE_ARG`]: the confinement, the
/// program and its arguments. Never returns on success (the program replaces it).
pub fn helper_main(args: &[OsString]) -> i32 {
    match confine_and_exec(args) {
        Ok(never) => match never {},
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: sandbox: {err:#}");
            CONFINE_FAILED
        }
    }
}

fn confine_and_exec(args: &[OsString]) -> Result<std::convert::Infallible> {
    let [config, program, rest @ ..] = args else {
        bail!("the confinement helper needs a confinement and a program");
    };
    let config = config
        .to_str()
        .ok_or_else(|| anyhow!("confinement is not UTF-8"))?;
    let confinement: Confinement = serde_json::from_str(config).context("malformed confinement")?;
    if !confinement.network {
        enter_network_namespace()?;
    }
    restrict_filesystem_and_network(&confinement)?;
    if !confinement.network {
        deny_sockets()?;
    }
    let err = Command::new(program).args(rest).exec();
    Err(anyhow!(err).context(format!(
        "failed to run {}",
        std::path::Path::new(program).display()
    )))
}

/// A new user namespace (so no privilege is needed) holding a new network namespace with
/// no interfaces; the user keeps their own uid and gid inside.
fn enter_network_namespace() -> Result<()> {
    // SAFETY: plain syscalls on this single-threaded process.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: as above; unshare only changes this process's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error())
            .context("failed to create a network namespace (are user namespaces disabled?)");
    }
    let write = |file: &str, contents: String| {
        std::fs::write(file, contents).with_context(|| format!("failed to write {file}"))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    Ok(())
}

fn restrict_filesystem_and_network(confinement: &Confinement) -> Result<()> {
    let abi = ABI::V6;
    let read_exec = AccessFs::from_read(abi) | AccessFs::Execute;
    let read = AccessFs::from_read(abi);
    let write = AccessFs::from_all(abi);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?;
    if !confinement.network {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
            .scope(Scope::from_all(abi))?;
    }
    let status = ruleset
        .create()?
        .add_rules(path_beneath_rules(SYSTEM_READ_EXEC, read_exec))?
        .add_rules(path_beneath_rules(&confinement.read_exec, read_exec))?
        .add_rules(path_beneath_rules(&confinement.read, read))?
        .add_rules(path_beneath_rules(SYSTEM_DEVICES, write))?
        .add_rules(path_beneath_rules(SYSTEM_FACTS, read))?
        .add_rules(path_beneath_rules(&confinement.write, write))?
        .restrict_self()
        .context("failed to confine with Landlock")?;
    if status.ruleset == RulesetStatus::NotEnforced {
        bail!("this kernel cannot enforce Landlock; the program was not started");
    }
    Ok(())
}

/// Makes `socket(2)` fail with `EACCES`: the network namespace already has no network,
/// and this also closes Unix-domain sockets on disk, which namespaces do not isolate.
fn deny_sockets() -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xc000_00b7;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return Ok(());

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
        const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
        const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
        const DENY: u32 = libc::SECCOMP_RET_ERRNO | libc::EACCES as u32;
        // struct seccomp_data { int nr; __u32 arch; ... }
        const NR: u32 = 0;
        const ARCH: u32 = 4;
        let stmt = |code, k| libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        };
        let jump = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
        let filter = [
            stmt(LD_ABS_W, ARCH),
            // Another ABI (32-bit compat) could reach socket under another number: deny it all.
            jump(JEQ, AUDIT_ARCH, 1, 0),
            stmt(RET, DENY),
            stmt(LD_ABS_W, NR),
            // x32 system calls carry bit 30; refuse them rather than decode them.
            jump(JGE, 0x4000_0000, 0, 1),
            stmt(RET, DENY),
            jump(JEQ, libc::SYS_socket as u32, 0, 1),
            stmt(RET, DENY),
            stmt(RET, ALLOW),
        ];
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points to a valid filter that outlives the call; no_new_privs
        // is already set by the Landlock step (and set again here for clarity).
        let installed = unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                && libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &program as *const libc::sock_fprog,
                ) == 0
        };
        if !installed {
            return Err(std::io::Error::last_os_error())
                .context("failed to install seccomp filter");
        }
        Ok(())
    }
}
