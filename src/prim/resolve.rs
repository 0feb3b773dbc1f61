//! Name to address. Addresses pass through untouched; names go to the system resolver
//! (/etc/hosts, DNS) unless CTYS_NO_DNS is set, which the test suite sets so that no test can
//! reach a resolver by accident.
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Whether name lookups are forbidden (CTYS_NO_DNS set).
pub fn lookups_forbidden() -> bool {
    std::env::var_os("CTYS_NO_DNS").is_some()
}

/// Whether `name` is an IP address or could be a host name: dot-separated labels of 1 to 63
/// letters, digits, '-' and '_', none starting with '-', at most 253 bytes (a final dot
/// allowed). Text that is no name (an option, blanks, control bytes) never reaches a resolver.
pub fn valid_host(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    !bare.is_empty()
        && name.len() <= 253
        && bare.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The socket addresses for `host:port`, in the resolver's order.
pub fn socket_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if !valid_host(host) {
        let shown: String = host.chars().take(64).collect();
        return Err(format!("{shown:?} is not an address or host name"));
    }
    if lookups_forbidden() {
        return Err(format!("'{host}' is not an address and CTYS_NO_DNS forbids name lookups"));
    }
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    if addrs.is_empty() {
        return Err(format!("cannot resolve {host}: no address"));
    }
    Ok(addrs)
}

/// The addresses of a host name (or the address itself).
pub fn addrs(host: &str) -> Result<Vec<IpAddr>, String> {
    let mut out: Vec<IpAddr> = socket_addrs(host, 0)?.into_iter().map(|a| a.ip()).collect();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_no_names_never_reach_a_resolver() {
        for ok in ["lab01", "lab-01.example.org", "a_b", "h.", "10.0.0.1", "::1", "x1"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["", ".", "-oX", "a b", "h;x", "a]b", "a..b", "a.-b", "\u{feff}lab", &"a".repeat(64), &"a.".repeat(127)] {
            assert!(!valid_host(bad), "{bad:?}");
            assert!(socket_addrs(bad, 22).unwrap_err().contains("is not an address or host name"), "{bad:?}");
        }
    }

    #[test]
    fn addresses_need_no_resolver() {
        assert_eq!(addrs("127.0.0.7").unwrap(), vec!["127.0.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(socket_addrs("[::1]", 22).unwrap(), vec!["[::1]:22".parse().unwrap()]);
    }
}
