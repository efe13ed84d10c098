#!/usr/bin/env python3
"""Builds tests/data/corpus.flows and tests/data/refused.flows.

Candidate flows are listed below by family. Each is run through
`ovs-ofctl -O OpenFlow13 parse-flow`; accepted flows whose printed flow-mod
decodes cleanly and whose normalized text is new go to corpus.flows; flows
listed as refusals go to refused.flows with the OVS error name OVS printed.
Run from the repository root: python3 tests/data/make_corpus.py

Scope: the fields and actions rvs supports (issue 3), and the Nicira
actions added later (NX below: output_trunc, multipath, sample,
check_pkt_larger, the field stack, bundle/bundle_load). encap/decap and
delete_field, which rvs refuses, are left out on purpose.
"""
import re
import subprocess
import sys

H = []  # flow-mod header variants
H += ["priority=%d,actions=drop" % p for p in (0, 1, 100, 32768, 65535)]
H += ["table=%d,actions=drop" % t for t in (1, 10, 254)]
H += ["cookie=0x%x,actions=drop" % c for c in (1, 0x123456789abcdef0, 0xffffffffffffffff)]
H += ["idle_timeout=10,actions=drop", "hard_timeout=20,actions=drop",
      "idle_timeout=5,hard_timeout=65535,actions=drop"]
H += ["send_flow_rem,actions=drop", "check_overlap,actions=drop", "reset_counts,actions=drop",
      "no_packet_counts,actions=drop", "no_byte_counts,actions=drop",
      "send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,actions=drop"]
H += ["table=3,priority=7,cookie=0xabc,idle_timeout=1,hard_timeout=2,send_flow_rem,in_port=1,actions=output:2"]

M = []  # match fields
M += ["in_port=%s,actions=drop" % p for p in ("1", "65279", "LOCAL", "CONTROLLER")]
M += ["dl_src=00:11:22:33:44:55,actions=drop", "dl_dst=ff:ff:ff:ff:ff:ff,actions=drop",
      "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop",
      "dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00,actions=drop",
      "dl_src=aa:bb:cc:dd:ee:ff,dl_dst=11:22:33:44:55:66,actions=drop"]
M += ["dl_type=0x%04x,actions=drop" % t for t in (0x0800, 0x0806, 0x86dd, 0x88cc, 0x8847, 0x1234)]
M += ["dl_vlan=%d,actions=drop" % v for v in (0, 5, 4095)]
M += ["dl_vlan_pcp=%d,actions=drop" % p for p in (0, 7)]
M += ["vlan_tci=0,actions=drop", "vlan_tci=0x1000/0x1000,actions=drop",
      "vlan_tci=0xf123,actions=drop",
      "vlan_vid=0x1005,actions=drop", "vlan_tci=0x0005/0x0fff,actions=drop",
      "dl_vlan=10,dl_vlan_pcp=3,actions=drop"]
M += ["%s,actions=drop" % s for s in ("ip", "ipv6", "arp", "rarp", "tcp", "udp", "sctp", "icmp",
                                      "tcp6", "udp6", "sctp6", "icmp6", "mpls", "mplsm")]
M += ["ip,nw_src=10.0.0.1,actions=drop", "ip,nw_dst=192.168.1.0/24,actions=drop",
      "ip,nw_src=10.0.0.0/8,nw_dst=172.16.0.0/12,actions=drop",
      "ip,nw_src=1.2.3.4/255.0.255.0,actions=drop", "ip,nw_dst=0.0.0.0/1,actions=drop",
      "ip,nw_proto=6,actions=drop", "ip,nw_proto=17,actions=drop", "ip,nw_proto=89,actions=drop",
      "ip,nw_proto=1,actions=drop", "ipv6,nw_proto=58,actions=drop", "ipv6,nw_proto=17,actions=drop",
      "ip,nw_tos=0x10,actions=drop", "ip,nw_tos=252,actions=drop", "ip,ip_dscp=46,actions=drop",
      "ip,nw_ecn=3,actions=drop", "ip,ip_ecn=1,actions=drop", "ipv6,nw_ecn=2,actions=drop",
      "ipv6,nw_tos=0x20,actions=drop",
      "ip,nw_ttl=64,actions=drop", "ipv6,nw_ttl=1,actions=drop",
      "ip,nw_frag=yes,actions=drop", "ip,nw_frag=no,actions=drop", "ip,nw_frag=first,actions=drop",
      "ip,nw_frag=later,actions=drop", "ip,nw_frag=not_later,actions=drop",
      "ipv6,nw_frag=yes,actions=drop"]
