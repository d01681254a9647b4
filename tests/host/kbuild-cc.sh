#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The compiler wrapper (scripts/kbuild-cc.c) and kernel-build's ccache
# settings: an object that embeds a file with .incbin is never served
# from the cache (ccache's depend mode would return it with the old file
# inside: checked here as the control), others are, and CCACHE_DEPEND=0
# turns depend mode off without breaking the build.
. "$TOP/tests/lib.sh"

plan 8

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CCACHE_DIR=$tmp/ccache CCACHE_DEPEND=1
unset CCACHE_NODEPEND
cd "$tmp" || exit 1
printf '\t.section .rodata, "a"\n\t.global blob_start\nblob_start:\n\t.incbin "prog"\n\t.global blob_end\nblob_end:\n' > blob.S
printf 'int f(void) { return 1; }\n' > plain.c

# embed CC...: compile blob.S (Kbuild's -Wp,-MMD, which depend mode needs)
# for two versions of prog; true when the object holds the second.
embed() {
	echo one > prog
	"$@" -Wp,-MMD,blob.d -c blob.S -o blob.o || return 2
	echo two, longer > prog
	"$@" -Wp,-MMD,blob.d -c blob.S -o blob.o || return 2
	"$HOSTBIN/blob-check" blob.o blob_start blob_end prog >/dev/null
}

embed ccache gcc; rc=$?
expect_eq control-depend-mode-is-stale 1 "$rc" \
	"control: plain ccache in depend mode must return the stale object (else this test proves nothing)"

ccache -C >/dev/null 2>&1
embed env PATH="$HOSTBIN:$PATH" kbuild-cc gcc; rc=$?
expect_eq incbin-never-cached 0 "$rc" \
	"through kbuild-cc, an object that embeds a file must hold the file as it is now"

ccache -z >/dev/null
for i in 1 2; do env PATH="$HOSTBIN:$PATH" kbuild-cc gcc -Wp,-MMD,plain.d -c plain.c -o plain.o; done
hits=$(ccache --print-stats 2>/dev/null | awk '$1 == "direct_cache_hit" {print $2}')
expect_eq others-cached 1 "$hits" "an ordinary source must still be served from ccache (direct hits after two compiles)"

# CCACHE=0 (kernel-build passes --no-ccache): ccache is not run at all,
# and a source that embeds a file is still recorded for blob-verify.
ccache -z >/dev/null
rm -f .umdlab-incbin
for i in 1 2; do env PATH="$HOSTBIN:$PATH" kbuild-cc --no-ccache gcc -Wp,-MMD,plain.d -c plain.c -o plain.o; done
calls=$(ccache --print-stats 2>/dev/null | awk '$1 ~ /^(direct_cache_hit|preprocessed_cache_hit|cache_miss)$/ {n += $2} END {print n + 0}')
expect_eq no-ccache-bypasses 0 "$calls" "kbuild-cc --no-ccache (CCACHE=0) must not go through ccache (hits and misses counted)"
echo one > prog
env PATH="$HOSTBIN:$PATH" kbuild-cc --no-ccache gcc -Wp,-MMD,blob.d -c blob.S -o blob.o
expect_eq no-ccache-records "$(realpath blob.S)" "$(cat .umdlab-incbin 2>/dev/null)" \
	"with --no-ccache too, a source that embeds a file must be recorded (.umdlab-incbin), and only it"

# kernel-build with a stand-in make that compiles with the CC it is given.
mkdir -p bin src bld
cat > bin/make <<'MK'
#!/bin/bash
for a in "$@"; do case $a in CC=*) cc=${a#CC=} ;; esac; done
echo "CCACHE_DEPEND=${CCACHE_DEPEND-unset} CCACHE_NODEPEND=${CCACHE_NODEPEND-unset}" > "$STANDIN_LOG"
echo "$cc" > "$STANDIN_LOG.cc"
$cc -c "$STANDIN_SRC" -o "$STANDIN_SRC.o"
MK
chmod +x bin/make
run_kb() { PATH="$tmp/bin:$PATH" STANDIN_LOG=$tmp/env STANDIN_SRC=$tmp/plain.c \
	"$TOP/scripts/kernel-build" "$tmp/src" "$tmp/bld" "$HOSTBIN/kbuild-progress" 2>&1; }
out=$(CCACHE_DEPEND=0 run_kb); rc=$?
expect_eq ccache-depend-0-builds 0 "$rc" "CCACHE_DEPEND=0 (depend mode off) must build: $out"
expect_eq ccache-depend-0-means-nodepend "CCACHE_DEPEND=unset CCACHE_NODEPEND=1" "$(cat env 2>/dev/null)" \
	"CCACHE_DEPEND=0 must reach ccache as CCACHE_NODEPEND=1 (ccache rejects '0' as a boolean)"
out=$(CCACHE=0 run_kb); rc=$?
expect_eq ccache-0-no-ccache "0 kbuild-cc --no-ccache gcc" "$rc $(cat env.cc 2>/dev/null)" \
	"CCACHE=0 must build, through kbuild-cc --no-ccache (the drivers' record kept, no ccache): $out"
done_testing
