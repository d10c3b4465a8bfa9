//! The lab command language: every verb, round trips through `to_line`, and error positions.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use sockscope::command::{
    Command, DURATION_MAX, Direction, DurationError, IpcCommand, Located, NatCommand, PairKind,
    ParseError, ParseErrorKind, ShutdownHow, SockOpt, Target, UnixAddr, UnixTarget, VERBS,
    WebCommand, WireCommand, parse_duration, parse_script,
};
use sockscope::model::{Proto, WireHost};
use sockscope::net::nat::Rule;
use sockscope::text::{self, Lang};

fn one(src: &str) -> Command {
    let mut commands = parse_script(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    assert_eq!(commands.len(), 1, "{src:?}");
    commands.remove(0).command
}

fn err(src: &str) -> ParseError {
    match parse_script(src) {
        Ok(commands) => panic!("{src:?} parsed: {commands:?}"),
        Err(e) => e,
    }
}

fn v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn name(n: &str) -> String {
    n.to_owned()
}

/// One example of every verb (and the optional forms), with the command it must parse to.
#[allow(clippy::too_many_lines)] // a table of examples
fn examples() -> Vec<(&'static str, Command)> {
    vec![
        (
            "socket s tcp",
            Command::Socket {
                name: name("s"),
                proto: Proto::Tcp,
                v6: false,
            },
        ),
        (
            "SOCKET u1 UDP v6",
            Command::Socket {
                name: name("u1"),
                proto: Proto::Udp,
                v6: true,
            },
        ),
        (
            "bind s 127.0.0.1:8080",
            Command::Bind {
                name: name("s"),
                addr: Target::Addr(v4(8080)),
            },
        ),
        (
            "bind s [::1]:0",
            Command::Bind {
                name: name("s"),
                addr: Target::Addr(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))),
            },
        ),
        (
            "bind s localhost:65535",
            Command::Bind {
                name: name("s"),
                addr: Target::Addr(v4(65535)),
            },
        ),
        (
            "bind s :80",
            Command::Bind {
                name: name("s"),
                addr: Target::Addr(v4(80)),
            },
        ),
        (
            "bind s2 srv",
            Command::Bind {
                name: name("s2"),
                addr: Target::Name(name("srv")),
            },
        ),
        (
            "server s2 srv 4",
            Command::Server {
                name: name("s2"),
                addr: Some(Target::Name(name("srv"))),
                backlog: Some(4),
            },
        ),
        (
            "listen srv 2",
            Command::Listen {
                name: name("srv"),
                backlog: 2,
            },
        ),
        (
            "connect c1 127.0.0.1:5555",
            Command::Connect {
                name: name("c1"),
                target: Target::Addr(v4(5555)),
            },
        ),
        (
            "connect c1 srv",
            Command::Connect {
                name: name("c1"),
                target: Target::Name(name("srv")),
            },
        ),
        (
            "accept srv",
            Command::Accept {
                name: name("srv"),
                as_name: None,
            },
        ),
        (
            "accept srv AS conn_1",
            Command::Accept {
                name: name("srv"),
                as_name: Some(name("conn_1")),
            },
        ),
        ("close c1", Command::Close { name: name("c1") }),
        (
            "send c1 hello   world",
            Command::Send {
                name: name("c1"),
                data: b"hello world".to_vec(),
            },
        ),
        (
            r#"send c1 "GET / HTTP/1.0\r\n\r\n""#,
            Command::Send {
                name: name("c1"),
                data: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
            },
        ),
        (
            r#"send c1 """#,
            Command::Send {
                name: name("c1"),
                data: Vec::new(),
            },
        ),
        (
            "recv c1",
            Command::Recv {
                name: name("c1"),
                max: 4096,
            },
        ),
        (
            "recv c1 1048576",
            Command::Recv {
                name: name("c1"),
                max: 1 << 20,
            },
        ),
        (
            "sendto u1 :9999 ping",
            Command::SendTo {
                name: name("u1"),
                target: Target::Addr(v4(9999)),
                data: b"ping".to_vec(),
            },
        ),
        (
            r#"sendto u1 u2 "\x00\xff""#,
            Command::SendTo {
                name: name("u1"),
                target: Target::Name(name("u2")),
                data: vec![0, 0xff],
            },
        ),
        ("recvfrom u1", Command::RecvFrom { name: name("u1") }),
        (
            "shutdown c1 wr",
            Command::Shutdown {
                name: name("c1"),
                how: ShutdownHow::Write,
            },
        ),
        (
            "shutdown c1 rd",
            Command::Shutdown {
                name: name("c1"),
                how: ShutdownHow::Read,
            },
        ),
        (
            "shutdown c1 both",
            Command::Shutdown {
                name: name("c1"),
                how: ShutdownHow::Both,
            },
        ),
        (
            "setsockopt s reuseaddr",
            Command::SetSockOpt {
                name: name("s"),
                option: SockOpt::ReuseAddr,
                value: 1,
            },
        ),
        (
            "setsockopt s reuseport off",
            Command::SetSockOpt {
                name: name("s"),
                option: SockOpt::ReusePort,
                value: 0,
            },
        ),
        (
            "setsockopt s nodelay on",
            Command::SetSockOpt {
                name: name("s"),
                option: SockOpt::NoDelay,
                value: 1,
            },
        ),
        (
            "setsockopt s linger0",
            Command::SetSockOpt {
                name: name("s"),
                option: SockOpt::Linger0,
                value: 1,
            },
        ),
        (
            "setsockopt s defer_accept 5",
            Command::SetSockOpt {
                name: name("s"),
                option: SockOpt::DeferAccept,
                value: 5,
            },
        ),
        (
            "open f /etc/hostname",
            Command::Open {
                name: name("f"),
                path: name("/etc/hostname"),
            },
        ),
        (
            r#"open f "/tmp/a file;#1""#,
            Command::Open {
                name: name("f"),
                path: name("/tmp/a file;#1"),
            },
        ),
        (
            "server srv",
            Command::Server {
                name: name("srv"),
                addr: None,
                backlog: None,
            },
        ),
        (
            "server srv :8080",
            Command::Server {
                name: name("srv"),
                addr: Some(Target::Addr(v4(8080))),
                backlog: None,
            },
        ),
        (
            "server srv 3",
            Command::Server {
                name: name("srv"),
                addr: None,
                backlog: Some(3),
            },
        ),
        (
            "server srv [::1]:8080 128",
            Command::Server {
                name: name("srv"),
                addr: Some(Target::Addr(SocketAddr::from((Ipv6Addr::LOCALHOST, 8080)))),
                backlog: Some(128),
            },
        ),
        (
            "client c1 srv",
            Command::Client {
                name: name("c1"),
                target: Target::Name(name("srv")),
            },
        ),
        (
            "client c1 localhost:8080",
            Command::Client {
                name: name("c1"),
                target: Target::Addr(v4(8080)),
            },
        ),
        (
            "clients c 10000 srv",
            Command::Clients {
                prefix: name("c"),
                count: 10000,
                target: Target::Name(name("srv")),
            },
        ),
        (
            "forward fw :9000 127.0.0.1:8080",
            Command::Forward {
                name: name("fw"),
                listen: v4(9000),
                target: Target::Addr(v4(8080)),
            },
        ),
        (
            "forward fw :9000 srv",
            Command::Forward {
                name: name("fw"),
                listen: v4(9000),
                target: Target::Name(name("srv")),
            },
        ),
        (
            "Auto-Accept srv on",
            Command::AutoAccept {
                name: name("srv"),
                on: true,
            },
        ),
        (
            "auto-accept srv OFF",
            Command::AutoAccept {
                name: name("srv"),
                on: false,
            },
        ),
        (
            "wait 200ms",
            Command::Wait {
                duration: Duration::from_millis(200),
            },
        ),
        (
            "wait 1.5s",
            Command::Wait {
                duration: Duration::from_millis(1500),
            },
        ),
        // ipc and descriptors
        (
            "pipe r w",
            Command::Ipc(IpcCommand::Pipe {
                read: "r".into(),
                write: "w".into(),
            }),
        ),
        (
            "fifo fr fw",
            Command::Ipc(IpcCommand::Fifo {
                read: "fr".into(),
                write: "fw".into(),
            }),
        ),
        (
            "socketpair a b dgram",
            Command::Ipc(IpcCommand::SocketPair {
                first: "a".into(),
                second: "b".into(),
                kind: PairKind::Dgram,
            }),
        ),
        (
            "unix-server us srv.sock 4",
            Command::Ipc(IpcCommand::UnixServer {
                name: "us".into(),
                addr: UnixAddr::File("srv.sock".into()),
                backlog: Some(4),
            }),
        ),
        (
            "unix-client uc @srv",
            Command::Ipc(IpcCommand::UnixClient {
                name: "uc".into(),
                target: UnixTarget::Abstract("srv".into()),
            }),
        ),
        (
            "unix-dgram d",
            Command::Ipc(IpcCommand::UnixDgram {
                name: "d".into(),
                addr: None,
            }),
        ),
        (
            "ws-server web :0 16",
            Command::Web(WebCommand::Server {
                name: name("web"),
                addr: Some(Target::Addr("127.0.0.1:0".parse().unwrap())),
                backlog: Some(16),
            }),
        ),
        (
            "http-get b web",
            Command::Web(WebCommand::HttpGet {
                name: name("b"),
                target: Target::Name(name("web")),
                path: "/".to_owned(),
            }),
        ),
        (
            "ws-client chat web /chat?room=1",
            Command::Web(WebCommand::Client {
                name: name("chat"),
                target: Target::Name(name("web")),
                path: "/chat?room=1".to_owned(),
            }),
        ),
        (
            "ws-send chat \"hi\\x1b[2J\"",
            Command::Web(WebCommand::Send {
                name: name("chat"),
                data: b"hi\x1b[2J".to_vec(),
            }),
        ),
        (
            "ws-close chat",
            Command::Web(WebCommand::Close { name: name("chat") }),
        ),
        // --net wire: a host on the socket-making verbs, and the wire's controls.
        (
            "server srv@b 2",
            Command::On {
                host: WireHost::B,
                command: Box::new(Command::Server {
                    name: name("srv"),
                    addr: None,
                    backlog: Some(2),
                }),
            },
        ),
        (
            "client c1@a srv",
            Command::On {
                host: WireHost::A,
                command: Box::new(Command::Client {
                    name: name("c1"),
                    target: Target::Name(name("srv")),
                }),
            },
        ),
        ("wire hold on", Command::Wire(WireCommand::Hold(true))),
        ("wire deliver", Command::Wire(WireCommand::Deliver(None))),
        ("wire drop 7", Command::Wire(WireCommand::Drop(Some(7)))),
        (
            "wire delay 200ms a>b",
            Command::Wire(WireCommand::Delay(
                Duration::from_millis(200),
                Some(Direction::AToB),
            )),
        ),
        (
            "wire loss 2.5% seed 9",
            Command::Wire(WireCommand::Loss {
                ppm: 25_000,
                seed: 9,
            }),
        ),
        ("wire reset", Command::Wire(WireCommand::Reset)),
        (
            "wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80",
            Command::Wire(WireCommand::Nat(NatCommand::Add(Rule::new(
                Proto::Tcp,
                "198.18.0.254:8080".parse().unwrap(),
                "198.18.0.2:80".parse().unwrap(),
            )))),
        ),
        (
            "wire nat del udp 198.18.0.254:53",
            Command::Wire(WireCommand::Nat(NatCommand::Delete {
                proto: Proto::Udp,
                public: "198.18.0.254:53".parse().unwrap(),
            })),
        ),
        (
            "wire nat off",
            Command::Wire(WireCommand::Nat(NatCommand::Off)),
        ),
    ]
}

