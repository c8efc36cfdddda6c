//! Processes of a container: the sync channel and the init.

pub mod init;
pub mod sync;
