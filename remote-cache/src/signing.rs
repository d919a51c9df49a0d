//! Who wrote an entry: ed25519 signatures over (action digest, result digest), and the
//! keys a reader trusts, written as Nix writes its own (`name:base64`).

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
#[cfg(feature = "client")]
use bazel_remote_apis::build::bazel::remote::execution::v2::Digest;
#[cfg(feature = "client")]
use ed25519_dalek::{Signer as _, Verifier as _};

use crate::KeyError;
#[cfg(feature = "client")]
use crate::SignatureError;

#[cfg(feature = "client")]
/// What is signed: the tool's domain, then both digests. A signature over another
/// (action, result) pair, or made for anything else, never verifies here.
pub fn signed_message(action: &Digest, result: &Digest) -> Vec<u8> {
    format!(
        "cargo-wasm-build shared run v1\naction {}/{}\nresult {}/{}\n",
        action.hash, action.size_bytes, result.hash, result.size_bytes
    )
    .into_bytes()
}

/// A writer's secret key and its name.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.name)
    }
}

impl SigningKey {
    /// A new key named `name`, from the operating system's randomness.
    ///
    /// # Errors
    ///
    /// The name is not a plain word, or no randomness could be had.
    pub fn generate(name: &str) -> Result<SigningKey, KeyError> {
        check_name(name)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|err| KeyError::Malformed(format!("no randomness: {err}")))?;
        Ok(SigningKey {
            name: name.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&secret),
        })
    }

    /// Reads a key file written by [`SigningKey::secret_text`].
    ///
    /// # Errors
    ///
    /// The file cannot be read or does not hold a key.
    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(KeyError::Read)?;
        SigningKey::parse(text.trim())
    }

    /// Parses `name:base64` of the 32-byte secret (or Nix's 64 bytes, secret then
    /// public).
    ///
    /// # Errors
    ///
    /// Not of that form.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let (name, bytes) = split_named(text)?;
        let secret: [u8; 32] = match bytes.len() {
            32 | 64 => bytes[..32]
                .try_into()
                .map_err(|_| KeyError::Malformed("not an ed25519 secret key".into()))?,
            _ => return Err(KeyError::Malformed("not an ed25519 secret key".into())),
        };
        Ok(SigningKey {
            name,
            key: ed25519_dalek::SigningKey::from_bytes(&secret),
        })
    }

    /// The key file's contents: `name:base64`, secret.
    pub fn secret_text(&self) -> String {
        format!("{}:{}", self.name, STANDARD.encode(self.key.to_bytes()))
    }

    /// The public key to trust: `name:base64`.
    pub fn public_text(&self) -> String {
        format!(
            "{}:{}",
            self.name,
            STANDARD.encode(self.key.verifying_key().to_bytes())
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    #[cfg(feature = "client")]
    /// A signature of (action, result), as stored: `name:base64`.
    pub fn sign(&self, action: &Digest, result: &Digest) -> String {
        let signature = self.key.sign(&signed_message(action, result));
        format!("{}:{}", self.name, STANDARD.encode(signature.to_bytes()))
    }
}

/// The public keys a reader accepts entries from.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<(String, ed25519_dalek::VerifyingKey)>,
}

impl TrustedKeys {
    /// Parses `name:base64` keys separated by whitespace or commas.
    ///
    /// # Errors
    ///
    /// One of them is not a public key.
    pub fn parse(text: &str) -> Result<TrustedKeys, KeyError> {
        let mut keys = Vec::new();
        for item in text.split([',', ' ', '\n', '\t']).filter(|s| !s.is_empty()) {
            let (name, bytes) = split_named(item)?;
            let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                KeyError::Malformed(format!("`{name}` is not an ed25519 public key"))
            })?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| {
                KeyError::Malformed(format!("`{name}` is not an ed25519 public key"))
            })?;
            keys.push((name, key));
        }
        Ok(TrustedKeys { keys })
    }

    /// Whether no key is trusted (then nothing is ever read).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[cfg(feature = "client")]
    /// Checks a stored signature of (action, result): the name of the key that made it.
    ///
    /// # Errors
    ///
    /// Malformed, made by a key not trusted here, or not verifying.
    pub fn verify(
        &self,
        signature: &str,
        action: &Digest,
        result: &Digest,
    ) -> Result<String, SignatureError> {
        let (name, bytes) = split_named(signature.trim()).map_err(|_| SignatureError::Malformed)?;
        let bytes: [u8; 64] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SignatureError::Malformed)?;
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        let candidates: Vec<_> = self.keys.iter().filter(|(n, _)| *n == name).collect();
        if candidates.is_empty() {
            return Err(SignatureError::Untrusted(name));
        }
        let message = signed_message(action, result);
        candidates
            .iter()
            .find(|(_, key)| key.verify(&message, &signature).is_ok())
            .map(|(name, _)| name.clone())
            .ok_or(SignatureError::Invalid(name))
    }
}

/// A key's name: letters, digits and `.-_`, as Nix names them (`ci.example.com-1`).
fn check_name(name: &str) -> Result<(), KeyError> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        Ok(())
    } else {
        Err(KeyError::Malformed(
            "a key's name is letters, digits, `.`, `-` and `_`".into(),
        ))
    }
}

fn split_named(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let (name, data) = text
        .split_once(':')
        .ok_or_else(|| KeyError::Malformed("not of the form `name:base64`".into()))?;
    check_name(name)?;
    let bytes = STANDARD
        .decode(data)
        .map_err(|_| KeyError::Malformed(format!("`{name}`: not base64")))?;
    Ok((name.to_string(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "client")]
    fn digest(hash: &str, size: i64) -> Digest {
        Digest {
            hash: hash.into(),
            size_bytes: size,
        }
    }

    #[test]
    #[cfg(feature = "client")]
    fn a_signature_verifies_only_for_its_pair_and_trusted_key() {
        let key = SigningKey::generate("ci-1").unwrap();
        let other = SigningKey::generate("ci-1").unwrap();
        let trusted = TrustedKeys::parse(&key.public_text()).unwrap();
        let (a, r) = (digest("aa", 1), digest("bb", 2));
        let signature = key.sign(&a, &r);
        assert_eq!(trusted.verify(&signature, &a, &r).unwrap(), "ci-1");
        assert_eq!(
            trusted.verify(&signature, &a, &digest("bc", 2)),
            Err(SignatureError::Invalid("ci-1".into()))
        );
        assert_eq!(
            trusted.verify(&other.sign(&a, &r), &a, &r),
            Err(SignatureError::Invalid("ci-1".into()))
        );
        let stranger = SigningKey::generate("dev").unwrap();
        assert_eq!(
            trusted.verify(&stranger.sign(&a, &r), &a, &r),
            Err(SignatureError::Untrusted("dev".into()))
        );
        assert_eq!(
            trusted.verify("ci-1:AAAA", &a, &r),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        let key = SigningKey::generate("ci.example.com-1").unwrap();
        let again = SigningKey::parse(&key.secret_text()).unwrap();
        assert_eq!(again.public_text(), key.public_text());
        let other = SigningKey::generate("other").unwrap();
        let both = format!("{}, {}", key.public_text(), other.public_text());
        assert_eq!(TrustedKeys::parse(&both).unwrap().keys.len(), 2);
        assert!(TrustedKeys::parse("nocolon").is_err());
        assert!(TrustedKeys::parse("bad name:AAAA").is_err());
        assert!(SigningKey::generate("a b").is_err());
    }
}