#[test]
fn a_nat_rule_is_one_wire_command_with_positioned_errors() {
    // The arrow may touch the addresses, as in the NAT's own grammar.
    assert_eq!(
        one("wire nat udp 198.18.0.254:5353->198.18.0.2:53"),
        Command::Wire(WireCommand::Nat(NatCommand::Add(Rule::new(
            Proto::Udp,
            "198.18.0.254:5353".parse().unwrap(),
            "198.18.0.2:53".parse().unwrap(),
        ))))
    );
    // Columns count from the script's line, past `wire nat`.
    let error = parse_script("wire nat tcp 198.18.0.254:0 -> 198.18.0.2:80").unwrap_err();
    assert_eq!((error.line, error.column), (1, 14));
    assert_eq!(error.kind, ParseErrorKind::BadPort);
    let error = parse_script("wire nat tcp 198.18.0.254:8080 => 198.18.0.2:80").unwrap_err();
    assert_eq!(error.column, 32);
    let error = parse_script("wire nat tcp 198.18.0.254:8080").unwrap_err();
    assert!(
        matches!(error.kind, ParseErrorKind::MissingArgument { .. }),
        "{error:?}"
    );
    assert_eq!(error.column, 31);
    let error = parse_script("wire nat off now").unwrap_err();
    assert_eq!(error.kind, ParseErrorKind::ExtraArgument);
    assert_eq!(error.column, 14);
    let error = parse_script("wire nat maybe").unwrap_err();
    assert_eq!(error.column, 10);
}

