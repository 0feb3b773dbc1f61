//! IPMI 1.5 sessions (`-I lan`): Get Channel Authentication Capabilities, Get Session
//! Challenge, Activate Session, with MD5 or the straight password (never "none"), and the
//! check every reply of such a session must pass.
use std::rc::Rc;

use rand::RngCore;
use tokio::net::UdpSocket;
use zeroize::Zeroizing;

use super::crypto::{self, Suite};
use super::session::Session;
use super::transport::{exchange, Pace};
use super::{codes, fail, wire, Config, IpmiError, Kind};

/// An IPMI 1.5 session: Get Channel Authentication Capabilities, Get Session Challenge,
/// Activate Session (MD5 if the BMC offers it, else straight password; never "none").
pub(super) async fn open(cfg: &Config, label: &str, sock: Rc<UdpSocket>) -> Result<Session, IpmiError> {
    super::check_lengths(cfg, label, 16)?;
    let pace = Pace::new(cfg.timeout, cfg.tries);
    let pre = |cmd: u8, data: &[u8]| wire::v15_packet(&wire::request(0x06, cmd, 0, data));
    let reply = |cmd: u8| move |p: &[u8]| wire::v15_message(p).and_then(wire::response).filter(|r| r.cmd == cmd);
    // The first contact changes nothing on the BMC: resent twice as often (see rakp::hello).
    let first = pace.stateless();
    let caps = exchange(&sock, label, &pre(0x38, &[0x0e, cfg.privilege]), &first, reply(0x38)).await?;
    pace.learn(first.rtt());
    if caps.code != 0 || caps.data.len() < 2 {
        return Err(fail(Kind::Bmc, label, format!("Get Channel Authentication Capabilities: {}", codes::completion(caps.code))));
    }
    let offered = |t: u8| caps.data[1] & (1 << t) != 0;
    let authtype = if let Some(t) = cfg.v15_auth {
        if !offered(t) {
            return Err(fail(Kind::Refused, label, format!("the BMC does not offer IPMI 1.5 authentication type {t}")));
        }
        t
    } else if caps.data[1] & 0x04 != 0 {
        wire::AUTH_MD5
    } else if caps.data[1] & 0x10 != 0 {
        wire::AUTH_STRAIGHT
    } else {
        return Err(fail(Kind::Refused, label, "the BMC offers neither MD5 nor straight password authentication for IPMI 1.5 (authentication none is never chosen)"));
    };
    let mut user16 = [0u8; 16];
    user16[..cfg.user.len()].copy_from_slice(cfg.user.as_bytes());
    let mut data = vec![authtype];
    data.extend_from_slice(&user16);
    let pace = pace.times(super::ALIVE_FACTOR);
    let ch = exchange(&sock, label, &pre(0x39, &data), &pace, reply(0x39)).await?;
    match ch.code {
        0 => {}
        0x81 => return Err(fail(Kind::Auth, label, format!("invalid user name {}", cfg.user))),
        c => return Err(fail(Kind::Bmc, label, format!("Get Session Challenge: {}", codes::completion(c)))),
    }
    let (temp_sid, challenge) = parse_challenge(&ch.data).ok_or_else(|| fail(Kind::Protocol, label, "short Get Session Challenge response"))?;
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
        pace,
        raise_to: 0,
        open: false,
        v15: Some((authtype, pw)),
        sol: None,
    };
    let mut init_seq = [0u8; 4];
    while init_seq == [0; 4] {
        rand::rng().fill_bytes(&mut init_seq);
    }
    let mut act = vec![authtype, cfg.privilege];
    act.extend_from_slice(&challenge);
    act.extend_from_slice(&init_seq);
    // Activate Session goes with sequence number 0 in the temporary session.
    s.out_seq = u32::MAX;
    let (sid, inbound) = match s.cmd(0x06, 0x3a, &act).await {
        Ok(r) => parse_activate(&r).ok_or_else(|| fail(Kind::Protocol, label, "short Activate Session response"))?,
        // A BMC that does not like the auth code stays silent or says so: the password.
        Err(e) if e.kind == Kind::Timeout || e.kind == Kind::Auth => {
            // IPMI 1.5 BMCs drop a wrong authentication code silently: silence is a wrong password.
            let why = if e.kind == Kind::Timeout { "no answer: a BMC drops a wrong authentication code" } else { "refused" };
            return Err(fail(Kind::Auth, label, format!("password invalid for user {} (Activate Session {why})", cfg.user)));
        }
        Err(e) => return Err(e),
    };
    s.bmc_sid = sid;
    s.console_sid = sid;
    // From here on the console numbers its messages from the BMC's "initial inbound
    // sequence number" (ours, init_seq, is what the BMC counts from).
    s.out_seq = inbound.wrapping_sub(1);
    s.open = true;
    Ok(s)
}

/// A Get Session Challenge response's temporary session ID and challenge string.
pub fn parse_challenge(data: &[u8]) -> Option<([u8; 4], [u8; 16])> {
    Some((data.get(..4)?.try_into().ok()?, data.get(4..20)?.try_into().ok()?))
}

/// An Activate Session response's session ID and the BMC's initial inbound sequence number.
pub fn parse_activate(data: &[u8]) -> Option<([u8; 4], u32)> {
    if data.len() < 10 {
        return None;
    }
    Some((data[1..5].try_into().ok()?, u32::from_le_bytes(data[5..9].try_into().ok()?)))
}

/// Whether an IPMI 1.5 reply belongs to our session and is authenticated as it must be: the
/// session's ID, the session's authentication type (a reply with type "none" in an MD5 session
/// is a forgery, whatever it says), and for MD5 the right code over the message. As ipmitool,
/// a straight-password reply is only checked for its type (its code is the password).
pub fn reply_authentic(v: &wire::V15, authtype: u8, pw: &[u8; 16], sid: [u8; 4]) -> bool {
    if v.sid != sid || v.authtype != authtype {
        return false;
    }
    match (authtype, v.code) {
        (wire::AUTH_MD5, Some(code)) => crypto::equal(&crypto::v15_code(wire::AUTH_MD5, pw, v.sid, &v.msg, v.seq), &code),
        (wire::AUTH_MD5, None) => false,
        _ => true,
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
        assert!(reply_authentic(&good, wire::AUTH_MD5, &pw, sid));
        // The forger's reply: type none, no code at all.
        let none = parse(wire::v15_session_packet(wire::AUTH_NONE, 9, sid, None, &msg));
        assert!(!reply_authentic(&none, wire::AUTH_MD5, &pw, sid));
        // A wrong code, another session, session 0, another type: refused.
        let bad = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, sid, Some(&[0; 16]), &msg));
        assert!(!reply_authentic(&bad, wire::AUTH_MD5, &pw, sid));
        let other = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, [9, 9, 9, 9], Some(&code), &msg));
        assert!(!reply_authentic(&other, wire::AUTH_MD5, &pw, sid));
        let zero = parse(wire::v15_session_packet(wire::AUTH_MD5, 9, [0; 4], Some(&code), &msg));
        assert!(!reply_authentic(&zero, wire::AUTH_MD5, &pw, sid));
        let straight = parse(wire::v15_session_packet(wire::AUTH_STRAIGHT, 9, sid, Some(&pw), &msg));
        assert!(!reply_authentic(&straight, wire::AUTH_MD5, &pw, sid));
        assert!(reply_authentic(&straight, wire::AUTH_STRAIGHT, &pw, sid));
        assert!(!reply_authentic(&none, wire::AUTH_STRAIGHT, &pw, sid));
    }
}
