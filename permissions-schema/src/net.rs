//! Network grants: which hosts a program may reach, through the filtering proxy the tool
//! runs for it.
//!
//! ```toml
//! network = ["curl"]                                                   # public addresses only
//! network = [{ program = "curl", hosts = ["github.com", "*.pyke.io:443"] }]
//! network = [{ program = "curl", hosts = ["127.0.0.1:8080"] }]         # dangerous: this machine
//! ```
//!
//! A grant of a bare program reaches public addresses only. A host entry names a host (a
//! name, `*.` and a suffix for its subdomains, or an IP address) and optionally a port.
//! Addresses that are not public (this machine, its link, the private network, the cloud
//! metadata address, in every spelling IPv6 has for them) are reached only when an entry
//! names that very address: a *name* never leads to one, whatever it resolves to (DNS
//! rebinding). Address ranges (CIDR) are not accepted: each machine or service a build
//! needs on the private network is named by its address, so that review sees each one.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::values::{Program, ValueError};

/// What an IP address reaches, as far as a network grant is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddressClass {
    /// A public address on the internet: what a bare `network` grant reaches.
    Public,
    /// `0.0.0.0` or `::`: connecting to it reaches this machine.
    Unspecified,
    /// This machine (`127.0.0.0/8`, `::1`).
    Loopback,
    /// The cloud metadata address (`169.254.169.254`, `fd00:ec2::254`), which hands out
    /// the machine's credentials.
    Metadata,
    /// The local link (`169.254.0.0/16`, `fe80::/10`).
    LinkLocal,
    /// A private network (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fec0::/10`).
    Private,
    /// The carrier-grade NAT's shared space (`100.64.0.0/10`), private to a provider.
    SharedAddressSpace,
    /// A unique-local IPv6 network (`fc00::/7`): IPv6's private networks.
    UniqueLocal,
    /// Multicast and broadcast.
    Multicast,
    /// Reserved, documentation and translation ranges no download needs.
    Reserved,
}

