import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BOOTSTRAP_SCRIPT, bootstrapChanges, bootstrapTag, chooseMirror, parseAptSources, parseDistro, parsePackages, validateMirror, type BootstrapSpec,
} from '../../../../src/services/images/bootstrap.ts';

const DEB822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: trixie
`;

const hasCode = (code: string) => (error: unknown) => (error as { code?: string }).code === code;

describe('image bootstrap: what to build', () => {
  it('reads deb822 and one-line apt sources; deb-src and disabled stanzas are not sources', () => {
    const sources = parseAptSources([
      { path: '/etc/apt/sources.list.d/debian.sources', text: `${DEB822}\nTypes: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: sid\n` },
      { path: '/etc/apt/sources.list', text: '# comment\ndeb [arch=amd64] http://old.example/ubuntu jammy main\ndeb-src http://x/ubuntu jammy main\n' },
    ]);
    assert.deepEqual(sources, [
      { uri: 'http://mirror.example/debian', suites: ['bookworm', 'bookworm-updates'] },
      { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'] },
      { uri: 'http://old.example/ubuntu', suites: ['jammy'] },
    ]);
  });

  it('the mirror is the apt source for the suite, else the family archive, else the public one', () => {
    const sources = parseAptSources([{ path: 'a.sources', text: DEB822 }]);
    assert.deepEqual(chooseMirror(sources, 'debian', 'bookworm'), { mirror: 'http://mirror.example/debian', from: "this machine's apt source for bookworm" });
    assert.equal(chooseMirror(sources, 'debian', 'trixie').mirror, 'http://mirror.example/debian', 'a Debian mirror serves every release; never the security archive');
    assert.equal(chooseMirror(sources, 'ubuntu', 'noble').mirror, 'http://archive.ubuntu.com/ubuntu');
  });

  it('the tag is a hash of everything that shapes the image: same inputs, same tag', () => {
    const spec: BootstrapSpec = { family: 'debian', suite: 'bookworm', packages: ['python3'], mirror: 'http://m/debian' };
    const tag = bootstrapTag(spec, 'amd64');
    assert.match(tag, /^mltoolbox\/bootstrap:bookworm-[0-9a-f]{12}$/);
    assert.equal(bootstrapTag({ ...spec }, 'amd64'), tag);
    for (const other of [{ ...spec, packages: ['python3', 'git'] }, { ...spec, mirror: 'http://n/debian' }, { ...spec, suite: 'trixie' }]) {
      assert.notEqual(bootstrapTag(other, 'amd64'), tag);
    }
    assert.notEqual(bootstrapTag(spec, 'arm64'), tag);
  });

  it('distro, packages and mirror are validated before anything reaches a shell', () => {
    assert.deepEqual(parseDistro('debian:bookworm'), { family: 'debian', suite: 'bookworm' });
    assert.deepEqual(parseDistro('ubuntu:noble'), { family: 'ubuntu', suite: 'noble' });
    for (const bad of ['fedora:40', 'debian', 'debian:Bookworm', 'debian:bookworm;reboot', 'debian:a:b']) assert.throws(() => parseDistro(bad), hasCode('USAGE'), bad);
    assert.deepEqual(parsePackages(['python3-venv,python3', 'git', 'python3']), ['git', 'python3', 'python3-venv']);
    for (const bad of ['$(reboot)', 'a b', '-x', 'Python3']) assert.throws(() => parsePackages([bad]), hasCode('USAGE'), bad);
    assert.equal(validateMirror('http://deb.debian.org/debian/'), 'http://deb.debian.org/debian');
    for (const bad of ['ftp://x', "http://x/'; reboot", 'http://a b']) assert.throws(() => validateMirror(bad), hasCode('USAGE'), bad);
  });

  it('the image gets a shell, UTF-8 and a label naming what it holds; the script takes values as arguments only', () => {
    const changes = bootstrapChanges({ family: 'debian', suite: 'bookworm', packages: ['python3'], mirror: 'http://m/debian' });
    assert.deepEqual(changes, ['CMD ["/bin/bash"]', 'ENV LANG=C.UTF-8', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LABEL dev.mltoolbox.bootstrap="debian:bookworm python3"']);
    assert.match(BOOTSTRAP_SCRIPT, /^dir=\$1 suite=\$2 mirror=\$3 include=\$4 owner=\$5 debootstrap=\$6$/m);
    assert.match(BOOTSTRAP_SCRIPT, /rm -rf --one-file-system "\$root"/);
    assert.doesNotMatch(BOOTSTRAP_SCRIPT, /http/);
  });
});
