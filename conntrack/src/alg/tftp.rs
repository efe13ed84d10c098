//! TFTP (RFC 1350): the client sends its request to port 69, and the server answers from a
//! new port of its own to the client's port. So every packet the client sends on the control
//! "connection" (original direction) announces: server, from any port, to the client's port.

use crate::key::{ConnKey, IPPROTO_UDP};

/// The key (source port wildcarded, see [`super::expect::wildcard_key`]) of the data
/// connection a TFTP request on the connection `orig` (reply key `reply_key`) announces, or
/// `None` if the packet is not a request (`reply`) or not UDP.
pub(crate) fn expected(orig: &ConnKey, reply_key: &ConnKey, reply: bool) -> Option<ConnKey> {
    if reply || orig.proto() != IPPROTO_UDP {
        return None;
    }
    // The client's port as the server sees it (the same unless a SNAT changed it).
    super::exp_key(reply_key, reply_key.dst_port())
}
