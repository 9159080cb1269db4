//! Host ports: world i gets `port_base + i` on 127.0.0.1, or the next free one.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

/// The port chosen for a world, and the one it would have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortChoice {
    pub wanted: u16,
    pub port: u16,
}

/// Is something already listening on 127.0.0.1:port (or on all addresses)?
pub fn is_port_taken(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_err()
}

/// Choose ports for `count` worlds starting at `base`: world i gets `base + i` when that
/// port is free; the worlds whose port is claimed by another world (`claimed`) or used by
/// something else (`taken`) get the free ports after the range, so one busy port moves
/// one world, not all that follow it.
pub fn allocate_ports(
    base: u16,
    count: usize,
    claimed: &HashSet<u16>,
    taken: impl Fn(u16) -> bool,
) -> Option<Vec<PortChoice>> {
    let wanted: Vec<u16> = (0..count)
        .map(|i| base.checked_add(u16::try_from(i).ok()?))
        .collect::<Option<_>>()?;
    let mut used: HashSet<u16> = claimed.clone();
    let mut chosen: Vec<Option<u16>> = wanted
        .iter()
        .map(|&p| (!used.contains(&p) && !taken(p)).then_some(p))
        .collect();
    used.extend(chosen.iter().flatten());
    used.extend(wanted.iter());
    let mut next = wanted.last().copied().unwrap_or(base);
    for slot in chosen.iter_mut().filter(|c| c.is_none()) {
        loop {
            next = next.checked_add(1)?;
            if !used.contains(&next) && !taken(next) {
                break;
            }
        }
        used.insert(next);
        *slot = Some(next);
    }
    Some(
        wanted
            .into_iter()
            .zip(chosen)
            .map(|(wanted, port)| PortChoice {
                wanted,
                port: port.unwrap_or(wanted),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_when_free() {
        let got = allocate_ports(33061, 3, &HashSet::new(), |_| false).unwrap();
        let ports: Vec<u16> = got.iter().map(|c| c.port).collect();
        assert_eq!(ports, vec![33061, 33062, 33063]);
        assert!(got.iter().all(|c| c.port == c.wanted));
    }

    #[test]
    fn skips_taken_and_claimed() {
        let claimed = HashSet::from([33061]);
        let got = allocate_ports(33061, 3, &claimed, |p| p == 33063).unwrap();
        let ports: Vec<u16> = got.iter().map(|c| c.port).collect();
        // Only the two blocked worlds move; host2 keeps its port.
        assert_eq!(ports, vec![33064, 33062, 33065]);
        assert_eq!(got[0].wanted, 33061);
    }

    #[test]
    fn runs_out_at_the_top() {
        assert!(allocate_ports(65535, 2, &HashSet::new(), |_| false).is_none());
    }

    #[test]
    fn a_bound_port_is_seen_as_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(is_port_taken(port));
    }
}
