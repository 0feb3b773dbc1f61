//! RMCP+ cryptography (IPMI 2.0 §13.28-13.31): the RAKP exchange's check values, the session
//! integrity key (SIK), K1/K2, the integrity trailer, and AES-CBC-128 confidentiality. All
//! primitives come from the RustCrypto crates; keys live in zeroizing memory.
use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The algorithms of a cipher suite (only those ctys speaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u8,
    /// Authentication: 0 none, 1 RAKP-HMAC-SHA1, 3 RAKP-HMAC-SHA256.
    pub auth: u8,
    /// Integrity: 0 none, 1 HMAC-SHA1-96, 4 HMAC-SHA256-128.
    pub integrity: u8,
    /// Confidentiality: 0 none, 1 AES-CBC-128.
    pub confidentiality: u8,
}

impl Suite {
    /// Suites 0-3 and 17; 0-2 are weak and only used when asked for by number.
    pub fn by_id(id: u8) -> Option<Suite> {
        let (auth, integrity, confidentiality) = match id {
            0 => (0, 0, 0),
            1 => (1, 0, 0),
            2 => (1, 1, 0),
            3 => (1, 1, 1),
            17 => (3, 4, 1),
            _ => return None,
        };
        Some(Suite { id, auth, integrity, confidentiality })
    }

    fn sha256(&self) -> bool {
        self.auth == 3
    }

    /// Length of the RAKP 4 integrity check value.
    pub fn rakp4_len(&self) -> usize {
        match self.auth {
            0 => 0,
            3 => 16,
            _ => 12,
        }
    }

    /// Length of the integrity trailer's auth code.
    pub fn auth_code_len(&self) -> usize {
        match self.integrity {
            1 => 12,
            4 => 16,
            _ => 0,
        }
    }
}

/// The suite IDs in Get Channel Cipher Suites records (`0xC0 id ...` standard, `0xC1 id OEM...`).
pub fn suites_listed(records: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < records.len() {
        match records[i] {
            0xc0 => {
                out.push(records[i + 1]);
                i += 2;
            }
            0xc1 => {
                out.push(records[i + 1]);
                i += 5;
            }
            _ => i += 1,
        }
    }
    out
}

/// HMAC with the suite's hash (SHA-1 or SHA-256) over the concatenated parts.
pub fn hmac(suite: &Suite, key: &[u8], parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    if suite.sha256() {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        parts.iter().for_each(|p| m.update(p));
        Zeroizing::new(m.finalize().into_bytes().to_vec())
    } else {
        let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        parts.iter().for_each(|p| m.update(p));
        Zeroizing::new(m.finalize().into_bytes().to_vec())
    }
}

/// Compares without leaking where the first difference is.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The password as RAKP keys it: zero-padded to 20 bytes.
pub fn kuid(password: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut k = Zeroizing::new(vec![0u8; 20.max(password.len())]);
    k[..password.len()].copy_from_slice(password);
    k.truncate(20);
    k
}

/// Everything both sides know once RAKP 2 has arrived.
pub struct Exchange<'a> {
    pub suite: Suite,
    pub console_sid: [u8; 4],
    pub bmc_sid: [u8; 4],
    pub console_rand: [u8; 16],
    pub bmc_rand: [u8; 16],
    pub guid: [u8; 16],
    /// The whole role byte of RAKP 1 (privilege, plus 0x10 for name-only lookup).
    pub role: u8,
    pub user: &'a [u8],
}

impl Exchange<'_> {
    fn name_part(&self) -> [u8; 2] {
        [self.role, self.user.len() as u8]
    }

    /// What RAKP 2's key exchange auth code must be.
    pub fn rakp2(&self, kuid: &[u8]) -> Zeroizing<Vec<u8>> {
        hmac(&self.suite, kuid, &[&self.console_sid, &self.bmc_sid, &self.console_rand, &self.bmc_rand, &self.guid, &self.name_part(), self.user])
    }

    /// RAKP 3's auth code.
    pub fn rakp3(&self, kuid: &[u8]) -> Zeroizing<Vec<u8>> {
        hmac(&self.suite, kuid, &[&self.bmc_rand, &self.console_sid, &self.name_part(), self.user])
    }

    /// The session integrity key, keyed by K_g when the BMC has one, else by the password.
    pub fn sik(&self, kg_or_kuid: &[u8]) -> Zeroizing<Vec<u8>> {
        hmac(&self.suite, kg_or_kuid, &[&self.console_rand, &self.bmc_rand, &self.name_part(), self.user])
    }

    /// What RAKP 4's integrity check value must be.
    pub fn rakp4(&self, sik: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut v = hmac(&self.suite, sik, &[&self.console_rand, &self.bmc_sid, &self.guid]);
        v.truncate(self.suite.rakp4_len());
        v
    }
}

/// K1 (integrity) and K2 (confidentiality; AES uses its first 16 bytes).
pub fn session_keys(suite: &Suite, sik: &[u8]) -> (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>) {
    (hmac(suite, sik, &[&[1u8; 20]]), hmac(suite, sik, &[&[2u8; 20]]))
}

/// The 16-byte IPMI 1.5 auth code: the password itself (straight), or MD5 over password,
/// session ID, message, sequence number, password.
pub fn v15_code(authtype: u8, password16: &[u8; 16], sid: [u8; 4], msg: &[u8], seq: u32) -> [u8; 16] {
    use md5::{Digest, Md5};
    match authtype {
        2 => {
            let mut h = Md5::new();
            h.update(password16);
            h.update(sid);
            h.update(msg);
            h.update(seq.to_le_bytes());
            h.update(password16);
            h.finalize().into()
        }
        _ => *password16,
    }
}

