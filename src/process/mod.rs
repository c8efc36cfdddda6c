//! Processes of a container: the sync channel and the init.

pub mod exec;
pub mod finish;
pub mod forward;
pub mod init;
pub mod selfexe;
pub mod sync;
