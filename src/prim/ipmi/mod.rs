//! IPMI over LAN (RMCP+, IPMI 2.0): sessions with RAKP and cipher suites 3 (HMAC-SHA1,
//! HMAC-SHA1-96, AES-CBC-128) and 17 (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128); suites 0-2
//! only when asked for by number. Without a suite, 17 is tried, then 3, and the choice is
//! remembered per BMC for the run. Every exchange has a timeout and retries that resend the
//! very same bytes (a retransmitted Chassis Control keeps its sequence number, so a lost reply
//! cannot power-cycle twice); a session is closed on every path, Drop included.
pub mod crypto;
pub mod secret;
pub mod wire;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::net::UdpSocket;
use zeroize::Zeroizing;

use crypto::{Exchange, Suite};

/// What a BMC session needs. The password and K_g never appear in a message.
pub struct Config {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Zeroizing<Vec<u8>>,
    pub kg: Option<Zeroizing<Vec<u8>>>,
    /// 2 user, 3 operator, 4 administrator.
    pub privilege: u8,
    /// A cipher suite by number, or None for 17 then 3.
    pub cipher: Option<u8>,
    /// IPMI 1.5 (`-I lan`: MD5, else straight password) instead of RMCP+.
    pub lan15: bool,
    /// IPMI 1.5 authentication type to insist on (2 MD5, 4 straight password).
    pub v15_auth: Option<u8>,
    /// Per try; with the default 1 s and 3 tries a dead BMC is reported after ~3 s.
    pub timeout: Duration,
    pub tries: u32,
}

/// Why an IPMI operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpmiError {
    /// timeout, auth, kg, privilege, refused, protocol, bmc, network
    pub kind: &'static str,
    pub message: String,
}

impl std::fmt::Display for IpmiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn fail(kind: &'static str, label: &str, msg: impl std::fmt::Display) -> IpmiError {
    IpmiError { kind, message: format!("ipmi {label}: {msg}") }
}

thread_local! {
    /// The suite each BMC accepted, for the rest of the run.
    static SUITES: RefCell<HashMap<String, u8>> = RefCell::new(HashMap::new());
}

/// RMCP+ status codes (IPMI 2.0 table 13-15) in words.
fn rmcp_status(code: u8) -> String {
    let s = match code {
        0x01 => "insufficient resources to create a session",
        0x02 => "invalid session ID",
        0x03 => "invalid payload type",
        0x04 => "invalid authentication algorithm",
        0x05 => "invalid integrity algorithm",
        0x06 => "no matching authentication payload",
        0x07 => "no matching integrity payload",
        0x08 => "inactive session ID",
        0x09 => "invalid role",
        0x0a => "unauthorized role or privilege level requested",
        0x0b => "insufficient resources to create a session at the requested role",
        0x0c => "invalid name length",
        0x0d => "unauthorized name",
        0x0e => "unauthorized GUID",
        0x0f => "invalid integrity check value",
        0x10 => "invalid confidentiality algorithm",
        0x11 => "no cipher suite match with proposed security algorithms",
        0x12 => "illegal or unrecognized parameter",
        _ => return format!("RMCP+ status 0x{code:02x}"),
    };
    format!("{s} (0x{code:02x})")
}

/// Completion codes (IPMI 2.0 table 5-2) in words.
pub fn completion(code: u8) -> String {
    let s = match code {
        0xc0 => "node busy",
        0xc1 => "invalid command",
        0xc2 => "command invalid for this LUN",
        0xc3 => "timeout while processing the command",
        0xc4 => "out of space",
        0xc5 => "reservation canceled or invalid",
        0xc6 => "request data truncated",
        0xc7 => "request data length invalid",
        0xc8 => "request data field length limit exceeded",
        0xc9 => "parameter out of range",
        0xca => "cannot return the number of requested data bytes",
        0xcb => "requested sensor, data or record not present",
        0xcc => "invalid data field in request",
        0xcd => "command illegal for this sensor or record type",
        0xce => "command response could not be provided",
        0xcf => "cannot execute a duplicated request",
        0xd4 => "insufficient privilege level",
        0xd5 => "command not supported in the present state",
        0xff => "unspecified error",
        _ => return format!("completion code 0x{code:02x}"),
    };
    format!("{s} (0x{code:02x})")
}

