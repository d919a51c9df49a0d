//! The seccomp filter: the system calls a jailed program may make at all. Default deny.
//!
//! An allow list, kept the way Docker's and Chromium's profiles are: what compilers,
//! linkers, archivers, `make`, shells, configure scripts, `pkg-config`, `cmake`, `perl` and
//! `python` call (traced on the compatibility suite's crates, see the RFC), and nothing
//! else. A call that is not on it fails with `ENOSYS`, as on a kernel that lacks it, so
//! libc falls back and a call added to a later kernel is refused until it is judged.
//! Calls that are dangerous in themselves fail with `EPERM` ("not permitted", as in a
//! container). Another system-call ABI (32-bit `int 0x80`, x32) kills the process: a
//! filter that only knows x86_64 numbers could be bypassed through those tables.
//!
//! Some calls are allowed only with some arguments (a socket family, `clone` without
//! namespaces, limits and priorities of the caller only). Calls whose judgement needs
//! more than their arguments (a path, a descriptor) go to the helper's supervisor through
//! a seccomp user notification (see [`super::supervisor`]): the metadata family (`chmod`,
//! `chown`, `utime*`), which Landlock does not gate, and executable mappings of files,
//! which the dynamic loader makes.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::spec::Network;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

/// System-call numbers the libc crate does not name yet (one table for every
/// architecture from 424 on).
const SYS_CACHESTAT: i64 = 451;
const SYS_MAP_SHADOW_STACK: i64 = 453;
const SYS_FUTEX_WAKE: i64 = 454;
const SYS_FUTEX_WAIT: i64 = 455;
const SYS_FUTEX_REQUEUE: i64 = 456;

/// `memfd_create` flag: the file can never be made executable (Linux 6.3).
const MFD_NOEXEC_SEAL: u32 = 0x0008;

/// The bits of `socket(2)`'s type that name the type (the rest are `SOCK_NONBLOCK` and
/// `SOCK_CLOEXEC`).
const SOCK_TYPE_MASK: u32 = 0xf;

/// `send*(2)` flag: connect and send in one call (TCP Fast Open).
const MSG_FASTOPEN: u32 = 0x2000_0000;

/// What the filter answers for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Allow,
    Errno(i32),
    /// Ask the helper's supervisor.
    Notify,
    Kill,
}

impl Action {
    fn ret(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::Errno(errno) => libc::SECCOMP_RET_ERRNO | (errno as u32 & 0xffff),
            Action::Notify => libc::SECCOMP_RET_USER_NOTIF,
            Action::Kill => libc::SECCOMP_RET_KILL_PROCESS,
        }
    }
}

const REFUSED: Action = Action::Errno(libc::EPERM);

/// One test of an argument's low 32 bits (every argument judged here is a C `int` or
/// `unsigned int`, which the kernel reads from the low half too).
#[derive(Debug, Clone, Copy)]
enum Test {
    Eq(u32),
    /// Any of these bits set.
    AnyBit(u32),
    /// `arg & mask == value`.
    Masked(u32, u32),
}

/// A call's judgement: checks in order, the first whose tests all hold answers, else
/// `otherwise`.
#[derive(Debug, Clone)]
struct Rule {
    checks: Vec<(Vec<(u8, Test)>, Action)>,
    otherwise: Action,
}

impl Rule {
    fn always(action: Action) -> Self {
        Rule {
            checks: Vec::new(),
            otherwise: action,
        }
    }

    fn when(self, arg: u8, test: Test, action: Action) -> Self {
        self.when_all(&[(arg, test)], action)
    }

    /// Answers `action` when every test holds.
    fn when_all(mut self, tests: &[(u8, Test)], action: Action) -> Self {
        self.checks.push((tests.to_vec(), action));
        self
    }
}

