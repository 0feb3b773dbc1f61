//! RMCP+ session setup (IPMI 2.0 §13.17-13.31): the cipher suite to use, then Open Session
//! and RAKP 1-4 in rounds. A BMC may ignore a resent RAKP 1 or 3 (OpenIPMI 2.0.37 does), or
//! answer it from a state that no longer matches ours (earlier versions), so a step that gets
//! no answer is not resent forever: the round is given up (its half-opened session closed
//! where the keys allow) and a new one starts from Open Session, with a new console session
//! ID and message tag so that late replies of the old round cannot be taken for new ones.
use std::rc::Rc;

use rand::RngCore;
use tokio::net::UdpSocket;

use super::crypto::{self, Exchange, Suite};
use super::session::Session;
use super::transport::{exchange, Pace};
use super::{codes, fail, wire, Config, IpmiError, Kind};

/// Rounds of Open Session + RAKP before a BMC that answers but never completes one is given
/// up on (ipmitool's IPMI_LAN_RETRY is 4 too).
pub const ROUNDS: u32 = 4;

thread_local! {
    /// The suite each BMC accepted, for the rest of the run.
    static SUITES: std::cell::RefCell<std::collections::HashMap<String, u8>> = Default::default();
}

/// Get Channel Cipher Suites (pre-session, one quick try): the suite IDs the BMC lists, or None
/// when it does not answer within 250 ms.
async fn channel_suites(sock: &UdpSocket, label: &str) -> Option<Vec<u8>> {
    let mut records = Vec::new();
    for index in 0..8u8 {
        let pkt = wire::v15_packet(&wire::request(0x06, 0x54, index, &[0x0e, 0x00, 0x80 | index]));
        let r = exchange(sock, label, &pkt, &Pace::new(std::time::Duration::from_millis(250), 1), |p| {
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

/// The payload of a session-setup reply (Open Session, RAKP 2, RAKP 4) of this round: its
/// type, our message tag and our console session ID.
pub fn setup_reply(p: &[u8], ptype: u8, tag: u8, console_sid: [u8; 4]) -> Option<Vec<u8>> {
    let v = wire::v2_parse(p, None).ok()?;
    (v.ptype == ptype && v.payload.len() >= 8 && v.payload[0] == tag && v.payload[4..8] == console_sid).then_some(v.payload)
}

/// Get Channel Authentication Capabilities (IPMI v2.0 data): the first contact. It changes
/// nothing on the BMC, so it is resent twice as often as a session step; an answer says the
/// BMC is alive (every later step gets ALIVE_FACTOR times the tries) and shows the round trip.
/// No answer: the BMC is dead or unreachable, after `timeout x tries`.
async fn hello(cfg: &Config, label: &str, sock: &UdpSocket, pace: &Pace) -> Result<(), IpmiError> {
    let pkt = wire::v15_packet(&wire::request(0x06, 0x38, 0, &[0x8e, cfg.privilege]));
    let first = pace.stateless();
    exchange(sock, label, &pkt, &first, |p| wire::v15_message(p).and_then(wire::response).filter(|r| r.cmd == 0x38)).await?;
    pace.learn(first.rtt());
    Ok(())
}

/// The BMC's session ID from an Open Session response, or Err with its RMCP+ status (0: the
/// response is malformed).
pub fn parse_open(payload: &[u8]) -> Result<[u8; 4], u8> {
    match payload.get(1) {
        Some(&0) => payload.get(8..12).filter(|_| payload.len() >= 36).map(|s| s.try_into().expect("4 bytes")).ok_or(0),
        Some(&status) => Err(status),
        None => Err(0),
    }
}

/// A RAKP 2's BMC random, the BMC's GUID and its check value (as long as `suite` makes it), or
/// Err with its status (0: malformed).
pub fn parse_rakp2<'a>(payload: &'a [u8], suite: &Suite) -> Result<([u8; 16], [u8; 16], &'a [u8]), u8> {
    let code_len = match suite.auth {
        3 => 32,
        1 => 20,
        _ => 0,
    };
    match payload.get(1) {
        Some(&0) if payload.len() >= 40 + code_len => {
            Ok((payload[8..24].try_into().expect("16 bytes"), payload[24..40].try_into().expect("16 bytes"), &payload[40..40 + code_len]))
        }
        Some(&0) | None => Err(0),
        Some(&status) => Err(status),
    }
}

/// A RAKP 4's integrity check value (as long as `suite` makes it), or Err with its status (0:
/// malformed).
pub fn parse_rakp4<'a>(payload: &'a [u8], suite: &Suite) -> Result<&'a [u8], u8> {
    match payload.get(1) {
        Some(&0) => payload.get(8..8 + suite.rakp4_len()).ok_or(0),
        Some(&status) => Err(status),
        None => Err(0),
    }
}

/// Opens an RMCP+ session: the given suite, else the one this BMC took before in this run,
/// else what it lists (best first), else 17 then 3.
pub(super) async fn open(cfg: &Config, label: &str, sock: Rc<UdpSocket>) -> Result<Session, IpmiError> {
    // Checked before anything is sent: a refusal later would leave a session half open.
    super::check_lengths(cfg, label, 20)?;
    let pace = Pace::new(cfg.timeout, cfg.tries);
    hello(cfg, label, &sock, &pace).await?;
    let pace = pace.times(super::ALIVE_FACTOR);
    // The suite a BMC took is remembered by its address (the label is only for messages).
    let key = format!("{}:{}", cfg.host, cfg.port);
    let candidates: Vec<u8> = match (cfg.cipher, SUITES.with(|s| s.borrow().get(&key).copied())) {
        (Some(c), _) => vec![c],
        (None, Some(c)) => vec![c],
        (None, None) => match channel_suites(&sock, label).await {
            // A BMC that ignores the question (as ipmi_sim does) gets 17, then 3, by trying.
            Some(list) if list.contains(&17) || list.contains(&3) => [17, 3].into_iter().filter(|s| list.contains(s)).collect(),
            _ => vec![17, 3],
        },
    };
    let mut last = None;
    for id in candidates {
        let suite = Suite::by_id(id).ok_or_else(|| fail(Kind::Refused, label, format!("cipher suite {id} is not supported (0-3, 17)")))?;
        match with_suite(cfg, label, &sock, suite, &pace).await {
            Ok(s) => {
                SUITES.with(|m| m.borrow_mut().insert(key.clone(), id));
                return Ok(s);
            }
            // Only a BMC that answers "no such suite" gets the next one; a silent one is dead.
            Err(e) if e.kind == Kind::Refused => {
                log::debug!("{key}: {e}; trying the next cipher suite");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| fail(Kind::Refused, label, "no cipher suite to try")))
}

/// How a round ended without a session.
enum Setback {
    /// A step after Open Session got no answer, or the BMC lost track of the round: the BMC
    /// is alive, start over.
    Lost(IpmiError),
    /// Anything else ends the setup.
    Final(IpmiError),
}

/// Up to ROUNDS rounds with one suite, at the pace of a BMC known to be alive.
async fn with_suite(cfg: &Config, label: &str, sock: &Rc<UdpSocket>, suite: Suite, pace: &Pace) -> Result<Session, IpmiError> {
    let mut last = None;
    for round in 1..=ROUNDS {
        match setup_round(cfg, label, sock, suite, pace).await {
            Ok(s) => return Ok(s),
            Err(Setback::Lost(e)) => {
                log::debug!("{}:{}: session setup round {round} of {ROUNDS}: {e}; starting over", cfg.host, cfg.port);
                last = Some(e);
            }
            Err(Setback::Final(e)) => return Err(e),
        }
    }
    let e = last.expect("a lost round leaves its error");
    Err(IpmiError::new(e.kind, format!("{} (no session after {ROUNDS} rounds of setup)", e.message)))
}

/// One round: Open Session, RAKP 1/2, RAKP 3/4 with a fresh console session ID and tag; each
/// step resends its very bytes on timeout, which is harmless for each of them.
async fn setup_round(cfg: &Config, label: &str, sock: &Rc<UdpSocket>, suite: Suite, pace: &Pace) -> Result<Session, Setback> {
    let mut rng = rand::rng();
    let mut console_sid = [0u8; 4];
    while console_sid == [0; 4] {
        rng.fill_bytes(&mut console_sid);
    }
    let tag = (rng.next_u32() & 0x3f) as u8;
    let lost = |e: IpmiError| if e.kind == Kind::Timeout { Setback::Lost(e) } else { Setback::Final(e) };
    // Open Session Request: tag, requested privilege, reserved, console SID, the algorithms.
    let mut req = vec![tag, cfg.privilege, 0, 0];
    req.extend_from_slice(&console_sid);
    req.extend_from_slice(&[0, 0, 0, 8, suite.auth, 0, 0, 0, 1, 0, 0, 8, suite.integrity, 0, 0, 0, 2, 0, 0, 8, suite.confidentiality, 0, 0, 0]);
    let pkt = wire::v2_packet(wire::PT_OPEN_REQ, [0; 4], 0, &req, None);
    let patient = pace.clone();
    let open = exchange(sock, label, &pkt, &patient, |p| setup_reply(p, wire::PT_OPEN_RESP, tag, console_sid)).await.map_err(lost)?;
    let bmc_sid = match parse_open(&open) {
        Ok(sid) => sid,
        Err(0) => return Err(Setback::Final(fail(Kind::Protocol, label, "malformed Open Session response"))),
        Err(status) => {
            let kind = if matches!(status, 0x04 | 0x05 | 0x06 | 0x07 | 0x10 | 0x11) { Kind::Refused } else { Kind::Bmc };
            return Err(Setback::Final(fail(kind, label, format!("Open Session with cipher suite {}: {}", suite.id, codes::rmcp_status(status)))));
        }
    };
    // RAKP 1: BMC SID, console random, role (privilege + name-only lookup), user name.
    let mut console_rand = [0u8; 16];
    rng.fill_bytes(&mut console_rand);
    let role = cfg.privilege | 0x10;
    let user = cfg.user.as_bytes();
    let mut r1 = vec![tag, 0, 0, 0];
    r1.extend_from_slice(&bmc_sid);
    r1.extend_from_slice(&console_rand);
    r1.extend_from_slice(&[role, 0, 0, user.len() as u8]);
    r1.extend_from_slice(user);
    let pkt = wire::v2_packet(wire::PT_RAKP1, [0; 4], 0, &r1, None);
    // Until RAKP 3 the session is half-open on the BMC and has no keys to close it with; a
    // RAKP 3 that carries an error status makes the BMC drop it (as ipmitool does when the
    // RAKP 2 check fails).
    let abandon = || {
        let pkt = wire::v2_packet(wire::PT_RAKP3, [0; 4], 0, &[tag, 0x0f, 0, 0, bmc_sid[0], bmc_sid[1], bmc_sid[2], bmc_sid[3]], None);
        let _ = sock.try_send(&pkt);
    };
    let r2 = match exchange(sock, label, &pkt, &patient, |p| setup_reply(p, wire::PT_RAKP2, tag, console_sid)).await {
        Ok(r2) => r2,
        Err(e) => {
            abandon();
            return Err(lost(e));
        }
    };
    let (bmc_rand, guid, their_code) = match parse_rakp2(&r2, &suite) {
        Ok(parts) => parts,
        Err(0) => {
            abandon();
            return Err(Setback::Final(fail(Kind::Protocol, label, "malformed RAKP 2")));
        }
        Err(status) => {
            let kind = if matches!(status, 0x0d | 0x0f) {
                Kind::Auth
            } else if status == 0x09 || status == 0x0a {
                Kind::Privilege
            } else {
                Kind::Bmc
            };
            return Err(Setback::Final(fail(kind, label, format!("RAKP 2: {}", codes::rmcp_status(status)))));
        }
    };
    let x = Exchange { suite, console_sid, bmc_sid, console_rand, bmc_rand, guid, role, user };
    pace.learn(patient.rtt());
    let kuid = crypto::kuid(&cfg.password);
    if suite.auth != 0 {
        if !crypto::equal(&x.rakp2(&kuid), their_code) {
            abandon();
            return Err(Setback::Final(fail(Kind::Auth, label, format!("password invalid for user {} (RAKP 2 check failed)", cfg.user))));
        }
    }
    // RAKP 3 and 4. From here both sides have the session keys.
    let mut r3 = vec![tag, 0, 0, 0];
    r3.extend_from_slice(&bmc_sid);
    if suite.auth != 0 {
        r3.extend_from_slice(&x.rakp3(&kuid));
    }
    let sik = x.sik(cfg.kg.as_deref().map(|k| &k[..]).unwrap_or(&kuid));
    let (k1, k2) = crypto::session_keys(&suite, &sik);
    let mut session = Session {
        sock: sock.clone(),
        label: label.to_string(),
        suite,
        k1,
        k2,
        bmc_sid,
        console_sid,
        out_seq: 0,
        rq_seq: 0,
        pace: patient.clone(),
        raise_to: 0,
        // Open for Drop's sake: a session given up after RAKP 3 may be active on the BMC, and
        // dropping it sends it an authenticated Close Session.
        open: true,
        v15: None,
        sol: None,
    };
    let pkt = wire::v2_packet(wire::PT_RAKP3, [0; 4], 0, &r3, None);
    let r4 = exchange(sock, label, &pkt, &patient, |p| setup_reply(p, wire::PT_RAKP4, tag, console_sid)).await.map_err(lost)?;
    let icv = match parse_rakp4(&r4, &suite) {
        Ok(icv) => icv,
        Err(status) => {
            session.open = false;
            // RAKP 2 proved the password right, so an integrity or name complaint here means the
            // BMC answered another RAKP 1 than ours (a resend it processed again): start over.
            return Err(match status {
                0x0f | 0x0d | 0x02 => Setback::Lost(fail(Kind::Bmc, label, format!("RAKP 4: {}", codes::rmcp_status(status)))),
                0 => Setback::Final(fail(Kind::Protocol, label, "malformed RAKP 4")),
                c => Setback::Final(fail(Kind::Bmc, label, format!("RAKP 4: {}", codes::rmcp_status(c)))),
            });
        }
    };
    if suite.auth != 0 {
        if !crypto::equal(&x.rakp4(&sik), icv) {
            session.open = false;
            let why = if cfg.kg.is_some() { "k_g invalid (RAKP 4 check failed)" } else { "RAKP 4 check failed (does the BMC want a K_g?)" };
            return Err(Setback::Final(fail(if cfg.kg.is_some() { Kind::Kg } else { Kind::Auth }, label, why)));
        }
    }
    Ok(session)
}
