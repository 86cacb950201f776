#!/usr/bin/env bash
# DTO-Humans generation on NPROC local processes (torchrun; CPU runs use gloo).
#   bash tools/dist_dto_generate.sh CONFIG NPROC [tools/dto_generate.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for OpenMMLab's dist_train.sh.
# PYTHON: the interpreter (default: python on PATH).
#
# Stopping: torchrun starts its workers in sessions of their own, so a signal to this
# launcher alone would not reach them.  The launcher therefore stays in front of torchrun
# and forwards SIGINT / SIGTERM / SIGHUP to torchrun and to its worker processes, then waits
# for them; each worker also exits by itself when torchrun disappears (even after a
# SIGKILL).  Finished shards are kept: rerun the same command to resume.
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29511}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    tools/dto_generate.py "$CONFIG" --launcher pytorch "$@" &
RUN_PID=$!

forward() {
    # torchrun and its direct children (the workers), by process id only
    local sig=$1
    echo "dist_dto_generate.sh: forwarding SIG$sig to torchrun ($RUN_PID) and its workers" >&2
    pkill -"$sig" -P "$RUN_PID" 2>/dev/null || true
    kill -"$sig" "$RUN_PID" 2>/dev/null || true
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP

# wait returns early when a trapped signal arrives: keep waiting until torchrun has exited
set +e
while true; do
    wait "$RUN_PID"
    rc=$?
    kill -0 "$RUN_PID" 2>/dev/null || break
done
exit "$rc"
