//! An open session with one BMC (RMCP+ or IPMI 1.5): how a request is sealed (sequence
//! number, integrity, confidentiality, or the 1.5 auth code), which reply belongs to it, one
//! command, and the close that happens on every path, Drop included.
use std::rc::Rc;

use rand::RngCore;
use tokio::net::UdpSocket;
use zeroize::Zeroizing;

use super::crypto::{self, Suite};
use super::transport::{connect_udp, exchange, Pace};
use super::{codes, fail, rakp, v15, wire, Config, IpmiError};

/// An open session with one BMC.
pub struct Session {
    pub(super) sock: Rc<UdpSocket>,
    pub(super) label: String,
    pub(super) suite: Suite,
    pub(super) k1: Zeroizing<Vec<u8>>,
    pub(super) k2: Zeroizing<Vec<u8>>,
    pub(super) bmc_sid: [u8; 4],
    pub(super) console_sid: [u8; 4],
    pub(super) out_seq: u32,
    pub(super) rq_seq: u8,
    pub(super) pace: Pace,
    pub(super) open: bool,
    /// The privilege to raise the session to (Set Session Privilege Level) before the first
    /// command that needs more than a user's; 0 once done or not needed.
    pub(super) raise_to: u8,
    /// Set for an IPMI 1.5 session: its auth type and the password padded to 16 bytes.
    pub(super) v15: Option<(u8, Zeroizing<[u8; 16]>)>,
    /// The Serial-over-LAN console while it is active (sol.rs).
    pub(super) sol: Option<super::sol::Console>,
}

impl Session {
    /// Opens a session: RMCP+ (Open Session, RAKP 1-4) or IPMI 1.5. A session starts at user
    /// privilege; it is raised to the one asked for before the first command that needs more
    /// (so `power status` costs one exchange less).
    pub async fn open(cfg: &Config) -> Result<Session, IpmiError> {
        let label = cfg.label.clone();
        let sock = Rc::new(connect_udp(&cfg.host, cfg.port, &label).await?);
        let mut s = if cfg.lan15 { v15::open(cfg, &label, sock).await? } else { rakp::open(cfg, &label, sock).await? };
        s.raise_to = if cfg.privilege > 2 { cfg.privilege } else { 0 };
        Ok(s)
    }

    /// The cipher suite in use (None for an IPMI 1.5 session).
    pub fn suite(&self) -> Option<u8> {
        self.v15.is_none().then_some(self.suite.id)
    }

    pub(super) fn seal(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> (Vec<u8>, u8) {
        self.out_seq = self.out_seq.wrapping_add(1);
        if self.v15.is_none() {
            self.out_seq = self.out_seq.max(1);
        }
        self.rq_seq = (self.rq_seq + 1) & 0x3f;
        let msg = wire::request(netfn, cmd, self.rq_seq, data);
        if let Some((authtype, pw)) = &self.v15 {
            let code = crypto::v15_code(*authtype, pw, self.bmc_sid, &msg, self.out_seq);
            return (wire::v15_session_packet(*authtype, self.out_seq, self.bmc_sid, Some(&code), &msg), self.rq_seq);
        }
        (self.wrap(wire::PT_IPMI, &msg), self.rq_seq)
    }

    /// An RMCP+ packet of payload type `ptype` (IPMI, SOL) for the current sequence number,
    /// encrypted and signed as the suite says.
    pub(super) fn wrap(&self, mut ptype: u8, msg: &[u8]) -> Vec<u8> {
        let payload = if self.suite.confidentiality == 1 {
            ptype |= 0x80;
            let mut iv = [0u8; 16];
            rand::rng().fill_bytes(&mut iv);
            crypto::encrypt(&self.k2, iv, msg)
        } else {
            msg.to_vec()
        };
        let integrity = (self.suite.integrity != 0).then(|| {
            ptype |= 0x40;
            (&self.suite, &self.k1[..])
        });
        wire::v2_packet(ptype, self.bmc_sid, self.out_seq, &payload, integrity)
    }

    fn open_reply(&self, p: &[u8], netfn: u8, cmd: u8, seq: u8) -> Option<wire::Response> {
        if let Some((authtype, pw)) = &self.v15 {
            let v = wire::v15_parse(p)?;
            if !v15::reply_authentic(&v, *authtype, pw, self.bmc_sid) {
                return None;
            }
            let r = wire::response(&v.msg)?;
            return (r.seq == seq && r.cmd == cmd && r.netfn == netfn + 1).then_some(r);
        }
        let integrity = (self.suite.integrity != 0).then_some((&self.suite, &self.k1[..]));
        let v = wire::v2_parse(p, integrity).ok()?;
        if v.ptype != wire::PT_IPMI || v.sid != self.console_sid {
            return None;
        }
        let msg = if v.encrypted { crypto::decrypt(&self.k2, &v.payload)? } else { v.payload };
        let r = wire::response(&msg)?;
        (r.seq == seq && r.cmd == cmd && r.netfn == netfn + 1).then_some(r)
    }

    /// Sends a command and returns the response data; a non-zero completion code is an error
    /// (see codes::command_failure for its kind).
    pub async fn cmd(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, IpmiError> {
        self.raise_for(netfn, cmd).await?;
        self.send(netfn, cmd, data).await
    }

    /// Raises the session to the privilege asked for before the first command that needs more
    /// than a user's.
    async fn raise_for(&mut self, netfn: u8, cmd: u8) -> Result<(), IpmiError> {
        if self.raise_to != 0 && !codes::user_level(netfn, cmd) {
            let level = self.raise_to;
            self.send(0x06, 0x3b, &[level]).await?;
            self.raise_to = 0;
        }
        Ok(())
    }

    /// A command whose completion code the caller reads (a non-zero one is not an error here).
    pub(super) async fn cmd_code(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<(u8, Vec<u8>), IpmiError> {
        self.raise_for(netfn, cmd).await?;
        let r = self.roundtrip(netfn, cmd, data).await?;
        Ok((r.code, r.data))
    }

    async fn roundtrip(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<wire::Response, IpmiError> {
        let (pkt, seq) = self.seal(netfn, cmd, data);
        // A read changes nothing: it may be resent sooner (see Pace::stateless).
        let pace = if codes::idempotent(netfn, cmd) { self.pace.stateless() } else { self.pace.clone() };
        let r = exchange(&self.sock, &self.label, &pkt, &pace, |p| self.open_reply(p, netfn, cmd, seq)).await?;
        self.pace.learn(pace.rtt());
        Ok(r)
    }

    pub(super) async fn send(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, IpmiError> {
        let r = self.roundtrip(netfn, cmd, data).await?;
        if r.code != 0 {
            let (kind, why) = codes::command_failure(netfn, cmd, r.code);
            return Err(fail(kind, &self.label, why));
        }
        Ok(r.data)
    }

    /// Closes the session: Close Session, sent twice and not waited for (its answer would
    /// change nothing; the second copy makes a lost one, and a BMC slot held until its idle
    /// timeout, less likely).
    pub async fn close(&mut self) {
        self.send_close();
    }

    fn send_close(&mut self) {
        if !self.open {
            return;
        }
        // A console left active would keep the BMC's SOL busy for everyone else.
        self.send_sol_deactivate();
        self.open = false;
        let sid = self.bmc_sid;
        let (pkt, _) = self.seal(0x06, 0x3c, &sid);
        for _ in 0..2 {
            let _ = self.sock.try_send(&pkt);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropped while open (an error, a signal, a half-opened session given up on).
        self.send_close();
    }
}
