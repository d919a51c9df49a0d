//! Which hosts and addresses a program's network grants reach: the proxy asks
//! [`NetworkRules::check`] about every connection, and a refusal names the grant that
//! would allow it. The hosts and entries themselves, and how they are read, are the
//! schema's (`wasm_build_permissions_schema::net`).

use std::net::IpAddr;

use wasm_build_permissions_schema::Capability;
use wasm_build_permissions_schema::net::{AddressClass, Host, HostPattern, canonical};

/// What the network grants of one program allow: the proxy checks every connection
/// against them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRules {
    /// Any host, on public addresses only (a bare grant).
    pub any_public: bool,
    /// The hosts named.
    pub hosts: Vec<HostPattern>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address is not public, and no entry names it.
    NotPublic(IpAddr, AddressClass),
    /// The host is not among the program's hosts.
    NotGranted,
}

impl NetworkRules {
    /// The rules of one program from the network grants and denials that name it (`None`
    /// for a bare one, else the host entry as written): a bare denial takes the network
    /// away, a denied host takes that host away, an entry that no longer parses allows
    /// nothing (it was reported when the table was read).
    pub fn from_grants(granted: &[Option<String>], denied: &[Option<String>]) -> NetworkRules {
        let mut rules = NetworkRules::default();
        if denied.iter().any(Option::is_none) {
            return rules;
        }
        for host in granted {
            match host.as_deref().map(str::parse::<HostPattern>) {
                None => rules.any_public = true,
                Some(Ok(host)) if !denied.contains(&Some(host.to_string())) => {
                    rules.hosts.push(host);
                }
                Some(_) => {}
            }
        }
        rules
    }

    /// The rules of the program that grants call `program`, from a policy's granted and
    /// denied capabilities (see [`NetworkRules::from_grants`]).
    pub fn named<'a>(
        program: &str,
        granted: impl IntoIterator<Item = &'a Capability>,
        denied: impl IntoIterator<Item = &'a Capability>,
    ) -> NetworkRules {
        let hosts = |set: &mut dyn Iterator<Item = &'a Capability>| -> Vec<Option<String>> {
            set.filter_map(|capability| match capability {
                Capability::Network(named) if named == program => Some(None),
                Capability::NetworkHost(grant) if grant.program == program => {
                    Some(Some(grant.host.clone()))
                }
                _ => None,
            })
            .collect()
        };
        NetworkRules::from_grants(
            &hosts(&mut granted.into_iter()),
            &hosts(&mut denied.into_iter()),
        )
    }

    /// Whether the rules allow nothing.
    pub fn is_empty(&self) -> bool {
        !self.any_public && self.hosts.is_empty()
    }

    /// Whether a connection to `host` on `port`, which resolved to `address` (the address
    /// itself when the client named one), may be made. A non-public address only when an
    /// entry names it; a public one by a bare grant, or an entry naming the host.
    ///
    /// # Errors
    ///
    /// Why it may not.
    pub fn check(&self, host: &Host, port: u16, address: IpAddr) -> Result<(), Refusal> {
        let address = canonical(address);
        if self
            .hosts
            .iter()
            .any(|entry| entry.names_address(address, port))
        {
            return Ok(());
        }
        let class = AddressClass::of(address);
        if !class.is_public() {
            return Err(Refusal::NotPublic(address, class));
        }
        let named = match host {
            Host::Name(name) => self.hosts.iter().any(|entry| entry.names_name(name, port)),
            Host::Address(_) => false,
        };
        if self.any_public || named {
            Ok(())
        } else {
            Err(Refusal::NotGranted)
        }
    }
}

impl Refusal {
    /// The host entry that would allow the refused connection: the address itself when
    /// it is not public (a name never reaches one), else the host as the client named it.
    pub fn grant(&self, host: &Host, port: u16) -> HostPattern {
        match self {
            Refusal::NotPublic(address, _) => HostPattern::exactly(Host::Address(*address), port),
            Refusal::NotGranted => HostPattern::exactly(host.clone(), port),
        }
    }

