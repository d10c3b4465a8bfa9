//! `sockscope dump` against `ss -tuanp`, entry for entry, on a population held by another process.
//!
//! The population holder is this test binary itself, run again with `SOCKSCOPE_DUMP_HOLDER=1` and
//! only its `holder_process` test: it opens the sockets, prints their bound addresses and connection
//! 4-tuples (an ephemeral port alone is not ours: other connections to other destinations may use
//! it too), says `ready`, and
//! keeps them until its standard input closes (when this process ends, whatever happens).
//!
//! What it holds (all on loopback, port 0):
//! - a listener with backlog 4 and 3 connections waiting in its accept queue (their server ends have
//!   no descriptor: no owner);
//! - a listener with one accepted connection holding 5 unread bytes;
//! - a `TIME_WAIT` (the client closed first; no descriptor, no owner);
//! - a bound UDP socket with a datagram waiting, and a connected UDP socket that sent it;
//! - an IPv6 listener on `[::1]` with one connection in its accept queue (when IPv6 is available).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

const HOLDER_ENV: &str = "SOCKSCOPE_DUMP_HOLDER";
const MARK: &str = "HOLDER ";

/// The holder: does nothing unless run by [`Holder::spawn`].
#[test]
#[ignore = "run by the other tests as a separate process"]
fn holder_process() {
    if std::env::var_os(HOLDER_ENV).is_none() {
        return;
    }
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut bound: Vec<SocketAddr> = Vec::new();
    let mut tuples: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{MARK}{line}").expect("stdout");
        out.flush().expect("stdout");
    };

    // A listener with three connections in its accept queue.
    let queued = listener("127.0.0.1:0".parse().unwrap(), 4);
    let queued_at = queued.local_addr().unwrap();
    bound.push(queued_at);
    for _ in 0..3 {
        let client = TcpStream::connect(queued_at).unwrap();
        tuples.push((client.local_addr().unwrap(), queued_at));
        keep.push(Box::new(client));
    }
    keep.push(Box::new(queued));

    // An accepted connection with 5 unread bytes, and a TIME_WAIT on the same listener.
    let server = listener("127.0.0.1:0".parse().unwrap(), 8);
    let server_at = server.local_addr().unwrap();
    bound.push(server_at);
    let mut client = TcpStream::connect(server_at).unwrap();
    let (accepted, _) = server.accept().unwrap();
    client.write_all(b"hello").unwrap();
    tuples.push((client.local_addr().unwrap(), server_at));
    keep.push(Box::new(client));
    keep.push(Box::new(accepted));

    let closer = TcpStream::connect(server_at).unwrap();
    let (mut passive, _) = server.accept().unwrap();
    tuples.push((closer.local_addr().unwrap(), server_at));
    // The client closes first, so it is the one that waits in TIME_WAIT.
    drop(closer);
    let mut rest = Vec::new();
    passive.read_to_end(&mut rest).unwrap();
    drop(passive);
    keep.push(Box::new(server));

    // UDP: a bound socket with a datagram waiting, and the connected socket that sent it.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(udp.local_addr().unwrap()).unwrap();
    sender.send(b"hello").unwrap();
    bound.push(udp.local_addr().unwrap());
    tuples.push((sender.local_addr().unwrap(), udp.local_addr().unwrap()));
    keep.push(Box::new(udp));
    keep.push(Box::new(sender));

    // IPv6: a listener on [::1] with one connection waiting.
    if let Ok(v6) = try_listener(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)), 4) {
        let v6_at = v6.local_addr().unwrap();
        bound.push(v6_at);
        let client = TcpStream::connect(v6_at).unwrap();
        tuples.push((client.local_addr().unwrap(), v6_at));
        keep.push(Box::new(client));
        keep.push(Box::new(v6));
        say("v6".to_owned());
    }

    for address in &bound {
        say(format!("bound {address}"));
    }
    for (local, remote) in &tuples {
        say(format!("tuple {local} {remote}"));
    }
    say("ready".to_owned());
    // Hold until the parent closes our standard input (or ends).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(keep);
}

