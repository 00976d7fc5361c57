#!/usr/bin/env bash
# The test suite as six pytest processes, two at a time (what `make test` runs).
#
# One process compiling all of the suite's kernels ran into the kernel's memory-map limit
# (vm.max_map_count 65530) late in its run and crashed inside XLA; so did the Norse and pattern
# tests in one process (2026-11-30, 63k mappings; each alone ends near 1,000); six processes
# stay under it. Compilation is single-threaded, so two processes at a time keep both cores
# busy; they share kernels through the persistent compilation cache. Exit status: 1 if any
# group failed.
set -u
PY=${PY:-.venv/bin/python}
logs=$(mktemp -d)
group() {  # group NAME FILES...: run, log, record the exit status
    local name=$1; shift
    "$PY" -m pytest -q --durations=5 "$@" > "$logs/$name.log" 2>&1
    echo $? > "$logs/$name.rc"
}
# two lanes of about equal length on an empty cache (each group's time: its log's last line)
( group n tests/test_n*.py; group o-p tests/test_[o-p]*.py; group sh-st tests/test_s[h-z]*.py ) &
group a-b tests/test_[a-b]*.py
group c-m tests/test_[c-m]*.py
group q-se tests/test_[q-r]*.py tests/test_se*.py
wait
status=0
for name in a-b c-m n o-p q-se sh-st; do
    echo "== group $name"
    cat "$logs/$name.log"
    [ "$(cat "$logs/$name.rc")" = 0 ] || status=1
done
rm -rf "$logs"
exit $status
