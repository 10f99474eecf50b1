#!/bin/sh
# dtc as the oracle over a corpus: for every blob grantdt accepts, the DTS
# that `grantdt decompile` prints must compile (dtc -f) to the same tree
# as the blob, compared as dtc's own decompilation of both blobs.
#
#   Fuzz/dtc-oracle.sh GRANTDT BLOB...     (`make fuzz-oracle`)
#
# Blobs that dtc 1.6.1 itself cannot decompile (it aborts on some
# cell-count properties of the wrong length) are counted, not judged.
set -u
grantdt=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
same=0 refused=0 dtc_failed=0 different=0
for blob in "$@"; do
	if ! "$grantdt" decompile "$blob" -o "$work/ours.dts" 2>/dev/null; then
		refused=$((refused + 1))
		continue
	fi
	if ! dtc -q -f -I dtb -O dts -o "$work/expected.dts" "$blob" >/dev/null 2>&1; then
		dtc_failed=$((dtc_failed + 1))
		continue
	fi
	if dtc -q -f -I dts -O dtb -o "$work/ours.dtb" "$work/ours.dts" 2>"$work/errors" &&
		dtc -q -f -I dtb -O dts -o "$work/actual.dts" "$work/ours.dtb" 2>/dev/null &&
		cmp -s "$work/expected.dts" "$work/actual.dts"; then
		same=$((same + 1))
	else
		different=$((different + 1))
		echo "DIFFERENT: $blob $(head -n 1 "$work/errors")"
	fi
done
echo "dtc oracle: $same same tree, $different different, $refused refused by grantdt, $dtc_failed dtc could not decompile"
[ "$different" -eq 0 ]
