#!/usr/bin/env bash
# DTO-Humans generation on NPROC local processes (torchrun; CPU runs use gloo).
#   bash tools/dist_dto_generate.sh CONFIG NPROC [tools/dto_generate.py options]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for OpenMMLab's dist_train.sh.
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29511}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
cd "$(dirname "$0")/.."
exec python -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    tools/dto_generate.py "$CONFIG" --launcher pytorch "$@"
