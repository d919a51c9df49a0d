//! Landlock: the filesystem (and, where the kernel has it, TCP and signal scoping) of a
//! jailed program.
//!
//! Rules are built from descriptors the helper opened itself, and the ruleset handles
//! every right of the ABI in use, required exactly (never "best effort"): a kernel that
//! cannot enforce what was asked fails the spawn.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::fd;
use crate::spec::{Rules, SYSTEM_READ_EXEC};

/// Devices programs open routinely. Read and write, never execute.
const SYSTEM_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// What build tools read about the machine (cmake and make size their jobs from it):
/// processor and memory facts. Read only. Parts of the program's own `/proc` entry are
/// readable too ([`OWN_PROC`]); never other processes' entries, whose environments hold
/// secrets.
const SYSTEM_FACTS: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
];

/// What a program reads of its own `/proc` entry (added by the program's process itself,
/// so that it is its own): its memory map (Rust's std and glibc find the main thread's
/// stack there), status, limits, command line, descriptors and threads, and the cgroup
/// and mount facts std reads to size thread pools. Not `net/`, which lists the host's
/// Unix sockets and listening ports, nor `environ`, `mem` or anything else.
const OWN_PROC: &[&str] = &[
    "maps",
    "status",
    "stat",
    "statm",
    "limits",
    "cmdline",
    "comm",
    "auxv",
    "fd",
    "fdinfo",
    "task",
    "cgroup",
    "mountinfo",
    "mounts",
];

/// The newest ABI whose rights the jail uses: 6 adds scopes. Later ABIs add logging and
/// thread synchronisation, which a single-threaded helper does not need.
const NEWEST_USED: u8 = 6;

/// The ABI to use: the kernel's, at most [`NEWEST_USED`] and at most `cap` (a cap of 0
/// stands for a kernel without Landlock).
pub(crate) fn abi_in_use(cap: Option<u8>) -> Result<u8, String> {
    let kernel = kernel_abi().map_err(|err| format!("landlock_create_ruleset: {err}"))?;
    match kernel.min(NEWEST_USED).min(cap.unwrap_or(u8::MAX)) {
        0 => Err("assumed absent (a Landlock ABI cap of 0)".into()),
        abi => Ok(abi),
    }
}

