//! The helper: a single-threaded process between the host and the jailed program. It is
//! not confined itself; it confines the program it forks, and outlives it only to kill
//! what the program left behind and to report.
//!
//! [`main`] runs the steps in order; each step lives in the module of its concern:
//! [`launch`] (executing the program), [`privileges`] (the helper's own process),
//! [`watch`] (waiting for the program and sweeping up after it) and [`probe`] (the
//! probing mode).

mod failure;
mod launch;
mod privileges;
pub(crate) mod probe;
mod watch;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use self::failure::{Failure, missing, refused};
use self::launch::{Confined, Launch, c_string, c_strings, confine_and_exec};
use self::privileges::{become_subreaper, drop_capabilities, enter_pid_namespace};
use self::probe::probe;
use self::watch::{SignalFd, detach_stdio, stop, supervise, watch_parent};
use crate::error::{Layer, Missing};
use crate::linux::jobserver::Jobserver;
use crate::linux::supervisor::Supervisor;
use crate::linux::{descendants, fd, filesystem, resources, syscalls};
use crate::spawn::{Applied, JailNotes, Message, REPORT_FD, SignalScope};
use crate::spec::{Code, Network, Rules, SYSTEM_READ_EXEC};

/// See [`crate::helper_main`].
pub(crate) fn main(args: &[OsString]) -> i32 {
    if args.first().is_some_and(|first| first == "probe") {
        return probe(args.get(1));
    }
    // SAFETY: only asks whether descriptor 3 is open.
    if unsafe { libc::fcntl(REPORT_FD, libc::F_GETFD) } < 0 {
        eprintln!("error: the jail's helper is started by cargo-wasm-build itself, not by hand");
        return 2;
    }
    // SAFETY: descriptor 3 is the report pipe the host set up for us, and nothing else
    // in this process owns it.
    let mut report = unsafe { File::from_raw_fd(REPORT_FD) };
    let message = run(args, &mut report).unwrap_or_else(|failure| failure);
    let status = match message {
        Message::Missing(_) | Message::Refused(_) => 126,
        _ => 0,
    };
    send(&mut report, &message);
    status
}

fn send(report: &mut File, message: &Message) {
    if let Ok(mut line) = serde_json::to_vec(message) {
        line.push(b'\n');
        // The host reads until our end closes; nothing to do if it went away.
        let _ = report.write_all(&line);
    }
}

/// What the host asked for: `rules argc argv0 args... env...`.
struct Invocation {
    rules: Rules,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Invocation {
    fn parse(args: &[OsString]) -> Result<Self, Failure> {
        let bad = |what: &str| Message::Refused(format!("the jail's helper got {what}"));
        let [rules, argc, rest @ ..] = args else {
            return Err(bad("too few arguments"));
        };
        let rules: Rules = rules
            .to_str()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| bad("malformed rules"))?;
        let argc: usize = argc
            .to_str()
            .and_then(|text| text.parse().ok())
            .filter(|argc| *argc >= 1 && *argc <= rest.len())
            .ok_or_else(|| bad("a malformed argument count"))?;
        let (argv, env) = rest.split_at(argc);
        let env = env
            .iter()
            .map(|entry| {
                let bytes = entry.as_bytes();
                let split = bytes
                    .iter()
                    .position(|byte| *byte == b'=')
                    .unwrap_or(bytes.len());
                let value = bytes.get(split + 1..).unwrap_or_default();
                (
                    OsStr::from_bytes(&bytes[..split]).to_os_string(),
                    OsStr::from_bytes(value).to_os_string(),
                )
            })
            .collect();
        Ok(Invocation {
            rules,
            argv: argv.to_vec(),
            env,
        })
    }
}

