//! IPMI over LAN framing: the RMCP header, IPMI 1.5 and 2.0 (RMCP+) session headers with the
//! integrity trailer, and IPMI messages with their two checksums. Parsers take hostile input:
//! every length is checked, nothing panics.
use super::crypto::{self, Suite};

/// RMCP version 6, no ack, class IPMI.
pub const RMCP: [u8; 4] = [0x06, 0x00, 0xff, 0x07];

/// Payload types of RMCP+.
pub const PT_IPMI: u8 = 0x00;
pub const PT_OPEN_REQ: u8 = 0x10;
pub const PT_OPEN_RESP: u8 = 0x11;
pub const PT_RAKP1: u8 = 0x12;
pub const PT_RAKP2: u8 = 0x13;
pub const PT_RAKP3: u8 = 0x14;
pub const PT_RAKP4: u8 = 0x15;

const BMC_ADDR: u8 = 0x20;
const SW_ADDR: u8 = 0x81;

fn checksum(b: &[u8]) -> u8 {
    0u8.wrapping_sub(b.iter().fold(0u8, |a, x| a.wrapping_add(*x)))
}

/// An IPMI request message to the BMC.
pub fn request(netfn: u8, cmd: u8, seq: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![BMC_ADDR, netfn << 2];
    m.push(checksum(&m));
    let body_start = m.len();
    m.extend_from_slice(&[SW_ADDR, (seq & 0x3f) << 2, cmd]);
    m.extend_from_slice(data);
    let c = checksum(&m[body_start..]);
    m.push(c);
    m
}

/// A BMC's reply to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub netfn: u8,
    pub cmd: u8,
    pub seq: u8,
    pub code: u8,
    pub data: Vec<u8>,
}

/// Reads an IPMI response message; None when it is too short or a checksum is wrong.
pub fn response(m: &[u8]) -> Option<Response> {
    if m.len() < 8 || checksum(&m[..2]) != m[2] || checksum(&m[3..m.len() - 1]) != m[m.len() - 1] {
        return None;
    }
    Some(Response { netfn: m[1] >> 2, cmd: m[5], seq: m[4] >> 2, code: m[6], data: m[7..m.len() - 1].to_vec() })
}

/// An IPMI 1.5 packet without authentication (pre-session, session 0).
pub fn v15_packet(msg: &[u8]) -> Vec<u8> {
    let mut p = RMCP.to_vec();
    p.extend_from_slice(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0, msg.len() as u8]);
    p.extend_from_slice(msg);
    p
}

/// The IPMI message inside an IPMI 1.5 packet (any auth type).
pub fn v15_message(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 14 || p[..4] != RMCP || p[4] == 0x06 {
        return None;
    }
    let at = if p[4] == 0x00 { 13 } else { 29 };
    let len = *p.get(at)? as usize;
    p.get(at + 1..at + 1 + len)
}

/// IPMI 1.5 authentication types.
pub const AUTH_NONE: u8 = 0;
pub const AUTH_MD5: u8 = 2;
pub const AUTH_STRAIGHT: u8 = 4;

/// An IPMI 1.5 session packet: auth type, sequence, session ID, the 16-byte auth code (absent
/// for type none), the message.
pub fn v15_session_packet(authtype: u8, seq: u32, sid: [u8; 4], code: Option<&[u8; 16]>, msg: &[u8]) -> Vec<u8> {
    let mut p = RMCP.to_vec();
    p.push(authtype);
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&sid);
    if let Some(c) = code {
        p.extend_from_slice(c);
    }
    p.push(msg.len() as u8);
    p.extend_from_slice(msg);
    p
}

/// An IPMI 1.5 session packet as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V15 {
    pub authtype: u8,
    pub seq: u32,
    pub sid: [u8; 4],
    pub code: Option<[u8; 16]>,
    pub msg: Vec<u8>,
}

pub fn v15_parse(p: &[u8]) -> Option<V15> {
    if p.len() < 14 || p[..4] != RMCP || p[4] == 0x06 {
        return None;
    }
    let code = if p[4] == AUTH_NONE { None } else { Some(p.get(13..29)?.try_into().ok()?) };
    let at = if code.is_some() { 29 } else { 13 };
    let len = *p.get(at)? as usize;
    Some(V15 {
        authtype: p[4],
        seq: u32::from_le_bytes(p[5..9].try_into().ok()?),
        sid: p[9..13].try_into().ok()?,
        code,
        msg: p.get(at + 1..at + 1 + len)?.to_vec(),
    })
}

/// An RMCP+ packet; with `integrity` the trailer and auth code are appended.
pub fn v2_packet(ptype: u8, sid: [u8; 4], seq: u32, payload: &[u8], integrity: Option<(&Suite, &[u8])>) -> Vec<u8> {
    let mut p = RMCP.to_vec();
    p.push(0x06);
    p.push(ptype);
    p.extend_from_slice(&sid);
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    p.extend_from_slice(payload);
    if let Some((suite, k1)) = integrity {
        // Covered: from the auth-type byte through the next-header byte, a multiple of 4.
        let covered = p.len() - 4 + 2;
        let pad = (4 - covered % 4) % 4;
        p.extend(std::iter::repeat_n(0xffu8, pad));
        p.push(pad as u8);
        p.push(0x07);
        let mut code = crypto::hmac(suite, k1, &[&p[4..]]);
        code.truncate(suite.auth_code_len());
        p.extend_from_slice(&code);
    }
    p
}

/// An RMCP+ packet as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2 {
    pub ptype: u8,
    pub encrypted: bool,
    pub authenticated: bool,
    pub sid: [u8; 4],
    pub seq: u32,
    pub payload: Vec<u8>,
}

