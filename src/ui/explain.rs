//! The explanation of the selected item, in the app's language, with the command that proves the
//! same fact outside sockscope (`ss`, `lsof`, `/proc`, `strace`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::draw;
use super::explain_segment;
pub use super::para::Para;
use super::para::in_lab_network;
use super::theme::Theme;
use crate::app::{App, Item, Panel};
use crate::escape::visible;
use crate::model::PortBand;
use crate::model::{
    FdEntry, KernelOnly, ListenerInfo, PortUse, Proto, Role, SocketInfo, TcpState, TraceEntry,
};
use crate::text::{self, Lang};

/// Errno names with an explanation of their own (`explain.errno.NAME`).
const ERRNOS: [&str; 19] = [
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ECONNREFUSED",
    "EAGAIN",
    "EINPROGRESS",
    "ECONNRESET",
    "ECONNABORTED",
    "EPIPE",
    "ENOTCONN",
    "EISCONN",
    "EALREADY",
    "EINVAL",
    "EMFILE",
    "ENFILE",
    "EBADF",
    "EACCES",
    "ETIMEDOUT",
    "EOPNOTSUPP",
    "ENETUNREACH",
];

/// Syscalls with an explanation of their own (`explain.call.NAME`).
const CALLS: [&str; 14] = [
    "socket",
    "bind",
    "listen",
    "connect",
    "accept4",
    "send",
    "sendto",
    "recv",
    "recvfrom",
    "close",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "openat",
];

/// The explanation of `item` (or of how to get one, when nothing is selected).
#[must_use]
pub fn explain(app: &App, item: Option<Item<'_>>) -> Vec<Para> {
    let Some(item) = item else {
        return vec![Para::Text(app.t("explain.nothing").to_owned())];
    };
    let mut paras = match item {
        Item::Fd(entry) => fd(app, entry),
        Item::Listener(listener) => listener_paras(app, listener),
        Item::Socket(socket) => socket_paras(app, socket),
        Item::KernelOnly(held) => kernel_only(app, held),
        Item::PortBand(band) => band_paras(app, band),
        Item::Port(used) => port(app, used),
        Item::Trace(entry) => trace(app, entry),
        Item::Segment(segment) => explain_segment::segment(app, &app.ladder(), segment),
        Item::SegmentGap(count) => explain_segment::gap(app, &app.ladder(), count),
    };
    paras.extend(history_check_paras(app, item));
    paras
}

fn fmt(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    text::format(lang, key, args)
}

/// The TCP state's meaning: what it is, who waits for what.
#[must_use]
pub fn state_text(lang: Lang, state: TcpState) -> String {
    let key = match state {
        TcpState::Unknown(_) => "state.UNKNOWN".to_owned(),
        other => format!("state.{}", other.name()),
    };
    text::get(lang, &key).to_owned()
}

fn pid(app: &App) -> String {
    app.pid.to_string()
}

fn fd(app: &App, entry: &FdEntry) -> Vec<Para> {
    let lang = app.lang;
    let number = entry.fd.to_string();
    let target = visible(&entry.target);
    let name = entry.name.as_deref().map(visible).unwrap_or_default();
    let label = if entry.label.is_empty() {
        entry.kind.name().to_owned()
    } else {
        visible(&entry.label)
    };
    let mut paras = vec![Para::Heading(format!(
        "fd {number}: {label} {target} {name}"
    ))];
    paras.push(Para::Command(format!(
        "ls -l /proc/{}/fd/{number}",
        pid(app)
    )));
    paras.push(in_lab_network(
        app,
        format!("lsof -p {} -a -d {number}", pid(app)),
    ));
    // sockscope's own descriptors say what they are for; the lab's say what kind they are.
    let key = match entry.purpose.as_deref() {
        Some(purpose) => format!("fd_purpose.{purpose}"),
        None if entry.label == "FIFO" => "explain.ipc.fifo".to_owned(),
        None if entry.label == "pipe" => "explain.ipc.pipe".to_owned(),
        None if entry.label.starts_with("unix") => "explain.ipc.unix".to_owned(),
        None if entry.label == "netlink" => "explain.ipc.netlink".to_owned(),
        None if entry.label == "packet" => "explain.ipc.packet".to_owned(),
        None => format!("explain.fd.{}", entry.kind.name()),
    };
    paras.push(Para::Text(fmt(
        lang,
        &key,
        &[
            ("fd", &number),
            ("target", &target),
            ("name", &name),
            ("label", &label),
        ],
    )));
    if let Some(peer) = &entry.peer {
        paras.push(Para::Text(fmt(
            lang,
            "explain.ipc.peer",
            &[("peer", &visible(peer))],
        )));
    }
    if let Some(address) = &entry.address {
        paras.push(Para::Text(fmt(
            lang,
            "explain.ipc.address",
            &[("address", &visible(address))],
        )));
    }
    paras.push(Para::Text(fmt(
        lang,
        "explain.fd.table",
        &[("fd", &number)],
    )));
    paras
}