#[test]
fn a_host_must_be_a_or_b_and_a_loss_a_percentage() {
    let error = parse_script("server srv@c").unwrap_err();
    assert_eq!((error.line, error.column), (1, 12));
    assert_eq!(error.kind, ParseErrorKind::BadHost);
    let error = parse_script("wire loss 101%").unwrap_err();
    assert_eq!((error.line, error.column), (1, 11));
    assert_eq!(error.kind, ParseErrorKind::BadPercent);
    let error = parse_script("wire hold maybe").unwrap_err();
    assert_eq!(error.column, 11);
    // A host only where a socket is made.
    assert!(parse_script("close srv@b").is_err());
}

#[test]
fn every_verb_parses_to_its_command() {
    let examples = examples();
    for (src, expected) in &examples {
        assert_eq!(&one(src), expected, "{src}");
    }
    for (verb, usage) in VERBS {
        assert!(usage.starts_with(verb), "{verb}: {usage}");
        assert!(
            examples.iter().any(|(_, c)| c.verb() == *verb),
            "no example for {verb}"
        );
    }
}

#[test]
fn to_line_round_trips_every_example() {
    for (src, command) in examples() {
        let line = command.to_line();
        assert_eq!(one(&line), command, "{src} -> {line}");
        assert!(
            line.starts_with(command.verb()),
            "{line} starts with its verb"
        );
    }
}

