//! ctys-machines from the command line: an import whose lines make a working database, queries
//! on it with their output modes, and the exit values of what cannot be done.
mod common;

use common::{bin, split, TempDir};

fn machines(home: &TempDir, db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    split(bin("ctys-machines", home.path()).env("CTYS_MACHINES", db).args(args).output().unwrap())
}

#[test]
fn imports_make_a_database_that_lists_and_shows() {
    let home = TempDir::new("machines");
    let conf = home.write("dhcpd.conf", "host lab01 { hardware ethernet 00:1A:2B:3C:4D:5E; fixed-address 10.0.0.11; } host lab02 { hardware ethernet 00:1a:2b:3c:4d:5f; }\n");
    let db = home.path().join("machines");
    let (code, out, err) = machines(&home, &db, &["import", "dhcpd", conf.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "lab01 mac=00:1a:2b:3c:4d:5e ip=10.0.0.11\nlab02 mac=00:1a:2b:3c:4d:5f\n");
    // What import printed is a database the rest of ctys reads: PM's dry run finds the MAC.
    std::fs::write(&db, format!("# hand-written\n{out}lab03 mac=00:1a:2b:3c:4d:60 bmc=10.0.1.13 bmc_user=admin\n")).unwrap();
    let (code, out, err) = split(bin("ctys", home.path()).env("CTYS_MACHINES", &db).args(["-t", "pm", "-a", "create=wol,l:lab02,ping:off,sshping:off,if:lo", "--dry-run"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("00:1a:2b:3c:4d:5f"), "{out}");
    let (code, out, _) = machines(&home, &db, &["list"]);
    assert_eq!((code, out.lines().count()), (0, 3), "{out}");
    let (_, out, _) = machines(&home, &db, &["list", "--where", "bmc_user=admin"]);
    assert_eq!(out, "lab03 mac=00:1a:2b:3c:4d:60 bmc=10.0.1.13 bmc_user=admin\n");
    let (_, out, _) = machines(&home, &db, &["list", "lab[01-02]", "--where=ip=~^10%.0%."]);
    assert_eq!(out, "lab01 mac=00:1a:2b:3c:4d:5e ip=10.0.0.11\n");
    let (_, out, _) = machines(&home, &db, &["list", "-X", "lab01"]);
    assert_eq!(out, "lab01;mac=00:1a:2b:3c:4d:5e;ip=10.0.0.11\n");
    let (_, out, _) = machines(&home, &db, &["show", "--json", "lab03"]);
    assert!(out.contains("\"bmc\":\"10.0.1.13\"") && out.contains("\"name\":\"lab03\""), "{out}");
    let (code, out, _) = machines(&home, &db, &["show", "lab02"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("from {}:3", db.display())), "{out}");
    // What cannot be done: exit values as documented.
    for (args, code, msg) in [
        (vec!["show", "nosuch"], 3, "no machine nosuch"),
        (vec!["import", "dhcpd", "/nonexistent"], 2, "/nonexistent"),
        (vec!["import", "hosts", "x"], 1, "import takes dhcpd or ethers"),
        (vec!["frob"], 1, "unknown command 'frob'"),
        (vec!["list", "--where", "novalue"], 1, "expected KEY=VALUE"),
        (vec!["list", "-X", "--json"], 1, "exclude each other"),
    ] {
        let (c, _, e) = machines(&home, &db, &args);
        assert_eq!(c, code, "{args:?}: {e}");
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    let bad = home.write("bad.conf", "host x {\n  hardware ethernet 00:11;\n}\n");
    let (c, _, e) = machines(&home, &db, &["import", "dhcpd", bad.to_str().unwrap()]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains(&format!("{}:2: bad MAC", bad.display())), "{e}");
}

#[test]
fn neighbours_lists_the_macs_that_answered() {
    use common::netns::{privileged, Pair, MAC_B};
    if !privileged("neighbours_lists_the_macs_that_answered") {
        return;
    }
    let p = Pair::new(Some("10.99.0.2/24"));
    let home = TempDir::new("machines");
    // An echo from b puts its MAC in a's neighbour table (ctys's own ping: no ping binary needed).
    let (code, out, err) = split(common::bin_in(Some(&p.a), "ctys", home.path()).args(["-e", "print(assert(ctys.probe.ping{ host = '10.99.0.2', timeout = 2 }))"]).output().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = split(common::bin_in(Some(&p.a), "ctys-machines", home.path()).args(["neighbours", "va"]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("10.99.0.2 mac={MAC_B} ip=10.99.0.2 iface=va\n"));
    let (_, out, _) = split(common::bin_in(Some(&p.a), "ctys-machines", home.path()).args(["neighbours", "lo"]).output().unwrap());
    assert_eq!(out, "");
    let (code, _, err) = split(common::bin_in(Some(&p.a), "ctys-machines", home.path()).args(["neighbours", "bad/name"]).output().unwrap());
    assert_eq!(code, 1, "{err}");
}
