//! A Session client's network access, shared by the `client` and `testnet` programs: the node
//! pool, found and kept as `sesh_client::bootstrap` says (a seed's list, then refreshes from
//! three pool nodes through onion paths), accounts' swarms asked of pool nodes (`get_swarm`, as
//! the live apps ask), and requests to a swarm or a node sent over HTTP as
//! `sesh_client::delivery` directs them.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand_core::OsRng;
use sesh_client::bootstrap::{self, Seed};
use sesh_client::delivery::{Delivery, NodeAnswer, Step, Transport};
use sesh_client::inbox::Inbox;
use sesh_client::message::{self, Received, Stored};
use sesh_client::paths::Paths;
use sesh_identity::{Identity, NodeId, SessionId};
use sesh_network::{NetworkState, NodeRecord};

use crate::lock;
pub use crate::now_ms;

/// The network as a client sees it.
#[derive(Debug)]
pub struct Network {
    seeds: Vec<Seed>,
    tls: bool,
    http: reqwest::Client,
    state: RwLock<Arc<NetworkState>>,
    paths: Mutex<Paths>,
    swarms: Mutex<std::collections::BTreeMap<[u8; 33], Vec<NodeRecord>>>,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No seed gave a usable node list.
    #[error("no seed gave a node list: {0}")]
    NoSeed(String),
    /// The request failed as the client's rules say.
    #[error(transparent)]
    Request(#[from] sesh_client::Error),
}

/// Asks `seed` for the node list (its nodes on HTTPS if `tls`).
async fn ask_seed(seed: &Seed, tls: bool) -> Result<NetworkState, String> {
    // No redirects: the seed's answer is the one authenticated (or on loopback), not another's.
    let mut http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pin) = seed.pin() {
        http = http.use_preconfigured_tls(crate::http::pinned_tls(*pin));
    }
    let http = http.build().map_err(|e| e.to_string())?;
    let sent = http.post(seed.url()).body(bootstrap::seed_request()).send().await;
    let resp = sent.map_err(|e| crate::http::chain(&e))?;
    let body = crate::http::read_capped(resp)
        .await
        .map_err(|e| e.map_or_else(|| "the list is over 10 MiB".to_owned(), |e| e.to_string()))?;
    bootstrap::read_seed_answer(&body, tls).map_err(|e| e.to_string())
}

