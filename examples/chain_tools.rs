//! The chain tools, installed by the project itself on first use: anvil (an EVM dev node),
//! solc-js and the OpenZeppelin contracts, at the exact versions of `tools/chain/package.json`
//! and its `package-lock.json`, by `npm ci --ignore-scripts` into `target/chain-tools`. A later
//! run reuses the install while the lockfile and `node --version` are unchanged; processes that
//! get here at once are serialised by a lock file. Without npm, or without the npm registry on
//! the first run, [`ChainTools::install`] fails and says so (nothing is skipped).
//!
//! [`Anvil::spawn`] runs the platform's anvil binary itself (not the package's node shim, which
//! would leave anvil running if it were killed) on 127.0.0.1 with a free port, a pinned chain id
//! and hardfork, and kills it on drop.
//!
//! The Rust side talks to the chain with alloy (exactly 1.7.3, alloy-core 1.5.7: see the
//! workspace `Cargo.toml`): [`Anvil::provider`] is an HTTP provider that signs with one of the
//! dev accounts anvil prints at startup ([`Anvil::dev_signer`]), [`deploy`] deploys compiled
//! bytecode, [`bytecode`] takes it from [`ChainTools::compile`]'s output, and
//! [`snapshot`]/[`revert`] roll the chain back (`evm_snapshot`/`evm_revert`).

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;

/// The pinned tools (`tools/chain/`), as committed.
const PACKAGE_JSON: &str = include_str!("../tools/chain/package.json");
const PACKAGE_LOCK: &str = include_str!("../tools/chain/package-lock.json");
/// Our solc-js wrapper: `node solc.js <node_modules> <file.sol>...` prints the compiled JSON.
const SOLC_JS: &str = include_str!("../tools/chain/solc.js");

/// The hardfork anvil runs and solc-js compiles for (the live contracts' build: prague).
pub const HARDFORK: &str = "prague";
/// The chain id sesh's local chains use (anvil's default; pinned because signatures hash it).
pub const CHAIN_ID: u64 = 31337;

/// How long `npm ci` may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(600);
/// How long anvil may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Why the chain tools could not be installed or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainToolsError {
    /// `node`/`npm` are not there (or not Node 20 or later).
    #[error(
        "the chain tools (anvil, solc-js) install with npm on first use: this needs node and npm \
         (Node 20 or later) on PATH: {0}"
    )]
    NoNode(String),
    /// `npm ci` failed: usually the npm registry could not be reached.
    #[error(
        "could not install the pinned chain tools (tools/chain/package-lock.json) into {dir}: \
         the first run needs the npm registry (https://registry.npmjs.org) to be reachable, and \
         does not pass without it.\n{detail}"
    )]
    Install {
        /// The install directory.
        dir: PathBuf,
        /// What npm said (the end of its log).
        detail: String,
    },
    /// This platform has no anvil package in the lockfile.
    #[error("no pinned anvil for this platform ({0}); tools/chain/package-lock.json lists them")]
    NoAnvil(String),
    /// anvil did not start, or did not say where it listens.
    #[error("anvil did not start: {0}")]
    Anvil(String),
    /// A JSON-RPC call to the chain failed, or its answer was not what was asked for.
    #[error("chain: {0}")]
    Chain(String),
    /// A file of the install could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ChainToolsError {
    let what = what.into();
    move |source| ChainToolsError::Io { what, source }
}

/// The target directory of the running program (`target/`, where cargo keeps `CACHEDIR.TAG`),
/// for tests (`target/<profile>/deps/…`) and examples (`target/<profile>/examples/…`) alike.
pub fn target_dir() -> Result<PathBuf, ChainToolsError> {
    let exe = std::env::current_exe().map_err(io("the running program's path"))?;
    exe.ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| ChainToolsError::Io {
            what: format!("no cargo target directory above {}", exe.display()),
            source: std::io::ErrorKind::NotFound.into(),
        })
}

/// The installed tools.
#[derive(Debug, Clone)]
pub struct ChainTools {
    dir: PathBuf,
}

