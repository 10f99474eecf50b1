#!/bin/sh
# The end of `make test`: one line per stage (result, time, its test
# runner's closing line) and, for every stage that failed, the lines of its
# log that say what failed. CI shows only the tail of the output, so this
# is what a reader sees first.
#
#   Tests/report-stages.sh DIR STAGE...    (DIR holds test-STAGE.status and .log)
set -u

dir=$1
shift
# Test failures (Swift Testing, XCTest), compiler errors, traps, fuzz
# findings (run-fuzz.sh) and sanitizer reports.
failure_lines='✘|error:|Fatal error|Test Case .* failed|FAILED|ERROR: |WARNING: ThreadSanitizer|SUMMARY: |^input:|^reproduce:|full log:'

failed=""
summary=""
newline='
'
for stage in "$@"; do
	log=$dir/test-$stage.log
	# "EXIT SECONDS"; a stage that left no status did not finish.
	status=unfinished seconds=?
	[ -r "$dir/test-$stage.status" ] && read -r status seconds <"$dir/test-$stage.status"
	closing=$(grep -E 'Test run with [0-9]+ tests?|^fuzz [a-z-]+: ' "$log" 2>/dev/null | sed 's/^[^A-Za-z]*//; s/\.$//' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
	if [ "$status" = 0 ]; then
		summary="$summary$stage: passed in $seconds s${closing:+ ($closing)}$newline"
		continue
	fi
	failed="$failed $stage"
	summary="$summary$stage: FAILED (exit status: $status) after $seconds s, full log: $log$newline"
	echo "== $stage failed: what its log says (full log: $log) =="
	grep -E "$failure_lines" "$log" 2>/dev/null | grep -v ' started' | tail -n 40
done

echo "== make test =="
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "make test failed:$failed"
	exit 1
fi
