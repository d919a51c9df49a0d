//! What a program's end says, once the script lets it go: a build it could not run
//! (pending `run-built`), connections the jail refused around the proxy, processes the
//! jail could not sweep, a bound of the jail it ran into, or a failure that looks like
//! the jail's doing. Each becomes a line of the run's report, said once.

use wasm_build_contract::inert::Inert;
use wasm_build_policy::exec_verdict::run_built_pending;

use super::Broker;
use crate::child::{ChildProcess, OUTPUT_SETTLE};

/// How many characters of a command line a sentence about it shows.
const SHOWN: usize = 120;

impl Broker {
    /// Every program whose failure looks like the jail's doing, the ones the script still
    /// holds included.
    pub(super) fn stopped(&mut self) -> Vec<String> {
        let handles: Vec<u32> = self.children.keys().copied().collect();
        for handle in handles {
            self.release(handle);
        }
        std::mem::take(&mut self.stopped)
    }

    /// Every bound of the jail the script's programs ran into, one sentence each; call
    /// after [`Broker::stopped`], which looks at every program.
    pub(super) fn limited(&mut self) -> Vec<String> {
        let mut limited = std::mem::take(&mut self.limited);
        limited.extend(crate::disk_watch::disk_exceeded(&self.disk));
        limited
    }

    /// Lets the child the script holds as `handle` go, and records what its end says.
    pub fn release(&mut self, handle: u32) {
        let line = self.lines.remove(&handle);
        let Some(child) = self.children.remove(&handle) else {
            return;
        };
        // What the child printed last decides the verdicts below: read it all first.
        child.settle(OUTPUT_SETTLE);
        self.note_unrunnable_build(&child, line.as_deref());
        if let Some(line) = &line {
            for refused in child.refused_connections() {
                self.proxies.refused_directly(line, refused);
            }
        }
        if let Some(why) = child.unswept() {
            let line = line.as_deref().unwrap_or("a program");
            self.jail_failures.push(format!("ran `{line}`, but {why}"));
        }
        if let Some(line) = line {
            self.note_stopped(&child, shown(line));
        }
    }

    /// The one jail denial a program reports in words: configure could not run what it
    /// compiled. Without `run-built` that is pending review, so `approve` offers it.
    fn note_unrunnable_build(&mut self, child: &ChildProcess, line: Option<&str>) {
        if child.could_not_run_what_it_built()
            && let Some(capability) = run_built_pending(&self.ctx.policy)
            && !self.pending.iter().any(|(_, seen)| *seen == capability)
        {
            let attempt = line.unwrap_or_default().to_string();
            self.pending.push((attempt, capability));
        }
    }

    /// A bound of the jail the program ran into, or else a failure that looks like the
    /// jail stopped it; `shown` is its (inert) command line.
    fn note_stopped(&mut self, child: &ChildProcess, shown: String) {
        if let Some((bound, how)) = child.bound_hit() {
            self.limited.push(format!(
                "ran `{shown}`, which {}: stopped by {}",
                Inert(&how),
                bound.describe(&self.ctx.limits)
            ));
        } else if let Some(why) = child.looks_stopped()
            // A connection around the proxy is an error of its own (W111), said once.
            && !why.starts_with("was refused by the jail: connect ")
        {
            // `line` is inert already; `why` quotes what the program printed.
            self.stopped.push(format!("`{shown}` {}", Inert(&why)));
        }
    }
}

/// `line`, cut to [`SHOWN`] characters.
fn shown(line: String) -> String {
    match line.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