/// Calls a build needs, with no argument worth judging: Landlock judges their paths,
/// the socket rule their sockets, the kernel's own permission checks the rest.
const ALLOWED: &[i64] = &[
    // Files and directories (paths are Landlock's).
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_preadv,
    libc::SYS_pwritev,
    libc::SYS_preadv2,
    libc::SYS_pwritev2,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_lseek,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_statfs,
    libc::SYS_fstatfs,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlinkat,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_mkdirat,
    libc::SYS_mknodat,
    libc::SYS_unlinkat,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_linkat,
    libc::SYS_symlinkat,
    libc::SYS_ftruncate,
    libc::SYS_fallocate,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_sync,
    libc::SYS_syncfs,
    libc::SYS_sync_file_range,
    libc::SYS_fadvise64,
    libc::SYS_readahead,
    libc::SYS_flock,
    libc::SYS_fcntl,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_pipe2,
    libc::SYS_umask,
    libc::SYS_copy_file_range,
    libc::SYS_sendfile,
    libc::SYS_splice,
    libc::SYS_tee,
    libc::SYS_vmsplice,
    libc::SYS_getxattr,
    libc::SYS_lgetxattr,
    libc::SYS_fgetxattr,
    libc::SYS_listxattr,
    libc::SYS_llistxattr,
    libc::SYS_flistxattr,
    SYS_CACHESTAT,
    // Memory (executable mappings are judged below).
    libc::SYS_brk,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_mincore,
    libc::SYS_msync,
    libc::SYS_mlock,
    libc::SYS_mlock2,
    libc::SYS_munlock,
    libc::SYS_mlockall,
    libc::SYS_munlockall,
    libc::SYS_membarrier,
    libc::SYS_pkey_alloc,
    libc::SYS_pkey_free,
    libc::SYS_mseal,
    SYS_MAP_SHADOW_STACK,
    // Processes and threads (namespaces are judged below; signals are scoped by
    // Landlock or a PID namespace).
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_kill,
    libc::SYS_tkill,
    libc::SYS_tgkill,
    libc::SYS_rt_sigqueueinfo,
    libc::SYS_rt_tgsigqueueinfo,
    libc::SYS_pidfd_open,
    libc::SYS_pidfd_send_signal,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_get_robust_list,
    libc::SYS_rseq,
    libc::SYS_futex,
    libc::SYS_futex_waitv,
    SYS_FUTEX_WAKE,
    SYS_FUTEX_WAIT,
    SYS_FUTEX_REQUEUE,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_getparam,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_getattr,
    libc::SYS_sched_get_priority_max,
    libc::SYS_sched_get_priority_min,
    libc::SYS_sched_rr_get_interval,
    libc::SYS_getpriority,
    libc::SYS_ioprio_get,
    libc::SYS_getrlimit,
    libc::SYS_setrlimit,
    libc::SYS_getrusage,
    libc::SYS_times,
    libc::SYS_getpid,
    libc::SYS_getppid,
    libc::SYS_gettid,
    libc::SYS_getpgid,
    libc::SYS_setpgid,
    libc::SYS_getsid,
    libc::SYS_setsid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getresuid,
    libc::SYS_getresgid,
    libc::SYS_getgroups,
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setreuid,
    libc::SYS_setregid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setfsuid,
    libc::SYS_setfsgid,
    libc::SYS_setgroups,
    libc::SYS_capget,
    libc::SYS_capset,
    libc::SYS_prctl,
    libc::SYS_seccomp,
    libc::SYS_landlock_create_ruleset,
    libc::SYS_landlock_add_rule,
    libc::SYS_landlock_restrict_self,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_getcpu,
    libc::SYS_getrandom,
    // Signals and time.
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigpending,
    libc::SYS_rt_sigsuspend,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_getitimer,
    libc::SYS_setitimer,
    libc::SYS_timer_create,
    libc::SYS_timer_settime,
    libc::SYS_timer_gettime,
    libc::SYS_timer_getoverrun,
    libc::SYS_timer_delete,
    libc::SYS_timerfd_create,
    libc::SYS_timerfd_settime,
    libc::SYS_timerfd_gettime,
    // Waiting on descriptors.
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_eventfd2,
    libc::SYS_signalfd4,
    // Sockets a program holds (creating one is judged below).
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_shutdown,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
];

