//! Who the client is: the proxies a service trusts (`TRUSTED_PROXIES`) and the client address
//! they vouch for.

use std::net::IpAddr;

use ipnet::IpNet;

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

    #[test]
    fn empty_trusts_nobody() {
        let trusted = TrustedProxies::parse(" , ").unwrap();
        assert!(trusted.is_empty());
        assert!(!trusted.contains(ip("127.0.0.1")));
        assert_eq!(TrustedProxies::default(), TrustedProxies::none());
    }
}
