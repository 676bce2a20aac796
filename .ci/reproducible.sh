#!/usr/bin/env bash
# Reproducible builds (#19): builds every module twice from clean and compares each jar that would
# be published (module, sources, Javadoc and test jars, and the CLI's executable jar) byte for byte.
# session-bench is not published and is left out. Exits 1 naming the jars that differ.
set -euo pipefail
cd "$(dirname "$0")/.."
list() {
  ls ./*/target/*.jar | grep -v '^./session-bench/' | grep -v '/original-' | sort
}
sums=$(mktemp -d)
mvn -B -q -DskipTests clean package
list | xargs sha256sum > "$sums/first"
sleep 2 # a build that stamped the time would now stamp another second
mvn -B -q -DskipTests clean package
list | xargs sha256sum > "$sums/second"
if diff "$sums/first" "$sums/second"; then
  echo "reproducible: $(wc -l < "$sums/first") jars identical in two builds"
else
  echo "NOT reproducible: the jars above differ between two builds of the same commit" >&2
  exit 1
fi
