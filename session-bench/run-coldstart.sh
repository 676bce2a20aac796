#!/usr/bin/env bash
# Cold start on thin class paths (issue #15): for each backend, a fresh JVM runs ColdStart with only
# that backend module's runtime dependencies on the class path (as an application would), through the
# library and through the raw client; then again with an AppCDS archive from one training run; and,
# for Redis, the same through Spring Session's RedisSessionRepository on the same Lettuce.
# Needs `mvn -B -DskipTests install` first (the backend jars are taken from the local repository).
# Writes session-bench/target/coldstart-report.md and prints it. Usage: run-coldstart.sh [runs] (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-7}"
jar=session-bench/target/benchmarks.jar
out=session-bench/target/coldstart
mkdir -p "$out"
if [ ! -f "$jar" ]; then
  mvn -B -q -pl session-bench -am package -DskipTests
fi
for backend in memory file redis s3; do
  mvn -B -q -o org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -pl "backend-$backend" \
    -DincludeScope=runtime -Dmdep.outputFile="$PWD/$out/cp-$backend.txt" \
    || mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -pl "backend-$backend" \
      -DincludeScope=runtime -Dmdep.outputFile="$PWD/$out/cp-$backend.txt"
  # the module's own jar, as the application would have it
  echo ":$HOME/.m2/repository/io/sessionbuddy/backend-$backend/0.1.0-SNAPSHOT/backend-$backend-0.1.0-SNAPSHOT.jar" >> "$out/cp-$backend.txt"
  tr -d '\n' < "$out/cp-$backend.txt" > "$out/cp-$backend.tmp" && mv "$out/cp-$backend.tmp" "$out/cp-$backend.txt"
done
# Spring Session's RedisSessionRepository on the same Lettuce, for the comparison row
lettuce=$(grep -m1 -o '<lettuce.version>[^<]*' pom.xml | cut -d'>' -f2)
mvn -B -q -o org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -f session-bench/coldstart-spring.xml \
  -Dlettuce.version="$lettuce" -DincludeScope=runtime -Dmdep.outputFile="$PWD/$out/cp-spring.txt" \
  || mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -f session-bench/coldstart-spring.xml \
    -Dlettuce.version="$lettuce" -DincludeScope=runtime -Dmdep.outputFile="$PWD/$out/cp-spring.txt"
rm -f "$out/coldstart.jar"
(cd session-bench/target/classes && jar cf "../coldstart/coldstart.jar" io/sessionbuddy/bench/ColdStart.class io/sessionbuddy/bench/ColdStart\$*.class)
{
  echo "Run on $(date -u +%Y-%m-%d), $(nproc) cores, $(java -version 2>&1 | head -1); thin class paths."
  echo
  java -cp "$jar" io.sessionbuddy.bench.ColdStartRunner "$runs" --thin "$out"
} | tee session-bench/target/coldstart-report.md
