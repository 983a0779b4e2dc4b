//! HTTP as the programs here must do it with peers they do not trust: answers read with a size
//! cap as they stream in (a node reading another node's or a relayed server's answer, a client
//! reading a guard's), and name resolution that reaches only the addresses the node's egress
//! policy (`sesh_node::egress`) allows.

use sesh_node::egress::{self, MAX_ANSWER};

/// An answer's body, read as it streams in and abandoned past [`MAX_ANSWER`] bytes (`None`).
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
        return Err(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Resolves a relay target's name to the addresses the egress policy lets the node reach.
#[derive(Debug)]
pub struct PublicOnly(pub bool);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.0;
        Box::pin(async move {
            let all = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let ok: Vec<_> =
                all.filter(|a| egress::check_ip(a.ip(), allow_private).is_ok()).collect();
            if ok.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
