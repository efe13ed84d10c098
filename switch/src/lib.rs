//! The `rvs` switch: daemon pieces shared by the binary and its tests.
//!
//! - [`unixctl`]: the JSON-RPC control protocol `ovs-appctl` speaks, served on
//!   `RUNDIR/rvs.ctl`, and its client (`rvs ctl`).
//! - [`channel`]: the OpenFlow controller channel (connections, bundles,
//!   roles, listeners).
//! - [`daemon`]: `rvs switchd` (bridge assembly, ports, sockets, signals).
//! - [`ctl`]: `rvs ctl`, the unixctl client.
//! - [`demo`]: `rvs demo`, the namespace firewall demonstration.
//! - [`ofctl_online`]: the `rvs ofctl` commands that talk to a switch.
#![forbid(unsafe_code)]

pub mod channel;
pub mod ctl;
pub mod daemon;
pub mod demo;
pub mod ofctl_online;
pub mod unixctl;
