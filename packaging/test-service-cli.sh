#!/usr/bin/env bash
# What operators run around the daemons, against a build's bin/ directory:
# qbsupervisor/qbworker --check-config (0 when valid, 2 with the error) and the
# bash completion's words for qb and qbsub (packaging/completion/).
#   packaging/test-service-cli.sh BUILD/bin
set -uo pipefail
bin=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT COMMAND...
  local name=$1 want=$2 text=$3; shift 3
  local out status
  out=$("$@" 2>&1); status=$?
  if [ "$status" -ne "$want" ] || ! grep -q -- "$text" <<<"$out"; then
    echo "FAIL $name: exit $status (want $want), output: $out"; failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

printf 'retention_days: 30\nheartbeat_interval: 2\n' > "$tmp/good.yaml"
printf 'retention_days: -1\n' > "$tmp/negative.yaml"
printf 'preemption: sometimes\n' > "$tmp/bad.yaml"
printf 'run_as: nobody\n' > "$tmp/worker-bad.yaml"
printf 'slots: 2\n' > "$tmp/worker-good.yaml"
check "supervisor good config" 0 "good.yaml is valid" "$bin/qbsupervisor" --check-config --config "$tmp/good.yaml"
check "supervisor negative retention" 2 "retention_days must not be negative" \
  "$bin/qbsupervisor" --check-config --config "$tmp/negative.yaml"
check "supervisor bad value" 2 "preemption must be" "$bin/qbsupervisor" --check-config --config "$tmp/bad.yaml"
check "supervisor missing file" 2 "missing.yaml" "$bin/qbsupervisor" --check-config --config "$tmp/missing.yaml"
check "supervisor bad log level" 2 "unknown log level" \
  "$bin/qbsupervisor" --check-config --config "$tmp/good.yaml" --log-level loud
check "worker good config" 0 "worker-good.yaml is valid" "$bin/qbworker" --check-config --config "$tmp/worker-good.yaml"
check "worker bad config" 2 "run_as must be" "$bin/qbworker" --check-config --config "$tmp/worker-bad.yaml"

# The completion, as bash calls it when TAB is pressed.
complete_words() {
  bash -c 'source "$1"; shift; PATH=$0:$PATH; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _qube_complete
           echo "${COMPREPLY[*]}"' "$bin" "$here/completion/qube-completion.bash" "$@"
}
check "completion: qb subcommands" 0 "^jobs$" complete_words qb jo
check "completion: qb jobs options" 0 "--status" complete_words qb jobs --st
check "completion: qbsub options" 0 "--priority" complete_words qbsub --pri
check "completion: qb links" 0 "--user" complete_words qbjobs --us

[ $failures -eq 0 ] || { echo "$failures failed"; exit 1; }