fn listener_paras(app: &App, listener: &ListenerInfo) -> Vec<Para> {
    let lang = app.lang;
    let port = listener
        .local
        .map_or_else(|| "?".to_owned(), |local| local.port().to_string());
    let local = listener
        .local
        .map_or_else(|| "-".to_owned(), |local| local.to_string());
    let name = visible(&listener.name);
    let slots = (listener.backlog + 1).to_string();
    let mut paras = vec![
        Para::Heading(format!("{name} LISTEN {local}")),
        in_lab_network(app, format!("ss -ltn 'sport = :{port}'")),
        Para::Note(app.t("explain.listener.ss_note").to_owned()),
        Para::Text(fmt(
            lang,
            "explain.listener.backlog",
            &[
                ("name", &name),
                ("local", &local),
                ("asked", &listener.backlog_requested.to_string()),
                ("somaxconn", &app.snapshot.ports.somaxconn.to_string()),
                ("backlog", &listener.backlog.to_string()),
                ("slots", &slots),
                ("queued", &listener.accept_queue.to_string()),
            ],
        )),
        Para::Text(app.t("explain.listener.full").to_owned()),
        Para::Text(fmt(
            lang,
            "explain.listener.syn",
            &[("count", &listener.syn_queue.to_string())],
        )),
    ];
    if listener.auto_accept {
        paras.push(Para::Text(app.t("explain.listener.auto_accept").to_owned()));
    }
    paras.push(in_lab_network(
        app,
        "nstat -az TcpExtListenOverflows TcpExtListenDrops",
    ));
    let scope = app.snapshot.counters.scope.key();
    paras.push(Para::Note(
        app.t(&format!("counters.explain_{scope}")).to_owned(),
    ));
    paras
}

fn ss_tuple(flags: &str, local: std::net::SocketAddr, remote: std::net::SocketAddr) -> String {
    format!(
        "ss -{flags} 'sport = :{} and dport = :{}'",
        local.port(),
        remote.port()
    )
}

fn socket_paras(app: &App, socket: &SocketInfo) -> Vec<Para> {
    let lang = app.lang;
    let name = visible(&socket.name);
    let local = socket
        .local
        .map_or_else(|| "-".to_owned(), |local| local.to_string());
    let remote = socket
        .remote
        .map_or_else(|| "*".to_owned(), |remote| remote.to_string());
    let local_port = socket
        .local
        .map_or_else(|| "?".to_owned(), |local| local.port().to_string());
    let mut paras = vec![Para::Heading(format!(
        "{name} {} {local} -> {remote} {}",
        socket.proto.name(),
        socket.state.name()
    ))];
    match (socket.proto, socket.local, socket.remote) {
        (Proto::Tcp, Some(local), Some(remote)) => {
            paras.push(in_lab_network(app, ss_tuple("tn", local, remote)));
            paras.push(Para::Note(app.t("explain.socket.ss_note").to_owned()));
        }
        (Proto::Udp, Some(local), _) => {
            paras.push(in_lab_network(
                app,
                format!("ss -uan 'sport = :{}'", local.port()),
            ));
        }
        (Proto::Tcp, Some(local), None) => {
            paras.push(in_lab_network(
                app,
                format!("ss -tan 'sport = :{}'", local.port()),
            ));
        }
        _ => paras.push(Para::Command(format!(
            "ls -l /proc/{}/fd/{}",
            pid(app),
            socket.fd
        ))),
    }
    paras.push(Para::Text(state_text(lang, socket.state)));
    let role_key = match socket.role {
        Role::Client => "explain.role.client",
        Role::Accepted => "explain.role.accepted",
        Role::Datagram => "explain.role.datagram",
        Role::Listener => "explain.role.listener",
        Role::Unconnected => "explain.role.unconnected",
    };
    paras.push(Para::Text(fmt(
        lang,
        role_key,
        &[
            ("name", &name),
            ("port", &local_port),
            ("remote", &remote),
            ("fd", &socket.fd.to_string()),
        ],
    )));
    paras.push(Para::Text(fmt(
        lang,
        "explain.socket.queues",
        &[
            ("recv_q", &socket.recv_q.to_string()),
            ("send_q", &socket.send_q.to_string()),
        ],
    )));
    if let Some(forwarder) = &socket.forwarder {
        paras.push(Para::Text(fmt(
            lang,
            "explain.socket.forwarder",
            &[("forwarder", &visible(forwarder))],
        )));
    }
    paras
}

