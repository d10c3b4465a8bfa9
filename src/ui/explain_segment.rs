//! The explanation of a segment selected on the ladder: what its flags mean at this point of the
//! connection, the state changes it caused, and the commands that show the same outside sockscope
//! (`tcpdump` for the segment itself, `ss -ti` for the kernel's counters).

use super::ladder::{flags_label, lifeline_label, since};
use super::para::{Para, in_lab_network};
use crate::app::{App, Ladder, Lifeline};
use crate::escape::visible;
use crate::model::{NatSide, Network, Proto, Segment, TcpState};
use crate::net::decode::flags;
use crate::net::flows::{HEAD_KEEP, TAIL_KEEP};
use crate::net::ladder::Transition;
use crate::text;

/// What a segment does at its place in the connection: picks the sentence that explains it.
fn kind(segment: &Segment, caused: &[&Transition]) -> &'static str {
    let entered = |state: TcpState| caused.iter().any(|t| !t.sent && t.state == state);
    if segment.proto == Proto::Udp {
        "ladder.explain.udp"
    } else if segment.has_flag(flags::RST) {
        "ladder.explain.rst"
    } else if segment.has_flag(flags::SYN) && segment.has_flag(flags::ACK) {
        "ladder.explain.syn_ack"
    } else if segment.has_flag(flags::SYN) {
        "ladder.explain.syn"
    } else if segment.has_flag(flags::FIN) {
        "ladder.explain.fin"
    } else if segment.len > 0 {
        "ladder.explain.data"
    } else if entered(TcpState::Established) {
        "ladder.explain.handshake_ack"
    } else if entered(TcpState::FinWait2) || entered(TcpState::TimeWait) || entered(TcpState::Close)
    {
        "ladder.explain.fin_ack"
    } else {
        "ladder.explain.ack"
    }
}

/// The side's short name for sentences: its lab name, else its address.
fn who(side: Option<Lifeline<'_>>, addr: std::net::SocketAddr) -> String {
    side.and_then(|side| side.name)
        .map_or_else(|| addr.to_string(), visible)
}

/// The explanation of `segment`, one of `ladder`'s (the ladder the app shows).
#[must_use]
pub fn segment(app: &App, ladder: &Ladder<'_>, segment: &Segment) -> Vec<Para> {
    let lang = app.lang;
    let index = ladder.index_of(segment);
    let caused: Vec<&Transition> = index
        .map(|index| ladder.transitions_at(index).collect())
        .unwrap_or_default();
    let from = who(ladder.lifeline(segment.from), segment.from);
    let to = who(ladder.lifeline(segment.to), segment.to);
    let first = ladder.segments.first().map_or(0, |first| first.t_us);
    let preview = segment
        .preview
        .as_deref()
        .map_or_else(|| app.t("ladder.explain.no_payload").to_owned(), visible);
    let numbers = match segment.proto {
        Proto::Tcp => format!(
            " seq={} ack={} len={} win={}",
            segment.rel_seq, segment.rel_ack, segment.len, segment.win
        ),
        Proto::Udp => format!(" len={}", segment.len),
    };
    let heading = format!(
        "{from} -> {to}: {}{numbers} +{}",
        flags_label(segment),
        since(segment.t_us.saturating_sub(first))
    );
    let mut paras = vec![Para::Heading(heading)];
    let next = segment
        .rel_seq
        .wrapping_add(segment.len)
        .wrapping_add(u32::from(segment.has_flag(flags::FIN)));
    // The state changes first: short, and what a small pane must not lose.
    for transition in &caused {
        let how = if transition.sent {
            app.t("ladder.explain.by_sending")
        } else {
            app.t("ladder.explain.by_receiving")
        };
        paras.push(Para::Text(text::format(
            lang,
            "ladder.explain.entered",
            &[
                (
                    "side",
                    &who(ladder.lifeline(transition.side), transition.side),
                ),
                ("state", transition.state.name()),
                ("how", how),
            ],
        )));
    }
    paras.push(Para::Text(text::format(
        lang,
        kind(segment, &caused),
        &[
            ("from", &from),
            ("to", &to),
            ("seq", &segment.seq.to_string()),
            ("ack", &segment.ack.to_string()),
            ("rel_seq", &segment.rel_seq.to_string()),
            ("rel_ack", &segment.rel_ack.to_string()),
            ("len", &segment.len.to_string()),
            ("win", &segment.win.to_string()),
            ("next", &next.to_string()),
            ("preview", &preview),
        ],
    )));
    if segment.retransmission {
        paras.push(Para::Text(
            app.t("ladder.explain.retransmission").to_owned(),
        ));
    }
    paras.extend(nat(app, segment));
    paras.extend(commands(app, ladder, segment.proto));
    paras
}

