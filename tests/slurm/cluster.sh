#!/usr/bin/env bash
# cluster.sh — a throwaway Slurm cluster on this one machine, so that
# scripts/slurm/submit.sh can be tested against a real slurmctld and real
# slurmd daemons (tests/slurm/test_slurm.sh) instead of mocks.
#
# Everything lives in STATE_DIR: a munged with its own key and socket,
# slurm.conf, the controller's state, the nodes' spool folders, logs and pid
# files. Each compute node is a separate slurmd in its own network namespace
# (a veth pair onto a private bridge, 10.213.X.0/24) and its own UTS
# namespace, so jobs on node1 see the host name "node1" and results are
# labelled by node. The controller runs in this namespace on the bridge's
# address. Nothing outside STATE_DIR is configured: clients find the cluster
# through SLURM_CONF=STATE_DIR/etc/slurm.conf (start prints the export line,
# and writes it to STATE_DIR/env).
#
# Needs root (network namespaces, a bridge, munged and slurmd as root) and
# Debian's packages munge, slurmctld, slurmd, slurm-client, iproute2 and
# util-linux (nsenter, unshare).
#
# Usage: tests/slurm/cluster.sh start STATE_DIR [--nodes N] [--cpus C] [--no-netns]
#        tests/slurm/cluster.sh status STATE_DIR
#        tests/slurm/cluster.sh stop STATE_DIR
#   start   start munged, slurmctld and N slurmd (default 2, each configured
#           with C CPUs, default 1), wait until sinfo shows every node idle
#           (60 s, else the daemons' logs are shown, everything is stopped
#           and the exit code is 1). Refuses (exit 1) when STATE_DIR already
#           holds a running cluster.
#           --no-netns: no network namespaces (one address, a port per
#           node; still a UTS namespace per node when allowed), also the
#           fallback when a bridge cannot be made. STATE_DIR/mode says which:
#           netns, uts or plain (then jobs see this machine's host name).
#   status  exit 0 and print sinfo when the cluster in STATE_DIR runs, else 1
#   stop    stop every process start started (by the pid files in
#           STATE_DIR/pids, plus job steps still running: what runs in the
#           nodes' namespaces, and processes whose environment has this
#           cluster's SLURM_CLUSTER_NAME), remove the namespaces and bridge.
#           Safe to repeat. STATE_DIR itself is left for the caller.
# Exit codes: 0 ok, 1 failure, 2 bad arguments.
set -euo pipefail

prog=cluster.sh
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "$prog: $*" >&2; exit 1; }
bad() { echo "$prog: $*" >&2; echo "usage: $prog start|stop|status STATE_DIR [--nodes N] [--cpus C] [--no-netns] (--help)" >&2; exit 2; }

[ $# -ge 1 ] || bad "missing command (start, stop or status)"
case $1 in -h|--help) usage; exit 0 ;; start|stop|status) cmd=$1 ;; *) bad "unknown command '$1'" ;; esac
shift
[ $# -ge 1 ] || bad "$cmd: missing STATE_DIR"
case $1 in -h|--help) usage; exit 0 ;; -*) bad "$cmd: STATE_DIR expected, got option '$1'" ;; esac
state=$1
shift
nodes=2 cpus=1 netns=1
while [ $# -gt 0 ]; do
    case $1 in
        --nodes) [ $# -ge 2 ] || bad "--nodes needs a value"; nodes=$2; shift 2 ;;
        --cpus) [ $# -ge 2 ] || bad "--cpus needs a value"; cpus=$2; shift 2 ;;
        --no-netns) netns=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) bad "$cmd: unknown argument '$1'" ;;
    esac
done
[[ $nodes =~ ^[1-9]$ ]] || bad "--nodes: '$nodes' is not a number of nodes from 1 to 9"
[[ $cpus =~ ^[1-9][0-9]*$ ]] || bad "--cpus: '$cpus' is not a positive integer"
if [ "$cmd" != start ] && [ ! -d "$state" ]; then
    [ "$cmd" = stop ] && exit 0
    die "status: $state: no such directory"
