//! The shared cache: a run cache entry as a Remote Execution API (v2) action and its
//! result, read from and written to any REAPI cache (see `wasm_build_remote_cache`).
//!
//! **Action.** The run's first-level key inputs ([`KeyInputs`]), serialized as the local
//! key serializes them, are the one file of the action's input root (`key.json`), so
//! the action digest covers exactly what the local first-level key covers. The `Command`
//! says the same for people and for remote execution to come: the runner and its
//! version (`cargo-wasm-build-run`, the tool and facade, the engine key, the package),
//! the guest's environment (the build directory as `${CARGO_BUILD_DIR}`), and the output
//! directory `out`.
//!
//! **Result.** An `ActionResult` whose output files are the `OUT_DIR` files under `out/`,
//! whose stdout is the script's stdout (the build directory as a mark), and two files of
//! the tool's own: `.cargo-wasm-build/run.json`, the *result record* (the second-level
//! candidate: programs the run executed by path and SHA-256; and the local entry's
//! result: every file by path, digest, size and mode, the stdout's digest, what the
//! audit log says of the run), and `.cargo-wasm-build/signature`. The record is what is
//! restored: the `ActionResult`'s file list is for other REAPI tools and never read.
//!
//! **Trust.** The signature is `name:base64` of an ed25519 signature over (action
//! digest, record digest) ([`signed_message`](wasm_build_remote_cache::signed_message)),
//! stored as a CAS blob referenced from the `ActionResult` (an output file), so it
//! survives servers that rewrite execution metadata. A reader fetches the record and
//! the signature (each checked against its digest), verifies the signature under one of
//! its trusted keys, and only then reads the record: an entry that is unsigned, signed by
//! a key it does not trust, signed over another record, or whose blobs do not match their
//! digests is not used, said once ([W411](wasm_build_contract::Code::W411)), and the
//! script runs. A verified entry is written into the local store and restored by the
//! local path, which checks every file's digest again and replays the stdout through
//! the directive policy of this build.
//!
//! **Never shared.** Runs the local cache never stores (network grants, `run-natively`,
//! failed runs, hidden lookups), and runs whose output depends on where the build
//! directory is.

use std::time::Instant;

use wasm_build_cache::Kind;
use wasm_build_diagnostics::cache::CacheProblem;
use wasm_build_remote_cache::proto::{
    Action, ActionResult, Command, Digest, Directory, FileNode, OutputFile as ProtoFile,
    command::EnvironmentVariable,
};
use wasm_build_remote_cache::{Config, Message as _, RemoteCache, digest_of};

use super::{Candidate, FORMAT, KeyInputs, Lookup, ROOT_MARK, RunResult};

const RECORD_PATH: &str = ".cargo-wasm-build/run.json";
const SIGNATURE_PATH: &str = ".cargo-wasm-build/signature";
const OUT_PREFIX: &str = "out/";

/// What a reader restores and a writer signs: one candidate and its result.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Record {
    format: u32,
    /// The action digest (`hash/size`): also signed, said twice so a record is never read
    /// for another action.
    action: String,
    candidate: Candidate,
    result: RunResult,
}

/// An action and the blobs that define it.
struct ActionParts {
    digest: Digest,
    blobs: Vec<Vec<u8>>,
}

/// The shared cache, connected, for one run.
struct Shared {
    cache: RemoteCache,
    config: Config,
}

/// Connects to the configured shared cache; `None` when none is configured, or when it
/// is unusable (said once per build; later stand-ins of the build do not try again).
fn connect(lookup: &Lookup) -> Option<Shared> {
    if lookup.store.remote_unusable() {
        return None;
    }
    let config = match Config::from_env() {
        Ok(Some(config)) => config,
        Ok(None) => return None,
        Err(err) => {
            let why = err.to_string();
            let problem = CacheProblem::SharedMisconfigured { why: &why };
            lookup.store.note_remote_unusable(&problem.sentence());
            return None;
        }
    };
    match RemoteCache::connect(&config) {
        Ok(cache) => Some(Shared { cache, config }),
        Err(err) => {
            let why = err.to_string();
            let problem = CacheProblem::SharedUnreachable {
                endpoint: &config.endpoint,
                why: &why,
            };
            lookup.store.note_remote_unusable(&problem.sentence());
            None
        }
    }
}