fn kernel_only(app: &App, held: &KernelOnly) -> Vec<Para> {
    let lang = app.lang;
    let was = held.was.as_deref().map_or_else(|| "?".to_owned(), visible);
    let timer = held.timer_ms.map_or_else(|| "?".to_owned(), draw::duration);
    let mut paras = vec![Para::Heading(format!(
        "{} -> {} {}",
        held.local,
        held.remote,
        held.state.name()
    ))];
    if held.state == TcpState::TimeWait {
        paras.push(in_lab_network(app, "ss -tan state time-wait"));
        paras.push(in_lab_network(
            app,
            ss_tuple("tano", held.local, held.remote),
        ));
        paras.push(Para::Text(fmt(
            lang,
            "explain.time_wait",
            &[("was", &was), ("timer", &timer)],
        )));
    } else {
        paras.push(in_lab_network(
            app,
            ss_tuple("tano", held.local, held.remote),
        ));
        paras.push(Para::Text(state_text(lang, held.state)));
        paras.push(Para::Text(fmt(
            lang,
            "explain.orphan",
            &[("was", &was), ("timer", &timer)],
        )));
    }
    paras
}

fn band_paras(app: &App, band: PortBand) -> Vec<Para> {
    let ports = &app.snapshot.ports;
    let (lo, hi) = band.range(ports.ephemeral);
    let name = app.t(&format!("band.{}", band.key()));
    let mut paras = vec![
        Para::Heading(format!("{name} {lo}-{hi}")),
        in_lab_network(app, "cat /proc/sys/net/ipv4/ip_local_port_range"),
    ];
    if band == PortBand::WellKnown {
        paras.push(in_lab_network(
            app,
            "cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
        ));
    }
    paras.push(Para::Text(fmt(
        app.lang,
        &format!("explain.band.{}", band.key()),
        &[
            ("lo", &lo.to_string()),
            ("hi", &hi.to_string()),
            ("unprivileged", &ports.unprivileged_start.to_string()),
        ],
    )));
    paras
}

/// The band a port falls in, named in the app's language, and whether it is ephemeral.
fn port_band(app: &App, port: u16) -> (&'static str, bool) {
    let band = [PortBand::WellKnown, PortBand::Registered, PortBand::Dynamic]
        .into_iter()
        .find(|band| {
            let (lo, hi) = band.range([0, 0]);
            (lo..=hi).contains(&port)
        })
        .unwrap_or(PortBand::Dynamic);
    let [lo, hi] = app.snapshot.ports.ephemeral;
    (
        app.t(&format!("band.{}", band.key())),
        (lo..=hi).contains(&port),
    )
}

fn port(app: &App, used: &PortUse) -> Vec<Para> {
    let (band, ephemeral) = port_band(app, used.port);
    let name = visible(&used.name);
    let flag = match used.proto {
        Proto::Tcp => "tan",
        Proto::Udp => "uan",
    };
    let key = if ephemeral {
        "explain.port.ephemeral"
    } else {
        "explain.port.fixed"
    };
    vec![
        Para::Heading(format!("{}/{} {name}", used.port, used.proto.name())),
        in_lab_network(app, format!("ss -{flag}p 'sport = :{}'", used.port)),
        Para::Text(fmt(
            app.lang,
            key,
            &[
                ("name", &name),
                ("port", &used.port.to_string()),
                ("proto", used.proto.name()),
                ("band", band),
            ],
        )),
    ]
}

/// The syscall's name: `accept4(5, ...)` -> `accept4`.
fn call_name(call: &str) -> &str {
    call.split('(').next().unwrap_or(call).trim()
}

