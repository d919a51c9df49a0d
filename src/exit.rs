//! The tool's own exit statuses. Cargo's status passes through unchanged otherwise.

/// The tool itself failed (a malformed policy, cargo not found): cargo's code for errors.
pub const CARGO_FAILED: i32 = 101;

/// A gate refused: strict mode found unreviewed permissions, or `permissions --check`
/// found something to review.
pub const UNREVIEWED: i32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        assert_ne!(CARGO_FAILED, UNREVIEWED);
        assert_ne!(UNREVIEWED, 0);
    }
}
