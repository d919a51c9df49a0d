//! Build-script stdout is attacker-controlled: parsing and judging it must never panic.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use wasm_build_contract::Policy;
use wasm_build_policy::directive;
use wasm_build_policy::judge::RunContext;

fuzz_target!(|stdout: &[u8]| {
    let ctx = RunContext {
        out_dir: "/tmp/fuzz/out".into(),
        manifest_dir: "/tmp/fuzz/pkg".into(),
        readable: vec!["/usr".into()],
        hidden_env: BTreeSet::from(["SECRET".to_string()]),
    };
    let policy = Policy::default();
    for line in directive::parse(stdout) {
        if let Some((_, parsed)) = &line.directive {
            let _ = ctx.judge(&policy, parsed);
        }
    }
});
