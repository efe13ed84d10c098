#!/bin/bash
# bench/natbench.sh [ROUNDS] -- rvs conntrack NAT vs plain, beside Open vSwitch 3.1's userspace
# conntrack, in one run on this machine (issue 8's NAT benchmark).
#
#   setup: 48,000 new UDP connections per round, batches of 32, commit; plain and SNAT to one
#       address with ports 1024-65535 (the pool filled to 74 %), from 1 and from 2 threads
#       (each thread its own clients); rounds of the four cases interleaved, medians.
#       rvs: `ct_nat scaling` (conntrack/benches/ct_nat.rs); OVS: a small C harness linked
#       against OVS's libopenvswitch, built here, doing the same through conntrack_execute
#       with a nat_action_info_t (OVS has no NAT benchmark of its own).
#   established traffic: OVS's own `ovstest test-conntrack benchmark 1 N_PKTS 32` (NAT-less:
#       the reference the issue names) beside rvs plain and SNAT (one connection, batch 32;
#       rvs's figure includes restoring the frame and applying the rewrite).
#
# The machine is shared, so wall-clock rates say little. Every case therefore also reports
# CPU time (CLOCK_THREAD_CPUTIME_ID, summed over the threads) per connection or packet: if
# setup scales, the CPU per connection at 2 threads stays what it is at 1 (no lock waits, no
# bouncing cache lines); "parallel" (CPU time / wall time) says how much the two threads
# actually ran at once, i.e. how much chance of contention the run had. rvs also counts shard
# locks found held on insertion (waits/1k conn); both count voluntary context switches (a
# thread parked on a lock). RT=1 runs the setup cases under SCHED_FIFO priority 1 (root), so
# that both threads do run at once despite the load (the kernel still leaves other tasks 5 %).
# INSN=1 (default, if valgrind is installed) adds instruction counts (cachegrind), which the
# load does not change: per packet and per new connection (1 thread; from the difference of
# two run lengths; per connection includes its share of the flush between rounds).
#
# Env: ROUNDS (or $1, default 21), N_PKTS (default 5000000), BUILD (OVS build dir, default
# /tmp/rvs-ovs-build, shared with bench/ctbench.sh), CARGO_TARGET_DIR, RT, INSN.
set -euo pipefail
ROUNDS=${1:-${ROUNDS:-21}}
N_PKTS=${N_PKTS:-5000000}
BUILD=${BUILD:-/tmp/rvs-ovs-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OVS=$BUILD/openvswitch
OVSTEST=$OVS/tests/ovstest
HARNESS=$BUILD/ovs-nat-setup

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

build_ovs() {
    [ -x "$OVSTEST" ] && [ -f "$OVS/lib/.libs/libopenvswitch.a" ] && return 0
    command -v gcc >/dev/null && command -v make >/dev/null || apt-get install -y build-essential >/dev/null
    [ -f /usr/src/openvswitch/openvswitch.tar.gz ] || apt-get install -y openvswitch-source >/dev/null
    log "building OVS (libopenvswitch, tests/ovstest) in $BUILD: a few minutes"
    mkdir -p "$BUILD"
    tar xzf /usr/src/openvswitch/openvswitch.tar.gz -C "$BUILD"
    (
        cd "$OVS"
        nice -n 10 ./configure --disable-ssl --disable-libcapng >"$BUILD/configure.log" 2>&1
        # The generated headers are BUILT_SOURCES: make them before the test binary.
        local gen
        gen=$(make -s -f Makefile -f <(printf 'bs:\n\t@echo $(BUILT_SOURCES)\n') bs 2>/dev/null)
        # shellcheck disable=SC2086
        nice -n 10 make -j"$(nproc)" $gen >"$BUILD/make.log" 2>&1
        nice -n 10 make -j"$(nproc)" tests/ovstest >>"$BUILD/make.log" 2>&1
    )
}

build_harness() {
    [ -x "$HARNESS" ] && [ "$HARNESS" -nt "${BASH_SOURCE[0]}" ] && return 0
    harness_source >"$BUILD/ovs-nat-setup.c"
    gcc -O2 -g -I"$OVS" -I"$OVS/include" -I"$OVS/lib" -o "$HARNESS" "$BUILD/ovs-nat-setup.c" \
        "$OVS/lib/.libs/libopenvswitch.a" "$OVS/lib/.libs/libopenvswitchavx512.a" \
        -latomic -lm -lpthread
}

build_rvs() {
    log "building rvs's ct_nat bench (release)"
    (cd "$ROOT" && cargo bench -p conntrack --bench ct_nat --no-run 2>&1) |
        sed -n 's/.*Executable .*(\(.*ct_nat-[0-9a-f]*\)).*/\1/p' | tail -1
}

# The OVS harness, compiled by build_harness (written for this script; it calls only OVS's
# public conntrack API).
harness_source() {
    cat <<'C_EOF'
/* Connection setup through OVS 3.1's userspace conntrack, plain and SNAT (one address, ports
 * 1024-65535), from 1 or 2 threads: per-thread CPU time per connection. Written for rvs's
 * bench/natbench.sh; it calls only OVS's public conntrack API. */
#include <config.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "conntrack.h"
#include "csum.h"
#include "dp-packet.h"
#include "flow.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "packets.h"
#include "timeval.h"

#define FILL 48000

static const char frame_hex[] = "50540000000a50540000000908004500001c0000000000"
                                "11a4cd0a0101010a0101020001000200080000";

static struct conntrack *ct;
static pthread_barrier_t barrier;
static int nat;
static unsigned per_thread;

/* What a thread spent; `vcsw` carries the thread's index in. */
struct spent { double cpu_ns; long vcsw, ivcsw; };

static double thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t splitmix(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void *worker(void *arg_)
{
    struct spent *out = arg_;
    unsigned base = out->vcsw ? 1u << 20 : 0;
    struct dp_packet *pkts[32];
    struct dp_packet_batch batch;
    struct flow flow;
    struct nat_action_info_t info;
    memset(&info, 0, sizeof info);
    info.min_addr.ipv4 = htonl(0xc0000201);
    info.max_addr.ipv4 = htonl(0xc0000201);
    info.min_port = 1024;
    info.max_port = 65535;
    info.nat_action = NAT_ACTION_SRC | NAT_ACTION_SRC_PORT;
    for (int i = 0; i < 32; i++) {
        pkts[i] = dp_packet_new(64);
        dp_packet_put_hex(pkts[i], frame_hex, NULL);
        flow_extract(pkts[i], &flow);
    }
    long long now = time_msec();
    pthread_barrier_wait(&barrier);
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    double c0 = thread_cpu_ns();
    for (unsigned m0 = 0; m0 < per_thread; m0 += 32) {
        dp_packet_batch_init(&batch);
        for (unsigned i = 0; i < 32 && m0 + i < per_thread; i++) {
            unsigned c = base + m0 + i;
            struct ip_header *ip = dp_packet_l3(pkts[i]);
            struct udp_header *udp = dp_packet_l4(pkts[i]);
            put_16aligned_be32(&ip->ip_src, htonl(0x0a000000u | (c & 0xffffff)));
            put_16aligned_be32(&ip->ip_dst, htonl(0x0ac80001u));
            ip->ip_csum = 0;
            ip->ip_csum = csum(ip, sizeof *ip);
            udp->udp_src = htons(1024 + splitmix(c) % 64000);
            udp->udp_dst = htons(53);
            pkt_metadata_init_conn(&pkts[i]->md);
            pkts[i]->md.ct_state = 0;
            dp_packet_batch_add(&batch, pkts[i]);
        }
        conntrack_execute(ct, &batch, htons(ETH_TYPE_IP), false, true, 0,
                          NULL, NULL, 0, 0, NULL, nat ? &info : NULL, now, 0);
    }
    out->cpu_ns = thread_cpu_ns() - c0;
    getrusage(RUSAGE_THREAD, &r1);
    out->vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
    out->ivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 32; i++) {
        dp_packet_delete(pkts[i]);
    }
    return NULL;
}

/* One round: returns wall ns; *s gets the threads' sums. */
static double round_(int threads, struct spent *s)
{
    struct spent sp[2] = {{0, 0, 0}, {0, 1, 0}};
    pthread_t th[2];
    struct timespec t0, t1;
    conntrack_flush(ct, NULL);
    per_thread = FILL / threads;
    pthread_barrier_init(&barrier, NULL, threads + 1);
    for (int t = 0; t < threads; t++) {
        th[t] = ovs_thread_create("bench", worker, &sp[t]);
    }
    pthread_barrier_wait(&barrier);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_barrier_wait(&barrier);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int t = 0; t < threads; t++) {
        xpthread_join(th[t], NULL);
    }
    pthread_barrier_destroy(&barrier);
    memset(s, 0, sizeof *s);
    for (int t = 0; t < threads; t++) {
        s->cpu_ns += sp[t].cpu_ns;
        s->vcsw += sp[t].vcsw;
        s->ivcsw += sp[t].ivcsw;
    }
    return (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double med(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

int main(int argc, char *argv[])
{
    int rounds = argc > 1 ? atoi(argv[1]) : 21;
    int only = argc > 2 ? atoi(argv[2]) : -1;   /* one case (0-3) only */
    if (rounds < 1 || rounds > 1000) {
        rounds = 21;
    }
    ct = conntrack_init();
    double rate[4][1000], cpu[4][1000], par[4][1000], vcsw[4][1000];
    struct spent s;
    for (int r = -1; r < rounds; r++) {
        for (int c = 0; c < 4; c++) {
            if (only >= 0 && c != only) {
                continue;
            }
            nat = c >= 2;
            int threads = c % 2 + 1;
            double w = round_(threads, &s);
            if (r >= 0) {
                rate[c][r] = FILL / w * 1e3;
                cpu[c][r] = s.cpu_ns / FILL;
                par[c][r] = s.cpu_ns / w;
                vcsw[c][r] = s.vcsw;
            }
            ovsrcu_quiesce();
        }
    }
    if (only >= 0) {
        return 0;
    }
    static const char *names[4] = {"plain, 1 thr", "plain, 2 thr", "snat, 1 thr", "snat, 2 thr"};
    double cm[4];
    printf("%-16s %10s %12s %9s %9s\n", "case", "wall Mc/s", "CPU ns/conn", "parallel", "vcsw/rnd");
    for (int c = 0; c < 4; c++) {
        cm[c] = med(cpu[c], rounds);
        printf("%-16s %10.2f %12.0f %9.2f %9.0f\n", names[c], med(rate[c], rounds), cm[c],
               med(par[c], rounds), med(vcsw[c], rounds));
    }
    printf("CPU per conn, 2 threads / 1 thread: plain %.2fx, snat %.2fx; "
           "snat / plain: 1 thread %.2fx, 2 threads %.2fx\n",
           cm[1] / cm[0], cm[3] / cm[2], cm[2] / cm[0], cm[3] / cm[1]);
    conntrack_destroy(ct);
    return 0;
}
C_EOF
}

build_ovs
build_harness
RVS=$(build_rvs)
[ -x "$RVS" ] || { echo "could not build the ct_nat bench binary" >&2; exit 1; }
PRIO=()
[ "${RT:-0}" = 1 ] && PRIO=(chrt -f 1)

echo "== NAT benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds, RT=${RT:-0}"
echo "-- rvs: connection setup (and established traffic)"
"${PRIO[@]}" "$RVS" scaling "$ROUNDS" | tee /tmp/natbench-rvs.$$ | tail -n +2
echo "-- OVS 3.1: connection setup (its ct_lock is taken for every new connection)"
"${PRIO[@]}" "$HARNESS" "$ROUNDS" 2>/dev/null | tee /tmp/natbench-ovs.$$

# Side by side: CPU ns per connection.
echo "-- setup, CPU ns per connection (lower is better)"
printf '%-16s %10s %10s %9s\n' case "OVS 3.1" rvs "OVS/rvs"
for c in "plain, 1 thr" "plain, 2 thr" "snat, 1 thr" "snat, 2 thr"; do
    o=$(awk -v c="$c" 'index($0, c) == 1 { print $(NF - 2) }' /tmp/natbench-ovs.$$)
    r=$(awk -v c="$c" 'index($0, c) == 1 { print $5 }' /tmp/natbench-rvs.$$)
    awk -v c="$c" -v o="$o" -v r="$r" 'BEGIN { printf "%-16s %10.0f %10.0f %8.2fx\n", c, o, r, o / r }'
done
rm -f /tmp/natbench-rvs.$$ /tmp/natbench-ovs.$$

# Established traffic: OVS's own benchmark (NAT-less), CPU time of the whole process.
echo "-- established traffic, 1 connection, batch 32, CPU ns per packet"
TIMEFORMAT='%U %S'
o_ns=$({ time "$OVSTEST" test-conntrack benchmark 1 "$N_PKTS" 32 >/dev/null 2>&1; } 2>&1 |
    awk -v n="$N_PKTS" '{ print ($1 + $2) * 1e9 / n }')
iters=$((N_PKTS / 32 / 5))
rp=$("$RVS" existing plain 1 "$iters" | awk '{ print $1 }')
rs=$("$RVS" existing snat 1 "$iters" | awk '{ print $1 }')
awk -v o="$o_ns" -v p="$rp" -v s="$rs" 'BEGIN {
    printf "OVS 3.1 (no NAT) %.1f, rvs plain %.1f, rvs SNAT %.1f; rvs SNAT/plain %.2fx, rvs SNAT/OVS no-NAT %.2fx\n",
        o, p, s, s / p, s / o }'

if [ "${INSN:-1}" = 1 ] && command -v valgrind >/dev/null; then
    echo "-- instructions (cachegrind, 1 thread)"
    irefs() { valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d ,; }
    per() { echo $((($2 - $1) / $3)); }
    a=100000 b=300000
    o=$(per "$(irefs "$OVSTEST" test-conntrack benchmark 1 $a 32)" "$(irefs "$OVSTEST" test-conntrack benchmark 1 $b 32)" $((b - a)))
    # `existing` runs 5 rounds of ITERS batches of 32.
    p=$(per "$(irefs "$RVS" existing plain 1 1000)" "$(irefs "$RVS" existing plain 1 3000)" $((5 * 2000 * 32)))
    s=$(per "$(irefs "$RVS" existing snat 1 1000)" "$(irefs "$RVS" existing snat 1 3000)" $((5 * 2000 * 32)))
    echo "per packet, established: OVS 3.1 (no NAT) $o, rvs plain $p, rvs SNAT $s (SNAT/plain $(awk -v p="$p" -v s="$s" 'BEGIN { printf "%.2f", s / p }')x)"
    # Setup: rounds of 48,000 connections (one untimed round first in both).
    op=$(per "$(irefs "$HARNESS" 1 0)" "$(irefs "$HARNESS" 3 0)" 96000)
    os=$(per "$(irefs "$HARNESS" 1 2)" "$(irefs "$HARNESS" 3 2)" 96000)
    rp=$(per "$(irefs "$RVS" setup plain 1 1)" "$(irefs "$RVS" setup plain 1 3)" 96000)
    rs=$(per "$(irefs "$RVS" setup snat 1 1)" "$(irefs "$RVS" setup snat 1 3)" 96000)
    echo "per new connection: OVS 3.1 plain $op, SNAT $os; rvs plain $rp, SNAT $rs"
fi
