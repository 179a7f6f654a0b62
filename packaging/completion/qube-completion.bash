# bash completion for qb (and its links qbjobs, qbshow ...) and qbsub.
# The words come from the commands' own --help (CLI11) when TAB is pressed, so
# they always match the installed version: qb's subcommands, then each
# subcommand's options. Installed as share/bash-completion/completions/qb and
# .../qbsub (the same file), loaded by bash-completion on first use.

# Options (--word) and, listed under "Subcommands:", subcommand names in the
# help of the command line "$@".
_qube_help_words() {
  "$@" --help 2>/dev/null | awk '
    /^Subcommands:/ { subs = 1; next }
    /^[^ ]/ { subs = 0 }
    subs && /^  [a-z]/ { print $1; next }
    { line = $0
      while (match(line, /--[A-Za-z0-9_][A-Za-z0-9_-]*/)) {
        print substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH) } }'
}

_qube_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[0]} sub="" i w
  local -a words
  if [ "${cmd##*/}" = qb ]; then
    # The subcommand: the first word that is one of qb's subcommands.
    local subs
    subs=$(_qube_help_words "$cmd" | grep -v '^--')
    for ((i = 1; i < COMP_CWORD; i++)); do
      for w in $subs; do [ "${COMP_WORDS[i]}" = "$w" ] && { sub=$w; break 2; }; done
    done
    if [ -z "$sub" ] && [[ $cur != -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t words < <(_qube_help_words "$cmd" $sub | grep '^--')
    mapfile -t COMPREPLY < <(compgen -W "${words[*]}" -- "$cur")
    return
  fi
  # Values and qbsub's command: files, as bash would.
  compopt -o default 2>/dev/null
  COMPREPLY=()
}

complete -F _qube_complete qb qbsub qbjobs qbshow qbout qberr qbkill qbretry qbremove qbblock qbunblock \
  qbwait qbhosts qbping qbmodify qbsuspend qbresume qbinterrupt qbrequeue qbhistory qbcomplete qblock qbunlock
