//! Sensors (IPMI 2.0 §33, §35, §43): the BMC's Sensor Data Record repository walked (Reserve SDR
//! Repository, then Get SDR from the first record to the last; records the BMC cannot send
//! whole are read 16 bytes at a time), full and compact sensor records decoded, and each
//! sensor's reading converted with its record's formula (y = (M x + B 10^Bexp) 10^Rexp, then
//! the linearization), with units and thresholds. Replies are hostile input.
use super::session::Session;
use super::{fail, IpmiError, Kind};

/// How a full record turns a raw reading into a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// 0 unsigned, 1 one's complement, 2 two's complement, 3 no analog reading.
    pub format: u8,
    pub linearization: u8,
    pub m: i16,
    pub b: i16,
    pub b_exp: i8,
    pub r_exp: i8,
}

fn signed(v: u16, bits: u32) -> i16 {
    let shift = 16 - bits;
    ((v << shift) as i16) >> shift
}

impl Conversion {
    /// The value of a raw reading, or None (no analog reading, or outside the function's domain).
    pub fn value(&self, raw: u8) -> Option<f64> {
        let x = match self.format {
            0 => f64::from(raw),
            1 => f64::from(if raw & 0x80 != 0 { -i16::from(!raw & 0x7f) } else { i16::from(raw) }),
            2 => f64::from(raw as i8),
            _ => return None,
        };
        let y = (f64::from(self.m) * x + f64::from(self.b) * 10f64.powi(i32::from(self.b_exp))) * 10f64.powi(i32::from(self.r_exp));
        let v = match self.linearization & 0x7f {
            0 => y,
            1 => y.ln(),
            2 => y.log10(),
            3 => y.log2(),
            4 => y.exp(),
            5 => 10f64.powf(y),
            6 => 2f64.powf(y),
            7 => 1.0 / y,
            8 => y * y,
            9 => y * y * y,
            10 => y.sqrt(),
            11 => y.cbrt(),
            _ => return None,
        };
        v.is_finite().then_some(v)
    }
}

/// One sensor as its record describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensor {
    pub record_id: u16,
    pub owner: u8,
    pub lun: u8,
    pub number: u8,
    pub name: String,
    pub sensor_type: u8,
    pub event_type: u8,
    /// Base unit code (table 43-15) and whether the value is a percentage.
    pub unit: u8,
    pub percentage: bool,
    /// Full records only.
    pub conversion: Option<Conversion>,
}

/// A record's sensor (full or compact), or None for other record types and short records.
pub fn decode_record(r: &[u8]) -> Option<Sensor> {
    let (name_at, conversion) = match *r.get(3)? {
        0x01 => {
            let c = r.get(20..30)?;
            let conv = Conversion {
                format: c[0] >> 6,
                linearization: c[3],
                m: signed(u16::from(c[4]) | (u16::from(c[5] >> 6) << 8), 10),
                b: signed(u16::from(c[6]) | (u16::from(c[7] >> 6) << 8), 10),
                r_exp: signed(u16::from(c[9] >> 4), 4) as i8,
                b_exp: signed(u16::from(c[9] & 0x0f), 4) as i8,
            };
            (47, Some(conv))
        }
        0x02 => (31, None),
        _ => return None,
    };
    let code = *r.get(name_at)?;
    // Type/length: 8-bit ASCII (0xC0) and others alike, at most 16 bytes, what is there.
    let len = usize::from(code & 0x1f).min(16);
    let raw = r.get(name_at + 1..).unwrap_or(&[]);
    let name: String = String::from_utf8_lossy(&raw[..len.min(raw.len())]).chars().filter(|c| !c.is_control()).collect();
    Some(Sensor {
        record_id: u16::from_le_bytes([r[0], r[1]]),
        owner: *r.get(5)?,
        lun: *r.get(6)? & 0x03,
        number: *r.get(7)?,
        name: name.trim_end().to_string(),
        sensor_type: *r.get(12)?,
        event_type: *r.get(13)?,
        unit: *r.get(21)?,
        percentage: *r.get(20)? & 0x01 != 0,
        conversion,
    })
}

