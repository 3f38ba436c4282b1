#!/bin/bash
# One database and one login role per service (DESIGN.md: no role can read
# another service's database). Runs once, on an empty data volume, from the
# postgres image's entrypoint; passwords come from the container environment.
set -Eeuo pipefail

for service in auth social messaging ledger marketplace; do
    password_var="${service^^}_DB_PASSWORD"
    echo "postgres-init: database and role $service"
    # psql variables (:"name" / :'literal') quote the identifiers and the password.
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --no-psqlrc \
         -v service="$service" -v password="${!password_var:?$password_var is not set}" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service";
-- PostgreSQL lets every role connect to every database by default.
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
SQL
done

# Nor may service roles wander into the maintenance databases.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --no-psqlrc <<'SQL'
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL
