//! Real crates from crates.io: a sandboxed build leaves the same build-script output and
//! `OUT_DIR` files as plain cargo.

use crate::support::assert_same_as_native;

#[test]
fn scripts_that_only_generate_code_match_native() {
    assert_same_as_native(
        r#"typenum = "=1.17.0"
serde_json = "=1.0.145"
crossbeam-utils = "=0.8.21"
parking_lot_core = "=0.9.11"
mime_guess = "=2.0.5"
"#,
        // mime_guess points its crate at the table it generated with `rustc-env`.
        "[package.metadata.sandbox.allow.\"mime_guess@2.0.5\"]\ndirectives = [\"rustc-env\"]",
        &[
            "typenum",
            "serde_json",
            "crossbeam-utils",
            "parking_lot_core",
            "mime_guess",
        ],
    );
}

#[test]
fn scripts_that_probe_rustc_match_native() {
    assert_same_as_native(
        r#"serde = { version = "=1.0.228", features = ["derive"] }
libc = "=0.2.177"
anyhow = "=1.0.100"
num-traits = "=0.2.19"
rustix = { version = "=1.1.2", features = ["fs"] }
"#,
        "",
        &[
            "serde",
            "libc",
            "anyhow",
            "proc-macro2",
            "num-traits",
            "rustix",
        ],
    );
}