impl Network {
    /// Finds the network from the first of `seeds` that answers with a list (its nodes served
    /// over HTTPS if `tls`), then refreshes that pool from its own nodes when it is large enough
    /// to (more than 8 nodes, as session-desktop).
    ///
    /// # Errors
    /// [`ClientError::NoSeed`], with each seed's reason.
    pub async fn bootstrap(seeds: Vec<Seed>, tls: bool) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(40))
            .build()
            .map_err(|e| ClientError::NoSeed(e.to_string()))?;
        let net = Self {
            seeds,
            tls,
            http,
            state: RwLock::new(Arc::new(NetworkState::default())),
            paths: Mutex::new(Paths::default()),
            swarms: Mutex::default(),
        };
        net.reseed().await?;
        if net.state().nodes().len() > 8 {
            // A pool the refresh cannot agree on stays the seed's.
            let _ = net.refresh_from_nodes().await;
        }
        Ok(net)
    }

    /// Takes the first list a seed gives.
    ///
    /// # Errors
    /// [`ClientError::NoSeed`], with each seed's reason.
    pub async fn reseed(&self) -> Result<(), ClientError> {
        let mut why = Vec::new();
        for seed in &self.seeds {
            match ask_seed(seed, self.tls).await {
                Ok(pool) if pool.nodes().len() > 0 => {
                    self.set(pool);
                    return Ok(());
                }
                Ok(_) => why.push(format!("{}: an empty list", seed.url())),
                Err(e) => why.push(format!("{}: {e}", seed.url())),
            }
        }
        Err(ClientError::NoSeed(if why.is_empty() {
            "no seeds given".into()
        } else {
            why.join("; ")
        }))
    }

    /// Refreshes the pool from three of its nodes (`oxend_request` through onion paths),
    /// keeping what they all list alike.
    ///
    /// # Errors
    /// Why not: too few nodes, a node that could not be asked, or answers that do not agree.
    pub async fn refresh_from_nodes(&self) -> Result<(), ClientError> {
        let pool = self.state();
        let mut answers = Vec::new();
        for node in bootstrap::refresh_from(&pool, &mut OsRng)? {
            let answer = self.to_node(node, |_| bootstrap::refresh_request()).await?;
            if answer.status != 200 {
                return Err(refused(&answer));
            }
            answers.push(bootstrap::read_refresh_answer(&answer.body, self.tls)?);
        }
        self.set(bootstrap::agree(&pool, &answers)?);
        Ok(())
    }

    /// A fresh pool: from its nodes, or from a seed when they cannot give one.
    ///
    /// # Errors
    /// [`ClientError::NoSeed`] when neither could.
    pub async fn refresh(&self) -> Result<(), ClientError> {
        match self.refresh_from_nodes().await {
            Ok(()) => Ok(()),
            Err(_) => self.reseed().await,
        }
    }

    fn set(&self, state: NetworkState) {
        *self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(state);
    }

    /// The current pool.
    pub fn state(&self) -> Arc<NetworkState> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// `account`'s swarm: as a pool node lists it (`get_swarm` through an onion path), kept
    /// until a request to it asks for a refresh.
    ///
    /// # Errors
    /// As [`Network::to_node`], or a list that cannot be read.
    pub async fn swarm(
        &self,
        account: &[u8; 33],
        fresh: bool,
    ) -> Result<Vec<NodeRecord>, ClientError> {
        if let Some(members) = lock(&self.swarms).get(account).filter(|_| !fresh) {
            return Ok(members.clone());
        }
        // A pool node that cannot be reached (or refuses) is not the swarm's fault: up to three
        // are asked.
        let mut failed = ClientError::NoSeed("no pool node asked".into());
        for _ in 0..3 {
            let node = bootstrap::any_node(&self.state(), &mut OsRng)?;
            match self.to_node(node, |_| bootstrap::swarm_request(account)).await {
                Ok(answer) if answer.status == 200 => {
                    let members = bootstrap::read_swarm(&answer.body, self.tls)?;
                    lock(&self.swarms).insert(*account, members.clone());
                    return Ok(members);
                }
                Ok(answer) => failed = refused(&answer),
                Err(e) => failed = e,
            }
        }
        Err(failed)
    }

    /// Sends the request `request` gives for a member of `account`'s swarm, through onion
    /// paths, with the live retry rules.
    ///
    /// # Errors
    /// [`ClientError::Request`] with the policy's verdict; [`ClientError::NoSeed`] when a
    /// refresh the policy asked for failed.
    pub async fn to_swarm(
        &self,
        account: &[u8; 33],
        request: impl Fn(&NodeId) -> Vec<u8>,
    ) -> Result<NodeAnswer, ClientError> {
        let members = self.swarm(account, false).await?;
        self.run(Delivery::to_members(*account, members), request, Some(account)).await
    }

    /// Sends `request` to `node` itself, through onion paths.
    ///
    /// # Errors
    /// As [`Network::to_swarm`].
    pub async fn to_node(
        &self,
        node: NodeRecord,
        request: impl Fn(&NodeId) -> Vec<u8>,
    ) -> Result<NodeAnswer, ClientError> {
        self.run(Delivery::to_node(node), request, None).await
    }

    /// Runs `delivery` to its end; a refresh it asks for refreshes the pool and, for a request
    /// to `account`'s swarm, the swarm.
    async fn run(
        &self,
        mut delivery: Delivery,
        request: impl Fn(&NodeId) -> Vec<u8>,
        account: Option<&[u8; 33]>,
    ) -> Result<NodeAnswer, ClientError> {
        loop {
            let step = {
                let state = self.state();
                delivery.step(&state, &mut lock(&self.paths), &request, &mut OsRng)
            };
            match step {
                Step::Post { url, body } => {
                    let reply = match self.http.post(&url).body(body).send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            r.bytes()
                                .await
                                .map(|b| Transport::Answered { status, body: b.to_vec() })
                        }
                        Err(e) => Err(e),
                    };
                    let reply = reply.unwrap_or_else(|e| Transport::Unreachable(e.to_string()));
                    delivery.on_reply(&mut lock(&self.paths), reply);
                }
                Step::Refresh => {
                    Box::pin(self.refresh()).await?;
                    if let Some(account) = account {
                        delivery.set_members(Box::pin(self.swarm(account, true)).await?);
                    }
                }
                Step::Done(answer) => return Ok(answer?),
            }
        }
    }
}

/// A message that was stored.
#[derive(Debug, Clone)]
pub struct Sent {
    /// What the swarm said.
    pub stored: Stored,
    /// Paths tried.
    pub attempts: usize,
}

fn refused(answer: &NodeAnswer) -> ClientError {
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    sesh_client::Error::Refused { status: answer.status, body }.into()
}

/// Encrypts `text` from `me` to `to` and stores it in `to`'s swarm.
///
/// # Errors
/// As [`Network::to_swarm`], or the swarm's refusal.
pub async fn send(
    net: &Network,
    me: &Identity,
    to: &SessionId,
    text: &str,
) -> Result<Sent, ClientError> {
    let request = message::store_request(me, to, text, now_ms(), &mut OsRng)?;
    let answer = net.to_swarm(&to.to_bytes(), |_| request.clone()).await?;
    if answer.status != 200 {
        return Err(refused(&answer));
    }
    Ok(Sent { stored: Stored::read(&answer.body)?, attempts: answer.attempts })
}

/// Retrieves `me`'s new messages, page by page; returns them and how many could not be read.
///
/// # Errors
/// As [`Network::to_swarm`], or the swarm's refusal.
pub async fn receive(
    net: &Network,
    me: &Identity,
    inbox: &mut Inbox,
) -> Result<(Vec<Received>, usize), ClientError> {
    let (mut out, mut unreadable) = (Vec::new(), 0);
    loop {
        let now = now_ms();
        let answer = {
            let inbox = &*inbox;
            net.to_swarm(&me.session_id().to_bytes(), |member| {
                message::retrieve_request(me, member, inbox, now)
            })
            .await?
        };
        if answer.status != 200 {
            return Err(refused(&answer));
        }
        let page = message::read_retrieve(me, &answer.node, &answer.body, inbox, now)?;
        out.extend(page.messages);
        unreadable += page.unreadable;
        if !page.more {
            return Ok((out, unreadable));
        }
    }
}
