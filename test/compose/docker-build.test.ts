// The Docker image builds from exactly what the Dockerfile copies. Docker cannot run here, so this
// reproduces the build context: the files its COPY lines name (minus .dockerignore), then its build
// step, then the built CLI. `RUN npm ci` is not repeated: it installs exactly the lockfile, so the
// repository's node_modules (installed by `npm ci` from the same lockfile) is linked in instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../tools/repo.js';

interface Copy {
  sources: string[];
  dest: string;
}

/** The Dockerfile's COPY lines from the build context (not from other stages), in order. */
function copyLines(dockerfile: string): Copy[] {
  return dockerfile
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
    .map((l) => {
      const args = l
        .replace(/^COPY\s+/i, '')
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'));
      return { sources: args.slice(0, -1), dest: args.at(-1)! };
    });
}

/** .dockerignore as Docker reads it: patterns relative to the context root, `!` re-includes, last match wins. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      return { negate, re: new RegExp(`^${re}(/.*)?$`) };
    });
  return (path) => rules.reduce((ignored, r) => (r.re.test(path) ? !r.negate : ignored), false);
}

/** Copies what the COPY lines name into dir, as the image's WORKDIR would hold it. */
function buildContext(dir: string): string[] {
  const ignored = dockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
  const copied: string[] = [];
  for (const { sources, dest } of copyLines(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))) {
    for (const src of sources) {
      const from = join(REPO_ROOT, src);
      const to = dest.endsWith('/') || sources.length > 1 ? join(dir, dest, src.split('/').pop()!) : join(dir, dest);
      cpSync(from, to, {
        recursive: true,
        filter: (p) => {
          const rel = relative(REPO_ROOT, p);
          return rel === '' || !ignored(rel);
        },
      });
      copied.push(relative(dir, to));
    }
  }
  return copied;
}

function filesUnder(dir: string, skip: (rel: string) => boolean, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const rel = relative(root, p);
    if (skip(rel)) return [];
    return statSync(p).isDirectory() ? filesUnder(p, skip, root) : [rel];
  });
}

describe('the Docker build context', () => {
  let ctx: string;
  let copied: string[];

  beforeAll(() => {
    ctx = mkdtempSync(join(tmpdir(), 'spillway-docker-'));
    copied = buildContext(ctx);
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(ctx, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(ctx, { recursive: true, force: true }));

  it('holds what the Dockerfile copies and nothing .dockerignore excludes', () => {
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'tools', 'proto', 'scripts']));
    expect(existsSync(join(ctx, 'test'))).toBe(false);
    expect(existsSync(join(ctx, 'src', 'generated'))).toBe(false);
  });

  it('imports nothing from outside itself (tools/ must not reach into test/ or bench/)', () => {
    const sources = filesUnder(ctx, (rel) => rel === 'node_modules' || rel === 'dist').filter((f) => /\.(ts|js|mjs)$/.test(f));
    const wrong: string[] = [];
    for (const file of sources) {
      const text = readFileSync(join(ctx, file), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(join(ctx, file)), m[1]!);
        // Generated types appear with the build step; everything else must be in the context now.
        const generated = relative(ctx, target).startsWith('src/generated/');
        const exists = [target, target.replace(/\.js$/, '.ts')].some((t) => existsSync(t));
        if (!target.startsWith(ctx + '/') || (!exists && !generated)) wrong.push(`${file} imports ${m[1]}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every command docker-compose.yml runs names a file inside the context', () => {
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; image?: string; build?: unknown }>;
    };
    const built = Object.entries(compose.services).filter(([, s]) => s.build !== undefined || s.image === 'spillway:dev');
    expect(built.length).toBeGreaterThan(3);
    for (const [name, s] of built) {
      const cmd = s.command ?? [];
      const tsx = cmd.indexOf('tsx');
      const file = tsx >= 0 ? cmd[tsx + 1] : cmd[0] === 'node' ? cmd[1] : undefined;
      expect(file, `${name}: ${cmd.join(' ')}`).toBeDefined();
      // dist/ is what the build step makes (checked below); anything else must have been copied.
      if (!file!.startsWith('dist/')) expect(existsSync(join(ctx, file!)), `${name} runs ${file}`).toBe(true);
    }
  });

  it('builds with the Dockerfile build step, and the built CLI runs', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    execFileSync('npm', ['run', 'build'], { cwd: ctx, stdio: 'pipe', timeout: 240_000 });
    const help = spawnSync(process.execPath, ['dist/src/cli.js', '--help'], { cwd: ctx, encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^spillway — Envoy xDS control plane/);
    // What the spillway container runs (serve) reads its config like this first.
    const validate = spawnSync(process.execPath, ['dist/src/cli.js', 'validate', '--config', 'compose/spillway.yaml'], {
      cwd: ctx,
      encoding: 'utf8',
      env: { ...process.env, SPILLWAY_ADMIN_TOKEN: 'test' },
    });
    expect(validate.status, validate.stderr).toBe(0);
  }, 300_000);
});