#[test]
fn to_line_is_canonical_and_quotes_only_when_needed() {
    let cases = [
        ("send c1 hello   world", "send c1 hello world"),
        ("send c1 \"hello\"", "send c1 hello"),
        ("send c1 \"a;b\"", "send c1 \"a;b\""),
        ("send c1 \"a#b\"", "send c1 \"a#b\""),
        ("send c1 \"say \\\"hi\\\"\"", "send c1 \"say \\\"hi\\\"\""),
        ("send c1 \"\\x1b[2J\"", "send c1 \"\\x1b[2J\""),
        ("send c1 \"\"", "send c1 \"\""),
        ("send c1 \" lead\"", "send c1 \" lead\""),
        ("send c1 안녕 하세요", "send c1 안녕 하세요"),
        ("recv c1", "recv c1 4096"),
        ("setsockopt s nodelay on", "setsockopt s nodelay 1"),
        ("bind s localhost:80", "bind s 127.0.0.1:80"),
        ("wait 1.5s", "wait 1500ms"),
        ("wait 2m", "wait 120s"),
        ("wait 0.0000001s", "wait 100ns"),
        ("WAIT 500us", "wait 500us"),
        ("accept SRV As x", "accept SRV as x"),
        ("open f \"plain\"", "open f plain"),
        ("open f \"\"", "open f \"\""),
    ];
    for (src, canonical) in cases {
        assert_eq!(one(src).to_line(), canonical, "{src}");
    }
}

#[test]
fn separators_and_comments_inside_quotes_are_text() {
    let script = "send c1 \"a;b # not a comment\" ; recv c1 # a comment; close c1\nclose c1";
    let commands = parse_script(script).unwrap();
    assert_eq!(commands.len(), 3);
    assert_eq!(
        commands[0].command,
        Command::Send {
            name: name("c1"),
            data: b"a;b # not a comment".to_vec(),
        }
    );
    assert_eq!(commands[1].command.verb(), "recv");
    assert_eq!(commands[2].line, 2);
}