impl ChainTools {
    /// Installs the pinned tools into `<target>/chain-tools` if they are not there yet (or were
    /// installed from another lockfile or Node), with a progress line on stderr, and returns
    /// them.
    pub fn install(target: &Path) -> Result<Self, ChainToolsError> {
        let dir = target.join("chain-tools");
        let lock = File::create(target.join("chain-tools.lock")).map_err(io("the lock file"))?;
        lock.lock().map_err(io("locking chain-tools.lock"))?;
        let node = node_version()?;
        let stamp_path = dir.join("installed.stamp");
        let stamp = format!("node {node}\n{PACKAGE_LOCK}");
        let tools = Self { dir: dir.clone() };
        let solc_js = dir.join("solc.js");
        if std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp)
            && tools.anvil_path().is_ok_and(|p| p.is_file())
        {
            // Our own script is not part of the npm install: refresh it if it changed.
            if std::fs::read_to_string(&solc_js).ok().as_deref() != Some(SOLC_JS) {
                std::fs::write(&solc_js, SOLC_JS).map_err(io("writing solc.js"))?;
            }
            return Ok(tools);
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        std::fs::write(dir.join("package.json"), PACKAGE_JSON).map_err(io("package.json"))?;
        std::fs::write(dir.join("package-lock.json"), PACKAGE_LOCK)
            .map_err(io("package-lock.json"))?;
        let log = target.join("chain-tools.log");
        eprintln!(
            "installing the pinned chain tools (anvil, solc-js, OpenZeppelin) from npm into {} \
             (first use; log in {})",
            dir.display(),
            log.display()
        );
        let started = Instant::now();
        let mut npm = Command::new("npm");
        npm.current_dir(&dir)
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier"])
            .args(["--fetch-retries", "2", "--fetch-timeout", "30000"]);
        if let Err(e) = run_logged(&mut npm, &log, INSTALL_LIMIT) {
            return Err(ChainToolsError::Install { dir, detail: format!("{e}\n{}", tail(&log)) });
        }
        let anvil = tools.anvil_path()?;
        if !anvil.is_file() {
            return Err(ChainToolsError::Install {
                dir,
                detail: format!("npm ci did not install {}\n{}", anvil.display(), tail(&log)),
            });
        }
        std::fs::write(&solc_js, SOLC_JS).map_err(io("writing solc.js"))?;
        std::fs::write(&stamp_path, stamp).map_err(io("writing the install stamp"))?;
        eprintln!("installed the chain tools in {:.1?}", started.elapsed());
        Ok(tools)
    }

    /// The installed `node_modules` (imports such as `@openzeppelin/contracts/…` resolve here).
    #[must_use]
    pub fn node_modules(&self) -> PathBuf {
        self.dir.join("node_modules")
    }

    /// Our solc-js wrapper (`tools/chain/solc.js`): `node <it> <node_modules> <file.sol>...`.
    #[must_use]
    pub fn solc_js(&self) -> PathBuf {
        self.dir.join("solc.js")
    }

    /// The platform's anvil binary, run directly.
    pub fn anvil_path(&self) -> Result<PathBuf, ChainToolsError> {
        let os = match std::env::consts::OS {
            "linux" => "linux",
            "macos" => "darwin",
            "windows" => "win32",
            other => return Err(ChainToolsError::NoAnvil(other.to_owned())),
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => return Err(ChainToolsError::NoAnvil(format!("{os} {other}"))),
        };
        let exe = if os == "win32" { "anvil.exe" } else { "anvil" };
        Ok(self.node_modules().join(format!("@foundry-rs/anvil-{os}-{arch}/bin/{exe}")))
    }

    /// Compiles Solidity files with the pinned solc-js (offline, imports from `node_modules`),
    /// returning the wrapper's JSON output (`{"solc", "contracts": {"<file>:<Name>": {"abi",
    /// "bytecode", "deployedBytecode"}}}`).
    pub fn compile(&self, files: &[&Path]) -> Result<serde_json::Value, ChainToolsError> {
        let out = Command::new("node")
            .arg(self.solc_js())
            .arg(self.node_modules())
            .args(files)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| ChainToolsError::NoNode(e.to_string()))?;
        if !out.status.success() {
            return Err(ChainToolsError::Io {
                what: format!(
                    "solc-js failed ({}):\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ),
                source: std::io::ErrorKind::InvalidData.into(),
            });
        }
        serde_json::from_slice(&out.stdout).map_err(|e| ChainToolsError::Io {
            what: "solc.js printed no JSON".to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })
    }
}

