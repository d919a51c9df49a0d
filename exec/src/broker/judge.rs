//! Judging one request: the broker finds out what the ruling is over (is it the build's
//! rustc, which grants and denials name its file, did the build make it) and asks
//! `wasm_build_policy::exec_verdict`, which decides.

use wasm_build_diagnostics::broker::NotAProbe;
use wasm_build_diagnostics::{Diag as _, Painter};
use wasm_build_jail::{Code, ProgramFile};
use wasm_build_policy::exec_verdict::{ExecRequest, RUSTC_GRANT, exec_verdict};
use wasm_build_policy::verdict::Verdict;
use wasm_build_shim::protocol::SpawnRequest;

use super::Broker;

/// The file a request names, and what the policy makes of it.
pub(super) struct Judged {
    pub(super) file: ProgramFile,
    pub(super) verdict: Verdict,
    /// How the jail confines it: a probe as the toolchain, anything else as untrusted.
    pub(super) code: Code,
}

impl Broker {
    /// The verdict on running `file` as `request` asks; a run of rustc that is more than
    /// a probe is told to the script, with the grant it needs.
    pub(super) fn judge(&mut self, request: &SpawnRequest, file: ProgramFile) -> Judged {
        let is_rustc = self
            .identity(RUSTC_GRANT)
            .is_some_and(|rustc| rustc.same_file(&file));
        let name = self.suggested_name(&request.program, &file);
        let rustflags = self.rustflags();
        let facts = ExecRequest {
            name: &name,
            is_rustc,
            denied: self.holds(true, &request.program, &file),
            granted: self.holds(false, &request.program, &file),
            built_here: self.ctx.built_here(&file),
            args: &request.args,
            rustflags: &rustflags,
            env: &request.env,
        };
        let ruling = exec_verdict(&self.ctx.policy, &facts);
        if let Some(argument) = &ruling.not_a_probe {
            let said = NotAProbe {
                argument,
                rustc_grant: RUSTC_GRANT,
            };
            self.note(&said.render(Painter::default()));
        }
        Judged {
            file,
            verdict: ruling.verdict,
            code: if ruling.probe {
                Code::Toolchain
            } else {
                Code::Untrusted
            },
        }
    }

    /// The consumer's rustc flags, which probes pass on.
    fn rustflags(&self) -> Vec<String> {
        self.ctx
            .env
            .iter()
            .find(|(name, _)| name == "CARGO_ENCODED_RUSTFLAGS")
            .map(|(_, value)| value.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default()
    }
}
