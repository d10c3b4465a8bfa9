//! Holds a population of loopback TCP connections open, for `scripts/bench_dump.sh`.
//!
//! ```text
//! hold_sockets CONNECTIONS [HOLD_SECS]
//! ```
//!
//! Binds one listener on 127.0.0.1 (port 0, so every helper process has its own destination port and
//! its own 28k ephemeral source ports), then connects and accepts `CONNECTIONS` times: each connection
//! is two sockets (the client and the accepted end), both in this process, so it holds
//! `2 * CONNECTIONS + 1` descriptors. Every socket gets `SO_LINGER` 0, so when the process ends the
//! connections are reset instead of leaving tens of thousands of `TIME_WAIT` sockets behind for the
//! next measurement.
//!
//! Prints `ready PID PORT` once everything is connected, then holds them for `HOLD_SECS` (default
//! 300) and exits: it always ends by itself. `SIGTERM` ends it sooner.
//!
//! ```text
//! hold_sockets accept [HOLD_SECS]
//! ```
//!
//! Only the server half, for `scripts/runtime_measure.sh`'s lab of 10,000 clients (a lab that also
//! accepted them would need 20,000 descriptors, the per-process limit): listens on 127.0.0.1 port 0,
//! prints `listening PID PORT`, and accepts and holds every connection (`SO_LINGER` 0 again) until
//! `HOLD_SECS` have passed.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|mode| mode == "accept") {
        let hold = args
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(300);
        return match accept_and_hold(Duration::from_secs(hold)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("hold_sockets: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(connections) = args.next().and_then(|n| n.parse::<usize>().ok()) else {
        eprintln!("usage: hold_sockets CONNECTIONS [HOLD_SECS]");
        return ExitCode::from(2);
    };
    let hold = args
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(300);
    match hold_sockets(connections, Duration::from_secs(hold)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hold_sockets: {err}");
            ExitCode::FAILURE
        }
    }
}

fn hold_sockets(connections: usize, hold: Duration) -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    listener.listen(1024)?;
    let listener: TcpListener = listener.into();
    let target = listener.local_addr()?;
    let mut streams: Vec<TcpStream> = Vec::with_capacity(connections * 2);
    for _ in 0..connections {
        // On loopback the handshake completes inside connect(), so accept() never waits.
        let client = TcpStream::connect(target)?;
        let (accepted, _) = listener.accept()?;
        for stream in [&client, &accepted] {
            socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO))?;
        }
        streams.push(client);
        streams.push(accepted);
    }
    {
        let mut out = io::stdout().lock();
        writeln!(out, "ready {} {}", std::process::id(), target.port())?;
        out.flush()?;
    }
    thread::sleep(hold);
    drop(streams);
    Ok(())
}

fn accept_and_hold(hold: Duration) -> io::Result<()> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    listener.listen(4096)?;
    let listener: TcpListener = listener.into();
    {
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "listening {} {}",
            std::process::id(),
            listener.local_addr()?.port()
        )?;
        out.flush()?;
    }
    // The accepting thread holds the streams; the main thread ends the process when time is up.
    thread::spawn(move || {
        let mut streams: Vec<TcpStream> = Vec::new();
        while let Ok((accepted, _)) = listener.accept() {
            let _ = socket2::SockRef::from(&accepted).set_linger(Some(Duration::ZERO));
            streams.push(accepted);
        }
    });
    thread::sleep(hold);
    Ok(())
}
