// Runs a churn workload (churn_trace.cc) through js-libp2p's own connection manager and
// connection pruner, without sockets, and prints its throughput (README.md).
//
//   node churn_js.mjs --trace=/tmp/churn.jsonl --modules=/tmp/connmgr-js-compare/node_modules \
//        [--runs=3] [--events=fake|main-event]
//
// Installs nothing: `--modules` is a node_modules directory holding the pinned `libp2p`
// (run.sh installs it from package-lock.json, outside the repository).
//
// What runs is js-libp2p's real `DefaultConnectionManager` (dist/src/connection-manager/index.js)
// with its real `ConnectionPruner`, `DialQueue`, `ReconnectQueue` and `RateLimiter`, its real
// logger (@libp2p/logger, disabled as in a node without DEBUG) and real PeerId and Multiaddr
// objects. Stubbed, as the smallest set of components the manager needs:
// - the peer store: an in-memory map of peer → {id, tags: Map(name → {value})} with async
//   get/merge/patch (a real node's store decodes a datastore record on every get);
// - the event bus: a minimal typed event target (or main-event's TypedEventEmitter, the class
//   a real node uses, with --events=main-event);
// - connections: plain objects with id, remotePeer, remoteAddr, direction, status, timeline,
//   streams: [] and close()/abort() that mark them closed and dispatch `connection:close`,
//   as the upgrader's listener does;
// - the upgrader: the driver calls acceptIncomingConnection / afterUpgradeInbound and
//   dispatches `connection:open` in the upgrader's order.
// One change of wiring: the pruner's `connection:open` listener (maybePruneConnections, which
// starts `_maybePruneConnections()` and drops the promise) is replaced by one that starts the
// same method and keeps the promise, so the driver can await it and every input is finished
// before the next one, as in the core. The pruner's code itself is unchanged.
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'

function parseArgs (argv) {
  const args = { runs: 1, events: 'fake' }
  for (const a of argv) {
    const m = /^--([a-z]+)=(.*)$/.exec(a)
    if (m == null) throw new Error(`unknown argument ${a}`)
    args[m[1]] = m[2]
  }
  if (args.trace == null || args.modules == null) {
    throw new Error('usage: churn_js.mjs --trace=FILE --modules=NODE_MODULES [--runs=K] [--events=fake|main-event]')
  }
  args.runs = Number(args.runs)
  return args
}

const args = parseArgs(process.argv.slice(2))

// Imports a package's main ESM entry (or a file inside it) from --modules.
async function load (pkg, file) {
  const root = join(args.modules, pkg)
  if (file == null) {
    const pj = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    const e = pj.exports?.['.'] ?? pj.main
    file = typeof e === 'string' ? e : (e.import ?? e.default)
  }
  const path = join(root, file)
  if (!existsSync(path)) throw new Error(`${path} not found (is libp2p installed in --modules?)`)
  return import(pathToFileURL(path).href)
}

const libp2pVersion = JSON.parse(readFileSync(join(args.modules, 'libp2p', 'package.json'), 'utf8')).version
const { DefaultConnectionManager } = await load('libp2p', 'dist/src/connection-manager/index.js')
const { peerIdFromString } = await load('@libp2p/peer-id')
const { multiaddr } = await load('@multiformats/multiaddr')
const { defaultLogger } = await load('@libp2p/logger')
const { TypedEventEmitter } = await load('main-event')

// --- The workload, parsed before any timing ---------------------------------------------------
const KIND = { inbound: 0, upgraded: 1, outbound: 2, closed: 3, tag: 4, untag: 5 }

