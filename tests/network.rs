//! Network grants name hosts: a build script's `curl`, granted the network, reaches the
//! hosts its grant names through cargo wasm-build's filtering proxy, and never this
//! machine's own services, the metadata address or the private network unless one is
//! named; a `curl` that ignores the proxy reaches nothing. Real curl, real servers on
//! loopback started by the test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasm_build_contract::audit::{self, NetworkVerdict, RunRecord};

use crate::support::Project;
use crate::support::hostile::hostile;

/// An HTTP server on a free port of `127.0.0.1` that answers every request with
/// `served <path>` and counts the connections it accepted.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
                    header.clear();
                }
                let path = request_line.split(' ').nth(1).unwrap_or("?").to_string();
                let body = format!("served {path}");
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Server { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A package whose build script runs `curl -sS -f --max-time 10 ARGS` for each of
/// `fetches` (name, arguments) and records `exit=<code> out=<stdout>`; `grants` go into
/// its manifest.
fn fetching(fetches: &[(&str, String)], grants: &str) -> Project {
    let calls: String = fetches
        .iter()
        .map(|(name, args)| format!("    fetch({name:?}, {args:?});\n"))
        .collect();
    hostile(
        &format!(
            r#"
    let fetch = |name: &str, args: &str| {{
        let output = std::process::Command::new("curl")
            .args(["-sS", "-f", "--max-time", "10"])
            .args(args.split(' '))
            .output()
            .unwrap();
        record(name, &format!(
            "exit={{}} out={{}}",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).trim()
        ));
    }};
{calls}"#
        ),
        &format!("[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"curl\"]\n{grants}"),
    )
}

/// The script's report: `name -> "exit=0 out=..."`.
fn report(project: &Project) -> std::collections::BTreeMap<String, String> {
    let results = project.build_script_results("debug");
    let text = String::from_utf8(results["hostile"].files["report.txt"].clone()).unwrap();
    crate::support::hostile::parse_report(&text)
}

/// The last run of the `hostile` build script, as the audit log holds it.
fn last_record(project: &Project) -> RunRecord {
    audit::read(&project.target().join("debug/wasm-build/audit.jsonl"))
        .into_iter()
        .rev()
        .find(|record| record.package == "hostile")
        .expect("the run was recorded")
}

