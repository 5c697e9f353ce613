#!/bin/bash
# End-to-end: the rough edges a new administrator met with `coffre` and
# `coffre-vault`, each through the real binaries and a real vault on
# 127.0.0.1:
# - a missing passphrase or token file exits 5 (authentication), not 6;
# - an unknown command names the word and the nearest command; a missing
#   option points to that command's --help;
# - COFFRE_TOKEN_FILE and COFFRE_CACERT, and `coffre --job NAME` taking
#   repository, token, certificate and passphrase from agent.conf;
# - restore --target - is refused, and restore --help says what happens to
#   files already in the target;
# - token list and tenant list have headers and human units, snapshots a
#   tags column, ls -l owner names;
# - the progress line of backup has a rate, and with a parent a total, a
#   percentage and an ETA;
# - a prune that frees nothing downloads about the trees and the index,
#   not the repository.
source "$(dirname "$0")/lib.sh"

: "${COFFRE_VAULT_BIN:?COFFRE_VAULT_BIN must name the coffre-vault binary}"
DATA=$WORK/vault
vault() { "$COFFRE_VAULT_BIN" --data "$DATA" "$@"; }
vault init >/dev/null 2>&1
vault tenant add acme --quota 10GiB
vault token add --tenant acme --role admin >"$WORK/token"
vault cert >"$WORK/ca.pem"
start_vault "$DATA"
URL=$BASE/acme/main
echo "newcomer passphrase" >"$WORK/passphrase"
chmod 600 "$WORK/passphrase" "$WORK/token"
unset COFFRE_PASSWORD COFFRE_TOKEN COFFRE_TOKEN_FILE COFFRE_CACERT COFFRE_AGENT_CONFIG
SRC=$WORK/src
mkdir -p "$SRC/sub"
random_file "$SRC/data.bin" 2
echo "notes" >"$SRC/sub/notes.txt"
chown 0:0 "$SRC/sub/notes.txt" 2>/dev/null || true
full() { coffre --repo "$URL" --token-file "$WORK/token" --cacert "$WORK/ca.pem" --password-file "$WORK/passphrase" "$@"; }
expect_exit 0 full init
expect_exit 0 full backup --tag first "$SRC"

missing_secret_files() {
  expect_exit 5 coffre snapshots --repo "$URL" --token-file "$WORK/token" --cacert "$WORK/ca.pem" \
    --password-file "$WORK/no-such-passphrase"
  assert_stderr_has "no-such-passphrase"
  expect_exit 5 coffre snapshots --repo "$URL" --token-file "$WORK/no-such-token" \
    --cacert "$WORK/ca.pem" --password-file "$WORK/passphrase"
  assert_stderr_has "no-such-token"
}

usage_errors() {
  expect_exit 2 coffre snapshot
  assert_stderr_has "unknown command 'snapshot' (did you mean 'snapshots'? see coffre --help)"
  expect_exit 2 coffre restor latest
  assert_stderr_has "did you mean 'restore'?"
  expect_exit 2 coffre agent stat
  assert_stderr_has "unknown command 'stat' (did you mean 'status'? see coffre agent --help)"
  expect_exit 2 coffre restore latest --repo "$URL"
  assert_stderr_has "--target is required (see coffre restore --help)"
}

environment_and_job() {
  expect_exit 0 with_env COFFRE_REPO="$URL" COFFRE_TOKEN_FILE="$WORK/token" \
    COFFRE_CACERT="$WORK/ca.pem" COFFRE_PASSWORD_FILE="$WORK/passphrase" coffre snapshots --json
  [[ $(json_eval 'len(j)') -ge 1 ]] || fail "snapshots through the environment: $(cat "$OUT")"
  cat >"$WORK/agent.conf" <<EOF
[[job]]
name = "nightly"
repo = "$URL"
password_file = "$WORK/passphrase"
token_file = "$WORK/token"
cacert = "$WORK/ca.pem"
paths = ["$SRC"]
schedule = "daily 02:30"
EOF
  # A leftover COFFRE_REPO in the shell does not redirect a --job restore.
  expect_exit 0 with_env COFFRE_REPO="$WORK/elsewhere" COFFRE_AGENT_CONFIG="$WORK/agent.conf" \
    coffre --job nightly restore latest --target "$WORK/by-job"
  cmp "$SRC/data.bin" "$WORK/by-job$SRC/data.bin" || fail "the --job restore differs"
  expect_exit 0 coffre --job nightly --agent-config "$WORK/agent.conf" snapshots --json
  expect_exit 2 coffre --job nope --agent-config "$WORK/agent.conf" snapshots
  assert_stderr_has "no job named 'nope'"
}

