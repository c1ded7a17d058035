// SPDX-License-Identifier: AGPL-3.0-or-later
// Test contracts for tracer's EVM indexer (deployed on anvil by tests/evm and bench/evm_ingest.py).
// Compiled by tests/evm/contracts/compile.sh with solc-js (npm `solc`, version pinned there); the output
// is committed next to this file as TracerTestToken.json.
pragma solidity 0.8.28;

/// A plain ERC-20 (EIP-20) with a USDT-style blacklist: the same event signatures Tether's TetherToken
/// emits (AddedBlackList, RemovedBlackList, DestroyedBlackFunds), so the indexer's freeze-event decoding
/// is exercised on a real EVM.
contract TracerTestToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    address public owner;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event AddedBlackList(address _user);
    event RemovedBlackList(address _user);
    event DestroyedBlackFunds(address _blackListedUser, uint256 _balance);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        owner = msg.sender;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function addBlackList(address user) external onlyOwner {
        isBlackListed[user] = true;
        emit AddedBlackList(user);
    }

    function removeBlackList(address user) external onlyOwner {
        isBlackListed[user] = false;
        emit RemovedBlackList(user);
    }

    function destroyBlackFunds(address user) external onlyOwner {
        require(isBlackListed[user], "not blacklisted");
        uint256 funds = balanceOf[user];
        balanceOf[user] = 0;
        totalSupply -= funds;
        emit DestroyedBlackFunds(user, funds);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "owner");
        _;
    }

    function _move(address from, address to, uint256 value) private {
        require(!isBlackListed[from], "blacklisted");
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// Forwards the ether it receives to a fixed wallet: value moves inside a transaction (an internal
/// transfer that only traces show), as a deposit-forwarding contract of an exchange does.
contract Forwarder {
    address payable public immutable wallet;

    constructor(address payable wallet_) {
        wallet = wallet_;
    }

    receive() external payable {
        (bool ok, ) = wallet.call{value: msg.value}("");
        require(ok, "forward");
    }
}
