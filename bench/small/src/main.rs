//! Uses each dependency once, so the build is the build of a real program.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct Record {
    name: String,
    size: usize,
}

#[derive(thiserror::Error, Debug)]
#[error("no match")]
struct NoMatch;

fn main() -> anyhow::Result<()> {
    let record: Record = serde_json::from_str(r#"{"name":"bench","size":3}"#)?;
    let re = regex::Regex::new(r"^b\w+$")?;
    if !re.is_match(&record.name) {
        return Err(NoMatch.into());
    }
    let packed = zstd::encode_all(record.name.as_bytes(), 3)?;
    let lock = parking_lot::Mutex::new(0usize);
    let counter = AtomicUsize::new(0);
    crossbeam_utils::thread::scope(|scope| {
        scope.spawn(|_| *lock.lock() += packed.len());
        counter.fetch_add(<typenum::U3 as typenum::Unsigned>::USIZE, Ordering::SeqCst);
    })
    .map_err(|_| anyhow::anyhow!("a thread panicked"))?;
    let total = num_traits::clamp(*lock.lock() + counter.into_inner(), 0, usize::MAX);
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    println!("{record:?} {total} {pid}");
    Ok(())
}
