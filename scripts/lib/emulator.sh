# shellcheck shell=bash
# What scripts/pubsub-emulator.sh, scripts/firestore-emulator.sh,
# scripts/compose-images.sh and the integration tests (lib.sh) need to know
# of the Cloud SDK's emulators: where one is installed, and whether a
# running one answers; sourced, never run.

# emulator_sdk_dir COMPONENT FILE: prints the platform/COMPONENT directory
# of the first Cloud SDK that has the emulator, found by its FILE in there
# (CLOUDSDK_ROOT_DIR, the SDK of the gcloud on the PATH, then Debian's
# paths): pubsub-emulator bin/cloud-pubsub-emulator for Pub/Sub,
# cloud-firestore-emulator cloud-firestore-emulator.jar for Firestore.
# Without one, prints the SDK roots it looked in, on one line, and returns 1.
emulator_sdk_dir() {
  local component=$1 file=$2 roots=() root gcloud_path
  [[ -z ${CLOUDSDK_ROOT_DIR:-} ]] || roots+=("$CLOUDSDK_ROOT_DIR")
  if gcloud_path=$(command -v gcloud); then
    # <sdk>/bin/gcloud, usually through a symlink in /usr/bin.
    gcloud_path=$(readlink -f "$gcloud_path")
    roots+=("$(dirname "$(dirname "$gcloud_path")")")
  fi
  roots+=(/usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk)
  for root in "${roots[@]}"; do
    if [[ -f $root/platform/$component/$file ]]; then
      echo "$root/platform/$component"
      return 0
    fi
  done
  echo "${roots[*]}"
  return 1
}

# emulator_http HOST:PORT METHOD PATH [JSON]: one request to the emulator
# there, printing the answer's status and body ("200 Ok"); fails when none
# arrives. The emulators keep the connection open whatever the request
# says, so the reply is read by its Content-Length, with a bound on each
# read, rather than to end of file (and read whole: a close with unread
# bytes would be a reset, and a stack trace in the emulator's log).
emulator_http() (
  local line body='' len=0 status
  exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
  if (($# > 3)); then
    printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
      "$2" "$3" "$1" "${#4}" "$4" >&3
  else
    printf '%s %s HTTP/1.1\r\nHost: %s\r\n\r\n' "$2" "$3" "$1" >&3
  fi
  IFS= read -r -t 5 line <&3 || exit 1
  [[ $line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] || exit 1
  status=${BASH_REMATCH[1]}
  shopt -s nocasematch
  while IFS= read -r -t 5 line <&3; do
    line=${line%$'\r'}
    [[ -n $line ]] || break
    if [[ $line =~ ^content-length:\ *([0-9]+)$ ]]; then
      len=${BASH_REMATCH[1]}
    fi
  done
  ((len < 65536)) || exit 1
  if ((len > 0)); then
    IFS= read -r -t 5 -N "$len" body <&3 || exit 1
  fi
  printf '%s %s\n' "$status" "$body"
) 2>/dev/null

# emulator_answers HOST:PORT: true once the emulator there answers `GET /`
# with 200 and "Ok" (Pub/Sub's and Firestore's alike).
emulator_answers() {
  local answer
  answer=$(emulator_http "$1" GET /) && [[ $answer == "200 Ok" ]]
}
