//! What the table parser asks about the values it reads, handed in by its caller: the
//! parser reads and reports, while whether a path leaves its package or a value needs its
//! `dangerous-` key is a ruling of the rules it is given (`hygiene::PathRules`).

use crate::values::EnvPattern;

/// The rulings the table parser needs on the values it reads. Each answer that is not
/// `Ok`/`None` is a message and a help, which the parser reports at the value's place.
pub trait ValueRules {
    /// A path as written in `read`, `write` or `link-search`, normalized; the message and
    /// help when it is malformed ([`Code::W002`](crate::Code::W002)).
    ///
    /// # Errors
    ///
    /// When a relative path leaves its package.
    fn normalize_path(&self, path: &str) -> Result<String, (String, String)>;

    /// Why a well-formed `env` pattern needs `dangerous-env`
    /// ([`Code::W005`](crate::Code::W005)), or `None`.
    fn env_problem(&self, pattern: &EnvPattern) -> Option<(String, String)>;

    /// Why a normalized path under `key` (`read` or `write`) needs `dangerous-{key}`
    /// ([`Code::W005`](crate::Code::W005)), or `None`.
    fn path_problem(&self, key: &str, path: &str) -> Option<(String, String)>;
}
