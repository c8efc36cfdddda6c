//! The switch to process.user: groups, gid, uid, keeping the capabilities
//! that the config grants across it (they are set again right after).

use anyhow::{Context, Result};
use oci_spec::runtime::User;

use crate::sys;

/// Drops the bounding set, switches user, then sets the process's sets.
pub fn switch(user: &User, caps: &crate::security::caps::CapSets) -> Result<()> {
    caps.apply_bounding()
        .context("drop bounding capabilities")?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 1).context("keep capabilities")?;
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    // SAFETY: groups is a valid array of its length.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        // setgroups is denied in a user namespace whose setgroups file says
        // "deny"; that is fine when no groups were asked for.
        if !(groups.is_empty() && e.raw_os_error() == Some(libc::EPERM)) {
            return Err(e).with_context(|| format!("setgroups {groups:?}"));
        }
    }
    // SAFETY: plain syscalls.
    if unsafe { libc::setresgid(user.gid(), user.gid(), user.gid()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("setgid {}", user.gid()));
    }
    if unsafe { libc::setresuid(user.uid(), user.uid(), user.uid()) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("setuid {}", user.uid()));
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 0).context("reset keep capabilities")?;
    caps.apply_process_sets().context("set capabilities")?;
    Ok(())
}
