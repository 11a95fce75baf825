// `npm run size`: reads the minified bundle on stdin, prints its size raw and gzipped.
import { gzipSync } from 'node:zlib'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const bundle = Buffer.concat(chunks)
console.log(`minified: ${bundle.length} B, gzipped: ${gzipSync(bundle, { level: 9 }).length} B`)