/// The action of a run, from its first-level key inputs.
fn action(inputs: &KeyInputs) -> Option<ActionParts> {
    let key = serde_json::to_vec(inputs).ok()?;
    let key_digest = digest_of(&key);
    let root = Directory {
        files: vec![FileNode {
            name: "key.json".into(),
            digest: Some(key_digest),
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_vec();
    let shown = |value: &str| value.replace(ROOT_MARK, "${CARGO_BUILD_DIR}");
    let command = Command {
        arguments: vec![
            "cargo-wasm-build-run".into(),
            inputs.tool.clone(),
            format!("--engine={}", inputs.engine),
            format!("--package={}@{}", inputs.package, inputs.version),
        ],
        environment_variables: inputs
            .env
            .iter()
            .map(|(name, value)| EnvironmentVariable {
                name: name.clone(),
                value: shown(value),
            })
            .collect(),
        output_paths: vec!["out".into()],
        ..Default::default()
    }
    .encode_to_vec();
    let action = Action {
        command_digest: Some(digest_of(&command)),
        input_root_digest: Some(digest_of(&root)),
        salt: format!("cargo-wasm-build shared run v{FORMAT}").into_bytes(),
        ..Default::default()
    }
    .encode_to_vec();
    Some(ActionParts {
        digest: digest_of(&action),
        blobs: vec![key, root, command, action],
    })
}

fn digest_text(digest: &Digest) -> String {
    format!("{}/{}", digest.hash, digest.size_bytes)
}

/// Looks the run up in the shared cache; on a verified hit, writes it into the local
/// store (from where the caller restores it) and says where it came from.
pub(super) fn fetch(lookup: &Lookup) -> Option<String> {
    let shared = connect(lookup)?;
    if shared.config.trusted.is_empty() {
        if !shared.config.writes() {
            let problem = CacheProblem::NoTrustedKey {
                endpoint: &shared.config.endpoint,
                variable: wasm_build_remote_cache::TRUSTED_KEYS_ENV,
            };
            lookup.store.note_remote_unusable(&problem.sentence());
        }
        return None;
    }
    let started = Instant::now();
    let parts = action(&lookup.inputs)?;
    let found = match shared.cache.get_action_result(&parts.digest) {
        Ok(found) => found,
        Err(err) => {
            unusable(lookup, &shared, &err);
            return None;
        }
    };
    let Some(result) = found else {
        lookup.store.note_remote("miss");
        return None;
    };
    match verified(&shared, &parts.digest, &result)
        .and_then(|record| applicable(lookup, record))
        .and_then(|record| import(lookup, &shared, &record))
    {
        Ok(true) => {
            lookup.store.note_remote("hit");
            Some(format!(
                "{} (fetched from the shared cache {} in {:.1}s)",
                lookup.store.root().display(),
                shared.config.endpoint,
                started.elapsed().as_secs_f64()
            ))
        }
        Ok(false) => {
            lookup.store.note_remote("miss");
            None
        }
        Err(why) => {
            let problem = CacheProblem::SharedEntryNotUsed {
                endpoint: &shared.config.endpoint,
                package: &lookup.inputs.package,
                version: &lookup.inputs.version,
                why: &why,
            };
            lookup.store.note_remote_problem(&problem.sentence());
            None
        }
    }
}

fn unusable(lookup: &Lookup, shared: &Shared, err: &wasm_build_remote_cache::RemoteError) {
    let why = err.to_string();
    let problem = CacheProblem::SharedUnreachable {
        endpoint: &shared.config.endpoint,
        why: &why,
    };
    lookup.store.note_remote_unusable(&problem.sentence());
}

/// The record of an `ActionResult`, once its signature verifies under a trusted key over
/// (action, record) and its blobs match their digests.
fn verified(shared: &Shared, action: &Digest, result: &ActionResult) -> Result<Record, String> {
    let file = |path: &str| {
        result
            .output_files
            .iter()
            .find(|file| file.path == path)
            .and_then(|file| file.digest.clone())
    };
    let (Some(record_digest), Some(signature_digest)) = (file(RECORD_PATH), file(SIGNATURE_PATH))
    else {
        return Err("it is not signed (no signature, or not made by cargo-wasm-build)".into());
    };
    let blobs = shared
        .cache
        .download(&[signature_digest, record_digest.clone()])
        .map_err(|err| format!("its signature or record cannot be fetched: {err}"))?;
    let signature = String::from_utf8_lossy(&blobs[0]);
    shared
        .config
        .trusted
        .verify(&signature, action, &record_digest)
        .map_err(|err| err.to_string())?;
    let record: Record = serde_json::from_slice(&blobs[1])
        .map_err(|_| "its record cannot be read (another version wrote it)".to_string())?;
    if record.format != FORMAT || record.action != digest_text(action) {
        return Err("its record is of another format or action".into());
    }
    Ok(record)
}

/// `None` (a miss, not a problem) when the record does not apply here: a program it ran
/// is not the same file here.
fn applicable(_lookup: &Lookup, record: Record) -> Result<Option<Record>, String> {
    let applies = record.candidate.build_dir.is_none()
        && record.candidate.programs.iter().all(super::still_the_same);
    Ok(applies.then_some(record))
}

/// Writes a verified record's blobs (each checked against its digest on fetch) and the
/// candidate into the local store. `Ok(false)` when there was nothing to write.
fn import(lookup: &Lookup, shared: &Shared, record: &Option<Record>) -> Result<bool, String> {
    let Some(record) = record else {
        return Ok(false);
    };
    let files: Vec<&super::OutputFile> = std::iter::once(&record.result.stdout)
        .chain(&record.result.files)
        .collect();
    let digests: Vec<Digest> = files
        .iter()
        .map(|file| Digest {
            hash: file.digest.clone(),
            size_bytes: i64::try_from(file.size).unwrap_or(i64::MAX),
        })
        .collect();
    let blobs = shared
        .cache
        .download(&digests)
        .map_err(|err| format!("its outputs cannot be fetched: {err}"))?;
    let local = "cannot write it into the local store";
    for (file, blob) in files.iter().zip(&blobs) {
        lookup
            .put_blob(&file.digest, blob)
            .map_err(|_| local.to_string())?;
    }
    let result_key = record.candidate.result_key(&lookup.key).ok_or(local)?;
    let bytes = serde_json::to_vec(&record.result).map_err(|_| local)?;
    lookup
        .store
        .store_bytes(Kind::Run, &result_key, &bytes)
        .map_err(|_| local)?;
    lookup
        .add_candidate(record.candidate.clone())
        .ok_or(local)?;
    Ok(true)
}

/// After a run was stored locally: when writing is configured, uploads it (the candidate
/// the local store now lists first) and its signed result. Runs valid in this build
/// directory only are not shared. Nothing about it fails the build.
pub(super) fn store(lookup: &Lookup) {
    let Some(shared) = connect(lookup) else {
        return;
    };
    let Some(signing) = &shared.config.signing else {
        return;
    };
    let Some((record, blobs, result)) = entry(lookup) else {
        return;
    };
    let Some(mut parts) = action(&lookup.inputs) else {
        return;
    };
    if record.candidate.build_dir.is_some() {
        return;
    }
    let Ok(record_bytes) = serde_json::to_vec(&Record {
        action: digest_text(&parts.digest),
        ..record
    }) else {
        return;
    };
    let record_digest = digest_of(&record_bytes);
    let signature = signing.sign(&parts.digest, &record_digest).into_bytes();
    let mut output_files = vec![
        ProtoFile {
            path: RECORD_PATH.into(),
            digest: Some(record_digest),
            ..Default::default()
        },
        ProtoFile {
            path: SIGNATURE_PATH.into(),
            digest: Some(digest_of(&signature)),
            ..Default::default()
        },
    ];
    output_files.extend(result.files.iter().map(|file| ProtoFile {
        path: format!("{OUT_PREFIX}{}", file.path),
        digest: Some(Digest {
            hash: file.digest.clone(),
            size_bytes: i64::try_from(file.size).unwrap_or(i64::MAX),
        }),
        is_executable: file.executable,
        ..Default::default()
    }));
    let action_result = ActionResult {
        output_files,
        exit_code: 0,
        stdout_digest: Some(Digest {
            hash: result.stdout.digest.clone(),
            size_bytes: i64::try_from(result.stdout.size).unwrap_or(i64::MAX),
        }),
        ..Default::default()
    };
    parts.blobs.extend(blobs);
    parts.blobs.push(record_bytes);
    parts.blobs.push(signature);
    let written = shared.cache.upload(&parts.blobs).and_then(|()| {
        shared
            .cache
            .update_action_result(&parts.digest, action_result)
    });
    match written {
        Ok(()) => lookup.store.note_remote("written"),
        Err(err) => {
            let why = err.to_string();
            let problem = CacheProblem::SharedRunNotWritten {
                endpoint: &shared.config.endpoint,
                package: &lookup.inputs.package,
                version: &lookup.inputs.version,
                why: &why,
            };
            lookup.store.note_remote_problem(&problem.sentence());
        }
    }
}

/// The local entry just stored: its record (without the action yet), the blobs of its
/// stdout and files, and its result.
fn entry(lookup: &Lookup) -> Option<(Record, Vec<Vec<u8>>, RunResult)> {
    let candidates: Vec<Candidate> = lookup.store.candidates(Kind::Run, &lookup.key, FORMAT)?;
    let candidate = candidates.into_iter().next()?;
    let result_key = candidate.result_key(&lookup.key)?;
    let result: RunResult = lookup
        .store
        .fetch_bytes(Kind::Run, &result_key)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
    let mut blobs = Vec::new();
    for file in std::iter::once(&result.stdout).chain(&result.files) {
        let blob = lookup
            .store
            .fetch_bytes(Kind::Run, &super::blob_key(&file.digest))?;
        blobs.push(blob);
    }
    let record = Record {
        format: FORMAT,
        action: String::new(),
        candidate,
        result: result.clone(),
    };
    Some((record, blobs, result))
}
