#!/usr/bin/env bash
# One entry point for people and CI. Every command first sets up what it needs (idempotent,
# skipped when requirements are unchanged), so on a fresh machine with Python 3 it is all you run.
#
#   ./tasks.sh render [stack] [--out DIR]   render a stack offline (default: dev) into build/render/<stack>
#   ./tasks.sh compare [stack] --live DIR   compare the render with exported live objects (default: prod)
#   ./tasks.sh diff [stack...] [--base REV] [--head REV] [--stacks A B] [--format markdown] [--exit-code]
#                                           what a change does to each stack, offline (default: merge base with main -> working tree)
#   ./tasks.sh policy [stack...]            render the stacks (default: all) and run the CrossGuard policy pack over them
#   ./tasks.sh rehearse [stack] [--at DATE] the stack's `pulumi up`s against an AWS API emulator (default: dev, now)
#   ./tasks.sh capacity simulate|replay|rightsize|pr [stack] ...   HPA dry run, replay, rightsizing, PR comparison (docs/capacity.md)
#   ./tasks.sh test [pytest args]           lint, format and type checks, tests with the coverage gate
#   ./tasks.sh bench                        render/import/test-suite timings (docs/performance.md)
#   ./tasks.sh docs [--check]               regenerate the rotation policy and docs/settings.md (--check: name each stale one)
#   ./tasks.sh fmt                          apply ruff fixes and formatting
#   ./tasks.sh mutate [module...]           mutation testing (cosmic-ray): kill rate per module, survivors
#   ./tasks.sh help                         this list
set -euo pipefail
cd "$(dirname "$0")"

# A PYTHON set by the caller asks for that interpreter: a venv made with another one is rebuilt
# (see ensure_venv). Unset, the venvs already there are kept, whatever made them.
PYTHON_REQUESTED=${PYTHON:-}
PYTHON=${PYTHON:-python3}
VENV=venv                 # the folder Pulumi.yaml names: `pulumi up` reuses this environment
CHECKOV_VENV=.tools/checkov
POLICY_VENV=policy/venv   # the policy pack's own (PulumiPolicy.yaml names it): pulumi-policy pins an older protobuf

# The program needs Python >= 3.11; say so plainly instead of failing later with a SyntaxError.
# Also learns, once per run, what $PYTHON is in the terms venv writes into pyvenv.cfg: its version
# and `executable`, the interpreter's real path (so a pyenv shim or a wrapper script counts as the
# interpreter it starts). Only called when a venv is to be made or PYTHON was set: a warm run
# needs no $PYTHON at all.
PYTHON_VERSION='' PYTHON_EXECUTABLE=''
check_python() {
  [ -n "$PYTHON_EXECUTABLE" ] && return 0
  local found
  if ! found=$("$PYTHON" -c 'import os, sys
if sys.version_info < (3, 11):
    sys.exit(1)
print("%d.%d.%d" % sys.version_info[:3], os.path.realpath(sys.executable))' 2>/dev/null); then
    echo "error: $PYTHON is not Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)" >&2
    exit 2
  fi
  PYTHON_VERSION=${found%% *} PYTHON_EXECUTABLE=${found#* }
}

# The value of key $2 in venv $1's pyvenv.cfg, empty when missing.
venv_cfg() {
  local key value
  while IFS=' =' read -r key value; do
    [ "$key" = "$2" ] && { echo "$value"; return 0; }
  done < "$1/pyvenv.cfg" 2>/dev/null
  return 0
}

# Whether PYTHON asks for another interpreter than the one that made venv $1: compared by the
# `executable` venv records since Python 3.11, by version where pyvenv.cfg has none.
made_with_another_python() {
  [ -n "$PYTHON_REQUESTED" ] || return 1
  check_python
  local executable; executable=$(venv_cfg "$1" executable)
  if [ -n "$executable" ]; then
    [ "$executable" != "$PYTHON_EXECUTABLE" ]
  else
    [ "$(venv_cfg "$1" version)" != "$PYTHON_VERSION" ]
  fi
}

# The set-up's stamp: the venv's Python version and the requirements files' contents.
requirements_digest() {
  local venv=$1; shift
  "$venv/bin/python" - "$@" <<'PY'
import hashlib, sys
digest = hashlib.sha256(sys.version.encode())
for name in sys.argv[1:]:
    digest.update(open(name, "rb").read())
print(digest.hexdigest())
PY
}

# $1 venv folder, $2 how long a first install takes on an idle machine (said before pip starts),
# rest: requirements files. A warm run (the stamp matches) starts the venv's Python once, to hash the files, and
# nothing else: no pip. Otherwise it (re)creates a venv that is missing, broken (no pip, e.g.
# after an interrupted set-up) or made with another interpreter than PYTHON asks for, and installs
# with pip's own progress showing: a first set-up takes minutes, and in silence it looks hung.
ensure_venv() {
  local venv=$1 estimate=$2; shift 2
  local why='' want=''
  if [ ! -x "$venv/bin/python" ]; then
    why="creating $venv/"
  elif made_with_another_python "$venv"; then
    # Rebuilt rather than refused: the README says PYTHON picks the interpreter, and a refusal
    # could only say "delete the folder and run again", the same install with one more step.
    local made; made=$(venv_cfg "$venv" executable)
    why="recreating $venv/ for PYTHON=$PYTHON_REQUESTED (it was made with Python $(venv_cfg "$venv" version)${made:+, $made}), now"
  elif ! want=$(requirements_digest "$venv" "$@" 2>/dev/null); then
    why="recreating $venv/ (its Python does not start), now"
  elif [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" = "$want" ]; then
    return 0
  elif ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    why="recreating $venv/ (it has no working pip: an interrupted set-up?), now"
  fi
  if [ -n "$why" ]; then
    check_python
    echo "$why with Python $PYTHON_VERSION ($PYTHON_EXECUTABLE)" >&2
    "$PYTHON" -m venv --clear "$venv"
    want=$(requirements_digest "$venv" "$@")
  fi
  local what='' file count args=()
  for file in "$@"; do
    count=$(grep -cvE '^[[:space:]]*(#|-|$)' "$file" || true)
    what+="${what:+ and }$file ($count package$([ "$count" = 1 ] || echo s))"
    args+=(-r "$file")
  done
  local when="$estimate for a first install (longer on a busy machine)"
  [ -n "$why" ] || when="an update: only what is missing or changed"
  echo "installing $what into $venv/ with their dependencies, $when" >&2
  echo "pip's progress follows; its last step, \"Installing collected packages\", says nothing until it is done" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check "${args[@]}" >&2
  echo "$want" > "$venv/.requirements.sha256"
}

program_env() { ensure_venv "$VENV" "about 90 s" requirements.txt requirements-dev.txt; }

# Debian tools the tests need: promtool (package prometheus) proves the alert rules, shellcheck
# lets actionlint check every `run:` script. Installed with apt when missing, as root or through
# password-less sudo (a CI runner); otherwise the tests that need them skip, or fail under CI=true.
ensure_apt_tool() {
  local command=$1 package=$2 sudo=()
  command -v "$command" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || return 0
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || return 0
    sudo=(sudo -n)
  fi
  echo "installing $command (apt: $package)" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -q >/dev/null &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null; }
}

# The script's opening comment, the usage, without the shebang and the comment markers.
usage() {
  local line
  while IFS= read -r line; do
    case $line in
      '#!'*) ;;
      '#'*) line=${line#\#}; echo "${line# }" ;;
      *) return 0 ;;
    esac
  done < "${0##*/}"  # the script itself: the cd above made $0 relative to elsewhere
}

