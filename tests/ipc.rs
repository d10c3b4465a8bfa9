//! Local IPC in the lab: pipes, FIFOs, socketpairs and unix sockets move data (bytes in = bytes
//! out), show in the descriptor table with their kind and peer, and the kinds match what `lsof`
//! (and `lsfd`, when util-linux has it) says of the same process.
//!
//! The tests of this file share one lock: each compares the whole descriptor table of this process
//! with lsof's, so no other lab may open or close descriptors meanwhile.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use common::{lab_running, run};
use sockscope::lab::HeadlessLab;
use sockscope::model::{FdEntry, Snapshot};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fd_named<'a>(snapshot: &'a Snapshot, name: &str) -> &'a FdEntry {
    snapshot
        .fds
        .iter()
        .find(|fd| fd.name.as_deref() == Some(name) && fd.purpose.is_none())
        .unwrap_or_else(|| panic!("{name} in the descriptor table: {:#?}", snapshot.fds))
}

/// The last traced call of `name` and its result.
fn last_call(lab: &mut HeadlessLab, name: &str) -> (String, String) {
    let snapshot = lab.snapshot();
    let entry = snapshot
        .trace
        .iter()
        .rev()
        .find(|entry| entry.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("a call of {name} in {:#?}", snapshot.trace));
    (entry.call.clone(), entry.result.clone())
}

/// Sends `text` from `from` and reads it at `to`: the read returns exactly the bytes sent.
fn moves(lab: &mut HeadlessLab, from: &str, to: &str, text: &str) {
    run(lab, &format!("send {from} \"{text}\"; recv {to}"));
    let (call, result) = last_call(lab, to);
    assert_eq!(result, text.len().to_string(), "{call}");
    assert!(
        call.contains(&format!("\"{text}\"")),
        "{to} read the bytes {from} sent: {call}"
    );
}

#[test]
fn pipe_fifo_socketpair_and_unix_sockets_move_bytes_unchanged() {
    let _guard = lock();
    let mut lab = lab_running(
        "pipe r w; fifo fr fw; socketpair a b; socketpair da db dgram; \
         unix-server us srv.sock; unix-client uc us; accept us as ua; \
         unix-server abs @sockscope-test-ipc-stream; unix-client ac @sockscope-test-ipc-stream; \
         accept abs as aa; unix-dgram d1 d1.sock; unix-dgram d2; connect d2 d1",
    );
    moves(&mut lab, "w", "r", "through a pipe");
    moves(&mut lab, "fw", "fr", "through a FIFO");
    moves(&mut lab, "a", "b", "a to b");
    moves(&mut lab, "b", "a", "and back");
    moves(&mut lab, "da", "db", "one datagram");
    moves(&mut lab, "uc", "ua", "over a path");
    moves(&mut lab, "ua", "uc", "answered");
    moves(&mut lab, "ac", "aa", "over an abstract name");
    moves(&mut lab, "d2", "d1", "a unix datagram");
    run(&mut lab, "sendto d2 d1 \"by name\"; recv d1");
    assert_eq!(last_call(&mut lab, "d1").1, "7");

    let snapshot = lab.snapshot();
    let fd = |name: &str| fd_named(&snapshot, name);
    // The ends of a pipe and of a socketpair name each other; unix sockets name their address.
    assert_eq!(fd("r").peer, Some(format!("fd {}", fd("w").fd)));
    assert_eq!(fd("w").peer, Some(format!("fd {}", fd("r").fd)));
    assert_eq!(fd("fr").peer, Some(format!("fd {}", fd("fw").fd)));
    assert_eq!(fd("a").peer, Some(format!("fd {}", fd("b").fd)));
    assert_eq!(fd("ac").peer.as_deref(), Some("@sockscope-test-ipc-stream"));
    assert_eq!(
        fd("abs").address.as_deref(),
        Some("@sockscope-test-ipc-stream")
    );
    let path = fd("us").address.clone().expect("a bound path");
    assert!(path.ends_with("/srv.sock"), "{path}");
    assert_eq!(fd("uc").peer.as_deref(), Some(path.as_str()));
    assert_eq!(
        fd("w").fd,
        fd("r").fd + 1,
        "pipe() takes two numbers in a row"
    );
    let kinds: Vec<(&str, &str)> = ["r", "w", "fr", "fw", "a", "da", "us", "ua", "d1", "d2"]
        .iter()
        .map(|name| (*name, fd(name).label.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("r", "pipe"),
            ("w", "pipe"),
            ("fr", "FIFO"),
            ("fw", "FIFO"),
            ("a", "unix stream"),
            ("da", "unix dgram"),
            ("us", "unix stream"),
            ("ua", "unix stream"),
            ("d1", "unix dgram"),
            ("d2", "unix dgram"),
        ]
    );
    // The kernel agrees: ss lists the bound path and the abstract name as unix sockets.
    let ss = Command::new("ss")
        .args(["-xlpn"])
        .output()
        .expect("ss runs");
    let listed = String::from_utf8_lossy(&ss.stdout);
    assert!(listed.contains(&path), "ss -xl shows {path}:\n{listed}");
    assert!(
        listed.contains("@sockscope-test-ipc-stream"),
        "ss -xl shows the abstract name:\n{listed}"
    );
}

