# bench/lib/netns.sh -- the namespace topology shared by bench/trafgen.sh and
# scripts/flowmod-bench.sh (sourced, not run):
#
#   $NS1 (eth0 $IP1) --veth/tap-- switch namespace $SW --veth/tap-- $NS2 (eth0 $IP2)
#
# The sourcing script sets PFX first; this file sets SW, NS1, NS2, IP1, IP2 and defines:
#   log MSG...            timestamped line on stderr
#   in_ns NS CMD...       CMD inside namespace NS
#   ns_create             the three namespaces, loopback up, IPv6 off
#   ns_destroy            kills every process left in them and deletes them (idempotent)
#   ns_host_if NS IF IP   renames IF (already in NS) to eth0, gives it IP/24, sets it up,
#                         checksum offload off (frames leave with a computed checksum)
#   ns_veth I             veth pair $PFX-vI (in NS1 or NS2 as I is 1 or 2, as eth0 with
#                         10.0.0.I) -- $PFX-pI (in $SW, up, offload off)
SW=$PFX-sw; NS1=$PFX-ns1; NS2=$PFX-ns2
IP1=10.0.0.1; IP2=10.0.0.2

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ns_create() {
    local ns
    for ns in "$NS1" "$NS2" "$SW"; do
        ip netns add "$ns"
        in_ns "$ns" ip link set lo up
        in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
}

ns_destroy() {
    local ns pid
    for ns in "$NS1" "$NS2" "$SW"; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
        ip netns del "$ns"
    done
}

ns_host_if() {
    in_ns "$1" ip link set "$2" name eth0
    in_ns "$1" ip addr add "$3/24" dev eth0
    in_ns "$1" ip link set eth0 up
    in_ns "$1" ethtool -K eth0 tx off >/dev/null 2>&1 || true
}

ns_veth() {
    local i=$1 ns
    ns=$([ "$i" = 1 ] && echo "$NS1" || echo "$NS2")
    ip link add "$PFX-v$i" netns "$ns" type veth peer name "$PFX-p$i" netns "$SW"
    ns_host_if "$ns" "$PFX-v$i" "10.0.0.$i"
    in_ns "$SW" ip link set "$PFX-p$i" up
    in_ns "$SW" ethtool -K "$PFX-p$i" tx off >/dev/null 2>&1 || true
}
