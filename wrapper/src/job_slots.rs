//! Job slots for compiling several build-dependencies for the guest at once.
//!
//! Cargo lets this process run one job (the build-script compile it started). Twins that do
//! not depend on each other are compiled on threads, each holding a slot while its rustc
//! runs: the one cargo gave, or a token from cargo's jobserver. So `-j` is respected, and
//! a script whose build-dependencies are many no longer compiles them one after another
//! while cores are idle.
//!
//! Two rules keep parallel cargo jobs from deadlocking (each holds file locks on the twins
//! it is making while it waits for a slot):
//! - a thread holds a slot only while rustc runs, never while it waits for another twin or
//!   a lock, so every slot held is making progress;
//! - a waiting thread takes this process's own slot as soon as it is free, even while it
//!   also waits for a jobserver token. Blocking on the jobserver alone would wait for
//!   tokens held by other processes, which may be waiting for this one's locks (the first
//!   version did: two `cc` users on `-j2` stopped for good).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The slots this process may use.
pub(crate) struct JobSlots {
    shared: Arc<Shared>,
    /// Acquires jobserver tokens on request, off the waiting threads.
    helper: Option<jobserver::HelperThread>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The slot cargo gave this process is taken.
    own_taken: bool,
    /// Tokens that arrived for a waiting thread.
    tokens: Vec<jobserver::Acquired>,
    /// Threads waiting for a slot.
    waiting: usize,
    /// Tokens requested from the helper and not yet arrived.
    requested: usize,
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
        let shared = Arc::new(Shared::default());
        let arrived = Arc::clone(&shared);
        let helper = jobserver.and_then(|client| {
            client
                .into_helper_thread(move |token| arrived.token_arrived(token.ok()))
                .ok()
        });
        JobSlots { shared, helper }
    }

    /// Waits for a slot: this process's own or a jobserver token, whichever is free first.
    pub(crate) fn acquire(&self) -> Slot<'_> {
        let mut state = self.shared.lock();
        state.waiting += 1;
        loop {
            if !state.own_taken {
                state.own_taken = true;
                state.waiting -= 1;
                return Slot::Own(self);
            }
            if let Some(token) = state.tokens.pop() {
                state.waiting -= 1;
                return Slot::Token(token);
            }
            if let Some(helper) = &self.helper
                && state.requested < state.waiting
            {
                state.requested += 1;
                helper.request_token();
            }
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A requested token arrived (or could not be had). One nobody waits for any more
    /// is given back at once: holding it idle would starve other processes.
    fn token_arrived(&self, token: Option<jobserver::Acquired>) {
        let mut state = self.lock();
        state.requested = state.requested.saturating_sub(1);
        if let Some(token) = token
            && state.tokens.len() < state.waiting
        {
            state.tokens.push(token);
            self.changed.notify_all();
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Slot::Own(slots) = self {
            slots.shared.lock().own_taken = false;
            slots.shared.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Runs 8 jobs on 8 threads and returns the most that held a slot at once; fails if
    /// they do not all finish within a minute (a deadlock).
    fn most_at_once(slots: JobSlots) -> usize {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
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
            let _ = done.send(most.into_inner());
        });
        finished
            .recv_timeout(Duration::from_secs(60))
            .expect("every job got a slot")
    }

    #[test]
    fn without_a_jobserver_one_job_runs_at_a_time() {
        assert_eq!(most_at_once(JobSlots::new(None)), 1);
    }

    #[test]
    fn a_jobserver_s_tokens_add_to_the_own_slot() {
        let client = jobserver::Client::new(2).unwrap();
        assert_eq!(most_at_once(JobSlots::new(Some(client))), 3);
    }

    /// Every token is held elsewhere (by processes that may wait for this one): the own
    /// slot alone must serve every thread, one after another.
    #[test]
    fn an_empty_jobserver_never_keeps_threads_from_the_own_slot() {
        let client = jobserver::Client::new(1).unwrap();
        let elsewhere = client.acquire().unwrap();
        assert_eq!(most_at_once(JobSlots::new(Some(client))), 1);
        drop(elsewhere);
    }

    #[test]
    fn tokens_nobody_waits_for_go_back() {
        let client = jobserver::Client::new(1).unwrap();
        let slots = JobSlots::new(Some(client.clone()));
        let own = slots.acquire();
        let (got, token) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let slot = slots.acquire();
                let _ = got.send(matches!(slot, Slot::Token(_)));
            });
            assert!(token.recv_timeout(Duration::from_secs(60)).unwrap());
        });
        drop(own);
        // The token went back to the jobserver when the thread's slot was dropped.
        let again = client.acquire().unwrap();
        drop(again);
    }
}