#[test]
fn recv_on_a_write_end_is_a_refusal_and_files_go_at_exit() {
    let _guard = lock();
    let mut lab = lab_running("pipe r w; fifo fr fw; unix-server us s.sock");
    let before = lab.snapshot().trace.len();
    run(&mut lab, "recv w; recv fw; send r x; send us x");
    let snapshot = lab.snapshot();
    assert_eq!(snapshot.trace.len(), before, "a refusal makes no syscall");
    let refused: Vec<&str> = snapshot.errors.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(
        refused,
        ["recv w 4096", "recv fw 4096", "send r x", "send us x"]
    );
    assert!(
        snapshot.errors[0].message.contains("write end of a pipe"),
        "{}",
        snapshot.errors[0].message
    );
    // The lab's private directory: mode 0700, holding the FIFO and the socket file; gone when
    // the lab ends.
    let fifo = fd_named(&snapshot, "fr").target.clone();
    let dir = std::path::Path::new(&fifo)
        .parent()
        .expect("a directory")
        .to_owned();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&dir)
            .expect("the directory")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
    assert!(dir.join("s.sock").exists());
    drop(lab);
    assert!(!dir.exists(), "{} is removed at exit", dir.display());
}

/// What lsof says of each descriptor of `pid`, turned into sockscope's kind labels.
fn lsof_kinds(pid: u32) -> BTreeMap<i32, String> {
    let output = Command::new("lsof")
        .args(["-n", "-P", "-F", "ftPn", "-p", &pid.to_string()])
        .output()
        .expect("lsof runs (.ci/run installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut kinds = BTreeMap::new();
    let mut current: Option<(i32, String, String)> = None;
    let mut flush = |entry: Option<(i32, String, String)>, name: &str| {
        if let Some((fd, kind, protocol)) = entry {
            kinds.insert(fd, lsof_label(&kind, &protocol, name));
        }
    };
    let mut name = String::new();
    for line in text.lines() {
        let (tag, value) = line.split_at(1);
        match tag {
            "f" => {
                flush(current.take(), &name);
                name.clear();
                current = value
                    .parse()
                    .ok()
                    .map(|fd| (fd, String::new(), String::new()));
            }
            "t" => {
                if let Some(entry) = current.as_mut() {
                    value.clone_into(&mut entry.1);
                }
            }
            "P" => {
                if let Some(entry) = current.as_mut() {
                    value.clone_into(&mut entry.2);
                }
            }
            "n" => value.clone_into(&mut name),
            _ => {}
        }
    }
    flush(current.take(), &name);
    kinds
}

/// lsof's TYPE (and NODE/protocol, NAME) in the words of sockscope's kind column.
fn lsof_label(kind: &str, protocol: &str, name: &str) -> String {
    // An unbound inet socket is missing from /proc/net/*: lsof then says `sock` and
    // `protocol: TCP` (or `UDPv6`).
    let sock_protocol = name.strip_prefix("protocol: ").unwrap_or_default();
    match kind {
        "IPv4" => format!("IPv4/{protocol}"),
        "IPv6" => format!("IPv6/{protocol}"),
        "sock" => match sock_protocol {
            "TCP" | "UDP" => format!("IPv4/{sock_protocol}"),
            "TCPv6" => "IPv6/TCP".to_owned(),
            "UDPv6" => "IPv6/UDP".to_owned(),
            "NETLINK" => "netlink".to_owned(),
            "PACKET" => "packet".to_owned(),
            other => format!("sock {other}"),
        },
        "netlink" => "netlink".to_owned(),
        "pack" => "packet".to_owned(),
        "unix" if name.contains("type=STREAM") => "unix stream".to_owned(),
        "unix" if name.contains("type=DGRAM") => "unix dgram".to_owned(),
        "unix" if name.contains("type=SEQPACKET") => "unix seqpacket".to_owned(),
        "FIFO" if name == "pipe" => "pipe".to_owned(),
        "FIFO" => "FIFO".to_owned(),
        "a_inode" if name.starts_with("[eventpoll") => "eventpoll".to_owned(),
        "a_inode" if name.starts_with("[eventfd") => "eventfd".to_owned(),
        "CHR" if name.starts_with("/dev/pts") || name.starts_with("/dev/tty") => "tty".to_owned(),
        "CHR" => "char device".to_owned(),
        "REG" => "file".to_owned(),
        other => format!("{other} {name}"),
    }
}

/// What lsfd says: its TYPE column, in sockscope's words.
fn lsfd_kinds(pid: u32) -> Option<BTreeMap<i32, String>> {
    let output = Command::new("lsfd")
        .args(["-p", &pid.to_string(), "-n", "-r", "-o", "ASSOC,TYPE,NAME"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Some(
        text.lines()
            .filter_map(|line| {
                let mut fields = line.splitn(3, ' ');
                let fd: i32 = fields.next()?.parse().ok()?;
                let kind = fields.next()?;
                let name = fields.next().unwrap_or_default();
                // An unbound inet socket is missing from /proc/net/*: lsfd then says `SOCK` and
                // names the protocol (`TCP:[inode]`).
                let (kind, name) = match (kind, name.split_once(":[")) {
                    ("SOCK", Some((protocol, _))) => (protocol, ""),
                    _ => (kind, name),
                };
                let label = match kind {
                    "TCP" => "IPv4/TCP".to_owned(),
                    "TCPv6" => "IPv6/TCP".to_owned(),
                    "UDP" => "IPv4/UDP".to_owned(),
                    "UDPv6" => "IPv6/UDP".to_owned(),
                    "UNIX-STREAM" => "unix stream".to_owned(),
                    "UNIX" if name.contains("type=stream") => "unix stream".to_owned(),
                    "UNIX" if name.contains("type=dgram") => "unix dgram".to_owned(),
                    "UNIX" if name.contains("type=seqpacket") => "unix seqpacket".to_owned(),
                    "NETLINK" => "netlink".to_owned(),
                    "PACKET" => "packet".to_owned(),
                    "FIFO" if name.starts_with("pipe:") => "pipe".to_owned(),
                    "FIFO" => "FIFO".to_owned(),
                    "UNKN" | "eventpoll" if name.contains("eventpoll") => "eventpoll".to_owned(),
                    "UNKN" | "eventfd" if name.contains("eventfd") => "eventfd".to_owned(),
                    "CHR" if name.contains("/dev/pts") || name.contains("/dev/tty") => {
                        "tty".to_owned()
                    }
                    "CHR" => "char device".to_owned(),
                    "REG" => "file".to_owned(),
                    // A unix socket lsfd found no `type=` for (a bare `UNIX`): nothing to compare.
                    "UNIX" => return None,
                    other => format!("{other} {name}"),
                };
                Some((fd, label))
            })
            .collect(),
    )
}

#[test]
fn every_kind_in_the_table_is_the_kind_lsof_and_lsfd_report() {
    let _guard = lock();
    let mut lab = lab_running(
        "socket t tcp; socket u udp; socket t6 tcp v6; socket u6 udp v6; server srv; client c srv; \
         pipe r w; fifo fr fw; socketpair a b; socketpair da db dgram; \
         unix-server us k.sock; unix-client uc us; unix-dgram d @sockscope-test-ipc-lsof",
    );
    let snapshot = lab.snapshot();
    let ours: BTreeMap<i32, String> = snapshot
        .fds
        .iter()
        .map(|fd| (fd.fd, fd.label.clone()))
        .collect();
    let lsof = lsof_kinds(std::process::id());
    let mut compared = 0;
    for (fd, label) in &ours {
        // A descriptor another thread opened after the snapshot is not in it, and one closed
        // since is not in lsof's list: only numbers both know are compared.
        if let Some(theirs) = lsof.get(fd) {
            assert_eq!(
                label, theirs,
                "fd {fd}: sockscope says {label}, lsof {theirs}"
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 20,
        "lsof saw the lab's descriptors: {compared} of {ours:?} vs {lsof:?}"
    );
    if let Some(lsfd) = lsfd_kinds(std::process::id()) {
        for (fd, label) in &ours {
            if let Some(theirs) = lsfd.get(fd) {
                assert_eq!(
                    label, theirs,
                    "fd {fd}: sockscope says {label}, lsfd {theirs}"
                );
            }
        }
    }
}

#[test]
fn bad_ipc_commands_are_positioned_and_nothing_runs() {
    use sockscope::command::{ParseErrorKind, parse_script};
    let cases: &[(&str, usize, ParseErrorKind)] = &[
        ("pipe r r", 8, ParseErrorKind::SameName),
        (
            "pipe r",
            7,
            ParseErrorKind::MissingArgument { missing: "WRITE" },
        ),
        ("socketpair a b seq", 16, ParseErrorKind::BadKeyword),
        ("unix-server s ../etc/x", 15, ParseErrorKind::BadAddress),
        ("unix-server s 5", 15, ParseErrorKind::BadAddress),
        ("unix-client c @", 15, ParseErrorKind::BadAddress),
        (
            "unix-dgram d a.sock extra",
            21,
            ParseErrorKind::ExtraArgument,
        ),
    ];
    for (source, column, kind) in cases {
        let script = format!("pipe ok1 ok2; {source}");
        let error = parse_script(&script).expect_err(source);
        assert_eq!(
            (error.line, error.column, error.kind),
            (1, column + "pipe ok1 ok2; ".len(), *kind),
            "{source}: {error}"
        );
    }
    // The whole script is refused: the pipe before the bad command is never made.
    let output = common::sockscope(&[
        "snapshot",
        "--run",
        "pipe a b; pipe c c",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("line 1, column 18"), "{message}");
    assert!(message.contains("two ends need two names"), "{message}");
}

#[test]
fn a_socketpairs_peer_in_the_table_is_the_peer_inode_ss_reports() {
    let _guard = lock();
    let mut lab = lab_running("socketpair a b; socketpair da db dgram; pipe r w");
    let snapshot = lab.snapshot();
    let inode_of = |fd: &FdEntry| -> String {
        fd.target
            .trim_start_matches("socket:[")
            .trim_end_matches(']')
            .to_owned()
    };
    // `ss -xp`: Netid State Recv-Q Send-Q * LOCAL_INODE * PEER_INODE users:((...,fd=N))
    let output = Command::new("ss").args(["-xpH"]).output().expect("ss runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let pid = format!("pid={},", std::process::id());
    let peer_by_inode: BTreeMap<String, String> = text
        .lines()
        .filter(|line| line.contains(&pid))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(((*fields.get(5)?).to_owned(), (*fields.get(7)?).to_owned()))
        })
        .collect();
    for (one, other) in [("a", "b"), ("b", "a"), ("da", "db"), ("db", "da")] {
        let (one, other) = (fd_named(&snapshot, one), fd_named(&snapshot, other));
        assert_eq!(
            peer_by_inode.get(&inode_of(one)),
            Some(&inode_of(other)),
            "ss: the peer of {} is {}",
            one.target,
            other.target
        );
        assert_eq!(one.peer, Some(format!("fd {}", other.fd)));
    }
}
