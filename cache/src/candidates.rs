//! Two-level entries, as ccache's direct mode keeps them: under a first-level key (what
//! is known before the work) the store keeps the second-level candidates seen (what the
//! work turned out to read), newest first; each candidate's result is an entry of its own.
//! The compiled-script cache and the run cache both keep their entries this way.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ArtifactCache, Key, Kind};

/// The first-level entry: the candidates, in the format their writer used.
#[derive(Serialize, Deserialize)]
struct Candidates<C> {
    format: u32,
    candidates: Vec<C>,
}

impl ArtifactCache {
    /// The candidates under `first`, newest first; `None` when there is no entry, or only
    /// an unreadable one or one of another `format`.
    pub fn candidates<C: DeserializeOwned>(
        &self,
        kind: Kind,
        first: &Key,
        format: u32,
    ) -> Option<Vec<C>> {
        self.fetch_bytes(kind, first)
            .and_then(|bytes| serde_json::from_slice::<Candidates<C>>(&bytes).ok())
            .filter(|entry| entry.format == format)
            .map(|entry| entry.candidates)
    }

    /// Puts `candidate` first under `first` (once), keeping at most `keep`; an entry of
    /// another `format` is replaced.
    pub fn add_candidate<C: Serialize + DeserializeOwned + PartialEq>(
        &self,
        kind: Kind,
        first: &Key,
        format: u32,
        keep: usize,
        candidate: C,
    ) -> Option<()> {
        let mut candidates: Vec<C> = self.candidates(kind, first, format).unwrap_or_default();
        candidates.retain(|seen| *seen != candidate);
        candidates.insert(0, candidate);
        candidates.truncate(keep);
        let bytes = serde_json::to_vec(&Candidates { format, candidates }).ok()?;
        self.store_bytes(kind, first, &bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_once_at_most_keep_and_only_in_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("artifacts")).unwrap();
        let first = Key::builder("test").finish();
        for candidate in ["a", "b", "a", "c"] {
            store
                .add_candidate(Kind::Run, &first, 1, 2, candidate.to_string())
                .unwrap();
        }
        let seen: Vec<String> = store.candidates(Kind::Run, &first, 1).unwrap();
        assert_eq!(seen, ["c", "a"]);
        assert!(store.candidates::<String>(Kind::Run, &first, 2).is_none());
        store
            .add_candidate(Kind::Run, &first, 2, 2, "d".to_string())
            .unwrap();
        let seen: Vec<String> = store.candidates(Kind::Run, &first, 2).unwrap();
        assert_eq!(seen, ["d"]);
    }
}
