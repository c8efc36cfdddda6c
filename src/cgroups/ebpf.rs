//! Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program built
//! from the rules (the last matching rule wins, as with v1's lists) and
//! attached to the container's cgroup, as runc and crun do.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{Context, Result};

use super::devices::Rule;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8, // dst in the low nibble, src in the high one
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

const LDXW: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV32_X: u8 = 0xbc;
const AND32_K: u8 = 0x54;
const RSH32_K: u8 = 0x74;
const JNE_K: u8 = 0x55;
const MOV64_K: u8 = 0xb7;
const EXIT: u8 = 0x95;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn access_bits(s: &str) -> i32 {
    s.chars().fold(0, |a, c| {
        a | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// One rule's block: each check jumps past the block when it fails.
fn block(r: &Rule) -> Vec<Insn> {
    let mut checks: Vec<Vec<Insn>> = Vec::new();
    match r.typ {
        'b' => checks.push(vec![insn(JNE_K, 3, 0, 0, DEV_BLOCK)]),
        'c' => checks.push(vec![insn(JNE_K, 3, 0, 0, DEV_CHAR)]),
        _ => {}
    }
    let acc = access_bits(&r.access);
    if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
        // Every requested bit must be in the rule: (access & ~rule) == 0.
        checks.push(vec![
            insn(MOV32_X, 1, 2, 0, 0),
            insn(AND32_K, 1, 0, 0, !acc & 7),
            insn(JNE_K, 1, 0, 0, 0),
        ]);
    }
    if let Some(m) = r.major {
        checks.push(vec![insn(JNE_K, 4, 0, 0, m as i32)]);
    }
    if let Some(m) = r.minor {
        checks.push(vec![insn(JNE_K, 5, 0, 0, m as i32)]);
    }
    let tail = [
        insn(MOV64_K, 0, 0, 0, r.allow as i32),
        insn(EXIT, 0, 0, 0, 0),
    ];
    let total: usize = checks.iter().map(Vec::len).sum::<usize>() + tail.len();
    let mut out = Vec::with_capacity(total);
    for c in checks {
        for i in c {
            let mut i = i;
            if i.code == JNE_K {
                // Jump to the first instruction after this block.
                i.off = (total - out.len() - 1) as i16;
            }
            out.push(i);
        }
    }
    out.extend(tail);
    out
}

/// The whole program: load type, access, major and minor into r3, r2, r4
/// and r5; then the rules from last to first; then deny.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDXW, 2, 1, 0, 0),
        insn(MOV32_X, 3, 2, 0, 0),
        insn(AND32_K, 3, 0, 0, 0xffff),
        insn(RSH32_K, 2, 0, 0, 16),
        insn(LDXW, 4, 1, 4, 0),
        insn(LDXW, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let b = block(r);
        let unconditional = b.len() == 2;
        p.extend(b);
        if unconditional {
            // It matches everything: what follows would be unreachable,
            // which the verifier refuses.
            return p;
        }
    }
    p.push(insn(MOV64_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    pad: [u8; 64],
}

#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    pad: [u8; 44],
}

const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_ATTACH: i32 = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf<T>(cmd: i32, attr: &T) -> io::Result<i64> {
    // SAFETY: attr is a valid, zero-padded bpf_attr of its size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const T,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// Loads the program for `rules` and attaches it to the cgroup at `dir`.
pub fn apply(dir: &Path, rules: &[Rule]) -> Result<()> {
    let prog = program(rules);
    let license = c"Apache";
    let mut log = vec![0u8; 64 * 1024];
    let load = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        pad: [0; 64],
    };
    let fd = bpf(BPF_PROG_LOAD, &load).map_err(|e| {
        let msg = String::from_utf8_lossy(&log[..log.iter().position(|b| *b == 0).unwrap_or(0)])
            .into_owned();
        anyhow::anyhow!("load the device filter: {e} {}", msg.trim())
    })?;
    // SAFETY: the kernel returned a new fd.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let cg = std::fs::File::open(dir).with_context(|| format!("open {}", dir.display()))?;
    let attach = ProgAttach {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog_fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
        pad: [0; 44],
    };
    bpf(BPF_PROG_ATTACH, &attach)
        .with_context(|| format!("attach the device filter to {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_land_on_the_next_block() {
        let rules = vec![
            Rule {
                allow: false,
                typ: 'a',
                major: None,
                minor: None,
                access: "rwm".into(),
            },
            Rule {
                allow: true,
                typ: 'c',
                major: Some(1),
                minor: Some(3),
                access: "rw".into(),
            },
        ];
        let p = program(&rules);
        // prologue 6; block for c 1:3 rw: type 1, access 3, major 1,
        // minor 1, tail 2 = 8; deny-all block: tail 2, and nothing after
        // it (unreachable code is refused by the verifier).
        assert_eq!(p.len(), 6 + 8 + 2);
        let b = &p[6..14];
        for (i, ins) in b.iter().enumerate() {
            if ins.code == JNE_K {
                assert_eq!(
                    i as i16 + 1 + ins.off,
                    8,
                    "jump at {i} must leave the block"
                );
            }
        }
        assert_eq!(b[6], insn(MOV64_K, 0, 0, 0, 1));
        assert_eq!(p[14], insn(MOV64_K, 0, 0, 0, 0));
        assert_eq!(
            program(&rules[1..]).len(),
            6 + 8 + 2,
            "default deny at the end"
        );
    }
}
