//! The probing mode: what this machine offers the jail, found by trying each layer in a
//! throw-away child.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};

use super::privileges::{become_subreaper, enter_pid_namespace};
use crate::layers::Layers;
use crate::linux::{fd, filesystem, syscalls};
use crate::spec::Network;

/// The probing mode: tries each layer in a throw-away child and prints [`Layers`].
pub(super) fn probe(cap: Option<&OsString>) -> i32 {
    let cap = cap.and_then(|cap| cap.to_str()?.parse().ok());
    let abi = filesystem::abi_in_use(cap);
    let landlock = abi
        .clone()
        .and_then(|abi| in_child(|| filesystem::enforce_nothing(abi)).map(|()| abi));
    let filter_abi = abi.as_ref().map_or(6, |abi| *abi);
    let seccomp =
        in_child(|| syscalls::install(&syscalls::filter(Network::None, filter_abi)).map(drop));
    let descendants = become_subreaper();
    let user_namespaces = in_child(enter_pid_namespace);
    let layers = Layers {
        kernel: kernel(),
        landlock,
        seccomp,
        descendants,
        user_namespaces,
    };
    match serde_json::to_string(&layers) {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}

/// `Linux 6.8.0 x86_64`.
pub(crate) fn kernel() -> String {
    // SAFETY: uname fills a zeroed struct we own.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut name) } != 0 {
        return "Linux".into();
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&name.sysname),
        field(&name.release),
        field(&name.machine)
    )
}

/// Runs `attempt` in a forked child and returns what it said.
fn in_child(attempt: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (read, write) = fd::pipe().map_err(|err| format!("pipe: {err}"))?;
    // SAFETY: the probing helper is single-threaded, so the child may do anything.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        let code = match attempt() {
            Ok(()) => 0,
            Err(why) => {
                let _ = File::from(write).write_all(why.as_bytes());
                1
            }
        };
        // SAFETY: ends the child without running the helper's exit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(write);
    let mut said = String::new();
    let _ = File::from(read).read_to_string(&mut said);
    let mut status = 0;
    // SAFETY: waits for the child we just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if said.is_empty() {
        Err(format!("the attempt ended with wait status {status}"))
    } else {
        Err(said)
    }
}
