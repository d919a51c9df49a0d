//! Reading a sandbox table from `Cargo.toml`, by hand over `toml_edit` so that every
//! problem is reported, each at its place, rather than serde's first.

use std::collections::BTreeMap;

use toml_edit::{Item, TableLike};

use crate::capability::{CapabilityKey, GatedDirective};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use crate::net::{HostPattern, HostsEntry, NetworkEntry};
use crate::spec::PackageSpec;
use crate::values::{Program, ValueError};

use super::ValueRules;
use super::model::{
    CAPABILITY_KEYS, CONSUMER_KEYS, CapabilitySet, ConsumerPolicy, LimitKey, LimitOverrides, Mode,
    SCHEMA_VERSION, SandboxTable, TableKind,
};

/// How a value that needs its `dangerous-` key is treated under its plain key.
#[derive(Clone, Copy)]
struct Hazards<'a> {
    rules: &'a dyn ValueRules,
    /// A request for the dangerous key ([`TableKind::Dependency`]) instead of an error
    /// ([`Code::W005`]).
    reclassify: bool,
}

/// Reads a sandbox table; every problem is reported, not just the first. `rules` normalize
/// paths and say which values need their `dangerous-` key on this machine (see
/// [`ValueRules`]): the parser reports, it does not decide.
///
/// # Errors
///
/// Returns all diagnostics when anything is malformed or unknown.
pub fn parse_table(
    file: &SourceFile<'_>,
    item: &Item,
    kind: TableKind,
    rules: &dyn ValueRules,
) -> Result<SandboxTable, Vec<Diagnostic>> {
    let grants = Hazards {
        rules,
        reclassify: false,
    };
    let requests = Hazards {
        rules,
        reclassify: kind == TableKind::Dependency,
    };
    let mut errors = Vec::new();
    let mut table = SandboxTable::default();
    let Some(body) = item.as_table_like() else {
        errors.push(file.error(
            Code::W002,
            item.span(),
            format!("{} must be a table", kind.header()),
        ));
        return Err(errors);
    };
    let mut consumer = ConsumerPolicy::default();
    let mut saw_consumer = false;
    let mut own_keys: Vec<&str> = vec!["version"];
    if kind.has_requests() {
        own_keys.extend(CAPABILITY_KEYS);
        own_keys.push("reason");
    }
    own_keys.extend(CONSUMER_KEYS);
    for (key, value) in body.iter() {
        let span = key_span(body, key).or_else(|| value.span());
        match key {
            "version" => check_version(file, value, &mut errors),
            "reason" if kind.has_requests() => {
                table.requests.reason = string(file, value, key, &mut errors);
            }
            "mode" => {
                saw_consumer = true;
                if let Some(text) = string(file, value, key, &mut errors) {
                    match Mode::parse(&text) {
                        Some(mode) => consumer.mode = mode,
                        None => errors.push(
                            file.error(Code::W002, value.span(), format!("unknown mode `{text}`"))
                                .with_help("use \"deny\", \"strict\" or \"trust-declared\""),
                        ),
                    }
                }
            }
            "deny-rustc" => {
                saw_consumer = true;
                match value.as_bool() {
                    Some(flag) => consumer.deny_rustc = flag,
                    None => errors.push(file.error(
                        Code::W002,
                        value.span(),
                        "`deny-rustc` must be true or false",
                    )),
                }
            }
            "env-defaults" => {
                saw_consumer = true;
                match value.as_bool() {
                    Some(flag) => consumer.env_defaults = flag,
                    None => errors.push(file.error(
                        Code::W002,
                        value.span(),
                        "`env-defaults` must be true or false",
                    )),
                }
            }
            "allow" | "deny" => {
                saw_consumer = true;
                let grants = parse_grants(file, value, key, kind, grants, &mut errors);
                if key == "allow" {
                    consumer.allow = grants;
                } else {
                    consumer.deny = grants;
                }
            }
            key if kind.has_requests() && CAPABILITY_KEYS.contains(&key) => {
                let needs = &mut table.requests.needs;
                parse_capability(file, key, value, needs, requests, &mut errors);
            }
            other => errors.push(unknown_key(file, span, other, kind.header(), &own_keys)),
        }
    }
    if saw_consumer {
        table.consumer = Some(consumer);
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

fn key_span(table: &dyn TableLike, key: &str) -> Option<std::ops::Range<usize>> {
    table.get_key_value(key).and_then(|(key, _)| key.span())
}

fn unknown_key(
    file: &SourceFile<'_>,
    span: Option<std::ops::Range<usize>>,
    key: &str,
    header: &str,
    known: &[&str],
) -> Diagnostic {
    let diagnostic = file.error(Code::W001, span, format!("unknown key `{key}` in {header}"));
    match did_you_mean(key, known) {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None => diagnostic.with_help(format!("known keys: {}", known.join(", "))),
    }
}

fn check_version(file: &SourceFile<'_>, value: &Item, errors: &mut Vec<Diagnostic>) {
    match value.as_integer() {
        Some(SCHEMA_VERSION) => {}
        Some(other) => errors.push(
            file.error(Code::W003, value.span(), format!("unsupported sandbox schema version {other}"))
                .with_help(format!("this cargo-wasm-build reads version {SCHEMA_VERSION}; update it to read newer tables")),
        ),
        None => errors.push(file.error(Code::W002, value.span(), "`version` must be an integer")),
    }
}

fn string(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<String> {
    match value.as_str() {
        Some(text) => Some(text.to_string()),
        None => {
            errors.push(file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be a string"),
            ));
            None
        }
    }
}

type Span = Option<std::ops::Range<usize>>;

/// The non-empty strings of the array `key`, each with its own span, so a diagnostic about
/// one entry points at that entry.
fn strings(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, Span)> {
    let Some(array) = value.as_array() else {
        errors.push(
            file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be an array of strings"),
            )
            .with_help(format!("write `{key} = [\"...\"]`")),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for element in array.iter() {
        match element.as_str() {
            Some(text) if !text.is_empty() => out.push((text.to_string(), element.span())),
            _ => errors.push(file.error(
                Code::W002,
                element.span(),
                format!("`{key}` entries must be non-empty strings"),
            )),
        }
    }
    out
}

/// No hazard: every well-formed entry is fine under its key.
fn harmless<T>(_: &T) -> Option<(String, String)> {
    None
}

/// The entries of `key` read by `parse`, each at its own span: a malformed one is reported
/// ([`Code::W002`]) and left out; one that `hazard` finds reaching secrets or homes is
/// reported as needing its `dangerous-` key ([`Code::W005`]) and kept.
fn entries<T>(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    hazard: impl Fn(&T) -> Option<(String, String)>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (text, span) in strings(file, value, key, errors) {
        match parse(&text) {
            Ok(parsed) => {
                if let Some((message, help)) = hazard(&parsed) {
                    errors.push(file.error(Code::W005, span, message).with_help(help));
                }
                out.push(parsed);
            }
            Err(ValueError { message, help }) => {
                errors.push(file.error(Code::W002, span, message).with_help(help));
            }
        }
    }
    out
}

/// A path as written in `read`, `write` or `link-search`, normalized by `rules`.
fn path(rules: &dyn ValueRules, text: &str) -> Result<String, ValueError> {
    rules
        .normalize_path(text)
        .map_err(|(message, help)| ValueError { message, help })
}

/// A directive that needs a grant, with a suggestion when the name is not one.
fn gated_directive(name: &str) -> Result<GatedDirective, ValueError> {
    if let Some(gated) = GatedDirective::from_key(name) {
        return Ok(gated);
    }
    let known: Vec<&str> = GatedDirective::ALL.iter().map(|g| g.key()).collect();
    let help = match did_you_mean(name, &known) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("directives that need a grant: {}", known.join(", ")),
    };
    Err(ValueError {
        message: format!("`{name}` is not a directive that needs a grant"),
        help,
    })
}

fn parse_capability(
    file: &SourceFile<'_>,
    key: &str,
    value: &Item,
    set: &mut CapabilitySet,
    hazards: Hazards<'_>,
    errors: &mut Vec<Diagnostic>,
) {
    if key == "limits" {
        set.limits = parse_limits(file, value, errors);
        return;
    }
    let Some(kind) = CapabilityKey::from_key(key) else {
        return;
    };
    let path_problem = |path: &String| hazards.rules.path_problem(key, path);
    let path = |text: &str| path(hazards.rules, text);
    // Under its plain key, a value that needs the dangerous one is an error, or (from a
    // dependency) a request for the dangerous key.
    let refused = |problem: Option<(String, String)>| problem.filter(|_| !hazards.reclassify);
    match kind {
        CapabilityKey::Exec => set.exec = entries(file, value, key, errors, str::parse, harmless),
        CapabilityKey::Network => set.network = network_entries(file, value, errors),
        CapabilityKey::Env => {
            let all = entries(file, value, key, errors, str::parse, |pattern| {
                refused(hazards.rules.env_problem(pattern))
            });
            let (dangerous, plain): (Vec<_>, Vec<_>) = all.into_iter().partition(|pattern| {
                hazards.reclassify && hazards.rules.env_problem(pattern).is_some()
            });
            set.env = plain;
            extend_unique(&mut set.dangerous_env, dangerous);
        }
        CapabilityKey::DangerousEnv => {
            let all = entries(file, value, key, errors, str::parse, harmless);
            extend_unique(&mut set.dangerous_env, all);
        }
        CapabilityKey::Read | CapabilityKey::Write => {
            let all = entries(file, value, key, errors, path, |p| refused(path_problem(p)));
            let (dangerous, plain): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|p| hazards.reclassify && path_problem(p).is_some());
            if kind == CapabilityKey::Read {
                set.read = plain;
                extend_unique(&mut set.dangerous_read, dangerous);
            } else {
                set.write = plain;
                extend_unique(&mut set.dangerous_write, dangerous);
            }
        }
        CapabilityKey::DangerousRead => {
            let all = entries(file, value, key, errors, path, harmless);
            extend_unique(&mut set.dangerous_read, all);
        }
        CapabilityKey::DangerousWrite => {
            let all = entries(file, value, key, errors, path, harmless);
            extend_unique(&mut set.dangerous_write, all);
        }
        CapabilityKey::LinkSearch => {
            set.link_search = entries(file, value, key, errors, path, harmless)
        }
        CapabilityKey::DangerousRustcEnv => {
            set.dangerous_rustc_env = entries(file, value, key, errors, str::parse, harmless)
        }
        CapabilityKey::Directives => {
            set.directives = entries(file, value, key, errors, gated_directive, harmless)
        }
        CapabilityKey::RunNatively | CapabilityKey::RunBuilt => match value.as_bool() {
            Some(flag) => set.set_flag(kind, flag),
            None => errors.push(file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be true or false"),
            )),
        },
    }
}

