#!/usr/bin/env bash
# The stand-in's entrypoint: what the official postgres image's
# docker-entrypoint.sh does, for the variables docker-compose.yml sets:
#   - `postgres [ARGS]` (or only -flags) as root: PGDATA made and given to
#     user postgres, then this script again as that user;
#   - as postgres, with no cluster in PGDATA yet: initdb as POSTGRES_USER
#     (default postgres) with POSTGRES_PASSWORD and POSTGRES_INITDB_ARGS;
#     network clients authenticate with POSTGRES_HOST_AUTH_METHOD (default
#     scram-sha-256; a password is required unless it is trust); then a
#     server on the socket only creates POSTGRES_DB (default POSTGRES_USER)
#     and runs /docker-entrypoint-initdb.d/*.sh and *.sql, and stops;
#   - a PGDATA that has a cluster is used as it is (a restart keeps its data);
#   - then the command, in place of this script.
set -Eeuo pipefail

log() { printf '%s\n' "$*"; }

if [[ ${1:0:1} == - ]]; then
  set -- postgres "$@"
fi

if [[ $1 != postgres ]]; then
  exec "$@"
fi

pgdata=${PGDATA:?PGDATA is not set}
if [[ $(id -u) == 0 ]]; then
  mkdir -p "$pgdata" /var/run/postgresql
  chmod 3777 /var/run/postgresql
  find "$pgdata" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 700 "$pgdata"
  # setpriv (util-linux) in place of the official image's gosu: it execs
  # in place too, so the server becomes the container's main process.
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "${BASH_SOURCE[0]}" "$@"
fi

if [[ -s $pgdata/PG_VERSION ]]; then
  log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
  exec "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
password=${POSTGRES_PASSWORD:-}
if [[ -z $password && $auth != trust ]]; then
  cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (Or POSTGRES_HOST_AUTH_METHOD=trust, which lets anyone connect
       without a password: not for anything but a throwaway test.)
MSG
  exit 1
fi

mkdir -p "$pgdata"
chmod 700 "$pgdata"
initdb_args=(-D "$pgdata" --username="$user")
# Word splitting is the interface: the official image splits it the same way.
# shellcheck disable=SC2206
initdb_args+=(${POSTGRES_INITDB_ARGS:-})
# The password through a pipe, never on a command line; the process
# substitution lasts only as long as the command it is part of.
if [[ -n $password ]]; then
  initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$password")
else
  initdb "${initdb_args[@]}"
fi

# initdb trusts the socket and the loopback addresses; everyone else comes
# over the network and shows a password.
printf '\nhost all all all %s\n' "$auth" >>"$pgdata/pg_hba.conf"

# A server on the socket only, so that no client from outside meets a
# half-made database (the health check, over TCP, waits for the real one).
export PGUSER=$user PGPASSWORD=$password
pg_ctl -D "$pgdata" -o "-c listen_addresses='' -p 5432" -w start
# On stdin, not -c: psql substitutes its variables (quoted, :'db' and
# :"db") only in what it reads.
if [[ $db != postgres ]]; then
  exists=$(psql -X -v ON_ERROR_STOP=1 -d postgres -tA --set db="$db" \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
  if [[ -z $exists ]]; then
    psql -X -v ON_ERROR_STOP=1 -d postgres --set db="$db" \
      <<<'CREATE DATABASE :"db";'
  fi
fi
for f in /docker-entrypoint-initdb.d/*; do
  case $f in
    *.sh)
      log "$0: running $f"
      if [[ -x $f ]]; then "$f"; else
        # shellcheck disable=SC1090 # the user's script
        . "$f"
      fi
      ;;
    *.sql)
      log "$0: running $f"
      psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$f"
      ;;
    "/docker-entrypoint-initdb.d/*") ;;
    *) log "$0: ignoring $f" ;;
  esac
done
pg_ctl -D "$pgdata" -m fast -w stop
unset PGPASSWORD
log "PostgreSQL init process complete; ready for start up."

exec "$@"
