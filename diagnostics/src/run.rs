//! Why a build script's run failed, as the stand-in records and says it: one variant per
//! kind, each with its code and the sentence that completes "sandboxed build script of
//! `name vX` ...". The stand-in decides what happened; the words are here. Everything the
//! script printed, ran or named is inert in the sentence (a path with a line break cannot
//! start a line of its own), and [`crate::script::ScriptFailed`] says the sentences under
//! their codes.

use std::fmt;

use crate::code::Code;
use crate::color::Painter;
use crate::diag::Diag;
use crate::inert::Inert;
use crate::script::{Failure, ScriptFailed};

/// What a script tried that awaits review, as [`RunFailure::NeedsPermission`] says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tried<'a> {
    /// Ran this command line.
    Ran(&'a str),
    /// Printed this directive.
    Printed(&'a str),
    /// Looked up this variable, set but hidden (strict mode).
    LookedUp(&'a str),
    /// Looked for this path, present but hidden (strict mode).
    LookedFor(&'a str),
    /// Tried to write this path.
    Wrote(&'a str),
}

/// How much of a command or directive a sentence shows before cutting it with `…`.
const SHOWN: usize = 160;

/// One reason a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunFailure<'a> {
    /// [`Code::W501`]: it exited with a status other than 0.
    Exited(i32),
    /// [`Code::W501`]: it panicked or aborted.
    Panicked,
    /// [`Code::W501`]: its stack (of this many bytes) overflowed.
    StackOverflow(u64),
    /// [`Code::W501`]: it trapped in wasm.
    Trapped(&'a str),
    /// [`Code::W502`]: it used more than its CPU-time limit, in seconds.
    CpuTime(u64),
    /// [`Code::W502`]: it ran for more than its wall-clock limit, in seconds.
    WallClock(u64),
    /// [`Code::W502`]: it tried to use more than its memory limit, in bytes.
    Memory(u64),
    /// [`Code::W502`]: it printed more than its stdout limit, in bytes.
    StdoutFlood(u64),
    /// [`Code::W502`]: it printed more than its stderr limit, in bytes.
    StderrFlood(u64),
    /// [`Code::W502`]: a program it ran exceeded a limit (the jail's sentence).
    ProgramLimited(&'a str),
    /// [`Code::W502`]: it wrote more into `OUT_DIR` than the limit.
    OutDirTooLarge {
        /// Bytes found.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// [`Code::W503`]: it left a symlink leading out of `OUT_DIR` (removed).
    SymlinkOut {
        /// The link.
        link: &'a str,
        /// Where it pointed.
        target: &'a str,
    },
    /// [`Code::W503`]: it left a hard link to a file outside `OUT_DIR` (removed).
    HardLinkOut {
        /// The file.
        file: &'a str,
    },
    /// [`Code::W104`]: it printed a directive that is never allowed.
    Forbidden {
        /// The directive.
        line: &'a str,
        /// Why it is never allowed.
        why: &'a str,
    },
    /// [`Code::W201`]: a program it ran could not be confined (the jail's sentence).
    Unconfined(&'a str),
    /// [`Code::W101`]: it tried something that awaits review.
    NeedsPermission {
        /// The capability: "run `cc`".
        capability: &'a str,
        /// The first attempt.
        tried: Tried<'a>,
        /// How many attempts needed it.
        count: usize,
    },
    /// [`Code::W101`]: it failed, and its `OUT_DIR` holds programs it made executable.
    NeedsRunBuilt {
        /// One of them.
        program: &'a str,
    },
    /// [`Code::W111`]: a program asked the network proxy for a host its grant does not
    /// reach, and the connection awaits review.
    ProxyRefused {
        /// The capability: "let `curl` connect to `host:443`".
        capability: &'a str,
        /// The program.
        program: &'a str,
        /// The host and port asked for.
        authority: &'a str,
        /// How many times.
        count: usize,
        /// Why the proxy refused.
        why: &'a str,
    },
    /// [`Code::W111`]: a program went around the proxy, and the jail refused it.
    JailRefusedConnection {
        /// The command line.
        line: &'a str,
        /// What the jail said.
        refused: &'a str,
    },
    /// [`Code::W111`]: the proxy refused a connection the workspace's policy denies.
    ConnectionDenied {
        /// The program.
        program: &'a str,
        /// The host and port.
        authority: &'a str,
        /// Why the proxy refused.
        why: &'a str,
        /// The capability denied.
        capability: &'a str,
    },
    /// [`Code::W110`]: it failed printing what a build-dependency it links produces only
    /// in the sandbox.
    SandboxOnlyPrinted {
        /// What it printed.
        printed: &'a str,
        /// The build-dependency (`name vX`).
        package: &'a str,
        /// Where: `file:line `#[cfg(...)]``.
        place: &'a str,
        /// How many other such places there are.
        other_places: usize,
        /// In how many build-dependencies in all.
        packages: usize,
    },
    /// [`Code::W110`]: it failed, and build-dependencies it links compile code in the
    /// sandbox that the native build does not.
    SandboxOnlyCode {
        /// The build-dependencies, joined.
        packages: &'a str,
        /// The first places, joined.
        places: &'a str,
        /// How many more places there are.
        more: usize,
    },
}

impl RunFailure<'_> {
    /// Its kind.
    pub fn code(&self) -> Code {
        use RunFailure::*;
        match self {
            Exited(_) | Panicked | StackOverflow(_) | Trapped(_) => Code::W501,
            CpuTime(_)
            | WallClock(_)
            | Memory(_)
            | StdoutFlood(_)
            | StderrFlood(_)
            | ProgramLimited(_)
            | OutDirTooLarge { .. } => Code::W502,
            SymlinkOut { .. } | HardLinkOut { .. } => Code::W503,
            Forbidden { .. } => Code::W104,
            Unconfined(_) => Code::W201,
            NeedsPermission { .. } | NeedsRunBuilt { .. } => Code::W101,
            ProxyRefused { .. } | JailRefusedConnection { .. } | ConnectionDenied { .. } => {
                Code::W111
            }
            SandboxOnlyPrinted { .. } | SandboxOnlyCode { .. } => Code::W110,
        }
    }

    /// The sentence (also what the run's record keeps).
    pub fn sentence(&self) -> String {
        self.to_string()
    }
}

/// What a [`Code::W110`] error offers.
const RUN_NATIVELY: &str =
    "if that is why, it runs as natively with `run-natively` (still confined)";

/// ` (and N other such places in M build-dependencies)`, or nothing.
fn others(places: usize, packages: usize) -> String {
    match places {
        0 => String::new(),
        1 => " (and 1 other such place)".to_string(),
        n => format!(" (and {n} other such places in {packages} build-dependencies)"),
    }
}

/// `text` cut to [`SHOWN`] characters with `…`, inert.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", Inert(&text[..cut])),
        None => Inert(text).to_string(),
    }
}

fn needs_permission(
    f: &mut fmt::Formatter<'_>,
    capability: &str,
    tried: Tried<'_>,
    count: usize,
) -> fmt::Result {
    let (verb, text, after) = match tried {
        Tried::Ran(text) => ("tried to run", Some(text), ""),
        Tried::Printed(text) => ("printed", Some(text), ""),
        // The name is the capability's already.
        Tried::LookedUp(_) => (
            "looked it up",
            None,
            ", set in your environment but hidden from build scripts (strict mode)",
        ),
        Tried::LookedFor(path) => (
            "looked for",
            Some(path),
            ", which exists here but is hidden from build scripts (strict mode)",
        ),
        Tried::Wrote(path) => ("tried to write", Some(path), ""),
    };
    let Some(text) = text else {
        return write!(f, "needs permission to {capability}: it {verb}{after}");
    };
    let more = match count {
        0 | 1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    write!(
        f,
        "needs permission to {capability}: it {verb} `{}`{more}{after}",
        shortened(text)
    )
}

impl fmt::Display for RunFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RunFailure::*;
        const MIB: u32 = 20;
        match *self {
            Exited(status) => write!(f, "exited with status {status}"),
            Panicked => f.write_str("panicked or aborted (see its stderr above)"),
            StackOverflow(size) => write!(
                f,
                "overflowed its stack of {} MiB in the sandbox (natively a build script's main thread has 8 MiB)",
                size >> MIB
            ),
            Trapped(trap) => write!(f, "crashed in the sandbox: {trap}"),
            CpuTime(secs) => write!(
                f,
                "used more than its CPU-time limit of {secs} s and was stopped"
            ),
            WallClock(secs) => write!(
                f,
                "ran for more than its wall-clock limit of {secs} s and was stopped"
            ),
            Memory(limit) => write!(
                f,
                "tried to use more than its memory limit of {} MiB",
                limit >> MIB
            ),
            StdoutFlood(limit) => write!(
                f,
                "printed more than its stdout limit of {} MiB and was stopped",
                limit >> MIB
            ),
            StderrFlood(limit) => write!(
                f,
                "printed more than its stderr limit of {} MiB and was stopped",
                limit >> MIB
            ),
            ProgramLimited(said) | Unconfined(said) => f.write_str(said),
            OutDirTooLarge { bytes, limit } => write!(
                f,
                "wrote {bytes} bytes into OUT_DIR, more than the limit of {limit} bytes"
            ),
            SymlinkOut { link, target } => write!(
                f,
                "left a symlink `{}` pointing outside OUT_DIR to `{}` (removed)",
                Inert(link),
                Inert(target)
            ),
            HardLinkOut { file } => write!(
                f,
                "left `{}`, a hard link to a file outside OUT_DIR (removed)",
                Inert(file)
            ),
            Forbidden { line, why } => write!(
                f,
                "printed `{}`, which is never allowed: {why}",
                Inert(line)
            ),
            NeedsPermission {
                capability,
                tried,
                count,
            } => needs_permission(f, capability, tried, count),
            NeedsRunBuilt { program } => write!(
                f,
                "needs permission to run what it built: it failed, and its OUT_DIR holds programs it made executable (`{}`), which nothing may run without `run-built`",
                Inert(program)
            ),
            ProxyRefused {
                capability,
                program,
                authority,
                count,
                why,
            } => {
                let more = match count {
                    0 | 1 => String::new(),
                    n => format!(" ({n} times)"),
                };
                write!(
                    f,
                    "needs permission to {capability}: `{}` asked the network proxy for `{}`{more}, which it refused before connecting: {}",
                    Inert(program),
                    Inert(authority),
                    Inert(why)
                )
            }
            JailRefusedConnection { line, refused } => write!(
                f,
                "ran `{}`, and the jail refused it: {}",
                Inert(line),
                Inert(refused)
            ),
            ConnectionDenied {
                program,
                authority,
                why,
                capability,
            } => write!(
                f,
                "ran `{}`, whose connection to `{}` the network proxy refused ({}), and the workspace's policy denies {capability}",
                Inert(program),
                Inert(authority),
                Inert(why)
            ),
            SandboxOnlyPrinted {
                printed,
                package,
                place,
                other_places,
                packages,
            } => write!(
                f,
                "failed printing {:?}, which build-dependency {} produces only in the sandbox, at {}{}; {RUN_NATIVELY}",
                Inert(printed).to_string(),
                Inert(package),
                Inert(place),
                others(other_places, packages),
            ),
            SandboxOnlyCode {
                packages,
                places,
                more,
            } => write!(
                f,
                "failed, and build-dependencies it links compile code here that the native build does not ({}): {}{}; {RUN_NATIVELY}",
                Inert(packages),
                Inert(places),
                match more {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                },
            ),
        }
    }
}

/// [`Code::W502`]: the script hung past its wall-clock limit and the watchdog stops the
/// whole process (nothing is left to record it, so it is said at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hung {
    /// The limit, in seconds.
    pub wall_clock_secs: u64,
}

impl Diag for Hung {
    fn code(&self) -> Option<Code> {
        Some(Code::W502)
    }

    fn render(&self, painter: Painter) -> String {
        format!(
            "{} sandboxed build script hung for more than its wall-clock limit of {} s and was stopped",
            crate::script::error_heading(&Code::W502.error(), painter),
            self.wall_clock_secs
        )
    }
}

/// [`Code::W103`]: a directive the workspace's policy denies, dropped; handed to cargo
/// as a `cargo:warning` (which cargo prints as it is, hence no colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedDirective<'a> {
    /// The directive.
    pub line: &'a str,
}

impl Diag for DroppedDirective<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W103)
    }

    /// `sandbox[W103]: dropped ...`, for `cargo:warning=`.
    fn render(&self, _painter: Painter) -> String {
        format!(
            "{} dropped `{}`: denied by the workspace's policy",
            Code::W103.sandbox(),
            Inert(self.line)
        )
    }
}

