#!/usr/bin/env bash
# jct build on generated inputs, to show time and memory grow linearly with
# the code (issue 13 item 8): one class whose single method is N statements
# of byte-array arithmetic (javac output of 8 to 64 kB of JVM code; Java
# Card allows 32767 bytes of code per method, so the largest sizes are
# refused after the whole method was typed and translated — the refusal is
# timed too), and packages of 50 to 200 classes. Each conversion is the
# whole `jct build` process, timed by hyperfine; peak memory (max RSS) by
# GNU time.
# Usage: scripts/bench-convert-scaling.sh [RUNS]   (default 10)
# Uses target/release/jct (built if missing; $JCT for another); needs a JDK,
# python3, hyperfine and GNU time (Debian packages hyperfine, time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
jct=${JCT:-target/release/jct}
[ -x "$jct" ] || cargo build --release --bin jct
for tool in hyperfine python3 javac /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-convert-scaling: needs $tool" >&2; exit 2; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$jct" api-jar -o "$work/api.jar" >/dev/null

# One method of N statements: package big<N>.
method() {
  python3 - "$1" "$work/src/big$1/Big.java" <<'PY'
import os, sys
n, path = int(sys.argv[1]), sys.argv[2]
os.makedirs(os.path.dirname(path), exist_ok=True)
body = "\n".join(
    f"        b[(short) ({k} & 7)] += (byte) (b[(short) ({k + 1} & 7)] ^ {k % 100});"
    for k in range(n))
with open(path, "w") as f:
    f.write(f"package big{n};\npublic class Big {{\n    static byte[] b = new byte[8];\n"
            f"    public static void m() {{\n{body}\n    }}\n}}\n")
PY
}

# A package of N small classes: package many<N>.
classes() {
  python3 - "$1" "$work/src/many$1" <<'PY'
import os, sys
n, d = int(sys.argv[1]), sys.argv[2]
os.makedirs(d, exist_ok=True)
for i in range(n):
    with open(f"{d}/C{i}.java", "w") as f:
        f.write(f"""package many{n};
public class C{i} {{
    short f; byte[] a = new byte[4];
    public short get(short x) {{ return (short) (f + x + a[(short) (x & 3)]); }}
    public static short s(short x) {{ return (short) (x * {i % 50}); }}
    void set(short v) {{ f = v; if (v > 3) a[0] = (byte) v; else a[1] = (byte) -v; }}
}}
""")
PY
}

cmds=()
row() { # name, what the input is, command
  local rss
  rss=$( (/usr/bin/time -f "%M" $3 >/dev/null 2>"$work/time.err" || true); tail -1 "$work/time.err")
  printf '%-28s %-28s max RSS %6s KB\n' "$1" "$2" "$rss"
  cmds+=(-n "$1" "$3")
}
for n in 400 800 1600 3000; do
  method "$n"
  javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/c-big$n" "$work/src/big$n/Big.java"
  bytes=$(stat -c %s "$work/c-big$n/big$n/Big.class")
  row "method of $n statements" "$bytes-byte class file" \
    "$jct build $work/c-big$n --package big$n --package-aid F0000000AB01 --version 1.0 -o $work/big$n.cap"
done
for n in 50 100 200; do
  classes "$n"
  javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/c-many$n" "$work/src/many$n"/*.java
  bytes=$(du -cb "$work/c-many$n"/many$n/*.class | tail -1 | cut -f1)
  row "package of $n classes" "$bytes bytes of class files" \
    "$jct build $work/c-many$n --package many$n --package-aid F0000000AB02 --version 1.0 -o $work/many$n.cap"
done
# -i: the largest method is refused (exit status 1) after its translation.
hyperfine -N -i --warmup 2 --runs "$runs" "${cmds[@]}"
