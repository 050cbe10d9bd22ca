# Shared by the end-to-end scripts: a scratch folder removed on exit, and check/finish that
# count failures and end with the plain "N passed, N failed" line.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failures=0
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then echo "ok   $what"; passed=$((passed + 1)); else echo "FAIL $what"; failures=$((failures + 1)); fi
}
finish() {  # finish <script name>
  echo "$1: $passed passed, $failures failed"
  [ "$failures" -eq 0 ]
}
