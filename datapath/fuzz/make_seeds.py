#!/usr/bin/env python3
"""Writes the seed corpus of the `extract` fuzz target into seeds/extract/.

Each seed is one control byte (0x01: the target fixes lengths and checksums)
followed by a frame: VLAN and QinQ tags, IPv4 with options and fragments,
IPv6 with every extension header rvs walks, ICMPv6 neighbour discovery with
link-layer options, ARP/RARP, SNAP, SCTP. Run: python3 make_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "extract")
M1 = bytes.fromhex("020000000001")
M2 = bytes.fromhex("020000000002")
A1, A2 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")


def eth(t, payload, tags=()):
    h = M2 + M1
    for tpid, tci in tags:
        h += struct.pack("!HH", tpid, tci)
    return h + struct.pack("!H", t) + payload


def ipv4(proto, payload, frag=0, opts=b""):
    ihl = 5 + len(opts) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload), 1, frag, 64, proto, 0, A1, A2) + opts + payload


def ipv6(nh, payload):
    return struct.pack("!IHBB16s16s", 0x6000_0000 | 0x12345, len(payload), nh, 64, V6A, V6B) + payload


def udp(sp=1234, dp=9, data=b"x" * 18):
    return struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data


def tcp(flags=0x002, opts=b""):
    doff = (20 + len(opts)) // 4
    return struct.pack("!HHIIHHHH", 40000, 80, 1, 0, doff << 12 | flags, 8192, 0, 0) + opts


def ext(nh, body_len8=0):  # hop-by-hop / routing / destination options
    return bytes([nh, body_len8]) + bytes(6 + 8 * body_len8)


def frag6(nh, off8, more):
    return struct.pack("!BBHI", nh, 0, off8 << 3 | more, 0xabcd)


def ah(nh):
    return bytes([nh, 4]) + bytes(22)  # (4+2)*4 = 24 bytes


def nd(ty, target, opts):
    return struct.pack("!BBHI", ty, 0, 0, 0x60000000 if ty == 136 else 0) + target + opts


def arp(op, t=0x0806):
    return eth(t, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, M1, A1, bytes(6), A2))


S = {
    "udp4": eth(0x0800, ipv4(17, udp())),
    "tcp4_syn_opts": eth(0x0800, ipv4(6, tcp(0x002, bytes([2, 4, 5, 0xb4, 1, 1, 4, 2])))),
    "icmp4_echo": eth(0x0800, ipv4(1, struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping")),
    "ipv4_options": eth(0x0800, ipv4(17, udp(), opts=bytes([0x94, 4, 0, 0]))),
    "ipv4_first_frag": eth(0x0800, ipv4(17, udp(), frag=0x2000)),
    "ipv4_later_frag": eth(0x0800, ipv4(17, b"y" * 24, frag=0x0003)),
    "sctp4": eth(0x0800, ipv4(132, struct.pack("!HHII", 5000, 6000, 1, 0) + bytes(16))),
    "vlan_udp4": eth(0x0800, ipv4(17, udp()), tags=[(0x8100, 0x2005)]),
    "qinq_tcp4": eth(0x0800, ipv4(6, tcp(0x012)), tags=[(0x88a8, 100), (0x8100, 200)]),
    "three_tags": eth(0x0800, ipv4(17, udp()), tags=[(0x88a8, 1), (0x8100, 2), (0x8100, 3)]),
    "udp6": eth(0x86dd, ipv6(17, udp())),
    "tcp6": eth(0x86dd, ipv6(6, tcp(0x018))),
    "v6_ext_chain": eth(0x86dd, ipv6(0, ext(43, 1) + ext(60) + ext(44) + frag6(17, 0, 1) + udp())),
    "v6_hbh_routing_dst_udp": eth(0x86dd, ipv6(0, ext(43) + ext(60, 1) + ext(17) + udp())),
    "v6_later_frag": eth(0x86dd, ipv6(44, frag6(6, 5, 0) + b"z" * 16)),
    "v6_ah_tcp": eth(0x86dd, ipv6(51, ah(6) + tcp(0x010))),
    "v6_icmp_echo": eth(0x86dd, ipv6(58, struct.pack("!BBHHH", 128, 0, 0, 7, 1))),
    "nd_ns_sll": eth(0x86dd, ipv6(58, nd(135, V6B, bytes([1, 1]) + M1))),
    "nd_na_tll": eth(0x86dd, ipv6(58, nd(136, V6A, bytes([2, 1]) + M2))),
    "nd_ns_both_pad": eth(0x86dd, ipv6(58, nd(135, V6B, bytes([1, 1]) + M1 + bytes([2, 1]) + M2 + bytes([14, 1]) + bytes(6)))),
    "nd_vlan": eth(0x86dd, ipv6(58, nd(136, V6A, bytes([2, 1]) + M2)), tags=[(0x8100, 7)]),
    "arp_request": arp(1),
    "arp_reply_vlan": arp(2)[:12] + struct.pack("!HH", 0x8100, 9) + arp(2)[12:],
    "rarp": arp(3, 0x8035),
    "snap_ipv4": eth(0x0030, bytes([0xaa, 0xaa, 3, 0, 0, 0, 8, 0]) + ipv4(17, udp())),
    "llc_stp": eth(0x0026, bytes([0x42, 0x42, 3]) + bytes(35)),
    "short_vlan": eth(0x0800, b"", tags=[(0x8100, 1)])[:17],
}

os.makedirs(OUT, exist_ok=True)
for name, frame in S.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"\x01" + frame)
print("%d seeds in %s" % (len(S), OUT))