/// A named loopback host is reached through the proxy, by plain HTTP and through a
/// `CONNECT` tunnel, and every connection shows in the audit log and the crate's card
/// with its host, port and bytes.
#[test]
fn a_named_loopback_host_is_reached_and_recorded_with_its_bytes() {
    let server = Server::start();
    let port = server.port;
    let project = fetching(
        &[
            ("plain", format!("http://127.0.0.1:{port}/plain")),
            (
                "tunnel",
                format!("--proxytunnel http://127.0.0.1:{port}/tunnel"),
            ),
        ],
        &format!("network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n"),
    );
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert_eq!(report["plain"], "exit=0 out=served /plain", "{report:?}");
    assert_eq!(report["tunnel"], "exit=0 out=served /tunnel", "{report:?}");
    assert_eq!(server.accepted(), 2);

    let record = last_record(&project);
    assert_eq!(record.network.len(), 2, "{:?}", record.network);
    for connection in &record.network {
        assert_eq!(connection.program, "curl");
        assert_eq!(
            (connection.host.as_str(), connection.port),
            ("127.0.0.1", port)
        );
        assert_eq!(connection.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(connection.verdict, NetworkVerdict::Allowed);
        assert!(
            connection.sent > 0 && connection.received > 0,
            "{connection:?}"
        );
    }
    project
        .wasm_build(&["permissions", "-p", "hostile"])
        .success()
        .stdout_has(&format!("network: curl → 127.0.0.1:{port} ×2: "))
        .stdout_has(" B received")
        // A non-public address named in a grant is dangerous, and shown so.
        .stdout_has(&format!("dangerous: network: curl to 127.0.0.1:{port}"));
}

/// With a bare grant (public addresses only), this machine's services, the metadata
/// address and the private network are refused at the proxy, before any connection:
/// named by address, by a name that resolves to loopback, or by an IPv4-mapped IPv6
/// address. The run fails with W111 naming each, and `approve` offers the address.
#[test]
fn a_bare_grant_reaches_no_address_of_this_machine_or_its_networks() {
    let server = Server::start();
    let port = server.port;
    let project = fetching(
        &[
            ("loopback", format!("http://127.0.0.1:{port}/")),
            ("localhost", format!("http://localhost:{port}/")),
            (
                "mapped",
                format!("--proxytunnel http://[::ffff:127.0.0.1]:{port}/"),
            ),
            ("unspecified", format!("http://0.0.0.0:{port}/")),
            (
                "metadata",
                "http://169.254.169.254/latest/meta-data/".to_string(),
            ),
            ("private", "https://10.1.2.3/".to_string()),
        ],
        "network = [\"curl\"]\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(&format!(
            "error[W111]: sandboxed build script of `hostile v0.1.0` needs permission to let `curl` connect to `127.0.0.1:{port}` (dangerous: not a public address): `curl` asked the network proxy for `127.0.0.1:{port}`"
        ))
        .stderr_has(&format!(
            "`curl` asked the network proxy for `localhost:{port}`"
        ))
        .stderr_has("localhost resolved to 127.0.0.1, a loopback address (this machine's own services)")
        .stderr_has("needs permission to let `curl` connect to `169.254.169.254:80` (dangerous: not a public address)")
        .stderr_has("the cloud metadata address")
        .stderr_has("needs permission to let `curl` connect to `10.1.2.3:443`")
        .stderr_has(&format!("needs permission to let `curl` connect to `0.0.0.0:{port}`"))
        .stderr_has(&format!(
            "network = [\"curl\", {{ program = \"curl\", hosts = [\"0.0.0.0:{port}\", \"10.1.2.3:443\", \"127.0.0.1:{port}\", \"169.254.169.254:80\"] }}]"
        ));
    assert_eq!(
        server.accepted(),
        0,
        "a refused connection reached the server"
    );
    let report = report(&project);
    for name in [
        "loopback",
        "localhost",
        "mapped",
        "unspecified",
        "metadata",
        "private",
    ] {
        assert!(!report[name].starts_with("exit=0"), "{name}: {report:?}");
    }
    let record = last_record(&project);
    assert_eq!(record.network.len(), 6, "{:?}", record.network);
    assert!(
        record
            .network
            .iter()
            .all(|c| c.verdict == NetworkVerdict::Refused && c.sent == 0 && c.received == 0),
        "{:?}",
        record.network
    );
    // `approve` writes the addresses under the program's table; the next build reaches
    // this machine's server, and only it.
    project.wasm_build(&["approve", "hostile@0.1.0"]).success();
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("{ program = \"curl\", hosts = [")
            && manifest.contains(&format!("\"127.0.0.1:{port}\"")),
        "{manifest}"
    );
}

