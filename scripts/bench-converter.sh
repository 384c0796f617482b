#!/usr/bin/env bash
# Opt-in yardstick: `jct build` beside Oracle's Java Card converter on the
# same class files, for every real applet of scripts/real-applets.list and
# the converter-reference packages of ../shared (hello, arith, lib, oop,
# crypto, ints). Both get the same package AID, version, applet AIDs and
# export files for the imports (org.globalplatform from
# ../shared/exp-corpus/globalplatform, lib's from Oracle's own conversion
# of lib), and each conversion is the whole process: time by hyperfine
# (mean of RUNS runs after a warm-up), peak memory (max RSS) by GNU time
# (median of 3 runs). Prints a Markdown table and whether every package
# meets issue 13's goal (at least 50 times faster, under 30 MB).
#
#   JC_HOME=/path/to/kit scripts/bench-converter.sh [RUNS] [WORK_DIR]
#
# JC_HOME names an Oracle Java Card kit: 3.0.5 (lib/tools.jar and
# api_export_files/; its converter reads class files up to version 51, so
# see below) or 3.1/3.2
# (bin/converter.sh, the API export files inside lib/tools.jar, selected by
# -target; JAVA_HOME must name a JDK 17, by default the one of `java`).
# jct reads class files of version 52 (Java 8) and later, the 3.0.5 kit's
# converter up to 51 (Java 7): for that kit each package is compiled twice,
# -target 8 for jct and -target 7 for Oracle, and the script checks that
# the two sets differ in nothing but the class file version field.
# JC_TARGET (default 3.0.5) is the platform both converters link against
# (jct --target, the 3.2 kit's -target); JC_GP (default 1.6) the
# org.globalplatform version. jct never needs a kit: this is a yardstick,
# skipped with a message when JC_HOME is unset. The applets' repositories
# come from JCT_GIT_URL as in scripts/real-applets.sh (OWNER and NAME
# replaced; default GitHub). Needs git, a JDK, python3, hyperfine and GNU
# time (Debian packages hyperfine, time). RUNS defaults to 10; WORK_DIR to
# a temporary directory, removed at the end. JCT_BIN names a jct binary to
# measure instead of building this tree's release binary.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "${JC_HOME:-}" ]; then
  echo "skipped: JC_HOME is not set (point it at an Oracle Java Card kit to compare)"
  exit 0
