#!/bin/bash
# bench/ctbench.sh [RUNS] -- rvs conntrack vs Open vSwitch 3.1's userspace conntrack, side by side
# in one run on this machine.
#
#   existing-connection throughput: OVS's own `ovstest test-conntrack benchmark THREADS PKTS BATCH
#       [CHANGE_CONN]` against rvs's `ovs_shape` bench of the same shape (the same 42-byte UDP
#       frame, batches through execute with commit, N_PKTS packets per thread);
#   connection setup and memory: N_CONNS distinct UDP connections committed in batches of 32,
#       by a small C harness linked against OVS's libopenvswitch (built here, below) and by
#       `ovs_shape setup`; ns per connection (wall clock, and the thread's CPU time) and
#       resident-set growth per connection.
#
# OVS is built from Debian's openvswitch-source (the same 3.1 tree as the installed binaries;
# only the generated headers, libopenvswitch and tests/ovstest; a few minutes on 2 cores).
# Each case runs RUNS times (default 3), alternating OVS and rvs; medians are printed with the
# ratio rvs/OVS (higher is better for rates).
#
# Env: N_PKTS (default 10000000), N_CONNS (default 1000000), BUILD (OVS build dir,
# default /tmp/rvs-ovs-build), CARGO_TARGET_DIR, INSN=0 to skip the instruction counts.
#
# Instruction counts (valgrind cachegrind, if installed) are immune to the CPU contention that
# makes wall-clock figures noisy on a shared machine: instructions per packet (existing
# connection, 1 thread, batch 32) and per new connection, from the difference of two run lengths.
set -euo pipefail
RUNS=${1:-3}
N_PKTS=${N_PKTS:-10000000}
N_CONNS=${N_CONNS:-1000000}
BUILD=${BUILD:-/tmp/rvs-ovs-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OVS=$BUILD/openvswitch
OVSTEST=$OVS/tests/ovstest
SETUP_BIN=$BUILD/ovs-ct-setup

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

build_ovs() {
    [ -x "$OVSTEST" ] && [ -f "$OVS/lib/.libs/libopenvswitch.a" ] && return 0
    if ! command -v gcc >/dev/null || ! command -v make >/dev/null; then
        apt-get install -y build-essential >/dev/null
    fi
    [ -f /usr/src/openvswitch/openvswitch.tar.gz ] || apt-get install -y openvswitch-source >/dev/null
    log "building OVS ovstest in $BUILD (a few minutes)"
    mkdir -p "$BUILD"
    tar xzf /usr/src/openvswitch/openvswitch.tar.gz -C "$BUILD"
    (
        cd "$OVS"
        nice -n 10 ./configure --disable-ssl --disable-libcapng >"$BUILD/configure.log" 2>&1
        # Generated headers first (odp-netlink.h, ...): `make tests/ovstest` alone misses them.
        local bs
        bs=$(make -s -f Makefile -f <(printf 'print-bs:\n\t@echo $(BUILT_SOURCES)\n') print-bs 2>/dev/null)
        # shellcheck disable=SC2086
        nice -n 10 make -j"$(nproc)" $bs >"$BUILD/make.log" 2>&1
        nice -n 10 make -j"$(nproc)" tests/ovstest >>"$BUILD/make.log" 2>&1
    )
}

# A connection-setup harness for OVS: commits N distinct UDP connections (the benchmark's frame
# with a varying source address and port, IP checksum recomputed) through conntrack_execute in
# batches of 32 and reports time and RSS growth. Written for this script; it only calls OVS's
# public conntrack API.
build_setup_harness() {
    [ -x "$SETUP_BIN" ] && [ "$SETUP_BIN" -nt "${BASH_SOURCE[0]}" ] && return 0
    cat >"$BUILD/ovs-ct-setup.c" <<'EOF'
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "conntrack.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"
#include "timeval.h"

static const char frame_hex[] = "50540000000a50540000000908004500001c0000000000"
                                "11a4cd0a0101010a0101020001000200080000";

static long rss_bytes(void)
{
    long pages = 0, size;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &pages) != 2) {
            pages = 0;
        }
        fclose(f);
    }
    return pages * 4096;
}

