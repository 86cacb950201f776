#!/usr/bin/env bash
# Multi-process training with torchrun (NCCL on GPUs, gloo on CPU).
#   bash tools/dist_train.sh CONFIG NPROC [train.py args ...]
set -euo pipefail
CONFIG=$1; NPROC=$2; shift 2
NNODES=${NNODES:-1}; NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}; MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
cd "$(dirname "$0")/.."
exec python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" --nproc_per_node="$NPROC" \
    tools/train.py "$CONFIG" --launcher pytorch "$@"
