#!/usr/bin/env bash
# Record the improved CIFAR-10 recipes (ResNet-18 first, then AlexNet) on a bare GPU machine
# in one call with a time limit.
#
#   scripts/gpu_record.sh DATA_DIR OUT_DIR [more options for run_full_cifar.py]
#
# DATA_DIR holds CIFAR-10 as torchvision's cifar-10-python.tar.gz or as the JPEG archives
# train.tar.gz and test.tar.gz (directly or in a cifar10-jpg/ subfolder). They are unpacked
# into a scratch folder, then scripts/run_full_cifar.py trains the full profile's improved
# recipes on all the data with the epochs below (shortened evenly if its speed measurement
# says they would not fit) and writes <chapter>_gpu.json into OUT_DIR after each recipe. At
# the limit the run is stopped cleanly; the recipes that finished are kept. Exit status 0
# when OUT_DIR holds at least one record, 1 otherwise. Copy the records into
# book_utils/results/ and commit them.
#
# Needs only python3 with torch, torchvision and tqdm (this package need not be installed).
# Settings (environment):
#   GPU_RECORD_LIMIT   seconds for the whole call (default 420)
#   GPU_RECORD_EPOCHS  epochs per recipe (default "resnet-improved=30 alexnet-improved=30")
#   GPU_RECORD_BATCH   batch sizes (default "resnet-improved=512 alexnet-improved=256")
#   GPU_RECORD_RECIPES recipes in order (default "resnet-improved alexnet-improved")
#   PYTHON             interpreter (default python3)
# Extra arguments go to run_full_cifar.py last, so they win (tests use --profile quick
# --device cpu --train-subset ... to try all of it on a CPU).
set -u
start=$(date +%s)
if [ $# -lt 2 ]; then
    echo "usage: $0 DATA_DIR OUT_DIR [options for run_full_cifar.py]" >&2
    exit 2
fi
data_dir=$1
out_dir=$2
shift 2
limit=${GPU_RECORD_LIMIT:-420}
epochs=${GPU_RECORD_EPOCHS:-"resnet-improved=30 alexnet-improved=30"}
batch=${GPU_RECORD_BATCH:-"resnet-improved=512 alexnet-improved=256"}
recipes=${GPU_RECORD_RECIPES:-"resnet-improved alexnet-improved"}
python=${PYTHON:-python3}
repo=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_record.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data/cifar10-jpg" "$work/cache" "$out_dir" || exit 1

# --- unpack the archives
if [ -f "$data_dir/cifar-10-python.tar.gz" ]; then
    tar -xzf "$data_dir/cifar-10-python.tar.gz" -C "$work/data" || exit 1
else
    pids=""
    for split in train test; do
        archive=""
        for candidate in "$data_dir/$split.tar.gz" "$data_dir/cifar10-jpg/$split.tar.gz"; do
            [ -f "$candidate" ] && archive=$candidate && break
        done
        if [ -z "$archive" ]; then
            echo "no CIFAR-10 archive $split.tar.gz (or cifar-10-python.tar.gz) in $data_dir" >&2
            exit 1
        fi
        tar -xzf "$archive" -C "$work/data/cifar10-jpg" &
        pids="$pids $!"
    done
    for pid in $pids; do
        wait "$pid" || { echo "could not unpack the archives in $data_dir" >&2; exit 1; }
    done
fi
echo "unpacked CIFAR-10 in $(( $(date +%s) - start )) s"

# --- train and record, stopping cleanly at the limit
elapsed=$(( $(date +%s) - start ))
budget=$(( limit - elapsed - 15 ))   # leave time to stop and list the records
if [ "$budget" -lt 30 ]; then
    echo "only $budget s left of the $limit s limit after unpacking; nothing recorded" >&2
    exit 1
fi
# shellcheck disable=SC2086  # the settings are lists of words
CNN_BOOK_DATA="$work/data" CNN_BOOK_CACHE="$work/cache" CNN_BOOK_CHECKPOINTS="$work/ck" \
    timeout --signal=INT --kill-after=10 "$budget" \
    "$python" "$repo/scripts/run_full_cifar.py" --recipes $recipes --epochs $epochs \
    --batch-size $batch --checkpoint-every 0 --no-progress --time-limit "$budget" \
    --out "$out_dir" "$@"
status=$?
case $status in
    0) echo "finished all recipes" ;;
    3|124|130) echo "stopped at the time limit ($limit s); kept the recipes that finished" ;;
    *) echo "run_full_cifar.py failed with status $status" >&2 ;;
esac
echo "took $(( $(date +%s) - start )) s; records in $out_dir:"
found=0
for record in "$out_dir"/*_gpu.json "$out_dir"/*_cpu.json; do
    [ -f "$record" ] || continue
    found=1
    "$python" - "$record" <<'EOF'
import json, sys
content = json.load(open(sys.argv[1]))
for name, run in content["runs"].items():
    print(f"  {sys.argv[1]}: {name} {100 * run['test_accuracy']:.2f}% after "
          f"{len(run['epochs'])} epochs on {content['environment']['device']}")
EOF
done
[ "$found" = 1 ] || { echo "  none" >&2; exit 1; }
exit 0
