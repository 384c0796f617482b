#!/usr/bin/env bash
# Real open-source applets in jct emu and in jCardSim: clones each (at a
# pinned commit), compiles it with javac against `jct api-jar`, converts it
# with `jct build`, and runs tests/real-applets/<name>.apdu with `jct test`
# on a fresh emulated card (the scripts are jct's, written from each
# applet's documented commands; the applets' sources are never part of
# jct), then the same script, unchanged, on jCardSim behind
# jcardsim-harness (jct's GlobalPlatform front; the applet runs as its Java
# classes), so that every step is checked against both. A script with its
# own `install` line (install parameters) runs without --cap. Prints one
# result line per applet and a Markdown table for the README.
#
#   scripts/real-applets.sh [WORK_DIR]        (default /tmp/jct-real-applets)
#
# Needs git, a JDK (javac) and the network (GitHub), so CI does not run
# it. JCT_GIT_URL overrides where repositories come from: OWNER and NAME
# in it are replaced (default https://github.com/OWNER/NAME). JCT_JAVAC
# names the javac (default javac; e.g. a JDK 25's, which still compiles
# -source 8 -target 8 -bootclasspath). The jCardSim column needs java and
# ../shared/jcardsim/jcardsim.jar (or $JCARDSIM_JAR); without them it says
# "-".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-/tmp/jct-real-applets}
url_template=${JCT_GIT_URL:-https://github.com/OWNER/NAME}
cargo build -q --bin jct || exit 1
jct=$root/target/debug/jct
javac=${JCT_JAVAC:-javac}
mkdir -p "$work"
"$jct" api-jar -o "$work/api.jar" >/dev/null || exit 1
echo "javac: $("$javac" -version 2>&1)"
# The secure-channel applet: jcardsim-harness's ISD front.
harness=
if command -v java >/dev/null && [ -f "${JCARDSIM_JAR:-$root/../shared/jcardsim/jcardsim.jar}" ] &&
  "$javac" -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/secure-channel" \
    $(find "$root/applets/secure-channel/src" -name '*.java') >"$work/secure-channel.log" 2>&1; then
  harness=$root/jcardsim-harness/bin/jcardsim-harness
fi
table="| applet | author/repo | commit | converts? | installs? | jct emu: steps passed | jCardSim: steps passed |"
table+=$'\n'"|---|---|---|---|---|---|---|"
failed=0

# steps LOG: "passed/total" of a jct test log, the install by --cap or by
# the script's own install line not counted.
steps() {
  local pass total
  pass=$(grep -E '^(ok|✓) ' "$1" | grep -vcE ' --cap|: install ')
  total=$(grep -E '^(ok|✓|FAIL|✗) ' "$1" | grep -vcE ' --cap|: install ')
  echo "$pass/$total"
}

# in_jcardsim DIR PACKAGE_AID=PACKAGE APPLET_AID=CLASS SCRIPT [jct test
# args]: the script on jCardSim behind jcardsim-harness; prints the steps
# passed.
in_jcardsim() {
  local dir=$1 package=$2 applet=$3 script=$4
  shift 4
  rm -f "$dir/jcardsim.state"
  coproc HARNESS { exec "$harness" --listen 127.0.0.1:0 --classes "$work/secure-channel" \
    --classes "$dir/classes" --state "$dir/jcardsim.state" --log "$dir/jcardsim.log" \
    --package "$package" --applet "$applet"; }
  local line addr
  read -r line <&"${HARNESS[0]}"
  addr=${line#listening }
  JCT_EMU= JCT_KEY= "$jct" test --emu "$addr" --key 404142434445464748494A4B4C4D4E4F "$@" \
    "$script" >"$dir/jcardsim-test.log" 2>&1
  local rc=$?
  kill "$HARNESS_PID" 2>/dev/null
  wait "$HARNESS_PID" 2>/dev/null
  steps "$dir/jcardsim-test.log"
  return $rc
}

# applet NAME OWNER/REPO COMMIT SOURCE_DIRS PACKAGE PACKAGE_AID APPLET_AID=CLASS [jct build options]
# (SOURCE_DIRS: one or more directories of the repository, colon-separated)
applet() {
  local name=$1 repo=$2 commit=$3 src=$4 package=$5 aid=$6 applet=$7
  shift 7
  local dir="$work/$name" url=${url_template//OWNER/${repo%%/*}}
  url=${url//NAME/${repo#*/}}
  local converts=no installs=no answered=- simulated=-
  rm -rf "$dir" && mkdir -p "$dir"
  local sources=() d dirs
  IFS=: read -ra dirs <<<"$src"
  # Only the source directories are checked out (at the commit): a mirror
  # may lack a repository's large binaries, which the build never reads.
  if git clone -q --no-checkout "$url" "$dir/src" 2>"$dir/clone.log" &&
    git -C "$dir/src" checkout -q "$commit" -- "${dirs[@]}" 2>>"$dir/clone.log"; then
    for d in "${dirs[@]}"; do
      while IFS= read -r f; do sources+=("$f"); done < <(find "$dir/src/$d" -name '*.java')
    done
    if "$javac" -g -source 8 -target 8 -nowarn -bootclasspath "$work/api.jar" -d "$dir/classes" \
      "${sources[@]}" >"$dir/javac.log" 2>&1 &&
      "$jct" build "$dir/classes" --package "$package" --package-aid "$aid" --version 1.0 \
        --applet "$applet" -o "$dir/$name.cap" "$@" >"$dir/build.log" 2>&1; then
      converts=yes
      # A script with its own install line names the CAP beside it.
      local script="$root/tests/real-applets/$name.apdu" cap=(--cap "$dir/$name.cap")
      if grep -q '^install ' "$script"; then
        cp "$script" "$dir/$name.apdu"
        script="$dir/$name.apdu" cap=()
      fi
      "$jct" test "${cap[@]}" "$script" >"$dir/test.log" 2>&1
      local rc=$?
      if grep -qE '^(ok|✓) (--cap|.*: install )' "$dir/test.log"; then installs=yes; fi
      answered=$(steps "$dir/test.log")
      [ $rc -eq 0 ] || failed=1
      if [ -n "$harness" ]; then
        simulated=$(in_jcardsim "$dir" "$aid=$package" "$applet" "$script" "${cap[@]}") || failed=1
      fi
    else
      failed=1
    fi
  else
    failed=1
  fi
  echo "$name: converts $converts, installs $installs, steps passed: jct emu $answered, jCardSim $simulated (logs in $dir)"
  table+=$'\n'"| $name | [$repo](https://github.com/$repo) | ${commit:0:7} | $converts | $installs | $answered | $simulated |"
}

source "$root/scripts/real-applets.list"

echo
echo "$table"
exit $failed