/// The Landlock ABI of the running kernel.
fn kernel_abi() -> Result<u8, std::io::Error> {
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
    if version > 0 {
        Ok(u8::try_from(version).unwrap_or(u8::MAX))
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn abi(version: u8) -> ABI {
    match version {
        0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        _ => ABI::V6,
    }
}

/// Read files and list directories.
fn read() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// Everything the ABI handles except executing (what a program writes never runs) and
/// making device nodes (a node made by a program running as root would open the disk).
fn write(abi: ABI) -> BitFlags<AccessFs> {
    AccessFs::from_all(abi) & !(AccessFs::Execute | AccessFs::MakeChar | AccessFs::MakeBlock)
}

/// A ruleset ready to be enforced by the program's process after `fork`.
pub(crate) struct Prepared {
    ruleset: RulesetCreated,
    abi: ABI,
}

/// The rules of `rules` at ABI `version`. `program` (and its interpreter) may be read and
/// executed: the very files that were opened and checked.
pub(crate) fn prepare(
    rules: &Rules,
    version: u8,
    program: &OwnedFd,
    interpreter: Option<&OwnedFd>,
) -> Result<Prepared, String> {
    let abi = abi(version);
    let read_exec = read() | AccessFs::Execute;
    let mut created = ruleset(version)?;

    add_rule(&mut created, abi, program, read_exec, &rules.program.path)?;
    if let Some(interpreter) = interpreter {
        add_rule(
            &mut created,
            abi,
            interpreter,
            read_exec,
            Path::new("the script's interpreter"),
        )?;
    }
    // System paths that do not exist here are simply not granted; nor are the caller's
    // paths that do not exist (they hold nothing to read), which can only make the
    // program fail, never reach further.
    let system = [
        (SYSTEM_READ_EXEC, read_exec),
        (SYSTEM_DEVICES, write(abi)),
        (SYSTEM_FACTS, read()),
    ];
    let system = system
        .iter()
        .flat_map(|(paths, access)| paths.iter().map(move |path| (Path::new(*path), *access)));
    let caller = [
        (&rules.access.read_exec, read_exec),
        (&rules.access.read, read()),
        (&rules.access.write, write(abi)),
    ];
    let caller = caller
        .iter()
        .flat_map(|(paths, access)| paths.iter().map(move |path| (path.as_path(), *access)));
    for (path, access) in system.chain(caller) {
        if let Ok(fd) = fd::open(path, libc::O_PATH) {
            add_rule(&mut created, abi, &fd, access, path)?;
        }
    }
    Ok(Prepared {
        ruleset: created,
        abi,
    })
}

fn add_rule(
    ruleset: &mut RulesetCreated,
    abi: ABI,
    fd: &OwnedFd,
    access: BitFlags<AccessFs>,
    what: &Path,
) -> Result<(), String> {
    // Directory rights on a file are an error for the kernel: keep those a file has.
    let access = if is_dir(fd) {
        access
    } else {
        access & AccessFs::from_file(abi)
    };
    ruleset
        .add_rule(PathBeneath::new(fd.as_fd(), access))
        .map(|_| ())
        .map_err(|err| {
            format!(
                "failed to add a Landlock rule for {}: {err}",
                what.display()
            )
        })
}

/// A ruleset handling every right of ABI `version`, exactly: TCP from ABI 4 (no socket of
/// the program's own connects or listens, granted network or not: the supervisor makes a
/// networked program's connections to the proxy itself), scopes (abstract Unix sockets,
/// signals) from ABI 6.
fn ruleset(version: u8) -> Result<RulesetCreated, String> {
    let abi = abi(version);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))
        .map_err(|err| format!("Landlock refused the filesystem rights of ABI {version}: {err}"))?;
    if version >= 4 {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(|err| format!("Landlock refused the TCP rights: {err}"))?;
    }
    if version >= 6 {
        ruleset = ruleset
            .scope(Scope::from_all(abi))
            .map_err(|err| format!("Landlock refused scoping: {err}"))?;
    }
    ruleset
        .create()
        .map_err(|err| format!("failed to create a Landlock ruleset: {err}"))
}

/// Confines the calling process with a ruleset of ABI `version` that allows nothing: the
/// probe that Landlock really enforces here (some container profiles allow asking for
/// the version but not restricting).
pub(crate) fn enforce_nothing(version: u8) -> Result<(), String> {
    restrict(ruleset(version)?)
}

/// Confines the calling process with `ruleset` for good, and sets `no_new_privs`; fails
/// unless the kernel enforces all of it.
fn restrict(ruleset: RulesetCreated) -> Result<(), String> {
    let status = ruleset
        .restrict_self()
        .map_err(|err| format!("Landlock refused to confine the program: {err}"))?;
    if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
        return Err(format!(
            "Landlock enforced the rules only partly ({:?}, no_new_privs: {})",
            status.ruleset, status.no_new_privs
        ));
    }
    Ok(())
}

fn is_dir(fd: &OwnedFd) -> bool {
    fd::stat(fd).is_ok_and(|stat| stat.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

impl Prepared {
    /// Confines the calling process (and everything it starts) for good. Also sets
    /// `no_new_privs`.
    pub(crate) fn enforce(mut self) -> Result<(), String> {
        // Parts of the calling process's own entry (`/proc/self` names a process at
        // opening, so each handle is this process's).
        for part in OWN_PROC {
            let path = Path::new("/proc/self").join(part);
            if let Ok(own) = fd::open(&path, libc::O_PATH) {
                add_rule(&mut self.ruleset, self.abi, &own, read(), &path)?;
            }
        }
        restrict(self.ruleset)
    }
}
