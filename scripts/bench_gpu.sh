#!/usr/bin/env bash
# The device checks of docs/performance.md in one run, sized for a short GPU session (~6-8 min on an H100):
# flip-test decoding, training-step switches (AMP bf16/fp16, channels_last, torch.compile), DataLoader pinning
# and host-to-device copies, posekit-infer throughput. Each table goes to $OUT/<name>.md (default bench_out/);
# a step that fails or runs past its time limit is reported and the rest still run.
#
#   bash scripts/bench_gpu.sh                      # on a CUDA machine
#   DEVICE=cpu QUICK=1 bash scripts/bench_gpu.sh   # the same plumbing on a CPU, tiny sizes (a smoke test)
set -u
cd "$(dirname "$0")/.."
DEVICE="${DEVICE:-cuda}"
OUT="${OUT:-bench_out}"
QUICK="${QUICK:-0}"
PY="${PYTHON:-python}"
mkdir -p "$OUT"

if [ "$QUICK" = "1" ]; then
  DECODE=(--batch 8 --repeat 2 --warmup 1)
  TRAIN=(--model tiny --batch 4 --steps 2 --variants raw lightning channels_last)
  LOADER=(--samples 64 --batch 8 --workers 0)
  INFER=(--models tiny --copies 1 --repeat 1 --warmup 0)
  LIMIT=300
else
  DECODE=(--batch 64 --repeat 30 --warmup 5)
  TRAIN=(--model hrnet_w32 --batch 32 --steps 10 --rounds 2 --variants raw lightning channels_last bf16 fp16 compile)
  LOADER=(--samples 1024 --batch 64 --workers 0 2 4 8)
  INFER=(--models tiny rtmpose_t hrnet_w32 --copies 16 --repeat 3 --batch-size 64)
  LIMIT=300
fi

run() {  # run NAME ARGS...: one benchmark, its table in $OUT/NAME.md
  local name="$1"; shift
  local start=$SECONDS
  echo "== $name: $*"
  if timeout "$LIMIT" "$PY" "$@" --device "$DEVICE" > "$OUT/$name.md" 2> "$OUT/$name.err"; then
    echo "   ok in $((SECONDS - start)) s -> $OUT/$name.md"
  else
    echo "   FAILED or timed out (exit $?) after $((SECONDS - start)) s; see $OUT/$name.err"
    tail -n 5 "$OUT/$name.err"
  fi
}

"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" | tee "$OUT/device.txt"
run decode scripts/bench_decode.py "${DECODE[@]}"
run train_step scripts/bench_train_step.py "${TRAIN[@]}"
run dataloader scripts/bench_dataloader.py "${LOADER[@]}"
run infer scripts/bench_infer.py "${INFER[@]}"
echo "tables in $OUT/"
