//! The shared run cache over REAPI, against a real BuildGrid on a loopback port (started
//! and stopped by each test, installed by `.ci/buildgrid.sh`): a CI-like writer signs what
//! it stores, a reader that trusts its key runs no build script and builds the same
//! bytes; unsigned, forged, wrongly signed, untrusted and corrupted entries are refused
//! with one warning and the scripts run; read-only configurations write nothing; a
//! server that is down costs one warning; network-granted runs never reach it.

use std::collections::BTreeMap;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasm_build_contract::audit;
use wasm_build_remote_cache::proto::{ActionResult, Digest, OutputFile};
use wasm_build_remote_cache::{Config, RemoteCache, SigningKey, digest_of};

use crate::support::{Project, Run, manifest};

/// A BuildGrid server with a disk CAS and an action cache, stopped when dropped.
struct BuildGrid {
    child: Child,
    dir: tempfile::TempDir,
    endpoint: String,
    /// The REAPI instance name its services are under.
    instance: String,
}

impl BuildGrid {
    fn start() -> BuildGrid {
        BuildGrid::start_instance("")
    }

    fn start_instance(instance: &str) -> BuildGrid {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/buildgrid.sh");
        let installed = Command::new("bash").arg(&script).output().unwrap();
        assert!(
            installed.status.success(),
            "BuildGrid could not be installed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let bgd = String::from_utf8(installed.stdout)
            .unwrap()
            .trim()
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cas = dir.path().join("cas");
        fs::create_dir_all(&cas).unwrap();
        let config = dir.path().join("buildgrid.yml");
        fs::write(
            &config,
            format!(
                "server:\n  - !channel\n    address: \"127.0.0.1:{port}\"\n    insecure-mode: true\n\
                 authorization:\n  method: none\n\
                 storages:\n  - !disk-storage &cas\n    path: {}\n\
                 caches:\n  - !lru-action-cache &ac\n    storage: *cas\n    max-cached-refs: 1024\n    allow-updates: true\n    cache-failed-actions: false\n\
                 instances:\n  - name: \"{instance}\"\n    services:\n      - !action-cache\n        cache: *ac\n      - !cas\n        storage: *cas\n      - !bytestream\n        storage: *cas\n",
                cas.display()
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new(bgd)
            .args(["server", "start"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "BuildGrid exited ({status}): {}",
                    fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "BuildGrid did not listen within 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        BuildGrid {
            child,
            dir,
            endpoint: format!("grpc://127.0.0.1:{port}"),
            instance: instance.to_string(),
        }
    }

    /// Every blob of the disk CAS, by path.
    fn blobs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![self.dir.path().join("cas")];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found
    }

    /// The blob of the CAS with this hash.
    fn blob(&self, hash: &str) -> PathBuf {
        self.blobs()
            .into_iter()
            .find(|path| path.to_string_lossy().replace('/', "").ends_with(hash))
            .unwrap_or_else(|| panic!("no blob {hash} in {:?}", self.blobs()))
    }

    fn client(&self) -> RemoteCache {
        let mut config = Config::for_endpoint(&self.endpoint).unwrap();
        config.instance = self.instance.clone();
        RemoteCache::connect(&config).unwrap()
    }

    /// The action of the run stored for `package`, and its result: found through the
    /// result record the writer put in the CAS, which names its action.
    fn entry_of(&self, package: &str) -> (Digest, ActionResult) {
        let client = self.client();
        for path in self.blobs() {
            let Ok(record) = serde_json::from_slice::<serde_json::Value>(&fs::read(&path).unwrap())
            else {
                continue;
            };
            let Some(action) = record["action"].as_str() else {
                continue;
            };
            let (hash, size) = action.split_once('/').unwrap();
            let digest = Digest {
                hash: hash.into(),
                size_bytes: size.parse().unwrap(),
            };
            let result = client.get_action_result(&digest).unwrap().unwrap();
            let out_files: Vec<&OutputFile> = result
                .output_files
                .iter()
                .filter(|file| file.path.starts_with("out/"))
                .collect();
            let stdout = client
                .download(&[result.stdout_digest.clone().unwrap()])
                .unwrap();
            let ours = String::from_utf8_lossy(&stdout[0]).contains(&format!("{package}_mark"));
            if ours && !out_files.is_empty() {
                return (digest, result);
            }
        }
        panic!("no entry for {package} in the CAS");
    }
}

impl Drop for BuildGrid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A workspace of `app`, whose build script writes a file from a granted variable and the
/// header its `links` dependency `depsys` exported, and `depsys`.
struct Fixture {
    project: Project,
}

impl Fixture {
    fn new() -> Fixture {
        let project = Project::new();
        project
            .file(
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"depsys\"]\nresolver = \"2\"\n\n\
                 [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nenv = [\"RC_VALUE\"]\n\
                 directives = [\"rustc-env\"]\n",
            )
            .file(
                "app/Cargo.toml",
                &manifest("app", "[dependencies]\ndepsys = { path = \"../depsys\" }"),
            )
            .file(
                "app/build.rs",
                r#"
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let value = std::env::var("RC_VALUE").unwrap_or_default();
    let include = std::env::var("DEP_DEPSYS_INCLUDE").unwrap();
    let header = std::fs::read_to_string(format!("{include}/dep.h")).unwrap();
    std::fs::create_dir_all(format!("{out}/gen")).unwrap();
    let values = format!("{value}|{}", header.trim());
    std::fs::write(format!("{out}/gen/values.rs"), format!("pub const VALUES: &str = {values:?};\n")).unwrap();
    // Larger than a batch: fetched and stored through ByteStream.
    let big: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(format!("{out}/big.bin"), big).unwrap();
    println!("cargo:rustc-cfg=app_mark");
    println!("cargo:rustc-env=APP_BUILT=built");
    println!("cargo:rustc-check-cfg=cfg(app_mark)");
    println!("cargo:rerun-if-env-changed=RC_VALUE");
}
"#,
            )
            .file(
                "app/src/main.rs",
                "include!(concat!(env!(\"OUT_DIR\"), \"/gen/values.rs\"));\n\
                 fn main() { println!(\"{VALUES} {} {}\", cfg!(app_mark), env!(\"APP_BUILT\")); }\n",
            )
            .file(
                "depsys/Cargo.toml",
                &manifest("depsys", "").replace("publish = false", "publish = false\nlinks = \"depsys\""),
            )
            .file(
                "depsys/build.rs",
                r##"
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::create_dir_all(format!("{out}/include")).unwrap();
    std::fs::write(format!("{out}/include/dep.h"), "#define DEP 7\n").unwrap();
    println!("cargo:include={out}/include");
    println!("cargo:rustc-cfg=depsys_mark");
}
"##,
            )
            .file("depsys/src/lib.rs", "");
        Fixture { project }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.project.root().join(name)
    }

    /// A key pair made by `cargo wasm-build cache keygen`: (secret key file, public key).
    fn keygen(&self, name: &str, file: &str) -> (String, String) {
        let secret = self.path(file);
        let run = self
            .project
            .wasm_build(&["cache", "keygen", name, "-o", &secret.display().to_string()])
            .success();
        let public = run.stdout.trim().to_string();
        assert!(public.starts_with(&format!("{name}:")), "{public}");
        assert_eq!(
            fs::read_to_string(self.path(&format!("{file}.pub")))
                .unwrap()
                .trim(),
            public
        );
        (secret.display().to_string(), public)
    }

    /// `cargo wasm-build -v --workspace` into target directory `target`, with the local
    /// store `store`, `env` on top.
    fn build(&self, target: &str, store: &str, env: &[(&str, &str)]) -> Run {
        let target = self.path(target).display().to_string();
        let store = self.path(store).display().to_string();
        let mut vars = vec![
            ("CARGO_WASM_BUILD_CACHE", store.as_str()),
            ("RC_VALUE", "v1"),
        ];
        vars.extend_from_slice(env);
        self.project
            .wasm_build_env(&["-v", "--workspace", "--target-dir", &target], &vars)
    }

    /// Whether a run of each package in `target` was restored rather than run (a failed
    /// build checks again afterwards, which runs it).
    fn restored(&self, target: &str) -> BTreeMap<String, bool> {
        let mut restored = BTreeMap::new();
        for record in audit::read(&self.path(target).join("debug/wasm-build/audit.jsonl")) {
            *restored.entry(record.package.clone()).or_insert(false) |= record.restored.is_some();
        }
        restored
    }

    /// A CI-like writer: stores every run in `server`, signed with a new key `ci-1`;
    /// returns the key pair.
    fn write(&self, server: &BuildGrid) -> (String, String) {
        let (secret, public) = self.keygen("ci-1", "ci.key");
        let run = self
            .build(
                "t-writer",
                "store-writer",
                &[
                    ("CARGO_WASM_BUILD_REMOTE_CACHE", &server.endpoint),
                    ("CARGO_WASM_BUILD_REMOTE_CACHE_INSTANCE", &server.instance),
                    ("CARGO_WASM_BUILD_REMOTE_CACHE_WRITE", "1"),
                    ("CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY", &secret),
                    ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", &public),
                ],
            )
            .success()
            .stderr_has("Shared cache: fetched 0 build-script runs, 2 not found, wrote 2")
            .stderr_lacks("warning[W41");
        assert_eq!(
            self.restored("t-writer"),
            both(false),
            "the writer ran its scripts: {}",
            run.stderr
        );
        (secret, public)
    }

    /// A reader in a fresh target directory with a fresh local store, trusting `trusted`.
    fn read(&self, endpoint: &str, name: &str, trusted: &str) -> Run {
        self.read_instance(endpoint, "", name, trusted)
    }

    /// [`Fixture::read`] from a named REAPI instance.
    fn read_instance(&self, endpoint: &str, instance: &str, name: &str, trusted: &str) -> Run {
        self.build(
            &format!("t-{name}"),
            &format!("store-{name}"),
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_INSTANCE", instance),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", trusted),
            ],
        )
    }

    fn app_says(&self, target: &str) -> String {
        let output = Command::new(self.path(target).join("debug/app"))
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    }
}

