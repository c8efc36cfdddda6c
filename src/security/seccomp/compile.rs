//! OCI linux.seccomp to classic BPF: a multi-architecture prologue
//! (x86_64, and x86 and x32 when listed), then per architecture the
//! runc ENOSYS stub, the unconditional rules as compact pairs, the rules
//! with argument conditions as blocks, and the default action.
//!
//! Every conditional jump skips at most one instruction; anything farther
//! goes through `ja`, whose offset has 32 bits, so no jump ever overflows.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompArg, LinuxSeccompOperator as Op,
};

use super::tables;

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;

const LD_W_ABS: u16 = 0x20;
const JEQ: u16 = 0x15;
const JGT: u16 = 0x25;
const JGE: u16 = 0x35;
const JA: u16 = 0x05;
const RET: u16 = 0x06;
const AND: u16 = 0x54;

/// The kernel's return value for an action.
pub fn ret_value(action: A, errno: Option<u32>) -> u32 {
    match action {
        A::ScmpActKill | A::ScmpActKillThread => RET_KILL_THREAD,
        A::ScmpActKillProcess => RET_KILL_PROCESS,
        A::ScmpActTrap => RET_TRAP,
        A::ScmpActErrno => RET_ERRNO | (errno.unwrap_or(libc::EPERM as u32) & 0xffff),
        A::ScmpActNotify => RET_USER_NOTIF,
        A::ScmpActTrace => RET_TRACE | (errno.unwrap_or(libc::EPERM as u32) & 0xffff),
        A::ScmpActLog => RET_LOG,
        A::ScmpActAllow => RET_ALLOW,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Next,
    Skip1,
}

#[derive(Clone, Debug)]
enum Ins {
    Stmt(u16, u32),
    Jmp(u16, u32, Target, Target),
    Ja(usize),
    Label(usize),
}

/// A small assembler with labels.
#[derive(Default)]
struct Asm {
    ins: Vec<Ins>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels
    }
    fn place(&mut self, l: usize) {
        self.ins.push(Ins::Label(l));
    }
    fn ld(&mut self, off: u32) {
        self.ins.push(Ins::Stmt(LD_W_ABS, off));
    }
    fn and(&mut self, k: u32) {
        self.ins.push(Ins::Stmt(AND, k));
    }
    fn ret(&mut self, k: u32) {
        self.ins.push(Ins::Stmt(RET, k));
    }
    fn ja(&mut self, l: usize) {
        self.ins.push(Ins::Ja(l));
    }
    /// if (A op k) goto l
    fn goto_if(&mut self, op: u16, k: u32, l: usize) {
        self.ins.push(Ins::Jmp(op, k, Target::Next, Target::Skip1));
        self.ja(l);
    }
    /// if !(A op k) goto l
    fn goto_unless(&mut self, op: u16, k: u32, l: usize) {
        self.ins.push(Ins::Jmp(op, k, Target::Skip1, Target::Next));
        self.ja(l);
    }
    /// if (A op k) return r
    fn ret_if(&mut self, op: u16, k: u32, r: u32) {
        self.ins.push(Ins::Jmp(op, k, Target::Next, Target::Skip1));
        self.ret(r);
    }

    fn finish(self) -> Result<Vec<libc::sock_filter>> {
        let mut pos = BTreeMap::new();
        let mut n = 0usize;
        for i in &self.ins {
            match i {
                Ins::Label(l) => {
                    pos.insert(*l, n);
                }
                _ => n += 1,
            }
        }
        if n > 4096 {
            bail!("the seccomp filter has {n} instructions, more than the kernel's 4096");
        }
        let mut out = Vec::with_capacity(n);
        for i in &self.ins {
            let t = |t: &Target| match t {
                Target::Next => 0,
                Target::Skip1 => 1,
            };
            let f = match i {
                Ins::Label(_) => continue,
                Ins::Stmt(code, k) => libc::sock_filter {
                    code: *code,
                    jt: 0,
                    jf: 0,
                    k: *k,
                },
                Ins::Jmp(code, k, jt, jf) => libc::sock_filter {
                    code: *code,
                    jt: t(jt),
                    jf: t(jf),
                    k: *k,
                },
                Ins::Ja(l) => {
                    let here = out.len();
                    let to = pos[l];
                    libc::sock_filter {
                        code: JA,
                        jt: 0,
                        jf: 0,
                        k: (to - here - 1) as u32,
                    }
                }
            };
            out.push(f);
        }
        Ok(out)
    }
}

/// One rule: conditions that must all hold, and the action.
#[derive(Clone, Debug)]
struct Rule {
    conds: Vec<LinuxSeccompArg>,
    ret: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    X86_64,
    X86,
    X32,
}