#[test]
fn separators_split_bare_words_and_a_hash_inside_a_word_does_not() {
    let commands = parse_script("send c1 a;send c1 b#c\nsend c1 d").unwrap();
    let data: Vec<&[u8]> = commands
        .iter()
        .map(|l| match &l.command {
            Command::Send { data, .. } => data.as_slice(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(data, [&b"a"[..], b"b#c", b"d"]);
}

#[test]
fn located_records_line_column_and_source() {
    let script = "# setup\n\n  server srv :8080 ;; client c1 srv # connect\r\n\twait 1s";
    let commands = parse_script(script).unwrap();
    let where_: Vec<(usize, usize, &str)> = commands
        .iter()
        .map(|l: &Located| (l.line, l.column, l.source.as_str()))
        .collect();
    assert_eq!(
        where_,
        [
            (3, 3, "server srv :8080"),
            (3, 23, "client c1 srv"),
            (4, 2, "wait 1s"),
        ]
    );
}

#[test]
fn empty_and_comment_only_scripts_have_no_commands() {
    for src in ["", "   ", ";;;", "# only a comment", "\n\n;\n  # x ; y\n"] {
        assert_eq!(parse_script(src).unwrap(), [], "{src:?}");
    }
}

#[test]
fn one_bad_command_among_good_ones_fails_the_whole_script() {
    let script = "server srv :8080\nclient c1 srv\nlisten srv lots\nsend c1 hi\nclose c1";
    let e = err(script);
    assert_eq!((e.line, e.column), (3, 12));
    assert_eq!(e.kind, ParseErrorKind::BadNumber);
}

#[test]
fn the_first_error_in_script_order_wins() {
    // A lexical error later in the script does not hide a parse error earlier.
    let e = err("close c1\nlisen srv 1\nsend c1 \"unterminated");
    assert_eq!(e.line, 2);
    assert!(matches!(e.kind, ParseErrorKind::UnknownVerb { .. }));
}

/// Three lines; the error is always on line 3, so line counting is tested with it.
fn on_line_3(third: &str) -> ParseError {
    err(&format!(
        "server srv :8080\n# comment ; \"not a quote\n{third}"
    ))
}

#[test]
fn unknown_verb_suggests_the_nearest() {
    let e = on_line_3("close x; lisen srv 5");
    assert_eq!((e.line, e.column), (3, 10));
    assert_eq!(e.found, "lisen");
    assert_eq!(
        e.kind,
        ParseErrorKind::UnknownVerb {
            suggestion: Some("listen")
        }
    );
    assert!(e.expected.starts_with("socket, bind, listen"));
    assert_eq!(
        e.to_string(),
        format!(
            "line 3, column 10: unknown verb 'lisen' (did you mean 'listen'?); expected one of: {}",
            e.expected
        )
    );
    let far = on_line_3("frobnicate x");
    assert_eq!(far.kind, ParseErrorKind::UnknownVerb { suggestion: None });
    assert!(!far.to_string().contains("did you mean"));
    let dotted = on_line_3("srv.accept_queue");
    assert_eq!(dotted.found, "srv.accept_queue");
    assert_eq!(
        on_line_3("AUTOACCEPT srv on").kind,
        ParseErrorKind::UnknownVerb {
            suggestion: Some("auto-accept")
        }
    );
}

#[test]
fn missing_argument_points_past_the_end_of_the_command() {
    let e = on_line_3("  listen srv   # backlog forgotten");
    assert_eq!((e.line, e.column), (3, 13));
    assert_eq!(
        e.kind,
        ParseErrorKind::MissingArgument { missing: "BACKLOG" }
    );
    assert_eq!(e.expected, "listen NAME BACKLOG");
    assert_eq!(
        e.to_string(),
        "line 3, column 13: missing BACKLOG; usage: listen NAME BACKLOG"
    );
    let e = on_line_3("close a; socket s; close b");
    assert_eq!((e.line, e.column), (3, 18));
    assert_eq!(
        e.kind,
        ParseErrorKind::MissingArgument { missing: "tcp|udp" }
    );
    let e = on_line_3("send c1");
    assert_eq!(
        (e.column, e.kind),
        (8, ParseErrorKind::MissingArgument { missing: "TEXT" })
    );
    let e = on_line_3("accept srv as");
    assert_eq!(
        (e.column, e.kind),
        (14, ParseErrorKind::MissingArgument { missing: "NEWNAME" })
    );
}

#[test]
fn extra_argument_points_at_the_first_extra() {
    let e = on_line_3("close c1 c2 c3");
    assert_eq!((e.line, e.column), (3, 10));
    assert_eq!(e.kind, ParseErrorKind::ExtraArgument);
    assert_eq!(e.found, "c2");
    assert_eq!(e.expected, "close NAME");
    // TEXT is one quoted string or bare words, not both.
    let e = on_line_3("send c1 \"hi\" there");
    assert_eq!((e.column, e.kind), (14, ParseErrorKind::ExtraArgument));
    let e = on_line_3("send c1 say \"hi\"");
    assert_eq!((e.column, e.kind), (13, ParseErrorKind::ExtraArgument));
    // The address of `server` comes before the backlog.
    let e = on_line_3("server s2 5 :8081");
    assert_eq!((e.column, e.kind), (13, ParseErrorKind::ExtraArgument));
}

#[test]
fn bad_name_points_at_the_name() {
    let e = on_line_3("socket 1s tcp");
    assert_eq!((e.line, e.column, e.kind), (3, 8, ParseErrorKind::BadName));
    assert_eq!(e.expected, "NAME");
    for bad in ["srv.x", "_a", "a/b", &"a".repeat(33)] {
        assert_eq!(
            err(&format!("close {bad}")).kind,
            ParseErrorKind::BadName,
            "{bad}"
        );
    }
    assert_eq!(one(&format!("close {}", "a".repeat(32))).verb(), "close");
    let e = on_line_3("connect c1 -x");
    assert_eq!((e.column, e.kind), (12, ParseErrorKind::BadName));
    // clients PREFIX1..PREFIXn must all be valid names.
    let e = on_line_3(&format!("clients {} 100 srv", "p".repeat(30)));
    assert_eq!((e.column, e.kind), (9, ParseErrorKind::BadName));
    assert_eq!(e.found, format!("{}100", "p".repeat(30)));
    assert_eq!(
        one(&format!("clients {} 99 srv", "p".repeat(30))).verb(),
        "clients"
    );
}

#[test]
fn bad_keyword_points_at_the_keyword() {
    let e = on_line_3("socket s sctp");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 10, ParseErrorKind::BadKeyword)
    );
    assert_eq!(e.expected, "tcp|udp");
    assert_eq!(on_line_3("socket s tcp v4").column, 14);
    assert_eq!(
        on_line_3("shutdown c1 read").kind,
        ParseErrorKind::BadKeyword
    );
    assert_eq!(
        on_line_3("auto-accept srv yes").kind,
        ParseErrorKind::BadKeyword
    );
    assert_eq!(on_line_3("accept srv c2").kind, ParseErrorKind::BadKeyword);
    assert_eq!(
        on_line_3("setsockopt s keepalive").kind,
        ParseErrorKind::BadKeyword
    );
}

#[test]
fn bad_address_points_at_the_address() {
    let e = on_line_3("bind s example.com:80");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 8, ParseErrorKind::BadAddress)
    );
    assert_eq!(e.expected, "ADDR:PORT|NAME");
    for bad in [
        "bind s 127.0.0.1",
        "bind s ::1:80",
        "bind s [::1]80",
        "bind s [nope]:80",
        "bind s 300.0.0.1:80",
        "connect c 127.0.0.1",
        "connect c 8080",
        "forward f srv :8080",
    ] {
        assert_eq!(err(bad).kind, ParseErrorKind::BadAddress, "{bad}");
    }
}

#[test]
fn bad_port_points_at_the_address() {
    let e = on_line_3("close a; bind s 127.0.0.1:65536");
    assert_eq!((e.line, e.column, e.kind), (3, 17, ParseErrorKind::BadPort));
    for bad in [
        "bind s :",
        "bind s :http",
        "bind s :+80",
        "bind s [::1]:-1",
        "client c localhost:99999",
    ] {
        assert_eq!(err(bad).kind, ParseErrorKind::BadPort, "{bad}");
    }
}

