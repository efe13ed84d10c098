//! Packet-in text (`OFPT_PACKET_IN`, `NXT_PACKET_IN`, `NXT_PACKET_IN2`,
//! and `NXT_RESUME`, which OVS prints as a packet-in), as
//! OVS's `ofputil_packet_in_private_format` prints all three: table and
//! cookie when set, lengths, the metadata match, the reason, userdata and
//! continuation lines, the frame summary (verbosity > 0) and a hex dump of
//! the frame (verbosity > 2).
//!
//! Continuation lines are printed from rvs's decoding of OVS's private
//! properties; `continuation.actions` prints each group of actions after an
//! `unroll_xlate(table=N, cookie=N)` as OVS does, with rvs's action
//! printer (only checked against OVS for simple actions).

use core::fmt::Write as _;

use crate::action::{decode_actions, format_actions};
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::msg::Message;
use crate::msg::packet_in::{NxPacketIn, PacketInReason};
use crate::msg::packet_in2::{Continuation, ContinuationProp, PacketIn2};
use crate::reader::Reader;

/// OVS's `OFP_DEFAULT_PRIORITY`: the match is printed without a priority.
const DEFAULT_PRIORITY: u16 = 0x8000;

/// The fields every packet-in format carries, borrowed.
struct Fields<'a> {
    table_id: u8,
    cookie: u64,
    total_len: usize,
    metadata: &'a Match,
    reason: PacketInReason,
    buffer_id: u32,
    packet: &'a [u8],
    userdata: &'a [u8],
    continuation: &'a [u8],
}

/// Prints `msg` if it is a packet-in.
pub(super) fn print(s: &mut String, msg: &Message, verbosity: u32) -> Option<Result<(), OfpError>> {
    let f = match msg {
        Message::PacketIn(p) | Message::NxPacketIn(NxPacketIn(p)) => Fields {
            table_id: p.table_id,
            cookie: p.cookie,
            total_len: usize::from(p.total_len),
            metadata: &p.match_,
            reason: p.reason,
            buffer_id: p.buffer_id,
            packet: &p.data,
            userdata: &[],
            continuation: &[],
        },
        Message::PacketIn2(p) | Message::Resume(p) => fields2(p),
        _ => return None,
    };
    Some(format(s, &f, verbosity))
}

fn fields2(p: &PacketIn2) -> Fields<'_> {
    Fields {
        table_id: p.table_id,
        cookie: p.cookie,
        total_len: p.total_len as usize,
        metadata: &p.metadata,
        reason: p.reason,
        buffer_id: p.buffer_id,
        packet: &p.packet,
        userdata: &p.userdata,
        continuation: &p.continuation,
    }
}

fn format(s: &mut String, f: &Fields<'_>, verbosity: u32) -> Result<(), OfpError> {
    // OVS decodes the continuation before printing anything.
    let cont = Continuation::decode(f.continuation)?;
    // ... including the frozen actions.
    for p in &cont.props {
        if let ContinuationProp::Actions(a) | ContinuationProp::ActionSet(a) = p {
            decode_actions(&mut Reader::new(a))?;
        }
    }
    if f.table_id != 0 {
        let _ = write!(s, " table_id={}", f.table_id);
    }
    if f.cookie != u64::MAX {
        let _ = write!(s, " cookie=0x{:x}", f.cookie);
    }
    let _ = write!(s, " total_len={} ", f.total_len);
    s.push_str(&f.metadata.format_with_priority(DEFAULT_PRIORITY));
    let _ = write!(
        s,
        " (via {}) data_len={}",
        f.reason.ovs_text(),
        f.packet.len()
    );
    if f.buffer_id == u32::MAX {
        s.push_str(" (unbuffered)");
        if f.total_len != f.packet.len() {
            s.push_str(" (***total_len != data_len***)");
        }
    } else {
        let _ = write!(s, " buffer=0x{:08x}", f.buffer_id);
        if f.total_len < f.packet.len() {
            s.push_str(" (***total_len < data_len***)");
        }
    }
    s.push('\n');
    if !f.userdata.is_empty() {
        s.push_str(" userdata=");
        dotted_hex(s, f.userdata);
        s.push('\n');
    }
    continuation(s, &cont)?;
    if verbosity > 0
        && let Some(p) = super::packet::packet_to_string(f.packet)
    {
        s.push_str(&p);
    }
    if verbosity > 2 {
        hex_dump_plain(s, f.packet);
    }
    Ok(())
}