impl AddressClass {
    /// The class of `address`; an IPv4 address written as IPv6 (`::ffff:127.0.0.1`,
    /// NAT64's `64:ff9b::/96`, 6to4's `2002::/16`) is the class of the IPv4 address.
    pub fn of(address: IpAddr) -> AddressClass {
        match canonical(address) {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(address: Ipv4Addr) -> AddressClass {
        let [a, b, c, _] = address.octets();
        match (a, b, c) {
            _ if address.is_unspecified() => AddressClass::Unspecified,
            (127, _, _) => AddressClass::Loopback,
            _ if address == Ipv4Addr::new(169, 254, 169, 254) => AddressClass::Metadata,
            (169, 254, _) => AddressClass::LinkLocal,
            (10, _, _) | (192, 168, _) => AddressClass::Private,
            (172, b, _) if (16..32).contains(&b) => AddressClass::Private,
            (100, b, _) if (64..128).contains(&b) => AddressClass::SharedAddressSpace,
            (224..=239, _, _) | (255, 255, 255) => AddressClass::Multicast,
            (0, _, _) | (240..=255, _, _) => AddressClass::Reserved,
            (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Reserved,
            (198, 18 | 19, _) => AddressClass::Reserved,
            _ => AddressClass::Public,
        }
    }

    fn of_v6(address: Ipv6Addr) -> AddressClass {
        let segments = address.segments();
        match segments {
            _ if address.is_unspecified() => AddressClass::Unspecified,
            _ if address.is_loopback() => AddressClass::Loopback,
            [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => AddressClass::Metadata,
            [first, ..] if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
            [first, ..] if first & 0xffc0 == 0xfec0 => AddressClass::Private,
            [first, ..] if first & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
            [first, ..] if first & 0xff00 == 0xff00 => AddressClass::Multicast,
            // IPv4-compatible (`::a.b.c.d`), NAT64 local use, discard, Teredo,
            // documentation.
            [0, 0, 0, 0, 0, 0, _, _]
            | [0x64, 0xff9b, 1, ..]
            | [0x100, 0, 0, 0, ..]
            | [0x2001, 0, ..]
            | [0x2001, 0xdb8, ..] => AddressClass::Reserved,
            _ => AddressClass::Public,
        }
    }

    /// Whether a bare `network` grant (or a host name) may reach it.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// What the address is, for a refusal: "a loopback address (this machine)".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Unspecified => "the unspecified address (this machine)",
            AddressClass::Loopback => "a loopback address (this machine's own services)",
            AddressClass::Metadata => "the cloud metadata address (the machine's credentials)",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Private => "a private-network address",
            AddressClass::SharedAddressSpace => "a carrier-grade NAT address (a private network)",
            AddressClass::UniqueLocal => "a unique-local address (a private IPv6 network)",
            AddressClass::Multicast => "a multicast or broadcast address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// `address` with an IPv4 address written in IPv6 (mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) as that IPv4 address, so that one address
/// has one spelling when it is classified and compared.
pub fn canonical(address: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = address else {
        return address;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    };
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => embedded(high, low),
        [0x2002, high, low, ..] => embedded(high, low),
        _ => address,
    }
}

/// A host as a client names it, checked: an IP address, or a name in lower case without
/// its trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// An IP address, written as one (`127.0.0.1`, `[::1]` or `::1`).
    Address(IpAddr),
    /// A DNS name.
    Name(String),
}

impl Host {
    /// Reads a host as a proxy request or a grant writes it.
    ///
    /// # Errors
    ///
    /// When it is neither an IP address nor a DNS name, or a name that looks numeric
    /// (`127.1`, `0x7f.1`: resolvers read those as addresses).
    pub fn parse(text: &str) -> Result<Host, ValueError> {
        let unbracketed = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'));
        if let Some(inner) = unbracketed {
            return inner
                .parse::<Ipv6Addr>()
                .map(|v6| Host::Address(IpAddr::V6(v6)))
                .map_err(|_| bad_host(text));
        }
        if let Ok(address) = text.parse::<IpAddr>() {
            return Ok(Host::Address(address));
        }
        dns_name(text).map(Host::Name).ok_or_else(|| bad_host(text))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Address(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Host::Address(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

fn bad_host(text: &str) -> ValueError {
    ValueError {
        message: format!("{text:?} is not a host"),
        help: "write a DNS name (\"github.com\"), `*.` and a domain (\"*.pyke.io\"), or an \
               IP address (\"127.0.0.1\", \"[::1]\"), optionally followed by `:port`; \
               address ranges are not accepted: name each address"
            .into(),
    }
}

/// `text` as a DNS name in lower case without its trailing dot, if it is one: labels of
/// letters, digits, `-` and `_`, and a last label that is not all digits (a resolver
/// would read `127.1` or `0x7f.1` as an address).
fn dns_name(text: &str) -> Option<String> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !name.split('.').all(label_ok) {
        return None;
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    (!numeric).then_some(name)
}

/// The host and port of an authority as a proxy request names them (`github.com:443`,
/// `[::1]:8080`), with `default_port` when it names none.
///
/// # Errors
///
/// When the host is malformed (see [`Host::parse`]) or the port is not one.
pub fn parse_authority(text: &str, default_port: u16) -> Result<(Host, u16), ValueError> {
    let (host, port) = split_port(text).ok_or_else(|| bad_host(text))?;
    // An IPv6 address in an authority is bracketed: `::1:80` is no host and port.
    if host.contains(':') && !host.starts_with('[') {
        return Err(bad_host(text));
    }
    let port = match port {
        None => default_port,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| bad_host(text))?,
    };
    Ok((Host::parse(host)?, port))
}

/// Which hosts a host entry names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum HostMatch {
    /// One host: a name or an address.
    Exactly(Host),
    /// Every subdomain of a domain (`*.pyke.io`: `cdn.pyke.io`, not `pyke.io`).
    SubdomainsOf(String),
}

/// A host entry of a network grant: a host (a name, `*.` and a domain, or an IP address)
/// and, optionally, the one port it may be reached on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern {
    host: HostMatch,
    port: Option<u16>,
}

impl TryFrom<String> for HostPattern {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, ValueError> {
        text.parse()
    }
}

impl From<HostPattern> for String {
    fn from(value: HostPattern) -> String {
        value.to_string()
    }
}

/// `host[:port]` split at its port: `[v6]:port` keeps its brackets; a colon elsewhere
/// separates the port. None when brackets are unbalanced.
fn split_port(text: &str) -> Option<(&str, Option<&str>)> {
    if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            rest => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    Some(match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    })
}

impl HostPattern {
    const EXPECTED: &'static str = "a host with an optional port: \"github.com\", \
         \"*.pyke.io:443\", \"127.0.0.1:8080\", \"[::1]:8080\"";

    /// Whether the entry reaches what a bare grant never does: an address that is not
    /// public (this machine, the local link or a private network). Displays show it in red.
    pub fn is_dangerous(&self) -> bool {
        match &self.host {
            HostMatch::Exactly(Host::Address(address)) => !AddressClass::of(*address).is_public(),
            _ => false,
        }
    }

    /// The port it names, if any (without one, every port).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|only| only == port)
    }

    /// Whether the entry names `address` itself (in any spelling) and `port`.
    pub fn names_address(&self, address: IpAddr, port: u16) -> bool {
        matches!(&self.host, HostMatch::Exactly(Host::Address(named))
            if canonical(*named) == canonical(address))
            && self.port_matches(port)
    }

    /// Whether the entry names the host `name` (a checked name, see [`Host::parse`]) and
    /// `port`. Only public addresses are reached by a name.
    pub fn names_name(&self, name: &str, port: u16) -> bool {
        let named = match &self.host {
            HostMatch::Exactly(Host::Name(named)) => named == name,
            HostMatch::SubdomainsOf(domain) => name
                .strip_suffix(domain.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            HostMatch::Exactly(Host::Address(_)) => false,
        };
        named && self.port_matches(port)
    }

    /// The entry that names exactly `host` on `port`.
    pub fn exactly(host: Host, port: u16) -> HostPattern {
        let host = match host {
            Host::Address(address) => Host::Address(canonical(address)),
            name => name,
        };
        HostPattern {
            host: HostMatch::Exactly(host),
            port: Some(port),
        }
    }
}

impl FromStr for HostPattern {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let malformed = || ValueError {
            message: format!("{text:?} is not a host entry"),
            help: format!("write {}", HostPattern::EXPECTED),
        };
        if text.contains('/') {
            return Err(ValueError {
                message: format!("{text:?} is an address range"),
                help: "network grants name hosts one by one (\"10.0.0.5:8080\"), so that \
                       review sees each machine of this network a build reaches"
                    .into(),
            });
        }
        // A bare IPv6 address has colons but no port.
        if let Ok(v6) = text.parse::<Ipv6Addr>() {
            return Ok(HostPattern {
                host: HostMatch::Exactly(Host::Address(IpAddr::V6(v6))),
                port: None,
            });
        }
        let (host, port) = split_port(text).ok_or_else(malformed)?;
        let port = match port {
            Some(port) => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(malformed)?,
            ),
            None => None,
        };
        let host = match host.strip_prefix("*.") {
            Some(domain) => match Host::parse(domain)? {
                Host::Name(domain) => HostMatch::SubdomainsOf(domain),
                Host::Address(_) => return Err(malformed()),
            },
            None => HostMatch::Exactly(Host::parse(host)?),
        };
        Ok(HostPattern { host, port })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.port) {
            (HostMatch::Exactly(Host::Address(IpAddr::V6(v6))), None) => write!(f, "{v6}")?,
            (HostMatch::Exactly(host), _) => write!(f, "{host}")?,
            (HostMatch::SubdomainsOf(domain), _) => write!(f, "*.{domain}")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl JsonSchema for HostPattern {
    fn schema_name() -> Cow<'static, str> {
        "HostPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A host with an optional port: a DNS name (`github.com`), `*.` and a domain for its subdomains (`*.pyke.io:443`), or an IP address (`127.0.0.1:8080`, `[::1]:8080`). An address that is not public (this machine, the local link, a private network) is reached only when named here, and is dangerous.",
            "type": "string",
            "minLength": 1,
            "pattern": r"^[^/\s]+$",
        })
    }
}

