#!/bin/bash
# End-to-end: key slots. A second passphrase opens the same repository and
# restores the same data; `key list` marks the slot in use; `key remove`
# refuses the slot in use and works on another; `key passwd` makes the old
# passphrase stop working and the new one work; a wrong passphrase is
# refused with exit 5 after every change.
source "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
SRC=$WORK/src
mkdir -p "$SRC"
printf 'the only copy of the business\n' >"$SRC/ledger.txt"
NEW=$WORK/new-pass
printf 'second passphrase\n' >"$NEW"

step "setup: init and a backup with the first passphrase"
init_repo "$REPO"
expect_exit 0 coffre backup --repo "$REPO" "$SRC"

add_and_use() {
  expect_exit 0 coffre key add --repo "$REPO" --new-password-file "$NEW" --label recovery
  expect_exit 0 with_env -u COFFRE_PASSWORD coffre restore latest --repo "$REPO" \
    --password-file "$NEW" --target "$WORK/by-second"
  cmp "$SRC/ledger.txt" "$WORK/by-second$SRC/ledger.txt" || fail "second passphrase restored other bytes"
  expect_exit 0 coffre key list --repo "$REPO" --json
  [[ $(json_eval 'len(j)') == 2 ]] || fail "key list should show two slots"
  [[ $(json_eval 'sum(1 for k in j if k["current"])') == 1 ]] || fail "exactly one slot is in use"
  [[ $(json_eval '[k["label"] for k in j if not k["current"]][0]') == recovery ]] \
    || fail "the added slot should carry its label"
}
section "key add: a second passphrase opens the repository" add_and_use

remove_rules() {
  expect_exit 0 coffre key list --repo "$REPO" --json
  local current other
  current=$(json_eval '[k["id"] for k in j if k["current"]][0]')
  other=$(json_eval '[k["id"] for k in j if not k["current"]][0]')
  expect_exit 1 coffre key remove --repo "$REPO" "${current:0:12}"
  assert_stderr_has "opened the repository"
  expect_exit 0 coffre key remove --repo "$REPO" "${other:0:12}"
  expect_exit 5 with_env -u COFFRE_PASSWORD coffre snapshots --repo "$REPO" --password-file "$NEW"
  expect_exit 1 coffre key remove --repo "$REPO" "${current:0:12}"
}
section "key remove: never the slot in use, and a removed one stops working" remove_rules

passwd() {
  expect_exit 0 coffre key passwd --repo "$REPO" --new-password-file "$NEW"
  expect_exit 5 coffre snapshots --repo "$REPO"
  expect_exit 0 with_env -u COFFRE_PASSWORD coffre snapshots --repo "$REPO" --password-file "$NEW"
  expect_exit 0 with_env -u COFFRE_PASSWORD coffre check --read-data --repo "$REPO" --password-file "$NEW"
  expect_exit 0 with_env -u COFFRE_PASSWORD coffre key list --repo "$REPO" --password-file "$NEW" --json
  [[ $(json_eval 'len(j)') == 1 ]] || fail "passwd should leave one slot"
}
section "key passwd: the old passphrase stops working, the new one works" passwd