/// The entries of `network`: program names, and `{ program, hosts }` tables, each
/// malformed one reported at its own span and left out.
fn network_entries(
    file: &SourceFile<'_>,
    value: &Item,
    errors: &mut Vec<Diagnostic>,
) -> Vec<NetworkEntry> {
    const SHAPE: &str = "write `network = [\"curl\"]` (public addresses only) or \
         `network = [{ program = \"curl\", hosts = [\"github.com\", \"*.pyke.io:443\"] }]`";
    let Some(array) = value.as_array() else {
        errors.push(
            file.error(Code::W002, value.span(), "`network` must be an array")
                .with_help(SHAPE),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut report = |span: Span, ValueError { message, help }: ValueError| {
        errors.push(file.error(Code::W002, span, message).with_help(help));
    };
    for element in array.iter() {
        let span = element.span();
        if let Some(text) = element.as_str() {
            match text.parse::<Program>() {
                Ok(program) => out.push(NetworkEntry::Public(program)),
                Err(why) => report(span, why),
            }
            continue;
        }
        let Some(table) = element.as_inline_table() else {
            report(
                span,
                ValueError {
                    message: "`network` entries must be programs or `{ program, hosts }` tables"
                        .into(),
                    help: SHAPE.into(),
                },
            );
            continue;
        };
        match hosts_entry(table) {
            Ok(entry) => out.push(NetworkEntry::Hosts(entry)),
            Err(why) => report(span, why),
        }
    }
    out
}

/// One `{ program = "curl", hosts = [...] }` entry of `network`.
fn hosts_entry(table: &toml_edit::InlineTable) -> Result<HostsEntry, ValueError> {
    let shape = || ValueError {
        message: "a `network` table needs `program` (a string) and `hosts` (an array of \
                  hosts), nothing else"
            .into(),
        help: "write `{ program = \"curl\", hosts = [\"github.com\", \"127.0.0.1:8080\"] }`".into(),
    };
    if table
        .iter()
        .any(|(key, _)| key != "program" && key != "hosts")
    {
        return Err(shape());
    }
    let program = table
        .get("program")
        .and_then(|v| v.as_str())
        .ok_or_else(shape)?;
    let hosts = table
        .get("hosts")
        .and_then(|v| v.as_array())
        .ok_or_else(shape)?;
    let mut entry = HostsEntry {
        program: program.parse()?,
        hosts: Vec::new(),
    };
    for host in hosts.iter() {
        let host: HostPattern = host.as_str().ok_or_else(shape)?.parse()?;
        if !entry.hosts.contains(&host) {
            entry.hosts.push(host);
        }
    }
    if entry.hosts.is_empty() {
        return Err(shape());
    }
    Ok(entry)
}

/// Appends the values of `more` that `list` does not hold yet: a dangerous key may be
/// filled both from its own entries and from a dependency's plain ones, in either order.
fn extend_unique<T: PartialEq>(list: &mut Vec<T>, more: Vec<T>) {
    for value in more {
        if !list.contains(&value) {
            list.push(value);
        }
    }
}

fn parse_limits(
    file: &SourceFile<'_>,
    value: &Item,
    errors: &mut Vec<Diagnostic>,
) -> LimitOverrides {
    let mut limits = LimitOverrides::default();
    let Some(table) = value.as_table_like() else {
        errors.push(
            file.error(Code::W002, value.span(), "`limits` must be a table")
                .with_help("write `limits = { memory = \"2GiB\", cpu-time = \"10min\" }`"),
        );
        return limits;
    };
    for (key, item) in table.iter() {
        let span = key_span(table, key).or_else(|| item.span());
        // Sizes and times are strings; a count is an integer.
        let count = item.as_integer().map(|count| count.to_string());
        let text = item.as_str().or(count.as_deref());
        let bad = |what: &str| {
            file.error(
                Code::W002,
                item.span(),
                format!("`limits.{key}` must be {what}"),
            )
        };
        let Some(limit) = LimitKey::from_key(key) else {
            let known: Vec<&str> = LimitKey::ALL.iter().map(|limit| limit.key()).collect();
            errors.push(unknown_key(file, span, key, "`limits`", &known));
            continue;
        };
        if let Err(what) = limits.set_text(limit, text) {
            errors.push(bad(what));
        }
    }
    limits
}

fn parse_grants(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    kind: TableKind,
    hazards: Hazards<'_>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, CapabilitySet> {
    let mut grants = BTreeMap::new();
    let Some(table) = value.as_table_like() else {
        errors.push(
            file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be a table of packages"),
            )
            .with_help(format!(
                "write `{}` followed by a `[...{key}.\"name@version\"]` table",
                kind.header()
            )),
        );
        return grants;
    };
    for (spec, body) in table.iter() {
        let span = key_span(table, spec).or_else(|| body.span());
        if let Err(why) = PackageSpec::parse(spec) {
            errors.push(file.error(Code::W004, span.clone(), format!("`{spec}` is not a package spec: {why}"))
                .with_help("grants name one exact version, e.g. \"zstd-sys@2.0.15+zstd.1.5.7\"; a new version must be reviewed again"));
            continue;
        }
        let Some(body_table) = body.as_table_like() else {
            errors.push(file.error(
                Code::W002,
                body.span(),
                format!("the {key} entry for `{spec}` must be a table"),
            ));
            continue;
        };
        let mut set = CapabilitySet::default();
        for (cap_key, cap_value) in body_table.iter() {
            if CAPABILITY_KEYS.contains(&cap_key) {
                parse_capability(file, cap_key, cap_value, &mut set, hazards, errors);
            } else {
                let cap_span = key_span(body_table, cap_key).or_else(|| cap_value.span());
                errors.push(unknown_key(
                    file,
                    cap_span,
                    cap_key,
                    &format!("the {key} entry for `{spec}`"),
                    &CAPABILITY_KEYS,
                ));
            }
        }
        grants.insert(spec.to_string(), set);
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    use crate::capability::Capability;
    use crate::hygiene::{self, PathRules};
    use crate::limits::Limits;
    use crate::net::NetworkHost;
    use crate::values::{ByteSize, TimeLimit};

    fn parse(text: &str, path: &[&str], kind: TableKind) -> Result<SandboxTable, Vec<String>> {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let mut item = doc.as_item();
        for key in path {
            item = &item[*key];
        }
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        parse_table(&file, item, kind, &PathRules::default())
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn requests_with_every_key() {
        let text = r#"
[package.metadata.sandbox]
version = 1
exec = ["cc", "ar"]
env = ["CC", "CFLAGS_*"]
read = ["vendor/include", "$TOOLCHAIN"]
write = []
network = []
directives = ["rustc-link-arg"]
link-search = ["/opt/lib"]
limits = { memory = "2GiB", cpu-time = "10min" }
reason = "compiles the bundled C library"
"#;
        let table = parse(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
        )
        .unwrap();
        let needs = &table.requests.needs;
        assert_eq!(needs.exec, ["cc", "ar"]);
        assert_eq!(needs.env, ["CC", "CFLAGS_*"]);
        assert_eq!(needs.directives, [GatedDirective::RustcLinkArg]);
        assert_eq!(needs.limits.memory, Some(ByteSize::new(2 << 30)));
        assert_eq!(
            needs.limits.cpu_time,
            Some(TimeLimit::new(Duration::from_secs(600)))
        );
        assert_eq!(
            table.requests.reason.as_deref(),
            Some("compiles the bundled C library")
        );
        assert_eq!(table.consumer, None);
    }

    #[test]
    fn env_defaults_are_on_unless_turned_off() {
        let table = |text: &str| {
            parse(
                text,
                &["workspace", "metadata", "sandbox"],
                TableKind::Workspace,
            )
        };
        let on = table("[workspace.metadata.sandbox]\nmode = \"deny\"\n").unwrap();
        assert!(on.consumer.unwrap().env_defaults);
        let off = table("[workspace.metadata.sandbox]\nenv-defaults = false\n").unwrap();
        assert!(!off.consumer.unwrap().env_defaults);
        let errors = table("[workspace.metadata.sandbox]\nenv-defaults = \"no\"\n").unwrap_err();
        assert!(
            errors[0].contains("`env-defaults` must be true or false"),
            "{errors:?}"
        );
    }

    #[test]
    fn consumer_policy() {
        let text = r#"
[workspace.metadata.sandbox]
mode = "strict"
[workspace.metadata.sandbox.allow."zstd-sys@2.0.15+zstd.1.5.7"]
exec = ["cc", "ar"]
[workspace.metadata.sandbox.deny."evil@1.0.0"]
exec = ["curl"]
"#;
        let table = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap();
        let consumer = table.consumer.unwrap();
        assert_eq!(consumer.mode, Mode::Strict);
        assert_eq!(
            consumer.allow["zstd-sys@2.0.15+zstd.1.5.7"].exec,
            ["cc", "ar"]
        );
        assert_eq!(consumer.deny["evil@1.0.0"].exec, ["curl"]);
    }

    #[test]
    fn unknown_keys_are_located_errors_with_suggestions() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.sandbox]\nexe = [\"cc\"]\ndirectives = [\"rustc-link-args\"]\nlimits = { memroy = \"1GiB\" }\n";
        let errors = parse(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W001]: unknown key `exe`")
                && errors[0].contains("Cargo.toml:5:1")
                && errors[0].contains("did you mean `exec`?"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W002]: `rustc-link-args` is not a directive")
                && errors[1].contains("did you mean `rustc-link-arg`?"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("error[W001]: unknown key `memroy`")
                && errors[2].contains("did you mean `memory`?"),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn workspace_table_takes_no_requests() {
        let text = "[workspace.metadata.sandbox]\nexec = [\"cc\"]\n";
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert!(
            errors[0].contains("unknown key `exec` in [workspace.metadata.sandbox]"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        let text = r#"
[workspace.metadata.sandbox]
mode = "lenient"
version = 2
[workspace.metadata.sandbox.allow."cc@1"]
exec = "cc"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
exec = ["cc", 3]
env = ["A*B"]
"#;
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("error[W002]: unknown mode `lenient`"), "{all}");
        assert!(
            all.contains("error[W003]: unsupported sandbox schema version 2"),
            "{all}"
        );
        assert!(
            all.contains("error[W004]: `cc@1` is not a package spec: the version must be exact"),
            "{all}"
        );
        assert!(
            all.contains("error[W002]: `exec` entries must be non-empty strings"),
            "{all}"
        );
        assert!(
            all.contains("error[W002]: invalid variable pattern `A*B`"),
            "{all}"
        );
    }

    /// `network` holds programs (public addresses) and `{ program, hosts }` tables; each
    /// host is one capability, a non-public address a dangerous one, and what `approve`
    /// adds for a host joins the program's table.
    #[test]
    fn network_grants_name_programs_or_their_hosts() {
        let text = r#"
[workspace.metadata.sandbox.allow."a@1.0.0"]
network = ["git", { program = "curl", hosts = ["GitHub.com.", "*.pyke.io:443", "127.0.0.1:8080"] }]
"#;
        let table = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap();
        let mut set = table.consumer.unwrap().allow["a@1.0.0"].clone();
        let capabilities = set.capabilities();
        let lines: Vec<String> = capabilities.iter().map(Capability::toml_line).collect();
        assert_eq!(
            lines,
            [
                r#"network = ["git"]"#,
                r#"network = [{ program = "curl", hosts = ["github.com"] }]"#,
                r#"network = [{ program = "curl", hosts = ["*.pyke.io:443"] }]"#,
                r#"network = [{ program = "curl", hosts = ["127.0.0.1:8080"] }]"#,
            ]
        );
        let dangerous: Vec<bool> = capabilities.iter().map(Capability::is_dangerous).collect();
        assert_eq!(dangerous, [false, false, false, true]);
        assert!(capabilities.iter().all(|c| !c.is_learnable()));
        set.insert(Capability::NetworkHost(NetworkHost {
            program: "curl".into(),
            host: "[::1]:9".into(),
        }))
        .unwrap();
        assert_eq!(
            set.values(CapabilityKey::Network),
            [
                "git",
                "curl to github.com, *.pyke.io:443, 127.0.0.1:8080, [::1]:9"
            ]
        );
        assert_eq!(
            crate::grant_lines(&set.capabilities()),
            [
                r#"network = ["git", { program = "curl", hosts = ["github.com", "*.pyke.io:443", "127.0.0.1:8080", "[::1]:9"] }]"#
            ]
        );

        let bad = r#"
[workspace.metadata.sandbox.allow."a@1.0.0"]
network = [{ program = "curl" }, { program = "curl", hosts = ["10.0.0.0/8"] }, { program = "curl", hosts = [], extra = 1 }, 3, { program = "curl", hosts = ["127.1"] }]
"#;
        let errors = parse(
            bad,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err()
        .join("\n");
        assert_eq!(errors.matches("error[W002]").count(), 5, "{errors}");
        assert!(
            errors.contains("`\"10.0.0.0/8\"` is an address range")
                || errors.contains("\"10.0.0.0/8\" is an address range"),
            "{errors}"
        );
        assert!(errors.contains("\"127.1\" is not a host"), "{errors}");
        assert!(
            errors.contains("`network` entries must be programs or `{ program, hosts }` tables"),
            "{errors}"
        );
    }

    #[test]
    fn what_reaches_secrets_needs_its_dangerous_key() {
        let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
env = ["*"]
read = ["/home/me"]
write = ["../elsewhere"]
"#;
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W005]: `env = [\"*\"]`"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W005]: `/home/me` covers a home directory"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("error[W002]: `../elsewhere` leaves the package"),
            "{}",
            errors[2]
        );
    }

    /// Rules that hold nothing dangerous and every path as written, except the variable
    /// `SECRET_CC` ([`ValueRules`] for [`parse_table`]).
    struct Lenient;

    impl ValueRules for Lenient {
        fn normalize_path(&self, path: &str) -> Result<String, (String, String)> {
            Ok(path.to_string())
        }

        fn env_problem(&self, pattern: &crate::EnvPattern) -> Option<(String, String)> {
            (pattern.as_str() == "SECRET_CC")
                .then(|| ("refused by these rules".into(), "help".into()))
        }

        fn path_problem(&self, _key: &str, _path: &str) -> Option<(String, String)> {
            None
        }
    }

    /// The parser reports what the rules it is given decide, and decides nothing itself:
    /// what the machine's rules refuse (a home, `*`, a path leaving the package) is
    /// accepted under rules that accept it, and what they accept is refused under rules
    /// that refuse it, with their message at the value.
    #[test]
    fn the_parser_applies_the_rules_it_is_given() {
        let at = ["workspace", "metadata", "sandbox"];
        let lenient = parse_with(
            r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
env = ["*"]
read = ["/home/me"]
write = ["../elsewhere"]
"#,
            &at,
            TableKind::Workspace,
            &Lenient,
        )
        .unwrap();
        let grants = &lenient.consumer.unwrap().allow["ok@1.0.0"];
        assert_eq!(grants.write, ["../elsewhere"]);
        assert_eq!(grants.read, ["/home/me"]);
        let errors = parse_with(
            "[workspace.metadata.sandbox.allow.\"ok@1.0.0\"]\nenv = [\"SECRET_CC\"]\n",
            &at,
            TableKind::Workspace,
            &Lenient,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W005]: refused by these rules"),
            "{}",
            errors[0]
        );
    }

    fn parse_with(
        text: &str,
        path: &[&str],
        kind: TableKind,
        rules: &dyn ValueRules,
    ) -> Result<SandboxTable, Vec<String>> {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let item = path.iter().fold(doc.as_item(), |item, key| &item[*key]);
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        parse_table(&file, item, kind, rules)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    fn homes() -> PathRules {
        PathRules::default()
            .with_home(hygiene::HomeKind::User, Path::new("/home/me"))
            .with_home(hygiene::HomeKind::Cargo, Path::new("/home/me/.cargo"))
            .with_own_tree(Path::new("/home/me/src/app"))
    }

    /// What the consumer writes under a plain key for a path inside this machine's home,
    /// or a secret's place anywhere, is refused with the code, in a grant and in a
    /// member's own requests alike; the dangerous key holds it.
    #[test]
    fn the_consumer_writes_homes_and_secrets_under_the_dangerous_key() {
        let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
read = ["/home/me/.cargo", "/srv/x/.ssh", "/home/me/src/app/vendor", "/usr/include"]
write = ["/home/me/.local/bin"]
"#;
        let at = ["workspace", "metadata", "sandbox"];
        let errors = parse_with(text, &at, TableKind::Workspace, &homes()).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W005]: `/home/me/.cargo` covers a home directory"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W005]: `/srv/x/.ssh` reaches `.ssh`"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2]
                .starts_with("error[W005]: `/home/me/.local/bin` is inside your home directory"),
            "{}",
            errors[2]
        );
        assert!(
            errors[2].contains("dangerous-write = [\"/home/me/.local/bin\"]"),
            "{}",
            errors[2]
        );
        let fixed = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
dangerous-read = ["/home/me/.cargo", "/srv/x/.ssh"]
read = ["/home/me/src/app/vendor", "/usr/include"]
dangerous-write = ["/home/me/.local/bin"]
"#;
        let consumer = parse_with(fixed, &at, TableKind::Workspace, &homes())
            .unwrap()
            .consumer
            .unwrap();
        assert_eq!(consumer.allow["ok@1.0.0"].dangerous_read.len(), 2);

        let member = "[package.metadata.sandbox]\nread = [\"/home/me/.ssh\"]\n";
        let errors = parse_with(
            member,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
            &homes(),
        )
        .unwrap_err();
        assert!(errors[0].starts_with("error[W005]:"), "{errors:?}");
    }

    /// A dependency's request under a plain key for what needs the dangerous one is a
    /// request for the dangerous key, whatever order the keys come in.
    #[test]
    fn a_dependency_requests_homes_and_secrets_under_the_dangerous_key() {
        let text = r#"
[package.metadata.sandbox]
dangerous-read = ["/opt/sdk"]
read = ["/home/me/.ssh", "/home/me/.cargo", "include", "/usr/include", "/opt/sdk"]
write = ["/home/me/.cargo/bin"]
env = ["CC", "GITHUB_TOKEN"]
"#;
        let needs = parse_with(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Dependency,
            &homes(),
        )
        .unwrap()
        .requests
        .needs;
        assert_eq!(needs.read, ["include", "/usr/include", "/opt/sdk"]);
        assert_eq!(
            needs.dangerous_read,
            ["/opt/sdk", "/home/me/.ssh", "/home/me/.cargo"]
        );
        assert_eq!(needs.write, Vec::<String>::new());
        assert_eq!(needs.dangerous_write, ["/home/me/.cargo/bin"]);
        assert_eq!(needs.env, ["CC"]);
        assert_eq!(needs.dangerous_env, ["GITHUB_TOKEN"]);
    }

    /// `processes` is a count, written as a TOML integer (and written back as one).
    #[test]
    fn the_process_limit_is_a_number() {
        let table = |limits: &str| {
            parse(
                &format!("[package.metadata.sandbox]\nlimits = {{ {limits} }}\n"),
                &["package", "metadata", "sandbox"],
                TableKind::Package,
            )
        };
        let needs = table("processes = 8192").unwrap().requests.needs;
        assert_eq!(needs.limits.processes, Some(8192));
        assert_eq!(needs.limits.apply(Limits::default()).processes, 8192);
        assert_eq!(
            needs.limits.toml_pairs(),
            [("processes", "8192".to_string())]
        );
        for bad in ["processes = 0", "processes = -3", "processes = \"many\""] {
            let errors = table(bad).unwrap_err();
            assert!(
                errors[0].contains("`limits.processes` must be a number of processes"),
                "{bad}: {errors:?}"
            );
        }
    }

    /// A malformed entry is reported where it stands, not at the start of its array.
    #[test]
    fn entry_diagnostics_point_at_the_entry() {
        let text = "[workspace.metadata.sandbox.allow.\"ok@1.0.0\"]\nenv = [\"CC\",\n  \"A*B\"]\nread = [\"src\", \"/home/me\"]\ndirectives = [\"rustc-env\", \"rustc-cfg\"]\nlimits = { memory = \"lots\" }\n";
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        let at = |needle: &str, place: &str| {
            let error = errors.iter().find(|e| e.contains(needle)).unwrap();
            assert!(error.contains(place), "{needle} at {place}: {error}");
        };
        at("invalid variable pattern `A*B`", "Cargo.toml:3:3");
        at("`/home/me` covers a home directory", "Cargo.toml:4:16");
        at("`rustc-cfg` is not a directive", "Cargo.toml:5:28");
        at("`limits.memory` must be a size", "Cargo.toml:6:21");
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use std::path::Path;

    /// Fragments of sandbox tables, shuffled into documents: a cheap, deterministic
    /// version of the `sandbox_tables` fuzz target that runs with every `cargo test`.
    const PIECES: &[&str] = &[
        "[package.metadata.sandbox]\n",
        "[workspace.metadata.sandbox]\n",
        "[workspace.metadata.sandbox.allow.\"a@1.0.0\"]\n",
        "exec = [\"cc\"]\n",
        "exec = 3\n",
        "env = [\"A*\", \"*\", \"\"]\n",
        "limits = { memory = \"9999999999999GiB\" }\n",
        "limits = { cpu-time = \"-1s\" }\n",
        "mode = \"strict\"\n",
        "mode = 1\n",
        "version = 2\n",
        "allow = 5\n",
        "deny = { \"x\" = 1 }\n",
        "directives = [\"rustc-env\", 1]\n",
        "run-natively = \"yes\"\n",
        "[package.metadata.sandbox.allow.\"@\"]\n",
        "é = 1\n",
        "reason = \"\u{0}\"\n",
        "limits = []\n",
        "link-search = [\"/\"]\n",
    ];

    #[test]
    fn random_tables_never_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..(state % 8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            state = state.wrapping_add(1);
            let Ok(doc) = toml_edit::Document::parse(text.clone()) else {
                continue;
            };
            let file = SourceFile {
                path: Path::new("Cargo.toml"),
                text: &text,
            };
            for (root, kind) in [
                ("package", TableKind::Package),
                ("package", TableKind::Dependency),
                ("workspace", TableKind::Workspace),
            ] {
                let item = doc
                    .get(root)
                    .and_then(|item| item.get("metadata"))
                    .and_then(|item| item.get("sandbox"));
                if let Some(item) = item {
                    let _ = parse_table(&file, item, kind, &crate::hygiene::PathRules::default());
                }
            }
        }
    }
}
