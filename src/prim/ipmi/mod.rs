//! IPMI over LAN (RMCP+, IPMI 2.0): sessions with RAKP and cipher suites 3 (HMAC-SHA1,
//! HMAC-SHA1-96, AES-CBC-128) and 17 (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128); suites 0-2
//! only when asked for by number. Without a suite, 17 is tried, then 3, and the choice is
//! remembered per BMC for the run. Every exchange has a timeout and retries that resend the
//! very same bytes (a retransmitted Chassis Control keeps its sequence number, so a lost reply
//! cannot power-cycle twice); a session is closed on every path, Drop included.
pub mod chassis;
pub mod codes;
pub mod crypto;
pub mod rakp;
pub mod sdr;
pub mod sel;
mod session;
pub mod sol;
pub mod transport;
pub mod v15;
pub mod wire;

use std::time::Duration;

use zeroize::Zeroizing;

pub use chassis::{boot_device, boot_device_name, control_code};

/// How much more patient an exchange is once the BMC has answered in this session: a dead BMC
/// still costs only `tries` timeouts, while a lossy path to a live one gets more resends (a
/// lost datagram is then far likelier than a dead BMC).
pub const ALIVE_FACTOR: u32 = 2;
pub use session::Session;
pub use transport::presence_ping;

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
    /// Per try; with the default 1 s and 4 tries a dead BMC is reported after ~4 s.
    pub timeout: Duration,
    /// Tries of the first exchange; those after the BMC answered get ALIVE_FACTOR times more.
    pub tries: u32,
    /// How failures name the BMC, before `: what happened` (`ipmi HOST:PORT`); empty: not at all
    /// (a caller that prints the name itself).
    pub label: String,
}

/// Why an IPMI operation failed: the one failure type, with kinds timeout, auth, kg,
/// privilege, refused, protocol, bmc, network, secret.
pub use super::failure::{Failure as IpmiError, Kind};

/// A failure about the BMC `label` names (`ipmi HOST:PORT: what happened`; just what happened
/// when the label is empty).
fn fail(kind: Kind, label: &str, msg: impl std::fmt::Display) -> IpmiError {
    IpmiError::new(kind, if label.is_empty() { msg.to_string() } else { format!("{label}: {msg}") })
}

/// The user name and the password fit what the protocol carries (16 bytes of user name; a
/// password of 20 bytes for RMCP+, 16 for IPMI 1.5): checked before anything is sent, since a
/// longer one cut short would log in as someone else or fail in a way that names nothing.
fn check_lengths(cfg: &Config, label: &str, password_max: usize) -> Result<(), IpmiError> {
    if cfg.user.len() > 16 {
        return Err(fail(Kind::Auth, label, "the user name is longer than 16 bytes"));
    }
    if cfg.password.len() > password_max {
        return Err(fail(Kind::Secret, label, format!("the password is longer than {password_max} bytes, the most this protocol carries")));
    }
    Ok(())
}

