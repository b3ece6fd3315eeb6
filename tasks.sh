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
#   ./tasks.sh test [--cov] [pytest args]   lint and format checks, the tests: type checks and the policy pack's among them (--cov, and CI: with the coverage gate)
#   ./tasks.sh bench [--runs N] [--no-suite] [--suite-runs N] [--instructions] [--fresh]
#                                           render, import, diff and test-suite timings (docs/performance.md)
#   ./tasks.sh docs [--check]               regenerate the rotation policy and docs/settings.md (--check: name each stale one)
#   ./tasks.sh lock [--upgrade|--check]     compile each venv's lock (hashes) from its requirements files again
#   ./tasks.sh fmt                          apply ruff fixes and formatting
#   ./tasks.sh mutate [module...]           mutation testing (cosmic-ray): kill rate per module, survivors
#   ./tasks.sh help                         this list
set -euo pipefail
cd "$(dirname "$0")"

# Python's bytecode cache, for every command here, in build/pycache: the tree gets no __pycache__
# folders, and a shell that sets PYTHONDONTWRITEBYTECODE (container images often do) does not make
# each process compile the SDKs', the program's and the tests' sources again (about 10 s of a warm
# `test`). A PYTHONPYCACHEPREFIX of the caller's own is kept.
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$PWD/build/pycache}"
unset PYTHONDONTWRITEBYTECODE

# A PYTHON set by the caller asks for that interpreter: a venv made with another one is rebuilt
# (see ensure_venv). Unset, the venvs already there are kept, whatever made them.
PYTHON_REQUESTED=${PYTHON:-}
PYTHON=${PYTHON:-python3}
VENV=venv                 # the folder Pulumi.yaml names: `pulumi up` reuses this environment
CHECKOV_VENV=.tools/checkov
POLICY_VENV=policy/venv   # the policy pack's own (PulumiPolicy.yaml names it): pulumi-policy pins an older protobuf
UV_DIR=.tools/uv          # uv, which installs every venv from its lock (tools/locks.py names the locks)
UV=$UV_DIR/bin/uv

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

# The set-up's stamp: the venv's Python version and its lock's contents.
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

# uv, the installer of the venvs, from requirements-uv.lock (pinned with its hashes): installed by
# pip into .tools/uv, a plain folder (uv is one binary, whatever Python runs the venvs). With
# $PYTHON's own pip where it has one, in seconds; else (Debian's python3 without python3-pip) with
# the pip of a venv made for that, which ensurepip takes seconds more to set up. Reinstalled when
# the lock changed or uv does not start; the lock's copy is written last, so an interrupted
# install is done again.
ensure_uv() {
  cmp -s requirements-uv.lock "$UV_DIR/requirements-uv.lock" && "$UV" --version >/dev/null 2>&1 && return 0
  check_python
  echo "installing requirements-uv.lock (uv, checked against its hashes) into $UV_DIR/, the venvs' installer, about 5 s; pip's progress follows" >&2
  rm -rf "$UV_DIR" "$UV_DIR.pip"
  local pip=("$PYTHON" -m pip)
  if ! "${pip[@]}" --version >/dev/null 2>&1; then
    "$PYTHON" -m venv "$UV_DIR.pip"
    pip=("$UV_DIR.pip/bin/python" -m pip)
  fi
  # --target: no venv to install into, and no check for an externally managed Python (PEP 668).
  PIP_USER=0 PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --disable-pip-version-check --require-hashes --no-deps \
    --target "$UV_DIR" -r requirements-uv.lock >&2
  rm -rf "$UV_DIR.pip"
  cp requirements-uv.lock "$UV_DIR/requirements-uv.lock"
}