restore_target() {
  expect_exit 2 full restore latest --target -
  assert_stderr_has "standard output"
  [[ ! -e ./- && ! -e $WORK/- ]] || fail "a folder named '-' was created"
  expect_exit 0 coffre restore --help
  grep -qi "already holds files" "$OUT" || fail "restore --help says nothing of existing files"
  grep -qi "local edit" "$OUT" || fail "restore --help must warn that local edits are replaced"
}

tables() {
  expect_exit 0 vault token list
  head -n 1 "$OUT" | grep -q "^ID  *TENANT  *REPO  *ROLE  *STATE$" || fail "token list header: $(head -n 2 "$OUT")"
  expect_exit 0 vault tenant list
  head -n 1 "$OUT" | grep -q "^TENANT  *STORED  *QUOTA" || fail "tenant list header: $(head -n 2 "$OUT")"
  grep -q "^acme .*10.0 GiB" "$OUT" || fail "tenant list should show the quota as 10.0 GiB: $(cat "$OUT")"
  expect_exit 0 full snapshots
  head -n 1 "$OUT" | grep -q "TAGS" || fail "snapshots has no tags column: $(head -n 2 "$OUT")"
  grep -q " first " "$OUT" || fail "snapshots does not show the tag: $(cat "$OUT")"
  expect_exit 0 full ls -l latest "$SRC/sub"
  local owner
  owner=$(stat -c %U "$SRC/sub/notes.txt")
  grep -q "^file .* $owner " "$OUT" || fail "ls -l should name the owner '$owner': $(cat "$OUT")"
}

progress_line() {
  # A dump that waits a second and a half runs before the walk: the walk's
  # progress then has a rate; the parent of the second backup a total.
  local i
  for i in $(seq 1 40); do echo "$i" >"$SRC/f$i"; done
  # The same paths (the dump's included) once before, as the parent.
  expect_exit 0 full backup --from-command '/dumps/slow=echo slow' "$SRC"
  expect_exit 0 full backup --progress --from-command '/dumps/slow=sleep 1.5; echo slow' "$SRC"
  tr '\r' '\n' <"$ERR" >"$WORK/progress.lines"
  grep -q "files, .*/s" "$WORK/progress.lines" || fail "no rate in the progress: $(tail -n 5 "$WORK/progress.lines")"
  grep -q " of .* ([0-9]*%)" "$WORK/progress.lines" ||
    fail "no total and percentage from the parent: $(tail -n 5 "$WORK/progress.lines")"
  expect_exit 0 full backup "$SRC"
  if grep -q $'\r' "$ERR"; then fail "progress drawn off a terminal without --progress"; fi
}

noop_prune_downloads_little() {
  # File data the snapshots use, in packs: 24 MiB; trees are a few KiB.
  random_file "$SRC/big1" 12
  random_file "$SRC/big2" 12
  for i in $(seq 1 30); do mkdir -p "$SRC/d$i" && echo "$i" >"$SRC/d$i/x"; done
  expect_exit 0 full backup "$SRC"
  expect_exit 0 full backup "$SRC"
  expect_exit 0 full prune  # frees what the earlier steps left, if anything
  local before after stored
  before=$(curl -s --cacert "$WORK/ca.pem" "$BASE/metrics" | awk '/^coffre_vault_bytes_sent_total/ {print $2}')
  expect_exit 0 full prune --json
  [[ $(json_eval 'j["deleted_packs"]') == 0 ]] || fail "this prune should free nothing: $(cat "$OUT")"
  after=$(curl -s --cacert "$WORK/ca.pem" "$BASE/metrics" | awk '/^coffre_vault_bytes_sent_total/ {print $2}')
  stored=$(du -sb "$DATA/repos" | cut -f1)
  echo "    a prune that frees nothing downloaded $((after - before)) bytes of a $stored-byte repository"
  (((after - before) * 10 < stored)) ||
    fail "the no-op prune downloaded $((after - before)) bytes, more than a tenth of the repository ($stored)"
}

section "a missing passphrase or token file exits 5" missing_secret_files
section "usage errors name the word and the command's help" usage_errors
section "COFFRE_TOKEN_FILE, COFFRE_CACERT and --job" environment_and_job
section "restore --target - is refused; --help tells of existing files" restore_target
section "tables have headers, human units, tags and owner names" tables
section "the backup progress line has a rate and a total" progress_line
section "a prune that frees nothing downloads little" noop_prune_downloads_little