/// Get Channel Cipher Suites (pre-session, one quick try): the suite IDs the BMC lists, or None
/// when it does not answer within 250 ms.
async fn channel_suites(sock: &UdpSocket, label: &str) -> Option<Vec<u8>> {
    let mut records = Vec::new();
    for index in 0..8u8 {
        let pkt = wire::v15_packet(&wire::request(0x06, 0x54, index, &[0x0e, 0x00, 0x80 | index]));
        let r = exchange(sock, label, &pkt, Duration::from_millis(250), 1, |p| {
            wire::v15_message(p).and_then(wire::response).filter(|r| r.cmd == 0x54 && r.seq == index)
        })
        .await
        .ok()?;
        if r.code != 0 || r.data.is_empty() {
            return None;
        }
        records.extend_from_slice(&r.data[1..]);
        // A list comes in pieces of 16 bytes; a shorter piece is the last.
        if r.data.len() < 17 {
            break;
        }
    }
    Some(crypto::suites_listed(&records))
}

/// A UDP socket connected to the BMC (so only its replies arrive).
async fn connect_udp(host: &str, port: u16, label: &str) -> Result<UdpSocket, IpmiError> {
    let addr = crate::prim::resolve::socket_addrs(host, port)
        .map_err(|e| fail("network", label, e))?
        .into_iter()
        .next()
        .ok_or_else(|| fail("network", label, "no address"))?;
    let any: SocketAddr = if addr.is_ipv4() { (std::net::Ipv4Addr::UNSPECIFIED, 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let sock = UdpSocket::bind(any).await.map_err(|e| fail("network", label, e))?;
    sock.connect(addr).await.map_err(|e| fail("network", label, e))?;
    Ok(sock)
}

/// Whether something answers an RMCP presence ping (ASF) at `host:port`, and whether it says
/// it speaks IPMI. Needs no account: a quick "is a BMC there" before any session.
pub async fn presence_ping(host: &str, port: u16, timeout: Duration, tries: u32) -> Result<bool, IpmiError> {
    let label = format!("{host}:{port}");
    let sock = connect_udp(host, port, &label).await?;
    let tag = (rand::rng().next_u32() & 0xfe) as u8;
    let ping = [0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, tag, 0x00, 0x00];
    exchange(&sock, &label, &ping, timeout, tries, |p| {
        // Presence Pong: ASF class, IANA 4542, type 0x40, our tag; byte 8 of its data: IPMI.
        (p.len() >= 21 && p[3] == 0x06 && p[4..8] == [0x00, 0x00, 0x11, 0xbe] && p[8] == 0x40 && p[9] == tag).then(|| p[20] & 0x80 != 0)
    })
    .await
}

/// The payload of a session-setup reply (Open Session, RAKP 2, RAKP 4) with our message tag.
fn session_setup_reply(p: &[u8], ptype: u8, tag: u8) -> Option<Vec<u8>> {
    let v = wire::v2_parse(p, None).ok()?;
    (v.ptype == ptype && v.payload.len() >= 2 && v.payload[0] == tag).then_some(v.payload)
}

/// An open RMCP+ session with one BMC.
pub struct Session {
    sock: UdpSocket,
    label: String,
    suite: Suite,
    k1: Zeroizing<Vec<u8>>,
    k2: Zeroizing<Vec<u8>>,
    bmc_sid: [u8; 4],
    console_sid: [u8; 4],
    out_seq: u32,
    rq_seq: u8,
    timeout: Duration,
    tries: u32,
    open: bool,
    /// Set for an IPMI 1.5 session: its auth type and the password padded to 16 bytes.
    v15: Option<(u8, Zeroizing<[u8; 16]>)>,
}

/// Sends `packet` and waits for a reply `accept` takes, resending the same bytes on timeout.
async fn exchange<T>(sock: &UdpSocket, label: &str, packet: &[u8], timeout: Duration, tries: u32, mut accept: impl FnMut(&[u8]) -> Option<T>) -> Result<T, IpmiError> {
    let mut buf = [0u8; 1024];
    for _ in 0..tries.max(1) {
        sock.send(packet).await.map_err(|e| fail("network", label, e))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, sock.recv(&mut buf)).await {
                Err(_) => break,
                // ICMP port unreachable shows up as ECONNREFUSED on a connected socket: retry.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    tokio::time::sleep(left.min(Duration::from_millis(50))).await;
                }
                Ok(Err(e)) => return Err(fail("network", label, e)),
                Ok(Ok(n)) => {
                    if let Some(v) = accept(&buf[..n]) {
                        return Ok(v);
                    }
                }
            }
        }
    }
    let total = timeout.as_secs_f64() * f64::from(tries.max(1));
    Err(fail("timeout", label, format!("no answer after {} tries ({total} s)", tries.max(1))))
}

