//! Process security settings: capabilities, the user switch, rlimits.

pub mod caps;
pub mod rlimits;
pub mod seccomp;
pub mod user;