/// The older x86_64 calls the generic table replaced with `*at` forms.
#[cfg(target_arch = "x86_64")]
const ALLOWED_LEGACY: &[i64] = &[
    libc::SYS_open,
    libc::SYS_creat,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_access,
    libc::SYS_readlink,
    libc::SYS_getdents,
    libc::SYS_mkdir,
    libc::SYS_rmdir,
    libc::SYS_mknod,
    libc::SYS_unlink,
    libc::SYS_rename,
    libc::SYS_link,
    libc::SYS_symlink,
    libc::SYS_truncate,
    libc::SYS_dup2,
    libc::SYS_pipe,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_epoll_create,
    libc::SYS_epoll_wait,
    libc::SYS_eventfd,
    libc::SYS_signalfd,
    libc::SYS_fork,
    libc::SYS_vfork,
    libc::SYS_getpgrp,
    libc::SYS_alarm,
    libc::SYS_pause,
    libc::SYS_time,
    libc::SYS_arch_prctl,
    libc::SYS_set_thread_area,
    libc::SYS_get_thread_area,
];
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_LEGACY: &[i64] = &[];

/// Calls whose target the supervisor judges (Landlock has no right for them): it
/// performs them itself on a handle beneath a writable directory, or refuses.
const METADATA: &[i64] = &[
    libc::SYS_fchmod,
    libc::SYS_fchmodat,
    libc::SYS_fchmodat2,
    libc::SYS_fchown,
    libc::SYS_fchownat,
    libc::SYS_utimensat,
];
#[cfg(target_arch = "x86_64")]
const METADATA_LEGACY: &[i64] = &[
    libc::SYS_chmod,
    libc::SYS_chown,
    libc::SYS_lchown,
    libc::SYS_utime,
    libc::SYS_utimes,
    libc::SYS_futimesat,
];
#[cfg(not(target_arch = "x86_64"))]
const METADATA_LEGACY: &[i64] = &[];

/// Writing extended attributes, metadata Landlock does not gate: answered "not
/// supported", as by a file system without them, which programs handle (coreutils' `cp -p`
/// and `install` then set the mode with `fchmod`, which the supervisor judges).
const XATTR_WRITES: &[i64] = &[
    libc::SYS_setxattr,
    libc::SYS_lsetxattr,
    libc::SYS_fsetxattr,
    libc::SYS_removexattr,
    libc::SYS_lremovexattr,
    libc::SYS_fremovexattr,
];

/// Refused outright: other processes, the kernel's own interfaces, and what reaches
/// outside through no path Landlock sees.
const REFUSED_CALLS: &[i64] = &[
    // IPC outside the jail: SysV shared memory, semaphores and queues, POSIX queues
    // (no IPC namespace keeps other processes' out of reach).
    libc::SYS_shmget,
    libc::SYS_shmat,
    libc::SYS_shmctl,
    libc::SYS_shmdt,
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
    libc::SYS_process_madvise,
    libc::SYS_process_mrelease,
    libc::SYS_migrate_pages,
    libc::SYS_move_pages,
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
    // Watching files outside the jail tells when the user reads them.
    libc::SYS_inotify_init1,
    libc::SYS_inotify_add_watch,
    libc::SYS_inotify_rm_watch,
    libc::SYS_fanotify_init,
    libc::SYS_fanotify_mark,
    // Kernel interfaces a build never needs.
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
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
    libc::SYS_memfd_secret,
];
#[cfg(target_arch = "x86_64")]
const REFUSED_LEGACY: &[i64] = &[
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_uselib,
    libc::SYS_inotify_init,
];
#[cfg(not(target_arch = "x86_64"))]
const REFUSED_LEGACY: &[i64] = &[];

/// Namespace flags of `clone(2)`'s first argument. `CLONE_NEWTIME` shares its bit with the
/// exit signal there, so it is refused through `unshare` and `clone3` only.
const CLONE_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// Personalities a program may take (Docker's list): Linux, 32-bit addresses and the
/// query. Never `READ_IMPLIES_EXEC`, which would make every readable mapping executable.
const PERSONALITIES: [u32; 5] = [0, 0x0008, 0x0002_0000, 0x0002_0008, 0xffff_ffff];

