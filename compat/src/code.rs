//! What ends up in the binary: the code of object files and archives (`.o`, `.a`, `.rlib`),
//! reduced to a fingerprint that two builds share when they compiled the same code with the
//! same flags, whatever their paths, hashes and timestamps.
//!
//! A build script that silently decides differently in the sandbox (a host CPU feature it
//! no longer detects, a `cfg(target_os)` branch that adds `-fcommon`) leaves directives and
//! `OUT_DIR` file names unchanged; only the compiled code shows it. Bytes cannot be compared:
//! objects embed paths and cargo's hashes, archives embed timestamps, and `__DATE__` ends up
//! in `.rodata`. The fingerprint keeps what compiler flags change and drops what they do not:
//!
//! - **instructions**: how many times each mnemonic occurs (`mulx` and `adcx` appear with
//!   ADX, vector instructions with `-mavx2`, calls and branches with `-O` levels);
//! - **symbols**: each defined function and data symbol with its binding, visibility,
//!   section and size (`-fcommon` turns a `.bss` object into a `*COM*` one);
//! - **sections**: the total size of each allocated section kind (`.text`, `.rodata`...).
//!
//! Objects rustc wrote (`*.rcgu.o` in an rlib) get a coarser fingerprint. rustc lays out
//! stack slots in an order that follows its hashes of the crate, and those hashes differ
//! between any two builds with different `-C metadata` (plain cargo and cargo wasm-build
//! always differ there): two native builds of ring 0.17 differing only in `-C metadata` have
//! one function with two more `mov`s. So for rustc's objects data moves (`mov*`), function
//! sizes, visibility and section sizes are left out, and a symbol counts once however many
//! codegen units define it; the other instructions and the set of symbols remain. The C and assembly objects rustc bundles into an rlib (a `static=` link
//! library) keep the full fingerprint.
//!
//! The fingerprint is read from `objdump -d -t -h` (binutils; `OBJDUMP` overrides it), which
//! handles every object format and archive the host's compiler writes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a file's code could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// objdump could not be started.
    #[error("could not run `{program}` on {path}: {source}")]
    Spawn {
        /// The objdump that was run.
        program: String,
        /// The file it was to read.
        path: PathBuf,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// objdump ran but found no object in the file.
    #[error("`{program}` found no object in {path}: {stderr}")]
    Unreadable {
        /// The objdump that was run.
        program: String,
        /// The file it read.
        path: PathBuf,
        /// What it said.
        stderr: String,
    },
}

/// How much of an object's code is compared (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Every instruction, symbol and section size: C, C++ and assembly, whose compilers
    /// produce the same code for the same input and flags.
    Exact,
    /// rustc's objects: no data moves, sizes or visibility, which follow hash-ordered
    /// stack layouts.
    Rustc,
}

impl Rule {
    /// rustc names its objects `<crate>-<hash>.<cgu>.rcgu.o`.
    fn for_member(name: &str) -> Self {
        if name.ends_with(".rcgu.o") {
            Rule::Rustc
        } else {
            Rule::Exact
        }
    }
}

/// A defined symbol as the fingerprint keeps it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Symbol {
    /// The name with cargo's and rustc's hashes replaced by `[HASH]`.
    pub name: String,
    /// `function`, `object`, `common` or `symbol`.
    pub kind: &'static str,
    /// `global`, `local` or `weak`; empty under the rustc rule.
    pub binding: &'static str,
    /// `hidden` or empty.
    pub visibility: &'static str,
    /// The section's kind (`.text`, `.bss`, `*COM*`...).
    pub section: String,
    /// Size in bytes; `None` under the rustc rule.
    pub size: Option<u64>,
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (", self.name)?;
        for word in [self.binding, self.visibility] {
            if !word.is_empty() {
                write!(f, "{word} ")?;
            }
        }
        write!(f, "{} in {}", self.kind, self.section)?;
        if let Some(size) = self.size {
            write!(f, ", {size} bytes")?;
        }
        write!(f, ")")
    }
}

