//! The install users get by default has no shared-cache client: a configured cache is
//! said unusable, once, with how to install a build that has it; the build passes and
//! every script runs (and is stored locally) as without a shared cache.

use crate::support::{Project, manifest};

#[test]
fn a_configured_shared_cache_without_the_client_costs_one_warning_that_says_how_to_get_it() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("app", "[dependencies]\ndep = { path = \"dep\" }"),
        )
        .file(
            "build.rs",
            "fn main() { println!(\"cargo:rustc-cfg=app_mark\"); println!(\"cargo:rustc-check-cfg=cfg(app_mark)\"); }\n",
        )
        .file(
            "src/main.rs",
            "fn main() { println!(\"{}\", cfg!(app_mark)); }\n",
        )
        .file("dep/Cargo.toml", &manifest("dep", ""))
        .file("dep/build.rs", "fn main() { println!(\"cargo:rerun-if-changed=build.rs\"); }\n")
        .file("dep/src/lib.rs", "");
    let store = project.root().join("store").display().to_string();
    let run = project
        .wasm_build_env(
            &["-v"],
            &[
                ("CARGO_WASM_BUILD_CACHE", store.as_str()),
                ("CARGO_WASM_BUILD_REMOTE_CACHE", "grpc://127.0.0.1:9"),
                ("CARGO_WASM_BUILD_REMOTE_CACHE_TRUSTED_KEYS", ""),
            ],
        )
        .success()
        .stderr_has(
            "warning[W412]: the shared cache is not used: `grpc://127.0.0.1:9` is configured, but this build of cargo-wasm-build has no shared-cache client: install it with `cargo install --locked --features remote-cache cargo-wasm-build`",
        );
    assert_eq!(
        run.stderr.matches("warning[W412]").count(),
        1,
        "said once per build, not once per script: {}",
        run.stderr
    );
    let app = std::process::Command::new(project.root().join("target/debug/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&app.stdout), "true\n");
}