/// A host granted by address on one port reaches nothing on another; a `curl` that
/// ignores the proxy (`--noproxy '*'`) is refused by the jail even for the granted
/// host. Both fail the run with W111, and neither reaches a server.
#[test]
fn another_port_and_a_direct_connection_are_refused() {
    let granted = Server::start();
    let other = Server::start();
    let project = fetching(
        &[
            ("other-port", format!("http://127.0.0.1:{}/", other.port)),
            (
                "direct",
                format!("--noproxy * http://127.0.0.1:{}/", granted.port),
            ),
        ],
        &format!(
            "network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{}\"] }}]\n",
            granted.port
        ),
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(&format!(
            "needs permission to let `curl` connect to `127.0.0.1:{}`",
            other.port
        ))
        .stderr_has(&format!(
            "error[W111]: sandboxed build script of `hostile v0.1.0` ran `curl -sS -f --max-time 10 --noproxy '*' http://127.0.0.1:{}/`, and the jail refused it: connect to `127.0.0.1:{}` directly",
            granted.port, granted.port
        ))
        // Said once, as the error it is, not again as a program the sandbox may have
        // stopped.
        .stderr_lacks("warning[W303]");
    assert_eq!(other.accepted(), 0, "the other port was reached");
    assert_eq!(granted.accepted(), 0, "the direct connection was made");
    let report = report(&project);
    assert!(!report["direct"].starts_with("exit=0"), "{report:?}");
}

/// A denial wins over a grant: a denied host (or a denied bare grant) leaves the program
/// without it, and the script sees a failure it may fall back from, as for any denial.
#[test]
fn a_denied_host_is_not_reached_even_when_granted() {
    let server = Server::start();
    let port = server.port;
    let project = fetching(
        &[("denied", format!("http://127.0.0.1:{port}/"))],
        &format!(
            "network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n\
             [package.metadata.sandbox.deny.\"hostile@0.1.0\"]\n\
             network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n"
        ),
    );
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert!(!report["denied"].starts_with("exit=0"), "{report:?}");
    assert_eq!(server.accepted(), 0, "a denied host was reached");
}

/// A real HTTPS server (`openssl s_server`) on loopback, with a certificate made for the
/// test: `curl` reaches it through the proxy's `CONNECT` tunnel, TLS end to end (the
/// proxy sees only the host and port), and the connection is recorded.
#[test]
fn a_named_host_is_reached_over_https_through_the_tunnel() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-www", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let listening = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "openssl s_server did not start");
    let project = fetching(
        &[(
            "https",
            format!("-k -o /dev/null -w %{{http_code}} https://127.0.0.1:{port}/"),
        )],
        &format!("network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n"),
    );
    let built = project.wasm_build(&[]);
    let _ = server.kill();
    let _ = server.wait();
    built.success();
    assert_eq!(report(&project)["https"], "exit=0 out=200");
    let record = last_record(&project);
    let [connection] = &record.network[..] else {
        panic!("one connection: {:?}", record.network);
    };
    assert_eq!(
        (connection.host.as_str(), connection.port),
        ("127.0.0.1", port)
    );
    assert_eq!(connection.verdict, NetworkVerdict::Allowed);
    // A TLS handshake each way: more than a plain request's few bytes.
    assert!(
        connection.sent > 200 && connection.received > 500,
        "{connection:?}"
    );
}

/// A network grant removed after a run that used it: `permissions --check` knows before
/// the next build (the last run's connections are in the audit log), and names it.
#[test]
fn a_removed_network_grant_that_the_last_run_used_fails_the_check() {
    let server = Server::start();
    let port = server.port;
    let grant = format!("network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n");
    let project = fetching(&[("plain", format!("http://127.0.0.1:{port}/"))], &grant);
    project.wasm_build(&[]).success();
    project.wasm_build(&["permissions", "--check"]).success();
    let manifest = project.root().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(&grant), "{text}");
    std::fs::write(&manifest, text.replace(&grant, "")).unwrap();
    let check = project.wasm_build(&["permissions", "--check"]).failure();
    check.stderr_has(&format!(
        "hostile 0.1.0: its last run used grants removed since: let `curl` connect to `127.0.0.1:{port}` (dangerous: not a public address)"
    ));
}

