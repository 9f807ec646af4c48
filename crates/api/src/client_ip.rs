//! The client's address, for throttling and the audit log. `X-Forwarded-For` is believed only
//! when the connection comes from a configured trusted proxy (`WEFT_TRUSTED_PROXIES`); then the
//! client is the rightmost address in it that is not itself a trusted proxy. Without trusted
//! proxies the header is ignored, so a client cannot choose the address it is counted under.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

pub fn of(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    resolve(
        peer,
        req.headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok()),
        trusted,
    )
    .to_string()
}

fn resolve<'a>(peer: IpAddr, xff: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = xff.flat_map(|h| h.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(32) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A malformed hop: the last trusted proxy's view is all we can believe.
            Err(_) => break,
        }
    }
    client
}

/// Parse `WEFT_TRUSTED_PROXIES`: addresses or CIDR ranges separated by commas or spaces.
pub fn parse_trusted(s: &str) -> Result<Vec<IpNet>, String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<IpNet>()
                .or_else(|_| x.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{x}' is not an IP address or CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = parse_trusted("127.0.0.1, 10.0.0.0/8").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let r = |peer: &str, xff: &[&str]| resolve(ip(peer), xff.iter().copied(), &trusted);
        // An untrusted peer: the header is ignored.
        assert_eq!(r("203.0.113.9", &["1.2.3.4"]), ip("203.0.113.9"));
        // Trusted peer: the rightmost untrusted hop.
        assert_eq!(
            r("127.0.0.1", &["1.2.3.4, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            r("127.0.0.1", &["1.2.3.4", "198.51.100.7, 10.1.2.3"]),
            ip("198.51.100.7")
        );
        // Spoofed leftmost entries do not matter; garbage stops the walk.
        assert_eq!(
            r("127.0.0.1", &["6.6.6.6, junk, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(r("127.0.0.1", &["junk"]), ip("127.0.0.1"));
        assert_eq!(r("127.0.0.1", &[]), ip("127.0.0.1"));
        assert!(parse_trusted("nope").is_err());
        assert_eq!(parse_trusted("").unwrap(), vec![]);
    }
}