/// `node --version`, which must be 20 or later.
fn node_version() -> Result<String, ChainToolsError> {
    let out = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ChainToolsError::NoNode(format!("node: {e}")))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let major =
        version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if out.status.success() && m >= 20 => Ok(version),
        _ => Err(ChainToolsError::NoNode(format!("node --version printed {version:?}"))),
    }
}

/// Runs `cmd` with its output in `log` (replaced), killed after `limit`.
fn run_logged(cmd: &mut Command, log: &Path, limit: Duration) -> Result<(), String> {
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{cmd:?}: {status}")),
            Ok(None) => {}
            Err(e) => return Err(format!("{cmd:?}: {e}")),
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?}: still running after {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The end of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let cut = if start > 0 { "[…]\n" } else { "" };
    let rest = text.get(start..).unwrap_or_default();
    format!("==> {} <==\n{cut}{}", path.display(), String::from_utf8_lossy(rest))
}

/// A running anvil on 127.0.0.1, killed (and waited for) on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    /// The dev accounts' private keys, as anvil printed them at startup.
    dev_keys: Vec<String>,
}

impl Anvil {
    /// Starts anvil with `--port 0` (it picks a free port and prints it: never `--silent`),
    /// `--chain-id <chain_id>`, `--hardfork prague`, and `extra` arguments (e.g.
    /// `--block-time 1`), and waits until it says where it listens.
    pub fn spawn(
        tools: &ChainTools,
        chain_id: u64,
        extra: &[&str],
    ) -> Result<Self, ChainToolsError> {
        let anvil = tools.anvil_path()?;
        let mut child = Command::new(&anvil)
            .args(["--host", "127.0.0.1", "--port", "0", "--hardfork", HARDFORK])
            .arg("--chain-id")
            .arg(chain_id.to_string())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ChainToolsError::Anvil(format!("{}: {e}", anvil.display())))?;
        let lines = child.stdout.take().map(lines_of);
        let errors = child.stderr.take().map(lines_of);
        let mut anvil = Self { child, port: 0, dev_keys: Vec::new() };
        let Some(lines) = lines else {
            return Err(ChainToolsError::Anvil("no stdout".to_owned()));
        };
        let deadline = Instant::now() + START_LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = line
                        .strip_prefix("Listening on 127.0.0.1:")
                        .and_then(|p| p.trim().parse().ok())
                    {
                        anvil.port = port;
                        anvil.dev_keys = dev_keys(&seen);
                        // Keep reading its output so that a full pipe never blocks it.
                        std::thread::spawn(move || lines.iter().for_each(drop));
                        if let Some(errors) = errors {
                            std::thread::spawn(move || errors.iter().for_each(drop));
                        }
                        return Ok(anvil);
                    }
                    seen.push(line);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(100));
                    let stderr: Vec<String> =
                        errors.map(|e| e.try_iter().collect()).unwrap_or_default();
                    return Err(ChainToolsError::Anvil(format!(
                        "no \"Listening on\" line within {START_LIMIT:?}; stdout:\n{}\nstderr:\n{}",
                        seen.join("\n"),
                        stderr.join("\n")
                    )));
                }
            }
        }
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The private keys of the funded dev accounts, in anvil's order, as anvil itself printed
    /// them under "Private Keys" at startup (those of the dev mnemonic `test test … junk`: the
    /// first is account `0xf39F…2266`). Read from anvil's output rather than written down here,
    /// so that they are whatever this anvil funded.
    #[must_use]
    pub fn dev_keys(&self) -> &[String] {
        &self.dev_keys
    }

    /// A local signer for dev account `index` (0 is the first).
    pub fn dev_signer(&self, index: usize) -> Result<PrivateKeySigner, ChainToolsError> {
        let key = self.dev_keys.get(index).ok_or_else(|| {
            ChainToolsError::Anvil(format!(
                "anvil printed {} dev keys; no key {index}",
                self.dev_keys.len()
            ))
        })?;
        key.parse().map_err(|e| ChainToolsError::Anvil(format!("dev key {index}: {e}")))
    }

    /// An alloy HTTP provider for this anvil that signs (and fills nonce, gas and chain id for)
    /// the transactions it sends with `signer`.
    ///
    /// The nonce is asked of the chain for each transaction (alloy's simple nonce manager), not
    /// counted locally (its default, cached one): the cached one spends a nonce even when the
    /// gas estimate fails because the call would revert, and every later transaction then waits
    /// forever behind the gap.
    pub fn provider(&self, signer: PrivateKeySigner) -> Result<DynProvider, ChainToolsError> {
        let url = self.url().parse().map_err(|e| ChainToolsError::Chain(format!("url: {e}")))?;
        Ok(ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer)
            .connect_http(url)
            .erased())
    }
}