/// A failed run with one reason, as [`ScriptFailed`] says it (for tests and one-off
/// messages).
pub fn say(described: &str, failure: &RunFailure<'_>, painter: Painter) -> String {
    let message = failure.sentence();
    let failures = [Failure {
        code: Some(failure.code()),
        message: &message,
    }];
    ScriptFailed {
        described,
        failures: &failures,
        grant_help: None,
    }
    .render(painter)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\nerror[W000]: \u{1b}]0;t\u{7}";
    const SHOWN_HOSTILE: &str = "a\\u{a}error[W000]: \\u{1b}]0;t\\u{7}";

    /// Each reason is said under its code, and what the script wrote stays on its line
    /// and cannot steer the terminal.
    #[test]
    fn each_reason_is_said_under_its_code_inert() {
        use RunFailure::*;
        let all = [
            (
                Forbidden {
                    line: HOSTILE,
                    why: "no",
                },
                "W104",
            ),
            (
                SymlinkOut {
                    link: HOSTILE,
                    target: "/",
                },
                "W503",
            ),
            (HardLinkOut { file: HOSTILE }, "W503"),
            (NeedsRunBuilt { program: HOSTILE }, "W101"),
            (
                NeedsPermission {
                    capability: "run `sh`",
                    tried: Tried::Ran(HOSTILE),
                    count: 1,
                },
                "W101",
            ),
            (
                ProxyRefused {
                    capability: "connect",
                    program: HOSTILE,
                    authority: "h:1",
                    count: 2,
                    why: "far",
                },
                "W111",
            ),
            (
                JailRefusedConnection {
                    line: HOSTILE,
                    refused: "x",
                },
                "W111",
            ),
            (
                SandboxOnlyCode {
                    packages: HOSTILE,
                    places: "p",
                    more: 0,
                },
                "W110",
            ),
            (
                ConnectionDenied {
                    program: HOSTILE,
                    authority: "h:1",
                    why: "x",
                    capability: "c",
                },
                "W111",
            ),
        ];
        for (failure, code) in all {
            let text = say("`x v1`", &failure, Painter::new(false));
            assert!(
                text.starts_with(&format!("error[{code}]: sandboxed build script of `x v1` ")),
                "{text}"
            );
            assert!(text.contains(SHOWN_HOSTILE), "{text}");
            assert_eq!(text.lines().count(), 1, "{text}");
        }
    }

    #[test]
    fn exits_and_limits_are_said_as_before() {
        use RunFailure::*;
        let said = |failure: RunFailure<'_>| (failure.code(), failure.sentence());
        assert_eq!(said(Exited(3)), (Code::W501, "exited with status 3".into()));
        assert_eq!(
            said(Memory(64 << 20)),
            (
                Code::W502,
                "tried to use more than its memory limit of 64 MiB".into()
            )
        );
        assert_eq!(said(Unconfined("no jail")).0, Code::W201);
        assert_eq!(
            said(OutDirTooLarge { bytes: 3, limit: 2 }),
            (
                Code::W502,
                "wrote 3 bytes into OUT_DIR, more than the limit of 2 bytes".into()
            )
        );
        let long = "x.o ".repeat(100);
        let cut = NeedsPermission {
            capability: "run `ar`",
            tried: Tried::Ran(&long),
            count: 3,
        }
        .sentence();
        assert!(cut.ends_with("…` (and 2 more)"), "{cut}");
        assert_eq!(
            NeedsPermission {
                capability: "read env `A`",
                tried: Tried::LookedUp("A"),
                count: 2,
            }
            .sentence(),
            "needs permission to read env `A`: it looked it up, set in your environment but hidden from build scripts (strict mode)"
        );
    }

    #[test]
    fn a_hung_script_is_said_under_w502() {
        assert_eq!(
            Hung { wall_clock_secs: 9 }.render(Painter::new(false)),
            "error[W502]: sandboxed build script hung for more than its wall-clock limit of 9 s and was stopped"
        );
    }

    #[test]
    fn a_dropped_directive_is_a_sandbox_warning() {
        let text = DroppedDirective { line: HOSTILE }.render(Painter::new(true));
        assert_eq!(
            text,
            format!("sandbox[W103]: dropped `{SHOWN_HOSTILE}`: denied by the workspace's policy")
        );
    }
}
