//! The filtering proxy a network-granted program reaches the network through.
//!
//! One [`Proxy`] serves one program of one build-script run: it listens on a port of
//! `127.0.0.1` of its own (so every connection it gets is that program's: the jail lets
//! the program connect to that address and nowhere else), speaks HTTP `CONNECT` and
//! plain HTTP with absolute URIs, resolves names itself, checks every address against
//! the program's [`NetworkRules`], connects to a checked address (never resolving again,
//! so a name cannot change its answer between the check and the connection), and
//! records each connection ([`Connection`]). What it refuses gets an HTTP 403 whose body
//! names the host and the grant that would allow it; no packet leaves for it.
//!
//! Its resources are bounded ([`Bounds`]): connections at once, the size of a request's
//! head, how long a request may take to arrive and a tunnel may stay idle, and how many
//! connections are recorded; a flood is refused, never waited on.

mod peer;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasm_build_permissions_schema::Host;
use wasm_build_permissions_schema::net::parse_authority;
use wasm_build_policy::network::NetworkRules;

/// Why a proxy could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// No port of `127.0.0.1` could be listened on.
    #[error("cannot listen on 127.0.0.1 for the network proxy: {0}")]
    Listen(#[source] io::Error),
    /// The thread that accepts connections could not be started.
    #[error("cannot start the network proxy's thread: {0}")]
    Thread(#[source] io::Error),
}

/// How much of the machine one proxy may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Connections served at once; more are answered 503 and closed.
    pub connections: usize,
    /// Bytes of a request's head (request line and headers).
    pub head_bytes: usize,
    /// How long a request's head may take to arrive.
    pub head_time: Duration,
    /// How long a connection to the host may take.
    pub connect_time: Duration,
    /// How long a tunnel may carry nothing either way before it is closed.
    pub idle_time: Duration,
    /// Connections recorded; the rest are counted ([`Report::unrecorded`]).
    pub records: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            connections: 64,
            head_bytes: 64 * 1024,
            head_time: Duration::from_secs(30),
            connect_time: Duration::from_secs(30),
            idle_time: Duration::from_secs(120),
            records: 10_000,
        }
    }
}

/// How names are resolved: the system's resolver, or a table in tests.
pub type Resolver = Arc<dyn Fn(&str, u16) -> io::Result<Vec<IpAddr>> + Send + Sync>;

/// How long a name may take to resolve: `getaddrinfo` has no timeout of its own, and an
/// unanswering DNS server would otherwise hold the connection (and the build) for as long
/// as the resolver's retries last.
const RESOLVE_TIME: Duration = Duration::from_secs(15);

/// The system's resolver (`getaddrinfo`), on a thread of its own so that a lookup that
/// takes longer than [`RESOLVE_TIME`] fails the connection instead of holding it.
pub fn system_resolver() -> Resolver {
    Arc::new(|name: &str, port: u16| {
        let (sender, receiver) = std::sync::mpsc::channel();
        let owned = name.to_string();
        std::thread::Builder::new()
            .name("netproxy-resolve".into())
            .spawn(move || {
                let resolved = (owned.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.map(|addr| addr.ip()).collect::<Vec<_>>());
                let _ = sender.send(resolved);
            })?;
        receiver.recv_timeout(RESOLVE_TIME).map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer for {name} within {} s", RESOLVE_TIME.as_secs()),
            )
        })?
    })
}

/// What became of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Checked and made; the bytes went through.
    Allowed,
    /// Refused by the grant, before anything was sent to the host.
    Refused {
        /// Why, as a sentence fragment ("127.0.0.1 is a loopback address ...").
        why: String,
        /// The host entry that would allow it (`127.0.0.1:8080`, `github.com:443`).
        grant: String,
    },
    /// Allowed, but it could not be made (the name does not resolve, the host does not
    /// answer), or the request was no proxy request.
    Failed(String),
}

