#!/usr/bin/env bash
# Real SLURM test of profiles/slurm, no mocks: installs Debian's slurm-wlm and munge if
# missing, starts a one-node cluster on this machine (munged, slurmctld, slurmd; no slurmdbd), runs
# the pipeline through the profile and checks that every job ran as a completed SLURM job and that
# the PDF came out. The daemons it started are stopped on exit, whatever happens.
#
#   sudo tests/cluster/run_slurm.sh            # the smoke config (config/smoke.yaml), to the PDF
#   sudo tests/cluster/run_slurm.sh trivial    # tests/cluster/trivial: the cluster alone, ~1 min
#
# Needs root (the daemons, and apt-get on a fresh machine) on Debian 12 or similar. The workflow
# runs in a copy of the repository's source files under $DYNATREE_SLURM_TEST_DIR, so the
# repository's results/ are never touched. Rerunning starts from scratch (idempotent).
#
# Environment (all optional):
#   DYNATREE_SLURM_TEST_DIR   cluster state, logs and the workflow copy (/tmp/dynatree-slurm-test)
#   DYNATREE_SLURM_TEST_PORT  slurmctld port; slurmd uses the next one (16817)
#   SNAKEMAKE                 snakemake executable (on PATH, else the repository's .venv)
set -euo pipefail

MODE=${1:-smoke}
case "$MODE" in
smoke | trivial) ;;
*)
    echo "usage: $0 [smoke|trivial]" >&2
    exit 2
    ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE=${DYNATREE_SLURM_TEST_DIR:-/tmp/dynatree-slurm-test}