impl Section {
    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Section::X86_64 => tables::X86_64,
            Section::X86 => tables::X86,
            Section::X32 => tables::X32,
        }
    }
    fn wide(self) -> bool {
        self != Section::X86
    }
}

fn lookup(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| table[i].1)
}

/// One argument condition: on failure jump to `fail`.
fn condition(a: &mut Asm, c: &LinuxSeccompArg, wide: bool, fail: usize) {
    let lo_off = 16 + 8 * c.index() as u32;
    let hi_off = lo_off + 4;
    let (v, v2) = (c.value(), c.value_two().unwrap_or(0));
    let (vhi, vlo) = ((v >> 32) as u32, v as u32);
    let pass = a.label();
    match c.op() {
        Op::ScmpCmpEq => {
            if wide {
                a.ld(hi_off);
                a.goto_unless(JEQ, vhi, fail);
            }
            a.ld(lo_off);
            a.goto_unless(JEQ, vlo, fail);
        }
        Op::ScmpCmpNe => {
            if wide {
                a.ld(hi_off);
                a.goto_unless(JEQ, vhi, pass);
            }
            a.ld(lo_off);
            a.goto_if(JEQ, vlo, fail);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            let low_op = if c.op() == Op::ScmpCmpGt { JGT } else { JGE };
            if wide {
                a.ld(hi_off);
                a.goto_if(JGT, vhi, pass);
                a.goto_unless(JEQ, vhi, fail);
            }
            a.ld(lo_off);
            a.goto_unless(low_op, vlo, fail);
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            // a < v is !(a >= v); a <= v is !(a > v).
            let low_op = if c.op() == Op::ScmpCmpLt { JGE } else { JGT };
            if wide {
                a.ld(hi_off);
                a.goto_if(JGT, vhi, fail);
                a.goto_unless(JEQ, vhi, pass);
            }
            a.ld(lo_off);
            a.goto_if(low_op, vlo, fail);
        }
        Op::ScmpCmpMaskedEq => {
            // value is the mask, valueTwo the expected value.
            if wide {
                a.ld(hi_off);
                a.and((v >> 32) as u32);
                a.goto_unless(JEQ, (v2 >> 32) as u32, fail);
            }
            a.ld(lo_off);
            a.and(v as u32);
            a.goto_unless(JEQ, v2 as u32, fail);
        }
    }
    a.place(pass);
}

/// The rules of one architecture section, by syscall number.
fn section_rules(
    cfg: &LinuxSeccomp,
    sec: Section,
    default: u32,
) -> Result<BTreeMap<u32, Vec<Rule>>> {
    let mut by_nr: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for sc in cfg.syscalls().as_deref().unwrap_or_default() {
        let ret = ret_value(sc.action(), sc.errno_ret());
        if ret == default {
            continue; // runc skips rules that repeat the default action
        }
        let args = sc.args().as_deref().unwrap_or_default();
        for a in args {
            if a.index() > 5 {
                bail!(
                    "seccomp argument index {} is out of range (0..5)",
                    a.index()
                );
            }
        }
        // libseccomp as runc uses it: conditions on different arguments
        // AND; if any argument has several, each condition is its own rule.
        let mut counts = [0usize; 6];
        for a in args {
            counts[a.index()] += 1;
        }
        let rules: Vec<Rule> = if counts.iter().any(|c| *c > 1) {
            args.iter()
                .map(|a| Rule {
                    conds: vec![*a],
                    ret,
                })
                .collect()
        } else {
            vec![Rule {
                conds: args.to_vec(),
                ret,
            }]
        };
        for name in sc.names() {
            if sc.action() == A::ScmpActNotify && name == "write" {
                bail!("SCMP_ACT_NOTIFY cannot be used for the write syscall");
            }
            // Names this kernel (or this architecture) lacks are skipped.
            let Some(nr) = lookup(sec.table(), name) else {
                continue;
            };
            by_nr.entry(nr).or_default().extend(rules.iter().cloned());
        }
    }
    Ok(by_nr)
}

