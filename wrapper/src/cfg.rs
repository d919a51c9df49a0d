//! One `cfg` as rustc names it, shared by the sources' scan ([`crate::cfg_scan`]) and the
//! host's answers ([`crate::host_cfg`]).

use std::fmt;

/// One `cfg`: a name, or a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cfg {
    /// `target_os`, `unix`.
    pub name: String,
    /// `linux`; none for a bare name.
    pub value: Option<String>,
}

impl Cfg {
    /// The cfg as rustc's `--cfg` takes it: `unix`, `target_os="linux"`.
    pub(crate) fn to_arg(&self) -> String {
        self.renamed(&self.name)
    }

    /// The same value under another name.
    pub(crate) fn renamed(&self, name: &str) -> String {
        match &self.value {
            None => name.to_string(),
            Some(value) => format!("{name}=\"{}\"", value.escape_default()),
        }
    }
}

impl fmt::Display for Cfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => f.write_str(&self.name),
            Some(value) => write!(f, "{} = {value:?}", self.name),
        }
    }
}