M += ["tcp,tp_src=80,actions=drop", "tcp,tp_dst=443,actions=drop",
      "tcp,tp_src=0x400/0xfc00,actions=drop", "tcp,tp_dst=8080/0xfff0,actions=drop",
      "udp,tp_src=53,actions=drop", "udp,tp_dst=67,actions=drop", "udp,tp_dst=0x1000/0xf000,actions=drop",
      "sctp,tp_src=9,actions=drop", "sctp,tp_dst=38412,actions=drop",
      "tcp6,tp_src=22,actions=drop", "udp6,tp_dst=546,actions=drop", "sctp6,tp_dst=7,actions=drop",
      "tcp,tcp_src=1,tcp_dst=2,actions=drop", "udp,udp_src=3,udp_dst=4,actions=drop",
      "sctp,sctp_src=5,sctp_dst=6,actions=drop",
      "tcp,tcp_flags=+syn-ack,actions=drop", "tcp,tcp_flags=0x002/0x012,actions=drop",
      "tcp,tcp_flags=+fin,actions=drop", "tcp6,tcp_flags=-rst+psh+urg,actions=drop",
      "tcp,tcp_flags=0x100,actions=drop"]
M += ["icmp,icmp_type=8,actions=drop", "icmp,icmp_type=0,icmp_code=0,actions=drop",
      "icmp,icmp_code=3,actions=drop", "icmp6,icmp_type=128,actions=drop",
      "icmp6,icmpv6_type=129,icmpv6_code=0,actions=drop", "icmp,icmp_type=3,icmp_code=1,actions=drop",
      "icmp6,icmp_type=135,nd_target=fe80::1,actions=drop",
      "icmp6,icmp_type=135,nd_sll=00:11:22:33:44:55,actions=drop",
      "icmp6,icmp_type=136,nd_tll=00:11:22:33:44:66,actions=drop",
      "icmp6,icmp_type=136,nd_target=2001:db8::/64,actions=drop",
      "icmp6,icmp_type=135,icmp_code=0,nd_target=fe80::5,nd_sll=00:00:00:00:00:01,actions=drop"]
M += ["arp,arp_op=1,actions=drop", "arp,arp_op=2,actions=drop",
      "arp,arp_spa=10.0.0.1,actions=drop", "arp,arp_tpa=10.0.0.0/24,actions=drop",
      "arp,arp_sha=00:11:22:33:44:55,actions=drop", "arp,arp_tha=00:00:00:00:00:00,actions=drop",
      "arp,arp_sha=00:11:00:00:00:00/ff:ff:00:00:00:00,actions=drop",
      "rarp,arp_op=3,actions=drop", "arp,nw_src=1.1.1.1,nw_dst=2.2.2.2,actions=drop",
      "arp,arp_spa=10.1.0.0/255.255.0.0,arp_tpa=10.2.3.4,arp_op=1,actions=drop"]
M += ["ipv6,ipv6_src=2001:db8::1,actions=drop", "ipv6,ipv6_dst=2001:db8::/32,actions=drop",
      "ipv6,ipv6_src=fe80::/10,ipv6_dst=ff02::1,actions=drop",
      "ipv6,ipv6_src=::1/::ffff,actions=drop", "ipv6,ipv6_label=0x12345,actions=drop",
      "ipv6,ipv6_label=0x5/0xf,actions=drop", "tcp6,ipv6_dst=::,tp_dst=80,actions=drop"]