/// The rules for every call the filter knows, in the order it tests them (the hottest
/// judged calls first).
fn rules(network: Network, landlock_abi: u8) -> Vec<(i64, Rule)> {
    let mut rules = vec![
        // Executable mappings of files: the dynamic loader's, or a written file's.
        (
            libc::SYS_mmap,
            Rule::always(Action::Notify)
                .when(2, Test::Masked(libc::PROT_EXEC as u32, 0), Action::Allow)
                .when(3, Test::AnyBit(libc::MAP_ANONYMOUS as u32), Action::Allow)
                .when(4, Test::Eq(u32::MAX), Action::Allow),
        ),
        (libc::SYS_mprotect, exec_protection(2)),
        (libc::SYS_pkey_mprotect, exec_protection(2)),
        (libc::SYS_clone, {
            // New namespaces through clone (clone3 falls back to clone, see below).
            Rule::always(Action::Allow).when(0, Test::AnyBit(CLONE_NAMESPACES), REFUSED)
        }),
        (libc::SYS_clone3, Rule::always(Action::Errno(libc::ENOSYS))),
        (libc::SYS_ioctl, {
            // Typing into the terminal of whoever started the build. The request is a
            // 32-bit value whatever libc's type for it.
            Rule::always(Action::Allow)
                .when(1, Test::Eq(libc::TIOCSTI as u32), REFUSED)
                .when(1, Test::Eq(libc::TIOCLINUX as u32), REFUSED)
        }),
        (libc::SYS_socket, socket(network)),
        (libc::SYS_socketpair, {
            // A connected pair of Unix sockets reaches nothing outside.
            Rule::always(REFUSED).when(0, Test::Eq(libc::AF_UNIX as u32), Action::Allow)
        }),
        // Limits, priorities and placement of the caller only (0), never of another
        // process of the user's (the helper's own limits, other builds').
        (libc::SYS_prlimit64, self_only(0)),
        (libc::SYS_setpriority, self_only(1)),
        (libc::SYS_ioprio_set, self_only(1)),
        (libc::SYS_sched_setaffinity, self_only(0)),
        (libc::SYS_sched_setparam, self_only(0)),
        (libc::SYS_sched_setscheduler, self_only(0)),
        (libc::SYS_sched_setattr, self_only(0)),
        (libc::SYS_personality, {
            PERSONALITIES
                .iter()
                .fold(Rule::always(REFUSED), |rule, persona| {
                    rule.when(0, Test::Eq(*persona), Action::Allow)
                })
        }),
        (libc::SYS_memfd_create, {
            // An anonymous file that could be executed, or mapped executable, is code the
            // build wrote with no path for Landlock to judge.
            Rule::always(REFUSED).when(1, Test::AnyBit(MFD_NOEXEC_SEAL), Action::Allow)
        }),
        // io_uring's operations bypass per-call filtering; programs fall back.
        (
            libc::SYS_io_uring_setup,
            Rule::always(Action::Errno(libc::ENOSYS)),
        ),
    ];
    rules.extend(connections(network));
    let truncating_reads = landlock_abi < 3;
    rules.push((libc::SYS_openat, open_rule(2, truncating_reads)));
    #[cfg(target_arch = "x86_64")]
    rules.push((libc::SYS_open, open_rule(1, truncating_reads)));
    rules.push((
        libc::SYS_openat2,
        // Its flags sit behind a pointer: where Landlock cannot refuse truncation, say
        // the call does not exist so that libc uses openat.
        Rule::always(if truncating_reads {
            Action::Errno(libc::ENOSYS)
        } else {
            Action::Allow
        }),
    ));
    if truncating_reads {
        // Landlock before ABI 3 does not handle truncation: a file the program may only
        // read could be emptied with truncate(2).
        rules.push((libc::SYS_truncate, Rule::always(REFUSED)));
    }
    let known: Vec<i64> = rules.iter().map(|(call, _)| *call).collect();
    let simple = [
        (ALLOWED, Action::Allow),
        (ALLOWED_LEGACY, Action::Allow),
        (METADATA, Action::Notify),
        (METADATA_LEGACY, Action::Notify),
        (XATTR_WRITES, Action::Errno(libc::EOPNOTSUPP)),
        (REFUSED_CALLS, REFUSED),
        (REFUSED_LEGACY, REFUSED),
    ];
    for (calls, action) in simple {
        for call in calls {
            if !known.contains(call) {
                rules.push((*call, Rule::always(action)));
            }
        }
    }
    rules
}

