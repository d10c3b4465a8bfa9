//! Reading the traced program's memory: the buffers and addresses its syscalls point at.

use std::io::IoSliceMut;

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

/// The most bytes one read takes (a sockaddr, a pollfd array, the first bytes of a buffer).
pub const MOST_BYTES: usize = 64 * 1024;

/// Memory a syscall's pointer arguments can be read from.
pub trait Memory {
    /// Up to `len` bytes at `address`; fewer where the mapping ends; `None` for an address the
    /// program cannot read either (a bad pointer: the call fails with `EFAULT`).
    fn read(&self, address: u64, len: usize) -> Option<Vec<u8>>;

    /// A native-endian `u32` (a `socklen_t`, an `int`).
    fn read_u32(&self, address: u64) -> Option<u32> {
        let bytes = self.read(address, 4)?;
        Some(u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?))
    }

    fn read_u64(&self, address: u64) -> Option<u64> {
        let bytes = self.read(address, 8)?;
        Some(u64::from_ne_bytes(bytes.get(..8)?.try_into().ok()?))
    }
}

/// A stopped tracee's memory, read with `process_vm_readv` (one syscall per read; allowed because
/// we trace it).
pub struct Tracee(pub Pid);

impl Memory for Tracee {
    fn read(&self, address: u64, len: usize) -> Option<Vec<u8>> {
        if address == 0 {
            return None;
        }
        let len = len.min(MOST_BYTES);
        if len == 0 {
            return Some(Vec::new());
        }
        let mut buf = vec![0u8; len];
        let remote = [RemoteIoVec {
            base: usize::try_from(address).ok()?,
            len,
        }];
        let read = process_vm_readv(self.0, &mut [IoSliceMut::new(&mut buf)], &remote).ok()?;
        buf.truncate(read);
        Some(buf)
    }
}

/// Bytes held in our own memory, for decoding tests.
impl Memory for std::collections::BTreeMap<u64, Vec<u8>> {
    fn read(&self, address: u64, len: usize) -> Option<Vec<u8>> {
        let bytes = self.get(&address)?;
        Some(bytes[..len.min(bytes.len())].to_vec())
    }
}
