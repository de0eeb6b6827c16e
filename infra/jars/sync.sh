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
# Maven: the `mvn` on PATH, else (or with ONA_MAVEN=wrapper) the Maven Wrapper next to the pom,
# which fetches the Maven of .mvn/wrapper/maven-wrapper.properties from Maven Central once and
# keeps it under .cache/maven. Either runs on $JAVA_HOME (the Makefile sets it: jobs/java.py).
if [ "${ONA_MAVEN:-}" = wrapper ] || ! command -v mvn >/dev/null; then
  export MAVEN_USER_HOME=${MAVEN_USER_HOME:-$(cd "$here/../.." && pwd)/.cache/maven}
  maven="$here/mvnw"
else
  maven=mvn
fi
"$maven" -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
mkdir -p "$out.tmp"
for jar in "$staging"/*.jar; do
  name=$(basename "$jar" .jar)
  artifact=${name%-*}
  if compgen -G "$pyspark_jars/$artifact-[0-9]*.jar" >/dev/null; then continue; fi
  cp "$jar" "$out.tmp/"
done
rm -rf "$out" && mv "$out.tmp" "$out"
echo "jars in $out: $(ls "$out" | wc -l)"
