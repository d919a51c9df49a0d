//! A private jobserver for programs that expect one.
//!
//! Cargo hands build scripts its jobserver in `CARGO_MAKEFLAGS`, and `cmake` or `make`
//! started from a script pass it on in `MAKEFLAGS`. A jailed program never gets cargo's
//! descriptors (they are closed, like every inherited one): it could drain or inflate the
//! build's pool. Instead the variables are rewritten to name a private pipe with a fixed
//! number of tokens at descriptors 3 and 4, or, without tokens, to name none.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::linux::fd;
use crate::spawn::REPORT_FD;

/// Where the private jobserver's ends are in the program.
pub(crate) const READ_FD: i32 = 3;
/// See [`READ_FD`].
pub(crate) const WRITE_FD: i32 = 4;

const VARIABLES: [&str; 3] = ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];
const AUTH: [&str; 2] = ["--jobserver-auth=", "--jobserver-fds="];

/// Rewrites the make flags in `env` to name the private jobserver (`private`), or none.
/// Returns whether any named a jobserver.
pub(crate) fn rewrite(env: &mut [(OsString, OsString)], private: bool) -> bool {
    let mut found = false;
    for (name, value) in env.iter_mut() {
        if !VARIABLES
            .iter()
            .any(|known| name.as_os_str() == OsStr::new(known))
        {
            continue;
        }
        let mut words: Vec<Vec<u8>> = Vec::new();
        for word in value.as_bytes().split(|byte| *byte == b' ') {
            match AUTH.iter().find(|auth| word.starts_with(auth.as_bytes())) {
                Some(auth) => {
                    found = true;
                    if private {
                        words.push(format!("{auth}{READ_FD},{WRITE_FD}").into_bytes());
                    }
                }
                None => words.push(word.to_vec()),
            }
        }
        *value = OsString::from_vec(words.join(&b' '));
    }
    found
}

/// A private jobserver at descriptors 3 and 4 of the program, when its make flags name one.
pub(crate) struct Jobserver {
    pipe: Option<(OwnedFd, OwnedFd)>,
}

impl Jobserver {
    pub(crate) fn new(env: &mut [(OsString, OsString)], tokens: u32) -> std::io::Result<Self> {
        if !rewrite(env, tokens > 0) || tokens == 0 {
            return Ok(Jobserver { pipe: None });
        }
        let (read, write) = fd::pipe()?;
        let tokens = vec![b'+'; usize::try_from(tokens).unwrap_or(1).min(4096)];
        File::from(write.try_clone()?).write_all(&tokens)?;
        Ok(Jobserver {
            pipe: Some((read, write)),
        })
    }

    /// Puts the pipe at descriptors 3 and 4 (in the child) and returns the first
    /// descriptor that is not passed on.
    pub(crate) fn install(&self) -> std::io::Result<RawFd> {
        let Some((read, write)) = &self.pipe else {
            return Ok(REPORT_FD);
        };
        // Move both ends out of the way first: either may sit at 3 or 4 already.
        // SAFETY: duplicates descriptors we hold to free numbers at 10 or above.
        let (read, write) = unsafe {
            (
                libc::fcntl(read.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(write.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10),
            )
        };
        if read < 0 || write < 0 {
            return Err(std::io::Error::last_os_error());
        }
        fd::dup_to(read, READ_FD)?;
        fd::dup_to(write, WRITE_FD)?;
        Ok(WRITE_FD + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(value: &str) -> Vec<(OsString, OsString)> {
        vec![
            ("CARGO_MAKEFLAGS".into(), value.into()),
            ("OTHER".into(), "--jobserver-auth=9,10".into()),
        ]
    }

    #[test]
    fn cargo_jobserver_is_replaced_or_removed() {
        let mut private = env("-j --jobserver-fds=7,8 --jobserver-auth=7,8");
        assert!(rewrite(&mut private, true));
        assert_eq!(private[0].1, "-j --jobserver-fds=3,4 --jobserver-auth=3,4");
        assert_eq!(
            private[1].1, "--jobserver-auth=9,10",
            "other variables stay"
        );
        let mut none = env("-j --jobserver-auth=fifo:/tmp/x");
        assert!(rewrite(&mut none, false));
        assert_eq!(none[0].1, "-j");
        let mut plain = env("-j4");
        assert!(!rewrite(&mut plain, true));
        assert_eq!(plain[0].1, "-j4");
    }
}
