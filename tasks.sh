#!/usr/bin/env bash
# One entry point for people and CI. Every command first sets up what it needs (idempotent,
# skipped when requirements are unchanged), so on a fresh machine with Python 3 it is all you run.
#
#   ./tasks.sh render [stack] [--out DIR]   render a stack offline (default: dev) into build/render/<stack>
#   ./tasks.sh test [pytest args]           lint, format check, tests with the coverage gate
#   ./tasks.sh bench                        render/import/test-suite timings for the README
#   ./tasks.sh fmt                          apply ruff fixes and formatting
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=venv                 # the folder Pulumi.yaml names: `pulumi up` reuses this environment
CHECKOV_VENV=.tools/checkov

# $1 venv folder, rest: requirements files. Reinstalls only when their content changes.
ensure_venv() {
  local venv=$1; shift
  local want; want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
  fi
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "setting up $venv ($*)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    local args=(); for f in "$@"; do args+=(-r "$f"); done
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2
    echo "$want" > "$venv/.requirements.sha256"
  fi
}

program_env() { ensure_venv "$VENV" requirements.txt requirements-dev.txt; }

case "${1:-}" in
  render)
    program_env
    stack=${2:-dev}
    exec "$VENV/bin/python" -m offline.render --stack "$stack" "${@:3}"
    ;;
  test)
    program_env
    ensure_venv "$CHECKOV_VENV" requirements-checkov.txt
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$VENV/bin/python" -m pytest "${@:2}"
    ;;
  bench)
    program_env
    ensure_venv "$CHECKOV_VENV" requirements-checkov.txt
    exec "$VENV/bin/python" -m offline.bench "${@:2}"
    ;;
  fmt)
    program_env
    "$VENV/bin/ruff" check --fix .
    exec "$VENV/bin/ruff" format .
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
