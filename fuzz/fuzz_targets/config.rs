//! config.json bytes through everything create does with them before any
//! system call: parsing, validation, the namespace plan, mount options,
//! device rules and the seccomp compiler. Any input must give Ok or Err,
//! never a panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runr::{cgroups, config, container, namespaces, rootfs};

fuzz_target!(|data: &[u8]| {
    let _ = config::parse_process(data);
    let Ok((spec, _caps)) = config::parse(data) else {
        return;
    };
    let _ = config::validate(&spec);
    let _ = namespaces::Plan::from_spec(&spec);
    let _ = container::create::linux_seccomp(&spec);
    for m in spec.mounts().iter().flatten() {
        let _ = rootfs::options::parse(m.options().as_deref().unwrap_or_default());
    }
    if let Some(linux) = spec.linux() {
        let _ = cgroups::devices::rules(
            linux
                .resources()
                .as_ref()
                .and_then(|r| r.devices().as_deref())
                .unwrap_or_default(),
        );
    }
});
