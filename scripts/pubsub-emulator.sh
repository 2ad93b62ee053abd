#!/usr/bin/env bash
# Run Google's Cloud Pub/Sub emulator on 127.0.0.1 for development and
# integration tests.
#
#   scripts/pubsub-emulator.sh start    start a FRESH emulator (no topics, no
#                                       subscriptions), wait until it answers,
#                                       print `export PUBSUB_EMULATOR_HOST=...`
#                                       on stdout (eval "$(... start)" works)
#   scripts/pubsub-emulator.sh stop     stop it (exit 0 if nothing was running)
#   scripts/pubsub-emulator.sh status   exit 0 if running, 3 if not
#
# Environment:
#   PUBSUB_HOME_DIR       state directory (default: <repo>/.pubsub, git-ignored)
#   PUBSUB_EMULATOR_PORT  port (default 8085, the emulator's usual one)
#   CLOUDSDK_ROOT_DIR     the Google Cloud SDK to take the emulator from;
#                         unset: the SDK `gcloud` belongs to, then
#                         /usr/lib/google-cloud-sdk, /usr/share/google-cloud-sdk
#
# The emulator ships with the Google Cloud SDK (Debian package
# google-cloud-cli-pubsub-emulator) and needs Java. We run its own launcher
# rather than `gcloud beta emulators pubsub start`, which puts a Python
# process in front of a child JVM that a stop would have to hunt down.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

port=${PUBSUB_EMULATOR_PORT:-8085}
state_dir=${PUBSUB_HOME_DIR:-$repo_root/.pubsub}

# shellcheck source-path=SCRIPTDIR source=lib/emulator_ctl.sh
source "$script_dir/lib/emulator_ctl.sh"

# What lib/emulator_ctl.sh needs to know.
emu_host_var=PUBSUB_EMULATOR_HOST
emu_port_var=PUBSUB_EMULATOR_PORT
# The launcher execs the JVM, whose command line names the emulator's jar.
emu_pattern=cloud-pubsub-emulator

# Prints the emulator's launcher, from the first SDK that has one.
emu_find() {
  local dir
  if dir=$(emulator_sdk_dir pubsub-emulator bin/cloud-pubsub-emulator); then
    echo "$dir/bin/cloud-pubsub-emulator"
    return 0
  fi
  log "error: the Pub/Sub emulator is not installed (looked in: $dir)."
  log "Install the Debian package google-cloud-cli-pubsub-emulator from Google's"
  log "apt repository (see https://cloud.google.com/sdk/docs/install#deb) and"
  log "Java (sudo apt-get install -y default-jre-headless), or point"
  log "CLOUDSDK_ROOT_DIR at a Google Cloud SDK that has the pubsub-emulator"
  log "component (gcloud components install pubsub-emulator)."
  return 1
}

emu_launch() {
  exec setsid "$1" --host=127.0.0.1 --port="$2"
}

emu_ready() { emulator_answers "$1"; }

emu_main "start stop status" "$@"
