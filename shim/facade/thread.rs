//! `std::thread` for a sandbox that has exactly one thread.
//!
//! wasm32-wasip1 has no threads, so std's `spawn` panics and `Builder::spawn` fails. Build
//! scripts start threads for two reasons: a deeper stack for a recursive generator, and
//! splitting work they then join. Both only need the closure to have *run* by the time
//! its result is wanted. So a spawned thread here is a deferred task that runs to
//! completion on the one wasm thread when something waits for it: `join`, `is_finished`,
//! the end of its `thread::scope`, or a receive on an empty channel (`sync::mpsc`), in
//! the order the threads were spawned. A thread that sends its results over a channel
//! the main thread reads, or reads what the main thread sent before joining it, works.
//!
//! What cannot work this way is a thread that waits for its spawner or for a thread run
//! later (a pool worker waiting for jobs): that is a deadlock here, and it panics with a
//! message that says so rather than spinning until the CPU limit stops the script.
//!
//! `Builder::spawn` without a stack size keeps std's `Unsupported` error: it is the one
//! spawn whose caller can handle failure, and thread pools with a single-thread mode
//! (rayon's global pool) take `Unsupported` as the signal to run jobs on the calling
//! thread, which works, where their workers, deferred, would wait for jobs forever.
//! A stack size is how a build script asks for a thread to run a deep generator on.
//!
//! Thread-local storage and `thread::current()` are the main thread's for every task.

pub use std::thread::*;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A thread's closure with its lifetime erased (see [`Task::new`]).
type Body = Box<dyn FnOnce() + Send + 'static>;

/// Threads spawned and not yet run, oldest first.
static PENDING: Mutex<VecDeque<Arc<Task>>> = Mutex::new(VecDeque::new());

/// A spawned thread: pending while it has a body, running once the body is taken, then
/// finished.
struct Task {
    body: Mutex<Option<Body>>,
    finished: AtomicBool,
}

impl Task {
    /// A pending task for `body`, queued to run when something waits.
    ///
    /// # Safety
    /// `body` must be run before anything it borrows ends: `scope` runs its threads before
    /// it returns, `Builder::spawn_unchecked`'s caller promises it (std's own contract),
    /// and `'static` bodies borrow nothing.
    unsafe fn spawn<'a>(body: Box<dyn FnOnce() + Send + 'a>) -> Arc<Task> {
        // SAFETY: see the function's contract; only the lifetime changes.
        let body: Body = unsafe { std::mem::transmute(body) };
        let task = Arc::new(Task {
            body: Mutex::new(Some(body)),
            finished: AtomicBool::new(false),
        });
        lock(&PENDING).push_back(Arc::clone(&task));
        task
    }

    /// Runs the task if it has not run. Returns whether it has finished: `false` means it
    /// is running further down this very stack, so whoever asks waits for themselves.
    fn finish(&self) -> bool {
        let body = lock(&self.body).take();
        if let Some(body) = body {
            body();
            self.finished.store(true, Ordering::Release);
        }
        self.finished.load(Ordering::Acquire)
    }
}

/// Runs the oldest pending thread. Returns whether one ran: if none did, nothing that
/// is waiting now can ever be satisfied.
pub(crate) fn run_pending() -> bool {
    loop {
        let Some(task) = lock(&PENDING).pop_front() else {
            return false;
        };
        let pending = lock(&task.body).is_some();
        if pending {
            task.finish();
            return true;
        }
    }
}

/// Lets pending threads run for something the caller waits on (`what`), or panics: with
/// nothing left to run, the wait could never end.
#[track_caller]
pub(crate) fn wait_for(what: &str) {
    if !run_pending() {
        deadlock(what);
    }
}

