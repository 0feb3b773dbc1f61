//! Arming a NIC for Wake-on-LAN (ctys.net.wol_get / wol_arm, the SIOCETHTOOL WOL ioctls) inside
//! network namespaces the test creates: a veth and lo have no Wake-on-LAN in their drivers, so
//! every call there must fail cleanly with the right message and kind. No packet is sent.
mod common;

use std::collections::HashMap;

use common::netns::{privileged, Pair};
use common::{bin_in, split, TempDir};

/// Each case prints `tag|first result|message|kind`; a raising call prints `tag|raised|message|nil`
/// (the message's first line: errors raised in Rust carry a traceback).
const CHUNK: &str = r#"
local core = require "ctys.core"
local function show(tag, ok, ...)
  local r = table.pack(...)
  if not ok then r = { "raised", tostring(r[1]):match("^[^\n]*") } end
  local first = r[1]
  if type(first) == "table" then first = "table" end
  io.write(tag, "|", tostring(first), "|", tostring(r[2]), "|", tostring(r[3]), "\n")
end
show("get_veth", pcall(ctys.net.wol_get, "vb"))
show("arm_veth", pcall(ctys.net.wol_arm, "vb"))
show("arm_veth_d", pcall(ctys.net.wol_arm, "vb", "d"))
show("get_lo", pcall(ctys.net.wol_get, "lo"))
show("get_slash", pcall(ctys.net.wol_get, "a/b"))
show("arm_long", pcall(ctys.net.wol_arm, "abcdefghijklmnopqrst"))
show("core_slash", pcall(core.ethtool_wol_get, "a/b"))
show("core_long", pcall(core.ethtool_wol_set, "abcdefghijklmnopqrst", "g"))
show("get_missing", pcall(ctys.net.wol_get, "nosuch0"))
show("arm_missing", pcall(ctys.net.wol_arm, "nosuch0"))
show("arm_badmode", pcall(ctys.net.wol_arm, "vb", "x"))
show("core_badmode", pcall(core.ethtool_wol_set, "vb", "gd"))
show("core_nil", pcall(core.ethtool_wol_get, nil))
show("core_table", pcall(core.ethtool_wol_set, "vb", {}))
"#;

#[test]
fn wol_arm_on_nics_without_wake_on_lan() {
    if !privileged("wol_arm_on_nics_without_wake_on_lan") {
        return;
    }
    let pair = Pair::new(None);
    let home = TempDir::new("wolarm");
    let (code, out, err) = split(bin_in(Some(&pair.b), "ctys", home.path()).args(["-e", CHUNK]).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let got: HashMap<&str, Vec<&str>> = out.lines().filter_map(|l| l.split_once('|')).map(|(t, rest)| (t, rest.splitn(3, '|').collect())).collect();
    let case = |tag: &str| -> (&str, &str, &str) {
        let v = got.get(tag).unwrap_or_else(|| panic!("{tag}: no output in\n{out}{err}"));
        (v[0], v[1], v[2])
    };

    for tag in ["get_veth", "arm_veth", "arm_veth_d"] {
        let (first, msg, kind) = case(tag);
        assert_eq!(first, "nil", "{tag}: {msg}");
        assert_eq!(msg, "vb: the driver does not support Wake-on-LAN (ethtool GWOL ioctl: Operation not supported)", "{tag}");
        assert_eq!(kind, "unsupported", "{tag}: {msg}");
    }
    let (first, msg, kind) = case("get_lo");
    assert_eq!((first, kind), ("nil", "unsupported"), "get_lo: {msg}");

    // The wrappers raise on a bad name (misuse); the core returns nil, message, "other".
    for (tag, name) in [("get_slash", "a/b"), ("arm_long", "abcdefghijklmnopqrst")] {
        let (first, msg, _) = case(tag);
        assert_eq!(first, "raised", "{tag}: {msg}");
        assert!(msg.contains(&format!("\"{name}\"")) && msg.contains("ctys.net.wol_"), "{tag}: {msg}");
    }
    for (tag, name) in [("core_slash", "a/b"), ("core_long", "abcdefghijklmnopqrst")] {
        let (first, msg, kind) = case(tag);
        assert_eq!((first, kind), ("nil", "other"), "{tag}: {msg}");
        assert!(msg.contains(&format!("\"{name}\"")), "{tag}: {msg}");
    }

    for tag in ["get_missing", "arm_missing"] {
        let (first, msg, kind) = case(tag);
        assert_eq!((first, msg, kind), ("nil", "nosuch0: no such interface", "nodevice"), "{tag}");
    }

    for (tag, needle) in [("arm_badmode", "'modes'"), ("core_badmode", "\"gd\""), ("core_nil", ""), ("core_table", "")] {
        let (first, msg, _) = case(tag);
        assert_eq!(first, "raised", "{tag}: {msg}");
        assert!(msg.contains(needle), "{tag}: {msg}");
    }
}