/// What compiler flags change in a file's code (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Mnemonic (with its prefixes, `lock cmpxchg`) → occurrences.
    pub instructions: BTreeMap<String, u64>,
    /// Defined symbol → occurrences (archives may define a local symbol more than once).
    pub symbols: BTreeMap<Symbol, u64>,
    /// Allocated section kind → total size in bytes, for exact-rule objects.
    pub sections: BTreeMap<String, u64>,
    /// Object files read (archive members that are not objects, like `lib.rmeta`, are not).
    pub objects: u64,
}

impl Fingerprint {
    /// The fingerprint of the object or archive at `path`.
    ///
    /// # Errors
    ///
    /// Fails when objdump cannot run or cannot read the file.
    pub fn of(path: &Path) -> Result<Self, CodeError> {
        let program = std::env::var("OBJDUMP").unwrap_or_else(|_| "objdump".to_string());
        let output = Command::new(&program)
            .args(["-d", "-t", "-h", "-w", "--no-show-raw-insn"])
            .arg(path)
            .output()
            .map_err(|source| CodeError::Spawn {
                program: program.clone(),
                path: path.to_path_buf(),
                source,
            })?;
        let fingerprint = Self::parse(&String::from_utf8_lossy(&output.stdout));
        if fingerprint.objects == 0 {
            // objdump exits non-zero for an rlib's `lib.rmeta` member but reads the
            // rest; only a file with no object in it at all is unreadable.
            return Err(CodeError::Unreadable {
                program,
                path: path.to_path_buf(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(fingerprint)
    }

    /// Reads the output of `objdump -d -t -h -w --no-show-raw-insn` for one file.
    pub fn parse(objdump: &str) -> Self {
        let mut fingerprint = Fingerprint::default();
        let mut rule = Rule::Exact;
        let mut part = Part::Other;
        for line in objdump.lines() {
            if let Some(member) = member_name(line) {
                rule = Rule::for_member(member);
                fingerprint.objects += 1;
                part = Part::Other;
            } else if line.starts_with("Sections:") {
                part = Part::Sections;
            } else if line.starts_with("SYMBOL TABLE:") {
                part = Part::Symbols;
            } else if line.starts_with("Disassembly of section") {
                part = Part::Code;
            } else if line.trim().is_empty() {
                if part != Part::Code {
                    part = Part::Other;
                }
            } else {
                match part {
                    Part::Sections => fingerprint.add_section(line, rule),
                    Part::Symbols => fingerprint.add_symbol(line, rule),
                    Part::Code => fingerprint.add_instruction(line, rule),
                    Part::Other => {}
                }
            }
        }
        fingerprint
    }

    /// `  0 .text  00000012  0000000000000000  0000000000000000  00000040  2**4  CONTENTS, ALLOC, ...`
    fn add_section(&mut self, line: &str, rule: Rule) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(index), Some(name), Some(size)) = (fields.first(), fields.get(1), fields.get(2))
        else {
            return;
        };
        if rule == Rule::Rustc || !index.chars().all(|c| c.is_ascii_digit()) {
            return;
        }
        if !line.contains("ALLOC") {
            return;
        }
        let Ok(size) = u64::from_str_radix(size, 16) else {
            return;
        };
        *self.sections.entry(section_kind(name)).or_default() += size;
    }

    /// `0000000000000000 g     F .text\t0000000000000012 .hidden name`
    fn add_symbol(&mut self, line: &str, rule: Rule) {
        let Some((_address, rest)) = line.split_once(' ') else {
            return;
        };
        let (Some(flags), Some(rest)) = (rest.get(..7), rest.get(8..)) else {
            return;
        };
        let Some((section, rest)) = rest.split_once('\t') else {
            return;
        };
        let Some((size, name)) = rest.split_once(' ') else {
            return;
        };
        let flags: Vec<char> = flags.chars().collect();
        let kind = match (flags[6], section) {
            (_, "*COM*") => "common",
            ('F', _) => "function",
            ('O', _) => "object",
            _ => return,
        };
        if section == "*UND*" || section == "*ABS*" {
            return;
        }
        let binding = match flags[0] {
            'g' | 'u' => "global",
            'l' if kind == "function" => "local",
            // Local data (`buf.0`, string literals) is named by the compiler's counters.
            'l' => return,
            _ if flags[1] == 'w' => "weak",
            _ => "global",
        };
        let (visibility, name) = match name.trim().strip_prefix(".hidden ") {
            Some(name) => ("hidden", name),
            None => ("", name.trim()),
        };
        let symbol = match rule {
            Rule::Exact => Symbol {
                name: normalise_symbol(name),
                kind,
                binding,
                visibility,
                section: section_kind(section),
                size: u64::from_str_radix(size, 16).ok(),
            },
            Rule::Rustc => Symbol {
                name: normalise_symbol(name),
                kind,
                binding: "",
                visibility: "",
                section: section_kind(section),
                size: None,
            },
        };
        match rule {
            Rule::Exact => *self.symbols.entry(symbol).or_default() += 1,
            // How many codegen units define a hidden helper (`DW.ref.rust_eh_personality`)
            // follows the partitioning, not the code: only whether it is defined counts.
            Rule::Rustc => {
                self.symbols.insert(symbol, 1);
            }
        }
    }

    /// `   1c:\tlock cmpxchg %ecx,(%rdx)`
    fn add_instruction(&mut self, line: &str, rule: Rule) {
        let Some((address, text)) = line.split_once(":\t") else {
            return;
        };
        if !address.trim().chars().all(|c| c.is_ascii_hexdigit()) || address.trim().is_empty() {
            return;
        }
        let mnemonic = mnemonic(text);
        if mnemonic.is_empty() || (rule == Rule::Rustc && mnemonic.starts_with("mov")) {
            return;
        }
        *self.instructions.entry(mnemonic).or_default() += 1;
    }

    /// How `self` (native) and `other` (sandboxed) differ, as readable lines; empty when
    /// the code is the same. At most `limit` symbol lines are listed.
    pub fn differences(&self, other: &Self, limit: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let mnemonics: BTreeSet<&String> = self
            .instructions
            .keys()
            .chain(other.instructions.keys())
            .collect();
        // Instructions only one build has first: they say most (`adcx` 300 → 0).
        let mut only_one = Vec::new();
        let mut counts = Vec::new();
        for mnemonic in mnemonics {
            let native = self.instructions.get(mnemonic).copied().unwrap_or(0);
            let sandboxed = other.instructions.get(mnemonic).copied().unwrap_or(0);
            if native == sandboxed {
                continue;
            }
            let count = format!("`{mnemonic}` {native} → {sandboxed}");
            if native == 0 || sandboxed == 0 {
                only_one.push(count);
            } else {
                counts.push(count);
            }
        }
        only_one.append(&mut counts);
        let counts = only_one;
        if !counts.is_empty() {
            lines.push(format!(
                "instructions (native → sandboxed): {}",
                counts.join(", ")
            ));
        }
        let kinds: BTreeSet<&String> = self.sections.keys().chain(other.sections.keys()).collect();
        for kind in kinds {
            let native = self.sections.get(kind).copied().unwrap_or(0);
            let sandboxed = other.sections.get(kind).copied().unwrap_or(0);
            if native != sandboxed {
                lines.push(format!(
                    "section {kind}: {native} bytes native, {sandboxed} sandboxed"
                ));
            }
        }
        let missing = only_in(&self.symbols, &other.symbols);
        let extra = only_in(&other.symbols, &self.symbols);
        let total = missing.len() + extra.len();
        let listed = missing
            .iter()
            .map(|symbol| format!("- symbol {symbol}"))
            .chain(extra.iter().map(|symbol| format!("+ symbol {symbol}")));
        lines.extend(listed.take(limit));
        if total > limit {
            lines.push(format!("... and {} more symbols", total - limit));
        }
        lines
    }
}

/// Symbols `a` has more often than `b`.
fn only_in<'a>(a: &'a BTreeMap<Symbol, u64>, b: &BTreeMap<Symbol, u64>) -> Vec<&'a Symbol> {
    a.iter()
        .filter(|(symbol, count)| b.get(*symbol).copied().unwrap_or(0) < **count)
        .map(|(symbol, _)| symbol)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Sections,
    Symbols,
    Code,
    Other,
}

