#!/usr/bin/env bash
# Resolve the jars of infra/jars/pom.xml from Maven Central into $1 (default .cache/jars),
# keeping only those pip pyspark does not already ship: a second copy of jackson, hadoop or
# scala on the classpath (at another version) is how Spark sessions break in odd ways.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../.cache/jars}
pyspark_jars=$2
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
mkdir -p "$out.tmp"
for jar in "$staging"/*.jar; do
  name=$(basename "$jar" .jar)
  artifact=${name%-*}
  if compgen -G "$pyspark_jars/$artifact-[0-9]*.jar" >/dev/null; then continue; fi
  cp "$jar" "$out.tmp/"
done
rm -rf "$out" && mv "$out.tmp" "$out"
echo "jars in $out: $(ls "$out" | wc -l)"
