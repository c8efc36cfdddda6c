//! Process security settings: capabilities, the user switch, rlimits.

pub mod attrs;
pub mod caps;
pub mod lsm;
pub mod rlimits;
pub mod seccomp;
pub mod user;
