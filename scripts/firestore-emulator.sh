#!/usr/bin/env bash
# Run Google's Cloud Firestore emulator on 127.0.0.1 for development and
# integration tests of the firestore sink.
#
#   scripts/firestore-emulator.sh start   start a FRESH emulator (no
#                                         documents), wait until its REST API
#                                         answers, print `export
#                                         FIRESTORE_EMULATOR_HOST=...` on
#                                         stdout (eval "$(... start)" works)
#   scripts/firestore-emulator.sh stop    stop it (exit 0 if nothing was
#                                         running); its documents are lost
#   scripts/firestore-emulator.sh status  exit 0 if running (paused or not),
#                                         3 if not
#   scripts/firestore-emulator.sh pause   freeze it (SIGSTOP): requests hang
#                                         unanswered, as with a service that
#                                         is down, and its documents are kept
#   scripts/firestore-emulator.sh resume  let it run again (SIGCONT), wait
#                                         until it answers
#
# Environment:
#   FIRESTORE_HOME_DIR       state directory (default: <repo>/.firestore,
#                            git-ignored)
#   FIRESTORE_EMULATOR_PORT  port (default 8086)
#   CLOUDSDK_ROOT_DIR        the Google Cloud SDK to take the emulator from;
#                            unset: the SDK `gcloud` belongs to, then
#                            /usr/lib/google-cloud-sdk, /usr/share/google-cloud-sdk
#
# The emulator ships with the Google Cloud SDK (Debian package
# google-cloud-cli-firestore-emulator) and needs Java. It keeps every
# document in memory only: `stop` (or a crash) loses them, which is why a
# test that takes Firestore away for a while uses pause and resume. We run
# its jar with java directly rather than `gcloud emulators firestore start`
# (a Python process in front of the JVM) or the SDK's launcher script (a
# shell that forks the JVM instead of exec'ing it), so that the pid we
# record is the JVM's, for stop, pause and resume.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

port=${FIRESTORE_EMULATOR_PORT:-8086}
state_dir=${FIRESTORE_HOME_DIR:-$repo_root/.firestore}

# shellcheck source-path=SCRIPTDIR source=lib/emulator_ctl.sh
source "$script_dir/lib/emulator_ctl.sh"

# What lib/emulator_ctl.sh needs to know.
emu_host_var=FIRESTORE_EMULATOR_HOST
emu_port_var=FIRESTORE_EMULATOR_PORT
# The JVM's class path names the emulator's jar.
emu_pattern=cloud-firestore-emulator

# Prints the emulator's jar, from the first SDK that has one.
emu_find() {
  local dir
  if dir=$(emulator_sdk_dir cloud-firestore-emulator cloud-firestore-emulator.jar); then
    echo "$dir/cloud-firestore-emulator.jar"
    return 0
  fi
  log "error: the Firestore emulator is not installed (looked in: $dir)."
  log "Install the Debian package google-cloud-cli-firestore-emulator from"
  log "Google's apt repository (see https://cloud.google.com/sdk/docs/install#deb)"
  log "and Java (sudo apt-get install -y default-jre-headless), or point"
  log "CLOUDSDK_ROOT_DIR at a Google Cloud SDK that has the cloud-firestore-emulator"
  log "component (gcloud components install cloud-firestore-emulator)."
  return 1
}

# What the SDK's cloud_firestore_emulator script runs (English messages),
# exec'd. The emulator also opens a WebSocket port of its own choosing, for
# its UI; nothing here uses it.
emu_launch() {
  exec setsid java -Duser.language=en -cp "$1" \
    com.google.cloud.datastore.emulator.firestore.CloudFirestore \
    --host=127.0.0.1 --port="$2"
}

# GET / answering does not prove that the REST API does: an empty commit
# does (and warms it up: the first request is slow).
emu_ready() {
  local answer
  emulator_answers "$1" &&
    answer=$(emulator_http "$1" POST \
      "/v1/projects/emulator-ready/databases/(default)/documents:commit" '{}') &&
    [[ $answer == "200 "* ]]
}

emu_main "start stop status pause resume" "$@"
