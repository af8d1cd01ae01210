import type { CommandSpec } from '../../command.ts';

export const relayServeSpec: CommandSpec = {
  name: 'relay serve',
  group: 'Hosts',
  summary: 'Run the relay: one server for every host, with an API and a live dashboard',
  description: 'Listens on 127.0.0.1:7878 unless told otherwise. Every API route and WebSocket needs a token (mltoolbox relay token create). '
    + 'State: SQLite in the data folder, or PostgreSQL when relay.database_url is set. See docs/relay.md.',
  options: {
    port: { type: 'string', valueName: 'PORT', description: 'TCP port (default 7878; 0 picks a free one)' },
    host: { type: 'string', valueName: 'ADDRESS', description: 'address to listen on (default 127.0.0.1; 0.0.0.0 for every interface — use TLS then)' },
    'tls-cert': { type: 'string', valueName: 'FILE', description: 'PEM certificate (chain): serve HTTPS and WSS' },
    'tls-key': { type: 'string', valueName: 'FILE', description: 'PEM private key for --tls-cert' },
  },
  examples: ['mltoolbox relay serve', 'mltoolbox relay serve --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem'],
  load: () => import('./serve.ts'),
};

export const relayTokenSpec: CommandSpec = {
  name: 'relay token',
  group: 'Hosts',
  summary: 'Create, list or revoke relay tokens (create prints the token once, on stdout)',
  description: 'Acts on the relay\'s database directly (run it where relay serve runs, or with the team relay\'s relay.database_url). '
    + 'Only a hash of each token is stored. User tokens read the API and dashboard; add-host issues one agent token per host.',
  args: [
    { name: 'action', description: 'create | list | revoke', required: true },
    { name: 'token', description: 'revoke: the token\'s id or name' },
  ],
  options: {
    name: { type: 'string', valueName: 'NAME', description: 'create: a name for the token (letters, digits, _ . @ -), e.g. laptop' },
    host: { type: 'string', valueName: 'HOST', description: 'create: an agent token for this host instead of a user token (for running mlt daemon by hand; add-host does this for you)' },
  },
  examples: ['mltoolbox relay token create --name laptop', 'mltoolbox relay token create --name agent@gpu-box --host gpu-box', 'mltoolbox relay token list', 'mltoolbox relay token revoke laptop'],
  load: () => import('./token.ts'),
};

export const relayAddHostSpec: CommandSpec = {
  name: 'relay add-host',
  group: 'Hosts',
  summary: 'Connect a host to the relay: issue its agent token, start mlt daemon there (idempotent)',
  description: 'Writes the relay URL and a fresh agent token to ~/.config/mltoolbox/relay-agent.json on the host (mode 0600, over SSH stdin), '
    + 'then starts mlt daemon as a systemd --user service, or as a supervised background process where there is no user systemd. '
    + 'Running it again replaces the token and restarts the daemon. Needs mlt on the host (mltoolbox agent install).',
  args: [{ name: 'target', description: 'the host: a saved remote, an ~/.ssh/config alias, or user@host[:port]', required: true }],
  options: {
    name: { type: 'string', valueName: 'NAME', description: 'the host\'s name on the relay (default: TARGET\'s host part)' },
    'relay-url': { type: 'string', valueName: 'URL', description: 'the URL the host dials (default: relay.url / MLTOOLBOX_RELAY)' },
  },
  examples: ['mltoolbox relay add-host gpu-box', 'mltoolbox relay add-host ubuntu@10.0.0.5 --name lab-a100 --relay-url https://relay.lab:7878'],
  load: () => import('./add-host.ts'),
};

export const relayImageBuildSpec: CommandSpec = {
  name: 'relay image',
  group: 'Hosts',
  summary: 'Build the relay\'s container image offline (no registry): Debian base + Node + mltoolbox',
  description: 'The base is the offline Debian image of mltoolbox image bootstrap (built when missing), or --base. '
    + 'Run it with the port on loopback only: docker run -d -p 127.0.0.1:7878:7878 -v mlt-relay:/data mltoolbox/relay:VERSION. See docs/relay.md#in-a-container.',
  args: [{ name: 'action', description: 'build', required: true }],
  options: {
    base: { type: 'string', valueName: 'IMAGE', description: 'Build on this local image instead of the bootstrap one (it needs /bin/sh and glibc)' },
    tag: { type: 'string', valueName: 'TAG', description: 'The image\'s tag (default mltoolbox/relay:VERSION)' },
  },
  examples: ['mltoolbox relay image build', 'docker run -d --name relay -p 127.0.0.1:7878:7878 -v mlt-relay:/data mltoolbox/relay:0.3.0'],
  load: () => import('./image.ts'),
};