int main(int argc, char *argv[])
{
    unsigned n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
    struct dp_packet *pkts[32];
    struct dp_packet_batch batch;
    struct flow flow;

    for (int i = 0; i < 32; i++) {
        pkts[i] = dp_packet_new(64);
        dp_packet_put_hex(pkts[i], frame_hex, NULL);
        flow_extract(pkts[i], &flow);
    }
    struct conntrack *ct = conntrack_init();
    long long now = time_msec();
    long rss0 = rss_bytes();
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (unsigned base = 0; base < n; base += 32) {
        dp_packet_batch_init(&batch);
        for (unsigned i = 0; i < 32 && base + i < n; i++) {
            unsigned m = base + i;
            struct ip_header *ip = dp_packet_l3(pkts[i]);
            struct udp_header *udp = dp_packet_l4(pkts[i]);
            put_16aligned_be32(&ip->ip_src,
                               htonl(0x0a000001u | ((m >> 23) & 0xff) << 16
                                     | ((m >> 15) & 0xff) << 8));
            ip->ip_csum = 0;
            ip->ip_csum = csum(ip, sizeof *ip);
            udp->udp_src = htons(1024 + (m & 0x7fff));
            pkt_metadata_init_conn(&pkts[i]->md);
            pkts[i]->md.ct_state = 0;
            dp_packet_batch_add(&batch, pkts[i]);
        }
        conntrack_execute(ct, &batch, htons(ETH_TYPE_IP), false, true, 0,
                          NULL, NULL, 0, 0, NULL, NULL, now, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    double cpu_ms = (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) / 1e6;
    printf("setup: %u conns %.0f ms %.0f bytes/conn %.0f cpu-ms\n", n, ms,
           (double) (rss_bytes() - rss0) / n, cpu_ms);
    return 0;
}
EOF
    gcc -O2 -g -I"$OVS" -I"$OVS/include" -I"$OVS/lib" -I"$OVS/lib" \
        -o "$SETUP_BIN" "$BUILD/ovs-ct-setup.c" \
        "$OVS/lib/.libs/libopenvswitch.a" "$OVS/lib/.libs/libopenvswitchavx512.a" \
        -latomic -lm -lpthread
}

build_rvs() {
    log "building rvs benches (release)"
    (cd "$ROOT" && cargo bench -p conntrack --bench ovs_shape --no-run 2>&1) |
        sed -n 's/.*Executable .*(\(.*ovs_shape-[0-9a-f]*\)).*/\1/p' | tail -1
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

build_ovs
build_setup_harness
RVS=$(build_rvs)
[ -x "$RVS" ] || { echo "could not build the rvs bench binary" >&2; exit 1; }

echo "conntrack side by side: N_PKTS=$N_PKTS per thread, N_CONNS=$N_CONNS, $RUNS runs each (median), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-38s %12s %12s %8s\n' "case" "OVS 3.1" "rvs" "rvs/OVS"

# throughput CASE_LABEL THREADS BATCH CHANGE_CONN
throughput() {
    local label=$1 threads=$2 batch=$3 change=$4 o=() r=()
    for _ in $(seq "$RUNS"); do
        o+=("$(timeout 300 "$OVSTEST" test-conntrack benchmark "$threads" "$N_PKTS" "$batch" "$change" 2>/dev/null | awk '/conntrack:/ {print $2}')")
        r+=("$(timeout 300 "$RVS" "$threads" "$N_PKTS" "$batch" "$change" 2>/dev/null | awk '/conntrack:/ {print $2}')")
    done
    local om rm
    om=$(printf '%s\n' "${o[@]}" | median)
    rm=$(printf '%s\n' "${r[@]}" | median)
    awk -v l="$label" -v n="$N_PKTS" -v t="$threads" -v om="$om" -v rm="$rm" 'BEGIN {
        a = n * t / om / 1000; b = n * t / rm / 1000;
        printf "%-38s %7.2f Mpps %7.2f Mpps %7.2fx\n", l, a, b, b / a }'
}

throughput "existing, 1 thread, batch 32, 1 conn" 1 32 0
throughput "existing, 2 threads, batch 32" 2 32 0
throughput "existing, 1 thread, batch 32, 32 conns" 1 32 1
throughput "existing, 1 thread, batch 1, 1 conn" 1 1 0

o_ms=() r_ms=() o_b=() r_b=() o_c=() r_c=()
for _ in $(seq "$RUNS"); do
    read -r _ _ _ oms _ ob _ oc _ < <(timeout 600 "$SETUP_BIN" "$N_CONNS" 2>/dev/null)
    read -r _ _ _ rms _ rb _ rc _ < <(timeout 600 "$RVS" setup "$N_CONNS" 2>/dev/null)
    o_ms+=("$oms") r_ms+=("$rms") o_b+=("$ob") r_b+=("$rb") o_c+=("$oc") r_c+=("$rc")
done
om=$(printf '%s\n' "${o_ms[@]}" | median)
rm=$(printf '%s\n' "${r_ms[@]}" | median)
ob=$(printf '%s\n' "${o_b[@]}" | median)
rb=$(printf '%s\n' "${r_b[@]}" | median)
oc=$(printf '%s\n' "${o_c[@]}" | median)
rc=$(printf '%s\n' "${r_c[@]}" | median)
# The CPU-time row (the thread's own CPU time over the same interval) is less disturbed by
# other processes than the wall-clock row on a shared machine.
awk -v n="$N_CONNS" -v om="$om" -v rm="$rm" -v ob="$ob" -v rb="$rb" -v oc="$oc" -v rc="$rc" 'BEGIN {
    printf "%-38s %7.0f ns   %7.0f ns   %7.2fx\n", "setup, ns per new connection", om * 1e6 / n, rm * 1e6 / n, om / rm;
    printf "%-38s %7.0f ns   %7.0f ns   %7.2fx\n", "setup, CPU ns per new connection", oc * 1e6 / n, rc * 1e6 / n, oc / rc;
    printf "%-38s %7.0f B    %7.0f B    %7.2fx\n", "memory, bytes per connection (RSS)", ob, rb, ob / rb }'

