//! Every decoder of bytes that come from the network or a peer process: IPMI (RMCP, IPMI 1.5
//! and 2.0 packets with and without integrity, messages, AES payloads), the vde_switch
//! management protocol, known_hosts key blobs, MAC and password text. None may panic.
#![no_main]

use ctys::prim::ipmi::{crypto, wire};
use ctys::prim::{remote, vde, wol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let suite3 = crypto::Suite::by_id(3).unwrap();
    let suite17 = crypto::Suite::by_id(17).unwrap();
    let key = [7u8; 32];
    let _ = wire::response(data);
    let _ = wire::v15_message(data);
    let _ = wire::v15_parse(data);
    let _ = wire::v2_parse(data, None);
    let _ = wire::v2_parse(data, Some((&suite3, &key[..20])));
    let _ = wire::v2_parse(data, Some((&suite17, &key)));
    let _ = crypto::decrypt(&key[..20], data);
    let _ = remote::known_hosts::key_type(data);
    let text = String::from_utf8_lossy(data);
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let _ = vde::parse_reply(&lines, data.first() == Some(&0));
    let _ = vde::parse_ports(&lines);
    let _ = vde::parse_info(&lines);
    let _ = wol::Mac::parse(&text);
    let _ = wol::Password::parse(&text);
    let _ = remote::config::SshConfig::parse(&text, "fuzz").map(|c| c.lookup("host"));
});
