#!/usr/bin/env bash
# Real open-source applets in jct emu: clones each (at a pinned commit),
# compiles it with javac against `jct api-jar`, converts it with
# `jct build`, and runs tests/real-applets/<name>.apdu on a fresh emulated
# card with `jct test --cap` (the scripts are jct's, written from each
# applet's documented commands; the applets' sources are never part of
# jct). Prints one result line per applet and a Markdown table for the
# README.
#
#   scripts/real-applets.sh [WORK_DIR]        (default /tmp/jct-real-applets)
#
# Needs git, a JDK (javac) and the network (GitHub), so CI does not run
# it. JCT_GIT_URL overrides where repositories come from: OWNER and NAME
# in it are replaced (default https://github.com/OWNER/NAME).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${1:-/tmp/jct-real-applets}
url_template=${JCT_GIT_URL:-https://github.com/OWNER/NAME}
cargo build -q --bin jct || exit 1
jct=$root/target/debug/jct
mkdir -p "$work"
"$jct" api-jar -o "$work/api.jar" >/dev/null || exit 1
table="| applet | author/repo | commit | converts? | installs? | commands answered |"
table+=$'\n'"|---|---|---|---|---|---|"
failed=0

# applet NAME OWNER/REPO COMMIT SOURCE_DIR PACKAGE PACKAGE_AID APPLET_AID=CLASS [jct build options]
applet() {
  local name=$1 repo=$2 commit=$3 src=$4 package=$5 aid=$6 applet=$7
  shift 7
  local dir="$work/$name" url=${url_template//OWNER/${repo%%/*}}
  url=${url//NAME/${repo#*/}}
  local converts=no installs=no answered=-
  rm -rf "$dir" && mkdir -p "$dir"
  if git clone -q "$url" "$dir/src" 2>"$dir/clone.log" &&
    git -C "$dir/src" checkout -q "$commit" 2>>"$dir/clone.log"; then
    if javac -g -source 8 -target 8 -nowarn -bootclasspath "$work/api.jar" -d "$dir/classes" \
      $(find "$dir/src/$src" -name '*.java') >"$dir/javac.log" 2>&1 &&
      "$jct" build "$dir/classes" --package "$package" --package-aid "$aid" --version 1.0 \
        --applet "$applet" -o "$dir/$name.cap" "$@" >"$dir/build.log" 2>&1; then
      converts=yes
      "$jct" test --cap "$dir/$name.cap" "$root/tests/real-applets/$name.apdu" >"$dir/test.log" 2>&1
      local rc=$?
      # --cap loads and installs before the script's first step.
      if grep -qE '^(ok|✓) --cap' "$dir/test.log"; then installs=yes; fi
      local pass total
      pass=$(grep -E '^(ok|✓) ' "$dir/test.log" | grep -vc -- ' --cap')
      total=$(grep -E '^(ok|✓|FAIL|✗) ' "$dir/test.log" | grep -vc -- ' --cap')
      answered="$pass/$total"
      [ $rc -eq 0 ] || failed=1
    else
      failed=1
    fi
  else
    failed=1
  fi
  echo "$name: converts $converts, installs $installs, steps passed $answered (logs in $dir)"
  table+=$'\n'"| $name | [$repo](https://github.com/$repo) | ${commit:0:7} | $converts | $installs | $answered |"
}

applet ndef-full OpenJavaCard/openjavacard-ndef c036bab36a9ea85f01dcb812405ee870d0da20aa \
  applet-full/src org.openjavacard.ndef.full D27600008501 \
  D2760000850101=org.openjavacard.ndef.full.NdefApplet
applet coolndefthing non-bin/coolNDEFthing ca1f20fb09d219d24d2a9e84b4f7e156a32d73f5 \
  src au.net.jacka.coolNDEFthing D27600008502 \
  D2760000850201=au.net.jacka.coolNDEFthing.NdefApplet
applet calculator philatelist05/javacard-calculator 8369d77464513d16b2ccb2e5241e9e017a05958e \
  src/main/java at.ac.tuwien.mnsa.javacard F00000AC01 \
  F00000AC0101=at.ac.tuwien.mnsa.javacard.Calculator
applet crocs-helloworld ph4r05/javacard-gradle-template cf26017cfeec1074d9b7f16ca509dda661936b75 \
  applet/src/main/java/applet applet F00000AC02 F00000AC0201=applet.HelloWorldApplet
applet bmartel-helloworld bertrandmartel/javacard-gradle-plugin fc72e078e9c4a3926336713848d091afb55f6fc6 \
  test/src/main/java fr.bmartel.javacard 010203040506070809 \
  0102030405060708090102=fr.bmartel.javacard.HelloWorld

echo
echo "$table"
exit $failed
