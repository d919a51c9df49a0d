//! Leaving nothing behind when a run is cut short: Ctrl-C (the terminal signals cargo and
//! every stand-in in its process group), a CI job's `SIGTERM`, a hang stopped by the
//! watchdog. Destructors do not run then, so the temporary directories a run made (the
//! script's, the sandbox's empty root) are registered here and removed on the way out,
//! and the programs the script started, which live in sessions of their own and never
//! see the terminal's signal, are stopped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLERS: Once = Once::new();
/// The write end of the pipe the signal handler wakes the cleaning thread through.
static WAKE: AtomicI32 = AtomicI32::new(-1);

fn temporary() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes `dir` (recursively) if the process exits early. The list only grows: a
/// process runs one build script, whose directories live as long as it does.
pub fn remove_on_exit(dir: &Path) {
    install_handlers();
    temporary().push(dir.to_path_buf());
}

/// Stops the programs still running, removes the registered directories and exits with
/// `status`.
pub fn exit_now(status: i32) -> ! {
    crate::child::kill_all();
    for dir in temporary().iter() {
        let _ = std::fs::remove_dir_all(dir);
    }
    std::process::exit(status)
}

/// `SIGINT`, `SIGTERM` and `SIGHUP` end the process through [`exit_now`] with the
/// shell's status for the signal (`128 + n`). The handler only writes the signal's
/// number to a pipe (what a handler may do); a thread reads it and cleans up. A handler,
/// unlike an ignored signal, is reset for the programs the process starts.
fn install_handlers() {
    HANDLERS.call_once(|| {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        let [read_end, write_end] = fds;
        WAKE.store(write_end, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("wasm-build-interrupt".into())
            .spawn(move || {
                let mut signal = [0u8; 1];
                // SAFETY: reads one byte into `signal` from the pipe this thread owns.
                let read = unsafe { libc::read(read_end, signal.as_mut_ptr().cast(), 1) };
                if read == 1 {
                    exit_now(128 + i32::from(signal[0]));
                }
            });
        if spawned.is_err() {
            return;
        }
        handle(&STOPPING, on_signal);
    });
}

/// The signals that stop a build: Ctrl-C, a job's timeout, a closed terminal.
pub const STOPPING: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Makes `handler` handle each of `signals`. It must do only what is async-signal-safe
/// (`write`, `kill`, lock-free atomics). A handler, unlike an ignored signal, is reset for
/// the programs the process starts.
pub fn handle(signals: &[libc::c_int], handler: extern "C" fn(libc::c_int)) {
    for &signal in signals {
        // SAFETY: the `sigaction` is zeroed and then filled with valid values; what the
        // handler may do is its caller's promise.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    let byte = u8::try_from(signal).unwrap_or(u8::MAX);
    // SAFETY: `write` and a lock-free atomic load are async-signal-safe; `WAKE` was set
    // before the handler was installed.
    unsafe {
        let _ = libc::write(
            WAKE.load(Ordering::SeqCst),
            std::ptr::from_ref(&byte).cast(),
            1,
        );
    }
}
