// Proves that the admin key is created once as an AWS shared-credentials file with mode 0600, reused
// on later starts (also when two starts race), that a broken file is refused rather than overwritten,
// and that the static key store answers secrets by access key id.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAccessKey, loadOrCreateAdminCredentials, parseSharedCredentials, staticAccessKeys } from './credentials.js';

describe('admin credentials file', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'thingcore-creds-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('creates <data-dir>/credentials (profile default, 0600) and reuses it', async () => {
    const dataDir = join(root, 'a', 'nested');
    const first = await loadOrCreateAdminCredentials(dataDir);
    assert.equal(first.created, true);
    assert.match(first.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(first.secretAccessKey.length, 40);
    const text = await readFile(join(dataDir, 'credentials'), 'utf8');
    assert.equal(text, `[default]\naws_access_key_id = ${first.accessKeyId}\naws_secret_access_key = ${first.secretAccessKey}\n`);
    if (process.platform !== 'win32') assert.equal((await stat(first.file)).mode & 0o777, 0o600);
    const second = await loadOrCreateAdminCredentials(dataDir);
    assert.equal(second.created, false);
    assert.equal(second.accessKeyId, first.accessKeyId);
    assert.equal(second.secretAccessKey, first.secretAccessKey);
    assert.deepEqual((await readdir(dataDir)).sort(), ['credentials'], 'no temporary files left');
  });

  it('concurrent first starts agree on one key', async () => {
    const dataDir = join(root, 'race');
    const all = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateAdminCredentials(dataDir)));
    assert.equal(new Set(all.map((c) => c.accessKeyId)).size, 1);
    assert.equal(all.filter((c) => c.created).length, 1);
  });

  it('tightens a group/world-readable file to 0600', async () => {
    if (process.platform === 'win32') return;
    const dataDir = join(root, 'loose');
    const created = await loadOrCreateAdminCredentials(dataDir);
    await chmod(created.file, 0o644);
    const again = await loadOrCreateAdminCredentials(dataDir);
    assert.equal(again.permissionsTightened, true);
    assert.equal((await stat(created.file)).mode & 0o777, 0o600);
  });

  it('refuses a file without a usable default profile and leaves it alone', async () => {
    const dataDir = join(root, 'broken');
    await loadOrCreateAdminCredentials(dataDir);
    await writeFile(join(dataDir, 'credentials'), '[other]\naws_access_key_id = AKIAXXXXXXXXXXXXXXXX\n', { mode: 0o600 });
    await assert.rejects(loadOrCreateAdminCredentials(dataDir), /no usable \[default\] profile/);
    assert.match(await readFile(join(dataDir, 'credentials'), 'utf8'), /\[other\]/);
  });

  it('reads keys a user edited in (comments, spacing, other profiles)', async () => {
    const dataDir = join(root, 'edited');
    await loadOrCreateAdminCredentials(dataDir);
    const key = generateAccessKey();
    await writeFile(
      join(dataDir, 'credentials'),
      `# mine\n[other]\naws_access_key_id=AKIAOTHEROTHEROTHER1\n\n[ default ]\r\naws_access_key_id=${key.accessKeyId}\r\naws_secret_access_key =   ${key.secretAccessKey}\r\n`,
      { mode: 0o600 },
    );
    const read = await loadOrCreateAdminCredentials(dataDir);
    assert.equal(read.accessKeyId, key.accessKeyId);
    assert.equal(read.secretAccessKey, key.secretAccessKey);
  });
});

describe('key helpers', () => {
  it('parses the shared-credentials format', () => {
    const profiles = parseSharedCredentials('[default]\naws_access_key_id = A\n; comment\n[p2]\nAWS_SECRET_ACCESS_KEY = b=c\n');
    assert.equal(profiles.get('default')?.get('aws_access_key_id'), 'A');
    assert.equal(profiles.get('p2')?.get('aws_secret_access_key'), 'b=c');
  });
  it('generates distinct AWS-looking keys', () => {
    const keys = Array.from({ length: 50 }, generateAccessKey);
    assert.equal(new Set(keys.map((k) => k.accessKeyId)).size, 50);
    for (const k of keys) {
      assert.match(k.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
      assert.match(k.secretAccessKey, /^[A-Za-z0-9+/]{40}$/);
    }
  });
  it('static store answers by access key id', () => {
    const store = staticAccessKeys([{ accessKeyId: 'A', secretAccessKey: 's' }, { accessKeyId: 'B', secretAccessKey: 't', sessionToken: 'tok' }]);
    assert.deepEqual(store.secretFor('A'), { secretAccessKey: 's' });
    assert.deepEqual(store.secretFor('B'), { secretAccessKey: 't', sessionToken: 'tok' });
    assert.equal(store.secretFor('C'), undefined);
    assert.equal(store.secretFor('__proto__'), undefined);
  });
});