fn try_listener(address: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    socket.bind(&address.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

fn listener(address: SocketAddr, backlog: i32) -> TcpListener {
    try_listener(address, backlog).expect("listener")
}

/// The holder process, as seen from the test.
struct Holder {
    child: Child,
    pid: u32,
    /// Listeners and bound UDP sockets: every socket with one of these as local address is ours.
    bound: BTreeSet<SocketAddr>,
    /// Our connections (client side first); their other ends are ours too.
    tuples: BTreeSet<(SocketAddr, SocketAddr)>,
    v6: bool,
    _stdout: BufReader<ChildStdout>,
}

impl Holder {
    fn spawn() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "holder_process", "--ignored", "--nocapture"])
            .env(HOLDER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("holder starts");
        let pid = child.id();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut bound = BTreeSet::new();
        let mut tuples = BTreeSet::new();
        let mut v6 = false;
        let mut line = String::new();
        loop {
            line.clear();
            let n = stdout.read_line(&mut line).expect("holder output");
            assert!(n > 0, "the holder ended before it was ready");
            let Some(said) = line.trim_end().strip_prefix(MARK) else {
                continue;
            };
            let words: Vec<&str> = said.split(' ').collect();
            let address = |word: &str| -> SocketAddr { word.parse().expect("holder address") };
            match words.as_slice() {
                ["bound", local] => {
                    bound.insert(address(local));
                }
                ["tuple", local, remote] => {
                    tuples.insert((address(local), address(remote)));
                }
                _ if said == "v6" => v6 = true,
                _ if said == "ready" => break,
                _ => panic!("unexpected holder line {said}"),
            }
        }
        Self {
            child,
            pid,
            bound,
            tuples,
            v6,
            _stdout: stdout,
        }
    }

    /// A connection is ours by its 4-tuple; a socket without a peer by its bound address. (A
    /// listener's address alone is not enough: an earlier test's `TIME_WAIT` may hold the same
    /// local port, which `SO_REUSEADDR` lets the kernel hand out again.)
    fn involves(&self, row: &Row) -> bool {
        match row.remote {
            Some(remote) => {
                self.tuples.contains(&(row.local, remote))
                    || self.tuples.contains(&(remote, row.local))
            }
            None => self.bound.contains(&row.local),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// One socket, as either tool reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    proto: String,
    state: String,
    recv_q: u64,
    send_q: u64,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    pid: Option<u32>,
    process: Option<String>,
}

fn sockscope(args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(args)
        .output()
        .expect("sockscope runs");
    assert!(output.status.success(), "sockscope {args:?}: {output:?}");
    (
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn dump_json(args: &[&str]) -> Vec<Row> {
    let mut all = vec!["dump", "--json"];
    all.extend_from_slice(args);
    let (stdout, _) = sockscope(&all);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("dump JSON");
    json["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(|socket| {
            let object = socket.as_object().expect("object");
            assert_eq!(object.len(), 9, "exactly the contract's fields: {socket}");
            Row {
                proto: socket["proto"].as_str().expect("proto").to_owned(),
                state: socket["state"].as_str().expect("state").to_owned(),
                recv_q: socket["recv_q"].as_u64().expect("recv_q"),
                send_q: socket["send_q"].as_u64().expect("send_q"),
                local: socket["local"]
                    .as_str()
                    .expect("local")
                    .parse()
                    .expect("local"),
                remote: socket["remote"]
                    .as_str()
                    .map(|r| r.parse().expect("remote")),
                pid: socket["pid"].as_u64().map(|pid| pid as u32),
                process: socket["process"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

/// `ss` names states its own way; the dump uses the kernel's names.
fn kernel_state(ss: &str) -> String {
    match ss {
        "ESTAB" => "ESTABLISHED".to_owned(),
        "FIN-WAIT-1" => "FIN_WAIT1".to_owned(),
        "FIN-WAIT-2" => "FIN_WAIT2".to_owned(),
        other => other.replace('-', "_"),
    }
}

/// `127.0.0.1:80`, `[::1]:80`, `[fe80::1]%lo:80`; `0.0.0.0:*` / `[::]:*` / `*:*` mean no peer.
fn ss_address(text: &str) -> Option<SocketAddr> {
    if text.ends_with(":*") {
        return None;
    }
    let cleaned = match text.split_once('%') {
        Some((ip, rest)) => format!("{ip}{}", &rest[rest.find(':').unwrap_or(rest.len())..]),
        None => text.to_owned(),
    };
    Some(
        cleaned
            .parse()
            .unwrap_or_else(|_| panic!("ss address {text}")),
    )
}

/// `users:(("name",pid=123,fd=5),...)` → the first user's name and pid.
fn ss_user(text: &str) -> Option<(String, u32)> {
    let name_start = text.find("((\"")? + 3;
    let name_end = name_start + text[name_start..].find('"')?;
    let pid_start = text.find("pid=")? + 4;
    let digits: String = text[pid_start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((text[name_start..name_end].to_owned(), digits.parse().ok()?))
}

/// `ss -Htuanp`: Netid State Recv-Q Send-Q Local Peer [Process].
fn ss_rows() -> Option<Vec<Row>> {
    let output = match Command::new("ss").arg("-Htuanp").output() {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("NOTE: `ss` (iproute2) is not installed; the cross-check is skipped");
            return None;
        }
        Err(err) => panic!("running ss: {err}"),
    };
    assert!(output.status.success(), "ss failed: {output:?}");
    let rows = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 6 {
                return None;
            }
            let user = fields.get(6).and_then(|users| ss_user(users));
            Some(Row {
                proto: fields[0].to_owned(),
                state: kernel_state(fields[1]),
                recv_q: fields[2].parse().expect("Recv-Q"),
                send_q: fields[3].parse().expect("Send-Q"),
                local: ss_address(fields[4])?,
                remote: ss_address(fields[5]),
                pid: user.as_ref().map(|(_, pid)| *pid),
                process: user.map(|(name, _)| name),
            })
        })
        .collect();
    Some(rows)
}

fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn holder_rows(holder: &Holder, rows: Vec<Row>) -> Vec<Row> {
    let mut mine: Vec<Row> = rows
        .into_iter()
        .filter(|row| holder.involves(row))
        .collect();
    mine.sort();
    mine
}

#[test]
fn dump_agrees_with_ss_entry_for_entry() {
    let holder = Holder::spawn();
    // The TIME_WAIT appears once the passive side's FIN is acknowledged (at once on loopback).
    let time_wait = |rows: &[Row]| rows.iter().any(|row| row.state == "TIME_WAIT");
    assert!(
        wait_for(Duration::from_secs(5), || time_wait(&holder_rows(
            &holder,
            dump_json(&[])
        ))),
        "no TIME_WAIT appeared"
    );

    let ours = holder_rows(&holder, dump_json(&[]));
    let Some(theirs) = ss_rows() else { return };
    let theirs = holder_rows(&holder, theirs);
    assert_eq!(ours, theirs, "sockscope dump vs ss -tuanp");

    // What the population must contain, checked on our side (ss agreed with all of it).
    let count = |state: &str, proto: &str| {
        ours.iter()
            .filter(|r| r.state == state && r.proto == proto)
            .count()
    };
    let v6 = usize::from(holder.v6);
    assert_eq!(count("LISTEN", "tcp"), 2 + v6);
    assert_eq!(count("TIME_WAIT", "tcp"), 1);
    // 3 + 1 queued (v6) connections have two ends each; the accepted one has two.
    assert_eq!(count("ESTABLISHED", "tcp"), 2 * (3 + v6) + 2);
    assert_eq!(count("UNCONN", "udp"), 1);
    assert_eq!(count("ESTABLISHED", "udp"), 1);
    let queued = ours
        .iter()
        .find(|r| r.state == "LISTEN" && r.recv_q == 3)
        .expect("the listener with 3 waiting");
    assert_eq!(queued.send_q, 4, "the accept-queue limit is the backlog");
    assert!(
        ours.iter()
            .any(|r| r.state == "ESTABLISHED" && r.recv_q == 5)
    );
    assert!(ours.iter().any(|r| r.proto == "udp" && r.recv_q > 0));
    if holder.v6 {
        assert!(
            ours.iter()
                .any(|r| r.state == "LISTEN" && r.local.is_ipv6() && r.recv_q == 1)
        );
    }

    // Owners: every socket with a descriptor is the holder's; the others have none.
    for row in &ours {
        let descriptorless = row.state == "TIME_WAIT"
            || (row.state == "ESTABLISHED"
                && row.proto == "tcp"
                && ours
                    .iter()
                    .any(|l| l.state == "LISTEN" && l.local == row.local && l.recv_q > 0));
        if descriptorless {
            assert_eq!(row.pid, None, "{row:?} has no descriptor");
        } else {
            assert_eq!(row.pid, Some(holder.pid), "{row:?} is the holder's");
            assert!(row.process.as_deref().is_some_and(|p| !p.is_empty()));
        }
    }
}

#[test]
fn filters_select_by_pid_port_and_state() {
    let holder = Holder::spawn();
    let pid = holder.pid.to_string();

    let by_pid = dump_json(&["--pid", &pid]);
    assert!(!by_pid.is_empty());
    assert!(by_pid.iter().all(|row| row.pid == Some(holder.pid)));
    let everything = holder_rows(&holder, dump_json(&[]));
    let owned: Vec<Row> = everything
        .iter()
        .filter(|row| row.pid == Some(holder.pid))
        .cloned()
        .collect();
    let mut by_pid = by_pid;
    by_pid.sort();
    assert_eq!(by_pid, owned, "--pid keeps exactly the process's sockets");

    let listener = everything
        .iter()
        .find(|row| row.state == "LISTEN" && row.recv_q == 3)
        .expect("the queued listener");
    let port = listener.local.port();
    let by_port = dump_json(&["--port", &port.to_string()]);
    assert_eq!(
        by_port.len(),
        1 + 3 * 2,
        "the listener and both ends of 3 connections"
    );
    assert!(
        by_port
            .iter()
            .all(|row| row.local.port() == port || row.remote.is_some_and(|r| r.port() == port))
    );

    let listening = dump_json(&["--state", "listen", "--pid", &pid]);
    assert!(listening.iter().all(|row| row.state == "LISTEN"));
    assert_eq!(listening.len(), 2 + usize::from(holder.v6));

    let bare = holder_rows(&holder, dump_json(&["--no-owners"]));
    assert!(
        bare.iter()
            .all(|row| row.pid.is_none() && row.process.is_none())
    );
    assert_eq!(bare.len(), everything.len());
}

#[test]
fn the_table_has_a_row_per_socket_and_names_the_owner() {
    let holder = Holder::spawn();
    let pid = holder.pid.to_string();
    let (table, _) = sockscope(&["dump", "--pid", &pid]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Netid State"), "{table}");
    let expected = dump_json(&["--pid", &pid]).len();
    assert_eq!(lines.len(), expected + 1, "{table}");
    assert!(
        lines[1..]
            .iter()
            .all(|line| line.contains(&format!(",pid={pid},fd=")))
    );
    assert!(table.contains("LISTEN"));

    let bogus = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["dump", "--state", "bogus"])
        .output()
        .expect("sockscope runs");
    assert_eq!(bogus.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&bogus.stderr).contains("not a socket state"));
}

/// As an unprivileged user, another user's sockets are unknown, counted, and explained.
#[test]
fn an_ordinary_user_sees_other_users_owners_as_unknown() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("NOTE: not root: the unprivileged view is what every other test sees");
        return;
    }
    let holder = Holder::spawn();
    let setpriv = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .args(["dump", "--json", "--lang", "en"])
        .output();
    let output = match setpriv {
        Ok(output) if output.status.success() => output,
        other => {
            eprintln!("NOTE: cannot run as nobody (setpriv, permissions): {other:?}; skipped");
            return;
        }
    };
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let sockets = json["sockets"].as_array().expect("sockets");
    let mine: Vec<&serde_json::Value> = sockets
        .iter()
        .filter(|s| {
            s["local"]
                .as_str()
                .and_then(|l| l.parse().ok())
                .is_some_and(|l: SocketAddr| holder.bound.contains(&l))
        })
        .collect();
    assert!(!mine.is_empty());
    assert!(
        mine.iter()
            .all(|s| s["pid"].is_null() && s["process"].is_null())
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("owners unknown") && stderr.contains("run as root"),
        "{stderr}"
    );
}
