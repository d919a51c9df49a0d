//! Who is on the other end of a connection to the proxy.
//!
//! The proxy listens on a loopback port for the length of a build script's run, and the
//! jail's supervisor is the only client meant to reach it. Loopback TCP carries no peer
//! credentials, so the proxy looks the connecting socket up in the kernel's table
//! (`/proc/net/tcp`, `tcp6`) and serves only sockets owned by its own user: another
//! user on the machine cannot borrow the build's grants (or its network position).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The user owning the socket at `peer` connected to `local`, if the kernel lists it.
pub(crate) fn owner(peer: SocketAddr, local: SocketAddr) -> io::Result<Option<u32>> {
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table)?;
        if let Some(uid) = text
            .lines()
            .skip(1)
            .find_map(|line| matching(line, peer, local))
        {
            return Ok(Some(uid));
        }
    }
    Ok(None)
}

/// The effective user of this process.
pub(crate) fn own_user() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The uid of a table line whose local end is `peer` and remote end `local`.
fn matching(line: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (ours, theirs, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
    let same = |field: &str, address: SocketAddr| parse(field).is_some_and(|a| same(a, address));
    if same(ours, peer) && same(theirs, local) {
        return uid.parse().ok();
    }
    None
}

/// Equal, treating an IPv4-mapped IPv6 address as its IPv4 address.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let plain = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && plain(a.ip()) == plain(b.ip())
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): each 32-bit word as the
/// kernel holds it, printed as a native integer.
fn parse(field: &str) -> Option<SocketAddr> {
    let (address, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(address)?)),
        32 => {
            let mut octets = [0u8; 16];
            for (index, chunk) in octets.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(address.get(index * 8..index * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_of_this_process_is_found_with_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_served, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let local = listener.local_addr().unwrap();
        assert_eq!(owner(peer, local).unwrap(), Some(own_user()));
        let elsewhere: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(owner(elsewhere, local).unwrap(), None);
    }

    #[test]
    fn table_addresses_parse_in_both_families() {
        let v4 = parse(&format!("{:08X}:1F90", u32::from_ne_bytes([127, 0, 0, 1]))).unwrap();
        assert_eq!(v4, "127.0.0.1:8080".parse().unwrap());
        let mapped: Ipv6Addr = "::ffff:127.0.0.1".parse().unwrap();
        let hex: String = mapped
            .octets()
            .chunks(4)
            .map(|word| format!("{:08X}", u32::from_ne_bytes(word.try_into().unwrap())))
            .collect();
        let v6 = parse(&format!("{hex}:0050")).unwrap();
        assert!(same(v6, "127.0.0.1:80".parse().unwrap()));
        assert_eq!(parse("zz:1"), None);
    }
}