/// One entry of a `network` list: a program that may reach public addresses, or a
/// program and the hosts it may reach.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum NetworkEntry {
    /// A program (also in `exec`) that may connect to public addresses, any host.
    Public(Program),
    /// A program (also in `exec`) and the only hosts it may connect to besides what other
    /// entries grant it.
    Hosts(HostsEntry),
}

/// A program and the hosts it may reach: `{ program = "curl", hosts = ["github.com"] }`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct HostsEntry {
    /// The program, as `exec` names it.
    pub program: Program,
    /// Hosts, each with an optional port.
    #[schemars(length(min = 1))]
    pub hosts: Vec<HostPattern>,
}

impl NetworkEntry {
    /// The program the entry is for.
    pub fn program(&self) -> &Program {
        match self {
            NetworkEntry::Public(program) => program,
            NetworkEntry::Hosts(entry) => &entry.program,
        }
    }
}

impl fmt::Display for NetworkEntry {
    /// The entry as TOML writes it: `"curl"` or `{ program = "curl", hosts = [...] }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkEntry::Public(program) => f.write_str(&crate::toml_string(program.as_str())),
            NetworkEntry::Hosts(entry) => {
                let hosts: Vec<String> = entry
                    .hosts
                    .iter()
                    .map(|host| crate::toml_string(&host.to_string()))
                    .collect();
                write!(
                    f,
                    "{{ program = {}, hosts = [{}] }}",
                    crate::toml_string(entry.program.as_str()),
                    hosts.join(", ")
                )
            }
        }
    }
}