CTLD_PORT=${DYNATREE_SLURM_TEST_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
# The node must offer what the profile's largest jobs ask for (profiles/slurm/config.yaml:
# build_embedded 4 threads, bench 2 threads and 16000 MB) and hold two benchmark jobs at once: one
# job is mostly single-threaded Python start-up, so two keep 2 real cores busy. A smaller machine
# advertises that much anyway (see slurm.conf.in).
NEED_CPUS=4
NEED_MEM_MB=32000
# Rules that may run on the submit host: `all` and the setup rules meant as the Snakefile's
# localrules (fetch_model and fetch_data need the internet, data_manifest only hashes files,
# resolved_config only writes a file, share_result only copies one). All other jobs must be
# SLURM jobs.
ALLOW_LOCAL=all,fetch_model,fetch_data,data_manifest,resolved_config,share_result
# Where SLURM clients inside a job look for slurm.conf when SLURM_CONF is unset (the executor's job
# step drops SLURM_* variables, SLURM_CONF included, before its nested srun). It is the directory
# configless slurmd uses; a real /etc/slurm/slurm.conf would be read first, so that must not exist.
CLIENT_CONF_LINK=/run/slurm/conf
START=$SECONDS

log() { echo "[run_slurm $(date +%T)] $*" >&2; }
die() {
    log "FAIL: $*"
    exit 1
}

install_slurm() {
    local missing=()
    for cmd in slurmctld slurmd sbatch squeue scancel sinfo munged mungekey; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

# Stop what a run with this $BASE started: jobs first, then the daemons (pid files), then the
# client config link. Safe to call when nothing runs; also cleans up after a killed earlier run.
stop_cluster() {
    if [ -f "$BASE/etc/slurm.conf" ] && [ -f "$BASE/run/slurmctld.pid" ]; then
        SLURM_CONF=$BASE/etc/slurm.conf timeout 10 scancel --user=root 2>/dev/null || true
    fi
    local name pid
    for name in slurmd slurmctld munged; do
        pid=$(cat "$BASE/run/$name.pid" 2>/dev/null) || continue
        # Only that daemon: a stale pid file may name a recycled pid.
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && kill "$pid" 2>/dev/null; then
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$BASE/run/$name.pid"
    done
    if [ "$(readlink "$CLIENT_CONF_LINK" 2>/dev/null)" = "$BASE/etc" ]; then
        rm -f "$CLIENT_CONF_LINK"
    fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    local host cpus mem_mb hw
    host=$(hostname -s)
    hw=$(slurmd -C | head -1)
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
    mem_mb=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
    [ -n "$cpus" ] && [ -n "$mem_mb" ] || die "cannot read CPUs/RealMemory from 'slurmd -C': $hw"
    log "node $host: $cpus CPUs, $mem_mb MB (advertised: at least $NEED_CPUS CPUs, $NEED_MEM_MB MB)"
    cpus=$((cpus > NEED_CPUS ? cpus : NEED_CPUS))
    mem_mb=$((mem_mb > NEED_MEM_MB ? mem_mb : NEED_MEM_MB))
    for name in slurm.conf gres.conf; do
        sed -e "s#@DIR@#$BASE#g" -e "s#@HOST@#$host#g" -e "s#@CTLD_PORT@#$CTLD_PORT#" \
            -e "s#@SLURMD_PORT@#$SLURMD_PORT#" -e "s#@CPUS@#$cpus#" -e "s#@MEM_MB@#$mem_mb#" \
            "$REPO/tests/cluster/$name.in" >"$BASE/etc/$name"
    done
}

start_cluster() {
    [ -e /etc/slurm/slurm.conf ] &&
        die "/etc/slurm/slurm.conf exists: this machine has its own SLURM config, which jobs would read; run this test on a machine without one"
    if [ -e "$CLIENT_CONF_LINK" ] || [ -L "$CLIENT_CONF_LINK" ]; then
        die "$CLIENT_CONF_LINK exists (a configless slurmd of another cluster?); not touching it"
    fi
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        port_busy "$port" && die "port $port is in use; set DYNATREE_SLURM_TEST_PORT to a free one"
    done
    rm -rf "$BASE"
    mkdir -p "$BASE"/{etc,munge,state,spool,run,log,work}
    # munged refuses sockets and keys in directories others can write to.
    chmod 711 "$BASE" "$BASE/munge"
    mungekey --create --keyfile="$BASE/munge/munge.key"
    munged --force --socket="$BASE/munge/munge.sock" --key-file="$BASE/munge/munge.key" \
        --pid-file="$BASE/run/munged.pid" --log-file="$BASE/log/munged.log" \
        --seed-file="$BASE/munge/munged.seed"
    munge -S "$BASE/munge/munge.sock" -n | unmunge -S "$BASE/munge/munge.sock" >/dev/null ||
        die "munge round trip failed (see $BASE/log/munged.log)"

    write_config
    export SLURM_CONF=$BASE/etc/slurm.conf
    mkdir -p "$(dirname "$CLIENT_CONF_LINK")"
    ln -s "$BASE/etc" "$CLIENT_CONF_LINK"
    # -D: stay in the foreground (no systemd here); they still write the pid files stop_cluster uses.
    slurmctld -D >"$BASE/log/slurmctld.out" 2>&1 &
    local ctld=$!
    slurmd -D >"$BASE/log/slurmd.out" 2>&1 &
    local slurmd=$!

    local state="" deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$ctld" 2>/dev/null && kill -0 "$slurmd" 2>/dev/null || break
        state=$(timeout 5 sinfo -h -N -o %T 2>/dev/null | head -1) || state=""
        [ "$state" = idle ] && break
        sleep 1
    done
    if [ "$state" != idle ]; then
        tail -n 5 "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log" >&2 || true
        die "node not idle (state: '${state:-no answer}'; daemon logs above)"
    fi
    log "cluster up: $(sinfo -h -o '%P %D node(s) %T')"
}

# A bare sbatch job, before Snakemake is involved: is the cluster itself usable?
preflight_job() {
    local out=$BASE/log/preflight.out
    sbatch --wait --quiet --output="$out" --time=1 --mem=100 \
        --wrap 'echo "ran as SLURM job $SLURM_JOB_ID on $(hostname -s)"; srun -n1 true' ||
        die "a plain sbatch job failed: $(cat "$out" 2>/dev/null)"
    log "preflight: $(cat "$out")"
}

# Copy the repository's source files (tracked and untracked-but-not-ignored: no results, no venv).
copy_workflow() {
    local work=$BASE/work/repo
    mkdir -p "$work"
    if [ "$MODE" = trivial ]; then
        cp "$REPO/tests/cluster/trivial/Snakefile" "$work/Snakefile"
        mkdir -p "$work/profiles"
        cp -r "$REPO/profiles/slurm" "$work/profiles/"
    else
        [ -f "$REPO/Snakefile" ] && [ -f "$REPO/config/smoke.yaml" ] ||
            die "no Snakefile / config/smoke.yaml in $REPO (run '$0 trivial' to test the cluster alone)"
        git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1 ||
            die "$REPO is not a git checkout (its file list decides what is copied)"
        git -C "$REPO" ls-files -z --cached --others --exclude-standard |
            tar -C "$REPO" --null -T - -cf - | tar -C "$work" -xf -
        rm -f "$work/paper/dynatree.pdf"
        link_data_dir "$work"
    fi
    echo "$work"
}

# The smoke config names its raw-data directory relative to the repository (e.g. ../shared/data):
# make the same relative path work from the copy.
link_data_dir() {
    local work=$1 rel
    rel=$("$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["dir"])' \
        "$work/config/smoke.yaml")
    case "$rel" in
    /*) return ;;
    esac
    [ -e "$work/$rel" ] && return
    [ -e "$REPO/$rel" ] || die "the smoke config's data.dir $rel does not exist from $REPO"
    mkdir -p "$(dirname "$work/$rel")"
    ln -s "$(cd "$REPO/$rel" && pwd)" "$work/$rel"
}

run_workflow() {
    local work=$1
    # By name: Snakemake finds profiles/slurm next to the Snakefile.
    local args=(--workflow-profile slurm
        # No slurmdbd here, so sacct cannot answer; squeue can (MinJobAge=600 in slurm.conf).
        --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2)
    [ "$MODE" = smoke ] && args+=(--configfile config/smoke.yaml)
    log "snakemake ${args[*]} (in $work)"
    (cd "$work" && "$SNAKEMAKE" "${args[@]}") >"$BASE/log/snakemake.out" 2>&1 || {
        tail -n 60 "$BASE/log/snakemake.out" >&2
        die "snakemake failed (full output: $BASE/log/snakemake.out)"
    }
}

check_results() {
    local work=$1 smk_log
    smk_log=$(ls -t "$work"/.snakemake/log/*.snakemake.log | head -1)
    "$PYTHON" "$REPO/tests/cluster/check_slurm_jobs.py" --snakemake-log "$smk_log" \
        --jobcomp "$BASE/log/jobcomp.log" --allow-local "$ALLOW_LOCAL" ||
        die "not every job ran as a completed SLURM job (see above)"
    if [ "$MODE" = smoke ]; then
        local pdf=$work/paper/dynatree.pdf
        [ "$(head -c 5 "$pdf" 2>/dev/null)" = "%PDF-" ] || die "no PDF at $pdf"
        log "PDF: $pdf ($(stat -c %s "$pdf") bytes)"
    else
        grep -q "CUDA_VISIBLE_DEVICES=0" "$work/results/trivial/bench_tree.txt" ||
            die "the gpu=1 job got no GPU from SLURM"
    fi
}

[ "$(id -u)" -eq 0 ] || die "run as root (starts SLURM daemons; installs packages if missing)"
SNAKEMAKE=${SNAKEMAKE:-$(command -v snakemake || echo "$REPO/.venv/bin/snakemake")}
[ -x "$SNAKEMAKE" ] || die "snakemake not found (activate the venv or set SNAKEMAKE)"
# Jobs inherit PATH (sbatch --export=ALL): they need the same environment's `python`.
PATH="$(dirname "$SNAKEMAKE"):$PATH"
PYTHON=$(dirname "$SNAKEMAKE")/python
[ -x "$PYTHON" ] || PYTHON=python3

install_slurm
stop_cluster
trap stop_cluster EXIT
start_cluster
preflight_job
WORK=$(copy_workflow)
run_workflow "$WORK"
check_results "$WORK"
log "PASS ($MODE) in $((SECONDS - START)) s; logs: $BASE/log"
