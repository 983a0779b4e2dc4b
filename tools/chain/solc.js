// Compiles Solidity with the pinned solc-js (the npm package's own soljson.js: never a download),
// offline: imports such as `@openzeppelin/contracts/...` resolve from the installed node_modules.
//
// Usage: node solc.js <node_modules> <file.sol>...
// Prints one JSON object on stdout: {"solc": "<version>", "contracts": {"<file>:<Name>":
// {"abi": [...], "bytecode": "<hex>", "deployedBytecode": "<hex>"}}}. Errors go to stderr and
// exit 1. Settings are fixed (the live contracts' build: optimizer on with 1 run, evmVersion
// prague, no metadata hash), so the same sources give the same bytes. Source names are the
// paths as given: relative imports between them resolve against the working directory.
//
// `require('./solc.js').compile(nodeModules, files)` does the same for build.js and returns
// the object (or throws with solc's messages).
'use strict';
const fs = require('fs');
const path = require('path');

const SETTINGS = {
  optimizer: { enabled: true, runs: 1 },
  evmVersion: 'prague',
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function compile(nodeModules, files) {
  const modules = path.resolve(nodeModules);
  const solc = require(path.join(modules, 'solc'));
  const sources = {};
  for (const file of files) sources[file] = { content: fs.readFileSync(file, 'utf8') };
  const input = { language: 'Solidity', sources, settings: SETTINGS };

  function findImports(name) {
    for (const file of [path.join(modules, name), path.resolve(name)]) {
      if (fs.existsSync(file)) return { contents: fs.readFileSync(file, 'utf8') };
    }
    return { error: `not found in ${nodeModules} or the working directory: ${name}` };
  }

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const messages = [];
  let failed = false;
  for (const e of output.errors || []) {
    messages.push(e.formattedMessage);
    if (e.severity === 'error') failed = true;
  }
  if (failed) throw new Error(messages.join('\n'));
  for (const m of messages) console.error(m);

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
  return { solc: solc.version(), contracts };
}

module.exports = { compile, SETTINGS };

if (require.main === module) {
  const [nodeModules, ...files] = process.argv.slice(2);
  if (!nodeModules || files.length === 0) {
    console.error('usage: node solc.js <node_modules> <file.sol>...');
    process.exit(2);
  }
  let out;
  try {
    out = compile(nodeModules, files);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