fi
for tool in hyperfine python3 javac java git /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (Debian: hyperfine, time, a JDK)"; exit 0; }
done
runs=${1:-10}
target=${JC_TARGET:-3.0.5}
gp=${JC_GP:-1.6}
shared=${JCT_SHARED:-$root/../shared}
ref=$shared/converter-reference
url_template=${JCT_GIT_URL:-https://github.com/OWNER/NAME}
if [ -n "${2:-}" ]; then
  work=$2
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# The kit: its converter command, its API export files, the class file
# version it reads.
oracle_exports=()
oracle_target=()
if [ -f "$JC_HOME/bin/converter.sh" ]; then
  if [ -z "${JAVA_HOME:-}" ]; then
    JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    export JAVA_HOME
  fi
  oracle=("$JC_HOME/bin/converter.sh")
  oracle_target=(-target "$target")
  release=8
elif [ -f "$JC_HOME/lib/tools.jar" ] && [ -d "$JC_HOME/api_export_files" ]; then
  oracle=(java -cp "$JC_HOME/lib/tools.jar" com.sun.javacard.converter.Main)
  oracle_exports=("$JC_HOME/api_export_files")
  release=7
  [ "$target" = 3.0.5 ] || { echo "skipped: a 3.0.5 kit converts for target 3.0.5 only (JC_TARGET=$target)"; exit 0; }
else
  echo "skipped: $JC_HOME has neither bin/converter.sh nor lib/tools.jar with api_export_files/"
  exit 0
fi
kit=$("${oracle[@]}" -version 2>&1 | grep -oE 'Converter \[v[^]]*\]|[0-9]+\.[0-9]+\.[0-9][^ ]*' | head -1)

# JCT_BIN: measure that jct binary as it is (e.g. one built earlier, while
# the tree has moved on); by default the release build of this tree.
if [ -n "${JCT_BIN:-}" ]; then
  jct=$JCT_BIN
else
  cargo build --release --quiet --bin jct || exit 1
  jct=$root/target/release/jct
fi
"$jct" api-jar --api "$target" -o "$work/api.jar" >/dev/null || exit 1

# org.globalplatform (and its secure channel packages) as Oracle's
# converter looks for export files: PACKAGE/PATH/javacard/LAST.exp.
gpdir=$work/exports/gp
gp_exp() { # package file
  local d="$gpdir/${1//.//}/javacard"
  mkdir -p "$d"
  ln -sf "$shared/exp-corpus/globalplatform/$2" "$d/${1##*.}.exp"
}
gp_exp org.globalplatform "org.globalplatform-$gp.exp"
gp_exp org.globalplatform.securechannel org.globalplatform.securechannel-1.1.exp
gp_exp org.globalplatform.securechannel.provider org.globalplatform.securechannel.provider-1.1.exp

# 0x-form of a hex AID, as Oracle's converter takes it.
oaid() { echo "$1" | sed -E 's/(..)/0x\1:/g; s/:$//'; }
# A class name qualified by its package.
qualified() { [[ $2 == *.* ]] && echo "$2" || echo "$1.$2"; }

table="| package | jct ms | Oracle ms | ratio | jct peak RSS MB | Oracle peak RSS MB |"
table+=$'\n'"|---|---:|---:|---:|---:|---:|"
missed=()
measured=0

# mean_ms JSON: hyperfine's mean in milliseconds.
mean_ms() { python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$1"; }
# rss_mb COMMAND...: the median max RSS of 3 runs, in MB.
rss_mb() {
  local i out=()
  for i in 1 2 3; do
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>&1
    out+=("$(tail -1 "$work/rss")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n 2p | awk '{printf "%.1f", $1/1024}'
}

# compare NAME CLASSES PACKAGE PACKAGE_AID APPLET_AID=CLASS|- EXTRA_EXPORT_DIR|- [jct build options]
compare() {
  local name=$1 classes=$2 package=$3 aid=$4 applet=$5 extra=$6
  shift 6
  local dir="$work/$name" o
  mkdir -p "$dir"
  local jct_cmd=("$jct" build "$classes" --package "$package" --package-aid "$aid" --version 1.0
    --target "$target" --gp-api "$gp" -o "$dir/jct.cap")
  local ora_classes=$classes
  [ "$release" = 8 ] || ora_classes=$classes.$release
  local ora_cmd=("${oracle[@]}" -nobanner -classdir "$ora_classes" "${oracle_target[@]}")
  local exports=("${oracle_exports[@]}" "$gpdir")
  [ "$extra" = - ] || exports+=("$extra")
  ora_cmd+=(-exportpath "$(IFS=:; echo "${exports[*]}")")
  if [ "$applet" != - ]; then
    jct_cmd+=(--applet "$applet")
    ora_cmd+=(-applet "$(oaid "${applet%%=*}")" "$(qualified "$package" "${applet#*=}")")
  fi
  [ "$extra" = - ] || jct_cmd+=(--exportpath "$extra")
  for o in "$@"; do
    jct_cmd+=("$o")
    [ "$o" = --int ] && ora_cmd+=(-i)
  done
  ora_cmd+=(-out CAP EXP -d "$dir/oracle" "$package" "$(oaid "$aid")" 1.0)
  local jct_ok=yes ora_ok=yes
  "${jct_cmd[@]}" >"$dir/jct.log" 2>&1 || jct_ok=no
  "${ora_cmd[@]}" >"$dir/oracle.log" 2>&1 || ora_ok=no
  find "$dir/oracle" -name '*.cap' 2>/dev/null | grep -q . || ora_ok=no
  local jms=- oms=- ratio=- jrss=- orss=-
  if [ $jct_ok = yes ]; then
    hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$dir/jct.json" "${jct_cmd[*]}" >/dev/null 2>&1 &&
      jms=$(mean_ms "$dir/jct.json")
    jrss=$(rss_mb "${jct_cmd[@]}")
  else
    jms="fails: $(grep -m1 -iE 'error' "$dir/jct.log" | cut -c1-80)"
  fi
  if [ $ora_ok = yes ]; then
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$dir/oracle.json" "${ora_cmd[*]}" >/dev/null 2>&1 &&
      oms=$(mean_ms "$dir/oracle.json")
    orss=$(rss_mb "${ora_cmd[@]}")
  else
    oms="fails: $(grep -m1 -E '^error|error:' "$dir/oracle.log" | sed 's/|/\\|/g' | cut -c1-100)"
  fi
  if [ $jct_ok = yes ] && [ $ora_ok = yes ] && [ "$jms" != - ] && [ "$oms" != - ]; then
    ratio=$(python3 -c 'import sys; print("%.0f×" % (float(sys.argv[2]) / float(sys.argv[1])))' "$jms" "$oms")
    measured=$((measured + 1))
    python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) >= 50 * float(sys.argv[1]) and float(sys.argv[3]) < 30 else 1)' \
      "$jms" "$oms" "$jrss" || missed+=("$name (${ratio}, $jrss MB)")
  fi
  echo "$name: jct $jms ms, $jrss MB; Oracle $oms ms, $orss MB; $ratio (logs in $dir)"
  table+=$'\n'"| $name | $jms | $oms | $ratio | $jrss | $orss |"
}

# javac_into DIR SOURCES...: class files for jct in DIR (version 52) and,
# for a kit that reads only version 51, the same compiled -target 7 in
# DIR.7, which must differ from DIR's in the version field alone.
javac_into() {
  local out=$1 r f
  shift
  for r in 8 $([ "$release" = 8 ] || echo "$release"); do
    local d=$out
    [ "$r" = 8 ] || d=$out.$r
    mkdir -p "$d"
    javac -g -source "$r" -target "$r" -nowarn -bootclasspath "$work/api.jar" -d "$d" "$@" \
      >"$d.javac.log" 2>&1 || return 1
  done
  [ "$release" = 8 ] && return 0
  while IFS= read -r f; do
    # cmp -l: offset (from 1) and the two bytes in octal; byte 8 is the
    # low byte of major_version.
    if [ "$(cmp -l "$out/$f" "$out.$release/$f" | awk '$1 != 8' | wc -l)" != 0 ] ||
      [ ! -f "$out.$release/$f" ]; then
      echo "$f: the -target $release class file differs from the -target 8 one beyond the version" >"$out.javac.log"
      return 1
    fi
  done < <(cd "$out" && find . -name '*.class')
}

echo "Oracle converter: $kit ($JC_HOME), target $target, class files version 52 for jct, $((44 + release)) for Oracle; jct: $("$jct" --version)"

# The converter-reference packages: lib first, its export file (Oracle's)
# is oop's import for both converters.
for p in hello arith lib oop crypto ints; do
  javac_into "$work/ref-$p" "$ref"/src/com/example/$p/*.java -classpath "$work/ref-lib" ||
    { echo "$p: javac failed (see $work/ref-$p.javac.log)"; continue; }
done
compare hello "$work/ref-hello" com.example.hello F00000000101 F0000000010101=HelloApplet -
compare arith "$work/ref-arith" com.example.arith F00000000102 F0000000010201=ArithApplet -
compare lib "$work/ref-lib" com.example.lib F0000000014C - -
compare oop "$work/ref-oop" com.example.oop F00000000103 F0000000010301=OopApplet "$work/lib/oracle"
compare crypto "$work/ref-crypto" com.example.crypto F00000000104 F0000000010401=CryptoApplet -
compare ints "$work/ref-ints" com.example.ints F00000000105 F0000000010501=IntApplet - --int

# The real applets: cloned at their pinned commits, compiled unmodified.
applet() {
  local name=$1 repo=$2 commit=$3 src=$4 package=$5 aid=$6 app=$7
  shift 7
  local dir="$work/$name" url=${url_template//OWNER/${repo%%/*}} d dirs sources=()
  url=${url//NAME/${repo#*/}}
  rm -rf "$dir/src" && mkdir -p "$dir"
  IFS=: read -ra dirs <<<"$src"
  if ! git clone -q --no-checkout "$url" "$dir/src" 2>"$dir/clone.log" ||
    ! git -C "$dir/src" checkout -q "$commit" -- "${dirs[@]}" 2>>"$dir/clone.log"; then
    echo "$name: not measured, $repo could not be cloned from $url (see $dir/clone.log)"
    table+=$'\n'"| $name | not cloned | | | | |"
    return
  fi
  for d in "${dirs[@]}"; do
    while IFS= read -r f; do sources+=("$f"); done < <(find "$dir/src/$d" -name '*.java')
  done
  if ! javac_into "$dir/classes" "${sources[@]}"; then
    echo "$name: not measured, javac failed (see $dir/classes*.javac.log)"
    table+=$'\n'"| $name | javac fails | | | | |"
    return
  fi
  compare "$name" "$dir/classes" "$package" "$aid" "$app" - "$@"
}
source "$root/scripts/real-applets.list"

echo
echo "$table"
echo
if [ ${#missed[@]} -eq 0 ]; then
  echo "goal (at least 50× faster than Oracle's converter, under 30 MB): met by all $measured packages both converted"
else
  echo "goal (at least 50× faster than Oracle's converter, under 30 MB): missed by ${missed[*]} ($measured packages both converted)"
fi
