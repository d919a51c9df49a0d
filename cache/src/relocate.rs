//! Entries made path-independent: a build's own directories (its target directory, its
//! `OUT_DIR`) written into an entry's text are replaced by a mark when it is stored and by
//! the directories of the build that fetches it, so that two target directories share it.

/// `bytes` with every occurrence of `from` replaced by `to` (nothing replaced when `from`
/// is empty).
pub fn relocate(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(from.len()).position(|window| window == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::relocate;

    #[test]
    fn every_occurrence_and_only_those_are_replaced() {
        assert_eq!(relocate(b"/t/a:/t/b /tt", b"/t/", b"@/"), b"@/a:@/b /tt");
        assert_eq!(relocate(b"abc", b"", b"x"), b"abc");
        assert_eq!(relocate(b"aaa", b"aa", b"b"), b"ba");
    }
}
