//! How long one frame of the dashboard takes: a 200x60 screen with 1,000 connections (plus their
//! descriptors, ports and trace) rendered into a ratatui `TestBackend`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockscope::app::{App, Panel};
use sockscope::model::{
    FdEntry, FdKind, KernelOnly, ListenerInfo, PortUse, Proto, Role, Snapshot, SocketInfo,
    StateChange, TcpState, TraceEntry, Waiting,
};
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

criterion_group!(benches, render);
criterion_main!(benches);
