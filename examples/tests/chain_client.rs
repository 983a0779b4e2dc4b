//! The chain client (issue 20, second step): alloy talks to the pinned anvil. The test compiles
//! `tests/chain/Token.sol` with the pinned solc-js, deploys it from anvil's first dev account (its
//! key read from anvil's own startup output), calls `transfer`, reads the `Transfer` events with
//! `eth_getLogs` (filtered by contract address and event topic) and decodes them, then rolls the
//! chain back with `evm_snapshot`/`evm_revert` and sees the transfer's log gone.
//!
//! Like the chain-tools test, it installs the tools from npm on first use and fails without them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    missing_docs
)]

use std::path::Path;
use std::time::Instant;

use alloy::primitives::{Address, U256, address};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol;
use alloy::sol_types::{SolConstructor as _, SolEvent as _};
use sesh_examples::chain_tools::{
    Anvil, CHAIN_ID, ChainTools, bytecode, deploy, revert, snapshot, target_dir,
};

const TOKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chain/Token.sol");

sol! {
    /// The part of `tests/chain/Token.sol` (an OpenZeppelin ERC20) that the test uses.
    #[sol(rpc)]
    contract TestToken {
        constructor(uint256 supply);
        function transfer(address to, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        event Transfer(address indexed from, address indexed to, uint256 value);
    }
}

/// Anvil's first dev account, the address of the dev mnemonic's first key (`test test … junk`).
const DEV_ACCOUNT_0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

#[tokio::test]
async fn alloy_deploys_calls_reads_transfer_logs_and_sees_them_rolled_back() {
    let started = Instant::now();
    let tools = ChainTools::install(&target_dir().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let compiled = tools.compile(&[Path::new(TOKEN)]).unwrap_or_else(|e| panic!("{e}"));
    let code = bytecode(&compiled, Path::new(TOKEN), "TestToken").unwrap();
    let compiled_at = started.elapsed();

    let anvil = Anvil::spawn(&tools, CHAIN_ID, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(anvil.dev_keys().len(), 10, "{:?}", anvil.dev_keys());
    let signer = anvil.dev_signer(0).unwrap();
    let me = signer.address();
    assert_eq!(me, DEV_ACCOUNT_0);
    let provider = anvil.provider(signer).unwrap();
    assert_eq!(provider.get_chain_id().await.unwrap(), CHAIN_ID);

    // Deploy: creation code from solc-js, constructor arguments ABI-encoded by `sol!`.
    let supply = U256::from(1_000_000u64);
    let args = TestToken::constructorCall { supply }.abi_encode();
    let token = deploy(&provider, &code, &args).await.unwrap();
    let contract = TestToken::new(token.address, &provider);
    assert_eq!(contract.balanceOf(me).call().await.unwrap(), supply);

    // A snapshot before the transfer, to roll it back afterwards.
    let snap = snapshot(&provider).await.unwrap();
    let head_before = provider.get_block_number().await.unwrap();

    let to = address!("00000000000000000000000000000000000beef0");
    let value = U256::from(250u64);
    let receipt = contract.transfer(to, value).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let transfer_block = receipt.block_number.unwrap();
    assert_eq!(transfer_block, head_before + 1);
    assert_eq!(contract.balanceOf(to).call().await.unwrap(), value);

    // eth_getLogs: this contract's Transfer events from its deployment on: the mint, the transfer.
    let filter = Filter::new()
        .address(token.address)
        .event_signature(TestToken::Transfer::SIGNATURE_HASH)
        .from_block(token.block);
    let logs = provider.get_logs(&filter).await.unwrap();
    let events: Vec<(u64, TestToken::Transfer)> = logs
        .iter()
        .map(|log| {
            let event = TestToken::Transfer::decode_log(&log.inner).unwrap();
            (log.block_number.unwrap(), event.data)
        })
        .collect();
    assert_eq!(events.len(), 2, "{logs:?}");
    assert_eq!(events[0].0, token.block);
    assert_eq!((events[0].1.from, events[0].1.to, events[0].1.value), (Address::ZERO, me, supply));
    assert_eq!(events[1].0, transfer_block);
    assert_eq!((events[1].1.from, events[1].1.to, events[1].1.value), (me, to, value));

    // Roll back: the transfer's block, its log and its effect are gone; the mint stays.
    revert(&provider, snap).await.unwrap();
    assert_eq!(provider.get_block_number().await.unwrap(), head_before);
    let logs = provider.get_logs(&filter).await.unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].block_number, Some(token.block));
    assert_eq!(contract.balanceOf(to).call().await.unwrap(), U256::ZERO);
    assert_eq!(contract.balanceOf(me).call().await.unwrap(), supply);
    // The snapshot is used up by the revert.
    assert!(revert(&provider, snap).await.is_err());

    println!(
        "chain client: compiled at {compiled_at:.1?}, deployed, transferred, read the logs and \
         rolled back at {:.1?}",
        started.elapsed()
    );
}
