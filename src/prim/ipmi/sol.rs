//! Serial-over-LAN (IPMI 2.0 §15, payload type 1) on an RMCP+ session: Activate Payload, then
//! SOL packets both ways in the session's own packets (encrypted and signed as its suite says).
//! Each side numbers its data packets 1-15 and acknowledges the other's with the number and the
//! characters it took; a packet not acknowledged within the session's timeout is sent again, a
//! few times, then the BMC is given up (kind timeout). What the BMC sends waits in an inbox of
//! at most MAX_INBOX bytes: when it is full nothing is acknowledged, so the BMC holds back (it
//! sends again later) instead of memory growing. Deactivate Payload ends it, on every path
//! (Session's close and Drop send it too).
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::session::Session;
use super::{crypto, fail, wire, IpmiError, Kind};

pub const PT_SOL: u8 = 0x01;
const INSTANCE: u8 = 1;
/// The most bytes waiting for the reader.
pub const MAX_INBOX: usize = 1 << 20;
/// An idle console sends a Get Device ID this often, so neither side drops the session.
const KEEPALIVE: Duration = Duration::from_secs(20);
/// Tries of one packet before the BMC is given up.
const TRIES: u32 = 5;
/// What the BMC's status byte says.
const NACK: u8 = 0x40;
const DEACTIVATING: u8 = 0x10;
/// What ours asks for: a break on the serial line.
const BREAK: u8 = 0x10;

/// An active console's state.
pub struct Console {
    next_seq: u8,
    last_in: u8,
    inbox: VecDeque<u8>,
    /// The most characters one packet of ours may carry (what the BMC said it takes).
    max_out: usize,
    last_sent: Instant,
}

/// One SOL packet as received.
#[derive(Debug, PartialEq)]
pub struct Packet {
    pub seq: u8,
    pub ack: u8,
    pub accepted: u8,
    pub status: u8,
    pub data: Vec<u8>,
}

/// Reads a SOL payload (after decryption); None when shorter than its 4-byte header.
pub fn parse(payload: &[u8]) -> Option<Packet> {
    let (h, data) = (payload.get(..4)?, &payload[4..]);
    Some(Packet { seq: h[0] & 0x0f, ack: h[1] & 0x0f, accepted: h[2], status: h[3], data: data.to_vec() })
}

/// The Activate Payload response: the most bytes the BMC takes in one packet, and its UDP port.
pub fn activation(data: &[u8]) -> Option<(usize, u16)> {
    let d = data.get(..10)?;
    Some((u16::from_le_bytes([d[4], d[5]]) as usize, u16::from_le_bytes([d[8], d[9]])))
}

fn next(seq: u8) -> u8 {
    if seq >= 15 { 1 } else { seq + 1 }
}

enum Got {
    Ack { seq: u8, accepted: u8, nack: bool },
    Data,
    Ended,
    Nothing,
}

impl Session {
    /// Whether a console is active on this session.
    pub fn sol_active(&self) -> bool {
        self.sol.is_some()
    }

    /// Activates SOL. Active on another session: kind busy, unless `force`, which deactivates
    /// that one first (as `ipmitool sol deactivate` would).
    pub async fn sol_activate(&mut self, force: bool) -> Result<(), IpmiError> {
        if self.v15.is_some() {
            return Err(fail(Kind::Refused, &self.label, "Serial-over-LAN needs an RMCP+ session (lanplus)"));
        }
        if self.sol.is_some() {
            return Ok(());
        }
        let aux = if self.suite.confidentiality != 0 { 0x80 } else { 0 } | if self.suite.integrity != 0 { 0x40 } else { 0 };
        let req = [PT_SOL, INSTANCE, aux, 0, 0, 0];
        let r = match self.cmd(0x06, 0x48, &req).await {
            Err(e) if e.kind == Kind::Busy && force => {
                self.cmd(0x06, 0x49, &[PT_SOL, INSTANCE, 0, 0, 0, 0]).await?;
                self.cmd(0x06, 0x48, &req).await?
            }
            r => r?,
        };
        let (inbound, port) = activation(&r).ok_or_else(|| fail(Kind::Protocol, &self.label, "short Activate Payload response"))?;
        let ours = self.sock.peer_addr().map(|a| a.port()).unwrap_or(0);
        if port != 0 && port != ours {
            let _ = self.cmd(0x06, 0x49, &[PT_SOL, INSTANCE, 0, 0, 0, 0]).await;
            return Err(fail(Kind::Refused, &self.label, format!("the BMC serves SOL on UDP port {port}, not this session's {ours}")));
        }
        let max_out = if inbound > 4 { (inbound - 4).min(255) } else { 64 };
        self.sol = Some(Console { next_seq: 1, last_in: 0, inbox: VecDeque::new(), max_out, last_sent: Instant::now() });
        Ok(())
    }

