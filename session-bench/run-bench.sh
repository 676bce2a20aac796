#!/usr/bin/env bash
# The short benchmark profile (about 20 minutes on 2 cores): every backend against its raw client
# in the same run with allocation per operation (-prof gc), listing cost by store size, contention,
# the mixed workload, heap per stored session, cold starts, the hot-path goals and the near cache. Starts its own
# redis-server and S3Proxy on loopback. Writes session-bench/target/bench-report.md and prints it.
# Usage: session-bench/run-bench.sh [extra JMH options, e.g. -p size=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=session-bench/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  mvn -B -q -pl session-bench -am package -DskipTests
fi
out=session-bench/target
jmh_settings="-f 1 -wi 3 -w 1s -i 3 -r 1s"
# JMH waits 30 s for stray non-daemon threads (S3Proxy's store keeps some) unless told otherwise
java -jar "$jar" 'MemoryBenchmark|RedisBenchmark|FileBenchmark|ListBenchmark|ContentionBenchmark|MixedWorkloadBenchmark' \
  $jmh_settings -prof gc -jvmArgsAppend -Djmh.shutdownTimeout=1 -rf json -rff "$out/bench-main.json" "$@" \
  > "$out/bench-jmh.log"
# S3Proxy runs in a JVM of its own (S3ServerProcess), started cold for each benchmark: with 2 s of
# warm-up its JIT was still warming during measurement (ops/s 3-4x lower than warmed, ratios off)
java -jar "$jar" 'S3Benchmark.(retrieve|retrieveRaw|store|storeRaw)$' -f 1 -wi 4 -w 5s -i 3 -r 3s -prof gc \
  -jvmArgsAppend -Djmh.shutdownTimeout=1 -rf json -rff "$out/bench-s3.json" "$@" >> "$out/bench-jmh.log"
{
  echo "Run on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$(java -version 2>&1 | head -1); JMH $jmh_settings (S3: -wi 4 -w 5s -i 3 -r 3s); ± is JMH's 99.9% interval."
  echo
  echo "Heap per stored session, measured after full GCs in a fresh JVM:"
  echo
  java -cp "$jar" io.sessionbuddy.bench.HeapPerSession "$out/heap-per-session.txt"
  echo
  java -cp "$jar" io.sessionbuddy.bench.BenchReport "$out/bench-main.json" "$out/bench-s3.json" \
    --heap "$out/heap-per-session.txt"
  echo
  echo "Cold start: JVM start to the first session stored and read back, in a new JVM each time."
  echo
  java -cp "$jar" io.sessionbuddy.bench.ColdStartRunner 3
  echo
  session-bench/run-nearcache-bench.sh "$@"
} | tee "$out/bench-report.md"