#[track_caller]
fn deadlock(what: &str) -> ! {
    panic!(
        "this build script waits for {what}, which no thread can provide: in the cargo \
         wasm-build sandbox a script's threads run one at a time, each to completion when \
         something waits for it, so a thread cannot wait for the thread that spawned it or \
         for one that has not run yet (see cargo wasm-build's docs/crate-authors.md#threads)"
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A spawned thread's handle; the thread runs when it is joined (or earlier, when
/// something else waits).
pub struct JoinHandle<T> {
    task: Arc<Task>,
    result: Arc<Mutex<Option<T>>>,
    thread: Thread,
}

// SAFETY: as std's JoinHandle; there is one thread, and the result only moves to the
// joiner.
unsafe impl<T> Send for JoinHandle<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Runs the thread if it has not run, and returns what it returned. A panicking thread
    /// ends the build script (wasm32-wasip1 aborts on panic), so this never returns `Err`.
    #[track_caller]
    pub fn join(self) -> Result<T> {
        if !self.task.finish() {
            deadlock("a thread it is itself running inside");
        }
        match lock(&self.result).take() {
            Some(value) => Ok(value),
            None => deadlock("a thread that has not returned"),
        }
    }

    /// The thread's handle (the main thread's: tasks run on it).
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Runs the thread if it has not run, so a loop polling this ends.
    pub fn is_finished(&self) -> bool {
        self.task.finish()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

/// The host's, as natively (std's answer on wasm32-wasip1 is an error, and scripts that
/// size `make -j` by it would build with one job). Threads still run one at a time.
pub fn available_parallelism() -> io::Result<std::num::NonZeroUsize> {
    std::num::NonZeroUsize::new(crate::host::available_parallelism() as usize).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "the host cannot tell its available parallelism",
        )
    })
}

/// Spawns a thread that runs when it is joined or waited for (see the module's docs).
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: `'static` closures borrow nothing.
    unsafe { defer(f) }
}

/// # Safety
/// As [`Task::spawn`]: the closure runs before anything it borrows ends.
unsafe fn defer<'a, F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let result = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&result);
    let body: Box<dyn FnOnce() + Send + 'a> = Box::new(move || {
        let value = f();
        *lock(&slot) = Some(value);
    });
    JoinHandle {
        // SAFETY: passed on from the caller.
        task: unsafe { Task::spawn(body) },
        result,
        thread: current(),
    }
}

/// std's thread builder; see the module's docs for when `spawn` reports `Unsupported`.
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Kept for `Debug`; tasks run as the main thread, which keeps its own name.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// Asks for a thread to run a deep computation on; the sandbox gives every build
    /// script a stack as large as the largest a thread may ask for.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.check_deferrable()?;
        // SAFETY: `'static` closures borrow nothing.
        Ok(unsafe { defer(f) })
    }

    /// # Safety
    /// As std's: the thread must not outlive what the closure borrows.
    pub unsafe fn spawn_unchecked<'a, F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        self.check_deferrable()?;
        // SAFETY: the caller's promise is the one `defer` needs.
        Ok(unsafe { defer(f) })
    }

    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Ok(scope.spawn(f))
    }

    /// A thread without a stack size may be a pool's worker, which cannot be deferred; the
    /// error is the one wasm32-wasip1's std gives, so pools fall back as they would there.
    fn check_deferrable(&self) -> io::Result<()> {
        if self.stack_size.is_some() {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the cargo wasm-build sandbox runs a build script on one thread: \
             `thread::Builder::spawn` needs a `stack_size` to run the thread when it is \
             joined (`thread::spawn` and `thread::scope` need nothing; see cargo wasm-build's \
             docs/crate-authors.md#threads)",
        ))
    }
}

/// Runs `f`, then every thread spawned in the scope that has not run yet, in order.
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        tasks: Mutex::new(Vec::new()),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = f(&scope);
    scope.finish_all();
    result
}

/// The scope `thread::scope` hands its closure; its threads end before `scope` returns.
pub struct Scope<'scope, 'env: 'scope> {
    tasks: Mutex<Vec<Arc<Task>>>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // SAFETY: `scope` runs every task of the scope before `'scope` ends.
        let handle = unsafe { defer(f) };
        lock(&self.tasks).push(Arc::clone(&handle.task));
        ScopedJoinHandle {
            handle,
            scope: PhantomData,
        }
    }

    /// Runs the scope's threads, including those spawned while this runs.
    fn finish_all(&self) {
        let mut next = 0;
        loop {
            let task = lock(&self.tasks).get(next).cloned();
            let Some(task) = task else { return };
            if !task.finish() {
                deadlock("a scoped thread it is itself running inside");
            }
            next += 1;
        }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// A scoped thread's handle.
pub struct ScopedJoinHandle<'scope, T> {
    handle: JoinHandle<T>,
    scope: PhantomData<&'scope ()>,
}

impl<T> ScopedJoinHandle<'_, T> {
    #[track_caller]
    pub fn join(self) -> Result<T> {
        self.handle.join()
    }

    pub fn thread(&self) -> &Thread {
        self.handle.thread()
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle").finish_non_exhaustive()
    }
}