function loadTrace (path) {
  const lines = readFileSync(path, 'utf8').split('\n')
  const header = JSON.parse(lines[0])
  if (header.churn_trace !== 1) throw new Error('not a churn trace (version 1)')
  const peers = []
  const addrs = []
  const n = header.inputs
  const t = new Float64Array(n)
  const kind = new Uint8Array(n)
  const conn = new Int32Array(n).fill(-1)
  const peer = new Int32Array(n).fill(-1)
  const tag = new Array(n)
  const value = new Float64Array(n)
  let i = 0
  let connections = 0
  for (let l = 1; l < lines.length; l++) {
    if (lines[l] === '') continue
    const j = JSON.parse(lines[l])
    if (j.id != null) {
      peers.push(peerIdFromString(j.id))
      addrs.push(multiaddr(j.addr))
      continue
    }
    t[i] = j.t
    kind[i] = KIND[j.in]
    if (kind[i] === undefined) throw new Error(`unknown input kind: ${lines[l]}`)
    if (j.conn != null) {
      conn[i] = j.conn
      connections = Math.max(connections, j.conn + 1)
    }
    if (j.peer != null) peer[i] = j.peer
    if (j.tag != null) tag[i] = j.tag
    if (j.value != null) value[i] = j.value
    i++
  }
  if (i !== n || peers.length !== header.peers) throw new Error('trace shorter than its header says')
  return { header, peers, addrs, n, t, kind, conn, peer, tag, value, connections }
}

// --- Stubs -----------------------------------------------------------------------------------
// A minimal typed event target: listeners per type, called in order with {type, detail}.
class FakeEvents {
  listeners = new Map()
  addEventListener (type, fn) {
    let l = this.listeners.get(type)
    if (l == null) this.listeners.set(type, l = [])
    l.push(fn)
  }

  removeEventListener (type, fn) {
    const l = this.listeners.get(type)
    if (l == null) return
    const i = l.indexOf(fn)
    if (i >= 0) l.splice(i, 1)
  }

  dispatchEvent (evt) {
    const l = this.listeners.get(evt.type)
    if (l == null) return true
    for (const fn of [...l]) fn(evt)
    return true
  }

  safeDispatchEvent (type, init = {}) {
    return this.dispatchEvent({ type, detail: init.detail })
  }

  listenerCount (type) { return this.listeners.get(type)?.length ?? 0 }
}

// The peer store's tag side: get() as the pruner and reconnect queue call it, merge() as an
// application sets tags (`undefined` removes one). Every peer exists, as peers a node is
// connected to do (identify saves them); an unknown one gets an empty record.
class FakePeerStore {
  peers = new Map()
  get (peerId) {
    const key = peerId.toString()
    let p = this.peers.get(key)
    if (p == null) this.peers.set(key, p = { id: peerId, addresses: [], protocols: [], metadata: new Map(), tags: new Map() })
    return Promise.resolve(p)
  }

  async merge (peerId, data) {
    const p = await this.get(peerId)
    for (const [name, tag] of Object.entries(data.tags ?? {})) {
      if (tag == null) p.tags.delete(name)
      else p.tags.set(name, { value: tag.value ?? 0 })
    }
    return p
  }

  async patch (peerId, data) { return this.merge(peerId, data) }
}

class FakeConnection {
  constructor (id, remotePeer, remoteAddr, direction, openMs, events) {
    this.id = id
    this.remotePeer = remotePeer
    this.remoteAddr = remoteAddr
    this.direction = direction
    this.status = 'open'
    this.timeline = { open: openMs }
    this.streams = []
    this.events = events
  }

  async close () { this.abort() }

  abort () {
    if (this.status !== 'open') return
    this.status = 'closed'
    this.timeline.close = this.timeline.open
    this.events.safeDispatchEvent('connection:close', { detail: this })
  }
}

// --- One run ---------------------------------------------------------------------------------
const PENDING = 1
const OPEN = 2
const GONE = 3

