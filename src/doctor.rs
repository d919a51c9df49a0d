//! `cargo wasm-build doctor`: what this machine offers the jail that confines build
//! scripts' native programs, and therefore what can run here; and whether the toolchain
//! cargo uses has the target build scripts are compiled for.

#![allow(
    clippy::disallowed_methods,
    reason = "`doctor` reports on the machine: the toolchain, the homes and the tool's settings"
)]

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use wasm_build_diagnostics::{Diag as _, cli};
use wasm_build_exec::confinement;
use wasm_build_jail::{Code, Layer};
use wasm_build_wrapper::guest::GUEST_TARGET;
use wasm_build_wrapper::toolchain::{self, Toolchain};

/// Prints the layers and the toolchain's target; returns 0 when everything can run
/// confined and build scripts can be compiled, 1 otherwise.
pub fn run() -> Result<i32> {
    let layers = confinement::jail().layers();
    let mut out = String::new();
    out.push_str(&format!(
        "Native confinement on this machine ({}):\n\n",
        layers.kernel
    ));
    let available = |probe: &Result<(), String>| probe.clone().map(|()| String::new());
    let rows = [
        (
            Layer::Landlock,
            status(layers.landlock.clone().map(|abi| format!("ABI {abi}"))),
        ),
        (Layer::Seccomp, status(available(&layers.seccomp))),
        (Layer::Descendants, status(available(&layers.descendants))),
        (
            Layer::SignalScope,
            status(layers.signal_scope().map(|how| format!("by {how}"))),
        ),
    ];
    for (layer, status) in &rows {
        out.push_str(&format!(
            "  {:<20} {:<32} {}\n",
            layer.name(),
            status,
            layer.purpose()
        ));
    }
    let userns = match &layers.user_namespaces {
        Ok(()) => "available".to_string(),
        Err(why) => format!("unavailable ({why})"),
    };
    out.push_str(&format!(
        "  {:<20} {userns}: a fallback for signal scoping, needed only without Landlock ABI 6\n\n",
        "user namespaces"
    ));
    let verdict = |code| match layers.missing(code) {
        None => "run confined".to_string(),
        Some(missing) => format!("cannot run: {} is missing", missing.layer),
    };
    out.push_str(&format!(
        "rustc probes (no grant needed):           {}\n",
        verdict(Code::Toolchain)
    ));
    out.push_str(&format!(
        "granted programs, run-natively scripts:   {}\n",
        verdict(Code::Untrusted)
    ));
    out.push_str(&format!(
        "programs granted `network`:               {}\n",
        network_line(&layers)
    ));
    let missing = layers.missing(Code::Untrusted);
    if let Some(missing) = &missing {
        let refusal = confinement::refusal(missing);
        let said = cli::Unconfinable {
            refusal: &refusal,
            learning: false,
        };
        out.push_str(&format!(
            "\n{}\n",
            said.render(crate::terminal::stdout_painter())
        ));
    }
    let toolchain_ready = toolchain_section(&mut out);
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(if missing.is_some() || !toolchain_ready {
        1
    } else {
        0
    })
}

/// How a program granted `network` reaches hosts here: always through the build's
/// proxy, with Landlock's TCP rules as a second wall where the kernel has them.
fn network_line(layers: &wasm_build_jail::Layers) -> String {
    if layers.missing(Code::Untrusted).is_some() {
        return "cannot run (see above)".to_string();
    }
    let wall = match layers.landlock {
        Ok(abi) if abi >= 4 => "Landlock's TCP rules refuse their own connections besides",
        _ => "no Landlock TCP rules (ABI 4, Linux ≥ 6.7): the supervisor alone holds",
    };
    format!("only through the build's proxy, which checks each host; {wall}")
}