fn exec_protection(arg: u8) -> Rule {
    Rule::always(Action::Allow).when(arg, Test::AnyBit(libc::PROT_EXEC as u32), Action::Notify)
}

fn self_only(arg: u8) -> Rule {
    Rule::always(REFUSED).when(arg, Test::Eq(0), Action::Allow)
}

fn socket(network: Network) -> Rule {
    match network {
        Network::None => Rule::always(REFUSED),
        // Plain TCP only: no UDP (DNS would leak names), no raw sockets, and no SCTP or
        // MPTCP, whose own ways of connecting (`sctp_connectx`) pass no `connect` call.
        Network::Proxy(_) => {
            let stream = (1, Test::Masked(SOCK_TYPE_MASK, libc::SOCK_STREAM as u32));
            let mut rule = Rule::always(REFUSED);
            for family in [libc::AF_INET, libc::AF_INET6] {
                for protocol in [0, libc::IPPROTO_TCP] {
                    let tests = [
                        (0, Test::Eq(family as u32)),
                        stream,
                        (2, Test::Eq(protocol as u32)),
                    ];
                    rule = rule.when_all(&tests, Action::Allow);
                }
            }
            rule
        }
    }
}

/// The rules for the calls that make or use connections, where the network is the proxy:
/// every `connect` is the supervisor's (which makes the one it allows itself), nothing
/// listens, and no data goes out with an address of its own (TCP Fast Open connects
/// from `sendto`/`sendmsg`). Without a network, no socket can be made to use them.
fn connections(network: Network) -> Vec<(i64, Rule)> {
    let fast_open =
        |flags: u8| Rule::always(Action::Allow).when(flags, Test::AnyBit(MSG_FASTOPEN), REFUSED);
    let mut rules = vec![
        (libc::SYS_sendto, fast_open(3)),
        (libc::SYS_sendmsg, fast_open(2)),
        (libc::SYS_sendmmsg, fast_open(3)),
    ];
    if let Network::Proxy(_) = network {
        rules.extend([
            (libc::SYS_connect, Rule::always(Action::Notify)),
            (libc::SYS_bind, Rule::always(REFUSED)),
            (libc::SYS_listen, Rule::always(REFUSED)),
        ]);
    }
    rules
}

/// `open`/`openat`: where Landlock cannot refuse truncation, `O_TRUNC` on a file opened
/// for reading only is refused.
fn open_rule(flags_arg: u8, truncating_reads: bool) -> Rule {
    let rule = Rule::always(Action::Allow);
    if !truncating_reads {
        return rule;
    }
    let mask = (libc::O_ACCMODE | libc::O_TRUNC) as u32;
    rule.when(flags_arg, Test::Masked(mask, libc::O_TRUNC as u32), REFUSED)
}

/// The BPF program of the filter for a program with `network`, under Landlock ABI
/// `landlock_abi` (below 3, truncation is refused here instead).
pub(crate) fn filter(network: Network, landlock_abi: u8) -> Vec<libc::sock_filter> {
    let mut program = abi_guard();
    for (call, rule) in rules(network, landlock_abi) {
        let block = judge(&rule);
        let skip = u8::try_from(block.len())
            .unwrap_or_else(|_| unreachable!("a rule's block is a few instructions"));
        program.push(jump(JEQ, call as u32, 0, skip));
        program.extend(block);
    }
    program.push(ret(Action::Errno(libc::ENOSYS)));
    program
}

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const ALU_AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
const NR: u32 = 0;
const ARCH_OFFSET: u32 = 4;
const ARGS_OFFSET: u32 = 16;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn ret(action: Action) -> libc::sock_filter {
    stmt(RET, action.ret())
}