impl Session {
    /// Opens a session: Open Session, RAKP 1-4, Set Session Privilege Level.
    pub async fn open(cfg: &Config) -> Result<Session, IpmiError> {
        let label = format!("{}:{}", cfg.host, cfg.port);
        let sock = connect_udp(&cfg.host, cfg.port, &label).await?;
        if cfg.lan15 {
            return Session::v15_open(cfg, &label, sock).await;
        }
        let candidates: Vec<u8> = match (cfg.cipher, SUITES.with(|s| s.borrow().get(&label).copied())) {
            (Some(c), _) => vec![c],
            (None, Some(c)) => vec![c],
            (None, None) => match channel_suites(&sock, &label).await {
                // What the BMC says it has, best first; a BMC that ignores the question (as
                // ipmi_sim does) gets 17, then 3, by trying.
                Some(list) if list.contains(&17) || list.contains(&3) => [17, 3].into_iter().filter(|s| list.contains(s)).collect(),
                _ => vec![17, 3],
            },
        };
        let mut sock = Some(sock);
        let mut last = None;
        for id in candidates {
            let suite = Suite::by_id(id).ok_or_else(|| fail("refused", &label, format!("cipher suite {id} is not supported (0-3, 17)")))?;
            let Some(s) = sock.take() else { break };
            match Session::rakp(cfg, &label, s, suite).await {
                Ok(session) => {
                    SUITES.with(|m| m.borrow_mut().insert(label.clone(), id));
                    return Ok(session);
                }
                // Only a BMC that answers "no such suite" gets the next one; a silent one is dead.
                Err((e, Some(back))) if e.kind == "refused" => {
                    log::debug!("{label}: {e}; trying the next cipher suite");
                    last = Some(e);
                    sock = Some(back);
                }
                Err((e, _)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| fail("refused", &label, "no cipher suite to try")))
    }

    /// One attempt with one suite; on a refusal the socket comes back for the next attempt.
    async fn rakp(cfg: &Config, label: &str, sock: UdpSocket, suite: Suite) -> Result<Session, (IpmiError, Option<UdpSocket>)> {
        let (timeout, tries) = (cfg.timeout, cfg.tries);
        let mut rng = rand::rng();
        let mut console_sid = [0u8; 4];
        while console_sid == [0; 4] {
            rng.fill_bytes(&mut console_sid);
        }
        let tag = (rng.next_u32() & 0x3f) as u8;
        // Open Session Request: tag, requested privilege, reserved, console SID, the algorithms.
        let mut req = vec![tag, cfg.privilege, 0, 0];
        req.extend_from_slice(&console_sid);
        req.extend_from_slice(&[0, 0, 0, 8, suite.auth, 0, 0, 0, 1, 0, 0, 8, suite.integrity, 0, 0, 0, 2, 0, 0, 8, suite.confidentiality, 0, 0, 0]);
        let pkt = wire::v2_packet(wire::PT_OPEN_REQ, [0; 4], 0, &req, None);
        let open = exchange(&sock, label, &pkt, timeout, tries, |p| session_setup_reply(p, wire::PT_OPEN_RESP, tag))
        .await;
        let open = match open {
            Ok(o) => o,
            Err(e) => return Err((e, None)),
        };
        if open[1] != 0 {
            let kind = if matches!(open[1], 0x04 | 0x05 | 0x06 | 0x07 | 0x10 | 0x11) { "refused" } else { "bmc" };
            let e = fail(kind, label, format!("Open Session with cipher suite {}: {}", suite.id, rmcp_status(open[1])));
            return Err((e, Some(sock)));
        }
        if open.len() < 36 || open[4..8] != console_sid {
            return Err((fail("protocol", label, "malformed Open Session response"), None));
        }
        let bmc_sid: [u8; 4] = open[8..12].try_into().expect("4 bytes");
        // RAKP 1: BMC SID, console random, role (privilege + name-only lookup), user name.
        let mut console_rand = [0u8; 16];
        rng.fill_bytes(&mut console_rand);
        let role = cfg.privilege | 0x10;
        let user = cfg.user.as_bytes();
        if user.len() > 16 {
            return Err((fail("auth", label, "the user name is longer than 16 bytes"), None));
        }
        let mut r1 = vec![tag, 0, 0, 0];
        r1.extend_from_slice(&bmc_sid);
        r1.extend_from_slice(&console_rand);
        r1.extend_from_slice(&[role, 0, 0, user.len() as u8]);
        r1.extend_from_slice(user);
        let pkt = wire::v2_packet(wire::PT_RAKP1, [0; 4], 0, &r1, None);
        let r2 = exchange(&sock, label, &pkt, timeout, tries, |p| session_setup_reply(p, wire::PT_RAKP2, tag))
        .await
        .map_err(|e| (e, None))?;
        if r2[1] != 0 {
            let kind = if matches!(r2[1], 0x0d | 0x0f) { "auth" } else if r2[1] == 0x09 || r2[1] == 0x0a { "privilege" } else { "bmc" };
            return Err((fail(kind, label, format!("RAKP 2: {}", rmcp_status(r2[1]))), None));
        }
        let code_len = match suite.auth {
            3 => 32,
            1 => 20,
            _ => 0,
        };
        if r2.len() < 40 + code_len || r2[4..8] != console_sid {
            return Err((fail("protocol", label, "malformed RAKP 2"), None));
        }
        let x = Exchange {
            suite,
            console_sid,
            bmc_sid,
            console_rand,
            bmc_rand: r2[8..24].try_into().expect("16 bytes"),
            guid: r2[24..40].try_into().expect("16 bytes"),
            role,
            user,
        };
        let kuid = crypto::kuid(&cfg.password);
        if suite.auth != 0 {
            let code = x.rakp2(&kuid);
            if !crypto::equal(&code, &r2[40..40 + code.len()]) {
                return Err((fail("auth", label, format!("password invalid for user {} (RAKP 2 check failed)", cfg.user)), None));
            }
        }
        // RAKP 3 and 4.
        let mut r3 = vec![tag, 0, 0, 0];
        r3.extend_from_slice(&bmc_sid);
        if suite.auth != 0 {
            r3.extend_from_slice(&x.rakp3(&kuid));
        }
        let pkt = wire::v2_packet(wire::PT_RAKP3, [0; 4], 0, &r3, None);
        let r4 = exchange(&sock, label, &pkt, timeout, tries, |p| session_setup_reply(p, wire::PT_RAKP4, tag))
        .await
        .map_err(|e| (e, None))?;
        if r4[1] != 0 {
            let kind = if matches!(r4[1], 0x0f | 0x0d) { "auth" } else { "bmc" };
            return Err((fail(kind, label, format!("RAKP 4: {}", rmcp_status(r4[1]))), None));
        }
        let sik = x.sik(cfg.kg.as_deref().map(|k| &k[..]).unwrap_or(&kuid));
        if suite.auth != 0 {
            let icv = x.rakp4(&sik);
            if r4.len() < 8 + icv.len() || !crypto::equal(&icv, &r4[8..8 + icv.len()]) {
                let why = if cfg.kg.is_some() { "k_g invalid (RAKP 4 check failed)" } else { "RAKP 4 check failed (does the BMC want a K_g?)" };
                return Err((fail(if cfg.kg.is_some() { "kg" } else { "auth" }, label, why), None));
            }
        }
        let (k1, k2) = crypto::session_keys(&suite, &sik);
        let mut s = Session { sock, label: label.to_string(), suite, k1, k2, bmc_sid, console_sid, out_seq: 0, rq_seq: 0, timeout, tries, open: true, v15: None };
        // The session starts below the privilege it was opened for; ask for it (a reply of 0 is
        // tolerated, as some BMCs echo 0 in Open Session).
        if let Err(e) = s.cmd(0x06, 0x3b, &[cfg.privilege]).await {
            s.close().await;
            let kind = if e.message.contains("privilege") { "privilege" } else { e.kind };
            return Err((IpmiError { kind, message: e.message }, None));
        }
        Ok(s)
    }

    /// An IPMI 1.5 session: Get Channel Authentication Capabilities, Get Session Challenge,
    /// Activate Session (MD5 if the BMC offers it, else straight password; never "none").
    async fn v15_open(cfg: &Config, label: &str, sock: UdpSocket) -> Result<Session, IpmiError> {
        let (timeout, tries) = (cfg.timeout, cfg.tries);
        let pre = |cmd: u8, data: &[u8]| wire::v15_packet(&wire::request(0x06, cmd, 0, data));
        let reply = |cmd: u8| move |p: &[u8]| wire::v15_message(p).and_then(wire::response).filter(|r| r.cmd == cmd);
        let caps = exchange(&sock, label, &pre(0x38, &[0x0e, cfg.privilege]), timeout, tries, reply(0x38)).await?;
        if caps.code != 0 || caps.data.len() < 2 {
            return Err(fail("bmc", label, format!("Get Channel Authentication Capabilities: {}", completion(caps.code))));
        }
        let offered = |t: u8| caps.data[1] & (1 << t) != 0;
        let authtype = if let Some(t) = cfg.v15_auth {
            if !offered(t) {
                return Err(fail("refused", label, format!("the BMC does not offer IPMI 1.5 authentication type {t}")));
            }
            t
        } else if caps.data[1] & 0x04 != 0 {
            wire::AUTH_MD5
        } else if caps.data[1] & 0x10 != 0 {
            wire::AUTH_STRAIGHT
        } else {
            return Err(fail("refused", label, "the BMC offers neither MD5 nor straight password authentication for IPMI 1.5 (authentication none is never chosen)"));
        };
        let mut user16 = [0u8; 16];
        if cfg.user.len() > 16 {
            return Err(fail("auth", label, "the user name is longer than 16 bytes"));
        }
        user16[..cfg.user.len()].copy_from_slice(cfg.user.as_bytes());
        let mut data = vec![authtype];
        data.extend_from_slice(&user16);
        let ch = exchange(&sock, label, &pre(0x39, &data), timeout, tries, reply(0x39)).await?;
        match ch.code {
            0 if ch.data.len() >= 20 => {}
            0x81 => return Err(fail("auth", label, format!("invalid user name {}", cfg.user))),
            c => return Err(fail("bmc", label, format!("Get Session Challenge: {}", completion(c)))),
        }
        let temp_sid: [u8; 4] = ch.data[..4].try_into().expect("4 bytes");
        let mut pw = Zeroizing::new([0u8; 16]);
        let n = cfg.password.len().min(16);
        pw[..n].copy_from_slice(&cfg.password[..n]);
        let mut s = Session {
            sock,
            label: label.to_string(),
            suite: Suite::by_id(0).expect("suite 0"),
            k1: Zeroizing::new(Vec::new()),
            k2: Zeroizing::new(Vec::new()),
            bmc_sid: temp_sid,
            console_sid: temp_sid,
            out_seq: 0,
            rq_seq: 0,
            timeout,
            tries,
            open: false,
            v15: Some((authtype, pw)),
        };
        let mut init_seq = [0u8; 4];
        while init_seq == [0; 4] {
            rand::rng().fill_bytes(&mut init_seq);
        }
        let mut act = vec![authtype, cfg.privilege];
        act.extend_from_slice(&ch.data[4..20]);
        act.extend_from_slice(&init_seq);
        // Activate Session goes with sequence number 0 in the temporary session.
        s.out_seq = u32::MAX;
        let r = match s.cmd(0x06, 0x3a, &act).await {
            Ok(r) if r.len() >= 10 => r,
            Ok(_) => return Err(fail("protocol", label, "short Activate Session response")),
            // A BMC that does not like the auth code stays silent or says so: the password.
            Err(e) if e.kind == "timeout" || e.message.contains("0x86") => {
                return Err(fail("auth", label, format!("password invalid for user {} (Activate Session: {})", cfg.user, e.message.rsplit(": ").next().unwrap_or(""))));
            }
            Err(e) => return Err(e),
        };
        s.bmc_sid = r[1..5].try_into().expect("4 bytes");
        s.console_sid = s.bmc_sid;
        // From here on the console numbers its messages from the BMC's "initial inbound
        // sequence number" (ours, init_seq, is what the BMC counts from).
        s.out_seq = u32::from_le_bytes(r[5..9].try_into().expect("4 bytes")).wrapping_sub(1);
        s.open = true;
        if let Err(e) = s.cmd(0x06, 0x3b, &[cfg.privilege]).await {
            s.close().await;
            return Err(e);
        }
        Ok(s)
    }

    /// The cipher suite in use (None for an IPMI 1.5 session).
    pub fn suite(&self) -> Option<u8> {
        self.v15.is_none().then_some(self.suite.id)
    }

    fn seal(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> (Vec<u8>, u8) {
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
        let mut ptype = wire::PT_IPMI;
        let payload = if self.suite.confidentiality == 1 {
            ptype |= 0x80;
            let mut iv = [0u8; 16];
            rand::rng().fill_bytes(&mut iv);
            crypto::encrypt(&self.k2, iv, &msg)
        } else {
            msg
        };
        let integrity = (self.suite.integrity != 0).then(|| {
            ptype |= 0x40;
            (&self.suite, &self.k1[..])
        });
        (wire::v2_packet(ptype, self.bmc_sid, self.out_seq, &payload, integrity), self.rq_seq)
    }

    fn open_reply(&self, p: &[u8], netfn: u8, cmd: u8, seq: u8) -> Option<wire::Response> {
        if let Some((authtype, pw)) = &self.v15 {
            let v = wire::v15_parse(p)?;
            if !v15_reply_authentic(&v, *authtype, pw, self.bmc_sid) {
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

    /// Sends a command and returns the response data; a non-zero completion code is an error.
    pub async fn cmd(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, IpmiError> {
        let (pkt, seq) = self.seal(netfn, cmd, data);
        let r = exchange(&self.sock, &self.label, &pkt, self.timeout, self.tries, |p| self.open_reply(p, netfn, cmd, seq)).await?;
        if r.code != 0 {
            return Err(fail(if r.code == 0xd4 { "privilege" } else { "bmc" }, &self.label, completion(r.code)));
        }
        Ok(r.data)
    }

    /// Closes the session (best effort: one try, a short wait).
    pub async fn close(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        let sid = self.bmc_sid;
        let (pkt, seq) = self.seal(0x06, 0x3c, &sid);
        let _ = exchange(&self.sock, &self.label, &pkt, self.timeout.min(Duration::from_millis(500)), 1, |p| self.open_reply(p, 0x06, 0x3c, seq)).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropped while open (an error, Ctrl-C): send Close Session once, without waiting, so
        // the BMC does not keep the slot until its idle timeout.
        if self.open {
            self.open = false;
            let sid = self.bmc_sid;
            let (pkt, _) = self.seal(0x06, 0x3c, &sid);
            let _ = self.sock.try_send(&pkt);
        }
    }
}

/// Whether an IPMI 1.5 reply belongs to our session and is authenticated as it must be: the
/// session's ID, the session's authentication type (a reply with type "none" in an MD5 session
/// is a forgery, whatever it says), and for MD5 the right code over the message. As ipmitool,
/// a straight-password reply is only checked for its type (its code is the password).
fn v15_reply_authentic(v: &wire::V15, authtype: u8, pw: &[u8; 16], sid: [u8; 4]) -> bool {
    if v.sid != sid || v.authtype != authtype {
        return false;
    }
    match (authtype, v.code) {
        (wire::AUTH_MD5, Some(code)) => crypto::equal(&crypto::v15_code(wire::AUTH_MD5, pw, v.sid, &v.msg, v.seq), &code),
        (wire::AUTH_MD5, None) => false,
        _ => true,
    }
}

/// Chassis Control actions.
pub fn control_code(action: &str) -> Option<u8> {
    Some(match action {
        "off" | "down" => 0,
        "on" | "up" => 1,
        "cycle" => 2,
        "reset" => 3,
        "diag" => 4,
        "soft" => 5,
        _ => return None,
    })
}

/// Boot devices of the boot flags parameter (bits 5:2 of byte 2).
pub fn boot_device(dev: &str) -> Option<u8> {
    Some(match dev {
        "none" => 0x00,
        "pxe" => 0x04,
        "disk" => 0x08,
        "safe" => 0x0c,
        "diag" => 0x10,
        "cdrom" => 0x14,
        "bios" => 0x18,
        "floppy" => 0x3c,
        _ => return None,
    })
}

/// The name of a boot device code (inverse of `boot_device`).
pub fn boot_device_name(code: u8) -> &'static str {
    match code & 0x3c {
        0x04 => "pxe",
        0x08 => "disk",
        0x0c => "safe",
        0x10 => "diag",
        0x14 => "cdrom",
        0x18 => "bios",
        0x3c => "floppy",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v15_replies_must_carry_the_sessions_authentication() {
        let pw = [b'p'; 16];
        let sid = [1, 2, 3, 4];
        let msg = wire::request(0x01, 0x01, 5, &[0x00]);
        let code = crypto::v15_code(wire::AUTH_MD5, &pw, sid, &msg, 9);
        let parse = |p: Vec<u8>| wire::v15_parse(&p).unwrap();
        let good = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, sid, Some(&code), &msg));
        assert!(v15_reply_authentic(&good, wire::AUTH_MD5, &pw, sid));
        // The forger's reply: type none, no code at all.
        let none = parse(wire::v15_session_packet(wire::AUTH_NONE, 9, sid, None, &msg));
        assert!(!v15_reply_authentic(&none, wire::AUTH_MD5, &pw, sid));
        // A wrong code, another session, session 0, another type: refused.
        let bad = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, sid, Some(&[0; 16]), &msg));
        assert!(!v15_reply_authentic(&bad, wire::AUTH_MD5, &pw, sid));
        let other = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, [9, 9, 9, 9], Some(&code), &msg));
        assert!(!v15_reply_authentic(&other, wire::AUTH_MD5, &pw, sid));
        let zero = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, [0; 4], Some(&code), &msg));
        assert!(!v15_reply_authentic(&zero, wire::AUTH_MD5, &pw, sid));
        let straight = parse(wire::v15_session_packet(wire::AUTH_STRAIGHT, 9, sid, Some(&pw), &msg));
        assert!(!v15_reply_authentic(&straight, wire::AUTH_MD5, &pw, sid));
        assert!(v15_reply_authentic(&straight, wire::AUTH_STRAIGHT, &pw, sid));
        assert!(!v15_reply_authentic(&none, wire::AUTH_STRAIGHT, &pw, sid));
    }
}
