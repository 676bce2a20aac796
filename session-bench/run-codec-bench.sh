#!/usr/bin/env bash
# Measures the stored format's compressions on realistic session JSON (1 KiB, 16 KiB, 1 MiB)
# and prints Markdown tables: compressed sizes, then JMH throughput.
# Usage: session-bench/run-codec-bench.sh [extra JMH options]   (about 5 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f session-bench/target/benchmarks.jar ]; then
  mvn -B -q -pl session-bench -am package -DskipTests
fi
jar=session-bench/target/benchmarks.jar
out=session-bench/target/codec-results.json
echo "### Compressed size"
java -cp "$jar" io.sessionbuddy.bench.CompressionSizes
java -jar "$jar" 'CompressionBenchmark|RecordCodecBenchmark.*' -rf json -rff "$out" "$@" > session-bench/target/codec-jmh.log
echo
echo "### Throughput (JMH: 1 fork, 2 × 1 s warm-up, 3 × 1 s measurement; $(nproc) cores, $(java -version 2>&1 | head -1))"
java -cp "$jar" io.sessionbuddy.bench.JmhMarkdown "$out"
