#!/usr/bin/env bash
# Reproduces TracerTestToken.json from TracerTestToken.sol with solc-js (npm `solc`, pinned below).
# Run once after editing the contract; the tests use the committed JSON (no compiler on the test path).
set -euo pipefail
cd "$(dirname "$0")"
SOLC_VERSION=0.8.28
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --prefix "$work" "solc@$SOLC_VERSION" >/dev/null
SOLC_VERSION=$SOLC_VERSION node - "$work" <<'JS'
const path = require("path");
const fs = require("fs");
const solc = require(path.join(process.argv[2], "node_modules", "solc"));
const source = fs.readFileSync("TracerTestToken.sol", "utf8");
const input = {
  language: "Solidity",
  sources: { "TracerTestToken.sol": { content: source } },
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "paris",
              outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of output.errors || []) { if (e.severity === "error") { console.error(e.formattedMessage); process.exit(1); } }
const contracts = {};
for (const [name, c] of Object.entries(output.contracts["TracerTestToken.sol"])) {
  contracts[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
}
const result = { compiler: "solc-js " + solc.version(), settings: input.settings, contracts };
fs.writeFileSync("TracerTestToken.json", JSON.stringify(result, null, 1) + "\n");
console.log("compiled with", solc.version());
JS
