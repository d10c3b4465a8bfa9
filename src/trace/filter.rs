//! The seccomp filter: a classic BPF program that makes the traced syscalls stop the program
//! (`SECCOMP_RET_TRACE`) and lets every other syscall run at full speed (`SECCOMP_RET_ALLOW`), as
//! `strace --seccomp-bpf` does.
//!
//! Layout (a linear list is enough for ~35 numbers; strace also builds a binary search for large
//! sets):
//! ```text
//! 0  load seccomp_data.arch
//! 1  arch == native ? next : ALLOW      (a 32-bit syscall ABI is not decoded: runs untraced)
//! 2  load seccomp_data.nr
//! 3  nr >= X32 bit ? ALLOW : next       (x86_64 only: the x32 ABI)
//! .. nr == N ? TRACE : next             (one per traced syscall)
//! A  return ALLOW
//! T  return TRACE
//! ```

use super::syscalls::TABLE;

/// `AUDIT_ARCH_*` of this build (`include/uapi/linux/audit.h`): `EM_*` | 64-bit | little-endian.
#[cfg(target_arch = "x86_64")]
pub const NATIVE_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
pub const NATIVE_ARCH: u32 = 0xC000_00B7;

/// `__X32_SYSCALL_BIT`: x32 syscalls on `x86_64` have it set.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// Offsets in `struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
#[cfg(target_arch = "x86_64")]
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn statement(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Where a conditional jump goes.
#[derive(Clone, Copy)]
enum To {
    Next,
    Allow,
    Trace,
}

/// The filter for the syscalls in [`TABLE`].
#[must_use]
pub fn program() -> Vec<libc::sock_filter> {
    numbers_program(TABLE.iter().map(|&(number, _)| number as u32))
}

/// The filter that traces exactly `numbers` of the native architecture.
#[must_use]
pub fn numbers_program(numbers: impl Iterator<Item = u32>) -> Vec<libc::sock_filter> {
    // Instructions with symbolic jumps, resolved once the positions of ALLOW and TRACE are known.
    let mut body: Vec<(libc::sock_filter, To, To)> = vec![
        (statement(LD_W_ABS, OFFSET_ARCH), To::Next, To::Next),
        (
            libc::sock_filter {
                code: JEQ_K,
                jt: 0,
                jf: 0,
                k: NATIVE_ARCH,
            },
            To::Next,
            To::Allow,
        ),
        (statement(LD_W_ABS, OFFSET_NR), To::Next, To::Next),
    ];
    #[cfg(target_arch = "x86_64")]
    body.push((
        libc::sock_filter {
            code: JGE_K,
            jt: 0,
            jf: 0,
            k: X32_SYSCALL_BIT,
        },
        To::Allow,
        To::Next,
    ));
    for number in numbers {
        body.push((
            libc::sock_filter {
                code: JEQ_K,
                jt: 0,
                jf: 0,
                k: number,
            },
            To::Trace,
            To::Next,
        ));
    }
    let allow = body.len();
    let trace = allow + 1;
    let offset = |from: usize, to: To| -> u8 {
        let target = match to {
            To::Next => from + 1,
            To::Allow => allow,
            To::Trace => trace,
        };
        // Jumps are relative to the next instruction and one byte long: with ~40 instructions
        // every offset fits.
        u8::try_from(target - from - 1).expect("a BPF jump fits in a byte")
    };
    let mut program: Vec<libc::sock_filter> = body
        .iter()
        .enumerate()
        .map(|(at, &(mut instruction, jt, jf))| {
            if instruction.code & 0x07 == libc::BPF_JMP as u16 {
                instruction.jt = offset(at, jt);
                instruction.jf = offset(at, jf);
            }
            instruction
        })
        .collect();
    program.push(statement(RET_K, libc::SECCOMP_RET_ALLOW));
    program.push(statement(RET_K, libc::SECCOMP_RET_TRACE));
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the subset of classic BPF the filter uses over `(arch, nr)`.
    fn run(program: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
        let mut accumulator = 0u32;
        let mut pc = 0usize;
        loop {
            let instruction = program[pc];
            pc += 1;
            match instruction.code {
                LD_W_ABS => {
                    accumulator = if instruction.k == OFFSET_ARCH {
                        arch
                    } else {
                        nr
                    };
                }
                JEQ_K | 0x35 => {
                    let taken = if instruction.code == JEQ_K {
                        accumulator == instruction.k
                    } else {
                        accumulator >= instruction.k
                    };
                    pc += usize::from(if taken {
                        instruction.jt
                    } else {
                        instruction.jf
                    });
                }
                RET_K => return instruction.k,
                other => panic!("unexpected BPF code {other:#x}"),
            }
        }
    }

    #[test]
    fn traced_numbers_trace_and_the_rest_run() {
        let program = program();
        for &(number, call) in TABLE {
            assert_eq!(
                run(&program, NATIVE_ARCH, number as u32),
                libc::SECCOMP_RET_TRACE,
                "{}",
                call.name()
            );
        }
        for other in [libc::SYS_getpid, libc::SYS_openat, libc::SYS_execve] {
            assert_eq!(
                run(&program, NATIVE_ARCH, other as u32),
                libc::SECCOMP_RET_ALLOW
            );
        }
        // Another ABI's numbers mean other syscalls: not decoded, so not stopped.
        assert_eq!(
            run(&program, 0x4000_0003, libc::SYS_socket as u32),
            libc::SECCOMP_RET_ALLOW
        );
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            run(
                &program,
                NATIVE_ARCH,
                X32_SYSCALL_BIT | libc::SYS_socket as u32
            ),
            libc::SECCOMP_RET_ALLOW
        );
    }
}