#[test]
fn bad_number_points_at_the_number() {
    let e = on_line_3("recv c1 lots");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 9, ParseErrorKind::BadNumber)
    );
    assert_eq!(e.expected, "MAX");
    assert_eq!(on_line_3("listen s 1.5").kind, ParseErrorKind::BadNumber);
    assert_eq!(
        on_line_3("setsockopt s nodelay yes").kind,
        ParseErrorKind::BadNumber
    );
    assert_eq!(on_line_3("server s 12x").kind, ParseErrorKind::BadNumber);
    assert_eq!(
        on_line_3("clients c many srv").kind,
        ParseErrorKind::BadNumber
    );
}

#[test]
fn out_of_range_gives_the_range() {
    let e = on_line_3("clients c 10001 srv");
    assert_eq!((e.line, e.column), (3, 11));
    assert_eq!(
        e.kind,
        ParseErrorKind::OutOfRange {
            min: 1,
            max: 10_000
        }
    );
    assert_eq!(
        e.to_string(),
        "line 3, column 11: COUNT out of range: '10001' (allowed 1 to 10000)"
    );
    let range = |src: &str| match on_line_3(src).kind {
        ParseErrorKind::OutOfRange { min, max } => (min, max),
        other => panic!("{src}: {other:?}"),
    };
    assert_eq!(range("clients c 0 srv"), (1, 10_000));
    assert_eq!(range("listen s 65536"), (0, 65_535));
    assert_eq!(range("listen s -1"), (0, 65_535));
    assert_eq!(
        range("server s :80 99999999999999999999999999999999999999999"),
        (0, 65_535)
    );
    assert_eq!(range("recv c 0"), (1, 1 << 20));
    assert_eq!(range("recv c 1048577"), (1, 1 << 20));
    assert_eq!(
        range("setsockopt s defer_accept 4294967296"),
        (0, u64::from(u32::MAX))
    );
}

#[test]
fn bad_duration_points_at_the_duration() {
    let e = on_line_3("wait 5");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 6, ParseErrorKind::BadDuration)
    );
    for bad in [
        "wait -1s", "wait 1.s", "wait .5s", "wait 1d", "wait ms", "wait 1 s",
    ] {
        let kind = err(bad).kind;
        assert!(
            matches!(
                kind,
                ParseErrorKind::BadDuration | ParseErrorKind::ExtraArgument
            ),
            "{bad}: {kind:?}"
        );
    }
    assert_eq!(err("wait 1 s").kind, ParseErrorKind::BadDuration);
}

#[test]
fn unterminated_quote_points_at_the_opening_quote() {
    let e = on_line_3("send c1 \"never closed; close c1");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 9, ParseErrorKind::UnterminatedQuote)
    );
    assert_eq!(e.found, "\"never closed; close c1");
    // A quoted string does not run on to the next line.
    let e = err("send c1 \"one\ntwo\"");
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, 9, ParseErrorKind::UnterminatedQuote)
    );
    let e = err("send c1 \"ends in a backslash\\");
    assert_eq!(e.kind, ParseErrorKind::UnterminatedQuote);
}

#[test]
fn bad_escape_points_at_the_backslash() {
    let e = on_line_3("send c1 \"ab\\qc\"");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 12, ParseErrorKind::BadEscape)
    );
    assert_eq!(e.found, "\\q");
    let e = on_line_3("send c1 \"한글\\xZ1\"");
    assert_eq!((e.column, e.kind), (12, ParseErrorKind::BadEscape));
    assert_eq!(e.found, "\\xZ");
    let e = on_line_3("send c1 \"\\x4\"");
    assert_eq!(e.found, "\\x4");
    // A PATH cannot hold NUL or bytes that are not UTF-8.
    assert_eq!(
        on_line_3("open f \"a\\0b\"").kind,
        ParseErrorKind::BadEscape
    );
    assert_eq!(
        on_line_3("open f \"\\xff\"").kind,
        ParseErrorKind::BadEscape
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = err("send 한 x");
    assert_eq!((e.column, e.kind), (6, ParseErrorKind::BadName));
    let e = err("send c1 \"한국어\"; lisen");
    assert_eq!(e.column, 16);
}

#[test]
fn errors_never_show_raw_control_characters() {
    let e = err("lis\x1b[2Jen srv 1");
    assert!(!e.found.contains('\x1b'), "{:?}", e.found);
    assert!(!e.to_string().contains('\x1b'));
}

#[test]
fn errors_are_localized_in_korean() {
    let e = on_line_3("lisen srv 5");
    let ko = e.localized(Lang::Ko);
    assert!(ko.starts_with("줄 3, 열 1:"), "{ko}");
    assert!(ko.contains("'listen'"), "{ko}");
    assert_eq!(e.localized(Lang::En), e.to_string());
    for src in [
        "lisen",
        "listen",
        "close a b",
        "close 1",
        "socket s x",
        "bind s x:1",
        "bind s :x",
        "listen s x",
        "wait x",
        "send a \"",
        "send a \"\\q\"",
        "listen s 99999",
    ] {
        let e = err(src);
        for lang in [Lang::En, Lang::Ko] {
            let message = e.localized(lang);
            assert!(!message.contains('{'), "{src} {lang:?}: {message}");
            assert!(!message.contains("parse."), "{src} {lang:?}: {message}");
        }
        assert_ne!(e.localized(Lang::En), e.localized(Lang::Ko), "{src}");
    }
}

