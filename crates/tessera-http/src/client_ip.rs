//! The client's IP address behind reverse proxies. By default it is the TCP
//! peer; `X-Forwarded-For` is believed only when the peer is one of the
//! configured trusted proxies (`TESSERA_TRUSTED_PROXIES`), and then the client
//! is the right-most address in it that is not itself a trusted proxy.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// One network: an address and a prefix length (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(raw: &str) -> Result<Self, String> {
        let (addr_raw, prefix_raw) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr_raw
            .parse()
            .map_err(|_| format!("{raw:?} is not an IP address or CIDR network"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_raw {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed; empty (the
/// default) believes none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Parses a comma-separated list of IP addresses and CIDR networks
    /// (`10.0.0.0/8, 192.168.1.7, fd00::/8`); blanks are skipped.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Network::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request from `peer` with these headers: the
    /// peer itself unless it is trusted; otherwise, walking `X-Forwarded-For`
    /// from the right, the first address that is not a trusted proxy (or the
    /// left-most one when all are, or the last good one before an entry that
    /// is not an address).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.iter().rev() {
            let Some(ip) = parse_forwarded(entry) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// Headers in which reverse proxies and CDNs name the client's city and
/// country (Cloudflare, Amazon CloudFront), believed only from a trusted proxy.
const CITY_HEADERS: [&str; 2] = ["cf-ipcity", "cloudfront-viewer-city"];
const COUNTRY_HEADERS: [&str; 2] = ["cf-ipcountry", "cloudfront-viewer-country"];

impl TrustedProxies {
    /// The client's city and country for a request from `peer`, when `peer`
    /// is a trusted proxy that named them; (None, None) otherwise. Countries
    /// are two ASCII letters (Cloudflare's `XX` for unknown and `T1` for Tor
    /// count as none); cities are at most 100 printable characters.
    pub fn client_location(
        &self,
        peer: IpAddr,
        headers: &HeaderMap,
    ) -> (Option<String>, Option<String>) {
        if !self.contains(peer) {
            return (None, None);
        }
        let first = |names: &[&str]| {
            names.iter().find_map(|n| {
                headers
                    .get(*n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            })
        };
        let city = first(&CITY_HEADERS)
            .filter(|c| c.len() <= 100 && c.chars().all(|ch| !ch.is_control()))
            .map(str::to_owned);
        let country = first(&COUNTRY_HEADERS)
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
            .filter(|c| c != "XX" && c != "T1");
        (city, country)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(Network::to_string).collect();
        f.write_str(&items.join(", "))
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`[::1]:443`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_addresses_and_networks() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7,, fd00::/8 ,::1").unwrap();
        assert_eq!(
            t.to_string(),
            "10.0.0.0/8, 192.168.1.7/32, fd00::/8, ::1/128"
        );
        assert!(t.contains(ip("10.255.0.1")));
        assert!(t.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("fd12::1")));
        assert!(!t.contains(ip("fe80::1")));
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "::/129", "localhost", "10.0.0.0/x", "1.2.3"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let none = TrustedProxies::default();
        let h = xff(&["1.2.3.4"]);
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(t.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // A client-sent (spoofed) entry on the left is never reached.
        let h = xff(&["6.6.6.6, 203.0.113.9, 10.0.0.2"]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Several header lines are one list, in order.
        let h = xff(&["6.6.6.6", "203.0.113.9", "10.0.0.2"]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Ports and brackets; IPv4-mapped addresses come out as IPv4.
        let h = xff(&["[2001:db8::7]:443"]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("2001:db8::7"));
        let h = xff(&["198.51.100.4:5000"]);
        assert_eq!(t.client_ip(ip("::ffff:10.0.0.1"), &h), ip("198.51.100.4"));
        // No header: the proxy itself.
        assert_eq!(
            t.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        // Only trusted hops: the left-most.
        let h = xff(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.3"));
        // Garbage stops the walk at the last good hop.
        let h = xff(&["unknown, 10.0.0.2"]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn location_headers_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let mut h = HeaderMap::new();
        h.insert("cf-ipcity", "Lisbon".parse().unwrap());
        h.insert("cf-ipcountry", "pt".parse().unwrap());
        let proxy: IpAddr = "10.1.1.1".parse().unwrap();
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(
            trusted.client_location(proxy, &h),
            (Some("Lisbon".to_owned()), Some("PT".to_owned()))
        );
        assert_eq!(trusted.client_location(stranger, &h), (None, None));
        assert_eq!(
            TrustedProxies::default().client_location(proxy, &h),
            (None, None)
        );
        let mut h = HeaderMap::new();
        h.insert("cf-ipcountry", "XX".parse().unwrap());
        h.insert("cloudfront-viewer-country", "DE".parse().unwrap());
        h.insert("cloudfront-viewer-city", "Berlin".parse().unwrap());
        assert_eq!(
            trusted.client_location(proxy, &h),
            (Some("Berlin".to_owned()), None),
            "the first header present decides; XX is unknown"
        );
        let mut h = HeaderMap::new();
        h.insert("cf-ipcountry", "DEU".parse().unwrap());
        assert_eq!(trusted.client_location(proxy, &h), (None, None));
    }
}
