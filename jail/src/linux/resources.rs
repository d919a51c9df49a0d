//! Resource bounds of a jailed program: limits the kernel keeps per process (`setrlimit`
//! in the forked child, before `exec`), and a census of the helper's descendants for the
//! bound on the whole jail's tasks.
//!
//! # Why the task count is a census and not `RLIMIT_NPROC`
//!
//! `RLIMIT_NPROC` counts every task of the real user, not of the jail: it would have to be
//! set to "what the user runs now, plus the jail's budget", a number read once and then
//! wrong as the user's other programs (a browser's thousands of threads, cargo's other
//! jobs and their jails) start and end: too low fails a real build with `EAGAIN`, too high
//! bounds nothing. And the kernel does not apply it to root at all (the usual user in
//! containers and CI), capabilities dropped or not. The helper is a child subreaper, so
//! every descendant, a daemonized one included, is in its tree: counting that tree is
//! exact, works for every user, and costs a few `/proc` reads per count. The price is
//! time: the count is taken every [`CENSUS_INTERVAL`], so a fork burst passes the bound by
//! what it forks in between (measured: a few hundred tasks) before it is killed whole. A
//! delegated cgroup's `pids.max`, where one exists, or counting `clone` in a seccomp
//! supervisor would make the bound exact.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use crate::spawn::Exceeded;
use crate::spec::Resources;

/// How often the tasks are counted when they are bounded: a fork bomb is stopped within a
/// few hundred tasks of its bound, while a count of a compiler's handful of processes
/// (a few `/proc` reads, every 20 ms) costs nothing measurable.
pub(crate) const CENSUS_INTERVAL: Duration = Duration::from_millis(20);

/// In the forked child, before `exec`: applies the per-process bounds, soft and hard
/// alike, so that the program cannot raise them again (it has no `CAP_SYS_RESOURCE`
/// once capabilities are dropped). A bound above the helper's own hard limit keeps the
/// lower one. Core dumps are always off.
pub(crate) fn apply(resources: &Resources) -> Result<(), String> {
    set(libc::RLIMIT_CORE, "core file size", Some(0))?;
    set(libc::RLIMIT_AS, "address space", resources.address_space)?;
    set(libc::RLIMIT_FSIZE, "file size", resources.file_size)
}

fn set(resource: libc::__rlimit_resource_t, name: &str, bound: Option<u64>) -> Result<(), String> {
    let Some(bound) = bound else {
        return Ok(());
    };
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads this process's limit into a struct we own.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(format!(
            "failed to read the {name} limit: {}",
            io::Error::last_os_error()
        ));
    }
    let bound = bound.min(current.rlim_max);
    let limit = libc::rlimit {
        rlim_cur: bound,
        rlim_max: bound,
    };
    // SAFETY: sets this process's limit from a struct we own.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(format!(
            "failed to limit the {name} to {bound} bytes: {}",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Counts the helper's descendants while the program runs, when their number is bounded.
pub(crate) struct Census {
    limit: Option<u32>,
    next: Instant,
}

impl Census {
    pub(crate) fn new(limit: Option<u32>) -> Self {
        Census {
            limit,
            next: Instant::now() + CENSUS_INTERVAL,
        }
    }

    /// `timeout` (milliseconds for `poll`, -1 for none), shortened to the next count.
    pub(crate) fn timeout(&self, timeout: i32) -> i32 {
        if self.limit.is_none() {
            return timeout;
        }
        let due = self.next.saturating_duration_since(Instant::now());
        let due = i32::try_from(due.as_millis()).unwrap_or(i32::MAX);
        if timeout < 0 { due } else { timeout.min(due) }
    }

    /// Counts when a count is due, and says whether the bound is exceeded. A count that
    /// fails is a bound that cannot be held: the program must be stopped too.
    pub(crate) fn check(&mut self) -> Option<Exceeded> {
        let limit = self.limit?;
        let now = Instant::now();
        if now < self.next {
            return None;
        }
        self.next = now + CENSUS_INTERVAL;
        // SAFETY: plain syscall.
        let me = unsafe { libc::getpid() };
        match count_descendant_tasks(me, limit) {
            Ok(counted) if counted > limit => Some(Exceeded::Processes { limit, counted }),
            Ok(_) => None,
            Err(err) => Some(Exceeded::Uncounted {
                limit,
                why: err.to_string(),
            }),
        }
    }
}