#[test]
fn every_parse_key_is_in_both_locales() {
    let en: Vec<&str> = text::keys(Lang::En)
        .into_iter()
        .filter(|k| k.starts_with("parse."))
        .collect();
    assert!(en.len() >= 14, "{en:?}");
    for key in en {
        assert!(text::has(Lang::Ko, key), "{key} missing in ko.toml");
    }
}

#[test]
fn a_found_text_that_looks_like_a_placeholder_stays_as_written() {
    let e = err("{expected} x");
    assert!(e.to_string().contains("'{expected}'"), "{e}");
}

#[test]
fn durations() {
    let ok = [
        ("200ms", Duration::from_millis(200)),
        ("1s", Duration::from_secs(1)),
        ("1.5s", Duration::from_millis(1500)),
        ("2m", Duration::from_mins(2)),
        ("1h", Duration::from_hours(1)),
        ("500us", Duration::from_micros(500)),
        ("500µs", Duration::from_micros(500)),
        ("7ns", Duration::from_nanos(7)),
        ("0s", Duration::ZERO),
        ("0.25ms", Duration::from_micros(250)),
        ("1.0000000001s", Duration::from_secs(1)),
        ("24h", DURATION_MAX),
        ("1440m", DURATION_MAX),
        ("86400s", DURATION_MAX),
        ("86400000000000ns", DURATION_MAX),
    ];
    for (text, expected) in ok {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
    for bad in [
        "", "s", "-1s", "+1s", "1", "1.s", ".5s", "1..5s", "1.5.5s", "1 s", "1S", "1sec",
    ] {
        assert_eq!(parse_duration(bad), Err(DurationError::Malformed), "{bad}");
    }
    for too_long in [
        "24.000000001h",
        "86400000000001ns",
        "1441m",
        "18446744073709551615s",
        "18446744073709551616s",
        "9223372036854775807s",
        "99999999999999999999999999999999999999999h",
    ] {
        assert_eq!(
            parse_duration(too_long),
            Err(DurationError::TooLong),
            "{too_long}"
        );
    }
}

/// Issue 8, defect 1: `wait 9223372036854775807s` overflowed `Instant + Duration` in the lab.
/// Now any wait past the documented maximum is a parse error at the duration's column.
#[test]
fn issue8_d1_a_wait_past_the_maximum_is_a_positioned_error() {
    let e = err("server s; wait 9223372036854775807s");
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, 16, ParseErrorKind::DurationTooLong)
    );
    let message = e.localized(Lang::En);
    assert!(message.contains("at most 24h"), "{message}");
    assert!(message.contains("9223372036854775807s"), "{message}");
    assert!(
        !e.localized(Lang::Ko).contains("input."),
        "{}",
        e.localized(Lang::Ko)
    );
    let e = err("wait 1ms\nwait 24h\n  wait 86400.000000001s");
    assert_eq!(
        (e.line, e.column, e.kind),
        (3, 8, ParseErrorKind::DurationTooLong),
        "{e}"
    );
    // The maximum itself, and a lecture's hour, are allowed.
    assert_eq!(
        one("wait 24h"),
        Command::Wait {
            duration: DURATION_MAX
        }
    );
    assert_eq!(
        one("wait 1h"),
        Command::Wait {
            duration: Duration::from_hours(1)
        }
    );
}

