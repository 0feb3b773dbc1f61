//! The BMC's System Event Log (IPMI 2.0 §31, §32): its info, every entry (Reserve SEL, then Get
//! SEL Entry from the first record to the last, each next id given by the one before), and
//! Clear SEL. Entries decode to what a person reads: when, which sensor (type and number),
//! what happened (threshold events by name, other event types by their offset) and whether it
//! was asserted. Replies are hostile input: every length is checked.
use super::session::Session;
use super::{fail, IpmiError, Kind};

/// What Get SEL Info says.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub version: u8,
    pub entries: u16,
    pub free_bytes: u16,
    /// Seconds since 1970 of the last addition and the last erase (0xffffffff: never).
    pub last_add: u32,
    pub last_erase: u32,
}

pub fn decode_info(d: &[u8]) -> Option<Info> {
    let d = d.get(..13)?;
    Some(Info {
        version: d[0],
        entries: u16::from_le_bytes([d[1], d[2]]),
        free_bytes: u16::from_le_bytes([d[3], d[4]]),
        last_add: u32::from_le_bytes([d[5], d[6], d[7], d[8]]),
        last_erase: u32::from_le_bytes([d[9], d[10], d[11], d[12]]),
    })
}

/// One SEL record.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: u16,
    pub record_type: u8,
    /// Seconds since 1970 (system event records; OEM timestamped ones too).
    pub timestamp: Option<u32>,
    pub generator: u16,
    pub sensor_type: u8,
    pub sensor_number: u8,
    /// Event/reading type code (0x01 threshold, 0x02-0x0c generic, 0x6f sensor-specific).
    pub event_type: u8,
    pub asserted: bool,
    pub data: [u8; 3],
}

/// A Get SEL Entry response: the next record's id and the record.
pub fn decode_entry(d: &[u8]) -> Option<(u16, Entry)> {
    let next = u16::from_le_bytes([*d.first()?, *d.get(1)?]);
    let r = d.get(2..18)?;
    let record_type = r[2];
    let system = record_type == 0x02;
    Some((
        next,
        Entry {
            id: u16::from_le_bytes([r[0], r[1]]),
            record_type,
            timestamp: (record_type < 0xe0).then(|| u32::from_le_bytes([r[3], r[4], r[5], r[6]])),
            generator: if system { u16::from_le_bytes([r[7], r[8]]) } else { 0 },
            sensor_type: if system { r[10] } else { 0 },
            sensor_number: if system { r[11] } else { 0 },
            event_type: if system { r[12] & 0x7f } else { 0 },
            asserted: system && r[12] & 0x80 == 0,
            data: [r[13], r[14], r[15]],
        },
    ))
}

/// Sensor types by code (IPMI 2.0 table 42-3), as ipmitool names them.
pub fn sensor_type_name(code: u8) -> String {
    const NAMES: [&str; 0x2d] = [
        "Reserved", "Temperature", "Voltage", "Current", "Fan", "Physical Security", "Platform Security", "Processor",
        "Power Supply", "Power Unit", "Cooling Device", "Other", "Memory", "Drive Slot / Bay", "POST Memory Resize",
        "System Firmwares", "Event Logging Disabled", "Watchdog1", "System Event", "Critical Interrupt", "Button",
        "Module / Board", "Microcontroller", "Add-in Card", "Chassis", "Chip Set", "Other FRU", "Cable / Interconnect",
        "Terminator", "System Boot Initiated", "Boot Error", "OS Boot", "OS Critical Stop", "Slot / Connector",
        "System ACPI Power State", "Watchdog2", "Platform Alert", "Entity Presence", "Monitor ASIC", "LAN",
        "Management Subsys Health", "Battery", "Session Audit", "Version Change", "FRU State",
    ];
    NAMES.get(code as usize).map_or_else(|| format!("Sensor type {code:#04x}"), |n| n.to_string())
}

/// What happened: threshold events by name (table 42-2), others by their offset.
pub fn event_description(e: &Entry) -> String {
    const THRESHOLD: [&str; 12] = [
        "Lower Non-critical going low", "Lower Non-critical going high", "Lower Critical going low", "Lower Critical going high",
        "Lower Non-recoverable going low", "Lower Non-recoverable going high", "Upper Non-critical going low",
        "Upper Non-critical going high", "Upper Critical going low", "Upper Critical going high",
        "Upper Non-recoverable going low", "Upper Non-recoverable going high",
    ];
    if e.record_type != 0x02 {
        return format!("OEM record type {:#04x}", e.record_type);
    }
    let offset = e.data[0] & 0x0f;
    match e.event_type {
        0x01 => THRESHOLD.get(offset as usize).map_or_else(|| format!("threshold offset {offset}"), |s| s.to_string()),
        t => format!("event type {t:#04x} offset {offset}"),
    }
}