fn trace(app: &App, entry: &TraceEntry) -> Vec<Para> {
    if entry.errno.is_none() && matches!(entry.result.as_str(), "decoded" | "protocol error") {
        return decoded(app, entry);
    }
    let lang = app.lang;
    let call = visible(call_name(&entry.call));
    let known = match call.as_str() {
        "accept" => "accept4",
        "open" => "openat",
        "write" => "send",
        "read" => "recv",
        other => other,
    };
    let mut paras = vec![
        Para::Heading(format!(
            "{} = {}",
            visible(&entry.call),
            visible(&entry.result)
        )),
        Para::Command(format!("strace -f -e trace=%net,close -p {}", pid(app))),
    ];
    if CALLS.contains(&known) {
        paras.push(Para::Text(
            app.t(&format!("explain.call.{known}")).to_owned(),
        ));
    } else {
        paras.push(Para::Text(fmt(
            lang,
            "explain.call.other",
            &[("call", &call)],
        )));
    }
    if let Some(errno) = &entry.errno {
        let errno = visible(errno);
        let meaning = if ERRNOS.contains(&errno.as_str()) {
            app.t(&format!("explain.errno.{errno}")).to_owned()
        } else {
            fmt(
                lang,
                "explain.errno.other",
                &[("errno", &errno), ("call", &call)],
            )
        };
        paras.push(Para::Text(format!("{errno}: {meaning}")));
    }
    paras.push(Para::Command(format!("man 2 {call}")));
    paras
}

/// An entry that is no syscall but what the bytes of the calls before it meant (the HTTP and
/// WebSocket verbs): what kind of reading it is, and how to see the same bytes outside.
fn decoded(app: &App, entry: &TraceEntry) -> Vec<Para> {
    let mut paras = vec![Para::Heading(visible(&entry.call))];
    let kind = if entry.call.starts_with("ws frame") {
        "websocket.explain_frame"
    } else if entry.call.starts_with("http") {
        "websocket.explain_http"
    } else {
        "websocket.explain_event"
    };
    paras.push(Para::Text(app.t(kind).to_owned()));
    paras.push(Para::Note(app.t("websocket.explain_decoded").to_owned()));
    paras.push(Para::Command("tcpdump -i lo -nX 'tcp'".to_owned()));
    paras
}

/// The explanation as wrapped, styled lines for a pane `width` columns wide.
#[must_use]
pub fn lines(theme: &Theme, paras: &[Para], width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for para in paras {
        let (text, style, indent) = match para {
            Para::Heading(text) => (text.clone(), Style::new().add_modifier(Modifier::BOLD), ""),
            Para::Text(text) => (text.clone(), Style::new(), ""),
            Para::Command(text) => (format!("$ {text}"), theme.accent, "  "),
            Para::Note(text) => (text.clone(), theme.muted, "  "),
        };
        for (index, line) in draw::wrap(
            &text,
            width.saturating_sub(if indent.is_empty() { 0 } else { 2 }),
        )
        .into_iter()
        .enumerate()
        {
            let prefix = if index == 0 && matches!(para, Para::Command(_)) {
                ""
            } else {
                indent
            };
            out.push(Line::from(Span::styled(format!("{prefix}{line}"), style)));
        }
    }
    out
}

/// Draws the explanation of the selected item into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(app.theme);
    let inner = draw::panel_block(frame, area, &theme, app.t("panel.explain"), false);
    if inner.is_empty() {
        return;
    }
    let paras = if app.focus == Panel::Ladder {
        // Built once here: the ladder filters the whole capture.
        let ladder = app.ladder();
        let selected = app.selected_within(Panel::Ladder, ladder.rows.len());
        match ladder.item(selected) {
            Some(Item::Segment(segment)) => explain_segment::segment(app, &ladder, segment),
            Some(Item::SegmentGap(count)) => explain_segment::gap(app, &ladder, count),
            other => explain(app, other),
        }
    } else {
        explain(app, app.selected_item())
    };
    let buf = frame.buffer_mut();
    for (offset, line) in lines(&theme, &paras, usize::from(inner.width))
        .iter()
        .take(usize::from(inner.height))
        .enumerate()
    {
        draw::put(buf, inner, inner.y + offset as u16, line);
    }
}

// --- issue 10 (history): where a state history comes from, and a disagreement between sources ---

/// What the kernel and the captured segments say of one TCP socket or kernel-held tuple.
struct HistoryCheck {
    name: String,
    kernel: TcpState,
    /// The locale key naming where `kernel` comes from (`TCP_INFO`, `sock_diag`).
    source: &'static str,
    implied: TcpState,
    cause: crate::model::StateCause,
    disagreement: bool,
    sampled: String,
    segments: String,
    tuple: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
}

