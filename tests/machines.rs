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
        (vec!["collect"], 1, "collect needs the hosts: -w HOSTS"),
        (vec!["collect", "-w", ""], 1, "-w needs a value, not ''"),
        (vec!["collect", "-w", "a", "extra"], 1, "not 'extra'"),
        (vec!["collect", "-w", "x\u{1}y"], 1, "-w: \"x\\1y\" is not a host name or address"),
        (vec!["neighbours", "--sweep", "10.0.0.0/8"], 1, "at most 4096 addresses"),
        (vec!["neighbours", "--sweep", "300.1.2.0/24"], 1, "--sweep 300.1.2.0/24: expected an IPv4 subnet"),
        (vec!["neighbours", "--sweep", "fe80::/120"], 1, "expected an IPv4 subnet"),
        (vec!["list", "--write"], 1, "--write is not for list"),
        (vec!["show", "x", "--sweep", "10.0.0.0/24"], 1, "--sweep is not for show"),
        (vec!["import", "ethers", "x", "--db", "y"], 1, "--db is for --write and --diff"),
        (vec!["import", "ethers", "x", "--write", "--diff"], 1, "exclude each other"),
        (vec!["import", "ethers", "x", "--db", "a", "--db", "b", "--diff"], 1, "--db given twice"),
    ] {
        let (c, _, e) = machines(&home, &db, &args);
        assert_eq!(c, code, "{args:?}: {e}");
        assert!(e.contains(msg), "{args:?}: {e}");
    }
    // import --write merges into the database: hand-written lines and comments stay, FILE.bak
    // keeps the old file; a .lua database is not merged into (exit 2), nothing written.
    let ethers = home.write("ethers", "00:1A:2B:3C:4D:5E lab01\n00:1a:2b:3c:4d:99 lab09\n");
    let before = std::fs::read_to_string(&db).unwrap();
    let (code, out, err) = machines(&home, &db, &["import", "ethers", ethers.to_str().unwrap(), "--write"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+lab09 mac=00:1a:2b:3c:4d:99") && !out.contains("-lab01"), "lab01 is as found already: {out}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), format!("{before}lab09 mac=00:1a:2b:3c:4d:99\n"));
    assert_eq!(std::fs::read_to_string(format!("{}.bak", db.display())).unwrap(), before);
    let lua_db = home.write("machines.lua", "return {}\n");
    let (code, _, err) = machines(&home, &db, &["import", "ethers", ethers.to_str().unwrap(), "--write", "--db", lua_db.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only a file of database lines can be merged into"), "{err}");
    assert_eq!(std::fs::read_to_string(&lua_db).unwrap(), "return {}\n");
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

/// The lab test, on one lab (two machines: lab01's BMC speaks IPMI, lab02's Redfish):
/// `collect` fills a database that keeps a hand-written comment and field and is then enough to
/// switch lab01 off through its BMC and wake it by WoL; `neighbours --sweep` finds both MACs;
/// ctys-vping and `ctys status` (IPMI and Redfish power) read the lab; `status --watch` in tmux
/// shows lab01 go off and come on again, and q gives the terminal back.
#[test]
fn collect_fills_a_database_that_wakes_and_powers_and_status_watches_it() {
    use common::lab::Lab;
    use common::netns::privileged;
    use common::tmux::Tmux;
    if !privileged("collect_fills_a_database_that_wakes_and_powers_and_status_watches_it") {
        return;
    }
    let lab = Lab::new("mc");
    let (code, out, err) = lab.ctys(&["up", "--redfish", "2", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    for line in ["ctys -t pm -a create=ipmi,t:lab01,ping:50%0.2,sshping:50%0.2", "ctys -t pm -a create=redfish,t:lab02,ping:50%0.2,sshping:50%0.2"] {
        let (code, out, err) = lab.ctys(&["exec", "sh", "-c", line]);
        assert_eq!(code, 0, "{line}: {out}{err}");
    }
    // 1. collect --write into a database that holds only a comment and a hand-written field.
    let db = lab.keep.path().join("collected");
    let hand = "# the lab, by hand\nlab01 rack=r7  # by the door\n";
    std::fs::write(&db, hand).unwrap();
    let with_db = |line: &str| lab.ctys(&["exec", "sh", "-c", &format!("CTYS_MACHINES={} {line}", db.display())]);
    let (code, out, err) = with_db("ctys-machines collect -w 'lab[01-02]' --write");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("@@ line 2\n-lab01 rack=r7  # by the door\n+lab01 rack=r7 mac=02:77:00:00:00:01"), "{out}");
    assert!(err.contains("lab02: unknown: BMC: ipmitool lan print"), "{err}");
    let text = std::fs::read_to_string(&db).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# the lab, by hand");
    for want in ["rack=r7", "mac=02:77:00:00:00:01", "ip=10.77.0.1", "bmc=10.77.0.101", "nic=eth0", "link=up", "arch=", "os=", "# by the door"] {
        assert!(lines[1].starts_with("lab01 ") && lines[1].contains(want), "{want} in {}", lines[1]);
    }
    assert!(lines[2].starts_with("lab02 mac=02:77:00:00:00:02 ip=10.77.0.2 ") && !lines[2].contains("bmc="), "{}", lines[2]);
    assert_eq!(std::fs::read_to_string(lab.keep.path().join("collected.bak")).unwrap(), hand);
    // Again: nothing changes.
    let (code, out, _) = with_db("ctys-machines collect -w 'lab[01-02]' --write");
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(&db).unwrap(), text);

    // 2. After a sweep of the lab's subnet the neighbour table holds both machines.
    let (code, out, err) = lab.ctys(&["exec", "ctys-machines", "neighbours", "--sweep", "10.77.0.0/24", "labbr0"]);
    assert_eq!(code, 0, "{err}");
    for i in 1..=2 {
        assert!(out.contains(&format!("10.77.0.{i} mac=02:77:00:00:00:0{i} ip=10.77.0.{i} iface=labbr0\n")), "{out}");
    }

    // 3. vping: both answer (exit 0); an address where nothing is: exit 3, its reason.
    let (code, out, err) = lab.ctys(&["exec", "ctys-vping", "@lab"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.lines().filter(|l| l.starts_with("lab0") && l.ends_with("ms")).count() == 2, "{out}");
    let (code, out, _) = lab.ctys(&["exec", "ctys-vping", "-X", "-t", "0.5", "lab01", "10.77.0.9"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.lines().any(|l| l.starts_with("lab01;10.77.0.1;") && l.ends_with(';')), "{out}");
    assert!(out.lines().any(|l| l.starts_with("10.77.0.9;10.77.0.9;;;ping: ")), "{out}");

    // 4. status, once: power from both kinds of BMC (the lab's own database names lab02's Redfish BMC).
    let (code, out, err) = lab.ctys(&["exec", "ctys", "status", "--json"]);
    assert_eq!(code, 0, "{err}");
    for name in ["lab01", "lab02"] {
        let l = out.lines().find(|l| l.contains(&format!("\"name\":\"{name}\""))).unwrap_or_else(|| panic!("{name}: {out}"));
        assert!(l.contains("\"power\":\"on\"") && l.contains("\"uptime_s\":") && !l.contains("\"ssh_ms\":null"), "{l}");
    }

    // 5. --watch in a terminal: lab01 off through its BMC, woken by WoL, then powered on by its
    // BMC, each seen on the screen; q ends it with the terminal given back. All with the
    // collected database.
    let env = format!(
        "env CTYS_LAB_NAME={} CTYS_LAB_DIR={} CTYS_MACHINES={} HOME={} {}",
        lab.name,
        lab.dir.display(),
        db.display(),
        lab.home.path().display(),
        env!("CARGO_BIN_EXE_ctys")
    );
    let t = Tmux::start_cmd(&format!("{env} lab exec ctys status --watch 1 lab01 lab02"));
    let row = |s: &str, state: &str| s.lines().any(|l| l.starts_with("lab01 ") && l.split_whitespace().nth(1) == Some(state));
    t.wait("lab01 on", |s| row(s, "on"));
    for (line, state) in [
        ("ctys -t pm -a cancel=IPMI,FORCE,POWEROFF lab01", "off"),
        ("ctys -t pm -a create=wol,t:lab01,ping:50%0.2,sshping:50%0.2", "on"),
        ("ctys -t pm -a cancel=IPMI,FORCE,POWEROFF lab01", "off"),
        ("ctys -t pm -a create=ipmi,t:lab01,ping:50%0.2,sshping:50%0.2", "on"),
    ] {
        let (code, out, err) = with_db(line);
        assert_eq!(code, 0, "{line}: {out}{err}");
        let s = t.wait(&format!("lab01 {state} after {line}"), |s| row(s, state));
        if line.contains("wol") {
            assert!(s.lines().any(|l| l.starts_with("lab01 ") && l.ends_with(" ago")), "the wake-up's time: {s}");
        }
    }
    let s = t.screen();
    assert!(s.lines().next().unwrap_or("").starts_with("ctys status "), "drawn from the top, no scrolling: {s}");
    t.keys(&["q"]);
    let s = t.wait("EXIT=0 on the restored screen", |s| s.contains("EXIT=0"));
    assert!(!s.contains("MACHINE"), "the status view is gone: {s}");
}
