// Compiles Solidity with the pinned solc-js (the npm package's own soljson.js: never a download),
// offline: imports such as `@openzeppelin/contracts/...` resolve from the installed node_modules.
//
// Usage: node solc.js <node_modules> <file.sol>...
// Prints one JSON object on stdout: {"solc": "<version>", "contracts": {"<file>:<Name>":
// {"abi": [...], "bytecode": "<hex>", "deployedBytecode": "<hex>"}}}. Errors go to stderr and
// exit 1. Settings are fixed (like the live contracts' build): optimizer on, evmVersion prague,
// no metadata hash, so the same sources give the same bytes.
'use strict';
const fs = require('fs');
const path = require('path');

const [nodeModules, ...files] = process.argv.slice(2);
if (!nodeModules || files.length === 0) {
  console.error('usage: node solc.js <node_modules> <file.sol>...');
  process.exit(2);
}
const solc = require(path.join(path.resolve(nodeModules), 'solc'));

const sources = {};
for (const file of files) sources[file] = { content: fs.readFileSync(file, 'utf8') };
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'prague',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

function findImports(name) {
  const file = path.join(path.resolve(nodeModules), name);
  if (!fs.existsSync(file)) return { error: `not found in ${nodeModules}: ${name}` };
  return { contents: fs.readFileSync(file, 'utf8') };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const contracts = {};
for (const file of files) {
  for (const [name, c] of Object.entries((output.contracts || {})[file] || {})) {
    contracts[`${file}:${name}`] = {
      abi: c.abi,
      bytecode: c.evm.bytecode.object,
      deployedBytecode: c.evm.deployedBytecode.object,
    };
  }
}
process.stdout.write(JSON.stringify({ solc: solc.version(), contracts }) + '\n');