/// OVS's `format_hex_arg`: `01.02.03`.
fn dotted_hex(s: &mut String, b: &[u8]) {
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{x:02x}");
    }
}

/// OVS's `ds_put_hex_dump(.., ascii=false)`.
fn hex_dump_plain(s: &mut String, buf: &[u8]) {
    for (line, chunk) in buf.chunks(16).enumerate() {
        let _ = write!(s, "{:08x}  ", line * 16);
        for (i, b) in chunk.iter().enumerate() {
            let _ = write!(s, "{:02x}{}", b, if i == 7 { '-' } else { ' ' });
        }
        if s.ends_with(' ') {
            s.pop();
        }
        s.push('\n');
    }
}

/// OVS's `mf_subvalue_format` of a stack value: hex without leading zero
/// bytes, `0` when all zero.
fn subvalue(s: &mut String, v: &[u8]) {
    match v.iter().position(|&b| b != 0) {
        None => s.push('0'),
        Some(i) => {
            let _ = write!(s, "0x{:x}", v[i]);
            for b in &v[i + 1..] {
                let _ = write!(s, "{b:02x}");
            }
        }
    }
}

fn continuation(s: &mut String, c: &Continuation) -> Result<(), OfpError> {
    use ContinuationProp as P;
    let mut bridge = None;
    let mut stack = Vec::new();
    let mut mirrors = 0;
    let mut conntracked = false;
    let mut odp_port = 0;
    let (mut table_id, mut cookie) = (0u8, 0u64);
    let mut actions = Vec::new();
    let mut action_set = None;
    for p in &c.props {
        match p {
            P::Bridge(u) => bridge = Some(*u),
            P::Stack(v) => stack.push(v),
            P::Mirrors(m) => mirrors = *m,
            P::Conntracked => conntracked = true,
            P::TableId(t) => table_id = *t,
            P::Cookie(k) => cookie = *k,
            P::Actions(a) => {
                let acts = decode_actions(&mut Reader::new(a))?;
                actions.push(format!("unroll_xlate(table={table_id}, cookie={cookie})"));
                if !acts.is_empty() {
                    actions.push(format_actions(&acts));
                }
            }
            P::ActionSet(a) => {
                let acts = decode_actions(&mut Reader::new(a))?;
                if !acts.is_empty() {
                    action_set = Some(format_actions(&acts));
                }
            }
            P::OdpPort(o) => odp_port = *o,
        }
    }
    if let Some(u) = bridge.filter(|u| *u != [0; 16]) {
        // OVS writes the UUID's four 32-bit words in its host order
        // (little-endian on the machines it runs on) and prints them as
        // UUID_FMT.
        let w = |i: usize| u32::from_le_bytes([u[i], u[i + 1], u[i + 2], u[i + 3]]);
        let (a, b, c, d) = (w(0), w(4), w(8), w(12));
        let _ = writeln!(
            s,
            " continuation.bridge={a:08x}-{:04x}-{:04x}-{:04x}-{:04x}{d:08x}",
            b >> 16,
            b & 0xffff,
            c >> 16,
            c & 0xffff
        );
    }
    if !stack.is_empty() {
        s.push_str(" continuation.stack=(top)");
        for v in stack {
            s.push(' ');
            subvalue(s, v);
        }
        s.push_str(" (bottom)\n");
    }
    if mirrors != 0 {
        let _ = writeln!(s, " continuation.mirrors=0x{mirrors:x}");
    }
    if conntracked {
        s.push_str(" continuation.conntracked=true\n");
    }
    if !actions.is_empty() {
        let _ = writeln!(s, " continuation.actions={}", actions.join(","));
    }
    if let Some(a) = action_set {
        let _ = writeln!(s, " continuation.action_set={a}");
    }
    if odp_port != 0 {
        let _ = writeln!(s, " continuation.odp_port={odp_port}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::action::tests_util::unhex as hex;
    use crate::msg::print::ofp_to_string;

    /// OVS 3.1's packet-in for
    /// `set_field:0x5->reg0,push:NXM_NX_REG0[],ct(commit),controller(pause,userdata=0a.0b),output:2`.
    const OVS_PAUSE: &str = "\
        040400b800000000000023200000001e0000002e50540000000a505400000009\
        08004500001c000000000011a4cd0a0101010a01010200010002000800000000\
        0003000500000000000500050100000000060014800000040000000100010004\
        00000005000000000008004800000000800000141cc19c3cc549fea958e8fca8\
        d607dae200000000800100080000000580060018000000000000001000000002\
        00000000000000008008000800000003000700060a0b0000";

    #[test]
    fn prints_a_continuation_as_ovs_ofctl() {
        assert_eq!(
            ofp_to_string(&hex(OVS_PAUSE), 2),
            "NXT_PACKET_IN2 (OF1.3) (xid=0x0): total_len=42 reg0=0x5,in_port=1 (via action) data_len=42 (unbuffered)
 userdata=0a.0b
 continuation.bridge=3c9cc11c-a9fe-49c5-a8fc-e858e2da07d6
 continuation.stack=(top) 0x5 (bottom)
 continuation.actions=unroll_xlate(table=0, cookie=0),output:2
 continuation.odp_port=3
udp,vlan_tci=0x0000,dl_src=50:54:00:00:00:09,dl_dst=50:54:00:00:00:0a,nw_src=10.1.1.1,nw_dst=10.1.1.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1,tp_dst=2 udp_csum:0
"
        );
        // And the continuation survives a round trip.
        let (_, m) = crate::msg::Message::decode(&hex(OVS_PAUSE)).unwrap();
        assert_eq!(m.encode(0)[..], hex(OVS_PAUSE)[..]);
    }

    /// Texts from `ovs-ofctl ofp-print HEX` (OVS 3.1) for the packet-ins
    /// OVS's ovs-vswitchd sent.
    #[test]
    fn prints_as_ovs_ofctl() {
        let ct = hex(crate::msg::packet_in2::tests::OVS_CT);
        assert_eq!(
            ofp_to_string(&ct, 2),
            "NXT_PACKET_IN2 (OF1.3) (xid=0x0): table_id=1 cookie=0x0 total_len=42 ct_state=est|rpl|trk,ct_zone=7,ct_mark=0x11,ct_label=0x22,ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2,ip,reg1=0x3,in_port=2 (via action) data_len=42 (unbuffered)
udp,vlan_tci=0x0000,dl_src=50:54:00:00:00:09,dl_dst=50:54:00:00:00:0a,nw_src=10.1.1.2,nw_dst=10.1.1.1,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=2,tp_dst=1 udp_csum:0
"
        );
        let ud = hex(crate::msg::packet_in2::tests::OVS_USERDATA);
        assert_eq!(
            ofp_to_string(&ud, 4),
            "NXT_PACKET_IN2 (OF1.3) (xid=0x0): cookie=0x0 total_len=42 reg0=0x5,metadata=0xabc,in_port=1 (via action) data_len=42 (unbuffered)
 userdata=01.02.03
udp,vlan_tci=0x0000,dl_src=50:54:00:00:00:09,dl_dst=50:54:00:00:00:0a,nw_src=10.1.1.1,nw_dst=10.1.1.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1,tp_dst=2 udp_csum:0
00000000  50 54 00 00 00 0a 50 54-00 00 00 09 08 00 45 00
00000010  00 1c 00 00 00 00 00 11-a4 cd 0a 01 01 01 0a 01
00000020  01 02 00 01 00 02 00 08-00 00
"
        );
    }
}
