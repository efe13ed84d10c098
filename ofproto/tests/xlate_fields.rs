//! Field rewrites in translation: set_field on ARP fields becomes a datapath
//! `set(arp(...))`; `move` into ct_mark/ct_label inside `ct(exec(...))`.

mod common;

use common::*;

const RESPONDER: &str = "table=0,priority=10,arp,arp_op=1,arp_tpa=10.1.1.240,actions=\
    move:OXM_OF_ETH_SRC[]->OXM_OF_ETH_DST[],mod_dl_src:80:88:88:88:88:88,\
    load:2->OXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],\
    load:0x808888888888->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],\
    load:0x0a0101f0->NXM_OF_ARP_SPA[],in_port";

#[test]
fn arp_responder_flow_rewrites_the_arp_header() {
    let mut of = bridge(2);
    load(&mut of, RESPONDER);
    let got = acts(
        &of,
        "in_port=1,arp,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,\
         arp_spa=10.1.1.1,arp_tpa=10.1.1.240,arp_sha=00:00:00:00:00:01,arp_tha=00:00:00:00:00:00",
    );
    assert_eq!(
        got,
        "set(eth(src=80:88:88:88:88:88,dst=00:00:00:00:00:01)),\
         set(arp(sip=10.1.1.240,tip=10.1.1.1,op=2,sha=80:88:88:88:88:88,tha=00:00:00:00:00:01)),1"
    );
}

#[test]
fn unchanged_arp_fields_emit_no_set() {
    let mut of = bridge(2);
    load(
        &mut of,
        "table=0,arp,actions=load:1->OXM_OF_ARP_OP[],output:2",
    );
    // The packet already has op 1: nothing to rewrite.
    assert_eq!(acts(&of, "in_port=1,arp,arp_op=1"), "2");
    // Only the opcode differs: only the opcode is rewritten.
    assert_eq!(acts(&of, "in_port=1,arp,arp_op=2"), "set(arp(op=1)),2");
}

#[test]
fn ct_exec_move_into_mark_and_label() {
    let mut of = bridge(2);
    load(
        &mut of,
        "table=0,ip,actions=load:0x1234->NXM_NX_REG0[],ct(commit,exec(move:NXM_OF_IP_SRC[]->NXM_NX_CT_LABEL[0..31],\
         move:NXM_NX_REG0[0..7]->NXM_NX_CT_MARK[8..15])),output:2",
    );
    let got = acts(&of, "in_port=1,ip,nw_src=10.1.1.1");
    assert_eq!(
        got,
        "ct(commit,mark=0x3400/0xff00,label=0xa010101/0xffffffff),2"
    );
}