# Instructions per packet / per connection, from the difference of two run lengths so that
# start-up work cancels out.
if [ "${INSN:-1}" = 1 ] && command -v valgrind >/dev/null; then
    irefs() { valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d ,; }
    per() { echo $(( ($2 - $1) / $3 )); }
    a=100000 b=300000
    oi=$(per "$(irefs "$OVSTEST" test-conntrack benchmark 1 $a 32)" "$(irefs "$OVSTEST" test-conntrack benchmark 1 $b 32)" $((b - a)))
    ri=$(per "$(irefs "$RVS" 1 $a 32)" "$(irefs "$RVS" 1 $b 32)" $((b - a)))
    awk -v o="$oi" -v r="$ri" 'BEGIN { printf "%-38s %7d ins  %7d ins  %7.2fx\n", "instructions per packet (existing)", o, r, o / r }'
    a=50000 b=150000
    oi=$(per "$(irefs "$SETUP_BIN" $a)" "$(irefs "$SETUP_BIN" $b)" $((b - a)))
    ri=$(per "$(irefs "$RVS" setup $a)" "$(irefs "$RVS" setup $b)" $((b - a)))
    awk -v o="$oi" -v r="$ri" 'BEGIN { printf "%-38s %7d ins  %7d ins  %7.2fx\n", "instructions per new connection", o, r, o / r }'
fi
