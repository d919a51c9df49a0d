//! The seccomp filter: system calls a jailed program may not make, whatever Landlock
//! allows.
//!
//! A deny list with a kill for every other system-call ABI: a filter that only names
//! x86_64 calls would otherwise be bypassed through the 32-bit (`int 0x80`) or x32
//! (number | 0x4000_0000) tables. Calls newer than the list knows fail with `ENOSYS`, as
//! on an older kernel, so libc falls back and a future call cannot slip past.
//!
//! `EPERM` for what is refused (the program sees "not permitted", as from a container),
//! `ENOSYS` where programs are known to fall back (io_uring, clone3).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::spec::Network;

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// The first system-call number this list does not know: `open_tree_attr` (467) is the
/// newest known on x86_64; aarch64 shares the generic table, whose numbers run lower.
#[cfg(target_arch = "x86_64")]
const FIRST_UNKNOWN: u32 = 468;
#[cfg(target_arch = "aarch64")]
const FIRST_UNKNOWN: u32 = 468;

/// Namespace flags of `clone(2)`'s first argument. `CLONE_NEWTIME` shares its bit with the
/// exit signal there, so it is refused through `unshare` and `clone3` only.
const CLONE_NAMESPACES: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// The filters to install, in order: the ABI guard, the refusals (`EPERM`), the fallbacks
/// (`ENOSYS`). `landlock_abi` below 3 adds the refusals that stand in for Landlock's
/// truncate right.
pub(crate) fn filters(network: Network, landlock_abi: u8) -> Result<Vec<BpfProgram>, String> {
    let refused = filter(refused(network, landlock_abi), libc::EPERM)?;
    let fallback = filter(fallback(landlock_abi), libc::ENOSYS)?;
    Ok(vec![abi_guard(), refused, fallback])
}

/// Installs `filters` on the calling thread (setting `no_new_privs` first).
pub(crate) fn install(filters: &[BpfProgram]) -> Result<(), String> {
    for filter in filters {
        seccompiler::apply_filter(filter)
            .map_err(|err| format!("failed to install the seccomp filter: {err}"))?;
    }
    Ok(())
}

fn filter(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, String> {
    SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        ARCH,
    )
    .and_then(BpfProgram::try_from)
    .map_err(|err| format!("failed to build the seccomp filter: {err}"))
}

/// Kills a process that uses another system-call ABI (32-bit or x32), and answers `ENOSYS`
/// for numbers newer than the filters know.
fn abi_guard() -> BpfProgram {
    use seccompiler::sock_filter;
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // struct seccomp_data { int nr; __u32 arch; ... }
    const NR: u32 = 0;
    const ARCH_OFFSET: u32 = 4;
    const X32_BIT: u32 = 0x4000_0000;
    let stmt = |code, k| sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code, k, jt, jf| sock_filter { code, jt, jf, k };
    vec![
        stmt(LD_W_ABS, ARCH_OFFSET),
        jump(JEQ, AUDIT_ARCH, 1, 0),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_BIT, 0, 1),
        stmt(RET, libc::SECCOMP_RET_KILL_PROCESS),
        jump(JGE, FIRST_UNKNOWN, 0, 1),
        stmt(RET, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        stmt(RET, libc::SECCOMP_RET_ALLOW),
    ]
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    // Only construction with an argument index above 5 fails, and these are constants.
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
        .unwrap_or_else(|err| unreachable!("a constant seccomp condition: {err}"))
}

fn rule(conditions: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(conditions)
        .unwrap_or_else(|err| unreachable!("a constant seccomp rule: {err}"))
}

