#!/usr/bin/env bash
# What the MCP tests drive (tests/integrations/test_mcp_*.py, tests/test_cli_mcp.py): npm's
# @modelcontextprotocol/server-everything and server-filesystem, and the MCP Inspector (its CLI mode drives
# `agentkit mcp serve`), installed into a cache folder, never into the repo. The tests find them under
# $AGENTKIT_TEST_NPM (default ~/.cache/agentkit-test-npm). Needs node and npm (apt-get install nodejs npm).
set -euo pipefail
PREFIX="${AGENTKIT_TEST_NPM:-$HOME/.cache/agentkit-test-npm}"
if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
mkdir -p "$PREFIX"
# pinned: the versions the tests were written against (a new release is taken on purpose, not by chance)
npm install --no-audit --no-fund --prefix "$PREFIX" \
  @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/server-filesystem@2026.8.31 \
  @modelcontextprotocol/inspector@0.15.0