/// One connection the program asked the proxy for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The host as the program named it (a name in lower case, or an address).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The address connected to (or refused), if the name resolved.
    pub address: Option<IpAddr>,
    /// Bytes from the program to the host.
    pub sent: u64,
    /// Bytes from the host to the program.
    pub received: u64,
    /// Allowed, refused or failed.
    pub outcome: Outcome,
}

/// What a proxy saw, when it is stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every connection, in the order they were asked for (at most [`Bounds::records`]).
    pub connections: Vec<Connection>,
    /// Connections past the record bound, and connections refused because too many were
    /// open ([`Bounds::connections`]).
    pub unrecorded: u64,
    /// Connections from another user's sockets, closed unserved.
    pub foreign: u64,
}

/// A running proxy for one program.
pub struct Proxy {
    address: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    program: String,
    rules: NetworkRules,
    bounds: Bounds,
    resolver: Resolver,
    stopping: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    report: Report,
    /// The sockets of open connections (the program's, and the host's once connected),
    /// by connection, to be shut down when the proxy stops.
    open: HashMap<u64, Vec<TcpStream>>,
    next_id: u64,
    workers: Vec<JoinHandle<()>>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, connection: Connection) {
        let mut state = self.state();
        if state.report.connections.len() < self.bounds.records {
            state.report.connections.push(connection);
        } else {
            state.report.unrecorded += 1;
        }
    }
}

