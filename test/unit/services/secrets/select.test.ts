import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../../../src/core/errors.ts';
import { chooseSecretBackend } from '../../../../src/services/secrets/select.ts';

const answers = () => Promise.resolve({ ok: true as const });
const silent = () => Promise.resolve({ ok: false as const, reason: 'no answer within 1500 ms' });
const mustNotProbe = () => Promise.reject(new Error('must not probe'));

describe('secret store selection', () => {
  it('MLTOOLBOX_SECRET_STORE forces a backend without probing', async () => {
    assert.equal((await chooseSecretBackend({ env: { MLTOOLBOX_SECRET_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: 'x' }, platform: 'linux', probeKeychain: mustNotProbe })).backend, 'file');
    assert.equal((await chooseSecretBackend({ env: { MLTOOLBOX_SECRET_STORE: 'Keychain' }, platform: 'linux', probeKeychain: mustNotProbe })).backend, 'keychain');
  });

  it('rejects an unknown value', async () => {
    await assert.rejects(chooseSecretBackend({ env: { MLTOOLBOX_SECRET_STORE: 'vault' }, platform: 'linux', probeKeychain: answers }),
      (error: unknown) => error instanceof UserError && error.code === 'SECRET_STORE_UNAVAILABLE' && /keychain, file or auto/.test(error.hint));
  });

  it('auto on Linux without a session bus: the file, without probing', async () => {
    const choice = await chooseSecretBackend({ env: {}, platform: 'linux', probeKeychain: mustNotProbe });
    assert.equal(choice.backend, 'file');
    assert.match(choice.reason, /DBUS_SESSION_BUS_ADDRESS/);
  });

  it('auto with a session bus: the keychain when it answers, else the file', async () => {
    const env = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus', MLTOOLBOX_SECRET_STORE: 'auto' };
    assert.equal((await chooseSecretBackend({ env, platform: 'linux', probeKeychain: answers })).backend, 'keychain');
    const fallback = await chooseSecretBackend({ env, platform: 'linux', probeKeychain: silent });
    assert.equal(fallback.backend, 'file');
    assert.match(fallback.reason, /1500 ms/);
  });

  it('auto on macOS and Windows probes without a session bus', async () => {
    assert.equal((await chooseSecretBackend({ env: {}, platform: 'darwin', probeKeychain: answers })).backend, 'keychain');
    assert.equal((await chooseSecretBackend({ env: {}, platform: 'win32', probeKeychain: silent })).backend, 'file');
  });
});