/// The grant of one host to one program, as [`crate::Capability::NetworkHost`] holds it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct NetworkHost {
    /// The program, as `exec` names it.
    pub program: String,
    /// The host entry, as written ([`HostPattern`]).
    pub host: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        AddressClass::of(text.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified_in_every_spelling() {
        use AddressClass::*;
        let cases = [
            ("8.8.8.8", Public),
            ("140.82.112.3", Public),
            ("2606:4700::1111", Public),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("0.1.2.3", Reserved),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("64:ff9b::127.0.0.1", Loopback),
            ("2002:7f00:1::", Loopback),
            ("::ffff:0.0.0.0", Unspecified),
            ("169.254.169.254", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("fd00:ec2::254", Metadata),
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("10.0.0.1", Private),
            ("::ffff:10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("172.15.0.1", Public),
            ("192.168.1.1", Private),
            ("fec0::1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("100.128.0.1", Public),
            ("100.63.0.1", Public),
            ("fc00::1", UniqueLocal),
            ("fdff::1", UniqueLocal),
            ("224.0.0.1", Multicast),
            ("255.255.255.255", Multicast),
            ("ff02::1", Multicast),
            ("240.0.0.1", Reserved),
            ("192.0.2.1", Reserved),
            ("198.18.0.1", Reserved),
            ("::127.0.0.1", Reserved),
            ("2001:db8::1", Reserved),
            ("2001:0:4136:e378::1", Reserved),
            ("64:ff9b::8.8.8.8", Public),
        ];
        for (text, expected) in cases {
            assert_eq!(class(text), expected, "{text}");
        }
    }

    #[test]
    fn hosts_read_names_and_addresses_and_refuse_the_rest() {
        let name = |text: &str| Host::parse(text).unwrap();
        assert_eq!(name("GitHub.COM."), Host::Name("github.com".into()));
        assert_eq!(name("[::1]"), Host::Address("::1".parse().unwrap()));
        assert_eq!(name("::1"), Host::Address("::1".parse().unwrap()));
        assert_eq!(
            name("127.0.0.1"),
            Host::Address("127.0.0.1".parse().unwrap())
        );
        for bad in [
            "",
            ".",
            "127.1",
            "0x7f.1",
            "2130706433",
            "a..b",
            "-a.com",
            "a b",
            "a/b",
            "[::1",
            "[127.0.0.1]",
            "a:b",
            "é.com",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authorities_read_host_and_port() {
        let read = |text: &str| parse_authority(text, 80).map(|(h, p)| format!("{h} {p}"));
        assert_eq!(read("GitHub.com:443").unwrap(), "github.com 443");
        assert_eq!(read("github.com.").unwrap(), "github.com 80");
        assert_eq!(read("[::1]:8080").unwrap(), "[::1] 8080");
        assert_eq!(
            read("[::ffff:127.0.0.1]:1").unwrap(),
            "[::ffff:127.0.0.1] 1"
        );
        assert_eq!(read("0.0.0.0:9").unwrap(), "0.0.0.0 9");
        for bad in [
            "::1:80",
            "[::1]8080",
            "a.com:0",
            "a.com:x",
            "user@a.com:80",
            "",
            ":80",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_entries_read_ports_wildcards_and_addresses() {
        let entry = |text: &str| text.parse::<HostPattern>().unwrap();
        assert_eq!(entry("GitHub.com.").to_string(), "github.com");
        assert_eq!(entry("*.pyke.io:443").to_string(), "*.pyke.io:443");
        assert_eq!(entry("127.0.0.1:8080").to_string(), "127.0.0.1:8080");
        assert_eq!(entry("[::1]:8080").to_string(), "[::1]:8080");
        assert_eq!(entry("::1").to_string(), "::1");
        assert_eq!(entry("[::1]").to_string(), "::1");
        assert_eq!(entry("[::1]").port(), None);
        for bad in [
            "10.0.0.0/8",
            "github.com:0",
            "github.com:65536",
            "github.com:",
            "*",
            "*.127.0.0.1",
            "a.*.com",
            "127.1:80",
            "",
        ] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad:?}");
        }
        assert!(entry("127.0.0.1:8080").is_dangerous());
        assert!(entry("::ffff:169.254.169.254").is_dangerous());
        assert!(entry("10.1.2.3").is_dangerous());
        assert!(!entry("140.82.112.3").is_dangerous());
        assert!(!entry("github.com").is_dangerous());
    }

    #[test]
    fn entries_print_as_toml_and_read_back() {
        let entry: NetworkEntry =
            serde_json::from_str(r#"{"program":"curl","hosts":["github.com","127.0.0.1:8080"]}"#)
                .unwrap();
        assert_eq!(
            entry.to_string(),
            r#"{ program = "curl", hosts = ["github.com", "127.0.0.1:8080"] }"#
        );
        let public: NetworkEntry = serde_json::from_str(r#""curl""#).unwrap();
        assert_eq!(public.to_string(), r#""curl""#);
    }
}