/// The member or file name of objdump's `<name>:     file format <format>` line.
fn member_name(line: &str) -> Option<&str> {
    let (name, format) = line.split_once(":     file format ")?;
    (!format.contains(' ')).then_some(name)
}

/// Instruction prefixes objdump prints as separate words.
const PREFIXES: &[&str] = &[
    "lock", "rep", "repz", "repe", "repnz", "repne", "notrack", "bnd", "data16", "addr32", "cs",
    "ds", "es", "fs", "gs", "ss", "xacquire", "xrelease", "rex", "rex.W",
];

/// The mnemonic of a disassembled instruction, with its prefixes.
fn mnemonic(text: &str) -> String {
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        words.push(word);
        if !PREFIXES.contains(&word) {
            break;
        }
    }
    words.join(" ")
}

/// `.text.unlikely.foo` → `.text`, `.rodata.str1.1` → `.rodata`, `*COM*` stays.
fn section_kind(name: &str) -> String {
    match name.strip_prefix('.') {
        Some(rest) => {
            let stem: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            format!(".{stem}")
        }
        None => name.to_string(),
    }
}

/// A symbol name without the hashes that differ between builds of the same code: rustc's
/// legacy mangling hash (`17h0123456789abcdefE`), v0 crate disambiguators (`Cs<base62>_`)
/// and any other run of 16 or more hex digits (cargo's `-C metadata` in
/// `rust_metadata_<crate>_<hash>`, anonymous constants).
pub fn normalise_symbol(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        if run >= 16 {
            out.push_str("[HASH]");
            i += run;
            continue;
        }
        if name[i..].starts_with("Cs") && name.starts_with("_R") {
            let tail = &name[i + 2..];
            let digits = tail
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if digits > 0 && tail.as_bytes().get(digits) == Some(&b'_') {
                out.push_str("Cs[HASH]_");
                i += 2 + digits + 1;
                continue;
            }
        }
        let step = name[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&name[i..i + step]);
        i += step;
    }
    out
}

