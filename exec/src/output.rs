//! A build script's stdout/stderr with a byte budget.
//!
//! Cargo stores everything a build script prints under `target/`, so an unbounded stream
//! is a disk-filling attack. Each stream forwards to its sink until its budget is spent;
//! the write that crosses it is refused, which the wasm host turns into a trap of the
//! guest and reports as a flood. The broker appends what the script's programs print to
//! the same streams (an inherited stdout), so one budget covers the script and its
//! programs: that is why the stream lives here and the wasm host only adapts it to WASI.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

/// Where the bytes of a [`CappedOutput`] go.
enum Sink {
    /// Kept in memory: build-script stdout is parsed and filtered before cargo sees it.
    Memory(Vec<u8>),
    /// Forwarded to this process's stderr as they come (unless `forward` is off, in
    /// tests), so long scripts show progress; the last [`TAIL_BYTES`] are kept too, for a
    /// run whose stderr nobody saw (cargo shows a build script's stderr only when it
    /// fails, and a discovery run hides it).
    Stderr { tail: Vec<u8>, forward: bool },
}

/// How much of a forwarded stream [`CappedOutput::tail`] keeps.
const TAIL_BYTES: usize = 4096;

struct State {
    sink: Sink,
    written: u64,
    budget: u64,
    exceeded: bool,
}

/// A write refused by a [`CappedOutput`] whose budget it would cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// An output stream that refuses every write once more than `budget` bytes were written.
#[derive(Clone)]
pub struct CappedOutput(Arc<Mutex<State>>);

impl CappedOutput {
    /// A stream whose bytes are kept for [`CappedOutput::take`].
    pub fn memory(budget: u64) -> Self {
        Self::new(Sink::Memory(Vec::new()), budget)
    }

    /// A stream forwarded to the host's stderr.
    pub fn stderr(budget: u64) -> Self {
        Self::new(
            Sink::Stderr {
                tail: Vec::new(),
                forward: true,
            },
            budget,
        )
    }

    fn new(sink: Sink, budget: u64) -> Self {
        CappedOutput(Arc::new(Mutex::new(State {
            sink,
            written: 0,
            budget,
            exceeded: false,
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another writer panicked mid-write; the bytes
        // already accepted are still the best record we have.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the guest tried to write past the budget.
    pub fn exceeded(&self) -> bool {
        self.state().exceeded
    }

    /// The bytes kept so far (empty for a forwarding stream).
    pub fn take(&self) -> Vec<u8> {
        match &mut self.state().sink {
            Sink::Memory(bytes) => std::mem::take(bytes),
            Sink::Stderr { .. } => Vec::new(),
        }
    }

    /// The last bytes forwarded (empty for a kept stream).
    pub fn tail(&self) -> Vec<u8> {
        match &self.state().sink {
            Sink::Memory(_) => Vec::new(),
            Sink::Stderr { tail, .. } => tail.clone(),
        }
    }

    /// Appends `bytes` or, past the budget, records the flood and refuses them.
    ///
    /// # Errors
    ///
    /// [`OverBudget`] when `bytes` would cross the budget; nothing of them is kept.
    pub fn accept(&self, bytes: &[u8]) -> Result<(), OverBudget> {
        let mut state = self.state();
        let len = bytes.len() as u64;
        if state.written.saturating_add(len) > state.budget {
            state.exceeded = true;
            return Err(OverBudget);
        }
        state.written += len;
        match &mut state.sink {
            Sink::Memory(kept) => kept.extend_from_slice(bytes),
            Sink::Stderr { tail, forward } => {
                // The guest's stderr is diagnostics for a human; if our own stderr is
                // gone there is nobody to tell, so a failed write is not the guest's fault.
                if *forward {
                    let _ = std::io::stderr().write_all(bytes);
                }
                tail.extend_from_slice(bytes);
                let excess = tail.len().saturating_sub(TAIL_BYTES);
                tail.drain(..excess);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_bytes_until_the_budget_then_refuses() {
        let out = CappedOutput::memory(8);
        assert!(out.accept(b"12345").is_ok());
        assert!(out.accept(b"678").is_ok());
        assert!(!out.exceeded());
        assert!(out.accept(b"9").is_err());
        assert!(out.exceeded());
        assert_eq!(out.take(), b"12345678");
    }

    #[test]
    fn a_forwarded_stream_keeps_its_last_bytes() {
        let err = CappedOutput::new(
            Sink::Stderr {
                tail: Vec::new(),
                forward: false,
            },
            1 << 20,
        );
        assert!(err.accept(&[b'a'; TAIL_BYTES]).is_ok());
        assert!(err.accept(b"thread 'main' panicked").is_ok());
        let tail = err.tail();
        assert_eq!(tail.len(), TAIL_BYTES);
        assert!(tail.ends_with(b"thread 'main' panicked"));
        assert!(err.take().is_empty(), "nothing is kept to parse");
    }
}