fn both(restored: bool) -> BTreeMap<String, bool> {
    BTreeMap::from([("app".into(), restored), ("depsys".into(), restored)])
}

/// Every file of every `OUT_DIR` in a target directory, by `<package dir>/<path>`.
fn out_files(target: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(target.join("debug/build")).unwrap().flatten() {
        let out = entry.path().join("out");
        let mut pending = vec![out.clone()];
        while let Some(dir) = pending.pop() {
            for item in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = item.path();
                let name = format!(
                    "{}/{}",
                    entry.file_name().to_string_lossy(),
                    path.strip_prefix(&out).unwrap().display()
                );
                if path.is_dir() {
                    pending.push(path);
                    files.insert(name + "/", Vec::new());
                } else {
                    files.insert(name, fs::read(&path).unwrap());
                }
            }
        }
    }
    files
}

#[test]
fn a_reader_trusting_the_writer_runs_no_script_and_builds_the_same_bytes() {
    // Under a named instance, as shared servers are usually set up.
    let server = BuildGrid::start_instance("main");
    let fixture = Fixture::new();
    let (_, public) = fixture.write(&server);

    let run = fixture
        .read_instance(&server.endpoint, "main", "reader", &public)
        .success()
        .stderr_has("Restored build script of app v0.1.0 from the run cache in ")
        .stderr_has(&format!(
            "(fetched from the shared cache {}",
            server.endpoint
        ))
        .stderr_has("Shared cache: fetched 2 build-script runs, 0 not found, wrote 0")
        .stderr_lacks("warning[W41")
        .stderr_lacks("Sandboxed build script of");
    assert_eq!(fixture.restored("t-reader"), both(true), "{}", run.stderr);
    assert_eq!(
        fixture.app_says("t-reader"),
        "v1|#define DEP 7 true built\n"
    );
    let written = out_files(&fixture.path("t-writer"));
    assert_eq!(written, out_files(&fixture.path("t-reader")));
    assert!(
        written
            .iter()
            .any(|(path, bytes)| path.ends_with("/big.bin") && bytes.len() == 3 << 20),
        "a blob larger than a batch came back too"
    );
    // The same binary, byte for byte, as the writer's, which ran its scripts.
    assert_eq!(
        fs::read(fixture.path("t-writer/debug/app")).unwrap(),
        fs::read(fixture.path("t-reader/debug/app")).unwrap()
    );
    // The local store now holds the runs: a second fresh target directory needs no
    // server.
    fixture
        .build("t-reader-2", "store-reader", &[])
        .success()
        .stderr_has("Run cache: restored 2 build-script runs, ran 0");
    assert_eq!(fixture.restored("t-reader-2"), both(true));
    let stats = fixture
        .project
        .wasm_build_env(
            &["cache", "--stats"],
            &[(
                "CARGO_WASM_BUILD_CACHE",
                &fixture.path("store-reader").display().to_string(),
            )],
        )
        .success();
    assert!(
        stats
            .stdout
            .lines()
            .any(|line| line.contains("shared (REAPI) run cache")
                && line.contains(" 2 fetched, 0 not found")),
        "{}",
        stats.stdout
    );

    // A directive grant removed since the writer stored the run: the run comes from the
    // shared cache, and what it printed is judged by today's policy, so the build fails
    // on it, as for a local hit.
    fixture.project.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"depsys\"]\nresolver = \"2\"\n\n\
         [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nenv = [\"RC_VALUE\"]\n",
    );
    let revoked = fixture
        .read_instance(&server.endpoint, "main", "revoked", &public)
        .failure()
        .stderr_has("error[W101]")
        .stderr_has("cargo:rustc-env=APP_BUILT=built");
    let restored = fixture.restored("t-revoked");
    assert_eq!(restored.get("app"), Some(&true), "{}", revoked.stderr);
}