/// Whether `bytes` start like an object file or an archive (ELF, Mach-O, COFF archive).
pub fn is_code(bytes: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"\x7fELF",
        b"!<arch>\n",
        b"!<thin>\n",
        &[0xcf, 0xfa, 0xed, 0xfe],
        &[0xce, 0xfa, 0xed, 0xfe],
    ];
    MAGICS.iter().any(|magic| bytes.starts_with(magic))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJDUMP: &str = "
In archive libblst.a:

assembly.o:     file format elf64-x86-64

Sections:
Idx Name          Size      VMA               LMA               File off  Algn  Flags
  0 .text         00000010  0000000000000000  0000000000000000  00000040  2**5  CONTENTS, ALLOC, LOAD, READONLY, CODE
  1 .rodata.cst16 00000020  0000000000000000  0000000000000000  00000080  2**4  CONTENTS, ALLOC, LOAD, READONLY, DATA
  2 .debug_info   00000400  0000000000000000  0000000000000000  000000a0  2**0  CONTENTS, READONLY, DEBUGGING
SYMBOL TABLE:
0000000000000000 l    df *ABS*\t0000000000000000 /tmp/root/target/out/assembly.S
0000000000000000 g     F .text\t0000000000000010 .hidden mulx_mont_384
0000000000000004       O *COM*\t0000000000000004 counter
0000000000000000 l     O .bss\t0000000000000004 buf.0
0000000000000000         *UND*\t0000000000000000 memcpy

