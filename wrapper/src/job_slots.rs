//! Job slots for compiling several build-dependencies for the guest at once.
//!
//! Cargo lets this process run one job (the build-script compile it started). Twins that do
//! not depend on each other are compiled on threads, each holding a slot while its rustc
//! runs: the one cargo gave, or a token from cargo's jobserver. So `-j` is respected, and
//! a script whose build-dependencies are many no longer compiles them one after another
//! while cores are idle.
//!
//! A thread holds a slot only while rustc runs, never while it waits for another twin or
//! a lock: slots held are always making progress, and the build cannot deadlock.

use std::sync::{Condvar, Mutex};

/// The slots this process may use.
pub(crate) struct JobSlots {
    jobserver: Option<jobserver::Client>,
    /// Whether the slot cargo gave this process is free.
    own_free: Mutex<bool>,
    own_freed: Condvar,
}

/// A slot, held until dropped.
pub(crate) enum Slot<'a> {
    /// The slot cargo gave this process.
    Own(&'a JobSlots),
    /// A token from cargo's jobserver (released on drop).
    Token(#[allow(dead_code, reason = "held for its drop")] jobserver::Acquired),
}

impl JobSlots {
    /// The slots of a process started by cargo: its own, and cargo's jobserver when the
    /// environment names one.
    pub(crate) fn from_env() -> Self {
        // SAFETY: the jobserver's descriptors come from cargo, which keeps them open for
        // its rustc processes; `check_pipe` verifies they are the pipe or fifo the
        // environment names before they are used, so a stale variable cannot make this
        // process read or write an unrelated descriptor.
        let jobserver = unsafe { jobserver::Client::from_env_ext(true) }.client.ok();
        JobSlots::new(jobserver)
    }

    fn new(jobserver: Option<jobserver::Client>) -> Self {
        JobSlots {
            jobserver,
            own_free: Mutex::new(true),
            own_freed: Condvar::new(),
        }
    }

    /// Waits for a slot: this process's own when it is free, else a jobserver token (or,
    /// without a jobserver, the own slot once it is freed).
    pub(crate) fn acquire(&self) -> Slot<'_> {
        if self.take_own() {
            return Slot::Own(self);
        }
        if let Some(token) = self.jobserver.as_ref().and_then(|js| js.acquire().ok()) {
            return Slot::Token(token);
        }
        let mut free = self.own_free.lock().unwrap_or_else(|p| p.into_inner());
        while !*free {
            free = self.own_freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free = false;
        Slot::Own(self)
    }

    fn take_own(&self) -> bool {
        let mut free = self.own_free.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *free, false)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Slot::Own(slots) = self {
            *slots.own_free.lock().unwrap_or_else(|p| p.into_inner()) = true;
            slots.own_freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Runs 8 jobs on 8 threads and returns the most that held a slot at once.
    fn most_at_once(slots: &JobSlots) -> usize {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let _slot = slots.acquire();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        most.into_inner()
    }

    #[test]
    fn without_a_jobserver_one_job_runs_at_a_time() {
        assert_eq!(most_at_once(&JobSlots::new(None)), 1);
    }

    #[test]
    fn a_jobserver_s_tokens_add_to_the_own_slot() {
        let client = jobserver::Client::new(2).unwrap();
        assert_eq!(most_at_once(&JobSlots::new(Some(client))), 3);
    }
}
