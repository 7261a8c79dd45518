//! The client's address, as the throttles (logins, resets, the login gate) and the activity log
//! see it. Behind a reverse proxy every request comes from the proxy, which would make the
//! per-address limits one limit for everybody; so for a peer listed in
//! `SELFCARE_TRUSTED_PROXIES` the address is read from `X-Forwarded-For`: the rightmost entry
//! that is not itself a trusted proxy (what the nearest proxy saw). The header is never believed
//! from anyone else, since a client can write anything in it.

use std::net::IpAddr;

/// The address of a request that came from `peer` with these `X-Forwarded-For` values.
pub fn client_address(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[IpAddr]) -> String {
    let Some(peer) = peer else {
        return String::new();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let hops: Vec<IpAddr> = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|h| !trusted.contains(h))
        .unwrap_or(&peer)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let proxy = [ip("10.0.0.2")];
        // Straight from a client: its own address, whatever it writes.
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &["1.2.3.4"], &proxy),
            "198.51.100.7"
        );
        // Through the proxy: what the proxy saw, not what the client claimed before it.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &["1.2.3.4, 198.51.100.7"], &proxy),
            "198.51.100.7"
        );
        // Two proxies in a row, both trusted.
        let both = [ip("10.0.0.2"), ip("10.0.0.3")];
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &["198.51.100.7", "10.0.0.3"], &both),
            "198.51.100.7"
        );
        // A trusted peer without the header (or with garbage): the peer.
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &["nonsense"], &proxy),
            "10.0.0.2"
        );
        assert_eq!(client_address(None, &[], &proxy), "");
    }
}
