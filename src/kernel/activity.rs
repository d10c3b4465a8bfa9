//! A fingerprint of this network namespace's socket activity: the kernel's TCP and UDP counters
//! (`/proc/net/snmp`, `/proc/net/snmp6`) and its socket counts (`/proc/net/sockstat`,
//! `/proc/net/sockstat6`), read as they are.
//!
//! What a machine-wide view shows changes only with these: a segment in or out (`InSegs`,
//! `OutSegs`, `OutRsts`, ... — every TCP state change but the local ones), a connection opened or
//! failed (`ActiveOpens`, `AttemptFails`), a socket hashed, unhashed or sent to `TIME_WAIT`
//! (`sockstat`'s `inuse`, `orphan`, `tw`), a datagram (`InDatagrams`, `OutDatagrams`), queue
//! memory (`mem`). Two equal fingerprints mean nothing of that happened in between, so a live view
//! may skip its walk of every socket. What can change without moving a counter — bytes read from a
//! receive queue without a window update, a bound UDP socket's `connect`, descriptors passed
//! between processes — is why a view still walks at a bounded interval.
//!
//! The files are a few kilobytes; reading the four costs tens of microseconds, against ~1 µs a
//! socket for a walk (100 ms at 100k sockets).

use std::fs::File;
use std::io::{self, Read};

/// The counter files, in the order they are read.
const FILES: [&str; 4] = [
    "/proc/net/snmp",
    "/proc/net/snmp6",
    "/proc/net/sockstat",
    "/proc/net/sockstat6",
];

/// The counters at one moment: the files' bytes, concatenated. Compared whole: any counter that
/// moved (even one that cannot change a socket, such as ICMP's) counts as a change, which costs a
/// walk but never hides one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity(Vec<u8>);

impl Activity {
    /// Reads the counters. A file missing (IPv6 disabled: no `snmp6`) is left out, the same way
    /// every time.
    pub fn read() -> io::Result<Self> {
        let mut bytes = Vec::with_capacity(16 * 1024);
        for path in FILES {
            match File::open(path) {
                Ok(mut file) => {
                    file.read_to_end(&mut bytes)?;
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
            bytes.push(0);
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::net::{TcpListener, TcpStream, UdpSocket};

    #[test]
    fn a_connection_moves_the_counters() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let before = Activity::read().expect("counters");
        let mut client =
            TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
        client.write_all(b"x").expect("send");
        let after = Activity::read().expect("counters");
        assert_ne!(
            before, after,
            "a handshake and a segment moved InSegs/OutSegs"
        );
    }

    #[test]
    fn a_datagram_moves_the_counters() {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let before = Activity::read().expect("counters");
        socket
            .send_to(b"x", socket.local_addr().expect("address"))
            .expect("send");
        let after = Activity::read().expect("counters");
        assert_ne!(before, after, "OutDatagrams and InDatagrams moved");
    }
}
