//! Name to address. Addresses pass through untouched; names go to the system resolver
//! (/etc/hosts, DNS) unless CTYS_NO_DNS is set, which the test suite sets so that no test can
//! reach a resolver by accident.
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// Whether name lookups are forbidden (CTYS_NO_DNS set).
pub fn lookups_forbidden() -> bool {
    std::env::var_os("CTYS_NO_DNS").is_some()
}

/// The socket addresses for `host:port`, in the resolver's order.
pub fn socket_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
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
    fn addresses_need_no_resolver() {
        assert_eq!(addrs("127.0.0.7").unwrap(), vec!["127.0.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(socket_addrs("[::1]", 22).unwrap(), vec!["[::1]:22".parse().unwrap()]);
    }
}
