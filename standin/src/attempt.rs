//! What a script did that needs a capability nobody reviewed, as the failure text names it.

/// What a script did that needs a capability nobody reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Started a program (the command line), or set a variable for one.
    Ran(String),
    /// Printed a directive (the line).
    Printed(String),
    /// Looked up a hidden variable (its name), in strict mode.
    LookedUp(String),
    /// Looked for a path that exists but is hidden (the path), in strict mode.
    LookedFor(String),
    /// Tried to write a path outside what it may write (the path).
    Wrote(String),
    /// A program it ran asked the network proxy for a connection the grant does not reach
    /// (the program, `host:port`, and why it was refused).
    Connected {
        /// The program, as its grant names it.
        program: String,
        /// `host:port` as the program named it.
        authority: String,
        /// Why the proxy refused it.
        why: String,
    },
}
