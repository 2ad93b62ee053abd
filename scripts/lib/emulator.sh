# shellcheck shell=bash
# What scripts/pubsub-emulator.sh and the integration tests (lib.sh) need to
# know of a running Pub/Sub emulator; sourced, never run.

# emulator_answers HOST:PORT: true once the emulator there answers `GET /`
# with 200 and "Ok". It keeps the connection open whatever the request
# says, so the reply is read by its Content-Length, with a bound on each
# read, rather than to end of file (and read whole: a close with unread
# bytes would be a reset, and a stack trace in the emulator's log).
emulator_answers() (
  local line body len=0
  exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
  printf 'GET / HTTP/1.1\r\nHost: %s\r\n\r\n' "$1" >&3
  IFS= read -r -t 5 line <&3 || exit 1
  [[ $line == "HTTP/1."?" 200 "* ]] || exit 1
  shopt -s nocasematch
  while IFS= read -r -t 5 line <&3; do
    line=${line%$'\r'}
    [[ -n $line ]] || break
    if [[ $line =~ ^content-length:\ *([0-9]+)$ ]]; then
      len=${BASH_REMATCH[1]}
    fi
  done
  ((len > 0 && len < 100)) || exit 1
  IFS= read -r -t 5 -N "$len" body <&3 || exit 1
  [[ ${body%$'\n'} == Ok ]]
) 2>/dev/null