fi

# ---- pid bookkeeping: STATE/pids/<what>.pid holds "PID COMM" --------------
pid_alive() { # file -> 0 when the process it names still runs as that command
    local f=$1 pid comm
    [ -f "$f" ] || return 1
    read -r pid comm <"$f" || return 1
    [ -n "${pid:-}" ] && [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
    # a zombie (exited, not yet reaped) does not count
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}
any_alive() {
    local f
    for f in "$state"/pids/*.pid; do
        [ -e "$f" ] || continue
        pid_alive "$f" && return 0
    done
    return 1
}
stop_pid() { # file: TERM, then KILL after 10 s
    local f=$1 pid comm _
    pid_alive "$f" || { rm -f "$f"; return 0; }
    read -r pid comm <"$f"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        pid_alive "$f" || break
        sleep 0.1
    done
    if pid_alive "$f"; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$f"
}
wait_pidfile() { # file written by a daemon itself (munged) -> 0 once it names a live process
    local f=$1 _
    for _ in $(seq 1 100); do
        [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

do_stop() {
    [ -d "$state" ] || return 0
    local id ns pids f pass
    id=$(cat "$state/id" 2>/dev/null || true)
    export SLURM_CONF="$state/etc/slurm.conf"
    # controller first (no new jobs), then the nodes, then what runs inside them
    [ -f "$state/pids/slurmctld.pid" ] && stop_pid "$state/pids/slurmctld.pid"
    for f in "$state"/pids/slurmd-*.pid; do
        [ -e "$f" ] && stop_pid "$f"
    done
    if [ -n "$id" ]; then
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^bbs$id-" || true); do
            for pass in TERM KILL; do # job steps left behind by slurmd
                pids=$(ip netns pids "$ns" 2>/dev/null || true)
                [ -n "$pids" ] || break
                # shellcheck disable=SC2086
                kill -"$pass" $pids 2>/dev/null || true
                sleep 1
            done
            ip netns del "$ns" 2>/dev/null || true
        done
        ip link del "bbs$id" 2>/dev/null || true
    fi
    for f in "$state"/pids/*.pid; do
        [ -e "$f" ] && stop_pid "$f"
    done
    # job steps of this cluster left behind (the only way to find them
    # without namespaces): by their environment (cluster_pids)
    if [ -n "$id" ]; then
        for pass in TERM KILL; do
            pids=$(cluster_pids "$id")
            [ -n "$pids" ] || break
            # shellcheck disable=SC2086
            kill -"$pass" $pids 2>/dev/null || true
            sleep 1
        done
    fi
    return 0
}
cluster_pids() { # id -> pids of processes whose environment names this cluster (not this script's):
    # the daemons and their slurmstepd carry BB_TEST_CLUSTER=id, jobs SLURM_CLUSTER_NAME=bbtestid
    local e pid
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}
        pid=${pid%/environ}
        if [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ]; then continue; fi
        if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qx -e "SLURM_CLUSTER_NAME=bbtest$1" -e "BB_TEST_CLUSTER=$1"; then
            echo "$pid"
        fi
    done
}

do_status() {
    any_alive || { echo "$prog: no cluster running in $state"; return 1; }
    export SLURM_CONF="$state/etc/slurm.conf"
    echo "export SLURM_CONF=$SLURM_CONF"
    sinfo -N -o '%N %t %c %O' || return 1
}

show_logs() {
    local f
    for f in "$state"/log/*.log; do
        [ -e "$f" ] || continue
        echo "---- $f (last 25 lines)" >&2
        tail -n 25 "$f" >&2 || true
    done
}

do_start() {
    local c
    [ "$(id -u)" = 0 ] || die "start: needs root (network namespaces, a bridge, slurmd as root)"
    for c in munged mungekey munge unmunge slurmctld slurmd sinfo ip nsenter unshare awk; do
        command -v "$c" >/dev/null || die "start: '$c' not found (Debian: apt-get install munge slurmctld slurmd slurm-client iproute2 util-linux)"
    done
    mkdir -p "$state"
    state=$(cd "$state" && pwd -P)
    if any_alive; then
        die "start: $state already holds a running cluster (stop it first: $0 stop $state)"
    fi
    rm -rf "${state:?}/pids" "${state:?}/log" "${state:?}/etc" "${state:?}/munge" "${state:?}/ctld" "${state:?}/nodes" \
        "${state:?}/env" "${state:?}/id" "${state:?}/mode"
    mkdir -p "$state/pids" "$state/log" "$state/etc" "$state/munge" "$state/ctld" "$state/nodes"
    chmod 711 "$state" "$state/munge"
    # shellcheck disable=SC2154 # rc is assigned inside the trap
    trap 'rc=$?; if [ $rc -ne 0 ]; then echo "$prog: start failed; daemons logs:" >&2; show_logs; do_stop; fi' EXIT

    local id
    id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    echo "$id" >"$state/id"

    # ---- munge: own key, socket, pid, log, seed --------------------------
    # munged wants its socket's folder (and the folders above) searchable by all
    mkdir -p "$state/munge/run"
    chmod 755 "$state/munge/run"
    local sock="$state/munge/run/munged.sock"
    mungekey --create --keyfile="$state/munge/munge.key" >/dev/null 2>&1 ||
        dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$state/munge/munge.key"
    # --force: munged refuses a socket under folders other users cannot
    # search (a mktemp -d one is 0700); here every client and job is root
    munged --force --socket="$sock" --key-file="$state/munge/munge.key" --pid-file="$state/munge/munged.pid" \
        --log-file="$state/log/munged.log" --seed-file="$state/munge/munged.seed" --num-threads=4 ||
        die "start: munged failed to start"
    wait_pidfile "$state/munge/munged.pid" || die "start: munged wrote no pid file"
    echo "$(cat "$state/munge/munged.pid") munged" >"$state/pids/munged.pid"
    munge -n -S "$sock" | unmunge -S "$sock" >/dev/null || die "start: munge credentials do not round-trip on $sock"

    # ---- network: a bridge here, one namespace + veth per node -----------
    local x="" br="bbs$id" k
    if [ $netns = 1 ] && ! ip link add "$br" type bridge 2>/dev/null; then
        netns=0
        echo "$prog: cannot create a bridge; falling back to one address, one port per node" >&2
    fi
    local ctl_addr node_addr=()
    if [ $netns = 1 ]; then
        local used
        used=$(ip -4 addr show; ip -4 route show)
        for k in $(seq 0 255); do
            grep -q "10\.213\.$k\." <<<"$used" || { x=$k; break; }
        done
        [ -n "$x" ] || die "start: no free 10.213.X.0/24 subnet"
        ctl_addr=10.213.$x.1
        ip addr add "$ctl_addr/24" dev "$br"
        ip link set "$br" up
        for k in $(seq 1 "$nodes"); do
            local ns="bbs$id-node$k" v="bbs${id}v$k"
            ip netns add "$ns"
            ip link add "$v" type veth peer name "${v}p"
            ip link set "${v}p" netns "$ns"
            ip netns exec "$ns" ip link set "${v}p" name eth0
            ip link set "$v" master "$br"
            ip link set "$v" up
            ip netns exec "$ns" ip addr add "10.213.$x.$((10 + k))/24" dev eth0
            ip netns exec "$ns" ip link set eth0 up
            ip netns exec "$ns" ip link set lo up
            node_addr[k]=10.213.$x.$((10 + k))
        done
    else
        ctl_addr=127.0.0.1
        for k in $(seq 1 "$nodes"); do node_addr[k]=127.0.0.1; done
    fi
    # the mode, for tests: netns (each node its own network and host name),
    # uts (one address, a port per node, own host names), plain (host names shared)
    local uts=1 mode=netns
    if [ $netns = 0 ]; then
        mode=uts
        unshare --uts true 2>/dev/null || { uts=0; mode=plain; }
    fi
    echo "$mode" >"$state/mode"

    # ---- slurm.conf ------------------------------------------------------
    local ctl_port
    ctl_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000)))
    local conf="$state/etc/slurm.conf"
    : >"$state/etc/plugstack.conf"
    cat >"$conf" <<EOF
# written by tests/slurm/cluster.sh: a throwaway cluster, all state in $state
ClusterName=bbtest$id
SlurmctldHost=$(hostname -s)($ctl_addr)
SlurmctldPort=$ctl_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/nodes/%n
SlurmctldPidFile=$state/ctld/slurmctld.pid
SlurmdPidFile=$state/nodes/slurmd-%n.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$state/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
ReturnToService=2
SlurmdParameters=config_overrides
SlurmdTimeout=30
SlurmctldTimeout=30
MessageTimeout=10
KillWait=5
InactiveLimit=0
MinJobAge=600
EOF
    for k in $(seq 1 "$nodes"); do
        if [ $netns = 1 ]; then
            echo "NodeName=node$k NodeAddr=${node_addr[k]} NodeHostname=node$k CPUs=$cpus RealMemory=1000 State=UNKNOWN" >>"$conf"
        else
            echo "NodeName=node$k NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) Port=$((ctl_port + k)) CPUs=$cpus RealMemory=1000 State=UNKNOWN" >>"$conf"
        fi
    done
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$conf"
    export SLURM_CONF=$conf
    export BB_TEST_CLUSTER=$id # marks the daemons and their job steps (cluster_pids)

    # ---- daemons (foreground, so their pids are ours to record) ----------
    setsid slurmctld -D -f "$conf" >>"$state/log/slurmctld.out.log" 2>&1 </dev/null &
    echo "$! slurmctld" >"$state/pids/slurmctld.pid"
    for k in $(seq 1 "$nodes"); do
        mkdir -p "$state/nodes/node$k"
        if [ $netns = 1 ]; then
            # nsenter, not `ip netns exec`: that one remounts /sys, hiding the
            # cgroup mounts slurmd's cgroup plugin looks for. nsenter and
            # unshare (without --fork) exec in place: $! is slurmd.
            # shellcheck disable=SC2016 # $1 and $2 are the inner sh's
            setsid nsenter --net="/run/netns/bbs$id-node$k" unshare --uts sh -c \
                'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' sh "node$k" "$conf" \
                >>"$state/log/slurmd-node$k.out.log" 2>&1 </dev/null &
        elif [ "$uts" = 1 ]; then
            # shellcheck disable=SC2016 # $1 and $2 are the inner sh's
            setsid unshare --uts sh -c 'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' sh "node$k" "$conf" \
                >>"$state/log/slurmd-node$k.out.log" 2>&1 </dev/null &
        else
            setsid slurmd -D -N "node$k" -f "$conf" >>"$state/log/slurmd-node$k.out.log" 2>&1 </dev/null &
        fi
        echo "$! slurmd" >"$state/pids/slurmd-node$k.pid"
    done

    # ---- wait until every node is idle ------------------------------------
    local t0=$SECONDS out idle
    while :; do
        out=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
        idle=$(awk '$2 == "idle"' <<<"$out" | wc -l)
        [ "$idle" -eq "$nodes" ] && break
        for f in "$state"/pids/*.pid; do
            pid_alive "$f" || die "start: $(basename "$f" .pid) exited during start-up"
        done
        [ $((SECONDS - t0)) -lt 60 ] || die "start: nodes not idle after 60 s (sinfo: ${out:-no answer})"
        sleep 0.5
    done
    echo "export SLURM_CONF=$conf" >"$state/env"
    trap - EXIT
    local how="own network + UTS namespaces, bridge $br, controller $ctl_addr:$ctl_port"
    [ $mode != uts ] || how="one address, a port per node, own host names (UTS namespaces)"
    [ $mode != plain ] || how="no namespaces: one address, a port per node, one host name"
    echo "cluster up in $state: $nodes nodes idle ($how), ready in $((SECONDS - t0)) s"
    echo "export SLURM_CONF=$conf"
}

case $cmd in
    start) do_start ;;
    stop) state=$(cd "$state" && pwd -P); do_stop ;;
    status) do_status ;;
esac
