#!/usr/bin/env bash
# End-to-end demo (`make demo`): a throw-away MariaDB as the import target, TPC-H at scale 0.01
# dumped by mydumper (made by tests/support/tpch.py, as the test suite makes its sample), a
# throw-away Airflow home, and the example DAG tidb_lightning_daily_refresh run with
# `airflow dags test`. Everything lives in one temporary directory, removed at the end
# (set KEEP_DEMO=1 to keep it and the server running, to look around afterwards).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$REPO/.venv/bin}"
LOGICAL_DATE="${DEMO_DATE:-2025-01-01}"
WORK="$(mktemp -d -t tidb-lightning-demo-XXXXXX)"
SERVER_DIR="$WORK/mariadb"

say() { printf '\n==> %s\n' "$*"; }
# The helpers are modules of the repository's tests package: run them from the repository root.
cd "$REPO"

cleanup() {
    if [[ "${KEEP_DEMO:-0}" == 1 ]]; then
        say "KEEP_DEMO=1: server still running; stop it with: cd $REPO && $VENV_BIN/python -m tests.support.throwaway_mariadb stop $SERVER_DIR"
        return
    fi
    "$VENV_BIN/python" -m tests.support.throwaway_mariadb stop "$SERVER_DIR" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say "Starting a throw-away MariaDB in $SERVER_DIR"
PORT="$("$VENV_BIN/python" -m tests.support.throwaway_mariadb start "$SERVER_DIR")"
sql() { mariadb --host=127.0.0.1 --port="$PORT" --user=root --batch "$@"; }
echo "listening on 127.0.0.1:$PORT (user root, no password)"

say "Making TPC-H at scale 0.01: tpchgen-cli, loaded into this server and dumped by mydumper"
"$VENV_BIN/python" -m tests.support.tpch "$WORK/tpch" --port "$PORT"
DUMP="$WORK/tpch/mydumper-sql"
DATABASE=tpch  # the source database was dropped after the dump: the import recreates it

say "Preparing a throw-away Airflow home in $WORK/airflow"
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/example_dags"
export TIDB_LIGHTNING_DEMO_DUMP_DIR="$DUMP"
export TIDB_LIGHTNING_DEMO_CONN_ID=tidb_default
"$VENV_BIN/airflow" db migrate >"$WORK/airflow-migrate.log" 2>&1 \
    || { cat "$WORK/airflow-migrate.log"; exit 1; }
"$VENV_BIN/airflow" connections add tidb_default --conn-type tidb --conn-host 127.0.0.1 \
    --conn-port "$PORT" --conn-login root >/dev/null

say "Running tidb_lightning_daily_refresh for $LOGICAL_DATE (log: $WORK/dags-test.log)"
if ! "$VENV_BIN/airflow" dags test tidb_lightning_daily_refresh "$LOGICAL_DATE" >"$WORK/dags-test.log" 2>&1; then
    tail -n 60 "$WORK/dags-test.log"
    exit 1
fi
# The report task logs one line per table and the total; show them without the log prefix.
grep -E "Imported \`|Total: [0-9]+ rows" "$WORK/dags-test.log" | sed -E 's/^.*\] (Imported|Total)/\1/; s/ +\[.*$//' || true

say "Imported data: 127.0.0.1:$PORT, database $DATABASE"
for table in $(sql --skip-column-names -e "SHOW TABLES FROM \`$DATABASE\`"); do
    printf '  %-12s %8s rows\n' "$table" "$(sql --skip-column-names -e "SELECT COUNT(*) FROM \`$DATABASE\`.\`$table\`")"
done
if [[ "${KEEP_DEMO:-0}" == 1 ]]; then
    echo "Connect with: mariadb --host=127.0.0.1 --port=$PORT --user=root $DATABASE"
else
    echo "(the server and $WORK are removed now; run with KEEP_DEMO=1 to keep them)"
fi
