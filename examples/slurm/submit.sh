#!/usr/bin/env bash
# Submit the shards as a Slurm job array, then one job that merges them once all have succeeded.
#   SUBMISSIONS=submissions OUT=graded examples/slurm/submit.sh [SHARDS]
set -euo pipefail
shards=${1:-8}
export SUBMISSIONS=${SUBMISSIONS:-submissions} OUT=${OUT:-graded} COURSE=${COURSE:-course.yaml}
mkdir -p logs
array=$(sbatch --parsable --export=ALL --array="1-$shards" examples/slurm/grade.sbatch)
sbatch --dependency="afterok:$array" --export=ALL --job-name=torchgrade-merge --output=logs/torchgrade-merge-%j.out \
  --wrap "torchgrade merge $OUT/shard-* --out $OUT/class && torchgrade report $OUT/class"
echo "submitted array $array ($shards shards) and its merge"
