#!/usr/bin/env bash
# The demo: build a sample vault in ./demo-vault and show indexing, search, links,
# a rename that rewrites links, ingest on the embedded model (extractive: the note's
# informative sentences quoted as verified claims) with review, the checks, and ask.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VW=".venv/bin/veriwiki"
DEMO=${1:-demo-vault}
rm -rf "$DEMO"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step veriwiki init "$DEMO"
$VW init "$DEMO"
cp -r examples/sample/. "$DEMO/wiki/"
git -C "$DEMO" add wiki
git -C "$DEMO" -c user.name=demo -c user.email=demo@example.org commit -qm "Add sample pages"
echo "(copied examples/sample/ into $DEMO/wiki and committed them with git)"

step veriwiki add examples/sources/llama2.md --id llama2
$VW --vault "$DEMO" add examples/sources/llama2.md --id llama2 --title "Llama 2 paper (excerpt)"

step veriwiki catalog
$VW --vault "$DEMO" catalog
step veriwiki search "grouped query heads"
$VW --vault "$DEMO" search "grouped query heads" --limit 3
step veriwiki backlinks "KV Cache"
$VW --vault "$DEMO" backlinks "KV Cache"
step veriwiki mv "Rotary Position Embedding" "RoPE Embedding"
$VW --vault "$DEMO" mv "Rotary Position Embedding" "RoPE Embedding"
step "grep -rn 'RoPE Embedding' $DEMO/wiki   # links were rewritten"
grep -rn "RoPE Embedding" "$DEMO/wiki" --include='*.md' | grep -v -e index.md -e log.md || true
step "veriwiki ingest examples/sources/gqa-note.md   # embedded SmolLM2, extractive: offline, no key"
$VW --vault "$DEMO" ingest examples/sources/gqa-note.md
step veriwiki review
$VW --vault "$DEMO" review
step veriwiki review show ingest-gqa-note-v1 --no-diff
$VW --vault "$DEMO" review show ingest-gqa-note-v1 --no-diff
step veriwiki review approve ingest-gqa-note-v1
$VW --vault "$DEMO" review approve ingest-gqa-note-v1
step veriwiki check   "# finds the planted broken link [[Llama 3]] and the misquoted passage"
set +e
$VW --vault "$DEMO" check
code=$?
set -e
echo "(check exit code: $code — 1 means error findings, as expected here)"
[ "$code" -eq 1 ] || { echo "demo: expected check to find the planted broken link"; exit 1; }
step "veriwiki ask \"How much compute does uptrained GQA need?\"   # embedded SmolLM2"
$VW --vault "$DEMO" ask "How much compute does uptrained GQA need?"
step git log --oneline
git -C "$DEMO" log --oneline