Disassembly of section .text:

0000000000000000 <mulx_mont_384>:
   0:\tmulx   %rax,%rbx,%rcx
   5:\tadcx   %rax,%rbx
   a:\tlock cmpxchg %ecx,(%rdx)
   e:\tret

ring-1c55b0c87f85877a.ring.af098ccb241eb26f-cgu.00.rcgu.o:     file format elf64-x86-64

Sections:
Idx Name          Size      VMA               LMA               File off  Algn  Flags
  0 .text._ZN4ring3new17h33dd4bec9d47db31E 00000348  0000000000000000  0000000000000000  00000040  2**4  CONTENTS, ALLOC, LOAD, READONLY, CODE
SYMBOL TABLE:
0000000000000000 g     F .text._ZN4ring3new17h33dd4bec9d47db31E\t0000000000000348 .hidden _ZN4ring3new17h33dd4bec9d47db31E

Disassembly of section .text._ZN4ring3new17h33dd4bec9d47db31E:

0000000000000000 <_ZN4ring3new17h33dd4bec9d47db31E>:
   0:\tsub    $0x348,%rsp
   7:\tmov    %rax,0x11d0(%rsp)
   f:\tcall   *0x0(%rip)        # 15 <_ZN4ring3new17h33dd4bec9d47db31E+0x15>
