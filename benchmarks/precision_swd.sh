#!/usr/bin/env bash
# Does mixed precision train as well as fp32? The README's MNIST ProGAN schedule (32x32, 42 kimg)
# in fp32, fp16 and bf16 with the same seed, then the SWD of each final network.
#
#   benchmarks/precision_swd.sh [MNIST_GZ_DIR (default ../shared/data/mnist)] [SWD_IMAGES (default 8192)]
#
# Time: about 30 min per precision in fp32 on a 2-core CPU (minutes on a GPU). fp16 and bf16 run
# emulated on CPUs without fp16/bf16 arithmetic (bf16 about 13x slower than fp32 on AVX2 only), so
# run this on a GPU or an AMX CPU. fp16 is the official configuration: its loss scale starts at
# 2^64, so the first ~50 steps of each network overflow and are skipped, as officially.
# Compare the 'network-final' SWD rows printed at the end (lower is better; 'Reals2', other reals, is the
# floor) with the spread between seeds (rerun fp32 with TRAIN_EXTRA='--random_seed 1001').
# TRAIN_EXTRA='--total_kimg 0.2' (any train.py flags) overrides the schedule, e.g. for a smoke test;
# DATASET and RESULTS change the dataset folder (default datasets/mnist) and the results folder.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-../shared/data/mnist}
images=${2:-8192}
out=${RESULTS:-results/precision-swd}
data=${DATASET:-datasets/mnist}
[ -d "$data" ] || python dataset_tool.py create_mnist "$data" "$src"
schedule=(--fmap_base 2048 --fmap_max 128 --latent_size 128 --minibatch_base 32 --minibatch_dict '{}'
          --lod_training_kimg 5 --lod_transition_kimg 5 --total_kimg 42 --tick_kimg_base 3
          --tick_kimg_dict '{}' --G_smoothing 0.99 --random_seed 1000)
for precision in fp32 fp16 bf16; do
  # shellcheck disable=SC2086  # TRAIN_EXTRA is a list of flags.
  python train.py --dataset "$data" --result_dir "$out" --desc "mnist-$precision" \
      --precision "$precision" "${schedule[@]}" ${TRAIN_EXTRA:-}
done
for precision in fp32 fp16 bf16; do
  run=$(ls -d "$out"/*-"mnist-$precision" | tail -n 1)
  python evaluate_metrics.py --run "$run/network-final.pkl" --metrics swd --num_images "$images" --real_passes 2 \
      --log "metric-swd-precision.txt"
done
for precision in fp32 fp16 bf16; do
  run=$(ls -d "$out"/*-"mnist-$precision" | tail -n 1)
  echo "== $precision ($run)"
  cat "$run/metric-swd-precision.txt"
done