type Enc = cbc::Encryptor<aes::Aes128>;
type Dec = cbc::Decryptor<aes::Aes128>;

/// IV, then AES-CBC-128 of data + pad 1..N + N (a multiple of 16).
pub fn encrypt(k2: &[u8], iv: [u8; 16], data: &[u8]) -> Vec<u8> {
    let pad = (16 - (data.len() + 1) % 16) % 16;
    let mut buf = Vec::with_capacity(16 + data.len() + pad + 1);
    buf.extend_from_slice(data);
    buf.extend((1..=pad as u8).collect::<Vec<_>>());
    buf.push(pad as u8);
    let n = buf.len();
    let ct = Enc::new(k2[..16].into(), &iv.into()).encrypt_padded_mut::<NoPadding>(&mut buf, n).expect("a whole number of blocks").to_vec();
    let mut out = iv.to_vec();
    out.extend_from_slice(&ct);
    out
}

/// The inverse of `encrypt`; None when the length or the pad pattern is wrong.
pub fn decrypt(k2: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() < 32 || !payload.len().is_multiple_of(16) {
        return None;
    }
    let iv: [u8; 16] = payload[..16].try_into().ok()?;
    let mut buf = payload[16..].to_vec();
    let pt = Dec::new(k2[..16].into(), &iv.into()).decrypt_padded_mut::<NoPadding>(&mut buf).ok()?;
    let pad = *pt.last()? as usize;
    if pad >= 16 || pad + 1 > pt.len() {
        return None;
    }
    let body = pt.len() - 1 - pad;
    if pt[body..pt.len() - 1].iter().enumerate().any(|(i, b)| *b as usize != i + 1) {
        return None;
    }
    Some(pt[..body].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// One RAKP exchange: the user key, both session ids, both randoms and the BMC GUID.
    type Captured = (Vec<u8>, [u8; 4], [u8; 4], [u8; 16], [u8; 16], [u8; 16]);

    /// reference/ipmi/lanplus.pcap: ipmitool -C 3 against ipmi_sim, user admin, password "password".
    fn captured() -> Captured {
        (
            kuid(b"password").to_vec(),
            hex("a4a3a2a0").try_into().unwrap(),
            hex("046a0000").try_into().unwrap(),
            hex("a5a70333d400db624bae792e9038011a").try_into().unwrap(),
            hex("6416a8ba139b79893da2d04aca54a31a").try_into().unwrap(),
            hex("a123456789abcdefa123456789abcdef").try_into().unwrap(),
        )
    }

    #[test]
    fn rakp_values_match_the_capture() {
        let (k, csid, bsid, crand, brand, guid) = captured();
        let x = Exchange { suite: Suite::by_id(3).unwrap(), console_sid: csid, bmc_sid: bsid, console_rand: crand, bmc_rand: brand, guid, role: 0x14, user: b"admin" };
        assert_eq!(*x.rakp2(&k), hex("1b2a458ad9b728a10abc263b94e0efcc9b86da69"));
        assert_eq!(*x.rakp3(&k), hex("8f73300c4a8a47829c225bf277b64c0271d15b97"));
        let sik = x.sik(&k);
        assert_eq!(*x.rakp4(&sik), hex("1d43f57c29322e43d6477b56"));
        // The first encrypted request decrypts to an IPMI message with valid checksums.
        let (_, k2) = session_keys(&x.suite, &sik);
        let payload = hex("18ce8b411c14628e9de829ebc6d22fea86729fc6bc7cfc94e54cd4a88596ddd8");
        let msg = decrypt(&k2, &payload).expect("decrypts");
        assert_eq!(msg[0], 0x20, "to the BMC at 0x20");
        assert_eq!(msg[0].wrapping_add(msg[1]).wrapping_add(msg[2]), 0, "header checksum");
        assert_eq!(msg[3..].iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0, "body checksum");
    }

    #[test]
    fn aes_round_trip_and_bad_padding() {
        let k2 = [7u8; 20];
        for n in [0, 1, 15, 16, 17, 40] {
            let data: Vec<u8> = (0..n as u8).collect();
            let ct = encrypt(&k2, [9; 16], &data);
            assert_eq!(ct.len() % 16, 0);
            assert_eq!(decrypt(&k2, &ct).unwrap(), data);
        }
        let mut ct = encrypt(&k2, [9; 16], b"hello");
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert_eq!(decrypt(&k2, &ct), None, "a garbled pad is refused");
        assert_eq!(decrypt(&k2, &[0u8; 20]), None);
    }

    #[test]
    fn suite_records() {
        // Suites 3 and 17 with their algorithm bytes, then an OEM record.
        let r = [0xc0, 3, 0x01, 0x41, 0x81, 0xc0, 17, 0x03, 0x44, 0x81, 0xc1, 0x80, 1, 2, 3, 0x01];
        assert_eq!(suites_listed(&r), vec![3, 17, 0x80]);
        assert_eq!(suites_listed(&[0xc0]), Vec::<u8>::new());
    }

    #[test]
    fn kuid_is_twenty_bytes() {
        assert_eq!(kuid(b"pw").len(), 20);
        assert_eq!(&kuid(b"pw")[..3], b"pw\0");
        assert_eq!(kuid(&[1u8; 30]).len(), 20);
    }
}
