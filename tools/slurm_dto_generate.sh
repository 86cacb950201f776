#!/usr/bin/env bash
# DTO-Humans generation on a Slurm cluster, one task per GPU.
#   bash tools/slurm_dto_generate.sh PARTITION JOB_NAME CONFIG [tools/dto_generate.py options]
# Env: GPUS (total tasks, default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
# A rerun of the same command resumes: finished shards are skipped.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
cd "$(dirname "$0")/.."
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u tools/dto_generate.py "$CONFIG" --launcher slurm "$@"
