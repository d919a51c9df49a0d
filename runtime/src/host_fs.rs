//! File operations the host performs for the guest (what WASI cannot do: copying with
//! permission bits, changing them), done on the handles of the guest's directories.
//!
//! A path the guest names is split into the preopened directory it lies in and the rest,
//! which cap-std resolves beneath that directory's handle, never past it, through `..`
//! or a symlink. There is no check of a path followed by a use of the same path: a
//! symlink the script's programs swap in between gains nothing.

use std::io;
use std::path::{Path, PathBuf};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _, OpenOptionsSyncExt as _};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt as _, OpenOptions, PermissionsExt as _};

use crate::preopen::{Access, Preopen};

/// The guest's directories, open.
pub(crate) struct HostFs {
    roots: Vec<Root>,
}

struct Root {
    path: PathBuf,
    dir: Dir,
    writable: bool,
}

fn denied(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

impl HostFs {
    /// Opens every preopen once.
    pub(crate) fn open(preopens: &[Preopen]) -> io::Result<Self> {
        let roots = preopens
            .iter()
            .map(|preopen| {
                Ok(Root {
                    path: preopen.path.clone(),
                    dir: Dir::open_ambient_dir(&preopen.path, ambient_authority())?,
                    writable: preopen.access == Access::ReadWrite,
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(HostFs { roots })
    }

    /// The directory `path` lies in (the longest preopen it starts with, as WASI picks
    /// one) and the rest of the path, which may still hold `..` and symlinks for cap-std
    /// to resolve beneath it.
    fn locate(&self, path: &Path, write: bool) -> io::Result<(&Root, PathBuf)> {
        let (root, rest) = self
            .roots
            .iter()
            .filter_map(|root| Some((root, path.strip_prefix(&root.path).ok()?)))
            .max_by_key(|(root, _)| root.path.components().count())
            .ok_or_else(|| denied(format!("sandbox: cannot reach {}", path.display())))?;
        if write && !root.writable {
            return Err(denied(format!("sandbox: cannot write {}", path.display())));
        }
        let rest = if rest.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rest.to_path_buf()
        };
        Ok((root, rest))
    }

    /// `fs::copy` as on Unix, permission bits included but setuid and setgid dropped:
    /// from where the script may read to where it may write. The destination is never
    /// followed through a symlink and never a hard link to another name.
    pub(crate) fn copy(&self, from: &Path, to: &Path) -> io::Result<u64> {
        let (source_root, source_rest) = self.locate(from, false)?;
        let mut source = source_root.dir.open(&source_rest)?;
        let meta = source.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", from.display()),
            ));
        }
        let (target_root, target_rest) = self.locate(to, true)?;
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create(true)
            .follow(FollowSymlinks::No)
            // A FIFO planted at the destination must not block the host.
            .nonblock(true);
        let mut target = target_root.dir.open_with(&target_rest, &options)?;
        let target_meta = target.metadata()?;
        if !target_meta.is_file() || target_meta.nlink() > 1 {
            return Err(denied(format!(
                "sandbox: {} is not a plain file of its own",
                to.display()
            )));
        }
        target.set_len(0)?;
        let copied = io::copy(&mut source, &mut target)?;
        target.set_permissions(cap_std::fs::Permissions::from_mode(meta.mode() & 0o777))?;
        Ok(copied)
    }

    /// Makes `path` read-only or writable, where the script may write.
    pub(crate) fn set_readonly(&self, path: &Path, readonly: bool) -> io::Result<()> {
        let (root, rest) = self.locate(path, true)?;
        let mut permissions = root.dir.metadata(&rest)?.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(readonly);
        root.dir.set_permissions(&rest, permissions)
    }

    /// The Unix mode, owner and group of `path` (through a last symlink when `follow`),
    /// where the script may read: what a native script's `MetadataExt` reports, which
    /// WASI's file status does not carry.
    pub(crate) fn unix_stat(&self, path: &Path, follow: bool) -> io::Result<[u32; 3]> {
        let (root, rest) = self.locate(path, false)?;
        let meta = if follow {
            root.dir.metadata(&rest)?
        } else {
            root.dir.symlink_metadata(&rest)?
        };
        Ok([meta.mode(), meta.uid(), meta.gid()])
    }

    /// Whether the script may write `path`: it lies where the script may write, and is
    /// not read-only.
    pub(crate) fn is_writable(&self, path: &Path) -> bool {
        self.locate(path, true)
            .and_then(|(root, rest)| root.dir.metadata(rest))
            .is_ok_and(|meta| !meta.permissions().readonly())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn unix_stat_reports_mode_and_owner_only_where_the_script_may_read() {
        use std::fs;
        use std::os::unix::fs::MetadataExt as _;
        let l = layout();
        fs::write(l.out.join("tool"), "x").unwrap();
        fs::set_permissions(l.out.join("tool"), fs::Permissions::from_mode(0o751)).unwrap();
        let [mode, uid, gid] = l.fs.unix_stat(&l.out.join("tool"), true).unwrap();
        assert_eq!(mode, 0o100_751);
        let meta = fs::metadata(l.out.join("tool")).unwrap();
        assert_eq!((uid, gid), (meta.uid(), meta.gid()));
        symlink(&l.outside, l.out.join("away")).unwrap();
        assert!(l.fs.unix_stat(&l.out.join("away"), true).is_err());
        assert!(l.fs.unix_stat(&l.outside, true).is_err());
        let [link, _, _] = l.fs.unix_stat(&l.out.join("away"), false).unwrap();
        assert_eq!(link & 0o170_000, 0o120_000);
    }

    struct Layout {
        _dir: tempfile::TempDir,
        pkg: PathBuf,
        out: PathBuf,
        outside: PathBuf,
        fs: HostFs,
    }

    fn layout() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (pkg, out, outside) = (base.join("pkg"), base.join("out"), base.join("outside"));
        for d in [&pkg, &out, &outside] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(pkg.join("tool.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(pkg.join("tool.sh"), std::fs::Permissions::from_mode(0o4755))
            .unwrap();
        std::fs::write(outside.join("secret"), "SECRET").unwrap();
        let fs = HostFs::open(&[
            Preopen {
                path: pkg.clone(),
                access: Access::ReadOnly,
            },
            Preopen {
                path: out.clone(),
                access: Access::ReadWrite,
            },
        ])
        .unwrap();
        Layout {
            _dir: dir,
            pkg,
            out,
            outside,
            fs,
        }
    }

    #[test]
    fn copies_keep_modes_within_the_preopens() {
        let l = layout();
        l.fs.copy(&l.pkg.join("tool.sh"), &l.out.join("tool.sh"))
            .unwrap();
        let mode = std::fs::metadata(l.out.join("tool.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
        assert!(
            l.fs.copy(&l.outside.join("secret"), &l.out.join("s"))
                .is_err()
        );
        assert!(
            l.fs.copy(&l.out.join("../outside/secret"), &l.out.join("s"))
                .is_err()
        );
        assert!(
            l.fs.copy(&l.pkg.join("tool.sh"), &l.pkg.join("copy"))
                .is_err()
        );
        assert!(
            l.fs.copy(&l.pkg.join("tool.sh"), &l.outside.join("copy"))
                .is_err()
        );
    }

    #[test]
    fn symlinks_never_lead_out_in_either_direction() {
        let l = layout();
        symlink(l.outside.join("secret"), l.out.join("read-link")).unwrap();
        symlink("../outside/secret", l.out.join("relative-link")).unwrap();
        symlink(l.outside.join("planted"), l.out.join("write-link")).unwrap();
        symlink(&l.outside, l.out.join("dir-link")).unwrap();
        for from in ["read-link", "relative-link", "dir-link/secret"] {
            assert!(
                l.fs.copy(&l.out.join(from), &l.out.join("x")).is_err(),
                "{from}"
            );
        }
        for to in ["write-link", "dir-link/planted"] {
            assert!(
                l.fs.copy(&l.pkg.join("tool.sh"), &l.out.join(to)).is_err(),
                "{to}"
            );
        }
        assert!(
            l.fs.set_readonly(&l.out.join("dir-link/secret"), false)
                .is_err()
        );
        assert!(!l.outside.join("planted").exists());
        assert_eq!(
            std::fs::read_to_string(l.outside.join("secret")).unwrap(),
            "SECRET"
        );
    }

    #[test]
    fn hard_links_and_fifos_at_the_destination_are_refused() {
        let l = layout();
        std::fs::hard_link(l.outside.join("secret"), l.out.join("hard")).unwrap();
        assert!(
            l.fs.copy(&l.pkg.join("tool.sh"), &l.out.join("hard"))
                .is_err()
        );
        assert_eq!(
            std::fs::read_to_string(l.outside.join("secret")).unwrap(),
            "SECRET"
        );
        let fifo = std::ffi::CString::new(l.out.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: creates a FIFO at a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        assert!(
            l.fs.copy(&l.pkg.join("tool.sh"), &l.out.join("fifo"))
                .is_err()
        );
    }

    /// A link flipped between "inside" and "outside" while the host copies: no round
    /// may read the secret or write outside.
    #[test]
    fn a_symlink_flipped_in_a_loop_never_leads_out() {
        let l = layout();
        std::fs::write(l.out.join("harmless"), "fine").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flipper = {
            let (out, outside, stop) = (l.out.clone(), l.outside.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut flip = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let tmp = out.join("flip.tmp");
                    let _ = std::fs::remove_file(&tmp);
                    let target = if flip {
                        outside.join("secret")
                    } else {
                        out.join("harmless")
                    };
                    let _ = symlink(target, &tmp);
                    let _ = std::fs::rename(&tmp, out.join("flip"));
                    let wtmp = out.join("wflip.tmp");
                    let _ = std::fs::remove_file(&wtmp);
                    let wtarget = if flip {
                        outside.join("overwritten")
                    } else {
                        out.join("w")
                    };
                    let _ = symlink(wtarget, &wtmp);
                    let _ = std::fs::rename(&wtmp, out.join("wflip"));
                    flip = !flip;
                }
            })
        };
        for _ in 0..2000 {
            if l.fs.copy(&l.out.join("flip"), &l.out.join("copy")).is_ok() {
                assert_eq!(std::fs::read_to_string(l.out.join("copy")).unwrap(), "fine");
            }
            let _ = l.fs.copy(&l.pkg.join("tool.sh"), &l.out.join("wflip"));
            let _ = l.fs.set_readonly(&l.out.join("flip"), true);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        flipper.join().unwrap();
        assert!(!l.outside.join("overwritten").exists());
        let mode = std::fs::metadata(l.outside.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(mode & 0o200, 0, "the secret's permissions were not changed");
    }
}
