//! What the BMC's numbers mean: RMCP+ status codes and IPMI completion codes, in words (with
//! the number, so a user can look it up).
use super::Kind;

/// RMCP+ status codes (IPMI 2.0 table 13-15) in words.
pub fn rmcp_status(code: u8) -> String {
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

/// What a completion code means for a command, and its kind: privilege (0xd4 anywhere; 0x80
/// and 0x81 from Set Session Privilege Level), auth (0x86 from Activate Session), else bmc.
pub fn command_failure(netfn: u8, cmd: u8, code: u8) -> (Kind, String) {
    match (netfn, cmd, code) {
        (0x06, 0x3b, 0x80) => (Kind::Privilege, "the requested privilege level is not available for this user (0x80)".into()),
        (0x06, 0x3b, 0x81) => (Kind::Privilege, "the requested privilege level exceeds the user's or the channel's limit (0x81)".into()),
        // What ipmi_sim answers to an Activate Session whose auth code is wrong.
        (0x06, 0x3a, 0x86) => (Kind::Auth, "the requested privilege exceeds the user's limit, or the authentication failed (0x86)".into()),
        (0x06, 0x48, 0x80) => (Kind::Busy, "Serial-over-LAN is active on another session (0x80): take it over with force".into()),
        (0x06, 0x48, 0x81) => (Kind::Refused, "Serial-over-LAN is disabled on this BMC (0x81)".into()),
        (0x06, 0x48, 0x82) => (Kind::Busy, "the BMC's limit of active consoles is reached (0x82)".into()),
        (0x06, 0x48, 0x83 | 0x84) => (Kind::Refused, format!("the BMC wants Serial-over-LAN {} encryption ({code:#04x}): choose another cipher suite", if code == 0x83 { "with" } else { "without" })),
        (_, _, 0xd4) => (Kind::Privilege, completion(code)),
        _ => (Kind::Bmc, completion(code)),
    }
}

/// Whether a command works at user privilege, the level a session starts at (IPMI 2.0
/// appendix G): Get Chassis Status, Get Device ID and the session commands. Get System Boot
/// Options needs an operator.
pub fn user_level(netfn: u8, cmd: u8) -> bool {
    matches!((netfn, cmd), (0x00, 0x01) | (0x06, 0x01) | (0x06, 0x38..=0x3c))
}

/// Whether a command may be sent twice with no harm (a read, or closing the session): such a
/// request is resent sooner (see transport::Pace::stateless).
pub fn idempotent(netfn: u8, cmd: u8) -> bool {
    matches!((netfn, cmd), (0x00, 0x01) | (0x00, 0x09) | (0x06, 0x01) | (0x06, 0x38) | (0x06, 0x3c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_kinds() {
        assert_eq!(completion(0xc1), "invalid command (0xc1)");
        assert_eq!(completion(0x42), "completion code 0x42");
        assert_eq!(rmcp_status(0x0d), "unauthorized name (0x0d)");
        assert_eq!(rmcp_status(0x99), "RMCP+ status 0x99");
        assert_eq!(command_failure(0x06, 0x3b, 0x81).0, Kind::Privilege);
        assert_eq!(command_failure(0x00, 0x02, 0xd4).0, Kind::Privilege);
        assert_eq!(command_failure(0x00, 0x02, 0x80).0, Kind::Bmc);
    }
}
