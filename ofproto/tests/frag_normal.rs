//! The fragment handling mode `normal` (OVS's default, rvs's only one):
//! every IP fragment, the first one (offset 0) too, meets the flow tables
//! with L4 ports, ICMP type and code 0, as OVS's rule lookup presents it;
//! the actions still see the packet's own ports.

mod common;

use common::*;

const FLOWS: &str = "\
priority=10,udp,tp_dst=53,actions=output:2
priority=5,udp,tp_dst=0,actions=output:3
priority=10,icmp,icmp_type=8,actions=output:2
priority=5,icmp,icmp_type=0,icmp_code=0,actions=output:3
priority=1,actions=drop
";

#[test]
fn a_first_fragment_matches_as_if_its_ports_were_zero() {
    let mut of = bridge(3);
    load(&mut of, FLOWS);
    assert_eq!(
        acts(&of, "in_port=1,udp,nw_frag=no,tp_src=9,tp_dst=53"),
        "2"
    );
    assert_eq!(
        acts(&of, "in_port=1,udp,nw_frag=first,tp_src=9,tp_dst=53"),
        "3"
    );
    assert_eq!(acts(&of, "in_port=1,udp,nw_frag=later"), "3");
    assert_eq!(acts(&of, "in_port=1,icmp,nw_frag=no,icmp_type=8"), "2");
    assert_eq!(acts(&of, "in_port=1,icmp,nw_frag=first,icmp_type=8"), "3");
}

#[test]
fn actions_still_see_the_fragments_own_ports() {
    let mut of = bridge(3);
    load(
        &mut of,
        "priority=5,udp,actions=move:NXM_OF_UDP_DST[]->NXM_NX_REG0[0..15],resubmit(,1)\n\
         table=1,priority=5,reg0=53,actions=output:2\n\
         table=1,priority=1,actions=output:3",
    );
    assert_eq!(acts(&of, "in_port=1,udp,nw_frag=first,tp_dst=53"), "2");
}