/// The dev keys in anvil's startup output: the `(i) 0x…` lines after `Private Keys`.
fn dev_keys(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .skip_while(|l| !l.starts_with("Private Keys"))
        .skip(1)
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('='))
        .map_while(|l| {
            let (index, key) = l.split_once(' ')?;
            (index.starts_with('(') && key.starts_with("0x")).then(|| key.trim().to_owned())
        })
        .collect()
}

/// The creation bytecode of contract `name` of `file` in [`ChainTools::compile`]'s output.
pub fn bytecode(
    compiled: &serde_json::Value,
    file: &Path,
    name: &str,
) -> Result<Vec<u8>, ChainToolsError> {
    let key = format!("{}:{name}", file.display());
    let code = compiled
        .get("contracts")
        .and_then(|c| c.get(&key))
        .and_then(|c| c.get("bytecode"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ChainToolsError::Chain(format!("no bytecode for {key} in solc's output")))?;
    hex::decode(code.trim_start_matches("0x"))
        .map_err(|e| ChainToolsError::Chain(format!("bytecode of {key}: {e}")))
}

/// A deployed contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// The block that holds its deployment.
    pub block: u64,
}

/// Deploys `bytecode` (creation code) with the ABI-encoded `constructor_args` appended, from the
/// provider's signer, and waits for the receipt; fails if the deployment reverted.
pub async fn deploy(
    provider: &DynProvider,
    bytecode: &[u8],
    constructor_args: &[u8],
) -> Result<Deployed, ChainToolsError> {
    let mut code = bytecode.to_vec();
    code.extend_from_slice(constructor_args);
    let tx = TransactionRequest::default().with_deploy_code(code);
    let pending = provider
        .send_transaction(tx)
        .await
        .map_err(|e| ChainToolsError::Chain(format!("deploying: {e}")))?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| ChainToolsError::Chain(format!("deployment receipt: {e}")))?;
    if !receipt.status() {
        return Err(ChainToolsError::Chain(format!(
            "deployment {} reverted",
            receipt.transaction_hash
        )));
    }
    match (receipt.contract_address, receipt.block_number) {
        (Some(address), Some(block)) => Ok(Deployed { address, block }),
        _ => Err(ChainToolsError::Chain(format!(
            "deployment {} has no contract address or block",
            receipt.transaction_hash
        ))),
    }
}

/// `evm_snapshot`: the id of a snapshot of the chain's state now (anvil and other dev nodes).
pub async fn snapshot(provider: &DynProvider) -> Result<U256, ChainToolsError> {
    provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .map_err(|e| ChainToolsError::Chain(format!("evm_snapshot: {e}")))
}

/// `evm_revert`: rolls the chain back to `snapshot` (blocks, state and logs after it are gone).
/// The snapshot is used up: take a new one to revert again.
pub async fn revert(provider: &DynProvider, snapshot: U256) -> Result<(), ChainToolsError> {
    let reverted: bool = provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .map_err(|e| ChainToolsError::Chain(format!("evm_revert: {e}")))?;
    if reverted {
        Ok(())
    } else {
        Err(ChainToolsError::Chain(format!("evm_revert: no snapshot {snapshot}")))
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines a child prints, read on a thread so that waiting for one can time out.
fn lines_of(read: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(read).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
