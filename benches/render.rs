//! How long one frame of the dashboard takes: a 200x60 screen with 1,000 connections (plus their
//! descriptors, ports and trace) rendered into a ratatui `TestBackend`; and the same with the
//! capture full (256 connections of 512 segments, its bound) and the ladder focused on one of them.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockscope::app::{App, Panel};
use sockscope::model::{
    CaptureInfo, CapturedConnection, FdEntry, FdKind, KernelOnly, ListenerInfo, Network, PortUse,
    Proto, Role, Segment, Snapshot, SocketInfo, StateChange, TcpState, TraceEntry, Waiting,
};
use sockscope::net::decode::{flag_names, flags};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::ui;

const CONNECTIONS: usize = 1_000;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn connection(index: usize) -> SocketInfo {
    let (role, local, remote) = if index.is_multiple_of(2) {
        (Role::Client, 40_000 + index as u16, 5555)
    } else {
        (Role::Accepted, 5555, 40_000 + index as u16 - 1)
    };
    let state = match index % 10 {
        0 => TcpState::SynSent,
        1 => TcpState::CloseWait,
        2 => TcpState::FinWait2,
        _ => TcpState::Established,
    };
    SocketInfo {
        name: format!("s{index}"),
        fd: 10 + index as i32,
        proto: Proto::Tcp,
        role,
        local: Some(addr(local)),
        remote: Some(addr(remote)),
        state,
        recv_q: (index % 7) as u32,
        send_q: (index % 5) as u32,
        bytes_sent: index as u64 * 1_337,
        bytes_received: index as u64 * 911,
        inode: 500_000 + index as u64,
        age_ms: 60_000 + index as u64,
        history: vec![
            StateChange {
                state: TcpState::SynSent,
                at_ms: 0,
            },
            StateChange { state, at_ms: 10 },
        ],
        forwarder: None,
        tcp: None,
        host: None,
    }
}

