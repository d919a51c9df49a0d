//! The network of a run's programs: every network grant goes through a filtering proxy
//! ([`wasm_build_netproxy`]), one per granted program, started when the program is first
//! run and stopped when the run ends. The jail lets the program connect to its proxy and
//! nowhere else ([`Network::Proxy`]); the proxy variables tell it where that is.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;

use wasm_build_contract::audit::{NetworkUse, NetworkVerdict};
use wasm_build_jail::Network;
use wasm_build_netproxy::{Bounds, Outcome, Proxy, ProxyError};
use wasm_build_policy::network::NetworkRules;

/// The variables that point a program at its proxy: the spellings curl, git, wget, pip,
/// Go, Node's and Rust's HTTP clients read. `NO_PROXY` is emptied, so that nothing the
/// script set exempts a host (the jail would refuse the direct connection anyway).
const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxies of one run, by the program their grant names.
#[derive(Default)]
pub(crate) struct Proxies {
    running: BTreeMap<String, Proxy>,
    /// What the jail refused programs that went around their proxy.
    direct: Vec<(String, String)>,
}

/// What the run's proxies saw.
#[derive(Debug, Default)]
pub struct NetworkReport {
    /// Every connection, program by program.
    pub connections: Vec<NetworkUse>,
    /// Connections past what the proxies record, or refused because too many were open.
    pub unrecorded: u64,
    /// Connections the jail refused because the program went around its proxy: the
    /// command line and what the jail said.
    pub direct: Vec<(String, String)>,
}

impl Proxies {
    /// The network of a program granted `rules` under the name `program`: none without a
    /// grant, else its proxy's address (the proxy started on first use).
    ///
    /// # Errors
    ///
    /// When the proxy cannot be started.
    pub(crate) fn network_for(
        &mut self,
        program: &str,
        rules: NetworkRules,
    ) -> Result<Network, ProxyError> {
        if rules.is_empty() {
            return Ok(Network::None);
        }
        if let Some(proxy) = self.running.get(program) {
            return Ok(Network::Proxy(proxy.address()));
        }
        let proxy = Proxy::start(
            program,
            rules,
            Bounds::default(),
            wasm_build_netproxy::system_resolver(),
        )?;
        let address = proxy.address();
        self.running.insert(program.to_string(), proxy);
        Ok(Network::Proxy(address))
    }

    /// Notes that the jail refused the program started as `line` a connection (`why`)
    /// that did not go through its proxy.
    pub(crate) fn refused_directly(&mut self, line: &str, why: String) {
        self.direct.push((line.to_string(), why));
    }

    /// Stops every proxy (closing what is still open) and returns what they saw.
    pub(crate) fn finish(&mut self) -> NetworkReport {
        let mut report = NetworkReport {
            direct: std::mem::take(&mut self.direct),
            ..NetworkReport::default()
        };
        for (program, proxy) in std::mem::take(&mut self.running) {
            let seen = proxy.stop();
            report.unrecorded += seen.unrecorded;
            report
                .connections
                .extend(seen.connections.into_iter().map(|connection| {
                    let (verdict, why, grant) = match connection.outcome {
                        Outcome::Allowed => (NetworkVerdict::Allowed, None, None),
                        Outcome::Refused { why, grant } => {
                            (NetworkVerdict::Refused, Some(why), Some(grant))
                        }
                        Outcome::Failed(why) => (NetworkVerdict::Failed, Some(why), None),
                    };
                    NetworkUse {
                        program: program.clone(),
                        host: connection.host,
                        port: connection.port,
                        address: connection.address.map(|address| address.to_string()),
                        sent: connection.sent,
                        received: connection.received,
                        verdict,
                        why,
                        grant,
                    }
                }));
        }
        report
    }
}

/// `env` pointing at the proxy at `address`, whatever the script set.
pub(crate) fn with_proxy_env(
    mut env: Vec<(OsString, OsString)>,
    address: SocketAddr,
) -> Vec<(OsString, OsString)> {
    let ours = |name: &OsString| {
        PROXY_VARS
            .iter()
            .chain(&NO_PROXY_VARS)
            .any(|var| name == var)
    };
    env.retain(|(name, _)| !ours(name));
    let url = OsString::from(format!("http://{address}"));
    env.extend(PROXY_VARS.iter().map(|var| (var.into(), url.clone())));
    env.extend(
        NO_PROXY_VARS
            .iter()
            .map(|var| (var.into(), OsString::new())),
    );
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_variables_replace_what_the_script_set() {
        let env = vec![
            ("NO_PROXY".into(), "*".into()),
            ("https_proxy".into(), "http://elsewhere:1".into()),
            ("PATH".into(), "/bin".into()),
        ];
        let env = with_proxy_env(env, "127.0.0.1:4242".parse().unwrap());
        let get = |name: &str| {
            let found: Vec<_> = env.iter().filter(|(n, _)| n == name).collect();
            assert_eq!(found.len(), 1, "{name}: {env:?}");
            found[0].1.to_str().unwrap().to_string()
        };
        for var in PROXY_VARS {
            assert_eq!(get(var), "http://127.0.0.1:4242");
        }
        assert_eq!(get("NO_PROXY"), "");
        assert_eq!(get("no_proxy"), "");
        assert_eq!(get("PATH"), "/bin");
    }

    #[test]
    fn a_program_without_a_network_grant_gets_no_proxy() {
        let mut proxies = Proxies::default();
        assert_eq!(
            proxies.network_for("cc", NetworkRules::default()).unwrap(),
            Network::None
        );
        let rules = NetworkRules {
            any_public: true,
            hosts: Vec::new(),
        };
        let first = proxies.network_for("curl", rules.clone()).unwrap();
        assert!(matches!(first, Network::Proxy(address) if address.ip().is_loopback()));
        assert_eq!(proxies.network_for("curl", rules).unwrap(), first);
        assert!(proxies.finish().connections.is_empty());
    }
}
