#!/bin/sh
# Creates the secrets the Compose examples mount, in ./secrets beside this script, as random values.
# Run it once before `docker compose up --build` (docker-compose.yml or compose-scale.yml); it never
# overwrites a file that exists, so running it again keeps the database readable.
#
#   verifyd_secret        VERIFYD_SECRET: seals codes and numbers (48 random bytes, base64)
#   verifyd_admin_key     VERIFYD_ADMIN_KEY: the admin API key (vfd_ + 64 hex digits)
#   http_channel_secret   VERIFYD_HTTP_CHANNEL_SECRET: signs the sends to your SMS gateway (give it the same)
#   login_verifyd_key     empty: put the login service's own API key here (see docker-compose.yml)
#   postgres_password     compose-scale.yml: the PostgreSQL password
#   database_url          compose-scale.yml: DATABASE_URL with that password
#
# The folder is private (0700); the files are 0644 because Compose mounts them as they are and the
# containers read them as their own users (verifyd runs as uid 10001).
set -eu

dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"

random_base64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# write NAME VALUE: creates secrets/NAME holding VALUE, unless it exists.
write() {
  if [ -e "$dir/$1" ]; then
    echo "kept    secrets/$1"
    return
  fi
  printf '%s' "$2" > "$dir/$1"
  chmod 644 "$dir/$1"
  echo "created secrets/$1"
}

write verifyd_secret "$(random_base64 48)"
write verifyd_admin_key "vfd_$(random_hex 32)"
write http_channel_secret "whsec_$(random_base64 32)"
write login_verifyd_key ""
write postgres_password "$(random_hex 24)"
write database_url "postgres://verifyd:$(cat "$dir/postgres_password")@postgres:5432/verifyd"