#[test]
fn untrusted_unsigned_forged_and_corrupted_entries_are_refused_and_the_scripts_run() {
    let server = BuildGrid::start();
    let fixture = Fixture::new();
    let (_, public) = fixture.write(&server);
    let refused = |name: &str, trusted: &str, why: &str| {
        let run = fixture.read(&server.endpoint, name, trusted).success();
        assert_eq!(
            run.stderr.matches("warning[W411]").count(),
            1,
            "one warning for the one bad entry: {}",
            run.stderr
        );
        let run = run
            .stderr_has(&format!(
                "an entry of the shared cache {} for the build script of `app v0.1.0` was not used: {why}; the script ran instead",
                server.endpoint
            ));
        let restored = fixture.restored(&format!("t-{name}"));
        assert_eq!(restored.get("app"), Some(&false), "{}", run.stderr);
        assert_eq!(
            fixture.app_says(&format!("t-{name}")),
            "v1|#define DEP 7 true built\n"
        );
        restored
    };

    // A key the reader does not list: nothing of the writer's is used.
    let stranger = SigningKey::generate("ci-2").unwrap();
    let run = fixture
        .read(&server.endpoint, "untrusted", &stranger.public_text())
        .success();
    assert_eq!(
        run.stderr.matches("warning[W411]").count(),
        2,
        "{}",
        run.stderr
    );
    run.stderr_has("it is signed by `ci-1`, which is not among the trusted keys");
    assert_eq!(fixture.restored("t-untrusted"), both(false));

    let client = server.client();
    let (action, original) = server.entry_of("app");
    let file = |result: &ActionResult, path: &str| {
        result
            .output_files
            .iter()
            .find(|file| file.path == path)
            .cloned()
            .unwrap()
    };
    let record_file = file(&original, ".cargo-wasm-build/run.json");
    let record_bytes = client
        .download(&[record_file.digest.clone().unwrap()])
        .unwrap()
        .remove(0);

    // A forged result: another output written straight to the server, under the old
    // signature.
    let forged_values = b"pub const VALUES: &str = \"forged\";\n".to_vec();
    let mut record: serde_json::Value = serde_json::from_slice(&record_bytes).unwrap();
    let files = record["result"]["files"].as_array_mut().unwrap();
    let values = files
        .iter_mut()
        .find(|file| file["path"] == "gen/values.rs")
        .unwrap();
    let forged_digest = digest_of(&forged_values);
    values["digest"] = forged_digest.hash.clone().into();
    values["size"] = forged_digest.size_bytes.into();
    let forged_record = serde_json::to_vec(&record).unwrap();
    client
        .upload(&[forged_values.clone(), forged_record.clone()])
        .unwrap();
    let with_record = |record: &[u8], signature: Option<Vec<u8>>| {
        let mut result = original.clone();
        result
            .output_files
            .retain(|file| !file.path.starts_with(".cargo-wasm-build/"));
        result.output_files.push(OutputFile {
            path: ".cargo-wasm-build/run.json".into(),
            digest: Some(digest_of(record)),
            ..Default::default()
        });
        if let Some(signature) = signature {
            client.upload(std::slice::from_ref(&signature)).unwrap();
            result.output_files.push(OutputFile {
                path: ".cargo-wasm-build/signature".into(),
                digest: Some(digest_of(&signature)),
                ..Default::default()
            });
        }
        client.update_action_result(&action, result).unwrap();
    };
    let old_signature = client
        .download(&[file(&original, ".cargo-wasm-build/signature")
            .digest
            .unwrap()])
        .unwrap()
        .remove(0);
    with_record(&forged_record, Some(old_signature.clone()));
    refused(
        "forged",
        &public,
        "its signature does not verify under the trusted key `ci-1` (forged or altered)",
    );

    // The forged record signed by another key that takes the writer's name.
    let impostor = SigningKey::generate("ci-1").unwrap();
    let forged_digest = digest_of(&forged_record);
    with_record(
        &forged_record,
        Some(impostor.sign(&action, &forged_digest).into_bytes()),
    );
    refused(
        "impostor",
        &public,
        "its signature does not verify under the trusted key `ci-1` (forged or altered)",
    );

    // No signature at all.
    with_record(&forged_record, None);
    refused(
        "unsigned",
        &public,
        "it is not signed (no signature, or not made by cargo-wasm-build)",
    );

    // The genuine entry again, but a blob of it damaged in the server's CAS.
    client
        .update_action_result(&action, original.clone())
        .unwrap();
    let record: serde_json::Value = serde_json::from_slice(&record_bytes).unwrap();
    let genuine = record["result"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == "gen/values.rs")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = server.blob(&genuine);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[0] ^= 0x20;
    fs::write(&blob, bytes).unwrap();
    refused(
        "corrupted",
        &public,
        "its outputs cannot be fetched: a blob does not match its digest",
    );
    // The undamaged entry of `depsys` is still used by every reader that trusts the key.
    assert_eq!(fixture.restored("t-corrupted").get("depsys"), Some(&true));
}

#[test]
fn read_only_configurations_write_nothing() {
    let server = BuildGrid::start();
    let fixture = Fixture::new();
    let (secret, public) = fixture.keygen("ci-1", "ci.key");
    // Reading only, even with a signing key configured: writing needs `..._WRITE=1`.
    fixture
        .build(
            "t-read",
            "store-read",
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", &server.endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY", &secret),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", &public),
            ],
        )
        .success()
        .stderr_has("Shared cache: fetched 0 build-script runs, 2 not found, wrote 0")
        .stderr_lacks("warning[W41");
    assert_eq!(server.blobs(), Vec::<PathBuf>::new());
    // Writing asked for without a key: nothing is written unsigned, said once.
    let run = fixture
        .build(
            "t-nokey",
            "store-nokey",
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", &server.endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_WRITE", "1"),
            ],
        )
        .success()
        .stderr_has("warning[W412]: the shared cache is not used: CARGO_WASM_BUILD_REMOTE_CACHE_WRITE=1 needs CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY");
    assert_said_once(&run, "warning[W412]");
    assert_eq!(fixture.restored("t-nokey"), both(false));
    assert_eq!(server.blobs(), Vec::<PathBuf>::new());
}

#[test]
fn a_server_that_is_down_costs_one_warning_and_the_build_passes() {
    let fixture = Fixture::new();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("grpc://127.0.0.1:{closed}");
    let started = Instant::now();
    let run = fixture
        .read(
            &endpoint,
            "down",
            &SigningKey::generate("ci-1").unwrap().public_text(),
        )
        .success()
        .stderr_has(&format!(
            "warning[W412]: the shared cache {endpoint} is not used in this build: unreachable:"
        ));
    assert_said_once(&run, "warning[W412]");
    assert_eq!(fixture.restored("t-down"), both(false));
    assert_eq!(fixture.app_says("t-down"), "v1|#define DEP 7 true built\n");
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn network_granted_runs_never_reach_the_shared_cache() {
    let server = BuildGrid::start();
    let fixture = Fixture::new();
    fixture.project.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"depsys\"]\nresolver = \"2\"\n\n\
         [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nenv = [\"RC_VALUE\"]\nnetwork = [\"curl\"]\ndirectives = [\"rustc-env\"]\n\
         [workspace.metadata.sandbox.allow.\"depsys@0.1.0\"]\nrun-natively = true\n",
    );
    let (secret, public) = fixture.keygen("ci-1", "ci.key");
    let run = fixture
        .build(
            "t-net",
            "store-net",
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", &server.endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_WRITE", "1"),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY", &secret),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", &public),
            ],
        )
        .success()
        .stderr_lacks("warning[W41");
    assert!(
        !run.stderr.contains("Shared cache: fetched"),
        "{}",
        run.stderr
    );
    assert_eq!(server.blobs(), Vec::<PathBuf>::new(), "{}", run.stderr);

    // The control: the same configuration writes once the grants are gone.
    fixture.project.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"depsys\"]\nresolver = \"2\"\n\n\
         [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nenv = [\"RC_VALUE\"]\ndirectives = [\"rustc-env\"]\n",
    );
    fixture
        .build(
            "t-net-2",
            "store-net-2",
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", &server.endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_WRITE", "1"),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_SIGNING_KEY", &secret),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", &public),
            ],
        )
        .success()
        .stderr_has("wrote 2");
    assert!(!server.blobs().is_empty());
}

