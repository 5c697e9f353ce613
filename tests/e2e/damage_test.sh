#!/bin/bash
# End-to-end: damage never blocks what is still intact, with the real
# binary on copies of one local repository:
# - one flipped byte in the oldest snapshot: snapshots, ls, restore latest
#   work and name it; prune refuses (exit 4) until `forget ID` removes it;
# - one flipped byte in every index object: restore is bit for bit from the
#   packs' own headers, check names the damaged index objects, and `repair
#   index` rebuilds an index that check finds whole;
# - one flipped byte in a key slot: its passphrase gets "damaged" (exit 4),
#   not "wrong passphrase", and another passphrase still opens;
# - a lost pack: `repair snapshots` writes a snapshot without the file it
#   held, named in the snapshot's COFFRE-DAMAGED-FILES.txt, and keeps the
#   original until it is forgotten;
# - backups killed with -9 again and again: the next run leaves no lock and
#   no temporary file of theirs behind, and every snapshot restores.
source "$(dirname "$0")/lib.sh"

SRC=$WORK/src
BASE=$WORK/base
mkdir -p "$SRC/docs"
init_repo "$BASE"
random_file "$SRC/docs/first.bin" 2
printf 'one\n' >"$SRC/docs/one.txt"
expect_exit 0 coffre backup --repo "$BASE" --json "$SRC"
OLDEST=$(json_eval 'j["snapshot_id"]')
random_file "$SRC/docs/second.bin" 2
printf 'two\n' >"$SRC/docs/two.txt"
expect_exit 0 coffre backup --repo "$BASE" --json "$SRC"
NEWEST=$(json_eval 'j["snapshot_id"]')

# flip FILE: one byte in the middle of FILE changes.
flip() {
  python3 - "$1" <<'EOF'
import os, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x5A]))
EOF
}

damaged_snapshot() {
  local repo=$WORK/snap
  cp -a "$BASE" "$repo"
  flip "$repo/snapshots/$OLDEST"
  expect_exit 0 coffre snapshots --repo "$repo" --json
  [[ $(json_eval '[s["id"] for s in j]') == "[\"$NEWEST\"]" ]] || fail "snapshots: $(cat "$OUT")"
  assert_stderr_has "damaged snapshot $OLDEST"
  expect_exit 0 coffre ls --repo "$repo" latest
  grep -q "two.txt" "$OUT" || fail "ls latest: $(cat "$OUT")"
  expect_exit 0 coffre restore --repo "$repo" latest --target "$WORK/snap-target"
  compare_trees "$SRC" "$WORK/snap-target$SRC"
  expect_exit 4 coffre prune --repo "$repo"
  assert_stderr_has "$OLDEST"
  expect_exit 0 coffre forget --repo "$repo" "${OLDEST:0:8}"
  [[ ! -e $repo/snapshots/$OLDEST ]] || fail "forget left the damaged snapshot"
  expect_exit 0 coffre prune --repo "$repo"
  expect_exit 0 coffre check --repo "$repo" --read-data
}
section "a damaged snapshot is skipped and named; forget removes it, then prune works" damaged_snapshot

