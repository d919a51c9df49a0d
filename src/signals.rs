//! The CLI outlives a Ctrl-C while cargo runs, so that it removes what it made (the
//! build's policy file, its run logs) and says nothing more once cargo has stopped. The
//! terminal signals the whole process group, so cargo and the stand-ins get the same
//! `SIGINT` and stop on their own; a `SIGTERM` or `SIGHUP` sent to the CLI alone (a CI
//! job's timeout) is passed on to cargo.

use std::process::{Child, ExitStatus};
use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};

use wasm_build_exec::interrupt;

/// The cargo the CLI waits for, if any.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last signal that arrived, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static HANDLERS: Once = Once::new();

/// Waits for `child` (a cargo the CLI started), passing on a `SIGTERM` or `SIGHUP` the
/// CLI gets meanwhile.
pub fn wait(child: &mut Child) -> std::io::Result<ExitStatus> {
    install();
    CHILD.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    status
}

/// The status to exit with when a signal stopped the build (`128 + n`, as shells say),
/// or `None`.
pub fn interrupted() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(128 + signal),
    }
}

fn install() {
    // `on_signal` only does atomic loads and stores and `kill`.
    HANDLERS.call_once(|| interrupt::handle(&interrupt::STOPPING, on_signal));
}

extern "C" fn on_signal(signal: libc::c_int) {
    RECEIVED.store(signal, Ordering::SeqCst);
    let child = CHILD.load(Ordering::SeqCst);
    // Ctrl-C reached cargo already, from the terminal.
    if child > 0 && signal != libc::SIGINT {
        // SAFETY: `kill` is async-signal-safe; `child` is the pid of a child not yet
        // waited for, so it cannot have been reused.
        unsafe {
            libc::kill(child, signal);
        }
    }
}