M += ["mpls,mpls_label=5,actions=drop", "mpls,mpls_label=1048575,actions=drop",
      "mpls,mpls_tc=3,actions=drop", "mpls,mpls_bos=1,actions=drop", "mplsm,mpls_bos=0,actions=drop",
      "mpls,mpls_label=100,mpls_tc=7,mpls_bos=1,actions=drop", "mpls,mpls_ttl=5,actions=drop"]
M += ["metadata=0x5,actions=drop", "metadata=0x5/0xff,actions=drop",
      "metadata=0xffffffffffffffff,actions=drop", "tun_id=0x5,actions=drop",
      "tun_id=0x5/0xff,actions=drop", "tunnel_id=0x1234567890,actions=drop",
      "pkt_mark=0x5,actions=drop", "pkt_mark=0x5/0xff,actions=drop"]
M += ["reg%d=0x%x,actions=drop" % (i, i + 1) for i in range(16)]
M += ["reg0=0x10/0xf0,actions=drop", "reg7=0/0x1,actions=drop", "reg15=0xffffffff,actions=drop"]
M += ["xreg%d=0x%x,actions=drop" % (i, (i + 1) << 33) for i in range(8)]
M += ["xreg0=0x1/0x1,actions=drop", "xreg3=0x123456789/0xffffffffff,actions=drop",
      "reg0=1,reg1=2,reg2=3,actions=drop", "reg0[0..7]=5,actions=drop", "reg3[16]=1,actions=drop"]
M += ["ct_state=%s,actions=drop" % s for s in (
    "-trk", "+trk", "+trk+new", "+trk+est", "+trk+rel", "+trk+rpl", "+trk+inv", "+trk+snat",
    "+trk+dnat", "+trk+est-rpl", "+trk-new+est-rel-inv", "0x1/0x3", "+new-est", "0x21/0x21")]
M += ["ct_zone=%d,actions=drop" % z for z in (0, 5, 65535)]
M += ["ct_mark=0x1,actions=drop", "ct_mark=0x10/0xf0,actions=drop", "ct_mark=0xffffffff,actions=drop",
      "ct_label=0x1,actions=drop", "ct_label=0x1/0x1,actions=drop",
      "ct_label=0x123456789abcdef0123456789abcdef0,actions=drop",
      "ct_label=0x8000000000000000/0x8000000000000000,actions=drop",
      "ct_state=+trk+est,ct_zone=1,ct_mark=2,ct_label=3,actions=drop"]
M += ["ip,ct_state=+trk+est,ct_nw_proto=6,actions=drop",
      "ip,ct_state=+trk+new,ct_nw_src=10.0.0.1,actions=drop",
      "ip,ct_state=+trk+est,ct_nw_dst=10.0.0.0/8,actions=drop",
      "ip,ct_state=+trk-inv,ct_nw_src=1.2.3.4,ct_nw_dst=5.6.7.8,actions=drop",
      "ipv6,ct_state=+trk+est,ct_ipv6_src=2001:db8::1,actions=drop",
      "ipv6,ct_state=+trk+new,ct_ipv6_dst=2001:db8::/64,actions=drop",
      "tcp,ct_state=+trk+est,ct_nw_proto=6,ct_tp_src=80,actions=drop",
      "tcp,ct_state=+trk+est,ct_nw_proto=6,ct_tp_dst=443,actions=drop",
      "udp,ct_state=+trk+new,ct_nw_proto=17,ct_tp_dst=0x1000/0xf000,actions=drop",
      "tcp6,ct_state=+trk+rpl,ct_nw_proto=6,ct_tp_src=22,ct_tp_dst=1024,actions=drop"]