/// A build script run natively (`run-natively`) that downloads with its own Rust code,
/// as prebuilt-library crates do: `network` grants naming `build-script-build` give it a
/// proxy, which its HTTP client finds in `HTTP_PROXY`. A host outside the grant is
/// refused at the proxy and a connection around the proxy by the jail, each a W111 that
/// offers the grant for the script itself.
#[test]
fn a_natively_run_script_downloads_through_its_own_grant() {
    let granted = Server::start();
    let other = Server::start();
    let body = r#"
    let fetch = |url: &str| -> Result<String, String> {
        use std::io::{Read as _, Write as _};
        let proxy = std::env::var("HTTP_PROXY").map_err(|e| format!("no proxy: {e}"))?;
        let proxy = proxy.trim_start_matches("http://").trim_end_matches('/').to_string();
        let mut stream = std::net::TcpStream::connect(proxy).map_err(|e| e.to_string())?;
        write!(stream, "GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
        Ok(response.lines().last().unwrap_or("").to_string())
    };
    println!("cargo:rerun-if-env-changed=FETCH");
    println!("cargo:rerun-if-env-changed=DIRECT");
    for url in std::env::var("FETCH").unwrap_or_default().split(' ').filter(|u| !u.is_empty()) {
        record(url, &format!("{:?}", fetch(url)));
    }
    if let Ok(direct) = std::env::var("DIRECT") {
        record("direct", &format!("{:?}", std::net::TcpStream::connect(direct).map(drop)));
    }
"#;
    let grant = format!(
        "run-natively = true\nenv = [\"FETCH\", \"DIRECT\"]\nnetwork = [{{ program = \"build-script-build\", hosts = [\"127.0.0.1:{}\"] }}]\n",
        granted.port
    );
    let project = hostile(
        body,
        &format!("[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\n{grant}"),
    );
    let url = format!("http://127.0.0.1:{}/native", granted.port);
    project.wasm_build_env(&[], &[("FETCH", &url)]).success();
    let said = crate::support::hostile::report(&project);
    assert_eq!(said[&url], "Ok(\"served /native\")", "{said:?}");
    let record = last_record(&project);
    let [connection] = &record.network[..] else {
        panic!("one connection: {:?}", record.network);
    };
    assert_eq!(connection.program, "build-script-build");
    assert_eq!(connection.verdict, NetworkVerdict::Allowed);
    assert_eq!(granted.accepted(), 1);

    let elsewhere = format!("http://127.0.0.1:{}/", other.port);
    let direct = format!("127.0.0.1:{}", granted.port);
    let refused = project
        .wasm_build_env(&[], &[("FETCH", &elsewhere), ("DIRECT", &direct)])
        .failure()
        .stderr_has(&format!(
            "needs permission to let `build-script-build` connect to `127.0.0.1:{}`",
            other.port
        ))
        .stderr_has(&format!(
            "the jail refused it: connect to `{direct}` directly"
        ));
    // The hint grants the script itself the refused host, beside the granted one.
    let hint = refused
        .stderr
        .lines()
        .find(|line| line.contains("network = [{ program = \"build-script-build\", hosts = ["))
        .unwrap_or_else(|| panic!("no hint: {}", refused.stderr));
    assert!(
        hint.contains(&format!("\"127.0.0.1:{}\"", other.port)),
        "{hint}"
    );
    assert_eq!(other.accepted(), 0, "the ungranted port was reached");
    assert_eq!(granted.accepted(), 1, "the direct connection was made");
}

/// On a kernel without Landlock's TCP rules (ABI 3, before Linux 6.7), the supervisor
/// holds alone: a granted host is reached through the proxy, and a direct connection is
/// refused with the same W111.
#[test]
fn without_landlock_tcp_rules_the_proxy_still_holds() {
    let server = Server::start();
    let port = server.port;
    let project = fetching(
        &[
            ("proxied", format!("http://127.0.0.1:{port}/proxied")),
            (
                "direct",
                format!("--noproxy * http://127.0.0.1:{port}/direct"),
            ),
        ],
        &format!("network = [{{ program = \"curl\", hosts = [\"127.0.0.1:{port}\"] }}]\n"),
    );
    let built = project.wasm_build_env(&[], &[("CARGO_WASM_BUILD_LANDLOCK_ABI", "3")]);
    built.failure().stderr_has(&format!(
        "and the jail refused it: connect to `127.0.0.1:{port}` directly"
    ));
    // The report of a failed run, from its OUT_DIR.
    let report = crate::support::hostile::report(&project);
    assert_eq!(
        report["proxied"], "exit=0 out=served /proxied",
        "{report:?}"
    );
    assert!(!report["direct"].starts_with("exit=0"), "{report:?}");
    assert_eq!(
        server.accepted(),
        1,
        "only the proxied request reached the server"
    );
}
