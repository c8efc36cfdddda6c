//! runr-spec-check: runs inside a container and compares what the process
//! sees with the config.json it is given (argv[1]), printing TAP. Part of
//! the conformance suite in spec-tests/; static, std and serde_json only.

use std::fs;

use serde_json::Value;

#[path = "check/cgroups.rs"]
mod cgroups;
#[path = "check/linux.rs"]
mod linux;
#[path = "check/mounts.rs"]
mod mounts;
#[path = "check/process.rs"]
mod process;

pub struct Tap {
    n: usize,
    failed: usize,
}

impl Tap {
    pub fn check(&mut self, ok: bool, what: &str, detail: impl FnOnce() -> String) {
        self.n += 1;
        if ok {
            println!("ok {} - {what}", self.n);
        } else {
            self.failed += 1;
            println!("not ok {} - {what} # {}", self.n, detail());
        }
    }
}

pub fn status_field(key: &str) -> String {
    let s = fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--syscall") {
        std::process::exit(linux::syscall_probe(&argv[2..]));
    }
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/spec/config.json".into());
    let cfg: Value = match fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(v) => v,
        None => {
            println!("1..1\nnot ok 1 - read {path}");
            std::process::exit(1);
        }
    };
    let mut t = Tap { n: 0, failed: 0 };
    process::check(&mut t, &cfg);
    mounts::check(&mut t, &cfg);
    linux::check(&mut t, &cfg);
    cgroups::check(&mut t, &cfg);
    println!("1..{}", t.n);
    std::process::exit(if t.failed == 0 { 0 } else { 1 });
}
