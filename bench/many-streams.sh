#!/usr/bin/env bash
# Raises the file-descriptor limit as far as this machine allows, then runs bench/many-streams.mjs.
# 50,000 streams need about 50,300 descriptors in the server process (and a few thousand per client
# process); a container without CAP_SYS_RESOURCE cannot go past its hard limit, and the counts that
# do not fit are reported as skipped rather than measured wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
wanted=120000
if ! ulimit -n "$wanted" 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)"
fi
echo "[many-streams] file descriptor limit: $(ulimit -n)" >&2
FD_LIMIT="$(ulimit -n)" exec node bench/many-streams.mjs "$@"
