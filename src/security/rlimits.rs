//! process.rlimits, applied with setrlimit in the init before the exec.

use anyhow::{Context, Result};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType as R};

pub fn resource(t: R) -> libc::__rlimit_resource_t {
    match t {
        R::RlimitCpu => libc::RLIMIT_CPU,
        R::RlimitFsize => libc::RLIMIT_FSIZE,
        R::RlimitData => libc::RLIMIT_DATA,
        R::RlimitStack => libc::RLIMIT_STACK,
        R::RlimitCore => libc::RLIMIT_CORE,
        R::RlimitRss => libc::RLIMIT_RSS,
        R::RlimitNproc => libc::RLIMIT_NPROC,
        R::RlimitNofile => libc::RLIMIT_NOFILE,
        R::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        R::RlimitAs => libc::RLIMIT_AS,
        R::RlimitLocks => libc::RLIMIT_LOCKS,
        R::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        R::RlimitNice => libc::RLIMIT_NICE,
        R::RlimitRtprio => libc::RLIMIT_RTPRIO,
        R::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

pub fn apply(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        let r = libc::rlimit {
            rlim_cur: l.soft(),
            rlim_max: l.hard(),
        };
        // SAFETY: r is a valid rlimit.
        if unsafe { libc::setrlimit(resource(l.typ()), &r) } != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| {
                format!(
                    "set rlimit {:?} to soft {} hard {}",
                    l.typ(),
                    l.soft(),
                    l.hard()
                )
            });
        }
    }
    Ok(())
}