fn states_joined(history: &[crate::model::StateChange]) -> String {
    let states: Vec<&str> = history.iter().map(|change| change.state.name()).collect();
    states.join(">")
}

/// The check of `item`, or (`Err`) the note that its history is sampled, or nothing to say.
fn history_check(app: &App, item: Item<'_>) -> Option<Result<HistoryCheck, Para>> {
    use crate::model::HistorySource;
    match item {
        Item::Socket(socket) => {
            let tcp = socket.tcp.as_ref()?;
            if tcp.history_source == HistorySource::Sampled {
                let key = if !app.snapshot.capture.active {
                    "explain.history.sampled_no_capture"
                } else if socket.remote.is_none() {
                    "explain.history.sampled_own_calls"
                } else {
                    "explain.history.sampled_unseen"
                };
                let reason = app.snapshot.capture.reason.clone().unwrap_or_default();
                return Some(Err(Para::Note(fmt(app.lang, key, &[("reason", &reason)]))));
            }
            Some(Ok(HistoryCheck {
                name: visible(&socket.name),
                kernel: socket.state,
                source: "explain.history.source_tcp_info",
                implied: tcp.state_from_segments?,
                cause: tcp.state_from_segments_cause?,
                disagreement: tcp.disagreement,
                sampled: states_joined(&tcp.sampled_history),
                segments: states_joined(&socket.history),
                tuple: socket.local.zip(socket.remote),
            }))
        }
        Item::KernelOnly(held) => {
            let history = app
                .snapshot
                .kernel_only_history
                .iter()
                .find(|history| history.local == held.local && history.remote == held.remote)?;
            Some(Ok(HistoryCheck {
                name: held.was.as_deref().map_or_else(|| "?".to_owned(), visible),
                kernel: held.state,
                source: "explain.history.source_sock_diag",
                implied: history.state_from_segments,
                cause: history.state_from_segments_cause,
                disagreement: history.disagreement,
                sampled: held.state.name().to_owned(),
                segments: states_joined(&history.history),
                tuple: Some((held.local, held.remote)),
            }))
        }
        _ => None,
    }
}

/// Where the selected TCP socket's (or kernel-held tuple's) state history comes from, and when the
/// kernel's state and the captured segments' disagree, what each says and how to compare them.
fn history_check_paras(app: &App, item: Item<'_>) -> Vec<Para> {
    let lang = app.lang;
    let check = match history_check(app, item) {
        None => return Vec::new(),
        Some(Err(note)) => return vec![note],
        Some(Ok(check)) => check,
    };
    let key = if check.cause.sent {
        "explain.history.cause_sent"
    } else {
        "explain.history.cause_received"
    };
    let time = format!(
        "+{}.{:03} ms",
        check.cause.t_us / 1000,
        check.cause.t_us % 1000
    );
    let cause = fmt(lang, key, &[("flags", check.cause.flags), ("time", &time)]);
    if !check.disagreement {
        let key = if check.implied == check.kernel {
            "explain.history.from_segments"
        } else {
            "explain.history.time_wait_handover"
        };
        let args = [
            ("name", check.name.as_str()),
            ("implied", check.implied.name()),
            ("cause", &cause),
        ];
        return vec![Para::Note(fmt(lang, key, &args))];
    }
    let mut paras = vec![
        Para::Text(fmt(
            lang,
            "explain.history.disagreement",
            &[
                ("mark", "!"),
                ("source", app.t(check.source)),
                ("kernel", check.kernel.name()),
                ("implied", check.implied.name()),
                ("cause", &cause),
                ("sampled", &check.sampled),
                ("segments", &check.segments),
            ],
        )),
        Para::Text(fmt(
            lang,
            "explain.history.disagreement_why",
            &[("drops", &app.snapshot.capture.kernel_drops.to_string())],
        )),
    ];
    if let Some((local, remote)) = check.tuple {
        // In the private network, `ss` and `tcpdump` must run inside the lab's namespace.
        let inside = if app.snapshot.capture.network == crate::model::Network::Private {
            "sockscope exec -- "
        } else {
            ""
        };
        paras.push(Para::Command(format!(
            "{inside}{}",
            ss_tuple("tnio", local, remote)
        )));
        paras.push(Para::Command(format!(
            "{inside}tcpdump -ni lo 'tcp port {} and tcp port {}'",
            local.port(),
            remote.port()
        )));
    }
    paras
}
