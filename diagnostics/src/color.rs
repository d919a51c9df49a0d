//! Whether a message is coloured, decided once the way cargo decides it, and the one
//! palette every message and the permission table paint with.
//!
//! The choice is `--color` if given, else `CARGO_TERM_COLOR` (which cargo sets from its
//! own `--color` and `term.color` for the programs it runs), else `auto`: what `anstream`
//! decides for the stream (`NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, and
//! whether it is a terminal). Before, the permission table read `CARGO_TERM_COLOR` only
//! to turn colour off, so `CARGO_TERM_COLOR=always` coloured the build's messages but not
//! the table; every caller now goes through [`ColorChoice::colors`].

#![allow(
    clippy::disallowed_methods,
    reason = "colour follows CARGO_TERM_COLOR, as cargo's own output does"
)]

use std::fmt;
use std::io::IsTerminal;

use anstyle::{AnsiColor, Effects, Style};

/// What the user asked for: `--color` or `CARGO_TERM_COLOR`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// As `anstream` decides for the stream.
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// `auto`, `always` or `never`, as cargo spells them; `None` for anything else.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "auto" => Some(ColorChoice::Auto),
            "always" => Some(ColorChoice::Always),
            "never" => Some(ColorChoice::Never),
            _ => None,
        }
    }

    /// `flag` if given and not `auto`, else `CARGO_TERM_COLOR` when it names a choice,
    /// else [`ColorChoice::Auto`]: cargo's order, since we run under cargo.
    pub fn from_flag_or_env(flag: Option<ColorChoice>) -> Self {
        let env = std::env::var("CARGO_TERM_COLOR").ok();
        Self::resolve(flag, env.as_deref())
    }

    /// [`ColorChoice::from_flag_or_env`] with the variable's value given.
    pub fn resolve(flag: Option<ColorChoice>, cargo_term_color: Option<&str>) -> Self {
        match flag {
            Some(ColorChoice::Always) => ColorChoice::Always,
            Some(ColorChoice::Never) => ColorChoice::Never,
            Some(ColorChoice::Auto) | None => cargo_term_color
                .and_then(Self::parse)
                .unwrap_or(ColorChoice::Auto),
        }
    }

    /// Whether to colour what goes to `stream`.
    pub fn colors(self, stream: Stream) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let choice = match stream {
                    Stream::Stdout => anstream::AutoStream::choice(&std::io::stdout()),
                    Stream::Stderr => anstream::AutoStream::choice(&std::io::stderr()),
                    Stream::File => anstream::ColorChoice::Never,
                };
                choice != anstream::ColorChoice::Never
            }
        }
    }

    /// The word to hand on (`CARGO_WASM_BUILD_COLOR`) to a process whose stream is not
    /// the user's terminal: `always` or `never`, as decided for `stream` here.
    pub fn handed_on(self, stream: Stream) -> &'static str {
        if self.colors(stream) {
            "always"
        } else {
            "never"
        }
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error (every diagnostic).
    Stderr,
    /// A file (`-o`): never a terminal.
    File,
}

impl Stream {
    /// Whether the stream is a terminal (to size a table, or draw a status line).
    pub fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
            Stream::File => false,
        }
    }
}

/// The tone of a word the tool paints: cargo's palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Green: things went well.
    Good,
    /// Red: something failed, or widens the sandbox past the usual.
    Bad,
    /// Yellow: worth a look.
    Warning,
    /// Cyan: what to do next.
    Help,
    /// Bold: a heading.
    Emphasis,
}

impl Tone {
    /// The style of the tone.
    pub const fn style(self) -> Style {
        match self {
            Tone::Good => AnsiColor::Green.on_default().effects(Effects::BOLD),
            Tone::Bad => AnsiColor::Red.on_default().effects(Effects::BOLD),
            Tone::Warning => AnsiColor::Yellow.on_default().effects(Effects::BOLD),
            Tone::Help => AnsiColor::Cyan.on_default().effects(Effects::BOLD),
            Tone::Emphasis => Style::new().effects(Effects::BOLD),
        }
    }
}