impl Session {
    pub async fn sel_info(&mut self) -> Result<Info, IpmiError> {
        let d = self.cmd(0x0a, 0x40, &[]).await?;
        decode_info(&d).ok_or_else(|| fail(Kind::Protocol, &self.label, "short Get SEL Info response"))
    }

    /// Every entry, oldest first. A log that changes meanwhile (the reservation is lost) is
    /// read again from the start, up to three times.
    pub async fn sel_list(&mut self) -> Result<Vec<Entry>, IpmiError> {
        let info = self.sel_info().await?;
        let mut tries = 0;
        'again: loop {
            let resv = self.cmd(0x0a, 0x42, &[]).await?;
            let resv = [*resv.first().unwrap_or(&0), *resv.get(1).unwrap_or(&0)];
            let mut out = Vec::new();
            let mut id = 0u16;
            // The log holds at most `entries` records; a BMC whose chain never ends is stopped.
            for _ in 0..=usize::from(info.entries) + 16 {
                let [lo, hi] = id.to_le_bytes();
                let d = match self.cmd_code(0x0a, 0x43, &[resv[0], resv[1], lo, hi, 0, 0xff]).await? {
                    (0, d) => d,
                    // The reservation was lost: the log changed meanwhile.
                    (0xc5, _) if tries < 3 => {
                        tries += 1;
                        continue 'again;
                    }
                    // An empty log answers "requested sensor, data or record not present".
                    (0xcb, _) if out.is_empty() => return Ok(out),
                    (code, _) => {
                        let (kind, why) = super::codes::command_failure(0x0a, 0x43, code);
                        return Err(fail(kind, &self.label, why));
                    }
                };
                let (next, e) = decode_entry(&d).ok_or_else(|| fail(Kind::Protocol, &self.label, "short Get SEL Entry response"))?;
                out.push(e);
                if next == 0xffff {
                    return Ok(out);
                }
                id = next;
            }
            return Err(fail(Kind::Protocol, &self.label, "the SEL's chain of records does not end"));
        }
    }

    /// Clears the log and waits (up to ~5 s) until the BMC says the erase completed.
    pub async fn sel_clear(&mut self) -> Result<(), IpmiError> {
        let resv = self.cmd(0x0a, 0x42, &[]).await?;
        let resv = [*resv.first().unwrap_or(&0), *resv.get(1).unwrap_or(&0)];
        self.cmd(0x0a, 0x47, &[resv[0], resv[1], b'C', b'L', b'R', 0xaa]).await?;
        for _ in 0..50 {
            let d = self.cmd(0x0a, 0x47, &[resv[0], resv[1], b'C', b'L', b'R', 0x00]).await?;
            if d.first().is_some_and(|s| s & 0x0f == 1) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(fail(Kind::Timeout, &self.label, "the SEL erase did not complete within 5 s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_info_decode_and_short_replies_do_not() {
        let d = [0x02, 0x00, 0x01, 0x00, 0x02, 0x10, 0x20, 0x30, 0x40, 0x20, 0x00, 0x04, 0x01, 0x07, 0x01, 0x09, 0x50, 0x60];
        let (next, e) = decode_entry(&d).unwrap();
        assert_eq!((next, e.id, e.timestamp, e.sensor_type, e.sensor_number, e.event_type, e.asserted), (2, 1, Some(0x40302010), 1, 7, 1, true));
        assert_eq!((sensor_type_name(e.sensor_type), event_description(&e)), ("Temperature".to_string(), "Upper Critical going high".to_string()));
        assert_eq!(decode_entry(&d[..17]), None);
        assert!(decode_info(&[0x51, 3, 0, 0, 8, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0x0a]).is_some_and(|i| i.entries == 3 && i.last_erase == u32::MAX));
        assert_eq!(decode_info(&[0x51; 12]), None);
        assert_eq!(sensor_type_name(0xc0), "Sensor type 0xc0");
    }
}
