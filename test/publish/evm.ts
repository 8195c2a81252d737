/**
 * contracts/VolFeed.sol compiled with the npm solc (WebAssembly, no download) and run in an
 * in-process EVM (@ethereumjs/evm, mainnet Prague, chain id 1): deploy, submit, getVol, with the
 * gas each call used and the name of a revert's custom error.
 */
import { readFileSync } from 'node:fs';
import { createEVM, type EVM } from '@ethereumjs/evm';
import { Address, bytesToHex, hexToBytes } from '@ethereumjs/util';
import solc from 'solc';
import { decodeErrorResult, decodeFunctionResult, encodeDeployData, encodeFunctionData, type Abi, type Hex } from 'viem';
import type { VolUpdate } from '../../src/publish/schema.js';

const SOURCE = new URL('../../contracts/VolFeed.sol', import.meta.url);

export interface Compiled {
  abi: Abi;
  bytecode: Hex;
  deployedSize: number;
}

/** Compiles VolFeed.sol (optimizer on, 200 runs, EVM version prague); throws on any compiler error. */
export function compileVolFeed(): Compiled {
  const input = {
    language: 'Solidity',
    sources: { 'VolFeed.sol': { content: readFileSync(SOURCE, 'utf8') } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { VolFeed: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'));
  const c = out.contracts['VolFeed.sol'].VolFeed;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedSize: c.evm.deployedBytecode.object.length / 2 };
}

export interface CallResult {
  ok: boolean;
  /** Execution gas of the call as one transaction (no intrinsic 21000 or calldata cost). */
  gas: bigint;
  /** Gas a transaction would pay: execution + 21000 + calldata (EIP-2028: 16 per non-zero byte, 4 per zero byte). */
  txGas: bigint;
  returnData: Hex;
  /** Custom error name of a revert, when the ABI knows it. */
  error?: string;
}

function calldataGas(data: Uint8Array): bigint {
  let g = 0n;
  for (const b of data) g += b === 0 ? 4n : 16n;
  return g;
}

/** A deployed VolFeed in a fresh EVM, with the block time under the test's control. */
export class FeedHarness {
  blockTime = 0n;
  private constructor(
    private readonly evm: EVM,
    private readonly abi: Abi,
    readonly address: Address,
    readonly deployGas: bigint,
  ) {}

  static async deploy(compiled: Compiled, signer: Hex, blockTime: bigint): Promise<FeedHarness> {
    const evm = await createEVM();
    const caller = new Address(hexToBytes(`0x${'11'.repeat(20)}`));
    const data = encodeDeployData({ abi: compiled.abi, bytecode: compiled.bytecode, args: [signer] });
    const r = await evm.runCall({ caller, data: hexToBytes(data), gasLimit: 10_000_000n, block: block(blockTime) });
    if (r.execResult.exceptionError || !r.createdAddress) throw new Error(`deploy failed: ${r.execResult.exceptionError?.error}`);
    const h = new FeedHarness(evm, compiled.abi, r.createdAddress, r.execResult.executionGasUsed);
    h.blockTime = blockTime;
    return h;
  }

  get addressHex(): Hex {
    return this.address.toString() as Hex;
  }

  /**
   * Starts a fresh transaction context, as a block's next transaction would see it (EIP-2929/2200
   * gas): nothing warm but the precompiles, the sender and the callee; storage's "original"
   * values are the current ones.
   */
  private async beginTx(caller: Address): Promise<void> {
    this.evm.stateManager.originalStorageCache.clear();
    await this.evm.journal.cleanup();
    for (const a of [...this.evm.precompiles.keys(), caller.toString(), this.address.toString()]) this.evm.journal.addAlwaysWarmAddress(a);
  }

  private async call(functionName: string, args: unknown[]): Promise<CallResult> {
    const data = hexToBytes(encodeFunctionData({ abi: this.abi, functionName, args }));
    const caller = new Address(hexToBytes(`0x${'22'.repeat(20)}`));
    await this.beginTx(caller);
    const r = await this.evm.runCall({
      caller,
      to: this.address,
      data,
      gasLimit: 5_000_000n,
      block: block(this.blockTime),
    });
    const returnData = bytesToHex(r.execResult.returnValue) as Hex;
    const gas = r.execResult.executionGasUsed;
    const res: CallResult = { ok: !r.execResult.exceptionError, gas, txGas: gas + 21_000n + calldataGas(data), returnData };
    if (!res.ok && returnData.length > 2) {
      try {
        res.error = decodeErrorResult({ abi: this.abi, data: returnData }).errorName;
      } catch {
        res.error = 'undecoded';
      }
    }
    return res;
  }

  submit(u: VolUpdate, signature: Hex): Promise<CallResult> {
    return this.call('submit', [u, signature]);
  }

  async getVol(strike: bigint, expiry: bigint): Promise<{ vol: bigint | null; result: CallResult }> {
    const result = await this.call('getVol', [strike, expiry]);
    const vol = result.ok ? (decodeFunctionResult({ abi: this.abi, functionName: 'getVol', data: result.returnData }) as bigint) : null;
    return { vol, result };
  }

  async domainSeparator(): Promise<Hex> {
    const r = await this.call('domainSeparator', []);
    return decodeFunctionResult({ abi: this.abi, functionName: 'domainSeparator', data: r.returnData }) as Hex;
  }
}

function block(timestamp: bigint) {
  return {
    header: {
      number: 1n,
      coinbase: new Address(new Uint8Array(20)),
      timestamp,
      difficulty: 0n,
      prevRandao: new Uint8Array(32),
      gasLimit: 30_000_000n,
      baseFeePerGas: 0n,
      getBlobGasPrice: () => undefined,
    },
  };
}
