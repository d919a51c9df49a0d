//! Removing a stand-in so that cargo compiles the build script again.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Removes `exe` and the other names cargo gave it (it hard-links the compiled script as
/// `build-script-build`), so that cargo finds its output missing.
pub fn remove_with_hard_links(exe: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(exe).with_context(|| format!("failed to inspect {}", exe.display()))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let entries = fs::read_dir(dir).with_context(|| format!("failed to list {}", dir.display()))?;
    for entry in entries.flatten() {
        let same = entry
            .metadata()
            .is_ok_and(|other| other.dev() == meta.dev() && other.ino() == meta.ino());
        if same {
            let path = entry.path();
            fs::remove_file(&path)
                .with_context(|| format!("failed to remove {}", path.display()))?;
        }
    }
    Ok(())
}
