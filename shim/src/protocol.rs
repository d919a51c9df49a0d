//! The wire format between the std facade (guest) and the runtime (host).
//!
//! This file is compiled twice: into the facade for wasm32-wasip1, where it may use only
//! `std`, and into the native `wasm-build-shim` crate that the runtime uses. Keeping one
//! source is what keeps the two sides in step.

/// The wasm import module of every host call.
pub const IMPORT_MODULE: &str = "cargo_wasm_build";

/// How a child's standard stream is connected.
pub mod stdio {
    /// Like the guest's: stdout and stderr go into the guest's streams (so directives a
    /// child prints still pass the policy), stdin reads nothing.
    pub const INHERIT: u8 = 0;
    /// `/dev/null`.
    pub const NULL: u8 = 1;
    /// A pipe the guest reads or writes through host calls.
    pub const PIPED: u8 = 2;
}

/// Result codes of host calls. Each maps to an `std::io::ErrorKind` in the guest.
pub mod status {
    /// Success.
    pub const OK: u32 = 0;
    /// `ErrorKind::NotFound`: no such program.
    pub const NOT_FOUND: u32 = 1;
    /// `ErrorKind::PermissionDenied`: the policy refused.
    pub const PERMISSION_DENIED: u32 = 2;
    /// `ErrorKind::InvalidInput`: a malformed request or unknown handle.
    pub const INVALID_INPUT: u32 = 3;
    /// `ErrorKind::Other`, with a message from `last_error`.
    pub const OTHER: u32 = 4;
    /// `ErrorKind::Unsupported`.
    pub const UNSUPPORTED: u32 = 5;
    /// `ErrorKind::BrokenPipe`: the child closed its stdin.
    pub const BROKEN_PIPE: u32 = 6;
}

/// Which output stream of a child a read is for.
pub mod stream {
    /// The child's stdout.
    pub const STDOUT: u32 = 1;
    /// The child's stderr.
    pub const STDERR: u32 = 2;
}

/// A request to start a program, as `std::process::Command` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpawnRequest {
    /// The program as the script named it.
    pub program: String,
    /// Its arguments (without `argv[0]`).
    pub args: Vec<String>,
    /// Whether the script called `env_clear`.
    pub env_clear: bool,
    /// Variables set (`Some`) or removed (`None`), in order.
    pub env: Vec<(String, Option<String>)>,
    /// The working directory, if the script set one.
    pub cwd: Option<String>,
    /// `stdio::*` for stdin, stdout, stderr.
    pub stdio: [u8; 3],
}

impl SpawnRequest {
    /// The request as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_str(&mut out, &self.program);
        put_u32(&mut out, self.args.len());
        for arg in &self.args {
            put_str(&mut out, arg);
        }
        out.push(u8::from(self.env_clear));
        put_u32(&mut out, self.env.len());
        for (name, value) in &self.env {
            put_str(&mut out, name);
            put_opt_str(&mut out, value.as_deref());
        }
        put_opt_str(&mut out, self.cwd.as_deref());
        out.extend_from_slice(&self.stdio);
        out
    }

    /// Parses bytes made by [`SpawnRequest::encode`]; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut reader = Reader { bytes };
        let program = reader.str()?;
        let count = reader.u32()?;
        let mut args = Vec::new();
        for _ in 0..count {
            args.push(reader.str()?);
        }
        let env_clear = reader.byte()? != 0;
        let count = reader.u32()?;
        let mut env = Vec::new();
        for _ in 0..count {
            env.push((reader.str()?, reader.opt_str()?));
        }
        let cwd = reader.opt_str()?;
        let stdio = [reader.byte()?, reader.byte()?, reader.byte()?];
        if !reader.bytes.is_empty() || stdio.iter().any(|s| *s > stdio::PIPED) {
            return None;
        }
        Some(SpawnRequest {
            program,
            args,
            env_clear,
            env,
            cwd,
            stdio,
        })
    }
}

fn put_u32(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    put_u32(out, value.len());
    out.extend_from_slice(value.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => {
            out.push(1);
            put_str(out, value);
        }
        None => out.push(0),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Option<&[u8]> {
        if self.bytes.len() < len {
            return None;
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<usize> {
        let raw = self.take(4)?;
        Some(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
    }

    fn str(&mut self) -> Option<String> {
        let len = self.u32()?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }
}
