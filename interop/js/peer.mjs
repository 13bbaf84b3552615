// js-libp2p interop peer for connmgr's C++ tests.
//
// A js-libp2p 3.x node (TCP with Noise or TLS and Yamux, QUIC v1, identify,
// ping, and an echo protocol /connmgr/echo/1.0.0) driven by one command per
// line on stdin and reporting one JSON object per line on stdout. Diagnostics
// go to stderr.
// See README.md in this directory for the full protocol.
//
// Run it through the runner that setup.sh prints (it needs Node 22).

import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { tls } from '@libp2p/tls'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { generateKeyPair, generateKeyPairFromSeed, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createInterface } from 'node:readline'

export const ECHO_PROTOCOL = '/connmgr/echo/1.0.0'
const KEEP_ALIVE = 'keep-alive' // == KEEP_ALIVE from @libp2p/interface
const COMMAND_TIMEOUT_MS = Number(process.env.CONNMGR_JS_COMMAND_TIMEOUT_MS ?? 10000)

// QUIC (@chainsafe/libp2p-quic) is a native module; loaded on its own so that a
// machine where it cannot load still runs the TCP peer (QUIC dials then fail).
let quic = null
try {
  ({ quic } = await import('@chainsafe/libp2p-quic'))
} catch (err) {
  process.stderr.write(`peer.mjs: QUIC unavailable: ${err.message}\n`)
}

// ---- output --------------------------------------------------------------

// process.stdout writes to a pipe or file synchronously on Linux, so every
// line is flushed before the next statement runs.
// If the reader goes away (EPIPE), there is nobody left to report to: exit.
process.stdout.on('error', (err) => {
  process.stderr.write(`peer.mjs: stdout: ${err.message}; exiting\n`)
  process.exit(err.code === 'EPIPE' ? 0 : 1)
})

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function warn (...args) {
  process.stderr.write('peer.mjs: ' + args.join(' ') + '\n')
}

function errorMessage (err) {
  if (err == null) return 'unknown error'
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : ''
  return name + (err.message ?? String(err))
}

// ---- options -------------------------------------------------------------

function usage (msg) {
  if (msg) process.stderr.write(`peer.mjs: ${msg}\n`)
  process.stderr.write('usage: peer.mjs [--listen MULTIADDR]... [--seed N] [--keep-alive MULTIADDR]...\n' +
    '                [--key-type ed25519|secp256k1|rsa|ecdsa] [--security noise|tls|noise,tls|tls,noise]\n')
  process.exit(2)
}

function parseArgs (argv) {
  const opts = { listen: [], seed: undefined, keepAlive: [], keyType: 'ed25519', security: 'noise' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--listen') opts.listen.push(next())
    else if (a === '--seed') opts.seed = next()
    else if (a === '--keep-alive') opts.keepAlive.push(next())
    else if (a === '--key-type') opts.keyType = next()
    else if (a === '--security') opts.security = next()
    else if (a === '--help' || a === '-h') usage()
    else usage(`unknown argument ${a}`)
  }
  if (opts.seed !== undefined && !/^[0-9]+$/.test(opts.seed)) usage('--seed needs a non-negative integer')
  if (!Object.hasOwn(KEY_TYPES, opts.keyType)) usage(`--key-type ${opts.keyType}: not one of ${Object.keys(KEY_TYPES).join(', ')}`)
  if (opts.seed !== undefined && opts.keyType !== 'ed25519') usage('--seed makes Ed25519 keys only')
  const names = opts.security.split(',')
  if (names.length === 0 || names.some(n => !Object.hasOwn(ENCRYPTERS, n)) || new Set(names).size !== names.length) {
    usage(`--security ${opts.security}: a list of noise and tls`)
  }
  opts.security = names
  return opts
}

// --key-type: js-libp2p's names and (RSA) sizes for generateKeyPair.
const KEY_TYPES = { ed25519: ['Ed25519'], secp256k1: ['secp256k1'], rsa: ['RSA', 2048], ecdsa: ['ECDSA'] }
// --security: connection encrypters, in the order given.
const ENCRYPTERS = { noise, tls }

