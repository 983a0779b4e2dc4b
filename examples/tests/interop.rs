//! Interop with Session clients that no one here wrote (issue 18): two independently written
//! Python clients, installed from PyPI at exact pinned versions (`interop/requirements.txt`,
//! into `target/interop-venv` on first use), join a sesh testnet of real node processes serving
//! HTTPS with self-signed certificates (the `testnet` program with `--keep`), through its seed's
//! `/json_rpc`, and exchange 1:1 messages with a sesh account (sesh's `client` program) in both
//! directions and between their own accounts, every receiver checking the sender.
//!
//! - session-python: direct HTTPS `batch` requests to the nodes;
//! - sessionpy-messenger: everything through onion requests (`/onion_req/v2`).
//!
//! Without PyPI (on the first run, while nothing is installed) the test fails and says so.
//! `docs/interop.md` says what runs and how to run it alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The pinned clients and their dependencies.
const REQUIREMENTS_FILE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/requirements.txt");
const REQUIREMENTS: &str = include_str!("interop/requirements.txt");
/// Builds sessionpy-messenger (an sdist only), pinned too: pip runs without build isolation.
const SETUPTOOLS: &str = "setuptools==84.2.1";
/// The Python side: one JSON command per line in, one answer per line out.
const AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/agent.py");

/// How long one client operation (a send, a poll, a `client` run) may take.
const STEP: Duration = Duration::from_secs(120);
/// How long a message may take to arrive.
const DELIVERY: Duration = Duration::from_secs(45);

/// `target/` (this test runs as `target/<profile>/deps/interop-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_owned()
}

/// The last `max` bytes of a file, for a failure message.
fn tail(path: &Path, max: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(max);
    let cut = if start > 0 { "[…]\n" } else { "" };
    format!("==> {} <==\n{cut}{}", path.display(), String::from_utf8_lossy(&text[start..]))
}

/// Runs `cmd` with its output in `log`, killed after `limit`.
fn run_logged(cmd: &mut Command, log: &Path, limit: Duration) -> Result<(), String> {
    let out = File::options().create(true).append(true).open(log).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return if status.success() { Ok(()) } else { Err(format!("{cmd:?}: {status}")) };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?}: still running after {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `python3`'s path and version, if it is 3.10 or later (sessionpy-messenger needs it).
fn system_python() -> String {
    let check = "import sys; print(sys.executable, sys.version.split()[0]); \
                 sys.exit(sys.version_info < (3, 10))";
    let out = Command::new("python3").args(["-c", check]).output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        other => panic!(
            "this test needs python3, 3.10 or later, with venv (to install the Session clients \
             it runs from PyPI; docs/interop.md): {other:?}"
        ),
    }
}

/// The Python of `target/interop-venv`, with the pinned clients installed from PyPI (once; a
/// later run reuses it while the pins and `python3` are unchanged). Several test processes may
/// get here at once: a lock file serialises them.
fn venv_python() -> PathBuf {
    let target = target_dir();
    let venv = target.join("interop-venv");
    let python = venv.join("bin").join("python");
    let lock = File::create(target.join("interop-venv.lock")).unwrap();
    lock.lock().unwrap();
    let stamp_path = venv.join("installed-requirements.txt");
    let stamp = format!("# {}\n{SETUPTOOLS}\n{REQUIREMENTS}", system_python());
    if python.exists() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return python;
    }
    let log = target.join("interop-venv.log");
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_dir_all(&venv);
    let started = Instant::now();
    let pip = |args: &[&str]| {
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "pip", "install", "--no-input", "--disable-pip-version-check"])
            // From PyPI on each install, not from pip's cache of an earlier one.
            .args(["--no-cache-dir", "--timeout", "30", "--retries", "2"])
            .args(args);
        run_logged(&mut cmd, &log, Duration::from_secs(600))
    };
    let made = run_logged(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        &log,
        Duration::from_secs(120),
    );
    if let Err(e) = made {
        panic!("python3 -m venv failed (is venv installed?): {e}\n{}", tail(&log, 6000));
    }
    let installed = pip(&[SETUPTOOLS])
        .and_then(|()| {
            // --no-deps: every package is pinned in the file; one missing fails `pip check`.
            pip(&["--no-deps", "--no-build-isolation", "-r", REQUIREMENTS_FILE])
        })
        .and_then(|()| {
            let mut check = Command::new(&python);
            check.args(["-m", "pip", "check", "--disable-pip-version-check"]);
            run_logged(&mut check, &log, Duration::from_secs(120))
        });
    if let Err(e) = installed {
        panic!(
            "could not install the pinned Session clients from PyPI into {}: this test needs \
             PyPI (https://pypi.org) to be reachable the first time it runs, and does not pass \
             without it.\n{e}\n{}",
            venv.display(),
            tail(&log, 6000)
        );
    }
    std::fs::write(&stamp_path, stamp).unwrap();
    println!("installed the pinned clients from PyPI in {:?}", started.elapsed());
    python
}

