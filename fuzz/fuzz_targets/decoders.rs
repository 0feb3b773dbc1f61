//! Every decoder of bytes that come from the network, a peer process or a file others may
//! write: IPMI (RMCP, IPMI 1.5 and 2.0 packets with and without integrity, messages, AES
//! payloads, the session setup's Open Session/RAKP 2/RAKP 4 replies, cipher suite records,
//! presence pongs, the 1.5 reply check and its Get Session Challenge/Activate Session data,
//! chassis and device replies), the vde_switch management reader and its replies, known_hosts
//! text and key blobs, ssh_config, remote stderr and line assembly, ICMP echo replies, MACs and
//! passwords, durations. None may panic.
#![no_main]

use ctys::prim::ipmi::{self, chassis, crypto, rakp, transport, v15, wire};
use ctys::prim::{duration, probe, remote, vde, wol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let suite3 = crypto::Suite::by_id(3).unwrap();
    let suite17 = crypto::Suite::by_id(17).unwrap();
    let key = [7u8; 32];
    let first = data.first().copied().unwrap_or(0);
    // IPMI
    let _ = wire::response(data);
    let _ = wire::v15_message(data);
    if let Some(v) = wire::v15_parse(data) {
        let _ = v15::reply_authentic(&v, wire::AUTH_MD5, &[1u8; 16], [1, 2, 3, 4]);
        let _ = v15::reply_authentic(&v, wire::AUTH_STRAIGHT, &[1u8; 16], v.sid);
    }
    let _ = wire::v2_parse(data, None);
    let _ = wire::v2_parse(data, Some((&suite3, &key[..20])));
    let _ = wire::v2_parse(data, Some((&suite17, &key)));
    let _ = crypto::decrypt(&key[..20], data);
    let _ = crypto::suites_listed(data);
    let _ = rakp::setup_reply(data, wire::PT_RAKP2, first & 0x3f, [1, 2, 3, 4]);
    let _ = rakp::parse_open(data);
    for s in [&suite3, &suite17] {
        let _ = rakp::parse_rakp2(data, s);
        let _ = rakp::parse_rakp4(data, s);
    }
    let _ = transport::pong(data, first);
    let _ = v15::parse_challenge(data);
    let _ = v15::parse_activate(data);
    let _ = chassis::ChassisStatus::decode(data);
    let _ = chassis::DeviceId::decode(data);
    let _ = chassis::BootFlags::decode(data);
    // The vde_switch management reader, fed in two chunks, then its replies.
    let mut reader = vde::ReplyReader::default();
    let cut = usize::from(first) % (data.len() + 1);
    if let Ok((used, _)) = reader.feed(&data[..cut]) {
        let _ = reader.feed(&data[used.min(cut)..]);
    }
    let _ = reader.eof();
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let _ = vde::parse_reply(&lines, first == 0);
    let _ = vde::parse_ports(&lines);
    let _ = vde::parse_info(&lines);
    // known_hosts and ssh_config as files hold them.
    let _ = remote::known_hosts::key_type(data);
    let _ = remote::known_hosts::parse(data);
    let _ = remote::known_hosts::hashed_match(&text, "lab01");
    let _ = remote::known_hosts::verdict(&[("f".into(), data.to_vec())], "lab01", 2222, &data[..data.len().min(40)]);
    let _ = remote::config::SshConfig::parse_bytes(data, "fuzz").map(|c| c.lookup("host"));
    // Remote stderr: the pid line, then lines.
    let mut pid = remote::PidLine::default();
    let mut lines = remote::fanout::Lines::default();
    for chunk in data.chunks(usize::from(first % 7) + 1) {
        let rest = pid.feed(chunk);
        lines.push(&rest, |_| {});
    }
    lines.push(&pid.finish(), |_| {});
    lines.finish(|_| {});
    // Serial-over-LAN: a BMC's SOL payload and Activate Payload response; typed escapes.
    let _ = ipmi::sol::parse(data);
    let _ = ipmi::sol::activation(data);
    let _ = ipmi::sol::Escapes::default().feed(b'~', data);
    // The event log and the sensor records, readings and thresholds.
    let _ = ipmi::sel::decode_info(data);
    let _ = ipmi::sel::decode_entry(data).map(|(_, e)| ipmi::sel::event_description(&e));
    if let Some(s) = ipmi::sdr::decode_record(data) {
        let _ = ipmi::sdr::decode_reading(&data[data.len().min(2)..], s.conversion.as_ref());
        let _ = s.conversion.map(|c| ipmi::sdr::decode_thresholds(data, &c));
    }
    // A gateway's stream: frames in any cut, each body through the decoder of its kind.
    let mut frames = remote::gateway::Frames::default();
    for chunk in data.chunks(usize::from(first % 5) + 1) {
        frames.push(chunk);
        while let Ok(Some((kind, body))) = frames.next() {
            let _ = remote::gateway::check_hello(&body);
            let _ = remote::gateway::split_host(&body).map(|(_, rest)| remote::gateway::decode_end(rest));
            let _ = (kind, remote::gateway::decode_job(&body));
        }
    }
    let _ = remote::gateway::decode_job(data);
    // ICMP echo replies, as every kind of socket hands them over.
    for (raw, v6) in [(false, false), (true, false), (false, true)] {
        let _ = probe::echo_reply(data, raw, v6, 0x1234, 7);
    }
    let _ = wol::Mac::parse(&text);
    let _ = wol::Password::parse(&text);
    let _ = duration::parse(&text);
});