async function runOnce (w) {
  const events = args.events === 'main-event' ? new TypedEventEmitter() : new FakeEvents()
  const peerStore = new FakePeerStore()
  const self = peerIdFromString('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')
  const cm = new DefaultConnectionManager({
    peerId: self,
    peerStore,
    events,
    logger: defaultLogger(),
    metrics: undefined
  }, {
    maxConnections: w.header.max_connections,
    maxIncomingPendingConnections: 10,
    // js-libp2p's limiter counts wall-clock seconds, not the trace's clock: make it admit
    // everything (it still does its bookkeeping). The trace never exceeds 5/s per IP in its
    // own time, so connmgr's limiter (left on) admits everything too.
    inboundConnectionThreshold: Number.MAX_SAFE_INTEGER
  })
  await cm.start()
  const pruner = cm.connectionPruner
  events.removeEventListener('connection:open', pruner.maybePruneConnections)
  let pruning = null
  events.addEventListener('connection:open', () => { pruning = pruner._maybePruneConnections() })
  let prunes = 0
  let pruneEvents = 0
  events.addEventListener('connection:prune', (evt) => { prunes += evt.detail.length; pruneEvents++ })

  const state = new Uint8Array(w.connections)
  const conns = new Array(w.connections)
  let accepted = 0
  let rejected = 0
  let skipped = 0
  const { n, t, kind, conn, peer, tag, value, peers, addrs } = w

  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const c = conn[i]
    switch (kind[i]) {
      case 0: { // inbound: the upgrader asks the manager first
        if (cm.acceptIncomingConnection({ remoteAddr: addrs[peer[i]] })) {
          accepted++
          state[c] = PENDING
        } else {
          rejected++
          state[c] = GONE
        }
        break
      }
      case 1: { // upgraded: the upgrader creates the connection, dispatches open, then
        // tells the manager the pending upgrade is over
        if (state[c] !== PENDING) { skipped++; break }
        const connection = new FakeConnection(c, peers[peer[i]], addrs[peer[i]], 'inbound', t[i] / 1e6, events)
        conns[c] = connection
        state[c] = OPEN
        events.safeDispatchEvent('connection:open', { detail: connection })
        cm.afterUpgradeInbound()
        if (pruning !== null) { await pruning; pruning = null }
        break
      }
      case 2: { // outbound: the dialled connection was upgraded
        const connection = new FakeConnection(c, peers[peer[i]], addrs[peer[i]], 'outbound', t[i] / 1e6, events)
        conns[c] = connection
        state[c] = OPEN
        events.safeDispatchEvent('connection:open', { detail: connection })
        if (pruning !== null) { await pruning; pruning = null }
        break
      }
      case 3: { // closed by the remote
        if (state[c] === PENDING) { // the upgrade failed: the upgrader's finally
          cm.afterUpgradeInbound()
          state[c] = GONE
        } else if (state[c] === OPEN && conns[c].status === 'open') {
          conns[c].abort()
          state[c] = GONE
        } else {
          skipped++
        }
        break
      }
      case 4: // set a tag
        await peerStore.merge(peers[peer[i]], { tags: { [tag[i]]: { value: value[i] } } })
        break
      default: // remove a tag
        await peerStore.merge(peers[peer[i]], { tags: { [tag[i]]: undefined } })
        break
    }
  }
  const seconds = (performance.now() - start) / 1000
  const openAtEnd = cm.getConnections().length
  await cm.stop()
  return { seconds, prunes, pruneEvents, accepted, rejected, skipped, openAtEnd }
}

const w = loadTrace(args.trace)
let best = null
for (let k = 0; k < args.runs; k++) {
  const r = await runOnce(w)
  console.error(`churn_js: run ${k + 1}: ${r.seconds.toFixed(3)} s, ${Math.round(w.n / r.seconds)} inputs/s, ${r.prunes} prunes`)
  if (best == null || r.seconds < best.seconds) best = r
}
console.log(`side=js-libp2p libp2p=${libp2pVersion} node=${process.version} events=${args.events} inputs=${w.n} ` +
  `seconds=${best.seconds.toFixed(6)} inputs_per_s=${Math.round(w.n / best.seconds)} prunes=${best.prunes} ` +
  `prune_events=${best.pruneEvents} accepted=${best.accepted} rejected=${best.rejected} skipped=${best.skipped} ` +
  `open_at_end=${best.openAtEnd}`)
