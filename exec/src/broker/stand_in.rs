//! A program awaiting review does not run: the script gets a stand-in child instead,
//! which answers the way the script's caller can best go on with, so that one build shows
//! everything the script needs.

use std::sync::Arc;

use wasm_build_diagnostics::broker::{AwaitsReview, StoodIn};
use wasm_build_diagnostics::{Diag as _, Painter};
use wasm_build_permissions_schema::Capability;
use wasm_build_shim::protocol::{SpawnRequest, stdio};

use super::Broker;
use crate::child::{ChildProcess, StandInReply};

impl Broker {
    /// A program that awaits review does not run; the script is given a stand-in child, so
    /// that it goes on and shows everything else it needs in this build rather than one
    /// thing per build. The build fails on what is pending, so nothing the script makes of
    /// the stand-in is used. `first` when no earlier attempt needed `capability` (the
    /// script is told once).
    pub(super) fn stand_in(
        &mut self,
        request: &SpawnRequest,
        line: &str,
        capability: &Capability,
        first: bool,
    ) -> u32 {
        let reply = stand_in_reply(request, line);
        if first {
            let stood_in = StoodIn {
                line,
                package: &self.ctx.package.to_string(),
                capability: &capability.to_string(),
                told_failed: matches!(reply, StandInReply::Failed { .. }),
            };
            self.note(&stood_in.render(Painter::default()));
        }
        self.hold(Arc::new(ChildProcess::stand_in(reply)))
    }
}

/// How a program awaiting review seems to have ended to its caller. A caller that reads
/// the program's stdout (`Command::output()`, a piped stdout) parses what it prints, and
/// no made-up output is plausible: it is told the program failed, with a line on its
/// stderr saying why, the path such callers handle (pkg-config-rs returns its error,
/// cc-rs treats a flag as unsupported or guesses the compiler from its name, cmake-rs
/// assumes its default version). A caller that does not read stdout (`status()`, an
/// inherited or discarded stdout) looks only at the status: it is told the program
/// succeeded and goes on to the next program it needs (cc-rs from the compiler to `ar`,
/// cmake-rs from configuring to building), so one build shows them all.
fn stand_in_reply(request: &SpawnRequest, line: &str) -> StandInReply {
    if request.stdio[1] != stdio::PIPED {
        return StandInReply::Succeeded;
    }
    StandInReply::Failed {
        stderr: AwaitsReview { line }
            .render(Painter::default())
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A caller that reads a pending program's stdout is told it failed, with the reason
    /// on its stderr; one that looks only at the status is told it succeeded.
    #[test]
    fn a_pending_program_fails_for_callers_that_read_its_output() {
        let request = |stdout| SpawnRequest {
            program: "pkg-config".into(),
            stdio: [stdio::NULL, stdout, stdio::PIPED],
            ..SpawnRequest::default()
        };
        for stdout in [stdio::INHERIT, stdio::NULL] {
            assert_eq!(
                stand_in_reply(&request(stdout), "pkg-config"),
                StandInReply::Succeeded
            );
        }
        let StandInReply::Failed { stderr } =
            stand_in_reply(&request(stdio::PIPED), "pkg-config --modversion zlib")
        else {
            panic!("a caller that reads the output was told the program succeeded");
        };
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            "sandbox[W101]: `pkg-config --modversion zlib` did not run: it awaits review in \
             `cargo wasm-build approve`\n"
        );
    }
}