// Seed N -> 32-byte Ed25519 seed: N as unsigned 64-bit little-endian in bytes
// 0..7, bytes 8..31 zero. (For N < 256 this is rust-libp2p's common
// `bytes[0] = N` convention.)
export function seedBytes (n) {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)), true)
  return seed
}

// ---- helpers ---------------------------------------------------------------

function connInfo (conn) {
  return {
    peer: conn.remotePeer.toString(),
    remote: conn.remoteAddr.toString(),
    direction: conn.direction,
    id: conn.id,
    status: conn.status,
    streams: conn.streams.map(s => s.protocol ?? null)
  }
}

// A target is a multiaddr (starts with "/") or a peer id string.
function parseTarget (s) {
  if (s == null || s === '') throw new Error('missing MULTIADDR_OR_PEER')
  return s.startsWith('/') ? multiaddr(s) : peerIdFromString(s)
}

function parsePeer (s) {
  if (s == null || s === '') throw new Error('missing PEER')
  return peerIdFromString(s)
}

// Echo every byte received back to the sender; close our side when the remote
// closes its write side.
async function handleEcho (stream) {
  try {
    for await (const buf of stream) {
      if (stream.status !== 'open') break
      if (!stream.send(buf)) {
        await new Promise((resolve, reject) => {
          const onDrain = () => { cleanup(); resolve() }
          const onClose = () => { cleanup(); reject(new Error('stream closed while waiting for drain')) }
          const cleanup = () => {
            stream.removeEventListener('drain', onDrain)
            stream.removeEventListener('close', onClose)
          }
          stream.addEventListener('drain', onDrain)
          stream.addEventListener('close', onClose)
        })
      }
    }
    await stream.close()
  } catch (err) {
    warn('echo stream error:', errorMessage(err))
    stream.abort(err)
  }
}

// The type of a PublicKey protobuf ("Ed25519", "secp256k1", "RSA", "ECDSA"), or null.
function keyTypeOf (protobuf) {
  try {
    return protobuf == null ? null : publicKeyFromProtobuf(protobuf).type
  } catch {
    return null
  }
}

// ---- main ----------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2))

const privateKey = opts.seed !== undefined
  ? await generateKeyPairFromSeed('Ed25519', seedBytes(opts.seed))
  : await generateKeyPair(...KEY_TYPES[opts.keyType])

const node = await createLibp2p({
  privateKey,
  start: false,
  addresses: { listen: opts.listen },
  transports: quic != null ? [tcp(), quic()] : [tcp()],
  connectionEncrypters: opts.security.map(name => ENCRYPTERS[name]()),
  streamMuxers: [yamux()],
  connectionManager: {
    maxConnections: 100,
    inboundConnectionThreshold: 1000,
    maxIncomingPendingConnections: 100
  },
  services: {
    identify: identify(),
    ping: ping()
  }
})

// Events are reported per connection (connection:open / connection:close),
// not per peer, so two connections to one peer give two connect events.
node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  emit({ event: 'connect', peer: c.remotePeer.toString(), remote: c.remoteAddr.toString(), direction: c.direction, id: c.id })
})
node.addEventListener('connection:close', (evt) => {
  const c = evt.detail
  emit({ event: 'disconnect', peer: c.remotePeer.toString(), remote: c.remoteAddr.toString(), direction: c.direction, id: c.id })
})
node.addEventListener('peer:identify', (evt) => {
  const r = evt.detail
  emit({
    event: 'identify',
    peer: r.peerId.toString(),
    agent: r.agentVersion ?? null,
    protocol_version: r.protocolVersion ?? null,
    protocols: r.protocols,
    listen: r.listenAddrs.map(a => a.toString()),
    observed: r.observedAddr?.toString() ?? null,
    remote: r.connection?.remoteAddr?.toString() ?? null,
    key_type: keyTypeOf(r.publicKey)
  })
})

// Per-connection stream limits well above libp2p's defaults (32 in / 64 out)
// so the C++ side can open many echo streams on one connection.
await node.handle(ECHO_PROTOCOL, handleEcho, {
  runOnLimitedConnection: true,
  maxInboundStreams: 512,
  maxOutboundStreams: 512
})
await node.start()