    /// Why, as a sentence fragment: "127.0.0.1 is a loopback address (...)".
    pub fn describe(&self, host: &Host) -> String {
        match self {
            Refusal::NotPublic(address, class) => {
                let named = match host {
                    Host::Name(name) => format!("{name} resolved to {address}, "),
                    Host::Address(_) => format!("{address} is "),
                };
                format!(
                    "{named}{}, which only a grant naming that address reaches",
                    class.describe()
                )
            }
            Refusal::NotGranted => format!("{host} is not among the hosts granted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(any_public: bool, hosts: &[&str]) -> NetworkRules {
        NetworkRules {
            any_public,
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        }
    }

    fn check(rules: &NetworkRules, host: &str, port: u16, address: &str) -> Result<(), Refusal> {
        rules.check(&Host::parse(host).unwrap(), port, address.parse().unwrap())
    }

    #[test]
    fn a_bare_grant_reaches_public_addresses_only() {
        let public = rules(true, &[]);
        assert_eq!(check(&public, "github.com", 443, "140.82.112.3"), Ok(()));
        assert_eq!(check(&public, "8.8.8.8", 53, "8.8.8.8"), Ok(()));
        for (host, address) in [
            ("localhost", "127.0.0.1"),
            ("localhost.", "::1"),
            ("rebind.example", "169.254.169.254"),
            ("rebind.example", "::ffff:169.254.169.254"),
            ("169.254.169.254", "169.254.169.254"),
            ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
            ("0.0.0.0", "0.0.0.0"),
            ("[::]", "::"),
            ("10.0.0.1", "10.0.0.1"),
            ("internal.corp", "fd12::1"),
        ] {
            let refused = check(&public, host, 80, address);
            assert!(
                matches!(refused, Err(Refusal::NotPublic(..))),
                "{host} {address}: {refused:?}"
            );
        }
    }

    #[test]
    fn named_hosts_match_by_name_wildcard_and_port() {
        let pinned = rules(false, &["github.com", "*.pyke.io:443"]);
        assert_eq!(check(&pinned, "GITHUB.com.", 443, "140.82.112.3"), Ok(()));
        assert_eq!(check(&pinned, "github.com", 22, "140.82.112.3"), Ok(()));
        assert_eq!(check(&pinned, "cdn.pyke.io", 443, "1.1.1.1"), Ok(()));
        assert_eq!(check(&pinned, "a.b.pyke.io", 443, "1.1.1.1"), Ok(()));
        let refused = Err(Refusal::NotGranted);
        assert_eq!(check(&pinned, "cdn.pyke.io", 80, "1.1.1.1"), refused);
        assert_eq!(check(&pinned, "pyke.io", 443, "1.1.1.1"), refused);
        assert_eq!(check(&pinned, "evilpyke.io", 443, "1.1.1.1"), refused);
        assert_eq!(check(&pinned, "api.github.com", 443, "1.1.1.1"), refused);
        assert_eq!(check(&pinned, "140.82.112.3", 443, "140.82.112.3"), refused);
        // A granted name that resolves to this machine or the metadata address.
        assert!(matches!(
            check(&pinned, "github.com", 443, "127.0.0.1"),
            Err(Refusal::NotPublic(_, AddressClass::Loopback))
        ));
        assert!(matches!(
            check(&pinned, "x.pyke.io", 443, "169.254.169.254"),
            Err(Refusal::NotPublic(_, AddressClass::Metadata))
        ));
    }

    #[test]
    fn a_non_public_address_is_reached_only_when_named_on_its_port() {
        let local = rules(true, &["127.0.0.1:8080", "[::1]"]);
        assert_eq!(check(&local, "127.0.0.1", 8080, "127.0.0.1"), Ok(()));
        assert_eq!(
            check(&local, "[::ffff:127.0.0.1]", 8080, "::ffff:127.0.0.1"),
            Ok(())
        );
        // A name resolving to the named address reaches it: the address is granted.
        assert_eq!(check(&local, "localhost", 8080, "127.0.0.1"), Ok(()));
        assert_eq!(check(&local, "localhost", 9, "::1"), Ok(()));
        assert!(check(&local, "127.0.0.1", 8081, "127.0.0.1").is_err());
        assert!(check(&local, "127.0.0.2", 8080, "127.0.0.2").is_err());
        assert!(check(&local, "169.254.169.254", 80, "169.254.169.254").is_err());
        assert!(check(&local, "0.0.0.0", 8080, "0.0.0.0").is_err());
    }

    #[test]
    fn refusals_suggest_the_entry_that_allows_them() {
        let host = Host::parse("localhost").unwrap();
        let refusal = rules(true, &[]).check(&host, 8080, "::ffff:127.0.0.1".parse().unwrap());
        let refusal = refusal.unwrap_err();
        assert_eq!(refusal.grant(&host, 8080).to_string(), "127.0.0.1:8080");
        assert_eq!(
            refusal.describe(&host),
            "localhost resolved to 127.0.0.1, a loopback address (this machine's own services), \
             which only a grant naming that address reaches"
        );
        let host = Host::parse("Example.org").unwrap();
        assert_eq!(
            Refusal::NotGranted.grant(&host, 443).to_string(),
            "example.org:443"
        );
        let v6 = Host::parse("[::1]").unwrap();
        let refusal = rules(false, &[]).check(&v6, 80, "::1".parse().unwrap());
        assert_eq!(refusal.unwrap_err().grant(&v6, 80).to_string(), "[::1]:80");
    }
}