";

    fn fingerprint() -> Fingerprint {
        Fingerprint::parse(OBJDUMP)
    }

    #[test]
    fn instructions_are_counted_with_prefixes() {
        let fingerprint = fingerprint();
        let counted: Vec<(&str, u64)> = fingerprint
            .instructions
            .iter()
            .map(|(mnemonic, count)| (mnemonic.as_str(), *count))
            .collect();
        // rustc's `mov` is left out, the assembly's instructions are all kept.
        assert_eq!(
            counted,
            [
                ("adcx", 1),
                ("call", 1),
                ("lock cmpxchg", 1),
                ("mulx", 1),
                ("ret", 1),
                ("sub", 1)
            ]
        );
        assert_eq!(fingerprint.objects, 2);
    }

    #[test]
    fn symbols_keep_what_flags_change_and_drop_hashes() {
        let symbols: Vec<String> = fingerprint()
            .symbols
            .keys()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            symbols,
            [
                "`_ZN4ring3new17h[HASH]E` (function in .text)",
                "`counter` (global common in *COM*, 4 bytes)",
                "`mulx_mont_384` (global hidden function in .text, 16 bytes)",
            ]
        );
    }

    #[test]
    fn only_allocated_sections_of_exact_objects_are_sized() {
        let fingerprint = fingerprint();
        let sections: Vec<(&str, u64)> = fingerprint
            .sections
            .iter()
            .map(|(kind, size)| (kind.as_str(), *size))
            .collect();
        assert_eq!(sections, [(".rodata", 0x20), (".text", 0x10)]);
    }

    /// Two native builds differing only in `-C metadata` (the case measured on ring 0.17):
    /// other hashes, another stack layout, the same code.
    #[test]
    fn rustc_layout_and_hashes_do_not_count() {
        let other = OBJDUMP
            .replace("1c55b0c87f85877a", "066b333736932ece")
            .replace("af098ccb241eb26f", "7b0406450283100")
            .replace("17h33dd4bec9d47db31E", "17h411b0706e668880eE")
            .replace("$0x348", "$0x338")
            .replace("00000348", "00000338")
            .replace(
                "   7:\tmov    %rax,0x11d0(%rsp)\n",
                "   7:\tmov    %rax,0x1220(%rsp)\n   b:\tmov    %rax,0x1228(%rsp)\n",
            )
            .replace("/tmp/root/", "/tmp/elsewhere/");
        assert_eq!(fingerprint(), Fingerprint::parse(&other));
        assert!(
            fingerprint()
                .differences(&Fingerprint::parse(&other), 5)
                .is_empty()
        );
    }

    /// The silent difference of issue 24: the script no longer detected ADX, so the
    /// assembly was built without MULX/ADCX.
    #[test]
    fn a_missing_cpu_feature_is_named_by_its_instructions() {
        let without_adx = OBJDUMP
            .replace("mulx   %rax,%rbx,%rcx", "mul    %rbx")
            .replace("adcx   %rax,%rbx", "adc    %rax,%rbx");
        assert_eq!(
            fingerprint().differences(&Fingerprint::parse(&without_adx), 5),
            [
                "instructions (native → sandboxed): `adc` 0 → 1, `adcx` 1 → 0, `mul` 0 → 1, `mulx` 1 → 0"
            ]
        );
    }

    /// The other silent difference: without `-fcommon` an uninitialised global moves from
    /// `*COM*` into `.bss`, with no instruction changed.
    #[test]
    fn a_common_symbol_turned_bss_is_named() {
        let without_common = OBJDUMP
            .replace(
                "0000000000000004       O *COM*\t0000000000000004 counter",
                "0000000000000000 g     O .bss\t0000000000000004 counter",
            )
            .replace(
                "  2 .debug_info",
                "  3 .bss          00000004  0000000000000000  0000000000000000  00000090  2**2  ALLOC\n  2 .debug_info",
            );
        assert_eq!(
            fingerprint().differences(&Fingerprint::parse(&without_common), 5),
            [
                "section .bss: 0 bytes native, 4 sandboxed",
                "- symbol `counter` (global common in *COM*, 4 bytes)",
                "+ symbol `counter` (global object in .bss, 4 bytes)",
            ]
        );
    }

    #[test]
    fn long_symbol_lists_are_cut() {
        let renamed = OBJDUMP
            .replace("mulx_mont_384", "other")
            .replace("counter", "elsewhere");
        let lines = fingerprint().differences(&Fingerprint::parse(&renamed), 2);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[2], "... and 2 more symbols");
    }

    /// rustc defines hidden helpers once per codegen unit that needs them.
    #[test]
    fn rustc_symbols_count_once_however_many_units_define_them() {
        let helper = "0000000000000000  w    O .data.DW.ref.rust_eh_personality\t0000000000000008 .hidden DW.ref.rust_eh_personality\n";
        let one = OBJDUMP.replace(
            "SYMBOL TABLE:\n0000000000000000 g     F .text._ZN4ring",
            &format!("SYMBOL TABLE:\n{helper}0000000000000000 g     F .text._ZN4ring"),
        );
        let two = one.replace(helper, &format!("{helper}{helper}"));
        assert!(
            Fingerprint::parse(&one)
                .symbols
                .keys()
                .any(|symbol| symbol.name == "DW.ref.rust_eh_personality")
        );
        assert!(
            Fingerprint::parse(&one)
                .differences(&Fingerprint::parse(&two), 5)
                .is_empty()
        );
    }

    #[test]
    fn hashes_in_symbol_names_are_normalised() {
        assert_eq!(
            normalise_symbol("rust_metadata_paste_865315351dd191db"),
            "rust_metadata_paste_[HASH]"
        );
        assert_eq!(
            normalise_symbol("_RNvCs1234abcdXYZ_4ring3new"),
            "_RNvCs[HASH]_4ring3new"
        );
        assert_eq!(normalise_symbol("deadbeef_short"), "deadbeef_short");
    }

    #[test]
    fn objects_and_archives_are_recognised_by_their_magic() {
        assert!(is_code(b"\x7fELF\x02\x01"));
        assert!(is_code(b"!<arch>\nlib.rmeta"));
        assert!(!is_code(b"pub const X: u32 = 1;"));
    }
}