fn emit_section(
    a: &mut Asm,
    cfg: &LinuxSeccomp,
    sec: Section,
    default: u32,
    stub: bool,
    x32: Option<usize>,
) -> Result<()> {
    let rules = section_rules(cfg, sec, default)?;
    a.ld(0);
    if sec == Section::X86_64 {
        match x32 {
            Some(l) => a.goto_if(JGE, X32_BIT, l),
            None => a.ret_if(JGE, X32_BIT, RET_KILL_THREAD),
        }
    }
    if stub {
        // runc's stub: syscalls newer than any the profile names get
        // ENOSYS, so that libc falls back to older ones.
        // With nothing named there is no stub (it would catch every syscall).
        if let Some(max) = rules.keys().next_back().copied() {
            a.ret_if(JGT, max, RET_ERRNO | libc::ENOSYS as u32);
        }
    }
    let mut groups = Vec::new();
    for (nr, rs) in &rules {
        // Unconditional rules come after conditional ones for a syscall.
        let first_plain = rs.iter().find(|r| r.conds.is_empty()).map(|r| r.ret);
        let conditional: Vec<&Rule> = rs.iter().filter(|r| !r.conds.is_empty()).collect();
        if conditional.is_empty() {
            a.ret_if(JEQ, *nr, first_plain.expect("a rule without conditions"));
        } else {
            groups.push((*nr, conditional, first_plain));
        }
    }
    for (nr, conditional, plain) in groups {
        let next = a.label();
        a.ld(0);
        a.goto_unless(JEQ, nr, next);
        for r in conditional {
            let fail = a.label();
            for c in &r.conds {
                condition(a, c, sec.wide(), fail);
            }
            a.ret(r.ret);
            a.place(fail);
        }
        a.ret(plain.unwrap_or(default));
        a.place(next);
    }
    a.ret(default);
    Ok(())
}

/// config-linux.md: "When the action doesn't support an errno, the runtime
/// MUST print and error and fail." Only ERRNO and TRACE carry one.
fn check_errno_actions(cfg: &LinuxSeccomp) -> Result<()> {
    let takes_errno = |a: A| matches!(a, A::ScmpActErrno | A::ScmpActTrace);
    if cfg.default_errno_ret().is_some() && !takes_errno(cfg.default_action()) {
        bail!(
            "seccomp defaultErrnoRet is set but the default action {:?} takes no errno",
            cfg.default_action()
        );
    }
    for sc in cfg.syscalls().as_deref().unwrap_or_default() {
        if sc.errno_ret().is_some() && !takes_errno(sc.action()) {
            bail!(
                "seccomp errnoRet is set for {:?} but its action {:?} takes no errno",
                sc.names(),
                sc.action()
            );
        }
    }
    Ok(())
}