damaged_index() {
  local repo=$WORK/index
  cp -a "$BASE" "$repo"
  local f
  for f in "$repo"/index/*; do flip "$f"; done
  expect_exit 0 coffre restore --repo "$repo" latest --target "$WORK/index-target"
  compare_trees "$SRC" "$WORK/index-target$SRC"
  expect_exit --multiline 4 coffre check --repo "$repo" --read-data
  grep -q "damage: index " "$ERR" || fail "check does not name the damaged index: $(cat "$OUT" "$ERR")"
  if grep -q "is in no index" "$OUT" "$ERR"; then fail "check lost blobs the packs still hold: $(cat "$OUT" "$ERR")"; fi
  expect_exit 0 coffre repair index --repo "$repo" --json
  [[ $(json_eval 'j["lost_packs"]') == 0 ]] || fail "repair index lost packs: $(cat "$OUT")"
  expect_exit 0 coffre check --repo "$repo" --read-data
  if grep -q "in no index" "$OUT"; then fail "after repair, packs are still in no index: $(cat "$OUT")"; fi
  rm -rf "$WORK/index-target"
  expect_exit 0 coffre restore --repo "$repo" latest --target "$WORK/index-target"
  compare_trees "$SRC" "$WORK/index-target$SRC"
}
section "a damaged index does not stop restore: the packs' headers stand in; repair index mends it" damaged_index

damaged_key_slot() {
  local repo=$WORK/keys
  cp -a "$BASE" "$repo"
  printf 'the second passphrase\n' >"$WORK/second"
  expect_exit 0 coffre key add --repo "$repo" --new-password-file "$WORK/second" --label second
  expect_exit 0 coffre key list --repo "$repo" --json
  local first_slot
  first_slot=$(json_eval '[k["id"] for k in j if k["current"]][0]')
  flip "$repo/keys/$first_slot"
  expect_exit 4 coffre snapshots --repo "$repo"
  assert_stderr_has "damaged"
  assert_stderr_has "${first_slot:0:8}"
  expect_exit 0 coffre snapshots --repo "$repo" --password-file "$WORK/second"
}
section "a damaged key slot is named as damaged; the other slots open" damaged_key_slot

lost_pack() {
  local repo=$WORK/lostpack
  cp -a "$BASE" "$repo"
  random_file "$SRC/docs/victim.bin" 9
  expect_exit 0 coffre backup --repo "$repo" --json "$SRC"
  local damaged_id pack
  damaged_id=$(json_eval 'j["snapshot_id"]')
  # The largest pack is the victim's file data.
  pack=$(find "$repo/data" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
  rm "$pack"
  expect_exit --multiline 4 coffre check --repo "$repo"
  expect_exit 0 coffre repair snapshots --repo "$repo" --json
  [[ $(json_eval 'len(j["repaired"])') == 1 ]] || fail "repair snapshots: $(cat "$OUT")"
  [[ $(json_eval 'j["repaired"][0]["original"]') == "$damaged_id" ]] || fail "repaired the wrong one: $(cat "$OUT")"
  json_eval 'j["repaired"][0]["damaged"][0]' | grep -q "^$SRC/docs/victim.bin: " ||
    fail "the damaged file is not named: $(cat "$OUT")"
  local fixed
  fixed=$(json_eval 'j["repaired"][0]["repaired"]')
  expect_exit 0 coffre restore --repo "$repo" "$fixed" --target "$WORK/lostpack-target"
  [[ ! -e $WORK/lostpack-target$SRC/docs/victim.bin ]] || fail "the damaged file was restored with a hole"
  grep -q "$SRC/docs/victim.bin" "$WORK/lostpack-target/COFFRE-DAMAGED-FILES.txt" ||
    fail "the report file does not name the damaged file"
  local f
  for f in first.bin second.bin one.txt two.txt; do
    cmp "$SRC/docs/$f" "$WORK/lostpack-target$SRC/docs/$f" || fail "$f differs in the repaired snapshot"
  done
  rm "$SRC/docs/victim.bin"
  [[ -e $repo/snapshots/$damaged_id ]] || fail "the original was removed"
  # Once the user forgets the original, check is clean again.
  expect_exit 0 coffre forget --repo "$repo" "$damaged_id"
  expect_exit 0 coffre prune --repo "$repo"
  expect_exit 0 coffre check --repo "$repo" --read-data
}
section "a lost pack: repair snapshots keeps every other file and names the lost one" lost_pack

killed_backups() {
  local repo=$WORK/killed i
  cp -a "$BASE" "$repo"
  for i in 1 2 3 4 5; do
    random_file "$SRC/docs/killed-$i.bin" 20
    coffre backup --repo "$repo" "$SRC" >/dev/null 2>&1 &
    local pid=$! deadline=$((SECONDS + 60))
    # Killed once it writes packs (something in tmp/ or a new pack).
    until [[ -n $(ls "$repo/tmp") ]]; do
      kill -0 "$pid" 2>/dev/null || break
      ((SECONDS < deadline)) || fail "the backup wrote nothing within 60 s"
      sleep 0.01
    done
    pkill -KILL -f -- "backup --repo $repo" || true
    wait "$pid" 2>/dev/null || true
  done
  echo "    after 5 kills: $(ls "$repo/locks" | wc -l) lock(s), $(ls "$repo/tmp" | wc -l) temporary file(s)"
  [[ -n $(ls "$repo/locks") ]] || fail "the killed backups left no lock: the test proves nothing"
  sleep 11  # past the grace for a temporary file just created
  expect_exit 0 coffre backup --repo "$repo" "$SRC"
  [[ -z $(ls "$repo/locks") ]] || fail "locks of killed runs are left: $(ls "$repo/locks")"
  [[ -z $(ls "$repo/tmp") ]] || fail "temporary files of killed runs are left: $(ls "$repo/tmp")"
  expect_exit 0 coffre check --repo "$repo" --read-data
  expect_exit 0 coffre restore --repo "$repo" latest --target "$WORK/killed-target"
  compare_trees "$SRC" "$WORK/killed-target$SRC"
}
section "the run after killed backups removes their locks and temporary files" killed_backups