impl Proxy {
    /// Starts a proxy for `program` (as its grant names it) on a free port of
    /// `127.0.0.1`, allowing what `rules` allow.
    ///
    /// # Errors
    ///
    /// When it cannot listen or start its thread.
    pub fn start(
        program: &str,
        rules: NetworkRules,
        bounds: Bounds,
        resolver: Resolver,
    ) -> Result<Proxy, ProxyError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(ProxyError::Listen)?;
        let address = listener.local_addr().map_err(ProxyError::Listen)?;
        let shared = Arc::new(Shared {
            program: program.to_string(),
            rules,
            bounds,
            resolver,
            stopping: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let accepting = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("netproxy-accept".into())
            .spawn(move || accept(&listener, &accepting))
            .map_err(ProxyError::Thread)?;
        Ok(Proxy {
            address,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens: what the program's proxy variables and the jail name.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The URL of the proxy, for `HTTPS_PROXY` and friends.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops accepting, closes every open connection, waits for them, and returns what
    /// the proxy saw.
    pub fn stop(mut self) -> Report {
        self.halt()
    }

    fn halt(&mut self) -> Report {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which sees `stopping` and returns.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = {
            let mut state = self.shared.state();
            for stream in state.open.values().flatten() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut state.workers)
        };
        for worker in workers {
            let _ = worker.join();
        }
        std::mem::take(&mut self.shared.state().report)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.halt();
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors, say: wait rather than spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if !from_this_user(&stream) {
            shared.state().report.foreign += 1;
            continue;
        }
        let mut state = shared.state();
        state.workers.retain(|worker| !worker.is_finished());
        if state.open.len() >= shared.bounds.connections {
            state.report.unrecorded += 1;
            drop(state);
            let _ = respond(
                &stream,
                503,
                "Service Unavailable",
                "cargo wasm-build: too many connections through the network proxy at once\n",
            );
            continue;
        }
        let id = state.next_id;
        state.next_id += 1;
        state
            .open
            .insert(id, stream.try_clone().into_iter().collect());
        let serving = shared.clone();
        let worker = std::thread::Builder::new()
            .name("netproxy-conn".into())
            .spawn(move || {
                serve(stream, id, &serving);
                serving.state().open.remove(&id);
            });
        match worker {
            Ok(worker) => state.workers.push(worker),
            Err(_) => {
                state.open.remove(&id);
                state.report.unrecorded += 1;
            }
        }
    }
}

/// Whether the connecting socket belongs to this process's user (see [`peer`]); a
/// connection the kernel does not list is refused too.
fn from_this_user(stream: &TcpStream) -> bool {
    let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return false;
    };
    matches!(peer::owner(peer, local), Ok(Some(uid)) if uid == peer::own_user())
}

/// What the program asked for.
struct Request {
    host: Host,
    port: u16,
    /// Bytes to send to the host first: the rewritten request of plain HTTP, or what the
    /// program sent after a `CONNECT` head.
    first: Vec<u8>,
    tunnel: bool,
}

fn serve(client: TcpStream, id: u64, shared: &Shared) {
    let _ = client.set_read_timeout(Some(shared.bounds.head_time));
    let head = match read_head(&client, shared.bounds.head_bytes) {
        Ok(head) => head,
        Err(why) => {
            let _ = respond(&client, 400, "Bad Request", &format!("{why}\n"));
            return;
        }
    };
    let request = match parse_request(&head) {
        Ok(request) => request,
        Err(why) => {
            let _ = respond(
                &client,
                400,
                "Bad Request",
                &format!("cargo wasm-build: {why}\n"),
            );
            shared.record(Connection {
                host: String::new(),
                port: 0,
                address: None,
                sent: 0,
                received: 0,
                outcome: Outcome::Failed(why),
            });
            return;
        }
    };
    let mut connection = Connection {
        host: request.host.to_string(),
        port: request.port,
        address: None,
        sent: 0,
        received: 0,
        outcome: Outcome::Allowed,
    };
    match open_upstream(&request, shared, &mut connection) {
        Ok(upstream) => {
            if let Ok(clone) = upstream.try_clone() {
                let mut state = shared.state();
                if shared.stopping.load(Ordering::SeqCst) {
                    let _ = upstream.shutdown(Shutdown::Both);
                }
                state.open.entry(id).or_default().push(clone);
            }
            relay(client, upstream, &request, shared, &mut connection);
        }
        Err((status, reason, body)) => {
            let _ = respond(&client, status, reason, &body);
        }
    }
    shared.record(connection);
}

type Refused = (u16, &'static str, String);

/// Resolves, checks every address, and connects to the first allowed one that answers.
fn open_upstream(
    request: &Request,
    shared: &Shared,
    connection: &mut Connection,
) -> Result<TcpStream, Refused> {
    let addresses = match &request.host {
        Host::Address(address) => vec![*address],
        Host::Name(name) => match (shared.resolver)(name, request.port) {
            Ok(found) if !found.is_empty() => found,
            Ok(_) | Err(_) => {
                let why = format!("{name} does not resolve");
                connection.outcome = Outcome::Failed(why.clone());
                return Err((502, "Bad Gateway", format!("cargo wasm-build: {why}\n")));
            }
        },
    };
    let mut allowed = Vec::new();
    let mut first_refusal = None;
    for address in addresses {
        match shared.rules.check(&request.host, request.port, address) {
            Ok(()) => allowed.push(address),
            Err(refusal) => {
                first_refusal.get_or_insert((address, refusal));
            }
        }
    }
    if allowed.is_empty() {
        let Some((address, refusal)) = first_refusal else {
            return Err((502, "Bad Gateway", "no address\n".into()));
        };
        let why = refusal.describe(&request.host);
        let grant = refusal.grant(&request.host, request.port).to_string();
        connection.address = Some(address);
        let body = refusal_body(&shared.program, connection, &why, &grant);
        connection.outcome = Outcome::Refused { why, grant };
        return Err((403, "Forbidden", body));
    }
    let mut last_error = None;
    for address in allowed {
        connection.address = Some(address);
        let target = SocketAddr::new(address, request.port);
        match TcpStream::connect_timeout(&target, shared.bounds.connect_time) {
            Ok(stream) => return Ok(stream),
            Err(err) => last_error = Some(err),
        }
    }
    let why = format!(
        "cannot connect to {}:{}: {}",
        connection.host,
        connection.port,
        last_error.map_or_else(String::new, |err| err.to_string())
    );
    connection.outcome = Outcome::Failed(why.clone());
    Err((502, "Bad Gateway", format!("cargo wasm-build: {why}\n")))
}

/// The 403 body: what was refused, why, and the line that grants it.
fn refusal_body(program: &str, connection: &Connection, why: &str, grant: &str) -> String {
    let toml = wasm_build_permissions_schema::Capability::NetworkHost(
        wasm_build_permissions_schema::NetworkHost {
            program: program.to_string(),
            host: grant.to_string(),
        },
    )
    .toml_line();
    format!(
        "cargo wasm-build: the network grant of `{program}` does not reach {}:{}: {why}.\n\
         To allow it, add to the package's grant: {toml}\n",
        connection.host, connection.port
    )
}

/// Reads up to the blank line that ends a request's head; what follows stays in the
/// returned buffer.
fn read_head(mut client: &TcpStream, limit: usize) -> Result<Vec<u8>, String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if head.windows(4).any(|window| window == b"\r\n\r\n") {
            return Ok(head);
        }
        if head.len() > limit {
            return Err(format!(
                "cargo wasm-build: a request head longer than {limit} bytes"
            ));
        }
        match client.read(&mut chunk) {
            Ok(0) => return Err("cargo wasm-build: the request ended early".into()),
            Ok(read) => head.extend_from_slice(&chunk[..read]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(format!("cargo wasm-build: reading the request: {err}")),
        }
    }
}

/// Reads a `CONNECT host:port` or an absolute-URI HTTP request.
fn parse_request(head: &[u8]) -> Result<Request, String> {
    let end = head
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("no request")?
        + 4;
    let (head, rest) = head.split_at(end);
    let text = std::str::from_utf8(head).map_err(|_| "a request head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("a malformed request line {request_line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("an unsupported protocol {version:?}"));
    }
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = parse_authority(target, 443).map_err(|why| why.message)?;
        return Ok(Request {
            host,
            port,
            first: rest.to_vec(),
            tunnel: true,
        });
    }
    let Some(after_scheme) = strip_prefix_ignore_case(target, "http://") else {
        return Err(format!(
            "{target:?} is no absolute http:// URI (send https through CONNECT)"
        ));
    };
    let split = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let (authority, path) = after_scheme.split_at(split);
    if authority.contains('@') {
        return Err("a URI with credentials in its authority".into());
    }
    let (host, port) = parse_authority(authority, 80).map_err(|why| why.message)?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|line| !line.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim();
        let hop_by_hop = [
            "proxy-connection",
            "proxy-authorization",
            "connection",
            "keep-alive",
        ]
        .iter()
        .any(|hop| name.eq_ignore_ascii_case(hop));
        if !hop_by_hop {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    // One request per connection: the next may be for another host, which must be
    // checked by a connection of its own.
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut first = forwarded.into_bytes();
    first.extend_from_slice(rest);
    Ok(Request {
        host,
        port,
        first,
        tunnel: false,
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn respond(mut client: &TcpStream, status: u16, reason: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes())?;
    client.flush()
}

/// Carries bytes both ways until either side closes or both stay idle for
/// [`Bounds::idle_time`], counting them.
fn relay(
    client: TcpStream,
    upstream: TcpStream,
    request: &Request,
    shared: &Shared,
    connection: &mut Connection,
) {
    if request.tunnel && respond_established(&client).is_err() {
        return;
    }
    let mut upstream_writer = &upstream;
    if upstream_writer.write_all(&request.first).is_err() {
        return;
    }
    connection.sent += request.first.len() as u64;
    let last_activity = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let idle = shared.bounds.idle_time;
    let (Ok(client_reader), Ok(upstream_reader)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let down_activity = last_activity.clone();
    let down = std::thread::Builder::new()
        .name("netproxy-down".into())
        .spawn(move || pump(upstream_reader, client, &down_activity, started, idle));
    connection.sent += pump(client_reader, upstream, &last_activity, started, idle);
    if let Ok(down) = down {
        connection.received += down.join().unwrap_or(0);
    }
}

fn respond_established(mut client: &TcpStream) -> io::Result<()> {
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
}

/// Copies `from` to `to` until `from` ends, then closes `to` for writing; returns the
/// bytes copied. A read that times out ends the copy only when neither direction carried
/// anything for `idle` (`activity` is the time of the last transfer either way, in
/// milliseconds since `started`).
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    activity: &AtomicU64,
    started: Instant,
    idle: Duration,
) -> u64 {
    const POLL: Duration = Duration::from_secs(1);
    let _ = from.set_read_timeout(Some(POLL.min(idle)));
    let mut copied = 0u64;
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
                copied += read as u64;
                let now = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                activity.store(now, Ordering::Relaxed);
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let last = Duration::from_millis(activity.load(Ordering::Relaxed));
                if started.elapsed().saturating_sub(last) >= idle {
                    break;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
    copied
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn rules(any_public: bool, hosts: &[&str]) -> NetworkRules {
        NetworkRules {
            any_public,
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        }
    }

    /// Names resolve from a table: `rebind.test` to the metadata address, `local.test` to
    /// loopback, `mixed.test` to both a public address and loopback.
    fn table_resolver(loopback: IpAddr) -> Resolver {
        Arc::new(move |name: &str, _port: u16| match name {
            "rebind.test" => Ok(vec!["169.254.169.254".parse().unwrap()]),
            "local.test" => Ok(vec![loopback]),
            "mapped.test" => Ok(vec!["::ffff:127.0.0.1".parse().unwrap()]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such name")),
        })
    }

    /// A server on loopback that answers every connection with `hello` and counts them.
    fn server() -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let _ = stream.write_all(format!("hello {line}").as_bytes());
            }
        });
        (address, accepted)
    }

    fn ask(proxy: &Proxy, request: &str) -> String {
        let mut stream = TcpStream::connect(proxy.address()).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    fn start(rules: NetworkRules, bounds: Bounds) -> Proxy {
        let resolver = table_resolver("127.0.0.1".parse().unwrap());
        Proxy::start("curl", rules, bounds, resolver).unwrap()
    }

    #[test]
    fn a_named_address_is_tunnelled_and_counted() {
        let (server, accepted) = server();
        let port = server.port();
        let proxy = start(
            rules(false, &[&format!("127.0.0.1:{port}")]),
            Bounds::default(),
        );
        let answer = ask(
            &proxy,
            &format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\nping\n"),
        );
        assert_eq!(
            answer,
            "HTTP/1.1 200 Connection established\r\n\r\nhello ping\n"
        );
        let report = proxy.stop();
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        let [connection] = &report.connections[..] else {
            panic!("{report:?}")
        };
        assert_eq!(connection.outcome, Outcome::Allowed);
        assert_eq!(
            (connection.host.as_str(), connection.port),
            ("127.0.0.1", port)
        );
        assert_eq!((connection.sent, connection.received), (5, 11));
    }

    #[test]
    fn plain_http_is_forwarded_in_origin_form_one_request_per_connection() {
        let (server, _) = server();
        let port = server.port();
        let proxy = start(
            rules(
                false,
                &[&format!("local.test:{port}"), &format!("127.0.0.1:{port}")],
            ),
            Bounds::default(),
        );
        let answer = ask(
            &proxy,
            &format!(
                "GET http://LOCAL.test.:{port}/a?b HTTP/1.1\r\nHost: local.test\r\nProxy-Connection: keep-alive\r\n\r\n"
            ),
        );
        assert_eq!(answer, "hello GET /a?b HTTP/1.1\r\n");
        let report = proxy.stop();
        assert_eq!(report.connections[0].host, "local.test");
        assert_eq!(report.connections[0].outcome, Outcome::Allowed);
    }

    /// Every refusal is made before any connection: the server never sees one.
    #[test]
    fn refused_hosts_get_a_403_naming_the_grant_and_reach_nothing() {
        let (server, accepted) = server();
        let port = server.port();
        let proxy = start(
            rules(true, &[&format!("127.0.0.1:{}", port + 1)]),
            Bounds::default(),
        );
        let cases = [
            (
                format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"),
                format!("127.0.0.1:{port}"),
            ),
            (
                format!("CONNECT local.test:{port} HTTP/1.1\r\n\r\n"),
                format!("127.0.0.1:{port}"),
            ),
            (
                format!("CONNECT mapped.test:{port} HTTP/1.1\r\n\r\n"),
                format!("127.0.0.1:{port}"),
            ),
            (
                format!("CONNECT [::ffff:127.0.0.1]:{port} HTTP/1.1\r\n\r\n"),
                format!("127.0.0.1:{port}"),
            ),
            (
                "CONNECT rebind.test:80 HTTP/1.1\r\n\r\n".into(),
                "169.254.169.254:80".into(),
            ),
            (
                "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n".into(),
                "169.254.169.254:80".into(),
            ),
            (
                "CONNECT 10.1.2.3:443 HTTP/1.1\r\n\r\n".into(),
                "10.1.2.3:443".into(),
            ),
            (
                format!("CONNECT 0.0.0.0:{port} HTTP/1.1\r\n\r\n"),
                format!("0.0.0.0:{port}"),
            ),
            (
                format!("CONNECT [::]:{port} HTTP/1.1\r\n\r\n"),
                format!("[::]:{port}"),
            ),
        ];
        for (request, grant) in &cases {
            let answer = ask(&proxy, request);
            assert!(
                answer.starts_with("HTTP/1.1 403 Forbidden\r\n"),
                "{request}: {answer}"
            );
            let line = format!(r#"network = [{{ program = "curl", hosts = ["{grant}"] }}]"#);
            assert!(answer.contains(&line), "{request}: {answer}");
        }
        let report = proxy.stop();
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            0,
            "a refused connection reached the server"
        );
        assert_eq!(report.connections.len(), cases.len());
        assert!(
            report
                .connections
                .iter()
                .all(|c| matches!(c.outcome, Outcome::Refused { .. }) && c.sent == 0)
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        let proxy = start(rules(true, &[]), Bounds::default());
        for request in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET https://example.com/ HTTP/1.1\r\n\r\n",
            "GET http://user@127.0.0.1/ HTTP/1.1\r\n\r\n",
            "CONNECT 127.1:80 HTTP/1.1\r\n\r\n",
            "CONNECT ::1:80 HTTP/1.1\r\n\r\n",
            "CONNECT a.com:80 SPDY/3\r\n\r\n",
        ] {
            let answer = ask(&proxy, request);
            assert!(answer.starts_with("HTTP/1.1 400"), "{request}: {answer}");
        }
    }

    /// Connections past the bound are answered at once, and a client that never sends
    /// its request is let go: neither holds the proxy (or the build) up.
    #[test]
    fn a_flood_is_bounded() {
        let bounds = Bounds {
            connections: 2,
            head_time: Duration::from_millis(300),
            ..Bounds::default()
        };
        let proxy = start(rules(true, &[]), bounds);
        let silent: Vec<TcpStream> = (0..2)
            .map(|_| TcpStream::connect(proxy.address()).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let answer = ask(&proxy, "CONNECT 10.0.0.1:1 HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        std::thread::sleep(Duration::from_millis(600));
        let answer = ask(&proxy, "CONNECT 10.0.0.1:1 HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        let started = Instant::now();
        let report = proxy.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(report.unrecorded >= 1);
        drop(silent);
    }

    /// A tunnel left open by the program does not keep the proxy from stopping.
    #[test]
    fn stopping_closes_open_tunnels() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = std::thread::spawn(move || {
            let kept: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(30));
            drop(kept);
        });
        let proxy = start(
            rules(false, &[&format!("127.0.0.1:{port}")]),
            Bounds::default(),
        );
        let mut client = TcpStream::connect(proxy.address()).unwrap();
        client
            .write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut established = [0u8; 39];
        client.read_exact(&mut established).unwrap();
        let started = Instant::now();
        let report = proxy.stop();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(report.connections[0].outcome, Outcome::Allowed);
    }
}
