//! The BMC's event log and sensors against OpenIPMI's ipmi_sim, read back independently with
//! ipmitool (`sel list`, `sel info`, `sdr`, `sensor`): entries, a temperature sensor's reading,
//! unit, status and thresholds, clearing the log; many BMCs at once from ctys-ipmi.
mod common;

use std::process::Command;

use common::bmc::{Bmc, PASSWORD};
use common::{bin, split, TempDir};

/// A full sensor record (IPMI 2.0 §43.1): the BMC's sensor 1, a temperature (threshold
/// based), M 1, B 0, degrees C, named "CPU Temp".
fn full_record() -> Vec<u8> {
    let mut r = vec![0x00, 0x00, 0x51, 0x01, 0];
    r.extend_from_slice(&[0x20, 0x00, 0x01, 0x03, 0x01, 0x7f, 0x68, 0x01, 0x01]);
    r.extend_from_slice(&[0x80, 0x0a, 0x80, 0x0a, 0x38, 0x38]);
    r.extend_from_slice(&[0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
    r.extend_from_slice(&[0x00, 0x19, 0x50, 0x05, 0xff, 0x00, 0x64, 0x5a, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    r.push(0xc8);
    r.extend_from_slice(b"CPU Temp");
    r[4] = (r.len() - 5) as u8;
    r
}

fn emu() -> String {
    let sdr: Vec<String> = full_record().iter().map(|b| format!("{b:#04x}")).collect();
    // Two system events: sensor 1 upper critical going high (asserted), then its deassertion.
    format!(
        "sensor_add 0x20 0 1 0x01 0x01\n\
         sensor_set_threshold 0x20 0 1 settable 111000 100 90 80 0 0 0\n\
         sensor_set_event_support 0x20 0 1 enable scanning per-state 000000000000000 000000000000000 000000000000000 000000000000000\n\
         sensor_set_value 0x20 0 1 42 0\n\
         main_sdr_add 0x20 {}\n\
         sel_add 0x20 2 0x00 0x5e 0x2d 0x69 0x20 0x00 0x04 0x01 0x01 0x01 0x09 0x5b 0x5a\n\
         sel_add 0x20 2 0x3c 0x5e 0x2d 0x69 0x20 0x00 0x04 0x01 0x01 0x81 0x09 0x50 0x5a\n",
        sdr.join(" ")
    )
}

fn ipmitool(b: &Bmc, args: &[&str]) -> String {
    let o = Command::new("ipmitool")
        .args(["-I", "lanplus", "-C", "3", "-H", &b.addr, "-p", &b.port.to_string(), "-U", "admin", "-E"])
        .args(args)
        .env("IPMI_PASSWORD", PASSWORD)
        .output()
        .expect("ipmitool");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn sel_and_sensors_read_as_ipmitool_reads_them() {
    let b = Bmc::start_emu("127.0.0.1", &emu());
    let home = TempDir::new("selhome");
    let open = format!("local b = assert(ctys.ipmi.open{{ host = '127.0.0.1', port = {}, user = 'admin', cipher = 3 }})", b.port);
    let (code, out, err) = split(bin("ctys", home.path()).env("IPMI_PASSWORD", PASSWORD).args(["-e", &format!(
        "{open}
         local i = assert(b:sel_info()) print('info', i.entries, i.version)
         for _, e in ipairs(assert(b:sel_list())) do print('sel', e.id, e.time and os.date('!%m/%d/%Y %H:%M:%S', e.time) or string.format('Pre-Init %010d', e.since_init), e.sensor_type, e.sensor_number, e.event, e.asserted and 'Asserted' or 'Deasserted') end
         for _, s in ipairs(assert(b:sensors())) do print('sensor', s.name, s.value, s.unit, s.status, s.thresholds.unc, s.thresholds.uc, s.thresholds.unr) end
         b:close()"
    )]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "info\t2\t1.5", "{out}");
    // ipmitool sel list: "   1 | 12/02/2026 | 10:00:00 | Temperature #0x01 | Upper Critical going high | Asserted"
    let theirs = ipmitool(&b, &["sel", "list"]);
    let mut listed = theirs.lines().map(|l| l.split('|').map(str::trim).collect::<Vec<_>>());
    for ours in &lines[1..3] {
        let f: Vec<&str> = ours.split('\t').collect();
        let t = listed.next().unwrap_or_else(|| panic!("ipmitool listed less: {theirs}"));
        assert_eq!(u16::from_str_radix(t[0], 16).unwrap().to_string(), f[1], "{theirs}");
        assert_eq!(format!("{} {}", t[1], t[2].trim_start_matches('|')), f[2], "{theirs}");
        assert_eq!(t[3], format!("{} #0x{:02x}", f[3], f[4].parse::<u8>().unwrap()), "{theirs}");
        assert_eq!((t[4], t[5]), (f[5], f[6]), "{theirs}");
    }
    // ipmitool sdr: "CPU Temp         | 42 degrees C      | ok"
    let sdr = ipmitool(&b, &["sdr"]);
    let row: Vec<&str> = sdr.lines().find(|l| l.starts_with("CPU Temp")).unwrap_or_else(|| panic!("{sdr}")).split('|').map(str::trim).collect();
    assert_eq!(row[1], "42 degrees C");
    assert_eq!(lines[3], format!("sensor\tCPU Temp\t42.0\tdegrees C\t{}\t80.0\t90.0\t100.0", row[2]), "{out}");
    // ipmitool sensor: thresholds in columns (na for those not readable).
    let sensor = ipmitool(&b, &["sensor"]);
    let row: Vec<&str> = sensor.lines().find(|l| l.starts_with("CPU Temp")).unwrap().split('|').map(str::trim).collect();
    assert_eq!((row[7], row[8], row[9]), ("80.000", "90.000", "100.000"), "{sensor}");

    // ctys-ipmi on two BMCs at once, then the log cleared (ipmitool sees it empty).
    let b2 = Bmc::start_emu("127.0.0.2", &emu());
    let run = |args: &[&str]| split(bin("ctys-ipmi", home.path()).env("IPMI_PASSWORD", PASSWORD).args(args).output().unwrap());
    let (h1, h2) = (format!("127.0.0.1:{}", b.port), format!("127.0.0.2:{}", b2.port));
    let (code, out, err) = run(&["-C", "3", &h1, &h2, "sensors"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().filter(|l| l.ends_with(": CPU Temp | 42 degrees C | ok")).count(), 2, "{out}");
    let (code, out, _) = run(&["-C", "3", "-j", &h1, "sel", "list"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("\"event\":\"Upper Critical going high\""), "{out}");
    let (code, out, err) = run(&["-C", "3", &h1, "sel", "clear"]);
    assert_eq!((code, out.trim()), (0, format!("{h1}: ok").as_str()), "{err}");
    assert!(ipmitool(&b, &["sel", "info"]).contains("Entries          : 0"), "{}", ipmitool(&b, &["sel", "info"]));
    let (code, out, _) = run(&["-C", "3", &h1, "sel", "info"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("{h1}: 0 entries")), "{out}");
}
