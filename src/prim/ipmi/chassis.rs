//! The chassis and device commands' data: what to send (Chassis Control actions, boot
//! devices) and what the replies mean (Get Chassis Status, Get Device ID, the boot flags
//! parameter). Pure decoding, so any reply, however short or odd, gives an answer or None.

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

/// Get Chassis Status (IPMI 2.0 §28.2), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChassisStatus {
    pub power: bool,
    pub overload: bool,
    pub interlock: bool,
    pub power_fault: bool,
    pub control_fault: bool,
    /// always-off, previous, always-on, unknown
    pub restore_policy: &'static str,
    pub intrusion: bool,
    pub front_panel_lockout: bool,
    pub drive_fault: bool,
    pub cooling_fault: bool,
    /// off, timed, on, unknown
    pub identify: &'static str,
}

impl ChassisStatus {
    /// None for a reply shorter than its three required bytes (the optional fourth, front
    /// panel buttons, is not read).
    pub fn decode(d: &[u8]) -> Option<ChassisStatus> {
        if d.len() < 3 {
            return None;
        }
        let b = |i: usize| d[i];
        Some(ChassisStatus {
            power: b(0) & 1 != 0,
            overload: b(0) & 2 != 0,
            interlock: b(0) & 4 != 0,
            power_fault: b(0) & 8 != 0,
            control_fault: b(0) & 16 != 0,
            restore_policy: ["always-off", "previous", "always-on", "unknown"][usize::from((b(0) >> 5) & 3)],
            intrusion: b(2) & 1 != 0,
            front_panel_lockout: b(2) & 2 != 0,
            drive_fault: b(2) & 4 != 0,
            cooling_fault: b(2) & 8 != 0,
            identify: ["off", "timed", "on", "unknown"][usize::from((b(2) >> 4) & 3)],
        })
    }
}

/// Get Device ID (IPMI 2.0 §20.1), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceId {
    pub device_id: u8,
    pub device_revision: u8,
    /// `major.minor`, minor as two BCD digits (`9.08`).
    pub firmware: String,
    /// `major.minor` (`2.0`).
    pub ipmi_version: String,
    pub manufacturer_id: u32,
    pub product_id: u16,
}

impl DeviceId {
    /// None for a reply shorter than the 11 bytes every BMC sends.
    pub fn decode(d: &[u8]) -> Option<DeviceId> {
        if d.len() < 11 {
            return None;
        }
        Some(DeviceId {
            device_id: d[0],
            device_revision: d[1] & 0x0f,
            firmware: format!("{}.{:02x}", d[2] & 0x7f, d[3]),
            ipmi_version: format!("{}.{}", d[4] & 0x0f, d[4] >> 4),
            manufacturer_id: u32::from(d[6]) | u32::from(d[7]) << 8 | u32::from(d[8] & 0x0f) << 16,
            product_id: u16::from(d[9]) | u16::from(d[10]) << 8,
        })
    }
}

/// The boot flags parameter (5) of Get System Boot Options, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFlags {
    pub valid: bool,
    pub persistent: bool,
    pub efi: bool,
    pub device: &'static str,
}

impl BootFlags {
    /// The reply data: version, parameter, then the five flag bytes; missing bytes read as 0.
    pub fn decode(d: &[u8]) -> BootFlags {
        let f = |i: usize| d.get(i).copied().unwrap_or(0);
        BootFlags { valid: f(2) & 0x80 != 0, persistent: f(2) & 0x40 != 0, efi: f(2) & 0x20 != 0, device: boot_device_name(f(3)) }
    }

    /// The request data of Set System Boot Options for a device (a code of `boot_device`).
    pub fn request(device: u8, persistent: bool, efi: bool) -> [u8; 6] {
        let flags = 0x80 | if persistent { 0x40 } else { 0 } | if efi { 0x20 } else { 0 };
        [5, flags, device, 0, 0, 0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chassis_status_bits() {
        // ipmi_sim's answer while on, with the identify LED timed.
        let s = ChassisStatus::decode(&[0x01, 0x00, 0x10, 0x00]).unwrap();
        assert!(s.power && !s.overload && !s.intrusion);
        assert_eq!((s.restore_policy, s.identify), ("always-off", "timed"));
        let s = ChassisStatus::decode(&[0x7e, 0, 0x3f]).unwrap();
        assert!(!s.power && s.overload && s.interlock && s.power_fault && s.control_fault);
        assert!(s.intrusion && s.front_panel_lockout && s.drive_fault && s.cooling_fault);
        assert_eq!((s.restore_policy, s.identify), ("unknown", "unknown"));
        assert_eq!(ChassisStatus::decode(&[0x01, 0]), None, "a short reply is no answer, never 'off'");
    }

    #[test]
    fn device_id_as_ipmi_sim_answers() {
        // `mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02`
        let d = DeviceId::decode(&[0x00, 0x23, 0x09, 0x08, 0x02, 0x9f, 0x91, 0x12, 0x00, 0x02, 0x0f]).unwrap();
        assert_eq!(d.firmware, "9.08");
        assert_eq!(d.ipmi_version, "2.0");
        assert_eq!((d.manufacturer_id, d.product_id, d.device_revision), (0x1291, 0x0f02, 3));
        assert_eq!(DeviceId::decode(&[0; 10]), None);
    }

    #[test]
    fn boot_flags_both_ways() {
        let r = BootFlags::request(boot_device("pxe").unwrap(), true, false);
        assert_eq!(r, [5, 0xc0, 0x04, 0, 0, 0]);
        let f = BootFlags::decode(&[1, 5, r[1], r[2], 0, 0, 0]);
        assert_eq!(f, BootFlags { valid: true, persistent: true, efi: false, device: "pxe" });
        assert_eq!(BootFlags::decode(&[]).device, "none");
        for dev in ["none", "pxe", "disk", "safe", "diag", "cdrom", "bios", "floppy"] {
            assert_eq!(boot_device_name(boot_device(dev).unwrap()), dev);
        }
        assert_eq!(control_code("cycle"), Some(2));
        assert_eq!(control_code("bogus"), None);
    }
}