fn snapshot() -> Snapshot {
    let mut sockets = vec![SocketInfo {
        name: "srv".to_owned(),
        role: Role::Listener,
        state: TcpState::Listen,
        remote: None,
        ..connection(0)
    }];
    sockets.extend((1..=CONNECTIONS).map(connection));
    let fds = sockets
        .iter()
        .map(|socket| FdEntry {
            fd: socket.fd,
            kind: FdKind::Socket,
            target: format!("socket:[{}]", socket.inode),
            name: Some(socket.name.clone()),
            label: "IPv4/TCP".to_owned(),
            peer: None,
            address: None,
            purpose: None,
        })
        .collect();
    let in_use = sockets
        .iter()
        .filter(|socket| socket.role == Role::Client)
        .map(|socket| PortUse {
            port: socket.local.map_or(0, |local| local.port()),
            proto: Proto::Tcp,
            name: socket.name.clone(),
        })
        .collect();
    Snapshot {
        fds,
        sockets,
        listeners: vec![ListenerInfo {
            name: "srv".to_owned(),
            local: Some(addr(5555)),
            backlog: 128,
            backlog_requested: 128,
            accept_queue: 100,
            syn_queue: 0,
            waiting: (0..100)
                .map(|index| Waiting {
                    peer: addr(50_000 + index),
                    state: TcpState::Established,
                })
                .collect(),
            half_open: Vec::new(),
            auto_accept: false,
        }],
        kernel_only: (0..100)
            .map(|index| KernelOnly {
                local: addr(45_000 + index),
                remote: addr(5555),
                state: TcpState::TimeWait,
                was: Some(format!("old{index}")),
                timer_ms: Some(59_000),
            })
            .collect(),
        ports: sockscope::model::Ports {
            in_use,
            ..Default::default()
        },
        trace: (0..500)
            .map(|index| TraceEntry {
                call: format!("accept4(5, ..., SOCK_NONBLOCK|SOCK_CLOEXEC) #{index}"),
                result: "-1 EAGAIN".to_owned(),
                errno: Some("EAGAIN".to_owned()),
                failed: false,
                name: Some("srv".to_owned()),
                at_ms: index,
            })
            .collect(),
        at_ms: 100_000,
        ..Default::default()
    }
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`), if the kernel says.
/// Used for a second measurement that other load on the machine does not inflate.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn render(c: &mut Criterion) {
    let mut app = App::new(Lang::En, ThemeName::Default);
    app.pid = 4242;
    app.apply(snapshot());
    app.now_ms = 100_500;
    app.focus = Panel::Connections;
    app.select(Panel::Connections, CONNECTIONS / 2);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    c.bench_function("render 200x60, 1000 connections", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| ui::render(frame, black_box(&app)))
                .expect("draw");
        });
    });
    if thread_cpu_ns().is_some() {
        c.bench_function("render 200x60, 1000 connections (thread CPU time)", |b| {
            b.iter_custom(|iterations| {
                let start = thread_cpu_ns().unwrap_or(0);
                for _ in 0..iterations {
                    terminal
                        .draw(|frame| ui::render(frame, black_box(&app)))
                        .expect("draw");
                }
                Duration::from_nanos(thread_cpu_ns().unwrap_or(0).saturating_sub(start))
            });
        });
    }
}

/// Captured connections and segments per connection when the capture is full (`net::flows`).
const CAPTURED: u16 = 256;
const PER_CONNECTION: u32 = 512;

/// The capture at its bound: the clients `s2`, `s4`, ... each with a handshake and data, segments
/// of all connections interleaved as the capture records them.
fn full_capture(snapshot: &mut Snapshot) {
    let server = addr(5555);
    let mut connections = Vec::new();
    for k in 1..=CAPTURED {
        let client = addr(40_000 + 2 * k);
        connections.push(CapturedConnection {
            conn: format!("s{}", 2 * k).into(),
            proto: Proto::Tcp,
            a: client,
            b: server,
            a_name: Some(format!("s{}", 2 * k).into()),
            b_name: Some(format!("s{}", 2 * k + 1).into()),
            segments: u64::from(PER_CONNECTION),
            dropped: 0,
        });
    }
    let mut segments = Vec::with_capacity(connections.len() * PER_CONNECTION as usize);
    for position in 0..PER_CONNECTION {
        for connection in &connections {
            let from_client = position % 2 == 0;
            let bits = match position {
                0 => flags::SYN,
                1 => flags::SYN | flags::ACK,
                2 => flags::ACK,
                _ if from_client => flags::PSH | flags::ACK,
                _ => flags::ACK,
            };
            let (from, to) = if from_client {
                (connection.a, connection.b)
            } else {
                (connection.b, connection.a)
            };
            let len = if bits & flags::PSH != 0 { 1_000 } else { 0 };
            segments.push(Segment {
                conn: connection.conn.clone(),
                t_us: u64::from(position) * 100,
                proto: Proto::Tcp,
                from,
                to,
                from_name: None,
                to_name: None,
                flags: flag_names(bits),
                flag_bits: bits,
                seq: position * 1_000,
                ack: position * 1_000,
                rel_seq: position * 500,
                rel_ack: position * 500,
                len,
                win: 512,
                retransmission: false,
                preview: (len > 0).then(|| "\"0123456789abcdef0123456789abcdef\"".into()),
                dropped_before: 0,
                wire_id: None,
                wire: None,
                nat: None,
                nat_drop: None,
            });
        }
    }
    snapshot.segments = segments.into();
    snapshot.capture = CaptureInfo {
        network: Network::Private,
        active: true,
        captured: u64::from(CAPTURED) * u64::from(PER_CONNECTION),
        connections,
        ..CaptureInfo::default()
    };
}

fn render_ladder(c: &mut Criterion) {
    let mut app = App::new(Lang::En, ThemeName::Default);
    app.pid = 4242;
    let mut snapshot = snapshot();
    full_capture(&mut snapshot);
    app.apply(snapshot);
    app.now_ms = 100_500;
    app.focus = Panel::Connections;
    // Row 499 is s500, a client with a captured connection.
    app.select(Panel::Connections, 499);
    app.focus = Panel::Ladder;
    app.select(Panel::Ladder, 200);
    assert_eq!(app.ladder().segments.len(), PER_CONNECTION as usize);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    c.bench_function(
        "render 200x60, ladder focused, full capture (131k segments)",
        |b| {
            b.iter(|| {
                terminal
                    .draw(|frame| ui::render(frame, black_box(&app)))
                    .expect("draw");
            });
        },
    );
    c.bench_function("build the ladder of one connection, full capture", |b| {
        b.iter(|| black_box(&app).ladder().rows.len());
    });
}

criterion_group!(benches, render, render_ladder);
criterion_main!(benches);
