//! Who the client is: the proxies a service trusts (`TRUSTED_PROXIES`) and the client address
//! they vouch for.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;

pub const FORWARDED_FOR_HEADER: &str = "X-Forwarded-For";

/// The address of the client a request comes from: the connection's peer, unless the peer is
/// a trusted proxy ([`TrustedProxies`] in the service's managed state); then the rightmost
/// address of `X-Forwarded-For` that is not itself a trusted proxy. Worked out once per
/// request. `None` only for a request without a peer (Rocket's local test client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    pub fn of(req: &Request<'_>) -> ClientAddress {
        *req.local_cache(|| {
            let peer = req.remote().map(|socket| canonical(socket.ip()));
            let trusted = req.rocket().state::<TrustedProxies>();
            match (peer, trusted) {
                // Only a trusted peer's headers are read at all.
                (Some(peer), Some(trusted)) if trusted.contains(peer) => {
                    let values: Vec<&str> = req.headers().get(FORWARDED_FOR_HEADER).collect();
                    ClientAddress(Some(trusted.client_behind(peer, &values)))
                }
                _ => ClientAddress(peer),
            }
        })
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.0
    }
}

impl std::fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddress {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientAddress::of(req))
    }
}

/// The networks whose connections may tell us the client's address in `X-Forwarded-For`.
/// Empty (the default): nobody's forwarded header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Nobody is trusted.
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// Exactly one address (a /32 or /128).
    pub fn only(address: IpAddr) -> Self {
        TrustedProxies(vec![IpNet::from(canonical(address))])
    }

    /// A comma-separated list of CIDRs (`10.0.0.0/8, 127.0.0.80`); a bare address is a /32 or
    /// /128, an IPv4-mapped IPv6 network is taken as the IPv4 one. Empty entries are skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let network = match entry.parse::<IpNet>() {
                Ok(network) => network,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(address) => IpNet::from(address),
                    Err(_) => {
                        return Err(format!(
                            "{entry:?} is not an IP address or a CIDR network (like 10.0.0.0/8)"
                        ))
                    }
                },
            };
            networks.push(canonical_network(network));
        }
        Ok(TrustedProxies(networks))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a connection from `peer` is one of the trusted proxies.
    pub fn contains(&self, peer: IpAddr) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let peer = canonical(peer);
        self.0.iter().any(|network| network.contains(&peer))
    }

    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// The client of a connection from `peer` that carried these `X-Forwarded-For` values (in
    /// the order received): `peer` itself unless it is trusted; else, reading the addresses
    /// right to left (each proxy appends the one it saw), the first that is not a trusted
    /// proxy. Everything left of it was written by the client and is ignored. An entry that is
    /// not an address ends the walk at the hop that passed it on.
    pub fn client_behind(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
        {
            match forwarded_address(entry.trim()) {
                Some(address) => {
                    client = address;
                    if !self.contains(address) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[2001:db8::1]:443`,
/// `203.0.113.9:5000`), as some proxies write it.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let address = match entry.parse::<IpAddr>() {
        Ok(address) => address,
        Err(_) => entry.parse::<SocketAddr>().ok()?.ip(),
    };
    Some(canonical(address))
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, network) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{network}")?;
        }
        Ok(())
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack listener reports for an
/// IPv4 peer) is that IPv4 address.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn canonical_network(network: IpNet) -> IpNet {
    let network = network.trunc();
    if let IpNet::V6(v6) = network {
        if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            if let Ok(v4net) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96) {
                return IpNet::V4(v4net);
            }
        }
    }
    network
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_accept_cidrs_and_bare_addresses() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.80 ,fd00::/8,::1,").unwrap();
        for inside in [
            "10.1.2.3",
            "127.0.0.80",
            "fd12::1",
            "::1",
            "::ffff:10.9.9.9",
        ] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.81", "127.0.0.1", "fe80::1", "::2"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
        assert_eq!(
            trusted.to_string(),
            "10.0.0.0/8,127.0.0.80/32,fd00::/8,::1/128"
        );
    }

    #[test]
    fn an_ipv4_mapped_network_is_the_ipv4_network() {
        let trusted = TrustedProxies::parse("::ffff:192.168.0.0/112").unwrap();
        assert!(trusted.contains(ip("192.168.4.5")));
        assert!(trusted.contains(ip("::ffff:192.168.4.5")));
        assert!(!trusted.contains(ip("192.169.0.1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "10.0.0.0/33",
            "localhost",
            "10.0.0",
            "10.0.0.0/8;",
            "::/129",
            "*",
        ] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{bad}: {error}");
        }
    }

    fn client(trusted: &str, peer: &str, headers: &[&str]) -> String {
        TrustedProxies::parse(trusted)
            .unwrap()
            .client_behind(ip(peer), headers)
            .to_string()
    }

    #[test]
    fn the_client_is_the_rightmost_forwarded_address_not_trusted() {
        let edge = "127.0.0.80, 10.0.0.0/8";
        let cases: &[(&str, &[&str], &str)] = &[
            // An untrusted peer's header is ignored.
            ("203.0.113.7", &["198.51.100.1"], "203.0.113.7"),
            // A trusted peer: the address it saw.
            ("127.0.0.80", &["198.51.100.1"], "198.51.100.1"),
            // What the client wrote itself, left of it, is ignored.
            ("127.0.0.80", &["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
            // Trusted hops are skipped, across header lines too.
            (
                "127.0.0.80",
                &["198.51.100.1, 10.1.1.1", "10.2.2.2"],
                "198.51.100.1",
            ),
            (
                "10.9.9.9",
                &["6.6.6.6", "198.51.100.1 , 10.1.1.1"],
                "198.51.100.1",
            ),
            // Ports and IPv6, and IPv4-mapped addresses as IPv4.
            ("127.0.0.80", &["[2001:db8::1]:443"], "2001:db8::1"),
            ("127.0.0.80", &["198.51.100.1:5000"], "198.51.100.1"),
            (
                "::ffff:127.0.0.80",
                &["::ffff:198.51.100.1"],
                "198.51.100.1",
            ),
            // No header, or only trusted hops: the nearest trusted address there is.
            ("127.0.0.80", &[], "127.0.0.80"),
            ("127.0.0.80", &["10.1.1.1"], "10.1.1.1"),
            // Garbage stops the walk at the hop that passed it on.
            ("127.0.0.80", &["198.51.100.1, unknown"], "127.0.0.80"),
            ("127.0.0.80", &["unknown, 10.1.1.1"], "10.1.1.1"),
            ("127.0.0.80", &[""], "127.0.0.80"),
        ];
        for (peer, headers, expected) in cases {
            assert_eq!(&client(edge, peer, headers), expected, "{peer} {headers:?}");
        }
        assert_eq!(client("", "127.0.0.80", &["198.51.100.1"]), "127.0.0.80");
    }

    #[test]
    fn empty_trusts_nobody() {
        let trusted = TrustedProxies::parse(" , ").unwrap();
        assert!(trusted.is_empty());
        assert!(!trusted.contains(ip("127.0.0.1")));
        assert_eq!(TrustedProxies::default(), TrustedProxies::none());
    }
}