/// System calls refused outright (an empty rule list) or when their arguments match.
fn refused(network: Network, landlock_abi: u8) -> BTreeMap<i64, Vec<SeccompRule>> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let always = [
        // IPC outside the jail: SysV shared memory, semaphores and queues, POSIX queues
        // (no IPC namespace keeps other processes' out of reach).
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_shmctl,
        libc::SYS_msgget,
        libc::SYS_msgsnd,
        libc::SYS_msgrcv,
        libc::SYS_msgctl,
        libc::SYS_semget,
        libc::SYS_semop,
        libc::SYS_semtimedop,
        libc::SYS_semctl,
        libc::SYS_mq_open,
        libc::SYS_mq_unlink,
        libc::SYS_mq_timedsend,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_notify,
        libc::SYS_mq_getsetattr,
        // Keyrings are not namespaced: the session keyring holds the user's keys.
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        // Other processes' memory and descriptors.
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_pidfd_getfd,
        libc::SYS_kcmp,
        // Mounts and namespaces.
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
        // Kernel interfaces a build never needs.
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_fanotify_init,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_quotactl,
        libc::SYS_acct,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_syslog,
        libc::SYS_vhangup,
    ];
    for call in always {
        rules.insert(call, Vec::new());
    }
    #[cfg(target_arch = "x86_64")]
    for call in [libc::SYS_iopl, libc::SYS_ioperm, libc::SYS_uselib] {
        rules.insert(call, Vec::new());
    }
    // Sockets: none at all, or only IPv4 and IPv6 with a network grant. A connected pair
    // of Unix sockets reaches nothing outside and stays allowed.
    rules.insert(
        libc::SYS_socket,
        match network {
            Network::None => Vec::new(),
            Network::Internet => vec![rule(vec![
                condition(0, SeccompCmpOp::Ne, libc::AF_INET as u64),
                condition(0, SeccompCmpOp::Ne, libc::AF_INET6 as u64),
            ])],
        },
    );
    rules.insert(
        libc::SYS_socketpair,
        vec![rule(vec![condition(
            0,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )])],
    );
    // New namespaces through clone (clone3 falls back to clone, see `fallback`).
    rules.insert(
        libc::SYS_clone,
        CLONE_NAMESPACES
            .iter()
            .map(|flag| rule(vec![condition(0, SeccompCmpOp::MaskedEq(*flag), *flag)]))
            .collect(),
    );
    // Typing into the terminal of whoever started the build.
    rules.insert(
        libc::SYS_ioctl,
        [libc::TIOCSTI, libc::TIOCLINUX]
            .into_iter()
            .map(|request: libc::Ioctl| {
                // The request is a 32-bit value whatever libc's type for it.
                rule(vec![condition(
                    1,
                    SeccompCmpOp::Eq,
                    u64::from(request as u32),
                )])
            })
            .collect(),
    );
    if landlock_abi < 3 {
        // Landlock before ABI 3 does not handle truncation: a file the program may only
        // read could be emptied with truncate(2) or open(O_RDONLY | O_TRUNC).
        rules.insert(libc::SYS_truncate, Vec::new());
        let read_only_truncate = |flags_arg| {
            vec![rule(vec![condition(
                flags_arg,
                SeccompCmpOp::MaskedEq((libc::O_ACCMODE | libc::O_TRUNC) as u64),
                libc::O_TRUNC as u64,
            )])]
        };
        rules.insert(libc::SYS_openat, read_only_truncate(2));
        #[cfg(target_arch = "x86_64")]
        rules.insert(libc::SYS_open, read_only_truncate(1));
    }
    rules
}

/// System calls that fail as if the kernel lacked them, so that programs fall back to
/// what the other layers can see: io_uring (its socket and file operations bypass
/// per-call filtering), clone3 (its flags sit behind a pointer; libc falls back to clone,
/// whose flags are checked), and openat2 when its flags must be checked (its flags sit
/// behind a pointer too).
fn fallback(landlock_abi: u8) -> BTreeMap<i64, Vec<SeccompRule>> {
    let mut calls = vec![
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_clone3,
    ];
    if landlock_abi < 3 {
        calls.push(libc::SYS_openat2);
    }
    calls.into_iter().map(|call| (call, Vec::new())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_build_for_every_tier() {
        for network in [Network::None, Network::Internet] {
            for abi in 1..=6 {
                let filters = filters(network, abi).unwrap();
                assert_eq!(filters.len(), 3);
                assert!(filters.iter().all(|filter| !filter.is_empty()));
            }
        }
    }
}
