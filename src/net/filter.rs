//! The classic BPF program the kernel runs on every packet of `lo` before it reaches the capture:
//! only TCP and UDP over IPv4 or IPv6, only the arriving copy of each loopback packet (the leaving
//! copy is the same segment), only the lab's ports (on the host network), and only the first
//! [`SNAP_LEN`] bytes of each. Everything else costs the machine one filter run and no copy.
//!
//! A hand-written program rather than libpcap: the lab's port set changes as sockets come and go, and
//! a program this small is easier to check than a compiler dependency.

use std::collections::BTreeSet;

use crate::kernel::packet::BpfInstruction;

/// Bytes of each packet copied to userspace: the IP and TCP headers with all options (at most
/// 60 + 60 for IPv4, 40 + 60 for IPv6 without extension headers) and a preview of the payload.
pub const SNAP_LEN: u32 = 256;

/// The most ports the filter compares against (two instructions per port and direction, well under
/// the kernel's 4096-instruction limit). A lab with more watches all of `lo`'s TCP and UDP.
pub const MAX_PORTS: usize = 400;

/// Which packets the capture wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every TCP and UDP packet (the private network: everything in it is the lab's).
    All,
    /// Packets from or to one of these ports (the host network).
    Ports(BTreeSet<u16>),
}

// Opcode parts from `include/uapi/linux/bpf_common.h` and `filter.h`.
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MSH: u16 = 0xa0;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JSET: u16 = 0x40;
const K: u16 = 0x00;

/// `SKF_AD_OFF + SKF_AD_PROTOCOL` and `+ SKF_AD_PKTTYPE`: loads of `skb->protocol` and
/// `skb->pkt_type` instead of packet bytes.
const AD_PROTOCOL: u32 = 0xffff_f000;
const AD_PKTTYPE: u32 = 0xffff_f004;
const PACKET_OUTGOING: u32 = 4;
const ETH_P_IP: u32 = 0x0800;
const ETH_P_IPV6: u32 = 0x86dd;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;