/// A small deterministic generator (xorshift), so the property test needs no extra crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn name(&mut self) -> String {
        const FIRST: &[u8] = b"abcxyzABCXYZ";
        const REST: &[u8] = b"abz09AZ_-";
        let len = 1 + self.below(32) as usize;
        let mut s = String::from(char::from(self.pick(FIRST)));
        for _ in 1..len {
            s.push(char::from(self.pick(REST)));
        }
        s
    }
    fn addr(&mut self) -> SocketAddr {
        let port = self.below(65536) as u16;
        match self.below(3) {
            0 => v4(port),
            1 => SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            _ => SocketAddr::from((Ipv4Addr::from(self.next() as u32), port)),
        }
    }
    fn target(&mut self) -> Target {
        if self.below(2) == 0 {
            Target::Addr(self.addr())
        } else {
            Target::Name(self.name())
        }
    }
    fn data(&mut self) -> Vec<u8> {
        const TRICKY: &[&[u8]] = &[
            b"a",
            b" ",
            b";",
            b"#",
            b"\"",
            b"\\",
            b"\n",
            b"\r",
            b"\t",
            b"\0",
            b"\x1b",
            b"\x7f",
            b"\xff",
            b"\xc3",
            "한".as_bytes(),
            "é".as_bytes(),
            b"hello",
            b"  ",
            b"\\x41",
        ];
        let len = self.below(8);
        (0..len).flat_map(|_| self.pick(TRICKY).to_vec()).collect()
    }
    fn path(&mut self) -> String {
        let parts = ["/tmp", "/a b", ";", "#", "\"", "\\", "\t", "한", "x", ""];
        (0..self.below(5)).map(|_| self.pick(&parts)).collect()
    }
    fn command(&mut self) -> Command {
        match self.below(19) {
            0 => Command::Socket {
                name: self.name(),
                proto: self.pick(&[Proto::Tcp, Proto::Udp]),
                v6: self.below(2) == 0,
            },
            1 => Command::Bind {
                name: self.name(),
                addr: self.target(),
            },
            2 => Command::Listen {
                name: self.name(),
                backlog: self.below(65536) as u32,
            },
            3 => Command::Connect {
                name: self.name(),
                target: self.target(),
            },
            4 => Command::Accept {
                name: self.name(),
                as_name: (self.below(2) == 0).then(|| self.name()),
            },
            5 => Command::Close { name: self.name() },
            6 => Command::Send {
                name: self.name(),
                data: self.data(),
            },
            7 => Command::Recv {
                name: self.name(),
                max: 1 + self.below(1 << 20) as usize,
            },
            8 => Command::SendTo {
                name: self.name(),
                target: self.target(),
                data: self.data(),
            },
            9 => Command::RecvFrom { name: self.name() },
            10 => Command::Shutdown {
                name: self.name(),
                how: self.pick(&[ShutdownHow::Read, ShutdownHow::Write, ShutdownHow::Both]),
            },
            11 => Command::SetSockOpt {
                name: self.name(),
                option: self.pick(&[
                    SockOpt::ReuseAddr,
                    SockOpt::ReusePort,
                    SockOpt::NoDelay,
                    SockOpt::Linger0,
                    SockOpt::DeferAccept,
                ]),
                value: self.next() as u32,
            },
            12 => Command::Open {
                name: self.name(),
                path: self.path(),
            },
            13 => Command::Server {
                name: self.name(),
                addr: (self.below(2) == 0).then(|| Target::Addr(self.addr())),
                backlog: (self.below(2) == 0).then(|| self.below(65536) as u32),
            },
            14 => Command::Client {
                name: self.name(),
                target: self.target(),
            },
            15 => {
                let count = 1 + self.below(10_000) as u32;
                let mut prefix = self.name();
                prefix.truncate(32 - count.to_string().len());
                Command::Clients {
                    prefix,
                    count,
                    target: self.target(),
                }
            }
            16 => Command::Forward {
                name: self.name(),
                listen: self.addr(),
                target: self.target(),
            },
            17 => Command::AutoAccept {
                name: self.name(),
                on: self.below(2) == 0,
            },
            // Any duration up to the language's maximum (a day).
            _ => Command::Wait {
                duration: Duration::from_nanos(
                    (self.next() >> self.pick(&[0_u64, 10, 20, 30, 40, 50, 60]))
                        % (DURATION_MAX.as_nanos() as u64 + 1),
                ),
            },
        }
    }
}

#[test]
fn generated_commands_round_trip_through_to_line() {
    let mut rng = Rng(0x5eed_50c5_c0de_0001);
    for _ in 0..20_000 {
        let command = rng.command();
        let line = command.to_line();
        assert!(
            !line.contains(|c: char| c.is_control()),
            "to_line shows no control characters: {line:?}"
        );
        let parsed = parse_script(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(parsed.len(), 1, "{line:?}");
        assert_eq!(parsed[0].command, command, "{line:?}");
        assert_eq!(parsed[0].source, line);
    }
}

#[test]
fn generated_scripts_parse_to_the_same_commands() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..200 {
        let commands: Vec<Command> = (0..=rng.below(30)).map(|_| rng.command()).collect();
        let mut script = String::new();
        for command in &commands {
            script.push_str(&command.to_line());
            script.push_str(rng.pick(&["\n", ";", " ; ", " # note; \"x\n", "\r\n", "\n\n;"]));
        }
        let parsed: Vec<Command> = parse_script(&script)
            .unwrap_or_else(|e| panic!("{script:?}: {e}"))
            .into_iter()
            .map(|l| l.command)
            .collect();
        assert_eq!(parsed, commands, "{script:?}");
    }
}

#[test]
fn a_hash_inside_a_word_is_text_and_only_a_word_starting_with_hash_is_a_comment() {
    let parsed = parse_script("send c1 issue#5 # the rest is a comment; close c1").expect("parses");
    assert_eq!(parsed.len(), 1, "the `;` is inside the comment");
    assert_eq!(
        parsed[0].command,
        Command::Send {
            name: "c1".to_owned(),
            data: b"issue#5".to_vec(),
        }
    );
    let line = parsed[0].command.to_line();
    assert_eq!(
        parse_script(&line).expect("round trip")[0].command,
        parsed[0].command
    );
}