emit({
  event: 'ready',
  peer: node.peerId.toString(),
  key_type: privateKey.type,
  security: opts.security,
  transports: quic != null ? ['tcp', 'quic'] : ['tcp'],
  addrs: node.getMultiaddrs().map(a => a.toString())
})

// --keep-alive: tag the peer KEEP_ALIVE so js-libp2p's reconnect queue redials
// it after a disconnect (reconnectRetries, default 5, with backoff), then dial.
for (const s of opts.keepAlive) {
  try {
    const ma = multiaddr(s)
    const peerStr = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    if (peerStr == null) throw new Error('--keep-alive multiaddr needs a /p2p/PEER suffix')
    const peerId = peerIdFromString(peerStr)
    await node.peerStore.merge(peerId, {
      multiaddrs: [ma],
      tags: { [KEEP_ALIVE]: { value: 1 } }
    })
    node.dial(ma).catch(err => warn(`keep-alive dial ${s} failed:`, errorMessage(err)))
  } catch (err) {
    warn(`--keep-alive ${s}:`, errorMessage(err))
  }
}

const streams = new Map() // id -> stream opened with open-stream

let stopping = false
async function stop (code = 0) {
  if (stopping) return
  stopping = true
  try {
    await node.stop()
  } catch (err) {
    warn('stop failed:', errorMessage(err))
    code = code || 1
  }
  return code
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { stop(0).then(code => process.exit(code)) })
}
process.on('unhandledRejection', (err) => warn('unhandled rejection:', errorMessage(err)))

const commands = {
  async dial (args) {
    const conn = await node.dial(parseTarget(args[0]), { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) })
    return { peer: conn.remotePeer.toString(), remote: conn.remoteAddr.toString(), direction: conn.direction, id: conn.id }
  },
  async ping (args) {
    const target = parseTarget(args[0])
    const t0 = performance.now()
    const rtt = await node.services.ping.ping(target, { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) })
    return { rtt, elapsed: performance.now() - t0 }
  },
  async hangup (args) {
    const peerId = parsePeer(args[0])
    await node.hangUp(peerId, { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) })
    return { peer: peerId.toString() }
  },
  async connections () {
    return { connections: node.getConnections().map(connInfo) }
  },
  async 'open-stream' (args) {
    const peerId = parsePeer(args[0])
    const protocol = args[1]
    if (protocol == null) throw new Error('missing PROTOCOL')
    const stream = await node.dialProtocol(peerId, protocol, { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) })
    streams.set(stream.id, stream)
    stream.addEventListener('close', () => streams.delete(stream.id))
    return { peer: peerId.toString(), protocol: stream.protocol, stream: stream.id }
  },
  async 'close-stream' (args) {
    const stream = streams.get(args[0])
    if (stream == null) throw new Error(`no open stream ${args[0]}`)
    await stream.close({ signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) })
    return { stream: args[0] }
  },
  // Checks a signature made elsewhere (connmgr) with @libp2p/crypto: the signer's PublicKey
  // protobuf, the message and the signature, each in hex.
  async verify (args) {
    const [key, message, signature] = args.map(a => Uint8Array.from(Buffer.from(a ?? '', 'hex')))
    const publicKey = publicKeyFromProtobuf(key)
    return { key_type: publicKey.type, valid: await publicKey.verify(message, signature) }
  },
  async stop () {
    return {}
  }
}

// Commands run one at a time, in order, so replies come in command order.
// Events may be interleaved between them.
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
for await (const raw of rl) {
  const line = raw.trim()
  if (line === '' || line.startsWith('#')) continue
  const [cmd, ...args] = line.split(/\s+/)
  const fn = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined
  if (fn == null) {
    emit({ reply: cmd, ok: false, error: `unknown command ${cmd}` })
    continue
  }
  if (cmd === 'stop') {
    const code = await stop(0)
    emit({ reply: 'stop', ok: code === 0 })
    process.exit(code)
  }
  try {
    emit({ reply: cmd, ok: true, ...(await fn(args)) })
  } catch (err) {
    emit({ reply: cmd, ok: false, error: errorMessage(err) })
  }
}

// stdin closed without "stop": shut down cleanly anyway.
process.exit(await stop(0))
