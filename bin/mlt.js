#!/usr/bin/env node
// The server-side agent. Same Node check as the client, then the bundled agent.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`error: mlt needs Node.js 22.18 or newer; this is ${process.version} [NODE_TOO_OLD]\nhint: install a current Node and run again\n`);
  process.exit(1);
}
const { main } = await import('../dist/mlt.js');
main();