fn run(args: &[OsString], report: &mut File) -> Result<Message, Failure> {
    let invocation = Invocation::parse(args)?;
    let rules = &invocation.rules;
    // Cargo's jobserver and whatever else the host's process held: none of it is ours.
    fd::close_from(REPORT_FD + 1).map_err(refused("failed to close inherited descriptors"))?;
    become_subreaper().map_err(missing(Layer::Descendants))?;
    let parent = watch_parent(rules.host_pid)?;
    let watched = SignalFd::new().map_err(refused("failed to watch signals"))?;
    let abi = filesystem::abi_in_use(rules.landlock_abi_cap).map_err(missing(Layer::Landlock))?;
    let signals = if abi >= 6 {
        SignalScope::Landlock
    } else if rules.code == Code::Toolchain {
        SignalScope::Unscoped
    } else {
        enter_pid_namespace().map_err(|err| {
            Message::Missing(Missing::new(
                Layer::SignalScope,
                format!(
                    "Landlock ABI {abi} has no scopes, and creating a PID namespace failed: {err}"
                ),
            ))
        })?;
        SignalScope::PidNamespace
    };
    let launch = Launch::open(rules, &invocation.argv)?;
    let ruleset = filesystem::prepare(rules, abi, &launch.program, launch.interpreter.as_ref())
        .map_err(Message::Refused)?;
    let filter = syscalls::filter(rules.network, abi);
    let mut env = invocation.env;
    let jobserver = Jobserver::new(&mut env, rules.jobserver_tokens)
        .map_err(refused("failed to set up a private jobserver"))?;
    let envp = c_strings(env.iter().map(|(name, value)| {
        let mut entry = name.clone();
        entry.push("=");
        entry.push(value);
        entry
    }))?;
    let argv = c_strings(launch.argv.iter().cloned())?;
    let cwd = c_string(rules.cwd.as_os_str())?;
    let (ready, ready_write) = fd::pipe().map_err(refused("failed to create a pipe"))?;
    let (channel, channel_write) =
        fd::socket_pair().map_err(refused("failed to create a socket pair"))?;

    // SAFETY: this process is single-threaded, so the child may do anything.
    let target = unsafe { libc::fork() };
    if target < 0 {
        return Err(Message::Refused(format!(
            "failed to fork: {}",
            std::io::Error::last_os_error()
        )));
    }
    if target == 0 {
        let confined = Confined {
            ruleset,
            filter: &filter,
            supervisor: &channel_write,
        };
        let failure = match confine_and_exec(&launch, confined, &jobserver, &cwd, &argv, &envp) {
            Err(failure) => failure,
            Ok(never) => match never {},
        };
        let mut ready = File::from(ready_write);
        send(&mut ready, &failure);
        // SAFETY: ends the child without running the helper's exit handlers twice.
        unsafe { libc::_exit(126) };
    }
    drop(ready_write);
    drop(channel_write);
    drop(jobserver);
    let listener = fd::recv_fd(&channel);
    let mut said = Vec::new();
    let _ = File::from(ready).read_to_end(&mut said);
    if !said.is_empty() {
        let _ = descendants::kill_all();
        return Err(serde_json::from_slice(said.trim_ascii_end())
            .unwrap_or_else(|_| Message::Refused(String::from_utf8_lossy(&said).into_owned())));
    }
    let started = listener
        .ok()
        .flatten()
        .ok_or_else(|| "the program started without its supervisor".to_string())
        // The supervisor acts with the program's rights, never more: a helper started
        // by root keeps no capability either.
        .and_then(|listener| drop_capabilities().map(|()| listener));
    let listener = match started {
        Ok(listener) => listener,
        Err(why) => {
            let _ = stop(target);
            return Err(Message::Refused(why));
        }
    };
    let mut supervisor = Supervisor::new(
        listener,
        &rules.access.write,
        &executable_roots(rules),
        launch.identities(),
        match rules.network {
            Network::Proxy(proxy) => Some(proxy),
            Network::None => None,
        },
    );
    let applied = Applied {
        landlock_abi: abi,
        signals,
    };
    send(report, &Message::Ready(target as u32, applied));
    detach_stdio();
    let (ended, unswept) = supervise(
        target,
        parent.as_ref(),
        &watched,
        rules.time_limit_ms.map(Duration::from_millis),
        &mut supervisor,
        resources::Census::new(rules.resources.processes),
    );
    let notes = JailNotes {
        refused: supervisor.refusals(),
        refused_written_code: supervisor.refused_code(),
        unswept: unswept.err(),
    };
    if notes != JailNotes::default() {
        send(report, &Message::Notes(notes));
    }
    Ok(ended)
}

/// Where the program may map files as code: the system and what the spec lets it
/// execute.
fn executable_roots(rules: &Rules) -> Vec<PathBuf> {
    SYSTEM_READ_EXEC
        .iter()
        .map(PathBuf::from)
        .chain(rules.access.read_exec.iter().cloned())
        .collect()
}