M += ["conj_id=5,actions=drop", "conj_id=4294967295,actions=drop"]
M += ["tcp,in_port=1,dl_src=00:00:00:00:00:01,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80,actions=drop",
      "udp,dl_vlan=100,nw_tos=8,nw_ttl=10,tp_dst=53,reg1=7,ct_state=+trk+new,actions=drop",
      "ipv6,in_port=3,ipv6_src=2001::1,ipv6_label=1,nw_proto=132,actions=drop",
      "table=5,priority=200,tcp,ct_state=+trk+est,ct_zone=9,ct_mark=0x1/0x1,tp_dst=22,actions=drop"]

A = []  # actions
A += ["actions=output:%s" % p for p in ("1", "65279", "IN_PORT", "LOCAL", "ALL", "FLOOD", "NORMAL", "CONTROLLER")]
A += ["actions=%s" % s for s in ("drop", "1,2,3", "in_port", "local", "normal", "flood", "all",
                                 "output(port=1,max_len=100)", "controller", "controller:100",
                                 "controller(reason=no_match,max_len=100,id=5)",
                                 "controller(reason=action)", "controller(reason=invalid_ttl)",
                                 "controller(userdata=01.02.03,pause)", "controller(id=1,meter_id=3)",
                                 "set_queue:5", "group:1", "group:4294967040")]
A += ["actions=%s" % s for s in (
    "push_vlan:0x8100", "push_vlan:0x88a8", "mod_vlan_vid:10",
    "mod_vlan_pcp:5", "push_vlan:0x8100,set_field:4196->vlan_vid", "push_mpls:0x8847",
    "push_mpls:0x8848", "mod_dl_src:00:11:22:33:44:55",
    "mod_dl_dst:66:77:88:99:aa:bb", "exit",
    "note:01.02.03", "note:", "note:aa.bb.cc.dd.ee.ff.00.11", "ct_clear", "resubmit:5",
    "resubmit(,3)", "resubmit(1,3)", "resubmit(in_port,4)", "resubmit(LOCAL)",
    "output:NXM_NX_REG0[]", "output:NXM_NX_REG1[0..15]", "output:reg2[16..31]",
    "goto_table:1", "write_metadata:0x5", "write_metadata:0x5/0xff", "clear_actions",
    "meter:1", "meter:1,output:2", "write_actions(output:1)",
    "write_actions(set_field:1->reg0,group:2)", "output:1,goto_table:2",
    "clear_actions,write_actions(output:3),write_metadata:0x1/0x1,goto_table:9",
    "conjunction(1,1/2)", "conjunction(4294967295,2/4)", "conjunction(7,2/2)",
    "load:1->NXM_NX_REG0[]", "load:0x5->NXM_NX_REG1[0..7]", "load:0xffff->NXM_OF_VLAN_TCI[]",
    "load:1->NXM_NX_XXREG0[0..63]", "load:0x1->reg3[31]",
    "load:0x123456789abcdef->NXM_NX_TUN_ID[]", "load:0x5->OXM_OF_METADATA[0..31]",
    "load:0x1->NXM_NX_PKT_MARK[]",
    "move:NXM_NX_REG0[]->NXM_NX_REG1[]", "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]",
    "move:NXM_NX_REG0[0..15]->NXM_OF_VLAN_TCI[0..15]", "move:NXM_NX_CT_LABEL[0..31]->NXM_NX_REG5[]",
    "move:reg1[]->reg2[]", "move:OXM_OF_METADATA[0..31]->NXM_NX_REG0[]",
    "set_field:1->reg0", "set_field:0x5/0xff->reg1", "set_field:00:11:22:33:44:55->eth_src",
    "set_field:00:11:22:33:44:55->eth_dst", "set_field:5->tun_id",
    "set_field:0x3->pkt_mark", "set_field:0x12345678->metadata", "set_field:1->xreg1",
    "set_field:2->reg15",
    "mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02,output:1",
    "push_vlan:0x8100,mod_vlan_vid:100,output:3", "output:1,output:2,output:3,group:7", "resubmit(,1),resubmit(,2),resubmit(,3)",
    "learn(table=1,hard_timeout=10,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])",
    "learn(table=2,idle_timeout=5,priority=10,cookie=0x1,NXM_NX_REG0[],load:NXM_NX_REG1[]->NXM_NX_REG2[])",
    "learn(table=3,fin_idle_timeout=1,fin_hard_timeout=2,send_flow_rem,delete_learned,eth_type=0x800,NXM_OF_IP_SRC[],load:0x5->NXM_NX_REG0[])",
    "learn(limit=10,result_dst=reg0[0],table=4,NXM_NX_REG1[0..7])",
    "learn(table=5,in_port=99,NXM_OF_ETH_SRC[])",
    "learn(table=6,reg0=0x5,load:0x1->NXM_NX_REG1[],output:NXM_NX_REG2[])",
    "set_tunnel:5", "set_tunnel64:0x123456789",
    
)]
A += ["ip,actions=mod_nw_src:10.0.0.1", "ip,actions=mod_nw_dst:10.0.0.2", "ip,actions=mod_nw_tos:16",
      "ip,actions=mod_nw_ecn:2", "tcp,actions=mod_tp_src:80", "tcp,actions=mod_tp_dst:443",
      "udp,actions=mod_tp_src:53", "ip,actions=set_field:1.2.3.4->ip_src",
      "ip,actions=set_field:1.2.3.4->nw_dst", "ip,actions=set_field:46->ip_dscp",
      "ipv6,actions=set_field:2001:db8::1->ipv6_src", "ipv6,actions=set_field:::1->ipv6_dst",
      "ipv6,actions=set_field:5->ipv6_label", "tcp,actions=set_field:80->tcp_dst",
      "udp,actions=set_field:53->udp_src", "sctp,actions=set_field:9->sctp_dst",
      "icmp,actions=set_field:8->icmp_type", "icmp6,actions=set_field:129->icmpv6_type",
      "arp,actions=set_field:2->arp_op", "arp,actions=set_field:10.0.0.1->arp_spa",
      "arp,actions=set_field:00:11:22:33:44:55->arp_sha",
      "arp,actions=load:0x2->NXM_OF_ARP_OP[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]",
      "mpls,actions=set_field:10->mpls_label", "mpls,actions=pop_mpls:0x0800",
      "mpls,actions=pop_mpls:0x86dd", "mpls,actions=set_field:1->mpls_tc",
      "ip,actions=set_field:64->nw_ttl", "ip,actions=move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[]",
      "tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]", "ip,actions=dec_ttl,output:1"]
