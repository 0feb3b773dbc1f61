//! ctys-plugins: the resource and permission report, here and on private sshds on 127.0.0.x.
mod common;

use std::os::unix::fs::PermissionsExt;

use common::sshd::{free_port, Sshd};
use common::{bin, split, TempDir};

/// The fields of a `-X` record, split on unescaped `;` and unescaped.
fn terse(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut chars) = (Vec::new(), String::new(), line.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => cur.push('\n'),
                Some(o) => cur.push(o),
                None => panic!("dangling escape in {line:?}"),
            },
            ';' => fields.push(std::mem::take(&mut cur)),
            o => cur.push(o),
        }
    }
    fields.push(cur);
    fields
}

/// A flat JSON object of string values, as ctys.json writes one (keys sorted, no spaces).
fn json_object(line: &str) -> Vec<(String, String)> {
    fn string(it: &mut std::iter::Peekable<std::str::Chars>) -> String {
        assert_eq!(it.next(), Some('"'));
        let mut s = String::new();
        loop {
            match it.next().expect("unterminated string") {
                '"' => return s,
                '\\' => match it.next().unwrap() {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'u' => {
                        let hex: String = it.by_ref().take(4).collect();
                        s.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                    }
                    o => s.push(o),
                },
                c => s.push(c),
            }
        }
    }
    let mut it = line.chars().peekable();
    assert_eq!(it.next(), Some('{'), "{line}");
    let mut out = Vec::new();
    loop {
        let k = string(&mut it);
        assert_eq!(it.next(), Some(':'), "{line}");
        out.push((k, string(&mut it)));
        match it.next() {
            Some(',') => {}
            Some('}') => break,
            other => panic!("{other:?} in {line}"),
        }
    }
    assert_eq!(it.next(), None, "trailing text in {line}");
    out
}

fn credentials(home: &TempDir, mode: u32) {
    let p = home.write(".ctys/ipmi/credentials", "10.0.0.5 admin secret\n");
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn run(home: &TempDir, args: &[&str]) -> (i32, String, String) {
    split(bin("ctys-plugins", home.path()).args(args).output().unwrap())
}

#[test]
fn the_local_report_judges_the_ipmi_credentials_by_their_mode() {
    let home = TempDir::new("plugins");
    credentials(&home, 0o644);
    let (code, out, err) = run(&home, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("CHECK "), "a table without a host column: {out}");
    let row = out.lines().find(|l| l.starts_with("ipmi credentials")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("denied") && row.contains("readable by group or others"), "{row}");
    for check in ["tool vde_switch", "command poweroff", "CAP_NET_ADMIN", "/dev/net/tun", "icmp echo", "ssh agent", "machines"] {
        assert!(out.lines().any(|l| l.starts_with(check)), "no {check} row: {out}");
    }
    credentials(&home, 0o600);
    let (code, out, _) = run(&home, &[]);
    assert_eq!(code, 0);
    let row = out.lines().find(|l| l.starts_with("ipmi credentials")).unwrap();
    assert!(row.contains(" ok ") && row.contains("mode 600"), "{row}");
}

#[test]
fn terse_and_json_lines_parse() {
    let home = TempDir::new("plugins");
    home.write("machines", "lab01 mac=00:11:22:33:44:55\nlab02 ip=10.0.0.2\n");
    let db = home.path().join("machines");
    let (code, out, err) = split(bin("ctys-plugins", home.path()).env("CTYS_MACHINES", &db).arg("-X").output().unwrap());
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<String>> = out.lines().map(terse).collect();
    assert!(rows.len() > 10, "{out}");
    for r in &rows {
        assert_eq!(r.len(), 4, "{r:?}");
        assert!(["ok", "missing", "denied", "n-a"].contains(&r[2].as_str()), "{r:?}");
    }
    let m = rows.iter().find(|r| r[1] == "machines").unwrap();
    assert_eq!((m[2].as_str(), m[3].clone()), ("ok", format!("2 machines from {}", db.display())));
    let (code, out, _) = run(&home, &["-j"]);
    assert_eq!(code, 0);
    for line in out.lines() {
        let keys: Vec<String> = json_object(line).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["check", "detail", "host", "status"], "{line}");
    }
    assert_eq!(out.lines().count(), rows.len());
}

#[test]
fn bad_options_are_named() {
    let home = TempDir::new("plugins");
    let (code, out, err) = run(&home, &["-Q"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("ctys-plugins: unknown option '-Q'"), "{err}");
    let (code, _, err) = run(&home, &["-X", "-j"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn remote_hosts_report_in_order_and_an_unreachable_one_fails_with_its_error() {
    let sshd = Sshd::start(110, 2);
    let remote_home = TempDir::new("plugins-remote");
    credentials(&remote_home, 0o600);
    let remote = format!("env HOME={} CTYS_NO_DNS=1 {}", remote_home.path().display(), env!("CARGO_BIN_EXE_ctys"));
    let dead = format!("127.0.0.1:{}", free_port());
    let hosts = [sshd.target(0), dead.clone(), sshd.target(1)];
    let (code, out, err) =
        split(bin("ctys-plugins", sshd.home.path()).env("CTYS_REMOTE_CMD", &remote).arg("-X").args(&hosts).output().unwrap());
    assert_eq!(code, 3, "{out}{err}\nsshd: {}", sshd.log());
    assert!(err.contains(&format!("ctys-plugins: {dead}: connect {dead}")), "{err}");
    let rows: Vec<Vec<String>> = out.lines().map(terse).collect();
    // Host order: every row of the first host, the failure, then the second host.
    let mut order: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    order.dedup();
    assert_eq!(order, hosts.iter().map(String::as_str).collect::<Vec<_>>(), "{out}");
    let failed = rows.iter().find(|r| r[0] == dead).unwrap();
    assert_eq!(&failed[1..3], ["host", "failed"]);
    assert!(failed[3].contains("Connection refused"), "{failed:?}");
    for h in [&hosts[0], &hosts[2]] {
        let cred = rows.iter().find(|r| &r[0] == h && r[1] == "ipmi credentials").unwrap_or_else(|| panic!("{out}"));
        assert_eq!(cred[2], "ok", "the remote side read its own HOME: {cred:?}");
        assert!(cred[3].starts_with(&remote_home.path().display().to_string()), "{cred:?}");
    }
    // The table has a host column.
    let (code, out, _) = split(bin("ctys-plugins", sshd.home.path()).env("CTYS_REMOTE_CMD", &remote).arg(&hosts[0]).output().unwrap());
    assert_eq!(code, 0);
    assert!(out.starts_with("HOST ") && out.lines().skip(1).all(|l| l.starts_with(&hosts[0])), "{out}");
}
