//! Every message cargo wasm-build shows a user, in one place: the stable codes
//! ([`code`]), a typed diagnostic per kind of problem ([`summary`], [`script`],
//! [`compile`], the table diagnostics of [`source`]), and the one writer that shows them
//! ([`color`]): coloured the way cargo decides (`--color`, `CARGO_TERM_COLOR`,
//! `NO_COLOR`, whether the stream is a terminal), with crate-written text inert
//! ([`inert`], [`escape`]), snippets rendered as rustc and cargo render them
//! (annotate-snippets), and commands quoted for the shell by one helper ([`shell`]).
//!
//! It is the lowest crate every process links (only strings in, strings out), so the
//! CLI, the wrapper, the stand-in, the runtime and the permission display say the same
//! thing the same way. It is not where a problem is found: the crates that find one
//! build the diagnostic and hand it here to be said.

pub mod code;
pub mod color;
pub mod compile;
pub mod escape;
pub mod grant;
pub mod inert;
pub mod script;
pub mod shell;
pub mod source;
pub mod summary;

pub use code::Code;
pub use color::{Stream, Tone};
pub use source::{Diagnostic, Rendered, SourceFile, did_you_mean};
