//! `connect` where the network is the tool's proxy: the supervisor's answer.
//!
//! The program never connects a socket of its own. The supervisor reads the address it
//! named once, from its memory; if that is the proxy, the supervisor connects a socket of
//! its own there and puts it in place of the program's descriptor
//! (`SECCOMP_IOCTL_NOTIF_ADDFD` with `SETFD`, Linux 5.9), and the call returns 0. Anything
//! else is refused. Nothing the program changes after the read reaches the connection, so
//! there is no window between the check and the use; Landlock's TCP rules (ABI 4) refuse
//! every connection of the program's own sockets besides, where the kernel has them.
//!
//! The new socket keeps the old one's `O_NONBLOCK` and close-on-exec; options set on the
//! old socket before `connect` (`TCP_NODELAY`, timeouts) are not carried over.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// The most of a `sockaddr` worth reading (`sockaddr_storage`).
pub(crate) const SOCKADDR_MAX: usize = 128;

/// How long the supervisor waits for the proxy to accept: it is local and listening, so
/// only a flooded proxy takes this long.
const PROXY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a `connect` named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    Inet(SocketAddr),
    /// Another family (`AF_UNIX`, `AF_UNSPEC`, ...), by number.
    Family(u16),
    /// Too short to name anything.
    Truncated,
}

impl Named {
    /// Reads the `sockaddr` in `bytes` (what the program passed, at most
    /// [`SOCKADDR_MAX`]).
    pub(crate) fn parse(bytes: &[u8]) -> Named {
        let Some(family) = bytes.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]])) else {
            return Named::Truncated;
        };
        let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
        match i32::from(family) {
            libc::AF_INET if bytes.len() >= 8 => {
                let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
                Named::Inet(SocketAddr::new(IpAddr::V4(ip), port(bytes)))
            }
            libc::AF_INET6 if bytes.len() >= 24 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&bytes[8..24]);
                let ip = Ipv6Addr::from(octets);
                Named::Inet(SocketAddr::new(IpAddr::V6(ip), port(bytes)))
            }
            libc::AF_INET | libc::AF_INET6 => Named::Truncated,
            _ => Named::Family(family),
        }
    }

    /// Whether this is `proxy` (also in its IPv4-mapped IPv6 form).
    pub(crate) fn is(&self, proxy: SocketAddr) -> bool {
        let Named::Inet(named) = self else {
            return false;
        };
        if named.port() != proxy.port() {
            return false;
        }
        let ip = match named.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        ip == proxy.ip()
    }

    /// What the report says the program tried.
    pub(crate) fn refusal(&self) -> String {
        let what = match self {
            Named::Inet(address) => format!("connect to `{address}` directly"),
            Named::Family(family) => format!("connect a socket of family {family}"),
            Named::Truncated => "connect to an address too short to read".to_string(),
        };
        format!(
            "{what}: a program granted `network` reaches hosts only through cargo \
             wasm-build's proxy (`HTTPS_PROXY`), which checks them against the grant; it \
             ignored the proxy"
        )
    }
}

/// A socket of the supervisor's own, connected to `proxy`, with the program's socket's
/// blocking mode.
pub(crate) fn to_proxy(proxy: SocketAddr, nonblocking: bool) -> std::io::Result<OwnedFd> {
    let stream = TcpStream::connect_timeout(&proxy, PROXY_TIMEOUT)?;
    stream.set_nonblocking(nonblocking)?;
    Ok(OwnedFd::from(stream))
}

/// The flags (`O_NONBLOCK`, `O_CLOEXEC`) of `descriptor` in process `pid`, from
/// `/proc/<pid>/fdinfo`, and whether it is a socket at all.
pub(crate) struct Descriptor {
    pub(crate) is_socket: bool,
    pub(crate) nonblocking: bool,
    pub(crate) cloexec: bool,
}

impl Descriptor {
    pub(crate) fn of(pid: u32, descriptor: i32) -> std::io::Result<Descriptor> {
        let link = std::fs::read_link(format!("/proc/{pid}/fd/{descriptor}"))?;
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{descriptor}"))?;
        let flags = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .and_then(|flags| i32::from_str_radix(flags.trim(), 8).ok())
            .ok_or_else(|| std::io::Error::other("no flags in fdinfo"))?;
        Ok(Descriptor {
            is_socket: link.to_string_lossy().starts_with("socket:"),
            nonblocking: flags & libc::O_NONBLOCK != 0,
            cloexec: flags & libc::O_CLOEXEC != 0,
        })
    }
}

/// Puts `ours` in place of the caller's `descriptor` while its call `id` waits.
pub(crate) fn replace(
    listener: i32,
    id: u64,
    ours: &OwnedFd,
    descriptor: i32,
    cloexec: bool,
) -> std::io::Result<()> {
    let request = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SETFD as u32,
        srcfd: ours.as_raw_fd() as u32,
        newfd: descriptor as u32,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: sends a request struct we own about a notification we hold.
    let added = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_ADDFD, &request) };
    if added < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(address: &str) -> Vec<u8> {
        let address: SocketAddr = address.parse().unwrap();
        let mut bytes = vec![0u8; 28];
        match address {
            SocketAddr::V4(v4) => {
                bytes[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                bytes[2..4].copy_from_slice(&v4.port().to_be_bytes());
                bytes[4..8].copy_from_slice(&v4.ip().octets());
                bytes.truncate(16);
            }
            SocketAddr::V6(v6) => {
                bytes[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                bytes[2..4].copy_from_slice(&v6.port().to_be_bytes());
                bytes[8..24].copy_from_slice(&v6.ip().octets());
            }
        }
        bytes
    }

    #[test]
    fn only_the_proxy_in_either_form_is_the_proxy() {
        let proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert!(Named::parse(&inet("127.0.0.1:4000")).is(proxy));
        assert!(Named::parse(&inet("[::ffff:127.0.0.1]:4000")).is(proxy));
        for other in [
            "127.0.0.1:4001",
            "127.0.0.2:4000",
            "0.0.0.0:4000",
            "[::1]:4000",
            "[::]:4000",
            "169.254.169.254:4000",
            "[::ffff:10.0.0.1]:4000",
        ] {
            assert!(!Named::parse(&inet(other)).is(proxy), "{other}");
        }
    }

    #[test]
    fn short_and_foreign_addresses_are_named_not_guessed() {
        assert_eq!(Named::parse(&[]), Named::Truncated);
        let mut short = inet("127.0.0.1:4000");
        short.truncate(6);
        assert_eq!(Named::parse(&short), Named::Truncated);
        let unix = (libc::AF_UNIX as u16).to_ne_bytes();
        assert_eq!(Named::parse(&unix), Named::Family(libc::AF_UNIX as u16));
        let refusal = Named::parse(&inet("10.1.2.3:443")).refusal();
        assert!(
            refusal.starts_with("connect to `10.1.2.3:443` directly"),
            "{refusal}"
        );
    }
}
