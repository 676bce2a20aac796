#!/usr/bin/env bash
# The Redis near cache (issue #18), about 1 minute on 2 cores: getSession with and without the near
# cache and a raw GET in the same JMH run (-prof gc), then the staleness window between two
# instances. Starts its own redis-server on loopback. Writes session-bench/target/nearcache-report.md.
# Usage: session-bench/run-nearcache-bench.sh [extra JMH options]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=session-bench/target/benchmarks.jar
if [ ! -f "$jar" ]; then
  mvn -B -q -pl session-bench -am package -DskipTests
fi
out=session-bench/target
java -jar "$jar" 'NearCacheBenchmark' -f 1 -wi 3 -w 1s -i 3 -r 1s -prof gc -jvmArgsAppend -Djmh.shutdownTimeout=1 \
  -rf json -rff "$out/bench-nearcache.json" "$@" > "$out/bench-nearcache.log"
{
  java -cp "$jar" io.sessionbuddy.bench.BenchReport "$out/bench-nearcache.json" | sed -n '/near cache/,$p'
  echo
  java -cp "$jar" io.sessionbuddy.bench.NearCacheStaleness 2000 2>/dev/null | grep staleness
} | tee "$out/nearcache-report.md"
