//! The exec broker: the host side of `std::process` for sandboxed build scripts.
//!
//! Each request from the guest is resolved to one file on the host (`resolve`), judged
//! against the policy (`judge`, which asks `wasm_build_policy::exec_verdict`: the
//! `RUSTC` cargo provides may run probes by default, everything else needs a grant) and,
//! if allowed, started in the jail, which executes that very file (`spawn`, with what
//! `spec` gives it). A program awaiting review gets a `stand_in`. Denials are recorded
//! so the stand-in can fail the build with the grant that would allow them; a jail that
//! cannot be had fails the build too, never the script alone. When a program is released,
//! `release` records what its end says about the jail.

mod command_line;
mod judge;
mod release;
mod resolve;
mod spawn;
mod spec;
mod stand_in;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use wasm_build_contract::audit::ExecAttempt;
use wasm_build_contract::inert::InertLines;
use wasm_build_jail::ProgramFile;
use wasm_build_permissions_schema::Capability;
use wasm_build_shim::protocol::status;

use crate::child::ChildProcess;
use crate::context::ExecContext;
use crate::disk_watch::DiskWatch;
use crate::network::Proxies;
use crate::outcome::ProgramsReport;
use crate::output::CappedOutput;
use crate::program::ProgramUse;

/// The broker of one run: every program the script asks for goes through it, and what
/// they did comes out of [`Broker::finish`].
pub struct Broker {
    ctx: ExecContext,
    stdout: CappedOutput,
    stderr: CappedOutput,
    children: HashMap<u32, Arc<ChildProcess>>,
    next_handle: u32,
    /// Grants' programs, resolved once.
    identities: HashMap<String, Option<ProgramFile>>,
    attempts: Vec<ExecAttempt>,
    /// Every program the script asked for, and the file it found here.
    programs: Vec<ProgramUse>,
    pending: Vec<(String, Capability)>,
    /// Programs the jail could not run: each fails the build, whatever the script made
    /// of the failure.
    jail_failures: Vec<String>,
    /// The layers that confined the first program, for the audit log.
    confinement: Option<String>,
    /// Whether a program beyond a rustc probe ran (see [`ProgramsReport::ran_untrusted`]).
    ran_untrusted: bool,
    /// Variables the script set for rustc probes that rustc or its linker read, which
    /// the probes ran without (see [`crate::probe_env`]).
    probe_env_dropped: BTreeSet<String>,
    /// The command line of each child, by handle, to name it when it looks stopped.
    lines: HashMap<u32, String>,
    /// Programs whose failure looks like the jail's doing (see [`ProgramsReport::stopped`]).
    stopped: Vec<String>,
    /// Programs stopped at a bound of the jail (see [`ProgramsReport::limited`]).
    limited: Vec<String>,
    /// The size of `OUT_DIR` and the temporary directory while programs run.
    disk: DiskWatch,
    warned_unconfined: bool,
    /// The filtering proxies of network-granted programs.
    proxies: Proxies,
}

/// A failed request: the status for the guest and the message its `last_error` returns.
pub type Failure = (u32, String);

impl Broker {
    /// The broker of a run described by `ctx`, whose programs print to the script's own
    /// `stdout` and `stderr` when they inherit them (one budget for the script and its
    /// programs).
    pub fn new(ctx: ExecContext, stdout: CappedOutput, stderr: CappedOutput) -> Self {
        let disk = ctx.disk_watch();
        Broker {
            ctx,
            stdout,
            stderr,
            children: HashMap::new(),
            next_handle: 1,
            identities: HashMap::new(),
            attempts: Vec::new(),
            programs: Vec::new(),
            pending: Vec::new(),
            jail_failures: Vec::new(),
            confinement: None,
            ran_untrusted: false,
            probe_env_dropped: BTreeSet::new(),
            lines: HashMap::new(),
            stopped: Vec::new(),
            limited: Vec::new(),
            disk,
            warned_unconfined: false,
            proxies: Proxies::default(),
        }
    }

    /// Ends the run's programs and says what they did: every program is released first,
    /// so that what the jail refused them is known; then the proxies stop. Programs the
    /// script left running die with the broker.
    pub fn finish(mut self) -> ProgramsReport {
        let probe_env_dropped = std::mem::take(&mut self.probe_env_dropped)
            .into_iter()
            .collect();
        let programs = std::mem::take(&mut self.programs);
        let stopped = self.stopped();
        let network = self.proxies.finish();
        ProgramsReport {
            attempts: std::mem::take(&mut self.attempts),
            programs,
            pending: std::mem::take(&mut self.pending),
            jail_failures: std::mem::take(&mut self.jail_failures),
            confinement: self.confinement.take(),
            ran_untrusted: self.ran_untrusted,
            stopped,
            probe_env_dropped,
            network,
            limited: self.limited(),
        }
    }

    /// Tells the user something on the guest's stderr (which cargo shows with the
    /// script's own output). Notes quote what the script asked for, so the whole note is
    /// written [`InertLines`], whatever its call site did.
    pub fn note(&self, message: &str) {
        let _ = self
            .stderr
            .accept(InertLines(message).to_string().as_bytes());
    }

    /// The child the script holds as `handle`.
    ///
    /// # Errors
    ///
    /// A [`Failure`] for the guest when the script holds no such child.
    pub fn child(&self, handle: u32) -> Result<Arc<ChildProcess>, Failure> {
        self.children
            .get(&handle)
            .cloned()
            .ok_or((status::INVALID_INPUT, format!("no child process {handle}")))
    }

    /// A fresh handle for a child the script will hold.
    fn hold(&mut self, child: Arc<ChildProcess>) -> u32 {
        let handle = self.next_handle;
        self.next_handle += 1;
        self.children.insert(handle, child);
        handle
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Children the script left running die with it, as cargo would not wait for them
        // either; the stand-in checks OUT_DIR and removes the temporary directory only
        // after this, when nothing the script started can touch them.
        for child in self.children.values() {
            child.kill();
        }
        for child in self.children.values() {
            child.wait(true);
        }
    }
}