#[test]
fn the_cargo_config_env_table_configures_it_and_scripts_never_see_it() {
    let fixture = Fixture::new();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("grpc://127.0.0.1:{closed}");
    let token = fixture.path("token");
    fs::write(&token, "secret-token\n").unwrap();
    fixture.project.file(
        ".cargo/config.toml",
        &format!(
            "[env]\nCARGO_WASM_BUILD_REMOTE_CACHE = \"{endpoint}\"\n\
             CARGO_WASM_BUILD_REMOTE_CACHE_TOKEN_FILE = \"{}\"\n\
             CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS = \"{}\"\n",
            token.display(),
            SigningKey::generate("ci-1").unwrap().public_text()
        ),
    );
    // The build script fails if it sees any of the shared cache's settings.
    fixture.project.file(
        "depsys/build.rs",
        r##"
fn main() {
    for (name, _) in std::env::vars() {
        assert!(!name.starts_with("CARGO_WASM_BUILD_"), "the script saw {name}");
    }
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::create_dir_all(format!("{out}/include")).unwrap();
    std::fs::write(format!("{out}/include/dep.h"), "#define DEP 7\n").unwrap();
    println!("cargo:include={out}/include");
}
"##,
    );
    let run = fixture
        .build("t-config", "store-config", &[])
        .success()
        .stderr_has(&format!(
            "warning[W412]: the shared cache {endpoint} is not used in this build: unreachable:"
        ));
    assert_eq!(fixture.restored("t-config"), both(false), "{}", run.stderr);
}

#[test]
fn a_server_that_never_answers_costs_one_warning_and_its_timeout() {
    let fixture = Fixture::new();
    // Accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("grpc://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let run = fixture
        .build(
            "t-silent",
            "store-silent",
            &[
                ("CARGO_WASM_BUILD_REMOTE_CACHE", &endpoint),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TIMEOUT", "1"),
                (
                    "CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS",
                    &SigningKey::generate("ci-1").unwrap().public_text(),
                ),
            ],
        )
        .success()
        .stderr_has(&format!(
            "warning[W412]: the shared cache {endpoint} is not used in this build: unreachable:"
        ));
    assert_said_once(&run, "warning[W412]");
    assert_eq!(fixture.restored("t-silent"), both(false));
    assert_eq!(
        fixture.app_says("t-silent"),
        "v1|#define DEP 7 true built\n"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}

/// `code` appears exactly once in what the build printed.
#[track_caller]
fn assert_said_once(run: &crate::support::Run, code: &str) {
    assert_eq!(run.stderr.matches(code).count(), 1, "{}", run.stderr);
}