/// Base units (table 43-15) as ipmitool writes them.
pub fn unit_name(code: u8) -> String {
    const UNITS: [&str; 25] = [
        "unspecified", "degrees C", "degrees F", "degrees K", "Volts", "Amps", "Watts", "Joules", "Coulombs", "VA", "Nits",
        "lumen", "lux", "Candela", "kPa", "PSI", "Newton", "CFM", "RPM", "Hz", "microsecond", "millisecond", "second",
        "minute", "hour",
    ];
    UNITS.get(code as usize).map_or_else(|| format!("unit {code}"), |u| u.to_string())
}

/// A sensor's reading now.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub raw: u8,
    pub value: Option<f64>,
    /// The BMC says there is no reading (scanning off, or unavailable).
    pub unavailable: bool,
    /// Threshold sensors: which thresholds the reading is at or past (bit 0 lower
    /// non-critical ... bit 5 upper non-recoverable).
    pub status: u8,
}

/// Get Sensor Reading's response.
pub fn decode_reading(d: &[u8], conv: Option<&Conversion>) -> Option<Reading> {
    let raw = *d.first()?;
    let flags = *d.get(1)?;
    let unavailable = flags & 0x20 != 0 || flags & 0x40 == 0;
    Some(Reading { raw, value: if unavailable { None } else { conv.and_then(|c| c.value(raw)) }, unavailable, status: d.get(2).copied().unwrap_or(0) & 0x3f })
}

/// Threshold names, in the order of Get Sensor Thresholds' response and the status bits.
pub const THRESHOLDS: [&str; 6] = ["lnc", "lc", "lnr", "unc", "uc", "unr"];

/// Get Sensor Thresholds' response: the readable ones, converted.
pub fn decode_thresholds(d: &[u8], conv: &Conversion) -> Vec<(&'static str, f64)> {
    let Some(&mask) = d.first() else { return Vec::new() };
    THRESHOLDS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).filter_map(|(i, n)| Some((*n, conv.value(*d.get(i + 1)?)?))).collect()
}

/// The status a person reads: ok, or the worst threshold crossed.
pub fn status_name(r: &Reading) -> &'static str {
    match r.status {
        _ if r.unavailable => "na",
        s if s & 0x24 != 0 => "nr",
        s if s & 0x12 != 0 => "cr",
        s if s & 0x09 != 0 => "nc",
        _ => "ok",
    }
}

impl Session {
    /// One record, whole, or 16 bytes at a time when the BMC cannot send it whole (0xca).
    async fn sdr_record(&mut self, resv: [u8; 2], id: u16) -> Result<(u16, Vec<u8>), IpmiError> {
        let [lo, hi] = id.to_le_bytes();
        let (code, d) = self.cmd_code(0x0a, 0x23, &[resv[0], resv[1], lo, hi, 0, 0xff]).await?;
        let label = self.label.clone();
        let short = || fail(Kind::Protocol, &label, "short Get SDR response");
        if code == 0 {
            let next = u16::from_le_bytes([*d.first().ok_or_else(short)?, *d.get(1).ok_or_else(short)?]);
            return Ok((next, d[2..].to_vec()));
        }
        if code != 0xca && code != 0xff {
            let (kind, why) = super::codes::command_failure(0x0a, 0x23, code);
            return Err(fail(kind, &self.label, why));
        }
        let mut next = 0xffff;
        let mut rec: Vec<u8> = Vec::new();
        let mut want = 5;
        while rec.len() < want {
            let n = (want - rec.len()).min(16) as u8;
            let d = self.cmd(0x0a, 0x23, &[resv[0], resv[1], lo, hi, rec.len() as u8, n]).await?;
            next = u16::from_le_bytes([*d.first().ok_or_else(short)?, *d.get(1).ok_or_else(short)?]);
            let part = d.get(2..).ok_or_else(short)?;
            if part.is_empty() {
                return Err(short());
            }
            rec.extend_from_slice(part);
            if rec.len() >= 5 {
                want = 5 + usize::from(rec[4]);
            }
        }
        Ok((next, rec))
    }

