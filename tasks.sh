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
#   ./tasks.sh capacity simulate|replay|rightsize [stack] ...   HPA dry run, replay and rightsizing (see README)
#   ./tasks.sh test [pytest args]           lint, format check, tests with the coverage gate
#   ./tasks.sh bench                        render/import/test-suite timings for the README
#   ./tasks.sh docs                         regenerate docs/security/SECRETS_ROTATION_POLICY.md
#   ./tasks.sh fmt                          apply ruff fixes and formatting
#   ./tasks.sh mutate [module...]           mutation testing (cosmic-ray): kill rate per module, survivors
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=venv                 # the folder Pulumi.yaml names: `pulumi up` reuses this environment
CHECKOV_VENV=.tools/checkov
POLICY_VENV=policy/venv   # the policy pack's own (PulumiPolicy.yaml names it): pulumi-policy pins an older protobuf

# The program needs Python >= 3.11; say so plainly instead of failing later with a SyntaxError.
check_python() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: $PYTHON is not Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)" >&2
    exit 2
  fi
}

# $1 venv folder, rest: requirements files. (Re)creates a venv that is missing or broken (no pip,
# e.g. after an interrupted set-up) and reinstalls only when the requirements or Python change.
ensure_venv() {
  local venv=$1; shift
  check_python
  if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "creating $venv" >&2
    "$PYTHON" -m venv --clear "$venv"
  fi
  local want
  want=$("$venv/bin/python" - "$@" <<'PY'
import hashlib, sys
digest = hashlib.sha256(sys.version.encode())
for name in sys.argv[1:]:
    digest.update(open(name, "rb").read())
print(digest.hexdigest())
PY
)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "installing into $venv: $*" >&2
    local args=(); for f in "$@"; do args+=(-r "$f"); done
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2
    echo "$want" > "$venv/.requirements.sha256"
  fi
}

program_env() { ensure_venv "$VENV" requirements.txt requirements-dev.txt; }

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

case "${1:-}" in
  render | compare)
    # The first word that is not an option names the stack: dev to render, prod to compare.
    program_env
    command=$1; shift
    stack=dev; [ "$command" = compare ] && stack=prod
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then stack=$1; shift; fi
    exec "$VENV/bin/python" -m "offline.$command" --stack "$stack" "$@"
    ;;
  test)
    program_env
    ensure_venv "$CHECKOV_VENV" requirements-checkov.txt
    ensure_venv "$POLICY_VENV" policy/requirements.txt policy/requirements-dev.txt
    ensure_apt_tool promtool prometheus
    ensure_apt_tool shellcheck shellcheck
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    "$VENV/bin/python" -m pytest "${@:2}"
    # The policy pack's unit tests, in its own venv (the program's suite runs the pack over renders).
    exec "$POLICY_VENV/bin/python" -m pytest policy
    ;;
  policy)
    # Render the stacks (default: every stack file), then run the policy pack over the renders.
    program_env
    ensure_venv "$POLICY_VENV" policy/requirements.txt policy/requirements-dev.txt
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
    exec "$VENV/bin/python" -m offline.rehearse --stack "$stack" "${@:2}"
    ;;
  capacity)
    program_env
    exec "$VENV/bin/python" -m capacity "${@:2}"
    ;;
  diff)
    program_env
    exec "$VENV/bin/python" -m offline.diff "${@:2}"
    ;;
  bench)
    program_env
    ensure_venv "$CHECKOV_VENV" requirements-checkov.txt
    exec "$VENV/bin/python" -m offline.bench "${@:2}"
    ;;
  docs)
    program_env
    exec "$VENV/bin/python" -m offline.rotation_policy "${@:2}"
    ;;
  fmt)
    program_env
    "$VENV/bin/ruff" check --fix .
    exec "$VENV/bin/ruff" format .
    ;;
  mutate)
    # cosmic-ray in its own venv: it runs each mutant's tests through the program's venv.
    program_env
    ensure_venv .tools/mutation requirements-mutation.txt
    exec .tools/mutation/bin/python mutation/run.py "${@:2}"
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