/// Compiles the filter. Architectures other than the x86 family cannot
/// run on this host and are ignored.
pub fn compile(cfg: &LinuxSeccomp) -> Result<Vec<libc::sock_filter>> {
    if cfg.default_action() == A::ScmpActNotify {
        bail!("SCMP_ACT_NOTIFY cannot be used as the default action");
    }
    if !cfg!(target_arch = "x86_64") {
        bail!("seccomp filters are only built for x86_64 hosts");
    }
    check_errno_actions(cfg)?;
    let default = ret_value(cfg.default_action(), cfg.default_errno_ret());
    let archs = cfg.architectures().clone().unwrap_or_default();
    let want_x86 = archs.contains(&Arch::ScmpArchX86);
    let want_x32 = archs.contains(&Arch::ScmpArchX32);
    let stub = matches!(
        cfg.default_action(),
        A::ScmpActErrno
            | A::ScmpActKill
            | A::ScmpActKillThread
            | A::ScmpActKillProcess
            | A::ScmpActTrap
    );
    let mut a = Asm::default();
    let l64 = a.label();
    let l32 = a.label();
    let lx32 = a.label();
    a.ld(4);
    a.goto_if(JEQ, AUDIT_ARCH_X86_64, l64);
    if want_x86 {
        a.goto_if(JEQ, AUDIT_ARCH_I386, l32);
    }
    a.ret(RET_KILL_THREAD);
    a.place(l64);
    emit_section(
        &mut a,
        cfg,
        Section::X86_64,
        default,
        stub,
        want_x32.then_some(lx32),
    )?;
    if want_x86 {
        a.place(l32);
        emit_section(&mut a, cfg, Section::X86, default, stub, None)?;
    }
    if want_x32 {
        a.place(lx32);
        emit_section(&mut a, cfg, Section::X32, default, stub, None)?;
    }
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter as the kernel would, on one seccomp_data.
    fn eval(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, v) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let f = prog[pc];
            pc += 1;
            match f.code {
                LD_W_ABS => {
                    acc =
                        u32::from_le_bytes(data[f.k as usize..f.k as usize + 4].try_into().unwrap())
                }
                AND => acc &= f.k,
                RET => return f.k,
                JA => pc += f.k as usize,
                JEQ | JGT | JGE => {
                    let t = match f.code {
                        JEQ => acc == f.k,
                        JGT => acc > f.k,
                        _ => acc >= f.k,
                    };
                    pc += if t { f.jt } else { f.jf } as usize;
                }
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    fn cfg(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    const X: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn errno_rule_and_default() {
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 83, [0; 6]), RET_ERRNO | 1);
        assert_eq!(eval(&p, X, 258, [0; 6]), RET_ERRNO | 1);
        assert_eq!(eval(&p, X, 0, [0; 6]), RET_ALLOW);
        // x86 not listed: a 32-bit syscall is killed; x32 likewise.
        assert_eq!(eval(&p, AUDIT_ARCH_I386, 39, [0; 6]), RET_KILL_THREAD);
        assert_eq!(eval(&p, X, X32_BIT | 83, [0; 6]), RET_KILL_THREAD);
    }

    #[test]
    fn listed_architectures_are_filtered_with_their_numbers() {
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, AUDIT_ARCH_I386, 39, [0; 6]), RET_ERRNO | 13);
        assert_eq!(eval(&p, AUDIT_ARCH_I386, 83, [0; 6]), RET_ALLOW);
        assert_eq!(eval(&p, X, X32_BIT | 83, [0; 6]), RET_ERRNO | 13);
    }

    #[test]
    fn every_operator_on_64_bit_values() {
        let v: u64 = 0x1_0000_0005;
        for (op, cases) in [
            ("SCMP_CMP_EQ", [(v, true), (5, false), (v + 1, false)]),
            ("SCMP_CMP_NE", [(v, false), (5, true), (v + 1, true)]),
            (
                "SCMP_CMP_GT",
                [(v, false), (v + 1, true), (0x2_0000_0000, true)],
            ),
            (
                "SCMP_CMP_GE",
                [(v, true), (v - 1, false), (0x2_0000_0000, true)],
            ),
            (
                "SCMP_CMP_LT",
                [(v, false), (v - 1, true), (0x2_0000_0000, false)],
            ),
            ("SCMP_CMP_LE", [(v, true), (v + 1, false), (5, true)]),
        ] {
            let c = cfg(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":{v},"op":"{op}"}}]}}]}}"#
            ));
            let p = compile(&c).unwrap();
            for (arg, hit) in cases {
                let want = if hit { RET_ERRNO | 1 } else { RET_ALLOW };
                assert_eq!(
                    eval(&p, X, 135, [arg, 0, 0, 0, 0, 0]),
                    want,
                    "{op} {arg:#x}"
                );
            }
        }
    }

    #[test]
    fn masked_eq_uses_value_as_mask() {
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
            "args":[{"index":0,"value":255,"valueTwo":8,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 135, [0x108, 0, 0, 0, 0, 0]), RET_ERRNO | 13);
        assert_eq!(eval(&p, X, 135, [0xffff_ffff, 0, 0, 0, 0, 0]), RET_ALLOW);
    }

    #[test]
    fn different_args_and_same_arg_or() {
        // Different arguments: AND.
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW",
            "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 135, [1, 2, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, X, 135, [1, 3, 0, 0, 0, 0]), RET_ERRNO | 1);
        // The same argument twice: separate rules, OR.
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW",
            "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 135, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, X, 135, [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, X, 135, [2, 0, 0, 0, 0, 0]), RET_ERRNO | 1);
    }

    #[test]
    fn enosys_stub_above_the_highest_named_syscall() {
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 0, [0; 6]), RET_ALLOW);
        assert_eq!(
            eval(&p, X, 83, [0; 6]),
            RET_ERRNO | 1,
            "known but not allowed: EPERM"
        );
        assert_eq!(
            eval(&p, X, 400, [0; 6]),
            RET_ERRNO | libc::ENOSYS as u32,
            "newer: ENOSYS"
        );
    }

    #[test]
    fn unknown_names_skip_and_notify_rules() {
        let c = cfg(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_call","mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        let p = compile(&c).unwrap();
        assert_eq!(eval(&p, X, 83, [0; 6]), RET_USER_NOTIF);
        let bad = cfg(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
        assert!(compile(&bad)
            .unwrap_err()
            .to_string()
            .contains("default action"));
        let bad = cfg(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["write"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(compile(&bad).unwrap_err().to_string().contains("write"));
    }

    #[test]
    fn errno_on_an_action_without_one_is_refused() {
        for (json, bad) in [
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_KILL","errnoRet":5}]}"#,
                true,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_KILL","defaultErrnoRet":5}"#,
                true,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
                false,
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_TRACE","errnoRet":5}]}"#,
                false,
            ),
        ] {
            let cfg: LinuxSeccomp = serde_json::from_str(json).unwrap();
            assert_eq!(compile(&cfg).is_err(), bad, "{json}");
        }
    }
}
