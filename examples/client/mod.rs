//! A Session client's network access, shared by the `client` and `testnet` programs: the
//! network state fetched from the ledger keeper (its signature checked when the keeper's key is
//! pinned), and requests to a swarm sent over HTTP as `sesh_client::delivery` directs them.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand_core::OsRng;
use sesh_client::delivery::{Delivery, NodeAnswer, Step, Transport};
use sesh_client::inbox::Inbox;
use sesh_client::message::{self, Received, Stored};
use sesh_client::paths::Paths;
use sesh_identity::{Identity, NodeId, SessionId};
use sesh_network::auth::SignatureHeaders;
use sesh_network::{NetworkState, STATE_PATH};

use crate::lock;
pub use crate::now_ms;

/// The keeper's network state at `base`: its bytes, and the state, its signature checked against
/// `pinned` (if given) over those exact bytes.
///
/// # Errors
/// Why no state could be had: the request, the status, the signature or the parse.
pub async fn fetch_state(
    http: &reqwest::Client,
    base: &str,
    pinned: Option<&NodeId>,
) -> Result<(Vec<u8>, NetworkState), String> {
    let get = http.get(format!("{base}{STATE_PATH}")).timeout(Duration::from_secs(10));
    let resp = get.send().await.map_err(|e| e.to_string())?;
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = crate::http::read_capped(resp)
        .await
        .map_err(|e| e.map_or_else(|| "the state is over 10 MiB".to_owned(), |e| e.to_string()))?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    let state = match pinned {
        Some(key) => {
            let lookup = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            NetworkState::from_signed(&body, &SignatureHeaders::from_lookup(lookup), key, now_ms())
        }
        None => NetworkState::from_json(&body),
    };
    Ok((body, state.map_err(|e| e.to_string())?))
}

/// The network as a client sees it.
#[derive(Debug)]
pub struct Network {
    keeper: String,
    keeper_key: Option<NodeId>,
    http: reqwest::Client,
    state: RwLock<Arc<NetworkState>>,
    paths: Mutex<Paths>,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The keeper did not give a usable network state.
    #[error("the network keeper at {url}: {why}")]
    Keeper {
        /// Its URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The request failed as the client's rules say.
    #[error(transparent)]
    Request(#[from] sesh_client::Error),
}

impl Network {
    /// Learns the network from the keeper at `url` (its state's signature checked against
    /// `key`, when given).
    ///
    /// # Errors
    /// [`ClientError::Keeper`] when the state cannot be had or fails its check.
    pub async fn connect(url: &str, key: Option<NodeId>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(40))
            .build()
            .map_err(|e| ClientError::Keeper { url: url.into(), why: e.to_string() })?;
        let net = Self {
            keeper: url.trim_end_matches('/').to_owned(),
            keeper_key: key,
            http,
            state: RwLock::new(Arc::new(NetworkState::default())),
            paths: Mutex::new(Paths::default()),
        };
        net.refresh().await?;
        Ok(net)
    }

    /// Fetches the network state again.
    ///
    /// # Errors
    /// As [`Network::connect`].
    pub async fn refresh(&self) -> Result<(), ClientError> {
        let (_, state) =
            fetch_state(&self.http, &self.keeper, self.keeper_key.as_ref()).await.map_err(
                |why| ClientError::Keeper { url: format!("{}{STATE_PATH}", self.keeper), why },
            )?;
        *self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(state);
        Ok(())
    }

    /// The current network state.
    pub fn state(&self) -> Arc<NetworkState> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Sends the request `request` gives for a member of `account`'s swarm, through onion
    /// paths, with the live retry rules.
    ///
    /// # Errors
    /// [`ClientError::Request`] with the policy's verdict; [`ClientError::Keeper`] when a
    /// refresh the policy asked for failed.
    pub async fn to_swarm(
        &self,
        account: &[u8; 33],
        request: impl Fn(&NodeId) -> Vec<u8>,
    ) -> Result<NodeAnswer, ClientError> {
        let mut delivery = Delivery::new(*account);
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
                Step::Refresh => self.refresh().await?,
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
