#!/bin/sh
# Runs each libFuzzer target for SECONDS and fails on any crash, trapped
# property violation, leak, per-input timeout, out-of-memory or sanitizer
# report, naming the saved input.
#
#   Fuzz/run-fuzz.sh SECONDS TARGET...     (from the package root)
#
# The committed seeds (Fuzz/corpus/TARGET) are read, never written: new
# inputs go to .build-fuzz/corpus/TARGET, so repeated runs keep their
# coverage; findings go to .build-fuzz/artifacts/TARGET/, logs and
# per-run figures to .build-fuzz/logs/.
set -u

seconds=$1
shift
binary=.build-fuzz/release/grantdt-fuzz
work=.build-fuzz
# Per-input limits: no input may take 10 s or 2 GiB.
per_input_timeout=10
rss_limit_mb=2048

# Largest input libFuzzer builds per target: guest trees are a few KiB
# and 32 KiB leaves room for grown ones; configs are short text.
max_len() {
	case $1 in
	xlcfg) echo 16384 ;;
	*) echo 32768 ;;
	esac
}

# The token dictionary of a target.
dictionary() {
	case $1 in
	dtb | partial-dt) echo Fuzz/dict/devicetree.dict ;;
	xlcfg) echo Fuzz/dict/xlcfg.dict ;;
	esac
}

status=0
for target in "$@"; do
	corpus=$work/corpus/$target
	artifacts=$work/artifacts/$target/
	log=$work/logs/$target.log
	mkdir -p "$corpus" "$artifacts" "$work/logs"

	# Swift's backtracer would symbolicate a trap interactively (slow, and
	# ASan flags its memory server); libFuzzer's handler reports it instead.
	# Swift allocates often: recording 8 frames per allocation instead of
	# 30 gives about a fifth more executions and still names the caller.
	FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:malloc_context_size=8 \
		"$binary" -max_total_time="$seconds" -timeout="$per_input_timeout" \
		-rss_limit_mb="$rss_limit_mb" -max_len="$(max_len "$target")" -detect_leaks=1 \
		-print_final_stats=1 -artifact_prefix="$artifacts" -dict="$(dictionary "$target")" \
		"$corpus" "Fuzz/corpus/$target" >"$log" 2>&1
	result=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	coverage=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\) .*/\1/p')
	inputs=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
	if [ "$result" -eq 0 ]; then
		echo "fuzz $target: ${runs:-?} executions in ${seconds} s, ${inputs:-?} corpus inputs, ${coverage:-?} edges: no crash, leak or timeout"
		echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $target seconds=$seconds executions=${runs:-?} corpus=${inputs:-?} edges=${coverage:-?}" >>"$work/logs/history.txt"
		continue
	fi

	status=1
	unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	echo "================================================================"
	echo "FAILED: fuzz target $target exited with $result after ${runs:-?} executions"
	grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|Fatal error|ALARM|SUMMARY|out-of-memory|^==[0-9]+==' "$log" | head -n 20
	if [ -n "$unit" ]; then
		echo "input:     $unit"
		echo "reproduce: FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no $binary $unit"
		echo "once fixed, commit it as Fuzz/corpus/$target/$(basename "$unit") so the replay tests keep it fixed"
	fi
	echo "full log:  $log"
	echo "================================================================"
done
exit $status
