//! The UDP side of IPMI over LAN: a socket connected to one BMC, one exchange (send, wait for
//! the reply a predicate accepts, resend the same bytes on timeout), and the RMCP presence
//! ping that needs no account.
use std::cell::Cell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::net::UdpSocket;

use super::{fail, IpmiError, Kind};

/// A UDP socket connected to the BMC (so only its replies arrive).
pub async fn connect_udp(host: &str, port: u16, label: &str) -> Result<UdpSocket, IpmiError> {
    let addr = crate::prim::resolve::socket_addrs(host, port)
        .map_err(|e| fail(Kind::Network, label, e))?
        .into_iter()
        .next()
        .ok_or_else(|| fail(Kind::Network, label, "no address"))?;
    let any: SocketAddr = if addr.is_ipv4() { (std::net::Ipv4Addr::UNSPECIFIED, 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let sock = UdpSocket::bind(any).await.map_err(|e| fail(Kind::Network, label, e))?;
    sock.connect(addr).await.map_err(|e| fail(Kind::Network, label, e))?;
    Ok(sock)
}

/// Whether something answers an RMCP presence ping (ASF) at `host:port`, and whether it says
/// it speaks IPMI. Needs no account: a quick "is a BMC there" before any session.
pub async fn presence_ping(host: &str, port: u16, timeout: Duration, tries: u32) -> Result<bool, IpmiError> {
    let label = format!("ipmi {host}:{port}");
    let sock = connect_udp(host, port, &label).await?;
    let tag = (rand::rng().next_u32() & 0xfe) as u8;
    let ping = [0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, tag, 0x00, 0x00];
    exchange(&sock, &label, &ping, &Pace::new(timeout, tries), |p| pong(p, tag)).await
}

/// A Presence Pong with our tag (ASF class, IANA 4542, type 0x40): whether the BMC says it
/// speaks IPMI (bit 7 of byte 8 of its data), or None for anything else.
pub fn pong(p: &[u8], tag: u8) -> Option<bool> {
    (p.len() >= 21 && p[3] == 0x06 && p[4..8] == [0x00, 0x00, 0x11, 0xbe] && p[8] == 0x40 && p[9] == tag).then(|| p[20] & 0x80 != 0)
}

/// How long an exchange waits for a reply before it resends, and how often it sends. At first
/// the configured timeout for each of `tries` sends; once a first send was answered, the round
/// trip it took is known (Karn's rule: a reply after a resend may answer either copy, so it
/// says nothing), and a first resend goes out after twice that (at least 200 ms), each later
/// one after twice the wait before, up to the timeout. A dead BMC still costs
/// `timeout x tries`; a live one on a lossy path, less; a slow one still gets the timeout.
#[derive(Debug, Clone)]
pub struct Pace {
    pub timeout: Duration,
    pub tries: u32,
    /// Send once more halfway through each wait (for requests whose resend is harmless).
    halfway: bool,
    rtt: Cell<Option<Duration>>,
}

impl Pace {
    pub fn new(timeout: Duration, tries: u32) -> Pace {
        Pace { timeout, tries: tries.max(1), halfway: false, rtt: Cell::new(None) }
    }

    /// The same pace with `factor` times the tries (for a BMC known to be alive).
    pub fn times(&self, factor: u32) -> Pace {
        Pace { tries: self.tries.saturating_mul(factor), ..self.clone() }
    }

    /// For a request that changes nothing on the BMC (a resend is harmless): each try sends a
    /// second copy halfway through its wait, so loss costs less in the same time.
    pub fn stateless(&self) -> Pace {
        Pace { halfway: true, ..self.clone() }
    }

    /// The wait after the `attempt`-th send (from 0) before the next: twice the round trip for
    /// the first two sends (a datagram lost on a lossy path is the common case, not congestion),
    /// then doubling, up to the timeout.
    pub fn wait(&self, attempt: u32) -> Duration {
        match self.rtt.get() {
            Some(rtt) => (rtt * 2).max(Duration::from_millis(200)).saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.timeout),
            None => self.timeout,
        }
    }

    /// The round trip seen so far, if any.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt.get()
    }

    /// Takes the round trip another exchange measured.
    pub fn learn(&self, rtt: Option<Duration>) {
        if rtt.is_some() {
            self.rtt.set(rtt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_backs_off_from_the_round_trip_to_the_timeout() {
        let p = Pace::new(Duration::from_secs(5), 4);
        assert_eq!(p.wait(0), Duration::from_secs(5), "no round trip known: the timeout");
        p.learn(Some(Duration::from_millis(2)));
        let waits: Vec<u128> = (0..7).map(|a| p.wait(a).as_millis()).collect();
        assert_eq!(waits, [200, 200, 400, 800, 1600, 3200, 5000], "a slow BMC still gets the timeout");
        p.learn(Some(Duration::from_millis(400)));
        assert_eq!(p.wait(0), Duration::from_millis(800));
        assert_eq!(p.times(2).tries, 8);
        assert_eq!(p.stateless().wait(0), Duration::from_millis(800));
    }
}

/// Sends `packet` and waits for a reply `accept` takes, resending the same bytes on timeout.
pub async fn exchange<T>(sock: &UdpSocket, label: &str, packet: &[u8], pace: &Pace, mut accept: impl FnMut(&[u8]) -> Option<T>) -> Result<T, IpmiError> {
    let mut buf = [0u8; 1024];
    let mut waited = Duration::ZERO;
    for attempt in 0..pace.tries {
        sock.send(packet).await.map_err(|e| fail(Kind::Network, label, e))?;
        let sent = Instant::now();
        let wait = pace.wait(attempt);
        let deadline = sent + wait;
        let mut halfway = pace.halfway.then(|| sent + wait / 2);
        loop {
            if halfway.is_some_and(|h| Instant::now() >= h) {
                halfway = None;
                sock.send(packet).await.map_err(|e| fail(Kind::Network, label, e))?;
            }
            let left = halfway.unwrap_or(deadline).saturating_duration_since(Instant::now());
            if left.is_zero() && halfway.is_none() {
                break;
            }
            match tokio::time::timeout(left, sock.recv(&mut buf)).await {
                Err(_) if halfway.is_some() => continue,
                Err(_) => break,
                // ICMP port unreachable shows up as ECONNREFUSED on a connected socket: retry.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    tokio::time::sleep(left.min(Duration::from_millis(50))).await;
                }
                Ok(Err(e)) => return Err(fail(Kind::Network, label, e)),
                Ok(Ok(n)) => {
                    if let Some(v) = accept(&buf[..n]) {
                        // Only a reply to the one copy sent so far times the round trip.
                        if attempt == 0 && (halfway.is_some() || !pace.halfway) {
                            pace.rtt.set(Some(sent.elapsed()));
                        }
                        return Ok(v);
                    }
                }
            }
        }
        waited += wait;
    }
    Err(fail(Kind::Timeout, label, format!("no answer after {} tries ({} s)", pace.tries, waited.as_secs_f64())))
}
