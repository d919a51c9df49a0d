//! The trait every typed diagnostic implements.

use crate::code::Code;
use crate::color::Painter;

/// A typed diagnostic: one type per kind of problem (cargo-deny's `diags.rs` pattern),
/// holding the facts, and said by [`Diag::render`] with the tool's words painted by the
/// one [`Painter`] and every crate-written part inert.
pub trait Diag {
    /// The code it is shown under (`None` for a note, or a failure recorded before codes
    /// existed).
    fn code(&self) -> Option<Code>;

    /// What the user reads.
    fn render(&self, painter: Painter) -> String;
}
