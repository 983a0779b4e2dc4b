// Builds sesh's contracts: compiles every contracts/src/*.sol and contracts/test/*.sol with the pinned solc-js and the
// settings of solc.js (offline: OpenZeppelin from the installed node_modules) and writes one
// <out>/<Name>.json per contract, {"abi", "bytecode", "deployedBytecode", "solc"}, as pretty
// JSON with sorted keys, deleting any other .json file in <out>. Same sources, same bytes.
//
// Usage: node build.js <node_modules> <contracts dir> <out dir>
// (the Rust side runs it: `cargo test -p sesh-examples --test contracts -- --ignored
// regenerate`, which installs the pinned tools first).
'use strict';
const fs = require('fs');
const path = require('path');
const { compile } = require('./solc.js');

function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sorted(value[key]);
    return out;
  }
  return value;
}

const [nodeModules, contractsDir, outDir] = process.argv.slice(2);
if (!nodeModules || !contractsDir || !outDir) {
  console.error('usage: node build.js <node_modules> <contracts dir> <out dir>');
  process.exit(2);
}
const modules = path.resolve(nodeModules);
const out = path.resolve(outDir);
process.chdir(contractsDir);
// src/*.sol (sesh's contracts; libraries in subdirectories come in through their imports) and
// test/*.sol (test-only contracts such as the BLS harness).
const files = ['src', 'test']
  .filter((dir) => fs.existsSync(dir))
  .flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort().map((f) => `${dir}/${f}`));

let compiled;
try {
  compiled = compile(modules, files);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

fs.mkdirSync(out, { recursive: true });
const written = new Set();
for (const [key, c] of Object.entries(compiled.contracts)) {
  const name = key.slice(key.lastIndexOf(':') + 1);
  if (written.has(`${name}.json`)) {
    console.error(`two contracts named ${name}`);
    process.exit(1);
  }
  const artifact = {
    abi: c.abi,
    bytecode: `0x${c.bytecode}`,
    deployedBytecode: `0x${c.deployedBytecode}`,
    solc: compiled.solc,
  };
  fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify(sorted(artifact), null, 2) + '\n');
  written.add(`${name}.json`);
}
for (const f of fs.readdirSync(out)) {
  if (f.endsWith('.json') && !written.has(f)) fs.unlinkSync(path.join(out, f));
}
console.error(`built ${[...written].sort().join(', ')} (solc ${compiled.solc}) into ${out}`);