/// A jump target while the program is assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Next,
    Label(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Insn(BpfInstruction),
    /// A conditional jump, resolved once the labels are placed.
    Cond {
        code: u16,
        k: u32,
        yes: Target,
        no: Target,
    },
    Always(&'static str),
    Label(&'static str),
}

fn insn(code: u16, k: u32) -> Item {
    Item::Insn(BpfInstruction {
        code,
        jt: 0,
        jf: 0,
        k,
    })
}

fn jeq(k: u32, yes: Target, no: Target) -> Item {
    Item::Cond {
        code: JMP | JEQ | K,
        k,
        yes,
        no,
    }
}

/// Builds the program for `scope`.
#[must_use]
pub fn program(scope: &Scope) -> Vec<BpfInstruction> {
    use Target::{Label, Next};
    let accept = insn(RET | K, SNAP_LEN);
    let drop = insn(RET | K, 0);
    let mut items = vec![
        // The copy of a packet leaving through lo; its arriving copy follows.
        insn(LD | W | ABS, AD_PKTTYPE),
        jeq(PACKET_OUTGOING, Label("drop1"), Next),
        insn(LD | W | ABS, AD_PROTOCOL),
        jeq(ETH_P_IP, Label("v4"), Next),
        jeq(ETH_P_IPV6, Label("v6"), Label("drop1")),
        Item::Label("drop1"),
        drop,
        Item::Label("v4"),
        insn(LD | B | ABS, 9),
        jeq(IPPROTO_TCP, Label("v4ok"), Next),
        jeq(IPPROTO_UDP, Label("v4ok"), Label("drop2")),
        Item::Label("v4ok"),
        // A fragment other than the first carries no ports.
        insn(LD | H | ABS, 6),
        Item::Cond {
            code: JMP | JSET | K,
            k: 0x1fff,
            yes: Label("drop2"),
            no: Next,
        },
        // X = the IPv4 header's length (4 * IHL).
        insn(LDX | B | MSH, 0),
        Item::Always("ports"),
        Item::Label("drop2"),
        drop,
        Item::Label("v6"),
        // Next header right after the fixed header; loopback TCP/UDP carries no extension headers.
        insn(LD | B | ABS, 6),
        jeq(IPPROTO_TCP, Label("v6ok"), Next),
        jeq(IPPROTO_UDP, Label("v6ok"), Label("drop3")),
        Item::Label("drop3"),
        drop,
        Item::Label("v6ok"),
        insn(LDX | W | IMM, 40),
        Item::Label("ports"),
    ];
    match scope {
        Scope::All => items.push(accept),
        Scope::Ports(ports) => {
            // Source port, then destination port: each `jeq port` falls into an accept.
            for offset in [0, 2] {
                items.push(insn(LD | H | IND, offset));
                for &port in ports {
                    items.push(jeq(u32::from(port), Next, Label("skip")));
                    items.push(accept);
                }
            }
            items.push(drop);
        }
    }
    assemble(&items)
}

/// Places labels and resolves jumps. `skip` means "over the next instruction". Panics on a jump
/// too far for the 8-bit offsets: the layout above keeps every conditional target close.
fn assemble(items: &[Item]) -> Vec<BpfInstruction> {
    let mut positions = std::collections::HashMap::new();
    let mut count = 0usize;
    for item in items {
        match item {
            Item::Label(name) => {
                positions.insert(*name, count);
            }
            _ => count += 1,
        }
    }
    let mut program = Vec::with_capacity(count);
    for item in items {
        let here = program.len();
        let offset = |target: Target| -> u8 {
            match target {
                Target::Next => 0,
                Target::Label("skip") => 1,
                Target::Label(name) => {
                    let distance = positions[name] - here - 1;
                    u8::try_from(distance).expect("conditional jump within 255 instructions")
                }
            }
        };
        match *item {
            Item::Insn(insn) => program.push(insn),
            Item::Cond { code, k, yes, no } => program.push(BpfInstruction {
                code,
                jt: offset(yes),
                jf: offset(no),
                k,
            }),
            Item::Always(name) => program.push(BpfInstruction {
                code: JMP | JA,
                jt: 0,
                jf: 0,
                k: (positions[name] - here - 1) as u32,
            }),
            Item::Label(_) => {}
        }
    }
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic BPF interpreter for the few opcodes the program uses, so the unit tests can run it
    /// on crafted packets (the integration tests run it in the kernel).
    fn run(program: &[BpfInstruction], packet: &[u8], pkttype: u32, ethertype: u32) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |at: usize| u32::from(packet[at]);
        loop {
            let insn = program[pc];
            pc += 1;
            match insn.code {
                c if c == LD | W | ABS && insn.k == AD_PKTTYPE => a = pkttype,
                c if c == LD | W | ABS && insn.k == AD_PROTOCOL => a = ethertype,
                c if c == LD | B | ABS => a = byte(insn.k as usize),
                c if c == LD | H | ABS => {
                    a = (byte(insn.k as usize) << 8) | byte(insn.k as usize + 1);
                }
                c if c == LD | H | IND => {
                    let at = (x + insn.k) as usize;
                    a = (byte(at) << 8) | byte(at + 1);
                }
                c if c == LDX | B | MSH => x = 4 * (byte(insn.k as usize) & 0xf),
                c if c == LDX | W | IMM => x = insn.k,
                c if c == JMP | JA => pc += insn.k as usize,
                c if c == JMP | JEQ | K => {
                    pc += usize::from(if a == insn.k { insn.jt } else { insn.jf });
                }
                c if c == JMP | JSET | K => {
                    pc += usize::from(if a & insn.k != 0 { insn.jt } else { insn.jf });
                }
                c if c == RET | K => return insn.k,
                other => panic!("opcode {other:#x} not interpreted"),
            }
        }
    }

    fn ipv4_tcp(src: u16, dst: u16) -> Vec<u8> {
        let mut packet = vec![0u8; 40];
        packet[0] = 0x45;
        packet[9] = 6;
        packet[20..22].copy_from_slice(&src.to_be_bytes());
        packet[22..24].copy_from_slice(&dst.to_be_bytes());
        packet
    }

    fn ipv6_udp(src: u16, dst: u16) -> Vec<u8> {
        let mut packet = vec![0u8; 48];
        packet[0] = 0x60;
        packet[6] = 17;
        packet[40..42].copy_from_slice(&src.to_be_bytes());
        packet[42..44].copy_from_slice(&dst.to_be_bytes());
        packet
    }

    #[test]
    fn port_scope_keeps_only_the_lab_ports_in_either_direction() {
        let program = program(&Scope::Ports([5000, 6000].into_iter().collect()));
        assert_eq!(run(&program, &ipv4_tcp(5000, 40000), 0, ETH_P_IP), SNAP_LEN);
        assert_eq!(run(&program, &ipv4_tcp(40000, 6000), 0, ETH_P_IP), SNAP_LEN);
        assert_eq!(run(&program, &ipv4_tcp(40000, 7000), 0, ETH_P_IP), 0);
        assert_eq!(run(&program, &ipv6_udp(6000, 1), 0, ETH_P_IPV6), SNAP_LEN);
        assert_eq!(run(&program, &ipv6_udp(2, 1), 0, ETH_P_IPV6), 0);
    }

    #[test]
    fn outgoing_copies_fragments_and_other_protocols_are_dropped() {
        let program = program(&Scope::All);
        assert_eq!(run(&program, &ipv4_tcp(1, 2), 0, ETH_P_IP), SNAP_LEN);
        assert_eq!(run(&program, &ipv4_tcp(1, 2), PACKET_OUTGOING, ETH_P_IP), 0);
        let mut icmp = ipv4_tcp(1, 2);
        icmp[9] = 1;
        assert_eq!(run(&program, &icmp, 0, ETH_P_IP), 0);
        let mut fragment = ipv4_tcp(1, 2);
        fragment[7] = 8;
        assert_eq!(run(&program, &fragment, 0, ETH_P_IP), 0);
        assert_eq!(run(&program, &ipv4_tcp(1, 2), 0, 0x0806), 0);
    }

    #[test]
    fn the_largest_port_set_still_assembles() {
        let ports = (1..=MAX_PORTS as u16).collect();
        let program = program(&Scope::Ports(ports));
        assert!(program.len() < 4096);
        assert_eq!(
            run(&program, &ipv4_tcp(9, MAX_PORTS as u16), 0, ETH_P_IP),
            SNAP_LEN
        );
    }
}