# $1 venv folder, $2 how long a first install takes on an idle machine (said before it starts),
# $3 its lock (pinned with hashes, by `./tasks.sh lock`). A warm run (the stamp matches) starts the
# venv's Python once, to hash the lock, and nothing else: no installer. Otherwise it (re)creates a
# venv that is missing, broken (its Python does not start) or made with another interpreter than
# PYTHON asks for, and syncs it with the lock: uv installs what is missing or changed, removes what
# the lock no longer has, checks every hash, and shows its progress (in silence a first set-up
# looks hung). Python's own venv module makes the venv, a plain one, without pip (uv needs none,
# and ensurepip costs seconds per venv): the venvs Pulumi runs get their pip from their lock.
ensure_venv() {
  local venv=$1 estimate=$2 lock=$3
  local why='' want=''
  if [ ! -x "$venv/bin/python" ]; then
    why="creating $venv/"
  elif made_with_another_python "$venv"; then
    # Rebuilt rather than refused: the README says PYTHON picks the interpreter, and a refusal
    # could only say "delete the folder and run again", the same install with one more step.
    local made; made=$(venv_cfg "$venv" executable)
    why="recreating $venv/ for PYTHON=$PYTHON_REQUESTED (it was made with Python $(venv_cfg "$venv" version)${made:+, $made}), now"
  elif ! want=$(requirements_digest "$venv" "$lock" 2>/dev/null); then
    why="recreating $venv/ (its Python does not start), now"
  elif [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  ensure_uv
  if [ -n "$why" ]; then
    check_python
    echo "$why with Python $PYTHON_VERSION ($PYTHON_EXECUTABLE)" >&2
    "$PYTHON" -m venv --clear --without-pip "$venv"
    want=$(requirements_digest "$venv" "$lock")
  fi
  local count; count=$(grep -cE '^[A-Za-z0-9]' "$lock" || true)
  local when="$estimate for a first install (longer on a busy machine)"
  [ -n "$why" ] || when="an update: only what changed"
  echo "installing $lock ($count packages, each checked against its hashes) into $venv/, $when" >&2
  echo "uv's progress follows: its bars on a terminal, a line per step elsewhere" >&2
  "$UV" pip sync --python "$venv/bin/python" --require-hashes "$lock" >&2
  echo "$want" > "$venv/.requirements.sha256"
}

program_env() { ensure_venv "$VENV" "about 25 s" requirements.lock; }

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
    ensure_venv "$CHECKOV_VENV" "about 15 s" requirements-checkov.lock
    ensure_venv "$POLICY_VENV" "about 10 s" policy/requirements.lock
    ensure_apt_tool promtool prometheus
    ensure_apt_tool shellcheck shellcheck
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    # Coverage costs ~75 % more time on Python 3.11 (a trace function): CI and --cov measure it
    # and fail under the gate (pyproject.toml, [tool.coverage.report]); a developer's run skips it.
    args=("${@:2}") coverage=()
    if [ "${CI:-}" = true ] || [[ " ${args[*]} " == *" --cov "* ]]; then
      coverage=(--cov --cov-report=term-missing:skip-covered --cov-report=xml:build/coverage.xml)
      for i in "${!args[@]}"; do [ "${args[$i]}" = --cov ] && unset 'args[i]'; done
    fi
    # The suite also runs the type checks (tests/test_typecheck.py) and the policy pack's own tests
    # in the pack's venv (tests/test_policy_pack.py): on the workers, beside the other tests, not
    # one after the other before or after them.
    exec "$VENV/bin/python" -m pytest "${coverage[@]}" "${args[@]}"
    ;;
  policy)
    # Render the stacks (default: every stack file), then run the policy pack over the renders.
    program_env
    ensure_venv "$POLICY_VENV" "about 10 s" policy/requirements.lock
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
    ensure_venv "$CHECKOV_VENV" "about 15 s" requirements-checkov.lock
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
  lock)
    # Every venv's lock compiled again from its requirements files (tools/locks.py names them):
    # after editing a requirements file, and on a Dependabot pull request, which bumps those only.
    ensure_uv
    check_python
    exec "$PYTHON" -m tools.locks compile --uv "$UV" "${@:2}"
    ;;
  fmt)
    program_env
    "$VENV/bin/ruff" check --fix .
    exec "$VENV/bin/ruff" format .
    ;;
  mutate)
    # cosmic-ray in its own venv: it runs each mutant's tests through the program's venv.
    program_env
    ensure_venv .tools/mutation "about 20 s" requirements-mutation.lock
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