    /// Deactivates SOL (nothing when it is not active).
    pub async fn sol_deactivate(&mut self) -> Result<(), IpmiError> {
        if self.sol.take().is_some() {
            self.cmd(0x06, 0x49, &[PT_SOL, INSTANCE, 0, 0, 0, 0]).await?;
        }
        Ok(())
    }

    /// Deactivate Payload sent twice and not waited for (close and Drop).
    pub(super) fn send_sol_deactivate(&mut self) {
        if self.sol.take().is_some() {
            let (pkt, _) = self.seal(0x06, 0x49, &[PT_SOL, INSTANCE, 0, 0, 0, 0]);
            for _ in 0..2 {
                let _ = self.sock.try_send(&pkt);
            }
        }
    }

    fn console(&mut self) -> Result<&mut Console, IpmiError> {
        let label = self.label.clone();
        self.sol.as_mut().ok_or_else(|| fail(Kind::Closed, &label, "Serial-over-LAN is not active"))
    }

    async fn sol_packet(&mut self, seq: u8, ack: u8, accepted: u8, op: u8, data: &[u8]) -> Result<(), IpmiError> {
        self.out_seq = self.out_seq.wrapping_add(1).max(1);
        let mut msg = vec![seq, ack, accepted, op];
        msg.extend_from_slice(data);
        let pkt = self.wrap(PT_SOL, &msg);
        self.sock.send(&pkt).await.map_err(|e| fail(Kind::Network, &self.label, e))?;
        if let Some(c) = self.sol.as_mut() {
            c.last_sent = Instant::now();
        }
        Ok(())
    }

    fn sol_open(&self, p: &[u8]) -> Option<Packet> {
        let integrity = (self.suite.integrity != 0).then_some((&self.suite, &self.k1[..]));
        let v = wire::v2_parse(p, integrity).ok()?;
        if v.ptype != PT_SOL || v.sid != self.console_sid {
            return None;
        }
        parse(&if v.encrypted { crypto::decrypt(&self.k2, &v.payload)? } else { v.payload })
    }

