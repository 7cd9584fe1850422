#!/usr/bin/env bash
# Fetch the built-in embedding model's weights (see infra/model-layer/fetch-model.sh, which
# the Lambda model layer's build uses too).
#
#   scripts/fetch-model.sh [DEST_DIR]        # default DEST_DIR: ./data/models
exec "$(dirname "${BASH_SOURCE[0]}")/../infra/model-layer/fetch-model.sh" "$@"
