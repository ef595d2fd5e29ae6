//! Address ranges in CIDR form (`10.0.0.0/8`, `::1/128`, or a bare address
//! for one host), for `sip.trusted_sources`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A range of IP addresses: an address and how many leading bits matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the range. An IPv4 address seen as IPv6
    /// (`::ffff:10.1.2.3`, from a dual-stack socket) counts as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_matches(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if net[..whole] != ip[..whole] {
        return false;
    }
    rest == 0 || (net[whole] ^ ip[whole]) >> (8 - rest) == 0
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an address or address/prefix"))?;
        let most = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            "" => most,
            p => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("{text:?} has a prefix that is not 0 to {most}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_hold_what_their_prefix_covers() {
        let lan = net("10.1.0.0/16");
        assert!(lan.contains("10.1.200.3".parse().unwrap()));
        assert!(!lan.contains("10.2.0.1".parse().unwrap()));
        let odd = net("192.168.1.128/25");
        assert!(odd.contains("192.168.1.200".parse().unwrap()));
        assert!(!odd.contains("192.168.1.127".parse().unwrap()));
        assert!(net("127.0.0.0/8").contains("::ffff:127.0.0.9".parse().unwrap()));
        assert!(net("::1").contains("::1".parse().unwrap()));
        assert!(!net("::1").contains("127.0.0.1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("203.0.113.7".parse().unwrap()));
        assert_eq!(net("10.0.0.1").to_string(), "10.0.0.1/32");
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert!(
            "10.0.0.0/33"
                .parse::<IpNet>()
                .unwrap_err()
                .contains("0 to 32")
        );
        assert!(
            "example.com"
                .parse::<IpNet>()
                .unwrap_err()
                .contains("not an address")
        );
        assert!("::/129".parse::<IpNet>().unwrap_err().contains("0 to 128"));
    }
}