/// The tasks (processes and their threads) below `root`, counted until `limit` is passed.
/// A process that ends while it is counted is not an error; `/proc` that cannot be read
/// is.
pub(crate) fn count_descendant_tasks(root: libc::pid_t, limit: u32) -> io::Result<u32> {
    if std::fs::metadata(format!("/proc/{root}/task/{root}/children")).is_err() {
        return count_by_parents(root);
    }
    let mut queue = Vec::new();
    tasks_of(root, &mut queue)?;
    let mut counted: u32 = 0;
    while let Some(pid) = queue.pop() {
        counted = counted.saturating_add(tasks_of(pid, &mut queue)?);
        if counted > limit {
            break;
        }
    }
    Ok(counted)
}

/// The number of tasks of `pid` (0 if it ended), adding the children of each to `queue`.
fn tasks_of(pid: libc::pid_t, queue: &mut Vec<libc::pid_t>) -> io::Result<u32> {
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks,
        Err(err) if vanished(&err) => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut counted: u32 = 0;
    for task in tasks {
        let task = match task {
            Ok(task) => task,
            Err(err) if vanished(&err) => break,
            Err(err) => return Err(err),
        };
        counted = counted.saturating_add(1);
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(children) => queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|child| child.parse::<libc::pid_t>().ok()),
            ),
            Err(err) if vanished(&err) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(counted)
}

/// [`count_descendant_tasks`] on kernels without `CONFIG_PROC_CHILDREN`: every process's
/// parent and thread count, from its `/proc/<pid>/stat`.
fn count_by_parents(root: libc::pid_t) -> io::Result<u32> {
    let mut children: HashMap<libc::pid_t, Vec<(libc::pid_t, u32)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let stat = match std::fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            Err(err) if vanished(&err) => continue,
            Err(err) => return Err(err),
        };
        // `pid (comm) state ppid ...`, `comm` may hold anything: fields count from the
        // last `)`. The parent is the 2nd field after it, the thread count the 18th.
        let fields: Vec<&str> = stat
            .rfind(')')
            .map(|end| stat[end + 1..].split_whitespace().collect())
            .unwrap_or_default();
        let parent = fields.get(1).and_then(|field| field.parse().ok());
        let threads = fields.get(17).and_then(|field| field.parse().ok());
        if let (Some(parent), Some(threads)) = (parent, threads) {
            children.entry(parent).or_default().push((pid, threads));
        }
    }
    let mut counted: u32 = 0;
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for (child, threads) in children.get(&pid).into_iter().flatten() {
            counted = counted.saturating_add(*threads);
            queue.push(*child);
        }
    }
    Ok(counted)
}

/// Whether an error reading a process's `/proc` entry means it ended meanwhile.
fn vanished(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests run programs and read the environment as they need"
)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt as _;

    #[test]
    fn a_count_finds_children_grandchildren_and_their_threads() {
        // Our own process: this test's threads are not descendants, so it counts only
        // what we start.
        // SAFETY: plain syscall.
        let me = unsafe { libc::getpid() };
        let before = count_descendant_tasks(me, u32::MAX).unwrap();
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut counted = before;
        while counted < before + 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            counted = count_descendant_tasks(me, u32::MAX).unwrap();
        }
        let by_parents = count_by_parents(me).unwrap();
        // SAFETY: kills the process group of the shell we started.
        unsafe { libc::kill(-(shell.id() as libc::pid_t), libc::SIGKILL) };
        shell.wait().unwrap();
        assert_eq!(counted, before + 3, "sh and its two sleeps");
        assert!(by_parents >= 3, "without children files too: {by_parents}");
        assert!(count_descendant_tasks(me, 0).is_ok());
    }
}