A += ["dl_vlan=5,actions=pop_vlan", "vlan_tci=0x1000/0x1000,actions=strip_vlan",
      "dl_vlan=7,actions=pop_vlan,output:1", "dl_vlan=9,actions=set_field:4196->vlan_vid",
      "vlan_tci=0x1000/0x1000,actions=set_field:5->vlan_pcp",
      "mpls,actions=set_mpls_label:5", "mpls,actions=set_mpls_tc:3", "mpls,actions=set_mpls_ttl:9",
      "mpls,actions=dec_mpls_ttl", "ip,actions=dec_ttl", "ipv6,actions=dec_ttl(1,2,3)",
      "ip,actions=mod_nw_ttl:9",
      "ip,actions=dec_ttl,output:1,output:2,output:3,group:7",
      "ip,actions=learn(table=3,eth_type=0x800,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],load:0x5->NXM_NX_REG0[])",
      "ip,ct_state=+trk,actions=resubmit(,2,ct)", "tcp,ct_state=+trk+est,actions=resubmit(,3,ct)"]
CT = []  # ct() and nat()
CT += ["ip,actions=ct(%s)" % s for s in (
    "", "commit", "table=1", "zone=5", "commit,zone=5", "commit,force",
    "zone=NXM_NX_REG0[0..15]", "zone=reg1[16..31]", "table=2,zone=10",
    "commit,exec(set_field:0x1->ct_mark)", "commit,exec(set_field:0x1/0x1->ct_mark)",
    "commit,exec(set_field:0x2->ct_label)", "commit,exec(set_field:0x1/0xff->ct_label)",
    "commit,exec(load:0x1->NXM_NX_CT_MARK[])", "commit,exec(load:0x1->NXM_NX_CT_LABEL[0..63])",
    "commit,exec(move:NXM_NX_REG0[]->NXM_NX_CT_MARK[])",
    "commit,exec(set_field:0x1->ct_mark,set_field:0x2->ct_label)",
    "commit,zone=1,table=3,exec(set_field:0xf->ct_mark)", "nat", "commit,nat",
    "commit,nat(src=10.0.0.1)", "commit,nat(src=10.0.0.1-10.0.0.5)",
    "commit,nat(src=10.0.0.1-10.0.0.5:100-200)", "commit,nat(src=10.0.0.1:53)",
    "commit,nat(src=10.0.0.1-10.0.0.5:100-200,random)", "commit,nat(src=10.0.0.1,persistent)",
    "commit,nat(src=10.0.0.1,hash)", "commit,nat(src=10.0.0.1,random,persistent)",
    "commit,nat(dst=10.0.0.9)", "commit,nat(dst=10.0.0.9:8080)",
    "commit,nat(dst=10.0.0.9-10.0.0.12:80-90,hash)", "table=1,nat", "zone=3,nat,table=4",
    "commit,table=5,zone=2,nat(src=1.1.1.1),exec(set_field:0x1->ct_mark)",
    "commit,force,zone=7,exec(set_field:0x3->ct_mark)", "commit,nat(src)", "commit,nat(dst)")]
