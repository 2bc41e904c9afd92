#!/usr/bin/env bash
# Signals while the sensor is in the middle of a capture (runtime.h): the
# capture arrives through a FIFO that the test keeps open, written piece by
# piece by tests/tools/signals_check.py, which says what each scenario
# checks:
#   usr1    SIGUSR1 writes a stats line while running
#   rotate  mv the output, SIGHUP: a new file (0640); old + new hold every
#           line exactly once, each whole
#   reload  SIGHUP with a broken config: one "reload failed" line, still
#           alerting; with a changed one: "reloaded", new threshold in use,
#           runtime.reloads 1
#   storm   500 SIGHUPs as fast as they go: alive, exit 0, right alerts
#   term    SIGTERM with a leak flow open and the input idle: exit 0, the
#           held alert and the final stats line written
#   grow    a capture file appended to while read: exit 0, complete packets
#           counted, at most a truncated-record warning
# usr1..term run with one worker and with runmode.workers=2. Every file the
# sensor writes goes through run_case.sh's leak check before a result is
# printed. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
bin=${1:?usage: check_signals.sh LEAKWATCH [SCENARIO:WORKERS...]}
shift
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
command -v mkfifo >/dev/null || { echo "skipped: no mkfifo"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no executable $bin"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-signals.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! mkfifo "$tmp/probe" 2>/dev/null; then
    echo "skipped: cannot make a FIFO in ${TMPDIR:-/tmp}"
    exit 77
fi
rm -f "$tmp/probe"
# The driver bounds every wait itself; this limit only catches a hung driver.
timeout -k 5 "${LW_SIGNALS_TIMEOUT:-150}" python3 "$top/tests/tools/signals_check.py" \
    "$bin" "$top" "$tmp" "$@"
rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: the signal checks timed out"
[ "$rc" -eq 0 ]