/// The writer's colour: whether the stream it writes to is coloured. Every message is
/// painted through one of these, so that a choice made once holds for all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Painter {
    color: bool,
}

impl Painter {
    /// A painter that colours when `color` is true.
    pub const fn new(color: bool) -> Self {
        Painter { color }
    }

    /// A painter for `stream` under `choice`.
    pub fn for_stream(choice: ColorChoice, stream: Stream) -> Self {
        Painter::new(choice.colors(stream))
    }

    /// Whether it colours.
    pub const fn colors(self) -> bool {
        self.color
    }

    /// `text` in `tone` when colouring; the tool's own words only (crate-written text is
    /// made inert first, see [`crate::inert`]).
    pub fn paint(self, text: &str, tone: Tone) -> String {
        Painted {
            text,
            tone,
            color: self.color,
        }
        .to_string()
    }
}

struct Painted<'a> {
    text: &'a str,
    tone: Tone,
    color: bool,
}

impl fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.color {
            return f.write_str(self.text);
        }
        write!(f, "{}{}\x1b[0m", Sgr(self.tone.style()), self.text)
    }
}

/// A style as one SGR sequence (`\x1b[1;31m`, as cargo's own terminal output and this
/// tool's always wrote it) rather than anstyle's one sequence per attribute: the bytes
/// of a coloured message stay what scripts and tests matching them expect.
struct Sgr(Style);

impl fmt::Display for Sgr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params: Vec<u8> = Vec::new();
        if self.0.get_effects().contains(Effects::BOLD) {
            params.push(1);
        }
        if let Some(anstyle::Color::Ansi(color)) = self.0.get_fg_color() {
            let index = color as u8;
            params.push(if color.is_bright() {
                90 + index - 8
            } else {
                30 + index
            });
        }
        let params: Vec<String> = params.iter().map(u8::to_string).collect();
        write!(f, "\x1b[{}m", params.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CARGO_TERM_COLOR=always` colours as `--color always` does, whatever the stream;
    /// a flag wins over the variable, and `--color auto` leaves the variable its say.
    #[test]
    fn the_flag_then_cargo_term_color_then_auto() {
        use ColorChoice::*;
        assert_eq!(ColorChoice::resolve(None, Some("always")), Always);
        assert_eq!(ColorChoice::resolve(Some(Auto), Some("always")), Always);
        assert_eq!(ColorChoice::resolve(Some(Never), Some("always")), Never);
        assert_eq!(ColorChoice::resolve(Some(Always), Some("never")), Always);
        assert_eq!(ColorChoice::resolve(None, Some("never")), Never);
        assert_eq!(ColorChoice::resolve(None, Some("sometimes")), Auto);
        assert_eq!(ColorChoice::resolve(None, None), Auto);
        assert!(Always.colors(Stream::File) && Always.colors(Stream::Stdout));
        assert!(!Never.colors(Stream::Stderr));
        assert!(!Auto.colors(Stream::File), "a file is no terminal");
        assert_eq!(Always.handed_on(Stream::Stderr), "always");
    }

    #[test]
    fn painting_is_cargo_s_style_and_nothing_without_colour() {
        assert_eq!(Painter::new(false).paint("error:", Tone::Bad), "error:");
        let painted = |tone| Painter::new(true).paint("x", tone);
        assert_eq!(painted(Tone::Bad), "\x1b[1;31mx\x1b[0m");
        assert_eq!(painted(Tone::Good), "\x1b[1;32mx\x1b[0m");
        assert_eq!(painted(Tone::Warning), "\x1b[1;33mx\x1b[0m");
        assert_eq!(painted(Tone::Help), "\x1b[1;36mx\x1b[0m");
        assert_eq!(painted(Tone::Emphasis), "\x1b[1mx\x1b[0m");
        assert_eq!(
            Sgr(AnsiColor::BrightRed.on_default()).to_string(),
            "\x1b[91m"
        );
    }
}
