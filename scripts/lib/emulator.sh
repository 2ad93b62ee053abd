# shellcheck shell=bash
# What scripts/pubsub-emulator.sh, scripts/compose-images.sh and the
# integration tests (lib.sh) need to know of the Pub/Sub emulator: where it
# is installed, and whether a running one answers; sourced, never run.

# emulator_sdk_dir: prints the platform/pubsub-emulator directory of the
# first Cloud SDK that has the emulator (CLOUDSDK_ROOT_DIR, the SDK of the
# gcloud on the PATH, then Debian's paths). Without one, prints the SDK
# roots it looked in, on one line, and returns 1.
emulator_sdk_dir() {
  local roots=() root gcloud_path
  [[ -z ${CLOUDSDK_ROOT_DIR:-} ]] || roots+=("$CLOUDSDK_ROOT_DIR")
  if gcloud_path=$(command -v gcloud); then
    # <sdk>/bin/gcloud, usually through a symlink in /usr/bin.
    gcloud_path=$(readlink -f "$gcloud_path")
    roots+=("$(dirname "$(dirname "$gcloud_path")")")
  fi
  roots+=(/usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk)
  for root in "${roots[@]}"; do
    if [[ -x $root/platform/pubsub-emulator/bin/cloud-pubsub-emulator ]]; then
      echo "$root/platform/pubsub-emulator"
      return 0
    fi
  done
  echo "${roots[*]}"
  return 1
}

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