    /// Every sensor record of the repository, in its order.
    pub async fn sdr_sensors(&mut self) -> Result<Vec<Sensor>, IpmiError> {
        let info = self.cmd(0x0a, 0x20, &[]).await?;
        let count = u16::from_le_bytes([*info.get(1).unwrap_or(&0), *info.get(2).unwrap_or(&0)]);
        let resv = self.cmd(0x0a, 0x22, &[]).await?;
        let resv = [*resv.first().unwrap_or(&0), *resv.get(1).unwrap_or(&0)];
        let mut out = Vec::new();
        let mut id = 0u16;
        for _ in 0..=usize::from(count) + 16 {
            if count == 0 {
                break;
            }
            let (next, rec) = self.sdr_record(resv, id).await?;
            out.extend(decode_record(&rec));
            if next == 0xffff {
                return Ok(out);
            }
            id = next;
        }
        if count == 0 {
            return Ok(out);
        }
        Err(fail(Kind::Protocol, &self.label, "the SDR repository's chain of records does not end"))
    }

    /// A sensor's reading and (threshold sensors with a full record) its thresholds. Sensors of
    /// other controllers than the BMC are not read (no bridging): None.
    pub async fn sensor_reading(&mut self, s: &Sensor) -> Result<Option<(Reading, Vec<(&'static str, f64)>)>, IpmiError> {
        if s.owner != 0x20 || s.lun != 0 {
            return Ok(None);
        }
        let d = self.cmd(0x04, 0x2d, &[s.number]).await?;
        let r = decode_reading(&d, s.conversion.as_ref()).ok_or_else(|| fail(Kind::Protocol, &self.label, "short Get Sensor Reading response"))?;
        let thresholds = match (&s.conversion, s.event_type) {
            (Some(c), 0x01) => match self.cmd_code(0x04, 0x27, &[s.number]).await? {
                (0, d) => decode_thresholds(&d, c),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(Some((r, thresholds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full record: temperature sensor 1 of the BMC, M 1, B 0, degrees C, "CPU Temp".
    pub fn full_record() -> Vec<u8> {
        let mut r = vec![0x01, 0x00, 0x51, 0x01, 0];
        r.extend_from_slice(&[0x20, 0x00, 0x01, 0x03, 0x01, 0x7f, 0x68, 0x01, 0x01]);
        r.extend_from_slice(&[0x80, 0x0a, 0x80, 0x0a, 0x3f, 0x3f]);
        r.extend_from_slice(&[0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
        r.extend_from_slice(&[0x00, 0x19, 0x50, 0x05, 0xff, 0x00, 0x64, 0x5a, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        r.push(0xc8);
        r.extend_from_slice(b"CPU Temp");
        r[4] = (r.len() - 5) as u8;
        r
    }

    #[test]
    fn records_readings_and_thresholds_decode() {
        let s = decode_record(&full_record()).unwrap();
        assert_eq!((s.number, s.name.as_str(), s.unit, s.event_type), (1, "CPU Temp", 1, 1));
        let c = s.conversion.unwrap();
        assert_eq!((c.m, c.b, c.value(42)), (1, 0, Some(42.0)));
        let r = decode_reading(&[0x2a, 0x40, 0x00], Some(&c)).unwrap();
        assert_eq!((r.value, status_name(&r)), (Some(42.0), "ok"));
        let hot = decode_reading(&[0x5b, 0x40, 0x18], Some(&c)).unwrap();
        assert_eq!(status_name(&hot), "cr");
        assert_eq!(decode_thresholds(&[0x38, 0, 0, 0, 80, 90, 100], &c), vec![("unc", 80.0), ("uc", 90.0), ("unr", 100.0)]);
        assert!(decode_reading(&[0x2a, 0x00], Some(&c)).unwrap().unavailable, "scanning off");
        let neg = Conversion { format: 2, linearization: 0, m: 5, b: -3, b_exp: 1, r_exp: -1 };
        assert_eq!(neg.value(0xfe), Some(-4.0));
        assert_eq!(signed(0x3ff, 10), -1);
        for cut in 0..full_record().len() {
            let _ = decode_record(&full_record()[..cut]);
        }
        assert_eq!(decode_record(&[0, 0, 0x51, 0x12, 0]), None);
    }
}