CT += ["ipv6,actions=ct(%s)" % s for s in (
    "commit", "table=1", "commit,nat(src=2001:db8::1)", "commit,nat(src=[2001:db8::1]:80)",
    "commit,nat(dst=[2001:db8::1]-[2001:db8::5]:1000-2000)", "commit,nat(src=2001:db8::1-2001:db8::ff)",
    "nat,table=2")]
CT += ["tcp,actions=ct(commit,alg=ftp)", "udp,actions=ct(commit,alg=tftp)",
       "tcp,actions=ct(commit,alg=ftp,table=1)", "tcp6,actions=ct(commit,alg=ftp)",
       "udp6,actions=ct(commit,alg=tftp,zone=3)", "tcp,actions=ct(alg=ftp)",
       "ip,actions=ct_clear,ct(table=1)", "ip,ct_state=-trk,actions=ct(table=1)",
       "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)",
       "table=1,ip,ct_state=+trk+new,in_port=1,actions=ct(commit),output:2",
       "table=1,ip,ct_state=+trk+est,actions=normal",
       "table=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1,exec(set_field:0x1->ct_mark)),goto_table:2",
       "ip,ct_state=+trk+inv,actions=drop", "ip,ct_state=+trk-inv,actions=ct(commit)",
       "ip,ct_state=+trk+new,actions=ct(commit,nat(src=10.0.0.1)),output:1",
       "ip,ct_state=+trk+est,actions=ct(nat),output:1", "ip,actions=ct(table=1),ct(table=2)",
       "ip,actions=ct(zone=1,table=1),output:1",
       "ip,actions=write_actions(ct(commit))", "ip,actions=resubmit(,1),ct(commit)",
              "ip,actions=ct(commit,exec(set_field:0xffffffff->ct_mark,set_field:0xffffffffffffffffffffffffffffffff->ct_label))"]
CT += ["ip,actions=ct(table=%d)" % t for t in (0, 3, 10, 100, 254)]
CT += ["ip,actions=ct(zone=%d)" % z for z in (1, 2, 100, 65535)]

NX = []  # Nicira actions added after the first corpus
NX += ["actions=output(port=%s,max_len=%d)" % (p, l) for p, l in (
    ("1", 100), ("2", 14), ("LOCAL", 1500), ("IN_PORT", 65535), ("65279", 4294967295))]
NX += ["actions=output(port=3,max_len=64),output:4", "actions=clone(output(port=1,max_len=64))",
       "ip,actions=ct(commit),output(port=2,max_len=128)"]
NX += ["actions=multipath(%s)" % a for a in (
    "eth_src,50,modulo_n,1,0,NXM_NX_REG0[]", "symmetric_l4,1024,hrw,12,0,NXM_NX_REG0[0..3]",
    "symmetric_l3l4,0,hash_threshold,65536,0,reg1[0..15]",
    "symmetric_l3l4+udp,7,iter_hash,3,2,reg2[4..5]", "nw_src,1,modulo_n,2,0,reg3[7]",
    "nw_dst,65535,hrw,8,0,NXM_NX_REG4[0..2]", "symmetric_l3,2,modulo_n,1,5,NXM_NX_REG5[0]")]
NX += ["actions=sample(%s)" % a for a in (
    "probability=12345,collector_set_id=23456,obs_domain_id=34567,obs_point_id=45678",
    "probability=1", "probability=65535,collector_set_id=1",
    "probability=100,collector_set_id=2,sampling_port=56789",
    "probability=100,collector_set_id=3,sampling_port=5,ingress", "probability=10,egress",
    "probability=10,sampling_port=LOCAL,ingress")]
NX += ["actions=check_pkt_larger(%s" % a for a in (
    "1500)->NXM_NX_REG0[0]", "0)->reg1[31]", "65535)->xreg1[63]", "100)->metadata[5]",
    "200)->NXM_NX_REG2[3],resubmit(,1)")]
NX += ["actions=%s" % a for a in (
    "push:NXM_NX_REG0[]", "pop:NXM_NX_REG1[0..7]", "push:reg0[],push:reg1[0..15],pop:reg1[0..15],pop:reg0[]",
    "push:NXM_OF_ETH_SRC[],pop:NXM_OF_ETH_DST[]", "push:xxreg0[],pop:xxreg1[]",
    "push:metadata[0..31]", "push:tun_id[],pop:reg7[3]")]
NX += ["actions=bundle(%s)" % a for a in (
    "eth_src,0,hrw,ofport,members:4,8", "symmetric_l4,60,active_backup,ofport,members:1,2",
    "nw_src,7,hrw,ofport,members:1", "symmetric_l3l4+udp,1,active_backup,ofport,members:[1,2,3]",
    "eth_src,5,hrw,ofport,members:", "nw_dst,65535,hrw,ofport,members:LOCAL,IN_PORT,65279")]
NX += ["actions=bundle_load(%s)" % a for a in (
    "eth_src,0,hrw,ofport,NXM_NX_REG0[],members:4,8",
    "symmetric_l3,3,active_backup,ofport,reg1[0..15],members:1,2,3,4,5",
    "eth_src,0,hrw,ofport,xreg0[],members:7")]
NX += ["ip,actions=push:NXM_OF_IP_SRC[],pop:NXM_OF_IP_DST[]",
       "tcp,actions=multipath(symmetric_l4,0,hrw,2,0,tcp_dst[0])"]

