//! The lifecycle operations the CLI calls, one file each.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod state;
pub mod update;

/// The container's cgroups for an operation that needs them; a rootless
/// container that could not make any has none.
pub fn cgroups_for(state: &state::State, op: &str) -> anyhow::Result<crate::cgroups::Cgroups> {
    if state.cgroup_paths.is_empty() {
        anyhow::bail!("cannot {op}: the container has no cgroup (rootless, none delegated)");
    }
    Ok(crate::cgroups::Cgroups::from_paths(&state.cgroup_paths))
}

/// The version of the runtime spec runr's state and `--version` follow.
pub const OCI_VERSION: &str = "1.3.0";

/// Errors whose words engines match on; kept exactly as runc prints them.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    Exists,
    #[error("container not running")]
    NotRunning,
    #[error("cannot start an already running container")]
    AlreadyRunning,
    #[error("cannot start a container that has stopped")]
    Stopped,
    #[error("cannot start a container in the paused state")]
    StartPaused,
    #[error("cannot delete container {0} that is not stopped: {1}")]
    NotStopped(String, state::Status),
}
