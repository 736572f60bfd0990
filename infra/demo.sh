#!/usr/bin/env bash
# demo.sh: `make demo`. Grows into the full pipeline as the engine and the
# workers land (issue 3). Fails loudly until there is something real to show.
set -euo pipefail
echo "demo: the engine has not landed yet" >&2
exit 1