/// Lines a child prints, read on a thread so that waiting for one can time out.
fn lines_of(read: impl std::io::Read + Send + 'static) -> Receiver<String> {
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

/// The `testnet` program with `--keep`: its nodes serve HTTPS, node 0 is the seed. SIGTERM
/// stops it and every node it started.
struct Testnet {
    child: Child,
    seed: String,
    report: Value,
    /// Its stdout, still read (a closed pipe would fail its next print).
    _stdout: Receiver<String>,
}

impl Testnet {
    fn start(dir: &Path) -> Self {
        let stderr = File::create(dir.join("testnet.err")).unwrap();
        let mut child = Command::new(common::example_binary("testnet"))
            .args(["--nodes", "5", "--clients", "2", "--messages", "2", "--block-ms", "300"])
            .args(["--keep", "--json", "--dir"])
            .arg(dir.join("net"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = lines_of(child.stdout.take().unwrap());
        let mut me = Self { child, seed: String::new(), report: Value::Null, _stdout: stdout };
        let deadline = Instant::now() + Duration::from_secs(180);
        while me.seed.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match me._stdout.recv_timeout(left) {
                Ok(line) => {
                    if let Some(seed) = line.strip_prefix("seed: ") {
                        me.seed = seed.trim().to_owned();
                    } else if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        me.report = v;
                    }
                }
                Err(e) => {
                    panic!("the testnet printed no `seed:` line ({e:?}); report: {}", me.report)
                }
            }
        }
        assert_eq!(me.report["ok"], json!(true), "the testnet's own run failed: {}", me.report);
        assert!(me.report["network"].as_str().unwrap().starts_with("https://"), "{}", me.report);
        assert!(me.seed.starts_with("http://127.0.0.1:"), "{}", me.seed);
        assert!(me.seed.ends_with("/json_rpc"), "{}", me.seed);
        me
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// On a panic, prints the end of everything the test's processes logged: the testnet, each
/// node, the Python clients, sesh's client.
struct ShowLogsOnPanic(PathBuf);

impl Drop for ShowLogsOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir = &self.0;
        let mut files = vec![dir.join("testnet.err")];
        for i in 0.. {
            let log = dir.join("net").join(format!("node{i}")).join("node.log");
            if !log.exists() {
                break;
            }
            files.push(log);
        }
        files.push(dir.join("sesh-account.out"));
        files.push(dir.join("agent.log"));
        for f in files {
            eprintln!("{}", tail(&f, if f.ends_with("agent.log") { 12_000 } else { 3_000 }));
        }
        eprintln!("(all of it is kept in {})", dir.display());
    }
}

/// The Python clients, driven through `agent.py`.
struct Agent {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<String>,
}

impl Agent {
    fn start(python: &Path, seed: &str, dir: &Path) -> Self {
        let mut child = Command::new(python)
            .args(["-u", AGENT, "--seed", seed])
            // Everything goes to 127.0.0.1, never through a proxy (pip above may use one).
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("agent.log")).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let answers = lines_of(child.stdout.take().unwrap());
        Self { child, stdin, answers }
    }

    /// One command; its answer (`ok` checked, and that no client left loopback).
    fn call(&mut self, cmd: Value) -> Value {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let answer = match self.answers.recv_timeout(STEP) {
            Ok(line) => serde_json::from_str::<Value>(&line).unwrap(),
            Err(RecvTimeoutError::Timeout) => panic!("no answer to {cmd} within {STEP:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the Python agent exited on {cmd}"),
        };
        assert_eq!(answer["refused"], json!([]), "a client tried to leave loopback: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(answer["ok"] == json!(true), "{cmd} failed:\n{error}");
        answer
    }

    /// The account `name`'s new messages (not the sync copies of its own sends): the sender
    /// its library derived from each signed envelope, and the text.
    fn received(&mut self, name: &str) -> Vec<(String, String)> {
        let answer = self.call(json!({"op": "receive", "name": name}));
        let messages = answer["messages"].as_array().unwrap().iter();
        let messages = messages.filter(|m| m["sync"] == json!(false));
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        messages.map(|m| (text(&m["from"]), text(&m["text"]))).collect()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sesh account, run through sesh's `client` program.
struct Sesh {
    program: PathBuf,
    dir: PathBuf,
    network: Vec<String>,
    id: String,
    phrase: String,
}

impl Sesh {
    fn new(dir: &Path, net: &Testnet) -> Self {
        // The seed as the testnet prints it (plain HTTP: loopback only).
        let network = vec!["--seed".to_owned(), net.seed.clone()];
        let mut me = Self {
            program: common::example_binary("client"),
            dir: dir.join("sesh-account"),
            network,
            id: String::new(),
            phrase: String::new(),
        };
        let made = me.run(&["new"]);
        me.id = made[0]["session_id"].as_str().unwrap().to_owned();
        me.phrase = made[0]["recovery_phrase"].as_str().unwrap().to_owned();
        me
    }

    /// `client --dir … --json <network> <args>`: its JSON lines (all it printed is also kept
    /// in `sesh-account.out`).
    fn run(&self, args: &[&str]) -> Vec<Value> {
        self.run_full(args).0
    }

    /// As [`Sesh::run`], and what it printed on stderr.
    fn run_full(&self, args: &[&str]) -> (Vec<Value>, Vec<String>) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let mut child = Command::new(&self.program)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--json")
            .args(&self.network)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stderr) =
            (lines_of(child.stdout.take().unwrap()), lines_of(child.stderr.take().unwrap()));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > STEP {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (stdout, stderr): (Vec<String>, Vec<String>) =
            (stdout.iter().collect(), stderr.iter().collect());
        let record = self.dir.with_extension("out");
        let mut record = File::options().create(true).append(true).open(record).unwrap();
        let (out, err) = (stdout.join("\n"), stderr.join("\n"));
        writeln!(record, "$ client {args:?} ({:?}, {status:?})\n{out}\n{err}", started.elapsed())
            .unwrap();
        assert!(
            status.is_some_and(|s| s.success()),
            "sesh's client {args:?} failed ({status:?}):\n{out}\n{err}"
        );
        (stdout.iter().filter_map(|l| serde_json::from_str(l).ok()).collect(), stderr)
    }

    /// The new messages: the sender the client proved (the envelope's signature), and the text.
    fn received(&self) -> Vec<(String, String)> {
        self.received_and_refused().0
    }

    /// The new messages, and how many it could not read (it says so on stderr).
    fn received_and_refused(&self) -> (Vec<(String, String)>, u64) {
        let (events, stderr) = self.run_full(&["receive"]);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let messages = events.into_iter().filter(|e| e["event"] == json!("message"));
        let refused = stderr
            .iter()
            .filter(|l| l.contains("could not be read"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        (messages.map(|e| (text(&e["from"]), text(&e["text"]))).collect(), refused)
    }
}

/// Polls `receive` until a message with `text` has come; the sender of each message with that
/// text.
fn senders_of(text: &str, mut receive: impl FnMut() -> Vec<(String, String)>) -> Vec<String> {
    let deadline = Instant::now() + DELIVERY;
    let mut senders = Vec::new();
    while senders.is_empty() && Instant::now() < deadline {
        senders.extend(receive().into_iter().filter(|(_, t)| t == text).map(|(from, _)| from));
        if senders.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    senders
}

/// The version `requirements.txt` pins `package` to.
fn pinned(package: &str) -> &'static str {
    let line = REQUIREMENTS.lines().find_map(|l| l.strip_prefix(package)?.strip_prefix("=="));
    line.map(str::trim).unwrap()
}

#[test]
fn session_clients_from_pypi_exchange_messages_with_sesh_over_its_https_testnet() {
    let started = Instant::now();
    let python = venv_python();
    let installed = started.elapsed();

    let dir = std::env::temp_dir().join(format!("sesh-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let logs = ShowLogsOnPanic(dir.clone());
    let net = Testnet::start(&dir);
    let mut agent = Agent::start(&python, &net.seed, &dir);
    let sesh = Sesh::new(&dir, &net);
    let up = started.elapsed();

    // The clients that run are the pinned ones.
    let hello = agent.call(json!({"op": "hello"}));
    for package in ["session-python", "sessionpy-messenger"] {
        assert_eq!(hello["versions"][package], pinned(package), "{hello}");
    }

    // One recovery phrase gives one Session ID in all three.
    for lib in ["sp", "spm"] {
        let theirs = agent.call(json!({"op": "id_of", "lib": lib, "phrase": sesh.phrase}));
        assert_eq!(theirs["id"], json!(sesh.id), "{lib} derives another Session ID");
    }

    // Two accounts in each client.
    let mut ids = std::collections::BTreeMap::new();
    for lib in ["sp", "spm"] {
        for who in ["a", "b"] {
            let name = format!("{lib}-{who}");
            let made = agent.call(json!({"op": "new", "lib": lib, "name": name}));
            ids.insert(name, made["id"].as_str().unwrap().to_owned());
        }
    }
    let send = |agent: &mut Agent, from: &str, to: &str, text: &str| {
        agent.call(json!({"op": "send", "name": from, "to": to, "text": text}));
    };

    for lib in ["sp", "spm"] {
        let (a, b) = (format!("{lib}-a"), format!("{lib}-b"));

        // Their client → the sesh account: sesh's client checks the envelope's signature and
        // reports the sender it proves.
        let text = format!("{lib}: to sesh");
        send(&mut agent, &a, &sesh.id, &text);
        let senders = senders_of(&text, || sesh.received());
        assert_eq!(senders, [ids[&a].as_str()], "sesh received {text:?} from {senders:?}");
        println!("{lib} → sesh: {text:?}, sender proved by sesh: {a}");

        // The sesh account → their client, which reports the sender it derives from the signed
        // envelope (each library checks the signature first).
        let text = format!("sesh: to {lib}");
        sesh.run(&["send", &ids[&a], &text]);
        let senders = senders_of(&text, || agent.received(&a));
        assert_eq!(senders, [sesh.id.as_str()], "{lib} received {text:?} from {senders:?}");
        println!("sesh → {lib}: {text:?}, sender proved by {lib}: sesh");

        // Two accounts of their client, through sesh's nodes.
        let text = format!("{lib}: a to b");
        send(&mut agent, &a, &ids[&b], &text);
        let senders = senders_of(&text, || agent.received(&b));
        assert_eq!(senders, [ids[&a].as_str()], "{lib} received {text:?} from {senders:?}");
        println!("{a} → {b}: {text:?}, sender proved by {lib}: {a}");
    }

    // A message that claims another sender (sp-b's key in the envelope, signed by sp-a) is
    // refused by sesh's client, not shown as from anyone; a genuine one sent after it is.
    let (forged, genuine) = ("sp: forged, claims to be sp-b", "sp: genuine, after the forged");
    let cmd =
        json!({"op": "send_forged", "name": "sp-a", "as": "sp-b", "to": sesh.id, "text": forged});
    agent.call(cmd);
    send(&mut agent, "sp-a", &sesh.id, genuine);
    let deadline = Instant::now() + DELIVERY;
    let (mut got, mut refused) = (Vec::new(), 0);
    while (refused == 0 || !got.iter().any(|(_, t)| t == genuine)) && Instant::now() < deadline {
        let (messages, unreadable) = sesh.received_and_refused();
        got.extend(messages);
        refused += unreadable;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(!got.iter().any(|(_, t)| t == forged), "sesh accepted the forged message: {got:?}");
    assert_eq!(got, [(ids["sp-a"].clone(), genuine.to_owned())], "sesh received {got:?}");
    assert_eq!(refused, 1, "sesh's client should say it could not read the forged message");
    println!("sp-a → sesh, claiming to be sp-b: refused by sesh");

    // And the two clients with each other (one sends directly, the other through onion paths).
    for (from, to) in [("sp-b", "spm-b"), ("spm-b", "sp-b")] {
        let text = format!("{from} to {to}");
        send(&mut agent, from, &ids[to], &text);
        let senders = senders_of(&text, || agent.received(to));
        assert_eq!(senders, [ids[from].as_str()], "{to} received {text:?} from {senders:?}");
        println!("{from} → {to}: {text:?}, sender proved: {from}");
    }

    println!(
        "interop: clients ready after {installed:?}, network after {up:?}, all done after {:?}",
        started.elapsed()
    );
    drop((agent, net));
    // Nothing is left running.
    if let Ok(ps) = Command::new("ps").args(["-eo", "args"]).output() {
        let running = String::from_utf8_lossy(&ps.stdout);
        assert!(!running.contains(dir.to_str().unwrap()), "nodes left running:\n{running}");
    }
    drop(logs);
    if std::env::var_os("SESH_INTEROP_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