case "${1:-}" in
  render | compare)
    # The first word that is not an option names the stack: dev to render, prod to compare.
    program_env
    command=$1; shift
    stack=dev; [ "$command" = compare ] && stack=prod
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then stack=$1; shift; fi
    module=offline.render; [ "$command" = compare ] && module=adoption.compare
    exec "$VENV/bin/python" -m "$module" --stack "$stack" "$@"
    ;;
  test)
    program_env
    ensure_venv "$CHECKOV_VENV" "about 60 s" requirements-checkov.txt
    ensure_venv "$POLICY_VENV" "about 20 s" policy/requirements.txt policy/requirements-dev.txt
    ensure_apt_tool promtool prometheus
    ensure_apt_tool shellcheck shellcheck
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    # Types (pyproject.toml, [tool.mypy]); then the policy pack's, against its own venv's packages.
    "$VENV/bin/mypy"
    "$VENV/bin/mypy" --python-executable "$POLICY_VENV/bin/python" --cache-dir build/mypy-cache-policy policy/*.py policy/tests/*.py
    "$VENV/bin/python" -m pytest "${@:2}"
    # The policy pack's unit tests, in its own venv (the program's suite runs the pack over renders).
    exec "$POLICY_VENV/bin/python" -m pytest policy
    ;;
  policy)
    # Render the stacks (default: every stack file), then run the policy pack over the renders.
    program_env
    ensure_venv "$POLICY_VENV" "about 20 s" policy/requirements.txt policy/requirements-dev.txt
    stacks=("${@:2}")
    if [ ${#stacks[@]} -eq 0 ]; then for file in Pulumi.*.yaml; do stacks+=("$(basename "$file" .yaml | cut -d. -f2)"); done; fi
    folders=()
    for stack in "${stacks[@]}"; do
      "$VENV/bin/python" -m offline.render --stack "$stack" > /dev/null
      folders+=("build/render/$stack")
    done
    exec "$POLICY_VENV/bin/python" policy/offline.py "${folders[@]}"
    ;;
  rehearse)
    program_env
    stack=dev
    if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then stack=$2; set -- "$1" "${@:3}"; fi
    exec "$VENV/bin/python" -m rehearsal.rehearse --stack "$stack" "${@:2}"
    ;;
  capacity)
    program_env
    exec "$VENV/bin/python" -m capacity "${@:2}"
    ;;
  diff)
    program_env
    exec "$VENV/bin/python" -m review.diff "${@:2}"
    ;;
  bench)
    program_env
    ensure_venv "$CHECKOV_VENV" "about 60 s" requirements-checkov.txt
    exec "$VENV/bin/python" -m tools.bench "${@:2}"
    ;;
  docs)
    # Every generated document. With --check each is compared, never written: every stale one is
    # named, and the exit code is non-zero if any is.
    program_env
    status=0
    for generator in tools.rotation_policy tools.settings_reference; do
      "$VENV/bin/python" -m "$generator" "${@:2}" || status=$?
    done
    exit "$status"
    ;;
  fmt)
    program_env
    "$VENV/bin/ruff" check --fix .
    exec "$VENV/bin/ruff" format .
    ;;
  mutate)
    # cosmic-ray in its own venv: it runs each mutant's tests through the program's venv.
    program_env
    ensure_venv .tools/mutation "about 30 s" requirements-mutation.txt
    exec .tools/mutation/bin/python mutation/run.py "${@:2}"
    ;;
  help | -h | --help)
    usage
    ;;
  *)
    # A mistyped command is an error (exit 2, the usage on stderr); asking for help is not.
    if [ -n "${1:-}" ]; then echo "error: unknown command '$1'" >&2; else echo "error: no command given" >&2; fi
    usage >&2
    exit 2
    ;;
esac
