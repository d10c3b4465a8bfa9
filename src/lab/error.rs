//! Why the lab refused a command before making any syscall.

use std::fmt;
use std::net::SocketAddr;

use super::exposure::Exposure;
use crate::text::{self, Lang};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabError {
    UnknownName(String),
    NameInUse(String),
    /// The named item cannot do what the verb needs (`recv` on a listener).
    WrongKind {
        name: String,
        verb: &'static str,
        is: &'static str,
    },
    /// A target named a socket that has no address to connect to yet.
    NoAddress(String),
    /// The action would make a socket reachable from another machine (or send traffic off it),
    /// and the configuration does not allow that.
    Exposed(Exposure),
    /// A forwarder whose target leads back to itself (through the forwarders in `via`).
    ForwardLoop {
        name: String,
        target: SocketAddr,
        via: Vec<String>,
    },
    /// A forwarder at its relay limit closed a new connection (`closed`) instead of relaying it.
    RelayLimit {
        forwarder: String,
        limit: usize,
        closed: String,
    },
    /// A call failed because descriptors ran out (`EMFILE` for this process, `ENFILE` for the
    /// system); what the lab was doing stopped there.
    OutOfDescriptors {
        call: String,
        name: Option<String>,
        errno: &'static str,
        limit: Option<u64>,
    },
    /// The OS refused to give the lab a resource it needs to run (e.g. the poll registry).
    Os(String),
    /// `NAME@HOST` or `wire ...` outside `--net wire`.
    NoWire,
    /// `wire deliver`/`wire drop` with nothing held (`None`), or not the held segment named.
    NotHeld(Option<u64>),
    /// `wire nat ...` refused by the NAT (a duplicate or chained rule, no such rule).
    Nat(crate::net::nat::RuleError),
}

impl LabError {
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Self::UnknownName(name) => text::format(lang, "lab.unknown_name", &[("name", name)]),
            Self::NameInUse(name) => text::format(lang, "lab.name_in_use", &[("name", name)]),
            Self::WrongKind { name, verb, is } => text::format(
                lang,
                "lab.wrong_kind",
                &[
                    ("name", name),
                    ("verb", verb),
                    ("is", text::get(lang, &format!("kind.{is}"))),
                ],
            ),
            Self::NoAddress(name) => text::format(lang, "lab.no_address", &[("name", name)]),
            Self::Exposed(exposure) => exposure.message(lang),
            Self::ForwardLoop { name, target, via } => {
                let via = if via.is_empty() {
                    String::new()
                } else {
                    text::format(
                        lang,
                        "refused.forward_loop_via",
                        &[("via", &via.join(", "))],
                    )
                };
                text::format(
                    lang,
                    "refused.forward_loop",
                    &[
                        ("name", name),
                        ("target", &target.to_string()),
                        ("via", &via),
                    ],
                )
            }
            Self::RelayLimit {
                forwarder,
                limit,
                closed,
            } => text::format(
                lang,
                "refused.relay_limit",
                &[
                    ("forwarder", forwarder),
                    ("limit", &limit.to_string()),
                    ("closed", closed),
                ],
            ),
            Self::OutOfDescriptors {
                call,
                name,
                errno,
                limit,
            } => {
                let key = if *errno == "ENFILE" {
                    "refused.out_of_files_system"
                } else {
                    "refused.out_of_descriptors"
                };
                let call = call.split('(').next().unwrap_or(call);
                let limit = limit.map_or_else(|| "?".to_owned(), |limit| limit.to_string());
                text::format(
                    lang,
                    key,
                    &[
                        ("call", call),
                        ("name", name.as_deref().unwrap_or("-")),
                        ("errno", errno),
                        ("limit", &limit),
                    ],
                )
            }
            Self::Os(detail) => text::format(lang, "lab.os", &[("detail", detail)]),
            Self::NoWire => text::get(lang, "wire.no_wire").to_owned(),
            Self::NotHeld(None) => text::get(lang, "wire.nothing_held").to_owned(),
            Self::NotHeld(Some(id)) => {
                text::format(lang, "wire.not_held", &[("id", &id.to_string())])
            }
            Self::Nat(error) => error.message(lang),
        }
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for LabError {}
