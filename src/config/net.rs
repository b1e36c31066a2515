//! IP networks as configuration names them (`trustedIPs`, `sourceRange`): a CIDR or a bare address.

/// `10.0.0.0/8` or a bare address (a /32 or /128).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}
