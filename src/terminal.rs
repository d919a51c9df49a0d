//! The terminal the CLI writes to.

#![allow(
    clippy::disallowed_methods,
    reason = "the terminal's width may be given as COLUMNS, as cargo reads it"
)]

use std::os::fd::RawFd;

/// The width of the terminal on `fd`, as cargo finds its own: `COLUMNS` when set, else
/// the terminal's size (`TIOCGWINSZ`). `None` when neither says.
pub fn width(fd: RawFd) -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|&columns| columns > 0)
    {
        return Some(columns);
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into `size`, which lives across the call;
    // on a descriptor that is not a terminal it fails and writes nothing.
    let status = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
    (status == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// How the CLI paints a diagnostic on `stream` when no `--color` reached it: as
/// `CARGO_TERM_COLOR` says, else as the stream is (a terminal or not), as cargo decides.
fn painter(stream: wasm_build_diagnostics::color::Stream) -> wasm_build_diagnostics::Painter {
    use wasm_build_diagnostics::color::ColorChoice;
    wasm_build_diagnostics::Painter::for_stream(ColorChoice::from_flag_or_env(None), stream)
}

/// [`painter`] for stderr, where the CLI's diagnostics go.
pub fn stderr_painter() -> wasm_build_diagnostics::Painter {
    painter(wasm_build_diagnostics::color::Stream::Stderr)
}

/// [`painter`] for stdout, where `doctor` writes its report.
pub fn stdout_painter() -> wasm_build_diagnostics::Painter {
    painter(wasm_build_diagnostics::color::Stream::Stdout)
}