/// Reads an RMCP+ packet and checks its integrity trailer when `integrity` is given (a packet
/// that claims to be authenticated must then pass; one that does not is refused).
pub fn v2_parse(p: &[u8], integrity: Option<(&Suite, &[u8])>) -> Result<V2, &'static str> {
    if p.len() < 16 || p[..4] != RMCP || p[4] != 0x06 {
        return Err("not an RMCP+ packet");
    }
    let len = u16::from_le_bytes([p[14], p[15]]) as usize;
    let payload = p.get(16..16 + len).ok_or("truncated payload")?.to_vec();
    let v = V2 {
        ptype: p[5] & 0x3f,
        encrypted: p[5] & 0x80 != 0,
        authenticated: p[5] & 0x40 != 0,
        sid: p[6..10].try_into().map_err(|_| "short header")?,
        seq: u32::from_le_bytes(p[10..14].try_into().map_err(|_| "short header")?),
        payload,
    };
    if let Some((suite, k1)) = integrity {
        if !v.authenticated {
            return Err("unauthenticated packet in an authenticated session");
        }
        let n = suite.auth_code_len();
        if p.len() < 16 + len + 2 + n {
            return Err("truncated integrity trailer");
        }
        let code_at = p.len() - n;
        let pad = *p.get(code_at - 2).ok_or("bad trailer")? as usize;
        if p[code_at - 1] != 0x07 || pad > 3 || 16 + len + pad + 2 != code_at {
            return Err("bad integrity trailer");
        }
        let want = crypto::hmac(suite, k1, &[&p[4..code_at]]);
        if !crypto::equal(&want[..n], &p[code_at..]) {
            return Err("integrity check failed");
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_as_ipmitool_sends_it() {
        // reference/ipmi/lanplus.pcap, Get Channel Authentication Capabilities: 20 18 c8 81 00 38 8e 04 b5
        let m = request(0x06, 0x38, 0, &[0x8e, 0x04]);
        assert_eq!(m, vec![0x20, 0x18, 0xc8, 0x81, 0x00, 0x38, 0x8e, 0x04, 0xb5]);
        let p = v15_packet(&m);
        assert_eq!(p.len(), 23);
        assert_eq!(v15_message(&p).unwrap(), &m[..]);
    }

    #[test]
    fn response_checks_checksums() {
        // The captured reply: 81 1c 63 20 00 38 00 01 94 04 03 00 00 00 00 0c
        let m = [0x81, 0x1c, 0x63, 0x20, 0x00, 0x38, 0x00, 0x01, 0x94, 0x04, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0c];
        let r = response(&m).unwrap();
        assert_eq!((r.netfn, r.cmd, r.code, r.data.len()), (0x07, 0x38, 0, 8));
        let mut bad = m;
        bad[9] ^= 1;
        assert_eq!(response(&bad), None);
        assert_eq!(response(&m[..5]), None);
    }

    #[test]
    fn integrity_round_trip_and_hostile_packets() {
        let s = Suite::by_id(3).unwrap();
        let k1 = [3u8; 20];
        let p = v2_packet(0xc0, [1, 2, 3, 4], 5, &[9u8; 32], Some((&s, &k1)));
        assert_eq!((p.len() - 4 - 12) % 4, 0);
        let v = v2_parse(&p, Some((&s, &k1))).unwrap();
        assert_eq!((v.ptype, v.encrypted, v.seq, v.payload.len()), (0, true, 5, 32));
        let mut bad = p.clone();
        bad[20] ^= 1;
        assert_eq!(v2_parse(&bad, Some((&s, &k1))), Err("integrity check failed"));
        for n in 0..p.len() {
            let _ = v2_parse(&p[..n], Some((&s, &k1)));
            let _ = v15_message(&p[..n]);
            let _ = response(&p[..n]);
        }
    }
}

#[cfg(test)]
mod round_trips {
    use super::*;
    use rand::{Rng, RngCore};

    /// Randomized round trips of the codec (a property test without a framework): whatever is
    /// packed is unpacked the same, and every prefix or bit flip of a packet is refused or
    /// read without a panic.
    #[test]
    fn packets_round_trip_and_mutations_do_not_panic() {
        let mut rng = rand::rng();
        for _ in 0..2000 {
            let suite = Suite::by_id(if rng.random_bool(0.5) { 3 } else { 17 }).unwrap();
            let mut k1 = [0u8; 32];
            rng.fill_bytes(&mut k1);
            let mut payload = vec![0u8; rng.random_range(0..200)];
            rng.fill_bytes(&mut payload);
            let sid: [u8; 4] = rng.random();
            let seq: u32 = rng.random();
            let p = v2_packet(0xc0, sid, seq, &payload, Some((&suite, &k1)));
            let v = v2_parse(&p, Some((&suite, &k1))).unwrap();
            assert_eq!((v.sid, v.seq, &v.payload[..]), (sid, seq, &payload[..]));
            let mut m = p.clone();
            let i = rng.random_range(0..m.len());
            m[i] ^= 1 << rng.random_range(0..8);
            let _ = v2_parse(&m, Some((&suite, &k1)));
            let _ = v15_parse(&m[..rng.random_range(0..m.len())]);
            let data_len = rng.random_range(0..40);
            let mut data = vec![0u8; data_len];
            rng.fill_bytes(&mut data);
            let req = request(rng.random_range(0..64), rng.random(), rng.random_range(0..64), &data);
            // A request has a response's shape: both checksums hold.
            assert!(response(&req).is_some() || req.len() < 8);
            let mut k2 = [0u8; 20];
            rng.fill_bytes(&mut k2);
            let iv: [u8; 16] = rng.random();
            assert_eq!(crypto::decrypt(&k2, &crypto::encrypt(&k2, iv, &data)).unwrap(), data);
        }
    }
}
