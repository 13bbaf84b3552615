// Full libp2p connections per second between two js-libp2p nodes on loopback: the js side of
// bench/libp2p_churn.sh (the connmgr side is bench/libp2p_churn.cc, the same loop).
//
//   node libp2p_churn.mjs --seconds=3        (run from a directory whose node_modules holds the
//                                             interop/js packages; libp2p_churn.sh does that)
//       [--key-type=ed25519|secp256k1|rsa] [--security=noise|tls]   (identities, handshake)
//       [--transport=tcp|quic]   (quic: @chainsafe/libp2p-quic, QUIC v1 with its own TLS 1.3
//                                 and streams; --security then does not apply)
//
// Both nodes in one Node.js process, with interop/js/peer.mjs's configuration: TCP, Noise,
// Yamux, identify and ping (identify runs on each connection), inbound threshold raised so the
// per-host rate limit does not refuse the churn. One cycle: B dials A's multiaddr (awaits the
// connection), B hangs up (awaits it), and the cycle ends when both nodes have dispatched
// connection:close. Cycles run one after another.
// Prints one line: `libp2p_churn side=js-libp2p cycles=N seconds=S per_s=R`.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@chainsafe/libp2p-noise'
import { tls } from '@libp2p/tls'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'

let seconds = 3
let keyType = 'ed25519'
let security = 'noise'
let transport = 'tcp'
const KEY_TYPES = { ed25519: ['Ed25519'], secp256k1: ['secp256k1'], rsa: ['RSA', 2048] }
for (const a of process.argv.slice(2)) {
  const m = /^--(seconds|key-type|security|transport)=(.+)$/.exec(a)
  const ok = m != null && (m[1] === 'seconds' ? Number(m[2]) > 0
    : m[1] === 'key-type' ? Object.hasOwn(KEY_TYPES, m[2])
      : m[1] === 'transport' ? ['tcp', 'quic'].includes(m[2]) : ['noise', 'tls'].includes(m[2]))
  if (!ok) {
    process.stderr.write('usage: libp2p_churn.mjs [--seconds=S] [--key-type=ed25519|secp256k1|rsa] [--security=noise|tls] [--transport=tcp|quic]\n')
    process.exit(2)
  }
  if (m[1] === 'seconds') seconds = Number(m[2])
  else if (m[1] === 'key-type') keyType = m[2]
  else if (m[1] === 'transport') transport = m[2]
  else security = m[2]
}

async function makeNode (listen) {
  return createLibp2p({
    privateKey: await generateKeyPair(...KEY_TYPES[keyType]),
    addresses: { listen },
    transports: [transport === 'quic' ? quic() : tcp()],
    connectionEncrypters: [security === 'tls' ? tls() : noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: 100,
      inboundConnectionThreshold: 1000000,
      maxIncomingPendingConnections: 100
    },
    services: { identify: identify(), ping: ping() }
  })
}

const a = await makeNode([transport === 'quic' ? '/ip4/127.0.0.1/udp/0/quic-v1' : '/ip4/127.0.0.1/tcp/0'])
const b = await makeNode([])
let aClosed = 0
let bClosed = 0
let wake = null
a.addEventListener('connection:close', () => { aClosed++; if (wake) wake() })
b.addEventListener('connection:close', () => { bClosed++; if (wake) wake() })
const where = a.getMultiaddrs()[0]

async function cycle () {
  const a0 = aClosed
  const b0 = bClosed
  await b.dial(where)
  await b.hangUp(a.peerId)
  const deadline = performance.now() + 10000
  while (aClosed === a0 || bClosed === b0) {
    if (performance.now() > deadline) throw new Error('connection:close not seen on both nodes within 10 s')
    await new Promise((resolve) => {
      const timer = setTimeout(() => { wake = null; resolve() }, 1000)
      wake = () => { clearTimeout(timer); wake = null; resolve() }
    })
  }
}

for (let i = 0; i < 20; i++) await cycle() // warm-up
let cycles = 0
const t0 = performance.now()
const until = t0 + seconds * 1000
while (performance.now() < until) {
  await cycle()
  cycles++
}
const elapsed = (performance.now() - t0) / 1000
process.stdout.write(`libp2p_churn side=js-libp2p cycles=${cycles} seconds=${elapsed.toFixed(2)} per_s=${(cycles / elapsed).toFixed(1)} key_type=${keyType} security=${transport === 'quic' ? 'quic-tls' : security} transport=${transport}\n`)
await b.stop()
await a.stop()
process.exit(0)