/// The compiler cargo would use here, and whether it can compile build scripts for the
/// sandbox; false when it cannot.
fn toolchain_section(out: &mut String) -> bool {
    let rustc = toolchain::cargo_rustc();
    out.push_str("\nCompiler for build scripts:\n\n");
    if let Ok(cwd) = std::env::current_dir()
        && std::env::var_os("RUSTC").is_none_or(|rustc| rustc.is_empty())
        && wasm_build_policy::cargo_config::names_rustc(
            &cwd,
            wasm_build_contract::cargo::cargo_home().as_deref(),
            &[],
        )
    {
        out.push_str(&format!(
            "  {GUEST_TARGET:<20} {:<32} cargo's configuration names the compiler (build.rustc); a build script's compile checks it\n",
            "not checked"
        ));
        return true;
    }
    match Toolchain::of(&rustc, std::env::var_os("RUSTUP_TOOLCHAIN")) {
        Ok(toolchain) => {
            let ready = toolchain.has_guest_target();
            out.push_str(&format!(
                "  {:<20} {:<32} {}\n",
                GUEST_TARGET,
                if ready { "installed" } else { "MISSING" },
                toolchain.describe()
            ));
            if !ready {
                let (missing, help) = (toolchain.missing_target(), toolchain.install_help());
                let said = cli::NoGuestTarget {
                    problem: &missing,
                    nothing_built: false,
                    install_help: Some(&help),
                };
                out.push_str(&format!(
                    "\n{}\n",
                    said.render(crate::terminal::stdout_painter())
                ));
            }
            ready
        }
        Err(why) => {
            let why = why.to_string();
            let said = cli::NoGuestTarget {
                problem: &why,
                nothing_built: false,
                install_help: None,
            };
            out.push_str(&format!(
                "\n{}\n",
                said.render(crate::terminal::stdout_painter())
            ));
            false
        }
    }
}

/// Refuses a build before cargo runs when the toolchain cargo will use lacks the guest
/// target: one error naming the toolchain and the command that installs the target for
/// it, instead of one error per build script. Checked once per toolchain and target
/// directory (a stamp in `target_dir` remembers it), so no-change builds do not pay for
/// asking rustc its sysroot. `None` lets the build go on: also when rustc cannot be
/// asked (cargo then says why), and when cargo's configuration names its compiler
/// (`build.rustc`), which the check would have to guess (a compile without the target
/// names the toolchain then).
pub fn refuse_without_guest_target(target_dir: &Path, cargo_args: &[String]) -> Option<i32> {
    let cwd = std::env::current_dir().ok()?;
    let configured = wasm_build_policy::cargo_config::names_rustc(
        &cwd,
        wasm_build_contract::cargo::cargo_home().as_deref(),
        cargo_args,
    );
    if configured && std::env::var_os("RUSTC").is_none_or(|rustc| rustc.is_empty()) {
        return None;
    }
    let rustc = toolchain::cargo_rustc();
    let rustup_toolchain = std::env::var_os("RUSTUP_TOOLCHAIN");
    let stamp = target_dir.join("wasm-build").join("guest-target-checked");
    let key = format!(
        "{}\n{}\n",
        rustc.display(),
        rustup_toolchain
            .as_deref()
            .unwrap_or_default()
            .to_string_lossy()
    );
    if std::fs::read_to_string(&stamp).is_ok_and(|seen| seen == key) {
        return None;
    }
    let toolchain = Toolchain::of(&rustc, rustup_toolchain).ok()?;
    if toolchain.has_guest_target() {
        // Failing to write the stamp only costs the check again next time.
        let _ = stamp
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .map(|()| std::fs::write(&stamp, key));
        return None;
    }
    let (missing, help) = (toolchain.missing_target(), toolchain.install_help());
    let said = cli::NoGuestTarget {
        problem: &missing,
        nothing_built: true,
        install_help: Some(&help),
    };
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        said.render(crate::terminal::stderr_painter())
    );
    Some(crate::exit::CARGO_FAILED)
}

fn status(probe: Result<String, String>) -> String {
    match probe {
        Ok(detail) if detail.is_empty() => "available".into(),
        Ok(detail) => format!("available, {detail}"),
        Err(_) => "MISSING".into(),
    }
}