    /// Waits until `until` for one SOL packet and handles it: data goes to the inbox and is
    /// acknowledged (when there is room), an acknowledgement is handed back.
    async fn sol_take(&mut self, until: Instant) -> Result<Got, IpmiError> {
        let mut buf = [0u8; 1024];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Got::Nothing);
            }
            let n = match tokio::time::timeout(left, self.sock.recv(&mut buf)).await {
                Err(_) => return Ok(Got::Nothing),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    tokio::time::sleep(left.min(Duration::from_millis(50))).await;
                    continue;
                }
                Ok(Err(e)) => return Err(fail(Kind::Network, &self.label, e)),
                Ok(Ok(n)) => n,
            };
            let Some(p) = self.sol_open(&buf[..n]) else {
                log::debug!("sol: {} bytes that are not a SOL packet of this session (type {:#04x})", n, buf.get(5).copied().unwrap_or(0));
                continue;
            };
            log::debug!("sol: in seq {} ack {} accepted {} status {:#04x}, {} bytes", p.seq, p.ack, p.accepted, p.status, p.data.len());
            if p.status & DEACTIVATING != 0 {
                self.sol = None;
                return Ok(Got::Ended);
            }
            let mut got = if p.ack != 0 { Got::Ack { seq: p.ack, accepted: p.accepted, nack: p.status & NACK != 0 } } else { Got::Nothing };
            if p.seq != 0 && !p.data.is_empty() {
                let c = self.console()?;
                let fresh = p.seq != c.last_in;
                let take = !fresh || c.inbox.len() + p.data.len() <= MAX_INBOX;
                if fresh && take {
                    c.inbox.extend(&p.data);
                    c.last_in = p.seq;
                    if matches!(got, Got::Nothing) {
                        got = Got::Data;
                    }
                }
                // A full inbox acknowledges nothing: the BMC sends it again later.
                if take {
                    self.sol_packet(0, p.seq, p.data.len().min(255) as u8, 0, &[]).await?;
                }
            }
            if !matches!(got, Got::Nothing) {
                return Ok(got);
            }
        }
    }

    /// Sends text to the serial line (in packets the BMC takes, each sent again until it is
    /// acknowledged); `brk` sends a break first.
    pub async fn sol_send(&mut self, data: &[u8], brk: bool) -> Result<(), IpmiError> {
        let max = self.console()?.max_out;
        let mut parts: Vec<(&[u8], u8)> = data.chunks(max).map(|c| (c, 0)).collect();
        if brk {
            parts.insert(0, (&[], BREAK));
        }
        let resend = self.pace.timeout.min(Duration::from_secs(1));
        for (mut rest, op) in parts {
            let mut tries = 0;
            loop {
                let seq = {
                    let c = self.console()?;
                    let s = c.next_seq;
                    c.next_seq = next(s);
                    s
                };
                self.sol_packet(seq, 0, 0, op, rest).await?;
                let deadline = Instant::now() + resend;
                let taken = loop {
                    match self.sol_take(deadline).await? {
                        Got::Ack { seq: a, accepted, nack } if a == seq => break Some(if nack { 0 } else { accepted as usize }),
                        Got::Ended => return Err(fail(Kind::Eof, &self.label, "the BMC ended the console")),
                        Got::Nothing => break None,
                        _ => {}
                    }
                };
                match taken {
                    // An acknowledged break, or every character taken.
                    Some(n) if n >= rest.len() => break,
                    // Some taken: the rest goes in a packet of its own.
                    Some(n) if n > 0 => {
                        rest = &rest[n..];
                        tries = 0;
                    }
                    _ => {
                        tries += 1;
                        if tries >= TRIES {
                            return Err(fail(Kind::Timeout, &self.label, format!("the BMC did not acknowledge console data ({TRIES} tries)")));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// What the serial line said: what is waiting, else what arrives within `timeout` (empty
    /// when nothing did). The BMC ending the console is kind eof.
    pub async fn sol_recv(&mut self, timeout: Duration) -> Result<Vec<u8>, IpmiError> {
        let until = Instant::now() + timeout;
        loop {
            let c = self.console()?;
            if !c.inbox.is_empty() {
                return Ok(c.inbox.drain(..).collect());
            }
            let idle_until = c.last_sent + KEEPALIVE;
            if Instant::now() >= idle_until {
                // A lost BMC shows here: the keepalive times out.
                self.send(0x06, 0x01, &[]).await?;
                self.console()?.last_sent = Instant::now();
                continue;
            }
            match self.sol_take(until.min(idle_until)).await? {
                Got::Ended => return Err(fail(Kind::Eof, &self.label, "the BMC ended the console")),
                Got::Nothing if Instant::now() >= until => return Ok(Vec::new()),
                _ => {}
            }
        }
    }
}

/// How an attached console ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detach {
    /// The user typed the escape and `.`.
    Escape,
    /// Standard input ended (a pipe), and what the line said in the second after it was shown.
    Eof,
}

/// Typed bytes after the escape rules (`~.` ends, `~B` breaks, `~~` is one `~`, `~?` helps),
/// which take effect at the start of a line only, as ssh's and ipmitool's do.
#[derive(Default)]
pub struct Escapes {
    mid_line: bool,
    pending: bool,
}

/// What a chunk of typed input asks for.
#[derive(Debug, Default, PartialEq)]
pub struct Typed {
    pub send: Vec<u8>,
    pub brk: bool,
    pub help: bool,
    pub quit: bool,
}

impl Escapes {
    pub fn feed(&mut self, esc: u8, input: &[u8]) -> Typed {
        let mut t = Typed::default();
        for &b in input {
            if self.pending {
                self.pending = false;
                match b {
                    b'.' => {
                        t.quit = true;
                        return t;
                    }
                    b'B' => t.brk = true,
                    b'?' => t.help = true,
                    _ if b == esc => {
                        t.send.push(esc);
                        self.mid_line = true;
                    }
                    _ => {
                        t.send.extend_from_slice(&[esc, b]);
                        self.mid_line = !(b == b'\r' || b == b'\n');
                    }
                }
                continue;
            }
            if !self.mid_line && b == esc {
                self.pending = true;
                continue;
            }
            t.send.push(b);
            self.mid_line = !(b == b'\r' || b == b'\n');
        }
        t
    }
}

impl Session {
    /// The console on this terminal: what is typed goes to the serial line (raw mode when
    /// stdin is a terminal, so Ctrl-C goes there too), what the line says comes to stdout,
    /// until `escape` `.` at the start of a line, or the end of stdin.
    pub async fn sol_attach(&mut self, escape: u8) -> Result<Detach, IpmiError> {
        use std::io::Write;
        use std::os::fd::AsFd;
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        self.console()?;
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let _raw = crate::prim::rawmode::RawMode::take(fd);
        let mut out = std::io::stdout();
        let mut esc = Escapes::default();
        let mut buf = [0u8; 4096];
        let mut ended: Option<Instant> = None;
        loop {
            match ended {
                Some(t) if t.elapsed() >= Duration::from_secs(1) => return Ok(Detach::Eof),
                Some(_) => {}
                None => {
                    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
                    if poll(&mut fds, PollTimeout::ZERO).unwrap_or(0) > 0 {
                        match nix::unistd::read(fd, &mut buf) {
                            Ok(0) | Err(_) => ended = Some(Instant::now()),
                            Ok(n) => {
                                let t = esc.feed(escape, &buf[..n]);
                                if t.help {
                                    let _ = write!(out, "\r\n[{e}. end the console, {e}B send a break, {e}{e} send {e}]\r\n", e = escape as char);
                                }
                                if t.brk || !t.send.is_empty() {
                                    self.sol_send(&t.send, t.brk).await?;
                                }
                                if t.quit {
                                    return Ok(Detach::Escape);
                                }
                            }
                        }
                    }
                }
            }
            let data = self.sol_recv(Duration::from_millis(40)).await?;
            if !data.is_empty() {
                out.write_all(&data).and_then(|()| out.flush()).map_err(|e| fail(Kind::Io, &self.label, format!("standard output: {e}")))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_and_activation_read_hostile_bytes_safely() {
        assert_eq!(parse(&[0x13, 0, 0, 0, b'h', b'i']), Some(Packet { seq: 3, ack: 0, accepted: 0, status: 0, data: b"hi".to_vec() }));
        assert_eq!(parse(&[1, 2, 3]), None);
        assert_eq!(activation(&[0, 0, 0, 0, 0xff, 0, 0xff, 0, 0x6f, 0x02]), Some((255, 623)));
        assert_eq!(activation(&[0; 9]), None);
        assert_eq!((next(1), next(15)), (2, 1));
    }

    #[test]
    fn escapes_act_at_the_start_of_a_line_only() {
        let mut e = Escapes::default();
        assert_eq!(e.feed(b'~', b"ls ~/x\r"), Typed { send: b"ls ~/x\r".to_vec(), ..Default::default() });
        assert_eq!(e.feed(b'~', b"~B~?"), Typed { brk: true, help: true, ..Default::default() });
        assert_eq!(e.feed(b'~', b"~~~?"), Typed { send: b"~~?".to_vec(), ..Default::default() }, "after ~~ the line has begun");
        let mut e = Escapes::default();
        let t = e.feed(b'~', b"a\n~.never");
        assert_eq!((t.send, t.quit), (b"a\n".to_vec(), true));
        let mut e = Escapes::default();
        assert_eq!(e.feed(b'~', b"~").send, b"");
        assert_eq!(e.feed(b'~', b"x").send, b"~x", "an escape split across reads");
    }
}
