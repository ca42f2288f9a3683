// No Docker engine runs here: these checks read the Dockerfile and .dockerignore and verify what
// can be verified without building the image.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DESIGN_DEFAULTS, SECRET_ENV_NAMES } from './design-config.js';
import { inBuildContext, parseDockerfile, type Stage } from './dockerfile.js';
import { repoHas, repoPath } from './repo.js';

const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
const dockerignore = readFileSync(repoPath('.dockerignore'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const build = stages.find((s) => s.name === 'build');
const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

const args = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** Splits `a && b ; c` shell text into single commands. */
const commands = (run: string) => run.split(/&&|;|\|\|/).map((c) => c.trim());

describe('Dockerfile reader', () => {
  it('joins continuations, drops comments and groups by stage', () => {
    const parsed = parseDockerfile(
      'FROM a AS one\n# c\nRUN x \\\n  # inner\n  && y\nFROM --platform=p b\nUSER 1\n',
    );
    expect(parsed).toEqual([
      { from: 'a', name: 'one', instructions: [{ keyword: 'RUN', args: 'x && y' }] },
      { from: 'b', name: undefined, instructions: [{ keyword: 'USER', args: '1' }] },
    ]);
  });

  it('applies .dockerignore rules with the last match winning', () => {
    const rules = '*\n!src/\nsrc/**/*.test.ts\n';
    expect(inBuildContext(rules, 'src/main.ts')).toBe(true);
    expect(inBuildContext(rules, 'src/a/b.test.ts')).toBe(false);
    expect(inBuildContext(rules, 'node_modules/x')).toBe(false);
  });
});

describe('Dockerfile', () => {
  it('builds in a stage with dev dependencies and runs on node:24-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    const buildRuns = args(build!, 'RUN').flatMap(commands);
    expect(buildRuns.some((c) => /^npm ci\b/.test(c) && !c.includes('--omit=dev'))).toBe(true);
    expect(buildRuns).toContain('npm run build');
    expect(pkg.scripts['build']).toMatch(/^tsc /);
    expect(runtime.from).toBe('node:24-slim');
    expect(runtime.name).not.toBe('build');
  });

  it('installs production dependencies only in the runtime stage, without lifecycle scripts', () => {
    const installs = args(runtime, 'RUN')
      .flatMap(commands)
      .filter((c) => /^npm (ci|install|i)\b/.test(c));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/^npm ci\b/);
    expect(installs[0]).toContain('--omit=dev');
    // `prepare` runs tsc, which --omit=dev leaves out.
    expect(pkg.scripts['prepare']).toBeDefined();
    expect(installs[0]).toContain('--ignore-scripts');
    expect(args(runtime, 'RUN').join(' ')).not.toMatch(/npm run build|tsc\b/);
    expect(args(runtime, 'COPY')).toContain('--from=build /app/dist ./dist');
    // The runtime stage never copies sources or dev tooling from the context.
    for (const copy of args(runtime, 'COPY').filter((c) => !c.startsWith('--from'))) {
      expect(copy).not.toMatch(/\bsrc\b|node_modules|tsconfig/);
    }
  });

  it('runs as a numeric non-root user', () => {
    const users = args(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(user.split(':')[0]).not.toBe('0');
    const keywords = runtime.instructions.map((i) => i.keyword);
    expect(keywords.lastIndexOf('USER')).toBeGreaterThan(keywords.lastIndexOf('RUN'));
  });

  it('checks /healthz with node, since slim images have no curl', () => {
    const [check] = args(runtime, 'HEALTHCHECK');
    expect(check).toBeDefined();
    const exec = /CMD (\[.*\])$/.exec(check!);
    expect(exec).not.toBeNull();
    const argv = JSON.parse(exec![1]!) as string[];
    expect(argv[0]).toBe('node');
    expect(argv[1]).toBe('-e');
    expect(argv[2]).toContain("'http://127.0.0.1:'");
    expect(argv[2]).toContain(`process.env.HTTP_PORT || ${DESIGN_DEFAULTS.HTTP_PORT}`);
    expect(argv[2]).toContain("'/healthz'");
    expect(check).not.toMatch(/curl|wget/);
    // The script itself is valid JavaScript.
    expect(() => new Function(argv[2]!)).not.toThrow();
  });

  it('runs a health check script that passes on 200 from /healthz and fails otherwise', async () => {
    const [check] = args(runtime, 'HEALTHCHECK');
    const script = (JSON.parse(/CMD (\[.*\])$/.exec(check!)![1]!) as string[])[2]!;
    const runCheck = (port: number) =>
      new Promise<number>((resolve) => {
        const child = execFile(process.execPath, ['-e', script], {
          env: { ...process.env, HTTP_PORT: String(port) },
          timeout: 10_000,
        });
        child.on('exit', (code) => resolve(code ?? -1));
      });
    let healthy = true;
    const server: Server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' && healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await runCheck(port)).toBe(0);
      healthy = false;
      expect(await runCheck(port)).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // Nothing listening any more: connection refused is unhealthy too.
    expect(await runCheck(port)).toBe(1);
  });

  it('exposes exactly the TURN, TLS, HTTP, metrics and relay ports of the default configuration', () => {
    const exposed = new Set(args(runtime, 'EXPOSE').flatMap((a) => a.split(' ')));
    const d = DESIGN_DEFAULTS;
    expect(exposed).toEqual(
      new Set([
        `${d.TURN_PORT}/udp`,
        `${d.TURN_PORT}/tcp`,
        `${d.TURN_TLS_PORT}/tcp`,
        `${d.HTTP_PORT}/tcp`,
        `${d.METRICS_PORT}/tcp`,
        `${d.TURN_MIN_PORT}-${d.TURN_MAX_PORT}/udp`,
      ]),
    );
  });

  it('starts the same entry point as `npm start`', () => {
    const [cmd] = args(runtime, 'CMD');
    expect(JSON.parse(cmd!)).toEqual(pkg.scripts['start']!.split(' '));
  });

  it('bakes no secret into the image', () => {
    const declared = stages.flatMap((s) => [...args(s, 'ENV'), ...args(s, 'ARG')]).join(' ');
    for (const name of SECRET_ENV_NAMES) expect(declared).not.toContain(name);
    expect(declared).not.toMatch(/SECRET|TOKEN|PASSWORD/i);
    expect(args(runtime, 'ENV').join(' ')).toContain('DATA_DIR=/data');
  });

  it('copies only files that exist and that .dockerignore keeps in the context', () => {
    const sources = stages.flatMap((s) =>
      args(s, 'COPY')
        .filter((c) => !c.startsWith('--from'))
        .flatMap((c) =>
          c
            .replace(/--\S+\s+/g, '')
            .split(' ')
            .slice(0, -1),
        ),
    );
    expect(sources).toEqual(
      expect.arrayContaining([
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        'tsconfig.build.json',
        'src',
      ]),
    );
    for (const source of sources) {
      expect(repoHas(source), source).toBe(true);
      expect(inBuildContext(dockerignore, source), source).toBe(true);
    }
    expect(inBuildContext(dockerignore, 'src/metrics/metrics.ts')).toBe(true);
    for (const kept of [
      'node_modules/prom-client/index.js',
      'dist/src/main.js',
      '.git/HEAD',
      'data/x',
      '.env',
    ]) {
      expect(inBuildContext(dockerignore, kept), kept).toBe(false);
    }
  });

  it('has every dev tool the build stage needs among the dev dependencies', () => {
    expect(pkg.devDependencies['typescript']).toBeDefined();
  });
});