/// Kills a process that uses another system-call ABI (32-bit or x32), and leaves the
/// call's number loaded.
fn abi_guard() -> Vec<libc::sock_filter> {
    const X32_BIT: u32 = 0x4000_0000;
    vec![
        stmt(LD_W_ABS, ARCH_OFFSET),
        jump(JEQ, AUDIT_ARCH, 1, 0),
        ret(Action::Kill),
        stmt(LD_W_ABS, NR),
        jump(JGE, X32_BIT, 0, 1),
        ret(Action::Kill),
    ]
}

/// The instructions that judge one call once its number matched. Every path through them
/// returns, so the number stays loaded for the next call's test when they are skipped.
fn judge(rule: &Rule) -> Vec<libc::sock_filter> {
    let mut block = Vec::new();
    for (tests, action) in &rule.checks {
        for (index, (arg, test)) in tests.iter().enumerate() {
            // A test that fails skips the rest of this check: the later tests and the
            // answer.
            let rest: usize = tests[index + 1..]
                .iter()
                .map(|(_, test)| test_length(*test))
                .sum::<usize>()
                + 1;
            let skip =
                u8::try_from(rest).unwrap_or_else(|_| unreachable!("a check has a few tests"));
            block.push(stmt(LD_W_ABS, ARGS_OFFSET + 8 * u32::from(*arg)));
            match *test {
                Test::Eq(value) => block.push(jump(JEQ, value, 0, skip)),
                Test::AnyBit(bits) => block.push(jump(JSET, bits, 0, skip)),
                Test::Masked(mask, value) => {
                    block.push(stmt(ALU_AND, mask));
                    block.push(jump(JEQ, value, 0, skip));
                }
            }
        }
        block.push(ret(*action));
    }
    block.push(ret(rule.otherwise));
    block
}

/// The instructions of one test: load the argument, (mask it,) jump.
fn test_length(test: Test) -> usize {
    match test {
        Test::Eq(_) | Test::AnyBit(_) => 2,
        Test::Masked(..) => 3,
    }
}

/// Installs `filter` on the calling thread (setting `no_new_privs` first) and returns the
/// descriptor on which its notifications arrive.
pub(crate) fn install(filter: &[libc::sock_filter]) -> Result<OwnedFd, String> {
    // SAFETY: plain prctl on this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "failed to set no_new_privs: {}",
            std::io::Error::last_os_error()
        ));
    }
    let program = libc::sock_fprog {
        len: u16::try_from(filter.len())
            .map_err(|_| "the seccomp filter is too long".to_string())?,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: the program points at `filter`, which outlives the call; the kernel copies it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &program,
        )
    };
    match i32::try_from(fd) {
        // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
        Ok(fd) if fd >= 0 => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => Err(format!(
            "failed to install the seccomp filter with a supervisor (user notification, \
             Linux 5.0): {}",
            std::io::Error::last_os_error()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_build_for_every_tier_within_the_kernels_bounds() {
        let proxy = Network::Proxy(([127, 0, 0, 1], 8080).into());
        for network in [Network::None, proxy] {
            for abi in 1..=6 {
                let program = filter(network, abi);
                // BPF_MAXINSNS.
                assert!(program.len() < 4096, "{}", program.len());
                assert_eq!(program.last().map(|last| last.k), {
                    Some(Action::Errno(libc::ENOSYS).ret())
                });
            }
        }
    }

    #[test]
    fn no_call_is_listed_twice_with_different_answers() {
        let mut seen = std::collections::BTreeMap::new();
        let lists = [
            ALLOWED,
            ALLOWED_LEGACY,
            METADATA,
            METADATA_LEGACY,
            XATTR_WRITES,
            REFUSED_CALLS,
            REFUSED_LEGACY,
        ];
        for (index, list) in lists.iter().enumerate() {
            for call in *list {
                if let Some(other) = seen.insert(*call, index) {
                    panic!("system call {call} is in lists {other} and {index}");
                }
            }
        }
    }
}