/// What the wire's NAT did with the segment (`--net wire` with a rule), and what the NAT table
/// panel shows.
fn nat(app: &App, segment: &Segment) -> Vec<Para> {
    let said = if let Some(word) = segment.nat_drop {
        let reason = app.t(&format!("nat.drop.{word}"));
        text::format(
            app.lang,
            "ladder.explain.nat_dropped",
            &[("reason", reason)],
        )
    } else {
        match segment.nat {
            Some(NatSide::Sent) => app.t("ladder.explain.nat_sent").to_owned(),
            Some(NatSide::Rewritten) => app.t("ladder.explain.nat_rewritten").to_owned(),
            None => return Vec::new(),
        }
    };
    vec![
        Para::Text(said),
        Para::Text(app.t("nat.ui.explain").to_owned()),
    ]
}

/// `tcpdump` for the segment, `ss -ti` for the counters; in the private network through
/// `sockscope exec`.
fn commands(app: &App, ladder: &Ladder<'_>, proto: Proto) -> Vec<Para> {
    let (Some(left), Some(right)) = (ladder.left.addr, ladder.right.addr) else {
        return Vec::new();
    };
    let tcpdump_note = match app.snapshot.capture.network {
        Network::Host => app.t("ladder.explain.tcpdump_note"),
        Network::Private | Network::Wire => app.t("ladder.explain.tcpdump_note_private"),
    };
    let mut paras = Vec::new();
    match proto {
        Proto::Tcp => {
            paras.push(in_lab_network(
                app,
                format!("tcpdump -i lo -n 'tcp port {}'", right.port()),
            ));
            paras.push(Para::Note(tcpdump_note.to_owned()));
            paras.push(in_lab_network(
                app,
                format!(
                    "ss -ti 'sport = :{} and dport = :{}'",
                    left.port(),
                    right.port()
                ),
            ));
            paras.push(Para::Note(app.t("ladder.explain.ss_note").to_owned()));
        }
        Proto::Udp => {
            paras.push(in_lab_network(
                app,
                format!("tcpdump -i lo -n 'udp port {}'", right.port()),
            ));
            paras.push(Para::Note(tcpdump_note.to_owned()));
        }
    }
    paras
}

/// The explanation of a gap line: what the ring let go, and why.
#[must_use]
pub fn gap(app: &App, ladder: &Ladder<'_>, count: u64) -> Vec<Para> {
    let mut paras = vec![
        Para::Heading(text::format(
            app.lang,
            "ladder.gap",
            &[("count", &count.to_string())],
        )),
        Para::Text(text::format(
            app.lang,
            "ladder.explain.gap",
            &[
                ("count", &count.to_string()),
                ("head", &HEAD_KEEP.to_string()),
                ("tail", &TAIL_KEEP.to_string()),
                (
                    "conn",
                    &ladder.connection.map_or_else(
                        || lifeline_label(ladder.left),
                        |connection| visible(&connection.conn),
                    ),
                ),
            ],
        )),
    ];
    paras.extend(commands(
        app,
        ladder,
        ladder.connection.map_or(Proto::Tcp, |c| c.proto),
    ));
    paras
}