REFUSED = [
    "arp,actions=ct(table=1)", "actions=ct(table=1)", "actions=ct(commit)", "actions=ct",
    "dl_type=0x88cc,actions=ct(commit)", "arp,actions=ct(commit,nat(src=10.0.0.1))",
    "udp,actions=ct(commit,alg=ftp)", "tcp,actions=ct(commit,alg=tftp)", "ip,actions=ct(alg=ftp)",
    "ip,ct_state=+inv,actions=ct(commit)", "ip,ct_state=+trk+inv,actions=ct(commit)",
    "actions=resubmit(,3,ct)", "actions=set_field:0x1000->vlan_vid", "actions=set_field:5->vlan_pcp",
    "ipv6,actions=ct(commit,exec(set_field:1->reg0))", "ipv6,actions=nat",
    "ip,actions=ct(commit,nat(src=10.0.0.1)),nat", "actions=load:0x1->NXM_NX_CT_MARK[]",
    "actions=set_field:0x1/0x1->ct_mark", "actions=conjunction(7,1/1)", "actions=pop_vlan",
    "actions=dec_ttl", "actions=mod_nw_src:10.0.0.1", "actions=mod_tp_dst:80", "ip,actions=mod_tp_dst:80",
    "arp,actions=set_field:1.2.3.4->ip_src", "actions=set_field:1->mpls_label",
    "actions=pop_mpls:0x0800", "actions=dec_ttl,ct(table=1)", "rarp,actions=ct(commit)",
    "ip,actions=ct(commit,nat(src=2001:db8::1))", "ipv6,actions=ct(commit,nat(src=10.0.0.1))",
    "actions=load:1->NXM_OF_IP_SRC[]", "actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]",
    "actions=set_field:80->tcp_dst", "actions=set_field:8->icmp_type",
    "ip,actions=set_field:8->icmp_type",
    "arp,actions=dec_ttl", "actions=set_mpls_label:5",
    "actions=output(port=1,max_len=13)", "actions=output(port=NORMAL,max_len=100)",
    "actions=multipath(eth_src,50,modulo_n,5,0,reg0[0..1])", "actions=sample(probability=0)",
    "actions=check_pkt_larger(1500)->NXM_NX_REG0[0..1]", "actions=pop:NXM_OF_IP_DST[]",
    "actions=multipath(eth_src,0,modulo_n,2,0,ip_dscp[0..1])",
    "actions=bundle(eth_src,0,hrw,ofport,members:CONTROLLER)",
    "actions=bundle(eth_src,0,hrw,ofport,ports:1)",
]


def ovs(flow):
    p = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "parse-flow", flow],
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    seen = {}
    out = []
    for title, group in (("flow-mod header", H), ("match fields", M), ("actions and instructions", A),
                         ("ct() and nat()", CT), ("Nicira actions added later", NX)):
        out.append("# %s" % title)
        for f in group:
            rc, so, se = ovs(f)
            if rc != 0:
                print("REJECTED by ovs: %s: %s" % (f, se.strip()), file=sys.stderr)
                continue
            lines = so.splitlines()
            if len(lines) != 3 or "decode error" in so:
                print("BAD print: %s: %s" % (f, so), file=sys.stderr)
                continue
            key = lines[2]
            if key in seen:
                print("DUP: %s == %s" % (f, seen[key]), file=sys.stderr)
                continue
            seen[key] = f
            out.append(f)
    with open("tests/data/corpus.flows", "w") as fh:
        fh.write("# rvs oracle corpus: flows accepted by ovs-ofctl -O OpenFlow13, distinct once\n")
        fh.write("# normalized. Generated by tests/data/make_corpus.py.\n")
        fh.write("\n".join(out) + "\n")
    ref = []
    for f in REFUSED:
        rc, so, se = ovs(f)
        last = se.strip().splitlines()[-1] if se.strip() else ""
        m = re.search(r"\((OF[A-Z0-9_]+|NX[A-Z0-9_]+)\)$", last)
        if rc == 0 or not last.startswith("ovs-ofctl: "):
            print("REFUSAL not as expected: %s: rc=%d %s" % (f, rc, se.strip()), file=sys.stderr)
            continue
        # The OFPERR name when OVS gives one, else its message without the program name.
        ref.append("%s\t%s" % (f, m.group(1) if m else last[len("ovs-ofctl: "):]))
    with open("tests/data/refused.flows", "w") as fh:
        fh.write("# flows ovs-ofctl -O OpenFlow13 refuses: FLOW<TAB>ERROR_NAME\n")
        fh.write("\n".join(ref) + "\n")
    print("corpus: %d flows, refused: %d" % (len(seen), len(ref)))


main()
